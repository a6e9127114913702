"""Benchmark: requirement parsing and dropping, Rust (1 thread, all threads) vs the Python reference.

Each configuration runs in its own subprocess so that its peak memory (max RSS) is its own.
The Python reference is timed on a subsample (it is ~2 orders of magnitude slower); its
throughput is reported per instruction, so the ratios compare like with like.

    python benchmarks/bench_engine.py --rows 100000 --reference-rows 5000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

DATA = Path("data/bench/engine_instructions.parquet")


def make_data(rows: int, seed: int) -> Path:
    from wrl.synth import synthesize
    from wrl.io import write_table

    path = DATA.with_name(f"engine_instructions_{rows}_{seed}.parquet")
    if not path.exists():
        write_table(synthesize(rows, seed=seed), path)
    return path


def run_one(engine: str, op: str, threads: int, path: str, rows: int) -> dict:
    """Time one configuration in this process; print its JSON result."""
    import pyarrow.compute as pc

    from wrl.io import read_table
    from wrl.requirements import DropSettings, drop_table, parse_table

    table = read_table(path).slice(0, rows).select(["id", "prompt"])
    n_bytes = pc.sum(pc.binary_length(table["prompt"])).as_py()
    settings = DropSettings(strategy="independent", rate=0.5, seed=0, max_variants=4)
    if engine == "rust":
        parse = lambda t: parse_table(t, threads=threads)  # noqa: E731
        drop = lambda t: drop_table(t, settings, threads=threads)  # noqa: E731
    else:
        from wrl import reference

        parse = lambda t: reference.parse_table(t)  # noqa: E731
        drop = lambda t: reference.drop_table(t, settings)  # noqa: E731
    if op == "parse":
        start = time.perf_counter()
        out, rejects = parse(table)
        seconds = time.perf_counter() - start
    else:
        parsed, rejects = parse_table(table, threads=threads or 0)
        start = time.perf_counter()
        out, rejects = drop(parsed)
        seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"engine": engine, "op": op, "threads": threads, "rows": table.num_rows, "bytes": n_bytes,
            "seconds": seconds, "out_rows": out.num_rows, "rejects": rejects.num_rows, "peak_mib": peak_mib}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--reference-rows", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--one", nargs=5, metavar=("ENGINE", "OP", "THREADS", "PATH", "ROWS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        engine, op, threads, path, rows = args.one
        print(json.dumps(run_one(engine, op, int(threads), path, int(rows))))
        return

    path = make_data(args.rows, args.seed)
    cores = os.cpu_count() or 1
    configs = [("python", op, 1, args.reference_rows) for op in ("parse", "drop")]
    configs += [("rust", op, t, args.rows) for op in ("parse", "drop") for t in (1, cores)]
    results = []
    for engine, op, threads, rows in configs:
        cmd = [sys.executable, __file__, "--one", engine, op, str(threads), str(path), str(rows)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))

    baseline = {r["op"]: r["rows"] / r["seconds"] for r in results if r["engine"] == "python"}
    header = f"{'op':<6} {'engine':<8} {'threads':>7} {'rows':>9} {'seconds':>8} {'instr/s':>11} {'MB/s':>8} " \
             f"{'vs python':>9} {'peak MiB':>9}"
    print(f"\nrequirement engine benchmark ({cores} cores, synth instructions)")
    print(header)
    print("-" * len(header))
    for r in results:
        rate = r["rows"] / r["seconds"]
        mbps = r["bytes"] / r["seconds"] / 1e6
        print(f"{r['op']:<6} {r['engine']:<8} {r['threads']:>7} {r['rows']:>9,} {r['seconds']:>8.3f} {rate:>11,.0f} "
              f"{mbps:>8.1f} {rate / baseline[r['op']]:>8.1f}x {r['peak_mib']:>9.0f}")
    mean_bytes = results[-1]["bytes"] / results[-1]["rows"]
    print(f"(mean instruction length {mean_bytes:.0f} bytes; drop throughput counts input instructions, "
          "each giving up to 5 variants)")


if __name__ == "__main__":
    main()
