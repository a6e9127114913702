"""The LLM judge's cost on the default policy: yes_no with the prefix KV cache reused against plain full prompts,
and the critic mode.

Scores ~20 real test-split responses (``data/rollouts/*.parquet``, ``split == 'test'``) against their full
instruction's requirements (``data/parsed.parquet``) and prints, per way of scoring: pairs, seconds, pairs/s, the
ratio to the cached run's time and the max |difference| of its scores from the cached run's. Rows:

- ``yes_no, KV reuse``: :meth:`LlmJudge.judge` (one forward of each response's prefix, then its requirements);
- ``yes_no, full prompts``: the same token ids as plain full forwards, right-padded batches of ``batch_size``;
- ``yes_no, whole text``: each question tokenized as one text (no seam between prefix and requirement), full
  forwards: how much the separate tokenization of prefix and suffix changes the scores;
- ``critic``: greedy answers of ``--max-new-tokens`` tokens, parsed (the unparsed count is printed).

Usage:
    HF_HUB_OFFLINE=1 PYTHONPATH=$PWD python benchmarks/bench_llm_judge.py [--model /work/main/models/policy]
        [--data /work/main/data] [--responses 20] [--batch-size 16] [--threads 2]
"""

from __future__ import annotations

import argparse
import glob
import math
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wrl.judges import JudgeItem, JudgeSpec
from wrl.judges.llm import LlmJudge
from wrl.requirements import Requirement, requirement_params


def load_items(data: Path, n: int) -> list[JudgeItem]:
    """About ``n`` test-split responses as WEval judges them: whole groups (every variant of an instruction, first
    sample), consecutive, instructions in id order."""
    shards = sorted(glob.glob(str(data / "rollouts" / "*.parquet")))
    cols = ["id", "variant", "variant_id", "sample", "split", "response"]
    rollouts = pa.concat_tables([pq.read_table(s, columns=cols) for s in shards])
    rollouts = rollouts.filter(pc.and_(pc.equal(rollouts["split"], "test"), pc.equal(rollouts["sample"], 0)))
    rows = sorted(rollouts.to_pylist(), key=lambda r: (r["id"], r["variant"]))
    parsed = {r["id"]: r for r in pq.read_table(data / "parsed.parquet", columns=["id", "prompt", "requirements"])
              .to_pylist()}
    items: list[JudgeItem] = []
    for row in rows:
        if len(items) >= n and items[-1].key.split(":")[0] != row["id"]:
            break
        p = parsed[row["id"]]
        reqs = tuple(Requirement(q["id"], q["type"], q["start"], q["end"], q["text"], requirement_params(q["params"]))
                     for q in p["requirements"])
        items.append(JudgeItem(row["variant_id"], p["prompt"], row["response"], reqs))
    return items


