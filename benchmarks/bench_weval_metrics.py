"""Benchmark: WEval's ranking metrics and bootstrap summary over many groups, for each tie rule.

Synthesizes ``--groups`` groups (sizes 3..9 uniformly; gold = requirements kept, so a group of n drops n - 1
requirements, their types drawn from ``--types`` types in ``--families`` families; ``--categories``
categories) and a noisy judge (gold / n plus Gaussian noise, rounded to one decimal, so some pairs tie: the
share is printed), then times, per tie rule, :func:`wrl.weval.metrics.ragged_rank_metrics` and
:func:`wrl.weval.metrics.summarize` for one judge (overall and every breakdown, ``--resamples`` resamples),
and prints seconds, seconds per 1,000 groups, CPU seconds and the Python memory peak (tracemalloc; numpy's
buffers are counted). ``scipy.stats`` is imported before the clock starts (about a second, once per process).

The bootstrap's matrix product runs in BLAS; on a machine whose cores are busy with other work, OpenBLAS's
threads spin against it and the product can be many times slower: ``OPENBLAS_NUM_THREADS=1`` avoids that.

    python benchmarks/bench_weval_metrics.py                # 100,000 groups, 1,000 resamples
    python benchmarks/bench_weval_metrics.py --groups 10000 --ties expected
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np
import pyarrow as pa

from wrl.weval.metrics import METRICS, TIES, ragged_rank_metrics, summarize


def synthesize(groups: int, *, categories: int, types: int, families: int, noise: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 10, size=groups)
    gold = np.concatenate([np.arange(n)[::-1] for n in sizes]).astype(np.float64)
    scores = np.round(gold / sizes.repeat(sizes) + rng.normal(0, noise, size=len(gold)), 1)
    type_names = [f"type_{t:02d}" for t in range(types)]
    family_of = [f"family_{t % families}" for t in range(types)]
    dropped = [rng.integers(0, types, size=n - 1) for n in sizes]
    return {"sizes": sizes, "gold": gold, "scores": scores,
            "category": [f"category_{c}" for c in rng.integers(0, categories, size=groups)],
            "dropped_types": [[type_names[t] for t in d] for d in dropped],
            "dropped_families": [[family_of[t] for t in d] for d in dropped]}


def timed(fn):
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, wall, cpu, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--groups", type=int, default=100_000)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--categories", type=int, default=5)
    ap.add_argument("--types", type=int, default=20)
    ap.add_argument("--families", type=int, default=6)
    ap.add_argument("--noise", type=float, default=0.3)
    ap.add_argument("--ties", choices=TIES, nargs="*", default=list(TIES))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    wall = time.perf_counter()
    import scipy.stats  # noqa: F401  (a one-time cost, not the metrics')
    imported = time.perf_counter() - wall
    data = synthesize(args.groups, categories=args.categories, types=args.types, families=args.families,
                      noise=args.noise, seed=args.seed)
    n = args.groups
    tied = ragged_rank_metrics(data["sizes"], data["gold"], np.zeros_like(data["scores"]))  # warm-up
    del tied
    starts = np.concatenate([[0], np.cumsum(data["sizes"])[:-1]])
    pairs = ties_n = 0
    for size in range(3, 10):
        members = starts[data["sizes"] == size, None] + np.arange(size)
        s = data["scores"][members]
        ties_n += int((s[:, :, None] == s[:, None, :]).sum() - s.size) // 2
        pairs += len(s) * size * (size - 1) // 2
    print(f"{n:,} groups, sizes 3..9, {args.categories} categories, {args.types} types in {args.families} "
          f"families, {args.resamples:,} resamples; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"
          f"; scipy.stats imported in {imported:.2f} s; {ties_n / pairs:.1%} of the pairs tie")
    print(f"{'ties':<9} {'step':<20} {'seconds':>8} {'s/1k groups':>12} {'cpu s':>8} {'peak MB':>8}  overall tau")
    for ties in args.ties:
        metrics, wall, cpu, peak = timed(lambda t=ties: ragged_rank_metrics(data["sizes"], data["gold"],
                                                                             data["scores"], t))
        print(f"{ties:<9} {'ragged_rank_metrics':<20} {wall:8.2f} {wall / n * 1000:12.4f} {cpu:8.2f} "
              f"{peak / 2**20:8.1f}  {metrics['tau'].mean():.4f}")
        table = pa.table({"judge": ["noisy"] * n, "group_id": [f"g{i}" for i in range(n)],
                          "category": data["category"], "group_size": data["sizes"],
                          "dropped_types": data["dropped_types"], "dropped_families": data["dropped_families"]}
                         | {m: metrics[m] for m in METRICS})
        summary, wall, cpu, peak = timed(lambda t=ties, tb=table: summarize(tb, ties=t, seed=0,
                                                                            resamples=args.resamples))
        judge = summary["judges"]["noisy"]
        cells = 1 + sum(len(judge[k]) for k in ("by_category", "by_type", "by_family", "by_group_size"))
        grouped = sum(c["n"] for k in ("by_category", "by_type", "by_family", "by_group_size")
                      for c in judge[k].values()) + n
        o = judge["overall"]
        print(f"{ties:<9} {'summarize':<20} {wall:8.2f} {wall / n * 1000:12.4f} {cpu:8.2f} {peak / 2**20:8.1f}  "
              f"{o['tau']} [{o['tau_low']}, {o['tau_high']}]  ({cells} cells, {grouped:,} group-cells)")


if __name__ == "__main__":
    main()
