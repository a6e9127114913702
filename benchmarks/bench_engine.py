"""Benchmark: requirement parsing and dropping in Rust (1 and 2 threads) against what a user would
otherwise write in plain Python, side by side in one run.

- parse baseline: a regex classifier, one ``re`` pattern per requirement type
  (``benchmarks/regex_baseline.json``), ``re.search`` over each instruction to label which types
  occur. It does much less than the parser: no spans, parameters, Chinese or structured input.
- drop baseline: cut the given character spans out of each instruction and collapse whitespace, for
  the same dropped sets the engine drew (the draw itself is not timed). It does less than the
  dropper: no clause connectors, list renumbering, re-capitalization or punctuation repair.

Each configuration runs in its own subprocess so that its peak memory (max RSS) is its own, and is
timed as the best of three runs. The ratio column is throughput over the baseline of the same
operation.

With ``--against DIR`` (a checkout whose ``wrl`` package holds its own built ``_core``), a second
table sets this build's parser beside that build's, on one thread, on the synthetic instructions
(all, and their Chinese rows) and on real prompts (``--real``, IFEval's by default, repeated to
``--real-rows``): instructions/s, MB/s, and the ratio of this build over that one. Each build runs
in its own subprocess, importing ``wrl`` from its own checkout.

    python benchmarks/bench_engine.py --rows 20000
    python benchmarks/bench_engine.py --against ../wt-baseline --real ../shared/data/ifeval_dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

DATA = Path("data/bench/engine_instructions.parquet")
PATTERNS = Path(__file__).with_name("regex_baseline.json")
SETTINGS = {"strategy": "independent", "rate": 0.5, "seed": 0, "max_variants": 4}
REPEAT = 3  # best of: the machine is shared, the fastest run is the least disturbed


def make_data(rows: int, seed: int) -> Path:
    from wrl.io import write_table
    from wrl.synth import synthesize

    path = DATA.with_name(f"engine_instructions_{rows}_{seed}.parquet")
    if not path.exists():
        write_table(synthesize(rows, seed=seed), path)
    return path


def regex_classifier():
    """``label(prompt)``: the requirement types whose pattern occurs in ``prompt``."""
    table = {t: re.compile(p, re.IGNORECASE) for t, p in json.loads(PATTERNS.read_text()).items()
             if not t.startswith("_")}
    return lambda prompt: [t for t, pattern in table.items() if pattern.search(prompt)]


def cut_spans(prompt: str, spans: list[tuple[int, int]]) -> str:
    """``prompt`` without the character spans, whitespace collapsed."""
    kept, pos = [], 0
    for start, end in sorted(spans):
        kept.append(prompt[pos:start])
        pos = max(pos, end)
    kept.append(prompt[pos:])
    return " ".join("".join(kept).split())


def span_jobs(parsed, settings) -> list[tuple[str, list[tuple[int, int]]]]:
    """One ``(prompt, spans)`` per dropped variant the engine draws, for the baseline to cut."""
    from wrl.requirements import drop_table

    variants, _ = drop_table(parsed, settings)
    prompts = parsed["prompt"].to_pylist()
    spans = [{r["id"]: (r["start"], r["end"]) for r in reqs if r["start"] is not None}
             for reqs in parsed["requirements"].to_pylist()]
    return [(prompts[v["row"]], [spans[v["row"]][i] for i in v["dropped_ids"] if i in spans[v["row"]]])
            for v in variants.select(["row", "variant", "dropped_ids"]).to_pylist() if v["variant"] > 0]


def load_prompts(path: str, rows: int):
    """The benchmark's ``id``/``prompt`` table: the first ``rows`` of a table file, or, for JSON lines
    (IFEval's format, a ``prompt`` field) and ``PATH#zh`` (a table's Chinese rows), the prompts
    repeated to ``rows`` rows under new ids."""
    import pyarrow as pa

    from wrl.io import read_table

    path, _, language = path.partition("#")
    if path.endswith(".jsonl"):
        prompts = [json.loads(line)["prompt"] for line in Path(path).read_text().splitlines() if line.strip()]
    else:
        table = read_table(path)
        if not language:
            return table.slice(0, rows).select(["id", "prompt"])
        languages = table["language"].to_pylist()
        prompts = [p for p, lang in zip(table["prompt"].to_pylist(), languages, strict=True) if lang == language]
    prompts = [prompts[i % len(prompts)] for i in range(rows)]
    return pa.table({"id": [f"b{i}" for i in range(rows)], "prompt": prompts})


def run_one(engine: str, op: str, threads: int, path: str, rows: int) -> dict:
    """Time one configuration in this process; return its result."""
    import pyarrow.compute as pc

    from wrl.requirements import DropSettings, drop_table, parse_table

    table = load_prompts(path, rows)
    n_bytes = pc.sum(pc.binary_length(table["prompt"])).as_py()
    settings = DropSettings(**SETTINGS)
    if op == "parse" and engine == "rust":
        work = lambda: parse_table(table, threads=threads)[0].num_rows
    elif op == "parse":
        label, prompts = regex_classifier(), table["prompt"].to_pylist()
        work = lambda: len([label(p) for p in prompts])
    else:
        parsed, _ = parse_table(table)
        if engine == "rust":
            work = lambda: drop_table(parsed, settings, threads=threads)[0].num_rows
        else:
            jobs = span_jobs(parsed, settings)
            work = lambda: len([cut_spans(p, s) for p, s in jobs])
    seconds = float("inf")
    for _ in range(REPEAT):
        start = time.perf_counter()
        out_rows = work()
        seconds = min(seconds, time.perf_counter() - start)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"engine": engine, "op": op, "threads": threads, "rows": table.num_rows, "bytes": n_bytes,
            "seconds": seconds, "out_rows": out_rows, "peak_mib": peak_mib}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--against", metavar="DIR", help="a checkout with a built wrl._core: set this build's parser "
                    "beside that one's")
    ap.add_argument("--real", default="../shared/data/ifeval_dev.jsonl", help="real prompts, JSON lines with a "
                    "'prompt' field (with --against)")
    ap.add_argument("--real-rows", type=int, default=50_000, help="rows of real prompts, repeated (with --against)")
    ap.add_argument("--one", nargs=5, metavar=("ENGINE", "OP", "THREADS", "PATH", "ROWS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        engine, op, threads, path, rows = args.one
        print(json.dumps(run_one(engine, op, int(threads), path, int(rows))))
        return

    path = make_data(args.rows, args.seed)
    if args.against:
        compare_builds(Path(args.against), path, args)
        return
    configs = [(engine, op, t) for op in ("parse", "drop") for engine, t in (("python", 1), ("rust", 1), ("rust", 2))]
    here = Path(__file__).resolve().parents[1]
    results = [run_subprocess(here, engine, op, threads, str(path), args.rows) for engine, op, threads in configs]

    baseline = {r["op"]: r["rows"] / r["seconds"] for r in results if r["engine"] == "python"}
    names = {("parse", "python"): "regex", ("drop", "python"): "spans", ("parse", "rust"): "rust",
             ("drop", "rust"): "rust"}
    header = f"{'op':<6} {'engine':<8} {'threads':>7} {'rows':>9} {'seconds':>8} {'instr/s':>11} {'MB/s':>8} " \
             f"{'ratio':>9} {'peak MiB':>9}"
    print("\nrequirement engine benchmark (synth instructions; ratio = throughput over the Python baseline)")
    print(header)
    print("-" * len(header))
    for r in results:
        rate = r["rows"] / r["seconds"]
        mbps = r["bytes"] / r["seconds"] / 1e6
        print(f"{r['op']:<6} {names[r['op'], r['engine']]:<8} {r['threads']:>7} {r['rows']:>9,} {r['seconds']:>8.3f} "
              f"{rate:>11,.0f} {mbps:>8.1f} {rate / baseline[r['op']]:>8.1f}x {r['peak_mib']:>9.0f}")
    mean_bytes = results[-1]["bytes"] / results[-1]["rows"]
    print(f"(mean instruction length {mean_bytes:.0f} bytes; drop throughput counts input instructions, each giving "
          f"up to {SETTINGS['max_variants']} dropped variants. regex: labels types only, English only; spans: cuts "
          "the engine's spans, no fluency repair)")


def run_subprocess(checkout: Path, engine: str, op: str, threads: int, path: str, rows: int) -> dict:
    """``run_one`` in a subprocess that imports ``wrl`` from ``checkout``."""
    env = {**os.environ, "PYTHONPATH": str(checkout.resolve())}
    cmd = [sys.executable, __file__, "--one", engine, op, str(threads), path, str(rows)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def compare_builds(against: Path, synth: Path, args) -> None:
    """This build's parser beside the one in ``against`` and the Python regex classifier, 1 thread."""
    if not (against / "wrl").is_dir():
        raise SystemExit(f"--against {against}: no wrl package there (give a checkout with a built wrl/_core)")
    here = Path(__file__).resolve().parents[1]
    sets = [("synth", str(synth), args.rows), ("synth zh", f"{synth}#zh", args.rows),
            ("real", str(Path(args.real).resolve()), args.real_rows)]
    header = f"{'instructions':<13} {'parser':<7} {'rows':>7} {'instr/s':>9} {'MB/s':>6} {'vs regex':>9} {'vs old':>7}"
    print(f"\nparse, 1 thread: this build ({here}) against {against.resolve()} (old) and the Python regex "
          "classifier (best of 3)")
    print(header)
    print("-" * len(header))
    for name, path, rows in sets:
        # The regex classifier's rate is per row; a quarter of the rows times it as well, and sooner.
        res = {"regex": run_subprocess(here, "python", "parse", 1, path, max(rows // 4, 1)),
               "old": run_subprocess(against, "rust", "parse", 1, path, rows),
               "new": run_subprocess(here, "rust", "parse", 1, path, rows)}
        rate = {k: r["rows"] / r["seconds"] for k, r in res.items()}
        for k, r in res.items():
            vs_old = f"{rate[k] / rate['old']:>6.2f}x" if k != "regex" else f"{'':>7}"
            print(f"{name:<13} {k:<7} {r['rows']:>7,} {rate[k]:>9,.0f} {r['bytes'] / r['seconds'] / 1e6:>6.1f} "
                  f"{rate[k] / rate['regex']:>8.2f}x {vs_old}")
    print("(real: the prompts of --real repeated; regex: labels types only, English only)")


if __name__ == "__main__":
    main()
