"""Reward-model throughput on this machine: training examples/s (pointwise and pairwise objectives, the stage's
Trainer / RewardTrainer path) and scoring pairs/s (RewardModel batched and length-sorted, against one pair per
forward call as the paper's server works), printed side by side in one table.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/bench_train_rm.py [--backbone /work/main/models/reward_backbone]

The backbone gets a random score head (right for speed). Inputs are synthetic (requirement, response) pairs with
responses of 40-90 words, about the default data's token lengths, at the stage's default max_length. Under about
three minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ("the a of and to in is was for on that with as by at from it this be are or an which their they have city "
         "river rain poem story people time day world life light water night morning garden letter friend school "
         "home music dream heart voice road window door summer winter").split()
REQUIREMENTS = ["Your entire response should be in English, and in all lowercase letters.",
                "Include the keywords river and garden in the response.",
                "Answer with at least 60 words.", "End your response with the exact phrase 'Is there anything else?'",
                "Write in a humorous tone suitable for children."]


def pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    reqs = [rng.choice(REQUIREMENTS) for _ in range(n)]
    resps = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90))).capitalize() + "." for _ in range(n)]
    return reqs, resps


def train_rate(backbone: str, objective: str, n: int, max_length: int, batch: int) -> tuple[float, float]:
    """Examples (pairs, pairwise) per second of ``n`` training examples through the stage's trainer path, and the
    mean tokens per row."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer

    from wrl.reward_model import InputFormat, encode
    from wrl.stages.train_rm import PairCollator, _reward_trainer_class

    tok = AutoTokenizer.from_pretrained(backbone)
    fmt = InputFormat(max_length=max_length)
    reqs, resps = pairs(n)
    torch.manual_seed(0)
    common = dict(per_device_train_batch_size=batch, num_train_epochs=1, save_strategy="no", report_to="none",
                  logging_strategy="no", use_cpu=not torch.cuda.is_available(), disable_tqdm=True,
                  dataloader_num_workers=0, activation_checkpointing=False, bf16=False)
    with tempfile.TemporaryDirectory() as out:
        if objective == "pointwise":
            from transformers import TrainingArguments

            enc = encode(tok, fmt, reqs, resps)
            ds = Dataset.from_dict({"input_ids": enc.input_ids, "token_type_ids": enc.token_type_ids,
                                    "labels": [i % 2 for i in range(n)]})
            model = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=2)
            trainer = Trainer(model=model, args=TrainingArguments(output_dir=out, **common), train_dataset=ds,
                              processing_class=tok, data_collator=DataCollatorWithPadding(tok))
            trainer.model_accepts_loss_kwargs = False
            tokens = sum(map(len, enc.input_ids)) / n
        else:
            from trl import RewardConfig

            chosen, rejected = encode(tok, fmt, reqs, resps), encode(tok, fmt, reqs, resps[::-1])
            ds = Dataset.from_dict({"chosen_ids": chosen.input_ids, "rejected_ids": rejected.input_ids,
                                    "chosen_token_type_ids": chosen.token_type_ids,
                                    "rejected_token_type_ids": rejected.token_type_ids})
            model = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=1)
            trainer = _reward_trainer_class()(model=model, args=RewardConfig(output_dir=out, max_length=None,
                                                                             **common),
                                              train_dataset=ds, processing_class=tok,
                                              data_collator=PairCollator(tok.pad_token_id))
            tokens = (sum(map(len, chosen.input_ids)) + sum(map(len, rejected.input_ids))) / n
        start = time.perf_counter()
        trainer.train()
        return n / (time.perf_counter() - start), tokens


def score_rates(backbone: str, n: int, max_length: int, batch: int) -> tuple[float, float]:
    """Pairs/s: RewardModel batched (length-sorted) and one pair per forward call."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from wrl.reward_model import RewardModel, RewardModelSettings

    tok = AutoTokenizer.from_pretrained(backbone)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=2).eval()
    settings = RewardModelSettings(max_length=max_length)
    reqs, resps = pairs(n, seed=1)
    batched, single = RewardModel(model, tok, settings, batch_size=batch), RewardModel(model, tok, settings,
                                                                                       batch_size=1)
    batched.score_pairs(reqs[:batch], resps[:batch])  # warm-up
    start = time.perf_counter()
    a = batched.score_pairs(reqs, resps)
    t_batched = time.perf_counter() - start
    start = time.perf_counter()
    b = [single.score_pairs([q], [r])[0] for q, r in zip(reqs, resps, strict=True)]
    t_single = time.perf_counter() - start
    assert max(abs(x - y) for x, y in zip(a.tolist(), b, strict=True)) < 1e-4
    return n / t_batched, n / t_single


def main() -> None:
    import torch

    from wrl.stages.train_rm import TRAINER_DEFAULTS, TrainRMConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default=str(ROOT.parent / "main/models/reward_backbone")
                        if not (ROOT / "models/reward_backbone").exists() else str(ROOT / "models/reward_backbone"))
    parser.add_argument("--train-examples", type=int, default=96)
    parser.add_argument("--score-pairs", type=int, default=256)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    max_length = TrainRMConfig().max_length
    batch = TRAINER_DEFAULTS["per_device_train_batch_size"]
    eval_batch = TrainRMConfig().eval_batch_size
    started = time.perf_counter()
    point, tokens = train_rate(args.backbone, "pointwise", args.train_examples, max_length, batch)
    pair, pair_tokens = train_rate(args.backbone, "pairwise", args.train_examples // 2, max_length, batch)
    batched, single = score_rates(args.backbone, args.score_pairs, max_length, eval_batch)
    print(f"reward model throughput: {Path(args.backbone).name}, max_length {max_length}, torch threads "
          f"{torch.get_num_threads()}, {'cuda' if torch.cuda.is_available() else 'cpu'}")
    print(f"| what | setting | rate | tokens/row |\n|---|---|---|---|\n"
          f"| train, pointwise (Trainer) | batch {batch} | {point:.1f} examples/s | {tokens:.0f} |\n"
          f"| train, pairwise (RewardTrainer) | batch {batch} pairs | {pair:.1f} pairs/s | {pair_tokens:.0f} |\n"
          f"| score, RewardModel batched, length-sorted | batch {eval_batch} | {batched:.1f} pairs/s | |\n"
          f"| score, one pair per forward call | batch 1 | {single:.1f} pairs/s | |\n"
          f"| batched / one-at-a-time | | {batched / single:.2f}x | |")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
