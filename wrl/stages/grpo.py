"""Stage ``grpo``: reinforcement learning of the policy with the requirement-level reward (TRL's ``GRPOTrainer``).

Each step, ``prompts_per_step`` train-split instructions are drawn (TRL's sampler, seeded), the policy
writes ``num_generations`` completions for each, and every completion is rewarded by the weighted sum
of the terms of :mod:`wrl.rewards`: the reward model's aggregate over the instruction's requirements
(the model kept in memory, or ``wrl serve-rm`` over HTTP after a health check), and optionally the
rule verifiers, the paper's think/answer format and a length penalty. The advantage of a completion
is its reward against its group's (``scale_rewards``); the loss is TRL's (``loss_type``, clipped at
``epsilon``, KL to the starting policy weighted by ``beta``).

Inputs are checked before any training: a reward model that cannot be loaded or a server that does
not answer its health check stops the stage with one error line; an instruction with no
requirement, or whose prompt (chat template included) is longer than ``max_prompt_length`` tokens,
is a counted, reasoned reject; ``max_prompt_length + max_completion_length`` must fit the policy's
context.

Resume (:mod:`wrl.training`, shared with ``train_rm``): checkpoints go to the ``checkpoints`` output
(``persist: true``) beside a fingerprint of the params, the prompts and both models; a re-run after
a kill resumes at the last complete checkpoint's step, and a directory left by another model or
config starts over. Everything the metrics report is read from the trainer's log history, which the
checkpoint keeps, so a killed and resumed run reports what an uninterrupted one does.

Several processes: ``launch.processes > 1`` re-executes the stage under ``accelerate launch``
(:mod:`wrl.launch`; DeepSpeed or FSDP through ``launch.config``); only rank 0 writes the outputs.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from wrl.batching import worker_threads
from wrl.config import Section, as_dict, build_section, param, wrapped
from wrl.errors import DatasetError, ModelError, ParamsError
from wrl.io import atomic_directory, rejects_table, write_json
from wrl.judges import JudgeSpec, build_judge
from wrl.launch import LaunchConfig, rank, relaunch, under_launcher, world_size
from wrl.models import DTYPES, guarded_load, load_tokenizer, resolve, torch_dtype
from wrl.rewards import TERMS, RewardStats, reward_terms
from wrl.rollouts import read_parsed
from wrl.stage import Context, Paths, Port, Report, Stage, rejects_summary, write_rejects
from wrl.training import checkpoint_step, curves_callback, distributed_state, resume_point, train_from
from wrl.training import fingerprint as training_fingerprint

STAGE_NAME = "grpo"
#: GRPOConfig arguments the stage sets unless ``grpo.trainer`` overrides them (the paper's: constant learning
#: rate, no warm-up, weight decay 0.01, gradient norm clipped at 1; full precision and no activation
#: checkpointing, which suit a small model on CPU; GPU users set bf16 and activation_checkpointing).
TRAINER_DEFAULTS: dict[str, Any] = {
    "lr_scheduler_type": "constant",
    "warmup_steps": 0,
    "weight_decay": 0.01,
    "max_grad_norm": 1.0,
    "save_total_limit": 1,
    "bf16": False,
    "activation_checkpointing": False,
    "dataloader_num_workers": 0,
}
#: Set by the stage from its own params (a key given in ``grpo.trainer`` too is an error naming the param).
FIXED_ARGS = {
    "output_dir": None, "seed": "seed", "report_to": None, "max_steps": "steps", "num_train_epochs": "steps",
    "per_device_train_batch_size": "prompts_per_step", "gradient_accumulation_steps": "gradient_accumulation_steps",
    "steps_per_generation": "steps_per_rollout", "generation_batch_size": "steps_per_rollout",
    "num_generations": "num_generations", "beta": "beta", "loss_type": "loss_type", "epsilon": "epsilon",
    "scale_rewards": "scale_rewards", "learning_rate": "learning_rate",
    "max_completion_length": "max_completion_length", "temperature": "temperature",
    "reward_weights": "reward_weights", "use_vllm": "use_vllm", "vllm_mode": "vllm_mode", "save_steps": "save_steps",
    "save_strategy": "save_steps", "logging_steps": None, "disable_tqdm": None, "remove_unused_columns": None,
    "model_init_kwargs": "dtype",
}
LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo", "luspo", "vespo")
SCALE_REWARDS = ("group", "batch", "none")
VLLM_MODES = ("colocate", "server")
REWARD_KINDS = ("reward_model", "http")
LORA_KEYS = ("r", "alpha", "dropout", "target_modules")
SETTINGS_FILE = "wrl_grpo.json"
#: The policy's log entries the curves and the step lines read.
CURVES = {"train/reward": "reward", "train/kl": "kl", "train/completion_length": "completions/mean_length"}
PEFT_MISSING = "LoRA (grpo.lora) needs peft, which is not installed: pip install peft (or set grpo.lora: null)"
VLLM_MISSING = "grpo.use_vllm needs vLLM, which is not installed: pip install vllm (or set grpo.use_vllm: false)"


@dataclass(frozen=True)
class GrpoLaunch(LaunchConfig):
    """Distributed training of ``grpo``: processes and accelerate config."""

    _key: ClassVar[str] = "grpo.launch"


@dataclass(frozen=True)
class RewardWeights(Section):
    """The weight of each reward term in the completion's reward (TRL's ``reward_weights``)."""

    _key: ClassVar[str] = "grpo.reward_weights"

    rm: float = param(1.0, "The reward model's aggregate over the instruction's requirements.", min=0.0)
    verifiers: float = param(0.0, "The rule verifiers' aggregate over the verifiable requirements (1 followed, "
                             "0 violated).", min=0.0)
    format: float = param(0.0, "1 for the paper's <think>…</think><answer>…</answer> format, else 0.", min=0.0)
    length: float = param(0.0, "The length penalty in [-1, 0] (see length_target).", min=0.0)


@dataclass(frozen=True)
class GrpoConfig(Section):
    """Parameters of the ``grpo`` stage.

    Parameters that control sampling: ``steps``, ``prompts_per_step``, ``num_generations``,
    ``steps_per_rollout``, ``max_prompt_length``, ``max_completion_length``, ``temperature``, ``use_vllm``,
    ``vllm_mode``. The loss: ``beta``, ``loss_type``, ``epsilon``, ``scale_rewards``. The reward: ``reward``
    (the judge), ``reward_weights``, ``format_gate``, ``length_target``. The optimizer and the model:
    ``learning_rate``, ``gradient_accumulation_steps``, ``dtype``, ``lora``, ``trainer`` (GRPOConfig passed
    through), ``save_steps``, ``seed``, ``launch``.
    """

    _key: ClassVar[str] = "grpo"

    steps: int = param(4, "Optimizer steps. The default fits about three minutes with SmolLM2-135M on 2 CPU cores "
                       "(20-45 s a step); the paper's preset (configs/grpo/paper.yaml) is a GPU run.", min=1)
    prompts_per_step: int = param(2, "Instructions per optimizer step, over all processes (each gets "
                                  "num_generations completions).", min=1)
    num_generations: int = param(4, "Completions per instruction: the group its advantage is computed in.", min=2,
                                 max=4096)
    steps_per_rollout: int = param(1, "Optimizer steps fed by one generation round (the paper's 4: 384 prompts "
                                   "rolled out, 96 per step).", min=1)
    gradient_accumulation_steps: int = param(1, "Micro-batches per optimizer step (per-device batch = "
                                             "prompts_per_step * num_generations / processes / this).", min=1)
    beta: float = param(0.01, "KL coefficient against the starting policy (the paper's 0.01); 0 loads no "
                        "reference model and logs no KL.", min=0.0)
    loss_type: str = param("bnpo", "TRL's loss aggregation; bnpo is the paper's token mean.", choices=LOSS_TYPES)
    epsilon: float = param(0.2, "Clipping of the probability ratio (the paper's 0.2).", min=0.0)
    scale_rewards: str = param("group", "Advantage scaling: group ((r - mean) / std within the group, the paper's), "
                               "batch, or none.", choices=SCALE_REWARDS)
    learning_rate: float = param(1.0e-5, "AdamW learning rate (the paper's 1e-6 for a 7B model over hundreds of "
                                 "steps; larger here so a handful of steps on a 135M model move it).", min=0.0)
    max_prompt_length: int = param(256, "Prompt tokens (chat template included); longer prompts are rejected, "
                                   "counted.", min=1)
    max_completion_length: int = param(64, "Completion tokens; longer completions are cut.", min=1)
    temperature: float = param(1.0, "Sampling temperature of the completions (the paper's 1.0).", min=0.0)
    seed: int = param(0, "Seed of the prompt order, the sampling and the trainer.", min=0, max=2**32 - 1)
    reward: dict = param({"kind": "reward_model", "batch_size": 32, "aggregate": "mean"},
                         "The judge behind the rm term: kind reward_model (the stage's reward_model input, in "
                         "memory; batch_size, max_length, device, dtype) or http (a wrl serve-rm server: url, "
                         "protocol, timeout_s, max_retries, concurrency, token_env), and aggregate (mean, min, "
                         "product) over the requirements (wrl/judges/__init__.py: JudgeSpec).")
    reward_weights: RewardWeights = param(RewardWeights(), "Weights of the reward terms.")
    format_gate: bool = param(False, "The paper's reward: 0 unless the completion is in the think/answer format, "
                              "then the reward model scores the answer alone.")
    length_target: int = param(0, "Completion tokens before the length penalty starts (0: every token counts).",
                               min=0)
    dtype: str = param("float32", "The policy's weights while training (mixed precision is trainer.bf16).",
                       choices=DTYPES[1:])
    lora: dict | None = param(None, "LoRA through peft: {r, alpha, dropout, target_modules}; null = full "
                              "fine-tune. The adapter is merged into the saved policy.")
    use_vllm: bool = param(False, "Generate with vLLM (GPU; pip install vllm).")
    vllm_mode: str = param("colocate", "colocate (vLLM in the training processes) or server (a trl vllm-serve "
                           "process; its address in trainer.vllm_server_base_url).", choices=VLLM_MODES)
    save_steps: int = param(2, "Steps between checkpoints (the unit of resume); the last step is always saved.",
                            min=1)
    trainer: dict = param(dict(TRAINER_DEFAULTS), "GRPOConfig arguments passed through: lr_scheduler_type, "
                          "weight_decay, max_grad_norm, bf16, activation_checkpointing, top_p, num_iterations, "
                          "log_completions, vllm_*, ... Keys left out take the stage's defaults.",
                          wraps="trl:GRPOConfig")
    launch: GrpoLaunch = param(GrpoLaunch(), "Distributed training: processes and accelerate config.")

    def check(self) -> None:
        given = sorted(set(self.trainer) & set(FIXED_ARGS))
        if given:
            owner = FIXED_ARGS[given[0]]
            use = f"; use grpo.{owner}" if owner else ""
            raise ParamsError(f"grpo.trainer.{given[0]} is set by the stage itself{use}")
        self.reward_spec()
        if not any(getattr(self.reward_weights, t) for t in TERMS):
            raise ParamsError("grpo.reward_weights: every weight is 0: nothing to learn from")
        if self.lora is not None:
            if not isinstance(self.lora, dict):
                raise ParamsError(f"grpo.lora must be a mapping ({', '.join(LORA_KEYS)}) or null, got {self.lora!r}")
            unknown = sorted(set(self.lora) - set(LORA_KEYS))
            if unknown:
                raise ParamsError(f"grpo.lora: unknown key {unknown[0]!r}; keys: {', '.join(LORA_KEYS)}")
        if self.save_steps % self.steps_per_rollout:
            raise ParamsError(f"grpo.save_steps ({self.save_steps}) must be a multiple of grpo.steps_per_rollout "
                              f"({self.steps_per_rollout}): a checkpoint inside a rollout would not resume exactly")
        if self.length_target >= self.max_completion_length:
            raise ParamsError(f"grpo.length_target ({self.length_target}) must be below grpo.max_completion_length "
                              f"({self.max_completion_length})")

    def reward_spec(self, model: str = "models/reward_model", device: str | None = None) -> JudgeSpec:
        """The reward judge's spec; kind ``reward_model`` reads ``model`` (the stage's input)."""
        raw = dict(self.reward) if isinstance(self.reward, dict) else self.reward
        if not isinstance(raw, dict):
            raise ParamsError(f"grpo.reward must be a mapping with a kind, got {raw!r}")
        kind = raw.get("kind", "reward_model")
        if kind not in REWARD_KINDS:
            raise ParamsError(f"grpo.reward.kind must be one of {', '.join(REWARD_KINDS)}; got {kind!r}")
        if "model" in raw:
            raise ParamsError("grpo.reward.model: the reward model is the stage's reward_model input (dvc.yaml: "
                              "models/reward_model); remove the key")
        if kind == "reward_model":
            raw["model"] = model
            if device and raw.get("device", "auto") == "auto":
                raw["device"] = device
        named = type("JudgeSpec[grpo.reward]", (JudgeSpec,), {"_key": "grpo.reward", "__module__": __name__})
        return build_section(named, raw, "grpo.reward")

    def trainer_args(self) -> dict[str, Any]:
        """The stage's defaults with ``trainer`` on top."""
        return {**TRAINER_DEFAULTS, **self.trainer}


