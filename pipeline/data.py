"""Stage ``data``: load or synthesize instructions and assign train/dev/test splits.

    python pipeline/data.py INPUT OUTPUT --rejects REJECTS --metrics METRICS

Reads ``params.yaml:data``. ``INPUT`` is the source file (ignored by ``data.source: synth``).
Writes the instructions (Parquet, zstd), the quarantined rows with their reason, and metrics:
rows, rejects by reason, rows per split and language.
"""

from __future__ import annotations

from common import parse_args, rejects_summary, run, stage_args, value_counts

from wrl.importers import load_dataset
from wrl.splits import assign_splits
from wrl.io import write_json, write_table


def main() -> None:
    args, params = parse_args(stage_args(__doc__))
    cfg = params.data
    table, rejects = load_dataset(cfg.source, path=None if cfg.source == "synth" else str(args.input), n=cfg.n,
                                  seed=cfg.seed, zh_share=cfg.zh_share, prompt_column=cfg.prompt_column)
    table = assign_splits(table, train=cfg.splits.train, dev=cfg.splits.dev, test=cfg.splits.test,
                          seed=cfg.splits.seed)
    write_table(table, args.output)
    write_table(rejects, args.rejects)
    metrics: dict[str, object] = {
        "rows": table.num_rows,
        "rejects": rejects_summary(rejects),
        "splits": value_counts(table["split"]),
    }
    if "language" in table.column_names:
        metrics["by_language"] = value_counts(table["language"].fill_null("(none)"))
    write_json({"data": metrics}, args.metrics)
    print(f"data: {cfg.source}: {table.num_rows:,} instructions, {rejects.num_rows:,} rejected "
          f"-> {args.output}")


if __name__ == "__main__":
    run(main, "data")
