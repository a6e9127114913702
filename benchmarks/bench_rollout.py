"""Benchmark generation: the rollout stage's transformers backend against plain ``model.generate``.

On the same real prompts (from the variants table), greedy, ``max_new_tokens`` tokens, at batch 1
and batched: tokens/s of plain ``generate`` (left padding, chat template, the same length-sorted
batches) and of the whole ``rollout`` stage run on those prompts (reading the variants, picking,
counting prompt tokens for rejects, fingerprinting the model, generating, writing shards,
markers, rejects and metrics), with the model loaded once for both. Targets: the stage's
bookkeeping costs under 10% of plain ``generate``'s time; batched is at least 8x batch 1 on 2
cores. The model's weights are loaded before timing; the stage's own model-identity hash is timed.

    python benchmarks/bench_rollout.py                                  # SmolLM2 from /work/main
    python benchmarks/bench_rollout.py --model models/policy --batches 1 8 16 32 --tokens 64
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import wrl.stages.rollout as rollout  # noqa: E402
from wrl.config import params_from_dict  # noqa: E402
from wrl.generation import TransformersGenerator  # noqa: E402
from wrl.stage import Context  # noqa: E402


def prompts_table(variants: Path, n: int) -> pa.Table:
    """``n`` real test prompts (variant 0 of instructions with requirements), as a variants table of their own."""
    table = pq.read_table(variants)
    rows = [r for r in table.to_pylist() if r["split"] == "test" and r["variant"] == 0 and r["n_requirements"] > 0]
    return pa.Table.from_pylist(rows[:n], schema=table.schema)


def plain_generate(gen: TransformersGenerator, prompts: list[str], batch: int, tokens: int) -> tuple[float, int]:
    """Seconds and tokens of plain ``model.generate`` over the same length-sorted, left-padded batches."""
    import torch

    tok, model = gen.tokenizer, gen.model
    texts = [tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False)
             for p in prompts]
    order = sorted(range(len(texts)), key=lambda i: -len(tok(texts[i], add_special_tokens=False)["input_ids"]))
    tok.padding_side = "left"
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    n_tokens, start = 0, time.perf_counter()
    for s in range(0, len(order), batch):
        enc = tok([texts[i] for i in order[s:s + batch]], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=tokens, do_sample=False, pad_token_id=pad)
        new = out[:, enc["input_ids"].shape[1]:]
        for row in new.tolist():
            n_tokens += next((k for k, t in enumerate(row) if t == tok.eos_token_id), len(row))
    return time.perf_counter() - start, n_tokens


def stage_run(gen: TransformersGenerator, table: pa.Table, batch: int, tokens: int,
              work: Path) -> tuple[float, int, float]:
    """Seconds of a whole rollout stage run on ``table``'s prompts, the tokens it generated, and the seconds
    it spent outside generation (the bookkeeping: input, picks, rejects, fingerprints, shards, metrics)."""
    variants = work / f"variants-{batch}.parquet"
    pq.write_table(table, variants)
    cfg = params_from_dict({"rollout": {
        "model": gen.settings.model, "temperature": 0.0, "max_new_tokens": tokens, "batch_size": batch,
        "shard_size": max(batch, 16), "instructions": {"train": 0, "dev": 0, "test": table.num_rows}}}).rollout
    gen.settings = cfg.generation()
    out = work / f"rollouts-{batch}"
    paths = rollout.STAGE.paths((variants,), (out,), work / f"rejects-{batch}.parquet", work / f"m-{batch}.json")
    real, generate = rollout.make_generator, gen.generate
    in_generate = 0.0

    def timed(*args, **kwargs):
        nonlocal in_generate
        t = time.perf_counter()
        try:
            return generate(*args, **kwargs)
        finally:
            in_generate += time.perf_counter() - t

    rollout.make_generator = lambda settings: gen  # the model already loaded: time the stage, not the load
    gen.generate = timed
    try:
        start = time.perf_counter()
        rollout.run(cfg, paths, Context(progress=False))
        seconds = time.perf_counter() - start
    finally:
        rollout.make_generator = real
        del gen.generate
    done = pa.concat_tables(pq.read_table(p) for p in sorted(out.glob("*.parquet")))
    return seconds, sum(done["completion_tokens"].to_pylist()), seconds - in_generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="/work/main/models/policy")
    parser.add_argument("--variants", type=Path, default=Path("/work/main/data/variants.parquet"))
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 32])
    parser.add_argument("--tokens", type=int, default=64, help="max_new_tokens [64]")
    parser.add_argument("--prompts", type=int, default=32, help="prompts per batched measurement [32]")
    parser.add_argument("--prompts-batch-1", type=int, default=6, help="prompts at batch 1 [6]")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads, 0 for torch's default [0]; on a "
                        "machine shared with other busy processes 1 can be several times faster than 2")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    table = prompts_table(args.variants, max(args.prompts, args.prompts_batch_1))
    gen = TransformersGenerator(rollout.RolloutConfig(model=args.model, device=args.device, temperature=0.0,
                                                      max_new_tokens=args.tokens).generation())
    t = time.perf_counter()
    gen.model  # noqa: B018 - load now, outside the timings
    print(f"model {args.model}: loaded in {time.perf_counter() - t:.1f} s; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}; greedy, max_new_tokens={args.tokens}")
    gen.generate(["Say hi."], seed=0)  # warm-up
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for batch in args.batches:
            part = table.slice(0, args.prompts_batch_1 if batch == 1 else args.prompts)
            prompts = part["prompt"].to_pylist()
            plain_s, plain_n = plain_generate(gen, prompts, batch, args.tokens)
            stage_s, stage_n, books_s = stage_run(gen, part, batch, args.tokens, Path(tmp))
            # Overhead as tokens/s lost (the token counts match when both sides generate the same text), and
            # the time the stage spends outside generation, which the machine's load does not blur.
            rows.append((batch, len(prompts), plain_n / plain_s, plain_n, stage_n / stage_s, stage_n,
                         (plain_n / plain_s) / (stage_n / stage_s) - 1, books_s, books_s / stage_s))
            print(f"  batch {batch}: plain {plain_n} tokens in {plain_s:.1f} s, stage {stage_n} tokens in "
                  f"{stage_s:.1f} s ({books_s:.2f} s outside generation)", flush=True)
    base = next((r for r in rows if r[0] == 1), None)
    print("\n| batch | prompts | plain generate tok/s | rollout stage tok/s | stage vs plain | bookkeeping | "
          "stage vs batch 1 |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for batch, n, plain, plain_n, stage, stage_n, over, books, share in rows:
        speedup = f"{stage / base[4]:.1f}x" if base else "-"
        print(f"| {batch} | {n} | {plain:.1f} ({plain_n} tok) | {stage:.1f} ({stage_n} tok) | {over:+.1%} | "
              f"{books:.2f} s ({share:.1%}) | {speedup} |")
    print("\ntargets: bookkeeping < 10% of the stage's time; batched >= 8x batch 1 on 2 cores. 'stage vs plain' "
          "compares two timed runs, so a busy machine blurs it; 'bookkeeping' is the stage's time outside generation")


if __name__ == "__main__":
    main()