# --- prompts --------------------------------------------------------------------------------------


@dataclass
class Prompts:
    """The train-split instructions usable as prompts, and those rejected with their reason."""

    dataset: Any  # datasets.Dataset: prompt, prompt_id, requirements
    rows_in: int
    rejects: pa.Table
    longest: int


def _requirement_cells(cells: list[dict]) -> str:
    return json.dumps([{"id": r["id"], "type": r["type"], "text": r["text"],
                        "params": json.loads(r["params"]) if isinstance(r.get("params"), str) else r.get("params")}
                       for r in cells], ensure_ascii=False, sort_keys=True)


def read_prompts(path: Path, tokenizer: Any, max_prompt_length: int) -> Prompts:
    """The train split's instructions as chat prompts with their requirements; an instruction with no requirement,
    no text, or a prompt over ``max_prompt_length`` tokens is rejected with its reason."""
    from datasets import Dataset

    parsed = read_parsed(path)
    splits = parsed["split"].to_pylist()
    rows = [i for i, s in enumerate(splits) if s == "train"]
    ids = parsed["id"].to_pylist()
    texts = parsed["instruction"].to_pylist()
    reqs = parsed["requirements"].to_pylist()
    bad: dict[int, tuple[str, str]] = {}
    for i in rows:
        if not texts[i] or not texts[i].strip():
            bad[i] = ("missing_prompt", "the instruction is empty")
        elif not reqs[i]:
            bad[i] = ("no_requirements", "no requirement was parsed: the reward model has nothing to score")
    candidates = [i for i in rows if i not in bad]
    chat = bool(getattr(tokenizer, "chat_template", None))
    if chat:
        rendered = tokenizer.apply_chat_template([[{"role": "user", "content": texts[i]}] for i in candidates],
                                                 add_generation_prompt=True, tokenize=False)
    else:
        rendered = [texts[i] for i in candidates]
    lengths = [len(t) for t in tokenizer(rendered, add_special_tokens=not chat)["input_ids"]] if rendered else []
    keep, longest = [], 0
    for i, n in zip(candidates, lengths, strict=True):
        if n > max_prompt_length:
            bad[i] = ("prompt_too_long", f"the prompt is {n} tokens (chat template included), over "
                      f"max_prompt_length={max_prompt_length}")
        else:
            keep.append(i)
            longest = max(longest, n)
    order = sorted(bad)
    rejects = rejects_table(order, [ids[i] for i in order], STAGE_NAME, [bad[i][0] for i in order],
                            [bad[i][1] for i in order])
    prompt = [[{"role": "user", "content": texts[i]}] if chat else texts[i] for i in keep]
    dataset = Dataset.from_dict({"prompt": prompt, "prompt_id": [ids[i] for i in keep],
                                 "requirements": [_requirement_cells(reqs[i]) for i in keep]})
    return Prompts(dataset, len(rows), rejects, longest)


