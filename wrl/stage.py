"""How a pipeline stage is declared and run: one function, called by its DVC script and its CLI command.

A stage is a module ``wrl/stages/<name>.py`` holding, side by side:

- its section of ``params.yaml``: a :class:`wrl.config.Section` dataclass;
- ``run(cfg, paths, ctx) -> Report``: reads its inputs, writes its outputs, rejects, metrics and
  plots, and says what it did;
- the schemas of its artifacts and the SQL views over them (:class:`wrl.sql.View`);
- ``STAGE = Stage(...)``, the declaration the rest of the library reads.

``pipeline/<name>.py`` is ``pipeline_main("<name>")``: the paths come from ``dvc.yaml``'s command
line, the section from ``params.yaml`` (validated in full before any work). ``wrl <name>`` is built
from the same declaration (:mod:`wrl.cli`): the same paths as arguments, the section's fields as
options. Neither holds logic of its own.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from wrl.batching import CHUNK_ROWS
from wrl.config import ParamsError, Section, load_params
from wrl.errors import InternalError, WrlError
from wrl.io import REJECTS_SCHEMA, check_output, write_table

if TYPE_CHECKING:
    import duckdb

REPORT_URL = "https://github.com/wrl-project/wrl/issues"


@dataclass(frozen=True)
class Port:
    """A path a stage reads or writes.

    Attributes:
        name: the argument's name (``instructions``, ``parsed``) as the CLI shows it.
        help: what the file holds.
        directory: a directory (a model, a set of shards), written with
            :func:`wrl.io.atomic_directory`, rather than one file.
    """

    name: str
    help: str
    directory: bool = False


@dataclass(frozen=True)
class Paths:
    """The paths of one run: inputs and outputs in declaration order, rejects, metrics and plots."""

    inputs: tuple[Path, ...]
    outputs: tuple[Path, ...]
    rejects: Path | None = None
    metrics: Path | None = None
    plots: tuple[Path, ...] = ()
    directories: frozenset[Path] = frozenset()

    def check_outputs(self) -> None:
        """Fail before any work if an output cannot be written."""
        for path in (*self.outputs, self.rejects):
            if path is not None:
                check_output(path, directory=path in self.directories)
        for path in (self.metrics, *self.plots):
            if path is not None:
                check_output(path, dataset=False)


@dataclass(frozen=True)
class Context:
    """How to run, never what to compute: results do not depend on these."""

    threads: int = 0
    progress: bool = True

    def progress_bar(self, desc: str, total: int | None) -> tqdm:
        """A bar over ``total`` input rows, shown (as by the library calls) for inputs of 100,000 rows or more."""
        return tqdm(total=total, desc=desc, unit="rows", leave=False,
                    disable=not self.progress or (total or 0) < CHUNK_ROWS)


@dataclass
class Report:
    """What a run did, printed the same way by the DVC script and the CLI.

    ``rows_in = rows_out + rejects`` always holds for a row-wise stage; ``counts`` are breakdowns
    (requirements by type, rejects by reason) and ``lines`` free-form facts.
    """

    stage: str
    rows_in: int
    rows_out: int
    rejects: Counter = field(default_factory=Counter)
    outputs: tuple[Path, ...] = ()
    rejects_path: Path | None = None
    lines: list[str] = field(default_factory=list)
    counts: list[tuple[str, Counter]] = field(default_factory=list)

    def render(self) -> str:
        out = [f"{self.stage}: rows in {self.rows_in:,} = out {self.rows_out:,} + rejected "
               f"{sum(self.rejects.values()):,}"]
        out += [f"  {line}" for line in self.lines]
        if self.rejects:
            out += _counts_lines("rejects by reason", self.rejects)
            out.append(f"  rejects written to {self.rejects_path}")
        for title, counts in self.counts:
            out += _counts_lines(title, counts)
        out += [f"  output written to {path}" for path in self.outputs]
        return "\n".join(out)


def _counts_lines(title: str, counts: Counter) -> list[str]:
    if not counts:
        return []
    width = max(len(str(k)) for k in counts)
    lines = [f"  {title}:"]
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        lines.append(f"    {str(key):<{width}}  {n:>9,}")
    return lines


@dataclass(frozen=True)
class Stage:
    """The declaration of a stage: its name, section, paths, run function and SQL views.

    Attributes:
        name: the ``dvc.yaml`` stage, the ``params.yaml`` section and the ``wrl`` subcommand.
        config: its section class.
        run: ``run(cfg, paths, ctx) -> Report``.
        inputs, outputs: the positional paths, in order.
        plots: the plot data files it writes (``--plots`` takes one path each).
        rejects: whether it quarantines rows (``--rejects``, default ``OUT.rejects.EXT`` in the CLI).
        views: the SQL views over its outputs.
    """

    name: str
    config: type[Section]
    run: Callable[[Any, Paths, Context], Report]
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    plots: tuple[Port, ...] = ()
    rejects: bool = True
    views: tuple[View, ...] = ()

    def paths(self, inputs: tuple[Path, ...], outputs: tuple[Path, ...], rejects: Path | None, metrics: Path | None,
              plots: tuple[Path, ...] = ()) -> Paths:
        """The :class:`Paths` of one run of this stage (which outputs are directories comes from the ports)."""
        return Paths(inputs, outputs, rejects if self.rejects else None, metrics, plots,
                     frozenset(p for port, p in zip(self.outputs, outputs, strict=True) if port.directory))

    @property
    def description(self) -> str:
        """The first line of ``run``'s docstring, for ``--help``."""
        return (self.run.__doc__ or "").strip().splitlines()[0]


