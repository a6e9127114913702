"""Stage ``parse``: split every instruction into its base task and typed requirements.

    python pipeline/parse.py INPUT OUTPUT --rejects REJECTS --metrics METRICS \\
        --plots REQUIREMENT_TYPES PARSER_BY_TYPE

Reads ``params.yaml:parse``. Writes the parsed instructions (every input column carried through,
plus ``base_task``, ``script``, ``n_requirements`` and the ``requirements`` list), the rejected
rows with their reason, metrics (rows, rejects by reason, requirements by family, parser precision
and recall against ``gold_requirements`` where the data has them) and two plot files with the
per-type breakdowns: requirements per type, and parser precision/recall per type.
"""

from __future__ import annotations

from collections import Counter

import pyarrow.compute as pc
from common import by_family, ordered, parse_args, ratio, rejects_summary, run, stage_args, value_counts

from wrl.parser_eval import parser_accuracy
from wrl.io import read_input, write_json, write_table
from wrl.requirements import parse_dataset, taxonomy


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in sorted(scores.items())}


def main() -> None:
    args, params = parse_args(stage_args(__doc__, plots=2))
    cfg = params.parse
    source = read_input(args.input, stage="parse")
    table = source.table
    parsed, rejects = parse_dataset(table, limits=cfg.limits(), threads=args.threads)
    rejects = source.merge(rejects)
    write_table(parsed, args.output)
    write_table(rejects, args.rejects)

    types = taxonomy()
    by_type = Counter(value_counts(parsed["requirements"].combine_chunks().flatten().field("type")))
    n_requirements = sum(by_type.values())
    metrics: dict[str, object] = {
        "rows_in": source.rows_in,
        "rows": parsed.num_rows,
        "rejects": rejects_summary(rejects),
        "requirements": {
            "total": n_requirements,
            "per_instruction": ratio(n_requirements, parsed.num_rows),
            "without_any": pc.sum(pc.equal(parsed["n_requirements"], 0)).as_py() or 0,
            "by_family": by_family(by_type),
        },
    }
    parser_rows = []
    if "gold_requirements" in parsed.column_names and parsed["gold_requirements"].null_count < parsed.num_rows:
        accuracy = parser_accuracy(parsed)
        metrics["parser"] = _rounded(accuracy["overall"])
        by_type_scores = accuracy["by_type"]
        parser_rows = [{"type": t, **_rounded(by_type_scores[t])} for t in ordered(by_type_scores, list(types))]
    write_json({"parse": metrics}, args.metrics)
    type_rows = [{"type": t, "family": types[t].family if t in types else "", "count": n}
                 for t, n in ordered(by_type, list(types)).items()]
    write_json(type_rows, args.plots[0])
    write_json(parser_rows, args.plots[1])
    print(f"parse: {parsed.num_rows:,} parsed, {rejects.num_rows:,} rejected, {n_requirements:,} requirements "
          f"-> {args.output}")


if __name__ == "__main__":
    run(main, "parse")