# --- model, reward and trainer --------------------------------------------------------------------


def _batch_sizes(cfg: GrpoConfig, processes: int) -> tuple[int, int]:
    """``(per_device_train_batch_size, steps_per_generation)``: every process's generation batch must hold whole
    groups, or the rewards would compare completions of different prompts."""
    completions = cfg.prompts_per_step * cfg.num_generations
    per_device, left = divmod(completions, processes * cfg.gradient_accumulation_steps)
    if left or per_device == 0:
        raise ParamsError(f"grpo.prompts_per_step * grpo.num_generations ({completions} completions per step) must "
                          f"be a multiple of the processes ({processes}) times grpo.gradient_accumulation_steps "
                          f"({cfg.gradient_accumulation_steps})")
    per_generation = cfg.steps_per_rollout * cfg.gradient_accumulation_steps
    if (per_device * per_generation) % cfg.num_generations:
        raise ParamsError(f"each process generates {per_device * per_generation} completions per rollout, not whole "
                          f"groups of grpo.num_generations={cfg.num_generations}: make grpo.prompts_per_step * "
                          "grpo.steps_per_rollout a multiple of the processes")
    return per_device, per_generation


def _training_args(cfg: GrpoConfig, out_dir: Path, *, gpu: bool, processes: int) -> Any:
    """GRPOConfig: the stage's defaults, ``grpo.trainer`` on top, and what the stage fixes."""
    per_device, per_generation = _batch_sizes(cfg, processes)
    given = cfg.trainer_args()
    if not gpu:
        given.setdefault("use_cpu", True)
    fixed = {
        "output_dir": str(out_dir), "seed": cfg.seed, "report_to": "none", "max_steps": cfg.steps,
        "per_device_train_batch_size": per_device, "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        "steps_per_generation": per_generation, "num_generations": cfg.num_generations, "beta": cfg.beta,
        "loss_type": cfg.loss_type, "epsilon": cfg.epsilon, "scale_rewards": cfg.scale_rewards,
        "learning_rate": cfg.learning_rate, "max_completion_length": cfg.max_completion_length,
        "temperature": cfg.temperature, "use_vllm": cfg.use_vllm, "vllm_mode": cfg.vllm_mode,
        "save_strategy": "steps", "save_steps": cfg.save_steps, "logging_steps": 1, "disable_tqdm": True,
        "remove_unused_columns": False, "reward_weights": term_weights(cfg),
    }
    return wrapped(replace(cfg, trainer=given), "trainer", **fixed)


