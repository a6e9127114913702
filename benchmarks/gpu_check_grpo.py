"""GPU check of GRPO: a decoder policy of about 0.5B parameters and a small reward model, both built from configs with
random weights (right for throughput and memory), a few GRPO steps through TRL's GRPOTrainer in bf16, on one GPU of
a bare machine (no model hub; torch, transformers, accelerate, datasets and trl; wrl itself is not imported, so its
compiled engine need not be built there).

    python benchmarks/gpu_check_grpo.py            # one H200-class GPU, within 5 minutes
    python benchmarks/gpu_check_grpo.py --smoke    # a tiny config and two steps, on CPU too (to check the script)

The tokenizer is a word-level one over synthetic words (every id decodes, so the random policy's completions are
text the reward model re-tokenizes with its own tokenizer, as wrl's reward term does). The reward is the reward
model's sigmoid score of each completion, scored in batches by a reward function (never the PreTrainedModel handed
to TRL). Prints the step time, generation tokens/s (completion tokens over the time in generation), training
tokens/s (prompt + completion tokens over the rest of the step: log-probabilities, the reference model's, the loss,
the backward pass and the optimizer), peak GPU memory, and an MFU estimate of the training part (6 * parameters *
tokens/s over the GPU's dense bf16 peak, 989 TFLOPS for H100/H200 SXM).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

PEAK_BF16_TFLOPS = 989.0  # H100/H200 SXM, dense
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def build_tokenizer(out: Path, vocab: int):
    """A word-level tokenizer over ``vocab`` ids: specials, then synthetic words ``w0, w1, ...``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "<|im_start|>", "<|im_end|>", "\n"]
    words = {t: i for i, t in enumerate(special + [f"w{i}" for i in range(vocab - len(special))])}
    tok = Tokenizer(models.WordLevel(words, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split("\n", "isolated"),
                                                 pre_tokenizers.WhitespaceSplit()])
    tok.decoder = decoders.WordPiece(prefix="##")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   bos_token="<|im_start|>", eos_token="<|im_end|>", cls_token="[CLS]",
                                   sep_token="[SEP]")
    fast.chat_template = CHAT_TEMPLATE
    fast.model_max_length = 8192
    fast.save_pretrained(out)
    return fast


def build_policy(smoke: bool, tokenizer, dtype):
    """A Qwen2-style causal LM with random weights: about 0.5B parameters (24 layers, hidden 1024, GQA 16/4 heads,
    SwiGLU 5504, vocab 32k, tied embeddings), or a tiny one for --smoke."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    common = {"vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id,
              "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
              "tie_word_embeddings": True}
    if smoke:
        cfg = Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                          num_key_value_heads=2, max_position_embeddings=1024, **common)
    else:
        cfg = Qwen2Config(hidden_size=1024, intermediate_size=5504, num_hidden_layers=24, num_attention_heads=16,
                          num_key_value_heads=4, max_position_embeddings=4096, **common)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(cfg).to(dtype)
    model.generation_config = GenerationConfig(pad_token_id=tokenizer.pad_token_id,
                                               bos_token_id=tokenizer.bos_token_id,
                                               eos_token_id=tokenizer.eos_token_id)
    return model


def build_reward_model(tokenizer, device: str, dtype):
    """A small BERT sequence classifier (4 layers, hidden 256, 1 label) with random weights, on ``device``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(1)
    cfg = BertConfig(vocab_size=len(tokenizer), hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                     intermediate_size=1024, max_position_embeddings=4096, num_labels=1,
                     pad_token_id=tokenizer.pad_token_id)
    return BertForSequenceClassification(cfg).to(device=device, dtype=dtype).eval()


