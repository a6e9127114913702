"""What every stage script shares: its command line, clean failures, and counting helpers.

A stage is ``python pipeline/<stage>.py <in> <out> --rejects ... --metrics ... [--plots ...]``;
all paths come from ``dvc.yaml``, none are written in code. Parameters come from one section of
``params.yaml``, validated in full (:func:`wrl.config.load_params`) before any work.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from wrl import WrlError
from wrl.config import Params, ParamsError, load_params
from wrl.io import DatasetError, check_output


def stage_args(description: str, *, plots: int = 0) -> argparse.ArgumentParser:
    """The common command line: ``INPUT OUTPUT --rejects R --metrics M [--plots P ...] [--params F]``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("input", type=Path, help="Input dataset.")
    parser.add_argument("output", type=Path, help="Output Parquet file.")
    parser.add_argument("--rejects", type=Path, required=True, help="Quarantined rows with their reason (Parquet).")
    parser.add_argument("--metrics", type=Path, required=True, help="Metrics JSON for `dvc metrics show`.")
    if plots:
        parser.add_argument("--plots", type=Path, nargs=plots, required=True, help="Plot data JSON files.")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="Params file [params.yaml].")
    parser.add_argument("--threads", type=int, default=0, help="Worker threads, 0 for all cores (no effect on "
                        "results).")
    return parser


def parse_args(parser: argparse.ArgumentParser) -> tuple[argparse.Namespace, Params]:
    """The stage's arguments and validated params, with every output path checked before any work."""
    args = parser.parse_args()
    params = load_params(args.params)
    for path in (args.output, args.rejects):
        check_output(path)
    for path in [args.metrics, *(getattr(args, "plots", None) or [])]:
        check_output(path, dataset=False)
    return args, params


def run(stage: Callable[[], None], name: str) -> None:
    """Run a stage; wrl's own errors (bad params, corrupt input) become one line and exit status 2."""
    try:
        stage()
    except ParamsError as e:
        # dvc repro removed this stage's outputs before running it; the cache still has them.
        print(f"{name}: error: {e}\n{name}: fix params.yaml and rerun; `dvc checkout` restores the outputs "
              "of the last successful run meanwhile", file=sys.stderr)
        sys.exit(2)
    except (WrlError, DatasetError) as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        sys.exit(2)


def value_counts(values: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    """Counts of each value, keys sorted, for deterministic metrics."""
    if len(values) == 0:
        return {}
    counts = pc.value_counts(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
    return dict(sorted(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)))


def rejects_summary(rejects: pa.Table) -> dict[str, object]:
    """``{"total": n, "by_reason": {reason_kind: n}}``: every quarantined row is counted by reason."""
    by_reason = value_counts(rejects["reason_kind"]) if "reason_kind" in rejects.column_names else {}
    return {"total": rejects.num_rows, "by_reason": by_reason}


def ratio(a: float, b: float) -> float:
    """``a / b`` rounded to 6 digits (0 when ``b`` is 0), so metrics files are stable."""
    return round(a / b, 6) if b else 0.0


def ordered(counts: Counter | dict[str, int], order: list[str]) -> dict[str, int]:
    """Counts keyed in a fixed order (the taxonomy's), unknown keys last in sorted order."""
    known = [k for k in order if k in counts]
    return {k: counts[k] for k in known + sorted(set(counts) - set(known))}


def by_family(type_counts: Counter | dict[str, int]) -> dict[str, int]:
    """Per-type counts summed per taxonomy family (8 columns in ``dvc metrics show`` instead of 29)."""
    from wrl.requirements import taxonomy

    types = taxonomy()
    families: Counter = Counter()
    for t, n in type_counts.items():
        families[types[t].family if t in types else "unknown"] += n
    return dict(sorted(families.items()))
