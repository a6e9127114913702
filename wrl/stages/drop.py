"""Stage ``drop``: requirement-dropped variants of every parsed instruction.

Train and dev instructions (and rows without a split) get training variants drawn with
``drop.strategy`` / ``rate`` / ``k``, at most ``max_variants`` besides the full instruction; test
instructions get progressive variants, 0..k requirements dropped and nested, which WEval ranks.
The variants table holds the training variants first, then the test ones: the input is streamed
once, one row group at a time (test variants wait in a spill file beside the output), so memory
does not grow with the input.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wrl.batching import worker_threads
from wrl.config import Section, param
from wrl.io import ROW_GROUP_SIZE, DatasetWriter, input_rows, iter_input, write_json
from wrl.requirements import (
    MAX_REQUIREMENTS_MAX,
    MAX_VARIANTS_MAX,
    SEED_MAX,
    DropSettings,
    by_family,
    drop_dataset,
    taxonomy,
)
from wrl.stage import (
    Context,
    Paths,
    Port,
    Report,
    Stage,
    View,
    ordered,
    ratio,
    rejects_summary,
    value_counts,
    write_rejects,
)

STRATEGIES = ("independent", "exact_k", "progressive")
# Columns of the parsed table that variants do not need: join ``instructions`` on ``id`` for them.
NOT_CARRIED = ("gold_requirements",)


@dataclass(frozen=True)
class DropConfig(Section):
    """Parameters of the ``drop`` stage.

    Train and dev instructions get training variants drawn with ``strategy``/``rate``/``k``; test
    instructions get progressive variants (variant j drops j requirements, nested), which WEval
    ranks.
    """

    _key: ClassVar[str] = "drop"

    strategy: str = param("independent", "How train/dev variants drop requirements: independent (each with "
                          "probability rate), exact_k (exactly k) or progressive (nested 1..n).", choices=STRATEGIES)
    rate: float = param(0.5, "Drop probability per requirement (independent).", min=0.0, max=1.0)
    k: int = param(1, "Requirements dropped per variant (exact_k).", min=1, max=MAX_REQUIREMENTS_MAX)
    seed: int = param(0, "Seed of the draw; with each instruction id it fixes that instruction's variants.", min=0,
                      max=SEED_MAX)
    max_variants: int = param(4, "Most dropped variants per train/dev instruction (variant 0, nothing dropped, is "
                              "always kept).", min=1, max=MAX_VARIANTS_MAX)
    test_max_variants: int = param(8, "Most progressive variants per test instruction (drops 0..k).", min=1,
                                   max=MAX_VARIANTS_MAX)

    def train_settings(self) -> DropSettings:
        """Settings for the train and dev splits."""
        return DropSettings(strategy=self.strategy, rate=self.rate, k=self.k, seed=self.seed,
                            max_variants=self.max_variants)

    def test_settings(self) -> DropSettings:
        """Settings for the test split: progressive drops for WEval."""
        return DropSettings(strategy="progressive", rate=self.rate, k=self.k, seed=self.seed,
                            max_variants=self.test_max_variants)


def _types_of(parsed: pa.Table) -> pa.Array:
    """The list of requirement types of each parsed instruction."""
    reqs = parsed["requirements"].combine_chunks()
    return pa.ListArray.from_arrays(reqs.offsets, reqs.values.field("type"))


def _type_counts(lists: pa.ChunkedArray | pa.Array) -> Counter:
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    return Counter(value_counts(lists.flatten()))


def _is_test(table: pa.Table) -> pa.Array:
    if "split" not in table.column_names:
        return pa.array([False] * table.num_rows, pa.bool_())
    return pc.fill_null(pc.equal(table["split"], "test"), False)


def run(cfg: DropConfig, paths: Paths, ctx: Context) -> Report:
    """Write the variants (training ones, then test ones), the rejected instructions, metrics and a plot."""
    (source,) = paths.inputs
    (out,) = paths.outputs
    threads = worker_threads(ctx.threads)
    rejects: list[pa.Table] = []
    offered: Counter = Counter()
    dropped: Counter = Counter()
    by_split: Counter = Counter()
    by_n_dropped: Counter = Counter()
    rows_in = instructions = passthrough = with_drops = train_variants = 0
    total = input_rows(source)
    # Test variants go to a spill file beside the output and are appended after the training ones,
    # so the input is read once.
    spill_dir = tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent)
    spill = Path(spill_dir.name) / "test-variants.parquet"
    with spill_dir, DatasetWriter(out) as writer, ctx.progress_bar("drop", total) \
            as bar:
        with DatasetWriter(spill) as test_writer:
            for batch in iter_input(source, stage="drop"):
                parsed = batch.table.drop_columns([c for c in NOT_CARRIED if c in batch.table.column_names])
                rows_in += batch.rows_in
                rejects.append(batch.rejects)
                instructions += parsed.num_rows
                is_test = _is_test(parsed)
                index = pa.array(range(parsed.num_rows), pa.int64())
                for mask, settings, target in ((pc.invert(is_test), cfg.train_settings(), writer),
                                               (is_test, cfg.test_settings(), test_writer)):
                    part = parsed.filter(mask)
                    variants, bad = drop_dataset(part, settings, threads=threads, progress=False)
                    rejects.append(batch.renumber(bad.set_column(0, "row", pc.take(index.filter(mask), bad["row"]))))
                    target.write(variants)
                    by_split.update(value_counts(variants["split"]) if "split" in variants.column_names
                                    else {"(none)": variants.num_rows})
                    by_n_dropped.update(value_counts(variants["n_dropped"]))
                    with_drops += pc.sum(pc.greater(variants["n_dropped"], 0)).as_py() or 0
                    if target is writer:
                        # How often each type is offered (present in an instruction) and dropped, over
                        # the training variants that drop something.
                        train = variants.filter(pc.greater(variants["variant"], 0))
                        offered += _type_counts(_types_of(part).take(pc.index_in(train["id"], part["id"])))
                        dropped += _type_counts(train["dropped_types"])
                        train_variants += train.num_rows
                # After the engine checked the requirements column (a file that is not parse output is
                # an error naming the column, not a crash here).
                passthrough += pc.sum(pc.equal(pc.list_value_length(parsed["requirements"]), 0)).as_py() or 0
                bar.update(batch.rows_in)
            if test_writer.schema is None:
                test_writer.schema = writer.schema
        for test_batch in pq.ParquetFile(spill).iter_batches(batch_size=ROW_GROUP_SIZE):
            writer.write(pa.Table.from_batches([test_batch]))
    by_reason = write_rejects(rejects, paths.rejects)
    n_offered, n_dropped = sum(offered.values()), sum(dropped.values())
    metrics = {
        "instructions": instructions,
        "rejects": rejects_summary(by_reason),
        "variants": {
            "total": writer.rows,
            "by_split": dict(sorted(by_split.items())),
            "with_drops": with_drops,
            "by_n_dropped": {str(k): v for k, v in sorted(by_n_dropped.items())},
        },
        "passthrough": passthrough,
        "train_dev": {
            "dropped": n_dropped,
            "offered": n_offered,
            "drop_rate": ratio(n_dropped, n_offered),
            "dropped_per_variant": ratio(n_dropped, train_variants),
            "dropped_by_family": by_family(dropped),
        },
    }
    if paths.metrics is not None:
        write_json({"drop": metrics}, paths.metrics)
    if paths.plots:
        write_json([{"type": t, "offered": n, "dropped": dropped.get(t, 0), "rate": ratio(dropped.get(t, 0), n)}
                    for t, n in ordered(offered, taxonomy()).items()], paths.plots[0])
    kept = rows_in - sum(by_reason.values())
    return Report("drop", rows_in, kept, by_reason, paths.outputs, paths.rejects,
                  lines=[f"variants: {writer.rows:,} ({with_drops:,} with drops; {passthrough:,} instructions passed "
                         f"through with nothing to drop); train/dev: {cfg.strategy}, rate={cfg.rate}, k={cfg.k}, "
                         f"seed={cfg.seed}; test: progressive"],
                  counts=[("dropped requirements by type (train/dev)", dropped)])


STAGE = Stage(
    name="drop",
    config=DropConfig,
    run=run,
    inputs=(Port("parsed", "Parsed instructions (the parse stage's output, or `wrl parse`'s)."),),
    outputs=(Port("variants", "One row per variant: variant 0 is the full instruction, the others drop "
                  "requirements and rewrite the prompt."),),
    plots=(Port("drops_by_type", "drops and drop rate by type (train/dev)"),),
    views=(View("variants", "data/variants.parquet",
                "Requirement-dropped variants, one row each: id, variant (0 = full), variant_id, strategy, split, "
                "n_requirements, n_dropped, kept_ids, dropped_ids, dropped_types, prompt (rewritten), metadata.",
                stage="drop"),),
)
