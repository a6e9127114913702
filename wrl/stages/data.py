"""Stage ``data``: load or synthesize instructions and assign train/dev/test splits.

Synthesized instructions are generated and written one row group at a time, so memory does not
grow with ``data.n``; imported files are read whole (they are user files, rarely large).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import pyarrow as pa

from wrl.config import ParamsError, Section, param
from wrl.importers import SOURCES
from wrl.io import ROW_GROUP_SIZE, DatasetWriter, write_json
from wrl.requirements import SEED_MAX
from wrl.stage import Context, Paths, Port, Report, Stage, rejects_summary, value_counts, write_rejects


@dataclass(frozen=True)
class SplitConfig(Section):
    """Shares of the train/dev/test splits. Assignment hashes each prompt, so it is stable as data grows."""

    _key: ClassVar[str] = "data.splits"

    train: float = param(0.8, "Share of instructions in the train split.", min=0.0, max=1.0)
    dev: float = param(0.1, "Share of instructions in the dev split.", min=0.0, max=1.0)
    test: float = param(0.1, "Share in the test split (progressive variants for WEval).", min=0.0, max=1.0)
    seed: int = param(0, "Seed of the split assignment.", min=0, max=SEED_MAX)

    def check(self) -> None:
        total = self.train + self.dev + self.test
        if abs(total - 1.0) > 1e-6:
            raise ParamsError(f"data.splits.train + dev + test must sum to 1, got {self.train} + {self.dev} + "
                              f"{self.test} = {total:g}")


@dataclass(frozen=True)
class DataConfig(Section):
    """Parameters of the ``data`` stage: where instructions come from and how they are split."""

    _key: ClassVar[str] = "data"

    source: str = param("synth", "Instruction source: synth (generated, with gold requirements), ifeval, "
                        "writingbench or generic (any file with a prompt column).", choices=SOURCES)
    path: str = param("examples/instructions.jsonl", "Input file for ifeval/writingbench/generic (Parquet, JSONL "
                      "or CSV). A dependency of the data stage; synth ignores it.")
    n: int = param(20_000, "Instructions to synthesize (synth).", min=1)
    seed: int = param(0, "Seed of synthesis.", min=0, max=SEED_MAX)
    zh_share: float = param(0.1, "Share of Chinese instructions (synth).", min=0.0, max=1.0)
    prompt_column: str = param("prompt", "Column holding the instruction text (generic).")
    id_column: str = param("id", "Column holding the instruction id (generic; row numbers when absent).")
    category_column: str = param("category", "Column holding the task category (generic; optional).")
    splits: SplitConfig = param(SplitConfig(), "Split shares and seed.")

    def check(self) -> None:
        for name in ("prompt_column", "id_column", "category_column"):
            if not getattr(self, name):
                raise ParamsError(f"data.{name} must be a non-empty column name")
        if self.source != "synth" and not self.path:
            raise ParamsError(f"data.path must name an input file when data.source is {self.source!r}")


def _instructions(cfg: DataConfig, path: str, rejects: list[pa.Table]) -> Iterator[pa.Table]:
    """The instructions in row-group-sized tables; an importer's rejects are appended to ``rejects``."""
    from wrl.importers import load_dataset
    from wrl.synth import synthesize

    if cfg.source == "synth":  # generated a row group at a time: row i depends only on the seed and i
        for start in range(0, cfg.n, ROW_GROUP_SIZE):
            yield synthesize(min(ROW_GROUP_SIZE, cfg.n - start), seed=cfg.seed, zh_share=cfg.zh_share, start=start)
        return
    table, bad = load_dataset(cfg.source, path=path, prompt_column=cfg.prompt_column, id_column=cfg.id_column,
                              category_column=cfg.category_column)
    rejects.append(bad)
    yield table


def run(cfg: DataConfig, paths: Paths, ctx: Context) -> Report:
    """Load or synthesize instructions, assign splits, write them with the rejected rows and metrics."""
    from wrl.splits import assign_splits

    (source,) = paths.inputs
    (out,) = paths.outputs
    rejects: list[pa.Table] = []
    splits: Counter = Counter()
    languages: Counter = Counter()
    has_language = False
    with DatasetWriter(out) as writer:
        for table in _instructions(cfg, str(source), rejects):
            s = cfg.splits
            table = assign_splits(table, train=s.train, dev=s.dev, test=s.test, seed=s.seed)
            writer.write(table)
            splits.update(value_counts(table["split"]))
            if "language" in table.column_names:
                has_language = True
                languages.update(value_counts(table["language"].fill_null("(none)")))
    by_reason = write_rejects(rejects, paths.rejects)
    metrics: dict[str, object] = {"rows": writer.rows, "rejects": rejects_summary(by_reason),
                                  "splits": dict(sorted(splits.items()))}
    if has_language:
        metrics["by_language"] = dict(sorted(languages.items()))
    if paths.metrics is not None:
        write_json({"data": metrics}, paths.metrics)
    return Report("data", writer.rows + sum(by_reason.values()), writer.rows, by_reason, paths.outputs, paths.rejects,
                  lines=[f"source: {cfg.source}" + ("" if cfg.source == "synth" else f" ({source})")],
                  counts=[("splits", splits), ("languages", languages)])


STAGE = Stage(
    name="data",
    config=DataConfig,
    run=run,
    inputs=(Port("source", "The source file (ignored by data.source: synth)."),),
    outputs=(Port("instructions", "The instructions with their split (Parquet, JSONL or CSV)."),),
)
