"""GPU check of the reward model: a decoder reward model of about 0.5B parameters, built from a config with random
weights (right for throughput and memory), trained a few hundred steps and scored in bf16, on one GPU of a bare
machine (no model hub; torch and transformers are enough, accelerate and trl optional).

    python benchmarks/gpu_check.py            # one H200-class GPU, within 5 minutes
    python benchmarks/gpu_check.py --smoke    # a tiny config and a few steps, on CPU too (to check the script)

Prints training examples/s and tokens/s, scoring pairs/s batched (length-sorted, right-padded, the score read at
the last real token as wrl.reward_model does) and one pair per forward call (the paper's server), their ratio
(the issue's target on a GPU: at least 20x), peak GPU memory and an MFU estimate: 6 * parameters * trained
tokens/s (2 * parameters * tokens/s when scoring) over the GPU's dense bf16 peak (989 TFLOPS, H100/H200 SXM).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PEAK_BF16_TFLOPS = 989.0  # H100/H200 SXM, dense


def build(smoke: bool, vocab: int, device: str, dtype) -> tuple:
    """A Qwen2-style sequence classifier with random weights, 1 label (a Bradley-Terry reward head)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForSequenceClassification

    if smoke:
        cfg = Qwen2Config(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024)
    else:  # about 0.5B: 24 layers, hidden 1024, GQA 16/4 heads, SwiGLU 5504, vocab 32k
        cfg = Qwen2Config(vocab_size=vocab, hidden_size=1024, intermediate_size=5504, num_hidden_layers=24,
                          num_attention_heads=16, num_key_value_heads=4, max_position_embeddings=4096,
                          tie_word_embeddings=True)
    cfg.num_labels = 1
    cfg.pad_token_id = 0  # a token of its own: the score is read at the last non-pad token
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForSequenceClassification(cfg).to(dtype)
    return model, cfg


def synthetic(n: int, vocab: int, lo: int, hi: int, seed: int = 0) -> list[list[int]]:
    rng = random.Random(seed)
    return [[rng.randrange(1, vocab) for _ in range(rng.randint(lo, hi))] for _ in range(n)]


def pad(rows: list[list[int]], device: str):
    import torch

    width = max(map(len, rows))
    ids = torch.tensor([r + [0] * (width - len(r)) for r in rows], device=device)
    return ids, (ids != 0).long()


def train(model, cfg, args, device: str) -> dict:
    """Bradley-Terry steps on synthetic (chosen, rejected) pairs: a plain loop (the stage's RewardTrainer computes
    the same loss), bf16 weights and AdamW (no fp32 master copy: a throughput and memory check, not a recipe)."""
    import torch
    import torch.nn.functional as F

    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.0)
    pairs = args.batch
    rows = synthetic(args.steps * pairs * 2 + 4 * pairs, cfg.vocab_size, args.min_len, args.max_len, seed=1)
    tokens = 0
    losses = []
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for step in range(args.steps + args.warmup):
        if step == args.warmup:
            sync()
            start, tokens = time.perf_counter(), 0
        batch = rows[step * 2 * pairs:(step + 1) * 2 * pairs]
        ids, mask = pad(batch, device)
        rewards = model(input_ids=ids, attention_mask=mask).logits.float().squeeze(-1)
        chosen, rejected = rewards[:pairs], rewards[pairs:]
        loss = -F.logsigmoid(chosen - rejected).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens += int(mask.sum())
        losses.append(float(loss.detach()))
    sync()
    seconds = time.perf_counter() - start
    return {"steps": args.steps, "pairs_per_step": pairs, "examples_per_s": args.steps * pairs / seconds,
            "rows_per_s": args.steps * 2 * pairs / seconds, "tokens_per_s": tokens / seconds,
            "loss_first": losses[0], "loss_last": losses[-1], "seconds": seconds}