@dataclass(frozen=True)
class View:
    """An artifact exposed as a SQL view.

    Attributes:
        name: the view name.
        path: the Parquet file or glob it reads, relative to the project root.
        description: what one row is, for ``wrl sql --list`` and the docs.
        sql: the view's query: ``{source}`` is the ``read_parquet(...)`` of ``path`` and ``{rest}``
            the file's columns except those in ``hide``. Default: every column.
        hide: columns left out of ``{rest}``.
        stage: the DVC stage that writes ``path`` (named when the artifact is missing).
    """

    name: str
    path: str
    description: str
    sql: str = "SELECT * FROM {source}"
    hide: tuple[str, ...] = ()
    stage: str = ""

    def files(self, root: str | os.PathLike[str]) -> list[str]:
        """The files of this artifact under ``root``, sorted (empty if not built yet)."""
        return sorted(glob.glob(os.path.join(root, self.path)))

    def query(self, root: str | os.PathLike[str], con: duckdb.DuckDBPyConnection) -> str | None:
        """The view's SQL over the absolute file paths, or None if the artifact does not exist."""
        files = [os.path.abspath(f) for f in self.files(root)]
        if not files:
            return None
        quoted = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        source = f"read_parquet([{quoted}], union_by_name = true)"
        rest = ""
        if "{rest}" in self.sql:
            columns = [row[0] for row in con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()]
            rest = ", ".join(ident(c) for c in columns if c not in self.hide)
        return self.sql.replace("{source}", source).replace("{rest}", rest)


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


# --- helpers the stages share for their metrics ---------------------------------------------------


def value_counts(values: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    """Counts of each value, keys sorted, for deterministic metrics."""
    if len(values) == 0:
        return {}
    counts = pc.value_counts(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
    return dict(sorted(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)))


def ratio(a: float, b: float) -> float:
    """``a / b`` rounded to 6 digits (0 when ``b`` is 0), so metrics files are stable."""
    return round(a / b, 6) if b else 0.0


def ordered(counts: Counter | dict[str, int], order: Iterable[str]) -> dict[str, int]:
    """Counts keyed in a fixed order (the taxonomy's), unknown keys last in sorted order."""
    known = [k for k in order if k in counts]
    return {k: counts[k] for k in known + sorted(set(counts) - set(known))}


def write_rejects(parts: list[pa.Table], path: Path | None) -> Counter:
    """Write a run's rejected rows, in row order, to ``path`` (if given); returns their counts by reason."""
    rejected = pa.concat_tables([p.cast(REJECTS_SCHEMA) for p in parts]).sort_by("row") if parts \
        else REJECTS_SCHEMA.empty_table()
    if path is not None:
        write_table(rejected, path)
    return Counter(value_counts(rejected["reason_kind"]))


def rejects_summary(by_reason: Counter) -> dict[str, object]:
    """``{"total": n, "by_reason": {reason_kind: n}}``: every quarantined row is counted by reason."""
    return {"total": sum(by_reason.values()), "by_reason": dict(sorted(by_reason.items()))}


# --- running --------------------------------------------------------------------------------------


def report_error(e: BaseException, prefix: str = "") -> int:
    """Print an error as one line and return the exit status: 2 for the user's mistakes, 70 for ours."""
    if isinstance(e, InternalError) or not isinstance(e, WrlError):
        if os.environ.get("WRL_DEBUG"):
            traceback.print_exception(e)
        detail = str(e) if isinstance(e, InternalError) else f"{type(e).__name__}: {e}"
        print(f"{prefix}error: internal error (a bug in wrl, not in your input): {detail}\n"
              f"{prefix}please report it at {REPORT_URL} (WRL_DEBUG=1 prints the traceback)", file=sys.stderr)
        return 70
    print(f"{prefix}error: {e}", file=sys.stderr)
    return 2


def pipeline_main(name: str, argv: list[str] | None = None) -> None:
    """The DVC script of stage ``name``: ``INPUTS... OUTPUTS... [--rejects R] [--metrics M] [--plots P...]``.

    Reads the stage's section from ``params.yaml`` (all of it is validated first), checks every
    output before any work, runs the stage and prints its report; a wrl error is one line and exit
    status 2.
    """
    from wrl.stages import stage

    spec = stage(name)
    parser = argparse.ArgumentParser(prog=f"pipeline/{name}.py", description=spec.description)
    for port in (*spec.inputs, *spec.outputs):
        parser.add_argument(port.name, type=Path, help=port.help)
    if spec.rejects:
        parser.add_argument("--rejects", type=Path, required=True, help="Quarantined rows with their reason.")
    parser.add_argument("--metrics", type=Path, required=True, help="Metrics JSON for `dvc metrics show`.")
    if spec.plots:
        parser.add_argument("--plots", type=Path, nargs=len(spec.plots), required=True,
                            help="Plot data: " + "; ".join(p.help for p in spec.plots))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="Params file [params.yaml].")
    parser.add_argument("--threads", type=int, default=0, help="Worker threads, 0 for all cores (no effect on "
                        "results).")
    args = parser.parse_args(argv)
    try:
        cfg = getattr(load_params(args.params), name)
        paths = spec.paths(tuple(getattr(args, p.name) for p in spec.inputs),
                           tuple(getattr(args, p.name) for p in spec.outputs),
                           getattr(args, "rejects", None), args.metrics, tuple(getattr(args, "plots", None) or ()))
        paths.check_outputs()
        report = spec.run(cfg, paths, Context(threads=args.threads))
    except ParamsError as e:
        # dvc repro removed this stage's outputs before running it; the cache still has them.
        print(f"{name}: error: {e}\n{name}: fix params.yaml and rerun; `dvc checkout` restores the outputs "
              "of the last successful run meanwhile", file=sys.stderr)
        sys.exit(2)
    except Exception as e:  # noqa: BLE001 - every failure is one line, never a traceback
        sys.exit(report_error(e, f"{name}: "))
    print(report.render())
