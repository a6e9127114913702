"""Stage ``drop``: requirement-dropped variants of every parsed instruction.

    python pipeline/drop.py INPUT OUTPUT --rejects REJECTS --metrics METRICS --plots DROPS_BY_TYPE

Reads ``params.yaml:drop``. Train and dev instructions get training variants drawn with
``drop.strategy`` / ``drop.rate`` / ``drop.k`` (at most ``drop.max_variants`` besides the full
instruction); test instructions get progressive variants, 0..k requirements dropped and nested,
which WEval ranks. Writes one variants table (train/dev rows first, then test), the rejected
instructions, metrics (variants per split, dropped requirements by family, the realized drop
rate) and a plot file of drops and drop rate by type.
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
from common import by_family, ordered, parse_args, ratio, rejects_summary, run, stage_args, value_counts

from wrl.io import DatasetError, read_table, write_json, write_table
from wrl.requirements import drop_dataset, taxonomy

# Columns of the parsed table that variants do not need: join ``instructions`` on ``id`` for them.
NOT_CARRIED = ("gold_requirements",)


def _type_counts(lists: pa.ChunkedArray | pa.Array) -> Counter:
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    return Counter(value_counts(lists.flatten()))


def main() -> None:
    args, params = parse_args(stage_args(__doc__, plots=1))
    cfg = params.drop
    parsed = read_table(args.input)
    if "split" not in parsed.column_names:
        raise DatasetError(f"{args.input}: no split column (written by the data stage)")
    parsed = parsed.drop_columns([c for c in NOT_CARRIED if c in parsed.column_names])
    index = pa.array(range(parsed.num_rows), pa.int64())
    is_test = pc.fill_null(pc.equal(parsed["split"], "test"), False)
    parts = [(pc.invert(is_test), cfg.train_settings()), (is_test, cfg.test_settings())]
    variants, rejects = [], []
    for mask, settings in parts:
        v, r = drop_dataset(parsed.filter(mask), settings, threads=args.threads)
        variants.append(v)
        rejects.append(r.set_column(0, "row", pc.take(index.filter(mask), r["row"])))
    variants = pa.concat_tables(variants)
    rejects = pa.concat_tables(rejects).sort_by("row")
    write_table(variants, args.output)
    write_table(rejects, args.rejects)

    # Drop statistics over the train/dev variants that drop something: how often each type is
    # offered (present in the instruction) and how often it is dropped.
    types = list(taxonomy())
    train = variants.filter(pc.and_(pc.not_equal(variants["split"], "test"), pc.greater(variants["variant"], 0)))
    offered = _type_counts(_types_of(parsed).take(pc.index_in(train["id"], parsed["id"])))
    dropped = _type_counts(train["dropped_types"])
    n_offered, n_dropped = sum(offered.values()), sum(dropped.values())
    passthrough = pc.sum(pc.equal(parsed["n_requirements"], 0)).as_py() or 0
    metrics = {
        "instructions": parsed.num_rows,
        "rejects": rejects_summary(rejects),
        "variants": {
            "total": variants.num_rows,
            "by_split": value_counts(variants["split"]),
            "with_drops": pc.sum(pc.greater(variants["n_dropped"], 0)).as_py() or 0,
            "by_n_dropped": {str(k): v for k, v in sorted(value_counts(variants["n_dropped"]).items())},
        },
        "passthrough": passthrough,
        "train_dev": {
            "dropped": n_dropped,
            "offered": n_offered,
            "drop_rate": ratio(n_dropped, n_offered),
            "dropped_per_variant": ratio(n_dropped, train.num_rows),
            "dropped_by_family": by_family(dropped),
        },
    }
    write_json({"drop": metrics}, args.metrics)
    write_json([{"type": t, "offered": n, "dropped": dropped.get(t, 0), "rate": ratio(dropped.get(t, 0), n)}
                for t, n in ordered(offered, types).items()], args.plots[0])
    print(f"drop: {parsed.num_rows:,} instructions -> {variants.num_rows:,} variants "
          f"({cfg.strategy}, rate={cfg.rate}; test progressive) -> {args.output}")


def _types_of(parsed: pa.Table) -> pa.Array:
    """The list of requirement types of each parsed instruction."""
    reqs = parsed["requirements"].combine_chunks()
    return pa.ListArray.from_arrays(reqs.offsets, reqs.values.field("type"))


if __name__ == "__main__":
    run(main, "drop")