def score(model, cfg, args, device: str) -> dict:
    """Pairs/s batched (length-sorted) and one at a time, and whether they agree."""
    import torch

    model.eval()
    rows = synthetic(args.score_pairs, cfg.vocab_size, args.min_len, args.max_len, seed=2)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))
    out_batched = [0.0] * len(rows)
    with torch.inference_mode():
        for i in range(min(3, len(rows))):  # warm-up
            model(input_ids=torch.tensor([rows[i]], device=device))
        sync()
        start = time.perf_counter()
        tokens = 0
        for at in range(0, len(order), args.score_batch):
            idx = order[at:at + args.score_batch]
            ids, mask = pad([rows[i] for i in idx], device)
            logits = model(input_ids=ids, attention_mask=mask).logits.float()[:, 0]
            for i, v in zip(idx, torch.sigmoid(logits).tolist(), strict=True):
                out_batched[i] = v
            tokens += int(mask.sum())
        sync()
        batched_s = time.perf_counter() - start
        n_single = min(len(rows), args.single_pairs)
        start = time.perf_counter()
        out_single = []
        for r in rows[:n_single]:
            out_single.append(float(torch.sigmoid(model(input_ids=torch.tensor([r], device=device)).logits.float()
                                                  [0, 0])))
        sync()
        single_s = time.perf_counter() - start
    diff = max(abs(a - b) for a, b in zip(out_batched[:n_single], out_single, strict=True))
    batched, single = len(rows) / batched_s, n_single / single_s
    return {"pairs_batched_per_s": batched, "pairs_single_per_s": single, "ratio": batched / single,
            "batch": args.score_batch, "score_tokens_per_s": tokens / batched_s, "max_abs_diff_bf16": diff}


def main() -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny config, a few steps (CPU is fine)")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None, help="pairs per training step")
    parser.add_argument("--score-pairs", type=int, default=None)
    parser.add_argument("--score-batch", type=int, default=None)
    parser.add_argument("--single-pairs", type=int, default=None, help="pairs scored one at a time")
    parser.add_argument("--min-len", type=int, default=96)
    parser.add_argument("--max-len", type=int, default=256)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    smoke = args.smoke
    args.steps = args.steps or (3 if smoke else 300)
    args.warmup = 1 if smoke else 10
    args.batch = args.batch or (2 if smoke else 16)
    args.score_pairs = args.score_pairs or (16 if smoke else 4096)
    args.score_batch = args.score_batch or (8 if smoke else 256)
    args.single_pairs = args.single_pairs or (8 if smoke else 256)
    if smoke:
        args.min_len, args.max_len = 8, 32
    cuda = torch.cuda.is_available()
    if not cuda and not smoke:
        print("error: no GPU visible; run with --smoke to check the script on CPU", file=sys.stderr)
        return 2
    device = "cuda" if cuda else "cpu"
    dtype = torch.bfloat16
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    model, cfg = build(smoke, 512 if smoke else 32000, device, dtype)
    n_params = sum(p.numel() for p in model.parameters())
    t = train(model, cfg, args, device)
    s = score(model, cfg, args, device)
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    mfu_train = 6 * n_params * t["tokens_per_s"] / (PEAK_BF16_TFLOPS * 1e12)
    mfu_score = 2 * n_params * s["score_tokens_per_s"] / (PEAK_BF16_TFLOPS * 1e12)
    name = torch.cuda.get_device_name() if cuda else "cpu"
    total = time.perf_counter() - started
    print(f"reward-model GPU check: {name}, Qwen2-style seq-cls, {n_params / 1e6:.1f}M parameters, bf16, "
          f"lengths {args.min_len}-{args.max_len} tokens, torch {torch.__version__}")
    print("| what | value |\n|---|---|")
    print(f"| training: steps x pairs/step | {t['steps']} x {t['pairs_per_step']} |")
    print(f"| training examples/s (pairs) | {t['examples_per_s']:.1f} |")
    print(f"| training tokens/s | {t['tokens_per_s']:,.0f} |")
    print(f"| training loss first -> last | {t['loss_first']:.3f} -> {t['loss_last']:.3f} |")
    print(f"| scoring pairs/s, batched ({s['batch']}, length-sorted) | {s['pairs_batched_per_s']:,.1f} |")
    print(f"| scoring pairs/s, one at a time | {s['pairs_single_per_s']:,.1f} |")
    print(f"| batched / one at a time | {s['ratio']:.1f}x (target >= 20x on a GPU) |")
    print(f"| batched vs one-at-a-time scores, max difference (bf16) | {s['max_abs_diff_bf16']:.2g} |")
    print(f"| peak GPU memory | {peak:.1f} GiB |")
    print(f"| MFU, training (6 N tokens/s / {PEAK_BF16_TFLOPS:.0f} TFLOPS) | {100 * mfu_train:.1f}% |")
    print(f"| MFU, scoring (2 N tokens/s) | {100 * mfu_score:.1f}% |")
    print(f"| wall time | {total:.0f} s |")
    if args.json:
        args.json.write_text(json.dumps({"device": name, "parameters": n_params, "train": t, "score": s,
                                         "peak_gib": peak, "mfu_train": mfu_train, "mfu_score": mfu_score,
                                         "seconds": total}, indent=2))
    ok = t["loss_last"] == t["loss_last"] and s["max_abs_diff_bf16"] < 0.05
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