def whole_text_scores(judge: LlmJudge, items: list[JudgeItem]) -> list[list[float]]:
    """yes_no scores with each question tokenized as one text, full forwards (right-padded batches)."""
    import torch

    rows = [(i, judge._ids(judge._render(judge.template.question(it.prompt, it.response, r.text)), first=True))
            for i, it in enumerate(items) for r in it.requirements]
    flat = [0.0] * len(rows)
    with torch.inference_mode():
        for start in range(0, len(rows), judge.spec.batch_size):
            chunk = list(range(start, min(start + judge.spec.batch_size, len(rows))))
            lengths = [len(rows[k][1]) for k in chunk]
            batch = torch.full((len(chunk), max(lengths)), judge.pad_id, dtype=torch.long)
            mask = torch.zeros_like(batch)
            for j, k in enumerate(chunk):
                batch[j, :lengths[j]] = torch.tensor(rows[k][1])
                mask[j, :lengths[j]] = 1
            keep = torch.tensor(sorted({n - 1 for n in lengths}))
            out = judge._forward(batch, mask, keep=keep)
            for k, s in zip(chunk, judge._yes_probability(judge._last_logits(out, lengths, keep)), strict=True):
                flat[k] = s
    scores: list[list[float]] = [[] for _ in items]
    for (i, _), s in zip(rows, flat, strict=True):
        scores[i].append(s)
    return scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="/work/main/models/policy")
    ap.add_argument("--data", type=Path, default=Path("/work/main/data"))
    ap.add_argument("--responses", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=8)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-critic", action="store_true")
    ap.add_argument("--no-whole-text", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="rounds (the methods alternate); the fastest is reported, "
                    "as other work on a shared machine only ever slows a round")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    items = load_items(args.data, args.responses)
    pairs = sum(len(it.requirements) for it in items)
    t = time.perf_counter()
    judge = LlmJudge("bench", JudgeSpec(kind="llm", model=args.model, batch_size=args.batch_size, device=args.device,
                                        dtype="float32"))
    print(f"model {args.model} loaded in {time.perf_counter() - t:.1f}s; {len(items)} responses to "
          f"{len({it.prompt for it in items})} instructions, {pairs} pairs, torch threads {torch.get_num_threads()}")
    parts = [judge.encode_parts(it) for it in items]
    mean = lambda xs: sum(xs) / len(xs)
    print(f"tokens per response: before the response {mean([len(p[0]) for p in parts]):.0f}, response part "
          f"{mean([len(p[1]) for p in parts]):.0f}, per requirement {mean([len(x) for p in parts for x in p[2]]):.0f}")
    judge.judge(items[-1:])  # warm-up (a different instruction from the first)
    judge._counts["tokens"] = 0

    runs = {"yes_no, KV reuse": lambda: [list(j.requirement_scores) for j in judge.judge(items)],
            "yes_no, full prompts": lambda: judge.score_uncached(items)}
    if not args.no_whole_text:
        runs["yes_no, whole text"] = lambda: whole_text_scores(judge, items)
    best: dict[str, float] = {}
    scores: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for name, run in runs.items():
            judge._shared = None  # every round encodes every instruction
            judge._counts["tokens"] = 0
            t = time.perf_counter()
            got = run()
            best[name] = min(best.get(name, math.inf), time.perf_counter() - t)
            scores[name] = [s for g in got for s in g]
            if name == "yes_no, KV reuse":
                kv_tokens = judge.counters["tokens"]
    flat = scores["yes_no, KV reuse"]
    tokens = {"yes_no, KV reuse": kv_tokens,
              "yes_no, full prompts": sum(len(p[0]) + len(p[1]) + len(x) for p in parts for x in p[2])}
    base = best["yes_no, KV reuse"]
    rows = [(name, pairs, best[name], max(abs(a - b) for a, b in zip(flat, scores[name], strict=True)))
            for name in runs]
    unparsed = None
    if not args.no_critic:
        critic = LlmJudge("critic", JudgeSpec(kind="llm", model=args.model, mode="critic", batch_size=args.batch_size,
                                              max_new_tokens=args.max_new_tokens, device=args.device,
                                              dtype="float32"))
        t = time.perf_counter()
        critic.judge(items)
        rows.append((f"critic, {args.max_new_tokens} new tokens", pairs, time.perf_counter() - t, None))
        unparsed = critic.counters["critic_unparsed"]

    print("\n| scoring | pairs | tokens run | seconds | pairs/s | time / KV reuse | max abs diff vs KV reuse |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, n, seconds, diff in rows:
        d = "" if diff is None else f"{diff:.2e}"
        print(f"| {name} | {n} | {tokens.get(name, '')} | {seconds:.2f} | {n / seconds:.2f} | {seconds / base:.2f} | "
              f"{d} |")
    if unparsed is not None:
        print(f"\ncritic: {unparsed} of {pairs} answers unparsed")
    print(f"\nyes_no scores (KV reuse): min {min(flat):.3f}, mean {sum(flat) / len(flat):.3f}, max {max(flat):.3f}")


if __name__ == "__main__":
    main()
