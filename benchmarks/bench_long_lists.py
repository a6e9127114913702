"""Parse time of one instruction with a long numbered list: it should grow linearly with the list.

    python benchmarks/bench_long_lists.py [--sizes 4000 8000 16000 32000 64000]

Each item is a requirement ("3. Include the keyword 'stop3'."). For each size it prints the time of
a full parse (limits raised) and of a parse that stops at the default ``max_requirements`` (64),
and the ratio to the previous size: about 2.0 per doubling is linear, 4.0 quadratic.
"""

from __future__ import annotations

import argparse
import time

from wrl import InvalidInstructionError
from wrl.requirements import ParseLimits, parse


def long_list(n: int) -> str:
    return "Write a guide to the city. Follow these rules:\n" + "\n".join(
        f"{i}. Include the keyword 'stop{i}'." for i in range(1, n + 1))


def best_of(runs: int, fn) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def limited(text: str) -> None:
    try:
        parse(text, limits=ParseLimits(max_bytes=1 << 30))
    except InvalidInstructionError:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[4000, 8000, 16000, 32000, 64000])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(f"{'items':>7} {'MB':>6} {'full s':>8} {'x prev':>7} {'limit-64 s':>11} {'x prev':>7}")
    prev = None
    unlimited = ParseLimits(max_bytes=1 << 30, max_requirements=1 << 20)
    for n in args.sizes:
        text = long_list(n)
        full = best_of(args.runs, lambda text=text: parse(text, limits=unlimited))
        stop = best_of(args.runs, lambda text=text: limited(text))
        ratios = ("", "") if prev is None else (f"{full / prev[0]:.2f}", f"{stop / prev[1]:.2f}")
        print(f"{n:>7,} {len(text.encode()) / 1e6:>6.2f} {full:>8.3f} {ratios[0]:>7} {stop:>11.3f} {ratios[1]:>7}")
        prev = (full, stop)


if __name__ == "__main__":
    main()
