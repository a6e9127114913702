"""Benchmark: WEval's cost per 1,000 groups, scoring (each judge of params.yaml) and metrics, side by side.

Scoring: the pipeline's own groups (built from ``data/rollouts`` and ``data/parsed.parquet`` as the
``weval_judge`` stage builds them; run ``dvc repro rollout`` first), each judge of ``weval_judge.judges``
loaded once (not timed) and timed on every response. Metrics: ``--groups`` synthetic groups (sizes 3..9,
see ``bench_weval_metrics.py``), per-group metrics and the summary with every interval, under ``expected``
ties. Prints seconds, seconds per 1,000 groups and responses (or groups) per second.

    python benchmarks/bench_weval.py                      # every judge, 100,000 synthetic groups
    python benchmarks/bench_weval.py --judges reward_model length --groups 10000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

from bench_weval_metrics import synthesize  # noqa: E402

from wrl.config import load_params  # noqa: E402
from wrl.judges import build_judge  # noqa: E402
from wrl.rollouts import check_rows, read_parsed, read_rollouts  # noqa: E402
from wrl.stages.weval_judge import evaluated_rows  # noqa: E402
from wrl.weval.groups import build_groups  # noqa: E402
from wrl.weval.metrics import ragged_rank_metrics, summarize  # noqa: E402


def pipeline_groups(cfg) -> tuple[list, int]:
    parsed = read_parsed(REPO / "data/parsed.parquet")
    raw, _, _ = read_rollouts(REPO / "data/rollouts", "bench")
    rows, _, index = check_rows(evaluated_rows(raw, parsed, cfg.sample)[0], parsed, "bench")
    groups = build_groups(rows, parsed, index, group_size=cfg.group_size, min_requirements=cfg.min_requirements,
                          stage="bench")
    return groups.items, len(set(groups.table["group_id"].to_pylist()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--params", type=Path, default=REPO / "params.yaml")
    ap.add_argument("--judges", nargs="*", help="judge names of params.yaml (default: all)")
    ap.add_argument("--groups", type=int, default=100_000, help="synthetic groups for the metrics")
    ap.add_argument("--resamples", type=int, default=1000)
    args = ap.parse_args()

    cfg = load_params(args.params).weval_judge
    items, n_groups = pipeline_groups(cfg)
    pairs = sum(len(i.requirements) for i in items)
    rows = []
    for name, spec in cfg.specs().items():
        if args.judges and name not in args.judges:
            continue
        judge = build_judge(name, spec)
        started = time.perf_counter()
        judge.judge(items)
        seconds = time.perf_counter() - started
        judge.close()
        rows.append((f"score: {name} ({spec.kind})", n_groups, seconds, len(items) / seconds, "responses/s"))
        print(f"  {name}: {seconds:.2f} s", file=sys.stderr)

    data = synthesize(args.groups, categories=5, types=20, families=6, noise=0.3, seed=0)
    started = time.perf_counter()
    per = ragged_rank_metrics(data["sizes"], data["gold"], data["scores"], "expected")
    table = pa.table({"judge": ["synthetic"] * args.groups, "group_id": [str(g) for g in range(args.groups)],
                      "category": data["category"], "group_size": pa.array(data["sizes"], pa.int32()),
                      "dropped_types": [sorted(set(t)) for t in data["dropped_types"]],
                      "dropped_families": [sorted(set(f)) for f in data["dropped_families"]],
                      **{m: pa.array(v, pa.float64()) for m, v in per.items()}})
    summarize(table, ties="expected", seed=0, resamples=args.resamples)
    seconds = time.perf_counter() - started
    rows.append((f"metrics + summary ({args.resamples} resamples)", args.groups, seconds, args.groups / seconds,
                 "groups/s"))

    print(f"\nWEval on {n_groups} pipeline groups ({len(items)} responses, {pairs} requirement pairs) and "
          f"{args.groups:,} synthetic groups (metrics)\n")
    print(f"| {'step':<44} | {'groups':>8} | {'seconds':>8} | {'s / 1,000 groups':>16} | {'rate':>20} |")
    print(f"|{'-' * 46}|{'-' * 9}:|{'-' * 9}:|{'-' * 17}:|{'-' * 21}:|")
    for step, groups, secs, rate, unit in rows:
        print(f"| {step:<44} | {groups:>8,} | {secs:>8.2f} | {1000 * secs / groups:>16.2f} | "
              f"{rate:>9.1f} {unit:<10} |")


if __name__ == "__main__":
    main()
