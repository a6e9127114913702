"""Benchmark the data stages (data -> parse -> drop) and typical DuckDB queries over their outputs.

Runs each stage's command from dvc.yaml as its own process, as ``dvc repro`` would, on N synthesized
instructions (default 1,000,000), pinned to a number of cores, and reports wall time, rows/s and the
peak memory (max RSS) of each stage; then times a few typical ``wrl sql`` queries.
Targets: the three stages under 2 minutes on 2 cores, typical queries under 1 second.

    python benchmarks/bench_pipeline.py                     # 1M instructions, 2 cores
    python benchmarks/bench_pipeline.py --n 100000 --cores 4 --workdir /tmp/bench --keep
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from wrl.sql import connect  # noqa: E402

STAGES = ("data", "parse", "drop")
QUERIES = {
    "requirements per type": "SELECT type, count(*) AS n FROM requirements GROUP BY type ORDER BY n DESC",
    "requirements per type and category": "SELECT category, type, count(*) AS n FROM requirements "
                                          "GROUP BY ALL ORDER BY category, n DESC",
    "drop rate by type (train/dev)":
        "WITH per_instruction AS (SELECT id, count(*) AS n FROM variants WHERE variant > 0 AND split <> 'test' "
        "GROUP BY id), offered AS (SELECT r.type, sum(p.n) AS offered FROM requirements r "
        "JOIN per_instruction p ON r.instruction_id = p.id GROUP BY r.type), "
        "dropped AS (SELECT t AS type, count(*) AS dropped FROM variants, UNNEST(dropped_types) AS u(t) "
        "WHERE variant > 0 AND split <> 'test' GROUP BY t) "
        "SELECT type, offered, dropped, round(dropped / offered, 3) AS rate FROM offered JOIN dropped USING (type) "
        "ORDER BY rate DESC",
    "variants per split and n_dropped":
        "SELECT split, n_dropped, count(*) AS n FROM variants GROUP BY ALL ORDER BY ALL",
    "one instruction's variants": "SELECT variant, n_dropped, prompt FROM variants "
                                  "WHERE id = (SELECT min(id) FROM instructions) ORDER BY variant",
}


def _stage_command(name: str, spec: dict, params: dict, workdir: Path, threads: int) -> list[str]:
    cmd = spec["stages"][name]["cmd"].replace("${data.path}", str(REPO / params["data"]["path"]))
    args = shlex.split(cmd)
    assert args[0] == "python", cmd
    return [sys.executable, str(REPO / args[1]), *args[2:], "--params", str(workdir / "params.yaml"), "--threads",
            str(threads)]


def _run_measured(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MiB) of that process alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="Instructions to synthesize.")
    parser.add_argument("--cores", type=int, default=2, help="CPU cores the stages may use (0 = all).")
    parser.add_argument("--workdir", type=Path, help="Where outputs go [a temporary directory].")
    parser.add_argument("--keep", action="store_true", help="Keep the workdir.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs of each query (the best is reported).")
    args = parser.parse_args()

    cores = sorted(os.sched_getaffinity(0))
    if args.cores:
        cores = cores[: args.cores]
        os.sched_setaffinity(0, cores)  # inherited by the stage processes
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="wrl-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load((REPO / "dvc.yaml").read_text())
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"]["n"] = args.n
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    print(f"wrl pipeline benchmark: {args.n:,} instructions, {len(cores)} cores, workdir {workdir}")
    rows_in = {"data": args.n}
    results = []
    try:
        for name in STAGES:
            wall, rss = _run_measured(_stage_command(name, spec, params, workdir, len(cores)), workdir)
            out = {"data": "data/instructions.parquet", "parse": "data/parsed.parquet",
                   "drop": "data/variants.parquet"}[name]
            rows_out = pq.read_metadata(workdir / out).num_rows
            rows = rows_in.get(name, rows_out)
            results.append((name, rows, rows_out, wall, rows / wall, rss))
            rows_in["parse" if name == "data" else "drop"] = rows_out
        total = sum(r[3] for r in results)
        print(f"\n{'stage':<8} {'rows in':>11} {'rows out':>11} {'wall s':>8} {'rows/s':>11} {'peak MiB':>9}")
        for name, rows, rows_out, wall, rate, rss in results:
            print(f"{name:<8} {rows:>11,} {rows_out:>11,} {wall:>8.1f} {rate:>11,.0f} {rss:>9,.0f}")
        verdict = "meets" if total < 120 else "MISSES"
        print(f"{'total':<8} {'':>11} {'':>11} {total:>8.1f}   ({verdict} the 2-minute target)")

        con = connect(workdir)
        con.execute(f"SET threads = {len(cores)}")
        print(f"\n{'query':<36} {'rows':>7} {'best s':>8}")
        for label, query in QUERIES.items():
            best, n = float("inf"), 0
            for _ in range(args.repeat):
                start = time.perf_counter()
                n = len(con.sql(query).fetchall())
                best = min(best, time.perf_counter() - start)
            print(f"{label:<36} {n:>7,} {best:>8.3f}{'' if best < 1 else '  (over 1 s)'}")
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