def _check_optional_backends(cfg: GrpoConfig) -> None:
    if cfg.lora is not None and importlib.util.find_spec("peft") is None:
        raise ModelError(PEFT_MISSING)
    if cfg.use_vllm and importlib.util.find_spec("vllm") is None:
        raise ModelError(VLLM_MISSING)


def _lora_config(cfg: GrpoConfig) -> Any:
    if cfg.lora is None:
        return None
    from peft import LoraConfig

    lora = {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear", **cfg.lora}
    return LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                      target_modules=lora["target_modules"], task_type="CAUSAL_LM")


def _policy_context(source: Any) -> int | None:
    """The policy's context length from its config (read without the weights)."""
    from transformers import AutoConfig

    config = guarded_load(source, "policy config", lambda: AutoConfig.from_pretrained(
        source.location, **source.pretrained_kwargs()))
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None) or getattr(getattr(config, "text_config", None), name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _load_policy(source: Any, dtype: str) -> Any:
    from transformers import AutoModelForCausalLM

    return guarded_load(source, "policy", lambda: AutoModelForCausalLM.from_pretrained(
        source.location, dtype=torch_dtype(dtype), **source.pretrained_kwargs()))


def term_weights(cfg: GrpoConfig) -> list[float]:
    """The weights of the terms handed to TRL, in :func:`wrl.rewards.reward_terms`' order (rm only when weighted)."""
    w = cfg.reward_weights
    return ([w.rm] if w.rm else []) + [w.verifiers, w.format, w.length]


def _reward_device() -> str | None:
    """Each process's own GPU for an in-memory reward model (``auto`` would put every rank on cuda:0)."""
    import torch

    return f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else None


def _trainer_class() -> type:
    from trl import GRPOTrainer
    from trl.trainer.utils import RepeatSampler

    class EpochSeededSampler(RepeatSampler):
        """TRL's sampler with a shuffle that depends on the epoch alone (the Trainer calls ``set_epoch``): its
        generator otherwise carries over from epoch to epoch, so a run resumed in a later epoch would draw other
        prompts than an uninterrupted one."""

        def set_epoch(self, epoch: int) -> None:
            if self.shuffle:
                self.generator.manual_seed((self.seed or 0) + epoch)

    class WrlGRPOTrainer(GRPOTrainer):
        """TRL's GRPOTrainer adding, at every log, what the reward terms of every process saw (unscored completions
        by reason, scores by requirement type), so it lands in the log history a checkpoint keeps; and drawing the
        prompts of each epoch from the epoch's own seed (exact resume)."""

        def __init__(self, *args: Any, reward_stats: RewardStats, **kwargs: Any) -> None:
            self.wrl_reward_stats = reward_stats
            super().__init__(*args, **kwargs)

        def _get_train_sampler(self, dataset: Any = None) -> Any:
            return EpochSeededSampler(data_source=self.train_dataset if dataset is None else dataset,
                                      mini_repeat_count=self.num_generations,
                                      batch_size=self.args.generation_batch_size // self.num_generations,
                                      repeat_count=self.num_iterations * self.args.steps_per_generation,
                                      shuffle=self.shuffle_dataset, seed=self.args.seed)

        def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
            from accelerate.utils import gather_object

            drained = gather_object([self.wrl_reward_stats.drain()])
            logs.update(RewardStats.log_entries(drained))
            super().log(logs, start_time)

    return WrlGRPOTrainer


def _step_lines_callback(term_names: list[str]) -> Any:
    from transformers import TrainerCallback

    class StepLines(TrainerCallback):
        """One line per step on the main process: the reward, its terms, the KL, the completion length."""

        def __init__(self) -> None:
            self.last = time.monotonic()

        def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
            logs = logs or {}
            if not state.is_world_process_zero or "reward" not in logs:
                return
            now, took = time.monotonic(), time.monotonic() - self.last
            self.last = now
            terms = ", ".join(f"{n} {_fmt(logs.get(f'rewards/{n}/mean'))}" for n in term_names)
            kl = f", kl {_fmt(logs.get('kl'), 5)}" if "kl" in logs else ""
            print(f"grpo: step {state.global_step}/{state.max_steps}: reward {_fmt(logs['reward'])} ({terms}){kl}, "
                  f"completion length {_fmt(logs.get('completions/mean_length'), 1)} tokens [{took:.1f} s]",
                  flush=True)

    return StepLines()


def _fmt(value: Any, digits: int = 3) -> str:
    return "-" if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value) \
        else f"{value:.{digits}f}"