class RewardFunction:
    """The reward model's score of each completion, in batches of ``batch_size`` (sigmoid of its logit), [CLS]
    first, right padding, as wrl's reward term scores through :class:`wrl.reward_model.RewardModel`."""

    __name__ = "rm"

    def __init__(self, model, tokenizer, batch_size: int, max_length: int, num_generations: int) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.max_length, self.num_generations = batch_size, max_length, num_generations
        self.seconds = 0.0

    def __call__(self, prompts, completions, **kwargs) -> list[float]:
        import torch

        if len(completions) % self.num_generations:
            raise RuntimeError(f"{len(completions)} completions are not whole groups of {self.num_generations}")
        started = time.perf_counter()
        texts = ["[CLS] " + (c[0]["content"] if isinstance(c, list) else c) for c in completions]
        out: list[float] = []
        device = next(self.model.parameters()).device
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                enc = self.tokenizer(texts[start:start + self.batch_size], padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt", padding_side="right",
                                     add_special_tokens=False).to(device)
                logits = self.model(input_ids=enc.input_ids, attention_mask=enc.attention_mask).logits
                out += torch.sigmoid(logits[:, 0].float()).tolist()
        self.seconds += time.perf_counter() - started
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny config, two steps (CPU is fine)")
    parser.add_argument("--steps", type=int, default=0, help="measured GRPO steps (after one warm-up step)")
    parser.add_argument("--prompts", type=int, default=0, help="prompts per step")
    parser.add_argument("--generations", type=int, default=0, help="completions per prompt")
    parser.add_argument("--prompt-len", type=int, default=0, help="prompt words")
    parser.add_argument("--completion-len", type=int, default=0, help="max completion tokens")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    try:
        import torch
        import trl
        from datasets import Dataset
        from transformers import TrainerCallback
        from trl import GRPOConfig, GRPOTrainer
    except ImportError as e:
        print(f"error: {e.name} is not installed (the check needs torch, transformers, datasets and trl)",
              file=sys.stderr)
        return 2
    smoke = args.smoke
    cuda = torch.cuda.is_available()
    if not cuda and not smoke:
        print("error: no GPU visible; run with --smoke to check the script on CPU", file=sys.stderr)
        return 2
    steps = args.steps or (1 if smoke else 5)
    prompts_per_step = args.prompts or (2 if smoke else 16)
    generations = args.generations or (2 if smoke else 8)
    prompt_len = args.prompt_len or (8 if smoke else 128)
    completion_len = args.completion_len or (8 if smoke else 256)
    device = "cuda" if cuda else "cpu"
    dtype = torch.bfloat16 if cuda else torch.float32
    total_started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="wrl-gpu-grpo-") as tmp:
        tokenizer = build_tokenizer(Path(tmp) / "tokenizer", 512 if smoke else 32000)
        policy = build_policy(smoke, tokenizer, dtype)
        params = sum(p.numel() for p in policy.parameters())
        policy.save_pretrained(Path(tmp) / "policy")  # TRL builds the reference model from the policy's directory
        tokenizer.save_pretrained(Path(tmp) / "policy")
        del policy
        reward_fn = RewardFunction(build_reward_model(tokenizer, device, dtype), tokenizer,
                                   batch_size=64, max_length=prompt_len + completion_len, num_generations=generations)
        rng = random.Random(0)
        n_prompts = prompts_per_step * (steps + 1)
        words = len(tokenizer) - 7
        dataset = Dataset.from_dict({"prompt": [[{"role": "user", "content": " ".join(
            f"w{rng.randrange(words)}" for _ in range(prompt_len))}] for _ in range(n_prompts)]})

        timing = {"generate": [], "step": []}

        class Timer(TrainerCallback):
            def on_step_begin(self, a, state, control, **kw):
                if cuda:
                    torch.cuda.synchronize()
                self.started = time.perf_counter()

            def on_step_end(self, a, state, control, **kw):
                if cuda:
                    torch.cuda.synchronize()
                timing["step"].append(time.perf_counter() - self.started)

        config = GRPOConfig(
            output_dir=str(Path(tmp) / "out"), max_steps=steps + 1,
            per_device_train_batch_size=prompts_per_step * generations, num_generations=generations,
            max_completion_length=completion_len, beta=0.01, loss_type="bnpo", epsilon=0.2, learning_rate=1e-6,
            lr_scheduler_type="constant", temperature=1.0, logging_steps=1, save_strategy="no", report_to="none",
            bf16=cuda, use_cpu=not cuda, activation_checkpointing=not smoke, disable_tqdm=True, seed=0,
            dataloader_num_workers=0, model_init_kwargs={"dtype": dtype})
        trainer = GRPOTrainer(model=str(Path(tmp) / "policy"), reward_funcs=[reward_fn], args=config,
                              train_dataset=dataset, processing_class=tokenizer, callbacks=[Timer()])
        generate = trainer._generate

        def timed_generate(*a, **kw):
            if cuda:
                torch.cuda.synchronize()
            started = time.perf_counter()
            result = generate(*a, **kw)
            if cuda:
                torch.cuda.synchronize()
            timing["generate"].append(time.perf_counter() - started)
            return result

        trainer._generate = timed_generate
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        trainer.train()
        logs = [e for e in trainer.state.log_history if "completions/mean_length" in e]

    measured = slice(1, None)  # the first step warms up (kernels, allocator)
    step_s = timing["step"][measured]
    gen_s = timing["generate"][measured]
    lengths = [e["completions/mean_length"] for e in logs][measured]
    completions = prompts_per_step * generations
    gen_tokens = sum(length * completions for length in lengths)
    seen = [e["num_tokens"] for e in logs]  # TRL's running count of prompt + completion tokens
    train_tokens = seen[-1] - seen[0] if len(seen) > 1 else 0
    prompt_tokens = round(train_tokens / len(lengths) / completions - sum(lengths) / len(lengths)) if lengths else 0
    train_s = sum(step_s) - sum(gen_s)
    figures = {
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "policy_parameters": params,
        "steps_measured": len(step_s),
        "completions_per_step": completions,
        "prompt_tokens": prompt_tokens,
        "mean_completion_tokens": round(sum(lengths) / len(lengths), 1) if lengths else None,
        "step_time_s": round(sum(step_s) / len(step_s), 3) if step_s else None,
        "generation_s_per_step": round(sum(gen_s) / len(gen_s), 3) if gen_s else None,
        "generation_tokens_per_s": round(gen_tokens / sum(gen_s), 1) if gen_s and sum(gen_s) else None,
        "training_tokens_per_s": round(train_tokens / train_s, 1) if train_s > 0 else None,
        "reward_s_total": round(reward_fn.seconds, 3),
        "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
        "total_s": round(time.perf_counter() - total_started, 1),
        "trl": trl.__version__,
        "torch": torch.__version__,
    }
    if cuda and figures["training_tokens_per_s"]:
        figures["training_mfu"] = round(6 * params * figures["training_tokens_per_s"] / (PEAK_BF16_TFLOPS * 1e12), 4)
    print(f"GRPO check on {figures['device']}: policy {params / 1e6:.1f}M parameters, {completions} completions "
          f"per step ({prompts_per_step} prompts x {generations}), prompts {prompt_tokens} tokens, completions up to "
          f"{completion_len}")
    print(f"  step time            {figures['step_time_s']} s (mean of {len(step_s)} after one warm-up step)")
    print(f"  generation           {figures['generation_s_per_step']} s per step, generation tokens/s "
          f"{figures['generation_tokens_per_s']}")
    print(f"  training tokens/s    {figures['training_tokens_per_s']} (prompt + completion tokens, everything but "
          f"generation){'' if 'training_mfu' not in figures else ', MFU ' + str(figures['training_mfu'])}")
    print(f"  peak GPU memory      {figures['peak_gpu_memory_gib']} GiB")
    print(f"  total                {figures['total_s']} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
