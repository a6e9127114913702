"""Peak memory and throughput of the streaming stages against whole-table processing, side by side.

The parse and drop stages stream their input and output by Parquet row groups. This benchmark runs,
each in its own process (so its peak RSS is its own), on synthesized instructions of several sizes:

- ``whole``: what the stages did before they streamed: one table for the whole input
  (``read_input`` + ``wrl.parse_dataset`` / ``wrl.drop_dataset`` + ``write_table``) and the same
  metrics (types, parser accuracy against the gold, drops by type);
- ``stream``: the stage itself (``wrl.stages.<stage>.run``), as ``dvc repro`` runs it.

Target: stream's peak memory does not grow with the input and stays under 1.5 GB at 1M
instructions, with throughput no worse than whole.

    python benchmarks/bench_memory.py                        # 250k and 1M instructions, 2 cores
    python benchmarks/bench_memory.py --sizes 100000 --cores 2
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _job(mode: str, stage: str, workdir: Path, n: int) -> None:
    """One measured run, in this process; prints ``seconds peak_mib rows_out``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from wrl.io import read_input, write_table
    from wrl.parser_eval import parser_accuracy
    from wrl.requirements import drop_dataset, parse_dataset
    from wrl.stage import Context, Paths, value_counts
    from wrl.stages import stage as stage_spec

    src = workdir / f"{'instructions' if stage == 'parse' else 'parsed'}-{n}.parquet"
    out = workdir / f"{stage}-{mode}-{n}.parquet"
    spec = stage_spec(stage)
    start = time.perf_counter()
    if mode == "stream":
        extra = workdir / f"{stage}-{mode}-{n}"
        spec.run(spec.config(), Paths((src,), (out,), extra.with_suffix(".rejects.parquet")), Context(progress=False))
    elif stage == "parse":  # what the parse stage did before it streamed: whole table, same metrics
        source = read_input(src, stage="parse")
        parsed, rejects = parse_dataset(source.table, limits=spec.config().limits(), progress=False)
        write_table(parsed, out)
        write_table(source.merge(rejects), workdir / f"{stage}-{mode}-{n}.rejects.parquet")
        value_counts(parsed["requirements"].combine_chunks().flatten().field("type"))
        parser_accuracy(parsed)
    else:  # the drop stage before it streamed: both splits' variants in memory, same metrics
        cfg = spec.config()
        parsed = read_input(src, stage="drop").table.drop_columns(["gold_requirements"])
        is_test = pc.fill_null(pc.equal(parsed["split"], "test"), False)
        parts = [drop_dataset(parsed.filter(mask), settings, progress=False)[0]
                 for mask, settings in ((pc.invert(is_test), cfg.train_settings()), (is_test, cfg.test_settings()))]
        variants = pa.concat_tables(parts)
        write_table(variants, out)
        train = variants.filter(pc.and_(pc.not_equal(variants["split"], "test"), pc.greater(variants["variant"], 0)))
        reqs = parsed["requirements"].combine_chunks()
        types = pa.ListArray.from_arrays(reqs.offsets, reqs.values.field("type"))
        value_counts(types.take(pc.index_in(train["id"].combine_chunks(), parsed["id"].combine_chunks())).flatten())
        value_counts(train["dropped_types"].combine_chunks().flatten())
    seconds = time.perf_counter() - start
    import pyarrow.parquet as pq

    rows = pq.read_metadata(out).num_rows
    print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rows)


def _measure(mode: str, stage: str, workdir: Path, n: int) -> tuple[float, float, int]:
    proc = subprocess.run([sys.executable, __file__, "--job", mode, stage, str(workdir), str(n)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} {stage} {n} failed:\n{proc.stderr}")
    seconds, peak, rows = proc.stdout.split()
    return float(seconds), float(peak), int(rows)


def _prepare(workdir: Path, n: int) -> None:
    """Synthesize ``n`` instructions (data stage) and parse them (parse stage): the two inputs."""
    from wrl.stage import Context, Paths
    from wrl.stages import stage as stage_spec

    data, parse = stage_spec("data"), stage_spec("parse")
    inst, parsed = workdir / f"instructions-{n}.parquet", workdir / f"parsed-{n}.parquet"
    data.run(data.config(n=n), Paths((Path(""),), (inst,), workdir / "d.rejects.parquet"), Context(progress=False))
    parse.run(parse.config(), Paths((inst,), (parsed,), workdir / "p.rejects.parquet"), Context(progress=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000], help="Instruction counts.")
    parser.add_argument("--cores", type=int, default=2, help="CPU cores the runs may use (0 = all).")
    parser.add_argument("--job", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        mode, stage, workdir, n = args.job
        _job(mode, stage, Path(workdir), int(n))
        return
    if args.cores:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
    workdir = Path(tempfile.mkdtemp(prefix="wrl-bench-memory-"))
    try:
        print(f"streaming vs whole-table stages, {len(os.sched_getaffinity(0))} cores")
        print(f"\n{'stage':<6} {'instructions':>12} {'mode':<7} {'rows out':>10} {'wall s':>7} {'rows/s':>9} "
              f"{'peak MiB':>9} {'stream/whole':>13}")
        for n in args.sizes:
            _prepare(workdir, n)
            for stage in ("parse", "drop"):
                measured = {mode: _measure(mode, stage, workdir, n) for mode in ("whole", "stream")}
                for mode, (seconds, peak, rows) in measured.items():
                    ratio = ""
                    if mode == "stream":
                        w = measured["whole"]
                        ratio = f"{w[0] / seconds:.2f}x speed, {peak / w[1]:.2f}x memory"
                    print(f"{stage:<6} {n:>12,} {mode:<7} {rows:>10,} {seconds:>7.1f} {n / seconds:>9,.0f} "
                          f"{peak:>9,.0f} {ratio:>13}")
            for f in workdir.glob(f"*-{n}*"):
                f.unlink()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