# --- metrics --------------------------------------------------------------------------------------


def _r(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def _mean(values: list[float]) -> float | None:
    return _r(sum(values) / len(values)) if values else None


def summarize(log_history: list[dict[str, Any]], term_names: list[str]) -> dict[str, Any]:
    """The training metrics from the trainer's log history (what a checkpoint keeps, so a resumed run gives the
    same): the reward and each term (first, last, mean over steps), the KL, the completion length, per-requirement
    scores by type over all steps, and the completions left unscored by term and reason."""
    steps = [e for e in log_history if "reward" in e and "train_runtime" not in e]

    def series(key: str) -> list[float]:
        return [float(e[key]) for e in steps if isinstance(e.get(key), (int, float)) and math.isfinite(e[key])]

    def curve(key: str) -> dict[str, Any]:
        values = series(key)
        return {"first": _r(values[0]) if values else None, "last": _r(values[-1]) if values else None,
                "mean": _mean(values)}

    by_type: dict[str, dict[str, dict[str, Any]]] = {}
    sums: dict[tuple[str, str], list[float]] = {}
    unscored: dict[str, Counter] = {}
    scored: Counter = Counter()
    for e in steps:
        for key, value in e.items():
            if key.startswith("by_type/") and isinstance(value, (int, float)):
                _, term, rtype = key.split("/", 2)
                n = e.get(f"by_type_n/{term}/{rtype}", 0)
                cell = sums.setdefault((term, rtype), [0.0, 0])
                cell[0] += value * n
                cell[1] += n
            elif key.startswith("unscored/"):
                _, term, reason = key.split("/", 2)
                unscored.setdefault(term, Counter())[reason] += int(value)
            elif key.startswith("scored/"):
                scored[key.split("/", 1)[1]] += int(value)
    for (term, rtype), (s, n) in sorted(sums.items()):
        by_type.setdefault(term, {})[rtype] = {"mean": _r(s / n) if n else None, "n": int(n)}
    return {
        "reward": curve("reward"),
        "reward_std": _mean(series("reward_std")),
        "terms": {name: curve(f"rewards/{name}/mean") for name in term_names},
        "kl": curve("kl"),
        "completion_length": _mean(series("completions/mean_length")),
        "clipped_ratio": _mean(series("completions/clipped_ratio")),
        "frac_reward_zero_std": _mean(series("frac_reward_zero_std")),
        "loss_last": curve("loss")["last"],
        "by_type": by_type,
        "scored": dict(sorted(scored.items())),
        "unscored": {t: dict(sorted(c.items())) for t, c in sorted(unscored.items())},
    }


# --- the run --------------------------------------------------------------------------------------


def _fingerprint(cfg: GrpoConfig, paths: Paths, processes: int) -> str:
    parsed, policy, reward_model = paths.inputs
    models = {"policy": str(policy)}
    if cfg.reward_spec().kind == "reward_model":
        models["reward_model"] = str(reward_model)
    return training_fingerprint(as_dict(cfg), inputs=(parsed,), models=models, world_size=processes,
                                libraries=("trl",))


def run(cfg: GrpoConfig, paths: Paths, ctx: Context) -> Report:
    """Train the policy with GRPO on the requirement-level reward and save it."""
    if cfg.launch.processes > 1 and not under_launcher():
        from wrl.stages import stage

        relaunch(stage(STAGE_NAME), cfg, paths, ctx, processes=cfg.launch.processes, config_file=cfg.launch.config)
        return _report_from_metrics(cfg, paths)
    started = time.monotonic()
    import torch

    threads = worker_threads(ctx.threads)
    if threads:
        torch.set_num_threads(threads)
    parsed_path, policy_path, reward_model_path = paths.inputs
    model_out, checkpoints = paths.outputs
    main = rank() == 0
    _check_optional_backends(cfg)
    spec = cfg.reward_spec(str(reward_model_path), _reward_device())

    # The arguments first: they set up the process group, and DeepSpeed ZeRO-3 must see them before the model loads.
    args = _training_args(cfg, checkpoints, gpu=torch.cuda.is_available(), processes=world_size())
    source = resolve(str(policy_path))
    tokenizer = load_tokenizer(source)
    context = _policy_context(source)
    if context is not None and cfg.max_prompt_length + cfg.max_completion_length > context:
        raise ParamsError(f"grpo.max_prompt_length + grpo.max_completion_length ({cfg.max_prompt_length} + "
                          f"{cfg.max_completion_length}) exceeds the policy's context of {context} tokens")
    prompts = read_prompts(Path(parsed_path), tokenizer, cfg.max_prompt_length)
    if len(prompts.dataset) == 0:
        raise DatasetError(f"{parsed_path}: no usable train-split instruction ({prompts.rows_in:,} in the train "
                           f"split, {prompts.rejects.num_rows:,} rejected): nothing to train on")
    judge = build_judge("reward", spec) if cfg.reward_weights.rm else None  # loads the model or checks the server
    w = cfg.reward_weights
    terms = reward_terms({t: getattr(w, t) for t in TERMS}, judge=judge, num_generations=cfg.num_generations,
                         max_completion_length=cfg.max_completion_length, length_target=cfg.length_target,
                         format_gate=cfg.format_gate, verifier_aggregate=spec.aggregate)
    if terms.weights != list(args.reward_weights):
        raise RuntimeError(f"reward weights {terms.weights} do not match the trainer's {args.reward_weights}")
    from transformers import set_seed

    set_seed(cfg.seed)
    model = _load_policy(source, cfg.dtype)
    term_names = [f.__name__ for f in terms.functions]

    resume = resume_point(checkpoints, _fingerprint(cfg, paths, world_size()))
    callbacks = [_step_lines_callback(term_names)]
    if main and paths.plots:
        callbacks.append(curves_callback(dict(zip(CURVES, paths.plots, strict=True)), value_of=CURVES))
    from transformers import PrinterCallback

    try:
        trainer = _trainer_class()(model=model, reward_funcs=terms.functions, args=args,
                                   train_dataset=prompts.dataset, processing_class=tokenizer, callbacks=callbacks,
                                   peft_config=_lora_config(cfg), reward_stats=terms.stats)
    except ValueError as e:  # TRL's checks of the arguments against the model and the data
        raise ParamsError(f"grpo: TRL's GRPOTrainer refuses the settings: {e}") from None
    trainer.remove_callback(PrinterCallback)  # the step lines say it in one line each
    train_started = time.monotonic()
    train_from(trainer, resume)
    for callback in callbacks:
        callback.on_train_end(args, trainer.state, trainer.control)
    train_seconds = time.monotonic() - train_started
    steps_run = trainer.state.global_step - checkpoint_step(resume)
    terms.close()

    state = distributed_state()
    staging = model_out.parent / f".{model_out.name}.staging"
    if main and staging.exists():
        shutil.rmtree(staging)
    state.wait_for_everyone()
    _save_policy(trainer, tokenizer, staging, lora=cfg.lora is not None)
    state.wait_for_everyone()
    if not main:
        return Report(STAGE_NAME, 0, 0, lines=[f"rank {rank()} of world size {world_size()}: trained "
                                               f"{trainer.state.global_step} steps ({steps_run} in this run)"])
    settings = {"base_policy": str(policy_path), "reward": {k: v for k, v in as_dict(spec).items()
                                                            if k not in ("device",)},
                "steps": int(trainer.state.global_step), "params": as_dict(cfg)}
    with atomic_directory(model_out) as tmp:
        for item in sorted(staging.iterdir()):
            if item.name != "training_args.bin":  # a pickle of this run's arguments: not needed to generate
                shutil.move(str(item), tmp / item.name)
        shutil.rmtree(staging)
        (tmp / SETTINGS_FILE).write_text(json.dumps(settings, indent=2, sort_keys=True, default=str) + "\n",
                                         encoding="utf-8")

    by_reason = write_rejects([prompts.rejects], paths.rejects)
    usable = len(prompts.dataset)
    summary = summarize(trainer.state.log_history, term_names)
    metrics = {
        "steps": int(trainer.state.global_step),
        "world_size": world_size(),
        "prompts": {"train": prompts.rows_in, "usable": usable, "longest_tokens": prompts.longest,
                    "rejects": rejects_summary(by_reason)},
        "completions_per_step": cfg.prompts_per_step * cfg.num_generations,
        "reward_weights": dict(zip(term_names, terms.weights, strict=True)),
        **summary,
    }
    if paths.metrics is not None:
        write_json({STAGE_NAME: metrics}, paths.metrics)

    resumed = f", resumed from {resume.name}" if resume else ""
    per_step = train_seconds / steps_run if steps_run else 0.0
    reward = summary["reward"]
    lines = [f"GRPO on {policy_path}: {usable:,} usable prompts (of {prompts.rows_in:,} in the train split), "
             f"{trainer.state.global_step} steps ({steps_run} in this run{resumed}), world size {world_size()}, "
             f"{cfg.prompts_per_step} prompts x {cfg.num_generations} completions per step",
             f"reward: first {_fmt(reward['first'])}, last {_fmt(reward['last'])}, mean {_fmt(reward['mean'])}; "
             + "; ".join(f"{n} (weight {wt:g}) mean {_fmt(summary['terms'][n]['mean'])}"
                         for n, wt in zip(term_names, terms.weights, strict=True)),
             f"kl last {_fmt(summary['kl']['last'], 5)}; completion length mean "
             f"{_fmt(summary['completion_length'], 1)} tokens; groups with zero reward spread "
             f"{_fmt(summary['frac_reward_zero_std'])}",
             f"reward: {json.dumps(settings['reward'], sort_keys=True)}",
             f"time: {time.monotonic() - started:.0f} s in all; training {train_seconds:.0f} s ({per_step:.1f} s per "
             "step)"]
    unscored = Counter({f"{t}: {r}": n for t, c in summary["unscored"].items() for r, n in c.items()})
    counts = [("unscored completions by term and reason", unscored)] if unscored else []
    return Report(STAGE_NAME, prompts.rows_in, usable, by_reason, paths.outputs[:1], paths.rejects, lines=lines,
                  counts=counts)


def _save_policy(trainer: Any, tokenizer: Any, staging: Path, *, lora: bool) -> None:
    """The trained policy as a plain Hugging Face directory (a LoRA adapter merged in), on every rank (DeepSpeed
    ZeRO-3 and FSDP gather the weights for rank 0)."""
    if not lora:
        trainer.save_model(str(staging))
        return
    model = trainer.accelerator.unwrap_model(trainer.model)
    if rank() == 0:
        merged = model.merge_and_unload()
        merged.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))


def _report_from_metrics(cfg: GrpoConfig, paths: Paths) -> Report:
    """The launching process's report of a multi-process run (each rank printed its own above)."""
    prompts = {"train": 0, "usable": 0}
    if paths.metrics is not None and paths.metrics.is_file():
        prompts = json.loads(paths.metrics.read_text(encoding="utf-8"))[STAGE_NAME]["prompts"]
    rejected = prompts["train"] - prompts["usable"]
    config = f" with {cfg.launch.config}" if cfg.launch.config else ""
    return Report(STAGE_NAME, prompts["train"], prompts["usable"],
                  Counter({"(see rank 0's report)": rejected}) if rejected else Counter(), paths.outputs[:1],
                  paths.rejects, lines=[f"trained on {cfg.launch.processes} processes through accelerate "
                                        f"launch{config}"])


STAGE = Stage(
    name=STAGE_NAME,
    config=GrpoConfig,
    run=run,
    inputs=(Port("parsed", "Parsed instructions (parse): the train split's prompts with their requirements."),
            Port("policy", "The policy to train (models): a causal LM directory with a chat template."),
            Port("reward_model", "The requirement-level reward model (train_rm), scored in memory (unused when "
                 "grpo.reward.kind is http).")),
    outputs=(Port("grpo_policy", "The trained policy: a causal LM directory with its tokenizer and wrl_grpo.json "
                  "(base policy, reward, steps, params).", directory=True),
             Port("checkpoints", "Trainer checkpoints for resume (kept between runs: persist: true in dvc.yaml).",
                  directory=True)),
    plots=(Port("reward", "reward by step (dvclive: DIR/plots/metrics/train/reward.tsv)"),
           Port("kl", "KL to the starting policy by step (dvclive: DIR/plots/metrics/train/kl.tsv)"),
           Port("completion_length", "mean completion tokens by step (dvclive: "
                "DIR/plots/metrics/train/completion_length.tsv)")),
)
