"""Stage ``train_rm``: train the requirement-level reward model, evaluate it on held-out instructions next to
three baselines, and save it with its score head re-load-checked.

Objectives (``train_rm.objective``):

- ``pointwise`` (the paper's design): a 2-label sequence classifier over one (requirement, response)
  pair, cross-entropy through the transformers ``Trainer``; the score is P(label 1).
- ``pairwise``: Bradley-Terry through TRL's ``RewardTrainer`` (1 label) on (requirement, chosen,
  rejected); the score is sigmoid(reward). The pairs are tokenized here (TRL would append an eos
  token, which MiniLM does not have), token type ids included.

Every input goes through :func:`wrl.reward_model.encode` (requirement first, only the response cut),
so the model is trained on exactly the text :class:`~wrl.reward_model.RewardModel` scores. Encoder
backbones (BERT, MiniLM) pool [CLS]; a causal LM gets a pad token of its own (pad != eos), the
embeddings resized, ``config.pad_token_id`` set and right padding, so its score is read at the last
real token.

Resume: the Trainer checkpoints into the ``checkpoints`` output (``persist: true`` in dvc.yaml) beside
a fingerprint of everything that shapes training (params, input and backbone hashes, world size,
library versions). A re-run after a kill resumes from the last complete checkpoint when the
fingerprint matches, and starts over (removing the stale checkpoints) when it does not. The mechanism
(and the dvclive curves) is :mod:`wrl.training`, shared with ``grpo``.

Several processes: ``launch.processes > 1`` re-executes the stage under ``accelerate launch``
(:mod:`wrl.launch`); only rank 0 writes the model, scores and metrics.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wrl.batching import worker_threads
from wrl.config import Section, as_dict, param, wrapped
from wrl.errors import DatasetError, InvalidConfigError, ModelError, ParamsError
from wrl.io import atomic_directory, read_input, rejects_table, write_json, write_table
from wrl.launch import LaunchConfig, rank, relaunch, under_launcher, world_size
from wrl.models import guarded_load, load_tokenizer, resolve
from wrl.reward_model import (
    DEFAULT_TEMPLATE,
    OBJECTIVES,
    InputFormat,
    RewardModel,
    RewardModelSettings,
    encode,
    ensure_pad_token,
)
from wrl.rm_metrics import (
    MIN_INTERVAL_N,
    best_threshold,
    enough_for_interval,
    flat,
    pair_accuracy,
    roc_auc,
    scorer_metrics,
    with_interval,
)
from wrl.stage import Context, Paths, Port, Report, Stage, View, rejects_summary, write_rejects
from wrl.training import (
    FINGERPRINT_FILE,  # noqa: F401 - where the tests and older callers find it
    checkpoint_step,
    curves_callback,
    distributed_state,
    resume_point,
    train_from,
)
from wrl.training import fingerprint as training_fingerprint

SPLITS = ("train", "dev", "test")
#: Training arguments the stage sets unless ``train_rm.trainer`` overrides them: sized for about three
#: minutes of MiniLM on 2 CPU cores with the default data (docs/reward-model.md).
TRAINER_DEFAULTS: dict[str, Any] = {
    "num_train_epochs": 3,
    "per_device_train_batch_size": 16,
    "learning_rate": 5e-5,
    "warmup_steps": 0.1,
    "weight_decay": 0.01,
    "lr_scheduler_type": "linear",
    "logging_steps": 5,
    "eval_steps": 10,
    "save_strategy": "steps",
    "save_steps": 50,
    "save_total_limit": 1,
    "dataloader_num_workers": 0,
    "bf16": False,
    "activation_checkpointing": False,
}
#: Set by the stage itself (a key given in ``train_rm.trainer`` too is an error).
FIXED_ARGS = ("output_dir", "seed", "report_to", "per_device_eval_batch_size", "eval_strategy")  # seed: train_rm.seed
CHECK_PAIRS = 8
LABEL_NAMES = {0: "violated", 1: "followed"}

POINTWISE_NEEDS = ("requirement", "response", "label", "split")
PAIRWISE_NEEDS = ("requirement", "chosen", "rejected", "split")

TEST_SCORES_SCHEMA = pa.schema([
    ("example_id", pa.string()),
    ("id", pa.string()),
    ("requirement_id", pa.string()),
    ("type", pa.string()),
    ("family", pa.string()),
    ("verifiable", pa.bool_()),
    ("label", pa.int8()),
    ("score", pa.float64()),
    ("truncated", pa.bool_()),
    ("verifier", pa.float64()),
    ("length", pa.float64()),
    ("random", pa.float64()),
    ("model", pa.string()),
    ("objective", pa.string()),
    ("template", pa.string()),
    ("tokenizer", pa.string()),
    ("max_length", pa.int32()),
    ("batch_size", pa.int32()),
])


@dataclass(frozen=True)
class TrainRMLaunch(LaunchConfig):
    """Distributed training of ``train_rm``: processes and accelerate config."""

    _key: ClassVar[str] = "train_rm.launch"


@dataclass(frozen=True)
class TrainRMConfig(Section):
    """Parameters of the ``train_rm`` stage.

    Parameters that control the model: ``backbone``, ``objective``, ``template``, ``max_length``.
    Parameters that control training: ``seed``, ``trainer`` (TrainingArguments passed through),
    ``center_rewards_coefficient`` (pairwise), ``launch``. Evaluation: ``eval_batch_size``,
    ``eval_examples``, ``bootstrap_resamples``.
    """

    _key: ClassVar[str] = "train_rm"

    backbone: str = param("models/reward_backbone", "The backbone: an encoder (MiniLM, BERT) or a causal LM, as "
                          "package:NAME, a local directory or a Hugging Face id.")
    objective: str = param("pointwise", "pointwise: 2-label classifier with cross-entropy (the paper's design); "
                           "pairwise: Bradley-Terry on (chosen, rejected) through TRL's RewardTrainer.",
                           choices=OBJECTIVES)
    template: str = param(DEFAULT_TEMPLATE, "Input text: {requirement} before {response}, each once; only the "
                          "response is ever truncated.")
    max_length: int = param(192, "Tokens per (requirement, response) pair, special tokens included; longer "
                            "responses are cut (and counted).", min=16, max=32768)
    seed: int = param(0, "Seed of the score head's initialization, the data order, dropout and the random "
                      "baseline.", min=0, max=2**32 - 1)
    trainer: dict = param(dict(TRAINER_DEFAULTS), "TrainingArguments (RewardConfig for pairwise) passed through: "
                          "num_train_epochs, per_device_train_batch_size, learning_rate, warmup_steps, "
                          "weight_decay, save_steps, logging_steps, eval_steps, bf16, activation_checkpointing, ... "
                          "Keys left out take the stage's defaults.", wraps="transformers:TrainingArguments")
    center_rewards_coefficient: float | None = param(None, "Pairwise only: weight of the penalty on the mean "
                                                     "reward (TRL's center_rewards_coefficient; 0.01 is usual).",
                                                     min=0.0)
    max_train_examples: int = param(1024, "Train examples (pairs, pairwise) drawn with the seed from the train split; "
                                    "0 for all. The default keeps the stage near three minutes with MiniLM on 2 CPU "
                                    "cores (about 6 examples/s); raise it on faster hardware.", min=0)
    eval_batch_size: int = param(32, "Pairs per forward pass when evaluating and scoring the test split.", min=1,
                                 max=65536)
    eval_examples: int = param(128, "Dev examples (pairs, pairwise) the eval loss curve is computed on; 0 for all.",
                               min=0)
    bootstrap_resamples: int = param(1000, "Bootstrap resamples of each 95% interval.", min=100, max=100000)
    launch: TrainRMLaunch = param(TrainRMLaunch(), "Distributed training: processes and accelerate config.")

    def check(self) -> None:
        try:
            InputFormat(self.template, self.max_length)  # the template's rules, named now
        except InvalidConfigError as e:
            raise ParamsError(f"train_rm.template: {e}") from None
        given = sorted(set(self.trainer) & set(FIXED_ARGS))
        if given:
            raise ParamsError(f"train_rm.trainer.{given[0]} is set by the stage itself; remove it from params.yaml")
        if self.center_rewards_coefficient is not None and self.objective != "pairwise":
            raise ParamsError("train_rm.center_rewards_coefficient applies to objective pairwise only; set it to null "
                              "or set train_rm.objective: pairwise")

    def trainer_args(self) -> dict[str, Any]:
        """The stage's defaults with ``trainer`` on top."""
        return {**TRAINER_DEFAULTS, **self.trainer}


# --- inputs ---------------------------------------------------------------------------------------


@dataclass
class Examples:
    """The usable rows of an input, by split, and the rows rejected."""

    table: pa.Table
    rows_in: int
    rejects: pa.Table

    def split(self, name: str) -> pa.Table:
        return self.table.filter(pc.equal(self.table["split"], name))


def _read(path: Path, *, text: tuple[str, ...], needs: tuple[str, ...], id_column: str, labels: bool) -> Examples:
    """Read an rm_data table: the needed columns must exist; rows with a bad label, split or text are rejected
    (their reasons start with the file's name: the rejects of both inputs share one table)."""
    inp = read_input(path, stage="train_rm", text_columns=text, id_columns=(id_column,))
    table = inp.table
    for name in (id_column, *needs):
        if name not in table.column_names:
            raise DatasetError(f"{path}: no {name!r} column (is this the rm_data stage's output?); columns: "
                               f"{', '.join(table.column_names) or 'none'}")
    bad: dict[int, tuple[str, str]] = {}
    if labels:
        for i, value in enumerate(table["label"].to_pylist()):
            if isinstance(value, bool) or value not in (0, 1):
                bad[i] = ("bad_label", f"label must be 0 or 1, got {value!r}")
    for i, value in enumerate(table["split"].to_pylist()):
        if value not in SPLITS:
            bad.setdefault(i, ("bad_split", f"split must be one of {', '.join(SPLITS)}, got {value!r}"))
    for name in text:
        for i, value in enumerate(table[name].to_pylist()):
            if value is None:
                bad.setdefault(i, ("missing_text", f"{name!r} is null"))
    ids = table[id_column].to_pylist()
    rows = sorted(bad)
    own = rejects_table(rows, [ids[i] for i in rows], "train_rm", [bad[i][0] for i in rows],
                        [bad[i][1] for i in rows])
    if bad:
        table = table.filter(pa.array([i not in bad for i in range(table.num_rows)]))
    if labels:
        table = table.set_column(table.column_names.index("label"), "label", pc.cast(table["label"], pa.int8()))
    rejects = inp.merge(own)
    rejects = rejects.set_column(4, "reason", pc.binary_join_element_wise(pa.scalar(f"{path.name}: "),
                                                                           rejects["reason"], ""))
    return Examples(table, inp.rows_in, rejects)


def _column(table: pa.Table, name: str, default: Any) -> list:
    return table[name].to_pylist() if name in table.column_names else [default] * table.num_rows


def _subsample(table: pa.Table, n: int, seed: int) -> pa.Table:
    """At most ``n`` rows (0: all), drawn with ``seed``, in file order."""
    if n == 0 or table.num_rows <= n:
        return table
    keep = np.sort(np.random.default_rng(seed).permutation(table.num_rows)[:n])
    return table.take(pa.array(keep))


# --- model and data -------------------------------------------------------------------------------


def _load_backbone(cfg: TrainRMConfig, num_labels: int) -> tuple[Any, Any, bool]:
    """The sequence classifier over the backbone, its tokenizer, and whether a pad token was added."""
    from transformers import AutoModelForSequenceClassification

    source = resolve(cfg.backbone)
    tokenizer = load_tokenizer(source)
    added = ensure_pad_token(tokenizer)
    tokenizer.padding_side = "right"
    kwargs: dict[str, Any] = {"num_labels": num_labels}
    if num_labels == 2:
        # problem_type is set here, not by the first forward pass with labels, so a run resumed from its last
        # checkpoint saves the same config.json as an uninterrupted one.
        kwargs |= {"id2label": dict(LABEL_NAMES), "label2id": {v: k for k, v in LABEL_NAMES.items()},
                   "problem_type": "single_label_classification"}

    model = guarded_load(source, "reward-model backbone", lambda: AutoModelForSequenceClassification.from_pretrained(
        source.location, dtype="float32", **source.pretrained_kwargs(), **kwargs))
    if added:
        model.resize_token_embeddings(len(tokenizer))
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer, added


def _token_columns(enc: Any, prefix: str = "") -> dict[str, list]:
    key = f"{prefix}_ids" if prefix else "input_ids"
    cols = {key: enc.input_ids}
    if enc.token_type_ids is not None:
        cols[f"{prefix}_token_type_ids" if prefix else "token_type_ids"] = enc.token_type_ids
    return cols


def _pointwise_dataset(tokenizer: Any, fmt: InputFormat, table: pa.Table) -> tuple[Any, int]:
    from datasets import Dataset

    enc = encode(tokenizer, fmt, table["requirement"].to_pylist(), table["response"].to_pylist())
    cols = _token_columns(enc) | {"labels": [int(v) for v in table["label"].to_pylist()]}
    return Dataset.from_dict(cols), sum(enc.truncated)


def _pairwise_dataset(tokenizer: Any, fmt: InputFormat, table: pa.Table) -> tuple[Any, int]:
    from datasets import Dataset

    reqs = table["requirement"].to_pylist()
    chosen = encode(tokenizer, fmt, reqs, table["chosen"].to_pylist())
    rejected = encode(tokenizer, fmt, reqs, table["rejected"].to_pylist())
    cols = _token_columns(chosen, "chosen") | _token_columns(rejected, "rejected")
    return Dataset.from_dict(cols), sum(chosen.truncated) + sum(rejected.truncated)


class PairCollator:
    """Pads pre-tokenized (chosen, rejected) pairs on the right: chosen rows first, then rejected, with token
    type ids where the tokenizer makes them (TRL's collator drops them, and BERT reads them)."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        rows = [e["chosen_ids"] for e in examples] + [e["rejected_ids"] for e in examples]
        width = max(len(r) for r in rows)
        batch = {
            "input_ids": torch.tensor([r + [self.pad_token_id] * (width - len(r)) for r in rows]),
            "attention_mask": torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows]),
        }
        if "chosen_token_type_ids" in examples[0]:
            types = [e["chosen_token_type_ids"] for e in examples] + [e["rejected_token_type_ids"] for e in examples]
            batch["token_type_ids"] = torch.tensor([t + [0] * (width - len(t)) for t in types])
        return batch


def _reward_trainer_class() -> type:
    from trl import RewardTrainer

    class PretokenizedRewardTrainer(RewardTrainer):
        """TRL's RewardTrainer keeping our token type id columns."""

        def _set_signature_columns_if_needed(self) -> None:
            if self._signature_columns is None:
                self._signature_columns = ["chosen_ids", "rejected_ids", "chosen_token_type_ids",
                                           "rejected_token_type_ids", "margin"]

    return PretokenizedRewardTrainer


def _loss_curves_callback(paths: Paths) -> Any:
    """dvclive logging of the train and eval loss by global step into the two plot files (dvclive's layout:
    ``DIR/plots/metrics/train/loss.tsv`` and ``DIR/plots/metrics/eval/loss.tsv``)."""
    train_path, eval_path = paths.plots
    return curves_callback({"train/loss": train_path, "eval/loss": eval_path},
                           value_of={"train/loss": "loss", "eval/loss": "eval_loss"})


# --- checkpoints and resume (wrl/training.py) -----------------------------------------------------


def fingerprint(cfg: TrainRMConfig, inputs: tuple[Path, ...], processes: int) -> str:
    """A hash of everything that shapes training: params, the inputs' and the backbone's bytes, the world size and
    the library versions. A checkpoint is resumed only under the same fingerprint."""
    params = {k: v for k, v in as_dict(cfg).items() if k not in ("eval_batch_size", "bootstrap_resamples")}
    return training_fingerprint(params, inputs=inputs, models={"backbone": cfg.backbone}, world_size=processes,
                                libraries=("trl",) if cfg.objective == "pairwise" else ())


# --- the run --------------------------------------------------------------------------------------


def _training_args(cfg: TrainRMConfig, out_dir: Path, *, has_dev: bool, gpu: bool) -> Any:
    """TrainingArguments (pointwise) or RewardConfig (pairwise): the stage's defaults, ``train_rm.trainer`` on top,
    and what the stage fixes."""
    given = cfg.trainer_args()
    if not gpu:
        given.setdefault("use_cpu", True)
    fixed = {"output_dir": str(out_dir), "seed": cfg.seed, "report_to": "none",
             "per_device_eval_batch_size": cfg.eval_batch_size, "eval_strategy": "steps" if has_dev else "no"}
    section = replace(cfg, trainer=given)
    args = wrapped(section, "trainer", **fixed)  # checks every key against TrainingArguments, names bad ones
    if cfg.objective == "pointwise":
        return args
    from trl import RewardConfig

    try:
        return RewardConfig(**fixed, **given, max_length=None,
                            center_rewards_coefficient=cfg.center_rewards_coefficient)
    except (TypeError, ValueError) as e:
        raise ParamsError(f"train_rm.trainer: RewardConfig rejects the arguments: {e}") from None


def _scores_in_memory(model: Any, tokenizer: Any, settings: RewardModelSettings, batch_size: int,
                      reqs: list[str], resps: list[str]) -> np.ndarray:
    model.eval()
    return RewardModel(model, tokenizer, settings, batch_size=batch_size).score_pairs(reqs, resps)


def run(cfg: TrainRMConfig, paths: Paths, ctx: Context) -> Report:
    """Train the reward model, score the test split next to the verifier, length and random baselines, save it."""
    if cfg.launch.processes > 1 and not under_launcher():
        from wrl.stages import stage

        relaunch(stage("train_rm"), cfg, paths, ctx, processes=cfg.launch.processes, config_file=cfg.launch.config)
        return _report_from_metrics(cfg, paths)
    started = time.monotonic()
    import torch

    threads = worker_threads(ctx.threads)
    if threads:
        torch.set_num_threads(threads)
    pointwise_path, pairwise_path = paths.inputs
    scores_out, model_out, checkpoints = paths.outputs
    main = rank() == 0
    pointwise = cfg.objective == "pointwise"

    points = _read(pointwise_path, text=("requirement", "response"), needs=POINTWISE_NEEDS, id_column="example_id",
                   labels=True)
    pairs = _read(pairwise_path, text=("requirement", "chosen", "rejected"), needs=PAIRWISE_NEEDS,
                  id_column="pair_id", labels=False)
    source = points if pointwise else pairs
    train_rows = source.split("train")
    if train_rows.num_rows == 0:
        raise DatasetError(f"{pointwise_path if pointwise else pairwise_path}: the train split is empty "
                           f"({source.table.num_rows:,} usable rows, none with split 'train'): the reward model has "
                           "nothing to learn from")
    available = train_rows.num_rows
    train_rows = _subsample(train_rows, cfg.max_train_examples, cfg.seed)
    dev_rows = _subsample(source.split("dev"), cfg.eval_examples, cfg.seed)
    test_rows, test_pairs = points.split("test"), pairs.split("test")

    from transformers import DataCollatorWithPadding, Trainer, set_seed

    # The arguments first: they set up the process group, and DeepSpeed ZeRO-3 must see them before the model loads.
    args = _training_args(cfg, checkpoints, has_dev=dev_rows.num_rows > 0, gpu=torch.cuda.is_available())
    set_seed(cfg.seed)
    model, tokenizer, added_pad = _load_backbone(cfg, 2 if pointwise else 1)
    fmt = InputFormat(cfg.template, cfg.max_length)
    build = _pointwise_dataset if pointwise else _pairwise_dataset
    train_ds, train_cut = build(tokenizer, fmt, train_rows)
    dev_ds = build(tokenizer, fmt, dev_rows)[0] if dev_rows.num_rows else None

    # Resume: every rank reads the checkpoint directory before rank 0 cleans it.
    state = distributed_state()
    resume = resume_point(checkpoints, fingerprint(cfg, paths.inputs, world_size()))

    callbacks = [_loss_curves_callback(paths)] if main and paths.plots else []
    if pointwise:
        trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=dev_ds,
                          processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
                          callbacks=callbacks)
        # A sequence classifier's loss is a mean over its batch and ignores num_items_in_batch, though its forward
        # takes **kwargs: left on, the Trainer would multiply the loss by the world size and skip dividing it over
        # gradient accumulation steps.
        trainer.model_accepts_loss_kwargs = False
    else:
        trainer = _reward_trainer_class()(model=model, args=args, train_dataset=train_ds, eval_dataset=dev_ds,
                                          processing_class=tokenizer,
                                          data_collator=PairCollator(tokenizer.pad_token_id), callbacks=callbacks)
    train_started = time.monotonic()
    train_from(trainer, resume)
    if dev_ds is not None and not any("eval_loss" in e and e.get("step") == trainer.state.global_step
                                      for e in trainer.state.log_history):
        trainer.evaluate()  # the eval curve ends at the last step
    for callback in callbacks:
        callback.on_train_end(args, trainer.state, trainer.control)  # the curves, complete after the last eval
    train_seconds = time.monotonic() - train_started
    steps_run = trainer.state.global_step - checkpoint_step(resume)

    settings = RewardModelSettings(objective=cfg.objective, template=cfg.template, max_length=cfg.max_length,
                                   backbone=cfg.backbone, extra={"seed": cfg.seed, "pad_token_added": added_pad})
    check = test_rows if test_rows.num_rows else points.split("train")
    check_reqs = check["requirement"].to_pylist()[:CHECK_PAIRS]
    check_resps = check["response"].to_pylist()[:CHECK_PAIRS]
    staging = model_out.parent / f".{model_out.name}.staging"
    if main and staging.exists():
        shutil.rmtree(staging)
    state.wait_for_everyone()
    trainer.save_model(str(staging))  # on every rank: DeepSpeed ZeRO-3 and FSDP gather the weights for rank 0
    in_memory = _scores_in_memory(trainer.model_wrapped, tokenizer, settings, cfg.eval_batch_size, check_reqs,
                                  check_resps)
    state.wait_for_everyone()
    if not main:
        return Report("train_rm", 0, 0, lines=[f"rank {rank()} of world size {world_size()}: trained "
                                               f"{trainer.state.global_step} steps ({steps_run} in this run)"])

    with atomic_directory(model_out) as tmp:
        for item in sorted(staging.iterdir()):
            if item.name != "training_args.bin":  # a pickle of this run's arguments: not needed to score
                shutil.move(str(item), tmp / item.name)
        shutil.rmtree(staging)
        settings.save(tmp)
        rm = RewardModel.load(tmp, device=str(args.device), batch_size=cfg.eval_batch_size, name=str(model_out))
        reloaded = rm.score_pairs(check_reqs, check_resps)
        tolerance = 1e-5 if next(trainer.model.parameters()).dtype == torch.float32 else 2e-2
        worst = float(np.max(np.abs(reloaded - in_memory))) if len(reloaded) else 0.0
        if not worst <= tolerance:
            raise ModelError(f"{model_out}: the re-loaded model scores differently from the trained one (max "
                             f"difference {worst:.3g} > {tolerance:g}): the score head or the tokenizer was not saved "
                             "as trained; nothing was written")
        score_started = time.monotonic()
        test_scores = rm.score_pairs(test_rows["requirement"].to_pylist(), test_rows["response"].to_pylist())
        pair_scores = _pair_scores(rm, test_rows, test_scores, test_pairs)
        score_seconds = time.monotonic() - score_started

    test_cut = encode(rm.tokenizer, rm.format, test_rows["requirement"].to_pylist(),
                      test_rows["response"].to_pylist()).truncated
    baselines = _baselines(cfg, points.split("train"), test_rows, test_pairs)
    table = _scores_table(test_rows, test_scores, test_cut, baselines, rm.describe())
    write_table(table, scores_out)
    by_reason = write_rejects([points.rejects, pairs.rejects], paths.rejects)
    rows_in = points.rows_in + pairs.rows_in
    metrics = _metrics(cfg, points, pairs, train_rows, dev_rows, table, baselines, pair_scores,
                       trainer.state, train_cut, sum(test_cut))
    metrics["rows"] = {"in": rows_in, "used": rows_in - sum(by_reason.values())}
    metrics["rejects"] = rejects_summary(by_reason)
    if paths.metrics is not None:
        write_json({"train_rm": metrics}, paths.metrics)

    batch = args.per_device_train_batch_size * args.gradient_accumulation_steps * world_size()
    unit = "examples" if pointwise else "pairs"
    resumed = f", resumed from {resume.name}" if resume else ""
    drawn = f" (drawn from {available:,}: max_train_examples)" if available > len(train_ds) else ""
    lines = [f"{cfg.objective} on {cfg.backbone}: {len(train_ds):,} train {unit}{drawn}, "
             f"{trainer.state.global_step} steps ({steps_run} in this run{resumed}), world size {world_size()}, "
             f"final train loss "
             f"{metrics['training']['train_loss_final']}",
             f"time: {time.monotonic() - started:.0f} s in all; training {train_seconds:.0f} s "
             f"({steps_run * batch / max(train_seconds, 1e-9):.1f} {unit}/s); test scoring {score_seconds:.1f} s",
             f"re-load check: {len(check_reqs)} pairs score the same after saving (max difference {worst:.2g})",
             f"length baseline: {metrics['length_baseline']['direction']} is better (train AUC "
             f"{metrics['length_baseline']['train_auc']})",
             *_table_lines(metrics)]
    if train_cut or sum(test_cut):
        lines.append(f"truncated responses (cut to max_length={cfg.max_length}): {train_cut:,} train "
                     f"{unit}, {sum(test_cut):,} test")
    return Report("train_rm", rows_in, rows_in - sum(by_reason.values()), by_reason, paths.outputs[:2],
                  paths.rejects, lines=lines,
                  counts=[("test examples by type", Counter(_column(test_rows, "type", "(unknown)")))])


def _pair_scores(rm: RewardModel, test_rows: pa.Table, test_scores: np.ndarray, pairs: pa.Table
                 ) -> tuple[np.ndarray, np.ndarray]:
    """RM scores of each test pair's chosen and rejected response, reusing the pointwise test scores."""
    known = dict(zip(zip(test_rows["requirement"].to_pylist(), test_rows["response"].to_pylist(), strict=True),
                     test_scores.tolist(), strict=True))
    reqs = pairs["requirement"].to_pylist()
    wanted = [(r, c) for r, c in zip(reqs, pairs["chosen"].to_pylist(), strict=True)] + \
             [(r, j) for r, j in zip(reqs, pairs["rejected"].to_pylist(), strict=True)]
    missing = sorted({w for w in wanted if w not in known})
    if missing:
        more = rm.score_pairs([m[0] for m in missing], [m[1] for m in missing])
        known.update(zip(missing, more.tolist(), strict=True))
    scores = np.array([known[w] for w in wanted], dtype=np.float64)
    return scores[:len(reqs)], scores[len(reqs):]


def _lengths(table: pa.Table) -> np.ndarray:
    if "response_chars" in table.column_names and table["response_chars"].null_count == 0:
        return np.asarray(table["response_chars"].to_pylist(), dtype=np.float64)
    return np.array([len(r) for r in table["response"].to_pylist()], dtype=np.float64)


def _baselines(cfg: TrainRMConfig, train: pa.Table, test: pa.Table, test_pairs: pa.Table) -> dict[str, Any]:
    """The verifier, length and random scores of the test examples (and pairs), with the length baseline's sign and
    threshold chosen on the train split."""
    train_len, train_y = _lengths(train), np.asarray(train["label"].to_pylist(), dtype=np.float64)
    auc_longer = float(roc_auc(train_y, train_len)) if len(train_y) else float("nan")
    sign = -1.0 if auc_longer < 0.5 else 1.0  # NaN (one class in train): longer is better
    threshold = best_threshold(train_y, sign * train_len)
    verdicts = {"followed": 1.0, "violated": 0.0}
    verifier = np.array([verdicts.get(v, np.nan) for v in _column(test, "verifier", None)], dtype=np.float64)
    rng = np.random.default_rng(cfg.seed)
    return {
        "verifier": verifier,
        "length": sign * _lengths(test),
        "random": rng.random(test.num_rows),
        "length_sign": sign,
        "length_threshold": threshold,
        "length_train_auc": max(auc_longer, 1 - auc_longer) if math.isfinite(auc_longer) else float("nan"),
        "pair_length": (sign * np.array([len(c) for c in test_pairs["chosen"].to_pylist()], dtype=np.float64),
                        sign * np.array([len(r) for r in test_pairs["rejected"].to_pylist()], dtype=np.float64)),
        "pair_random": (rng.random(test_pairs.num_rows), rng.random(test_pairs.num_rows)),
    }


def _scores_table(test: pa.Table, scores: np.ndarray, cut: list[bool], baselines: dict[str, Any],
                  settings: dict[str, Any]) -> pa.Table:
    n = test.num_rows
    cols = {
        "example_id": _column(test, "example_id", None),
        "id": _column(test, "id", None),
        "requirement_id": _column(test, "requirement_id", None),
        "type": _column(test, "type", None),
        "family": _column(test, "family", None),
        "verifiable": _column(test, "verifiable", None),
        "label": test["label"].to_pylist(),
        "score": scores.tolist(),
        "truncated": cut,
        "verifier": [None if math.isnan(v) else v for v in baselines["verifier"].tolist()],
        "length": baselines["length"].tolist(),
        "random": baselines["random"].tolist(),
    } | {name: [settings[name]] * n for name in ("model", "objective", "template", "tokenizer", "max_length",
                                                  "batch_size")}
    return pa.table({name: pa.array(cols[name], TEST_SCORES_SCHEMA.field(name).type) for name in
                     TEST_SCORES_SCHEMA.names}, schema=TEST_SCORES_SCHEMA)


def _group_metrics(table: pa.Table, baselines: dict[str, Any], mask: np.ndarray, *, seed: int, name: str,
                   resamples: int) -> dict[str, Any]:
    """The RM and the three baselines on the test examples in ``mask``."""
    y = np.asarray(table["label"].to_pylist(), dtype=np.float64)[mask]
    out: dict[str, Any] = {"n": int(mask.sum()), "positives": int(y.sum()), "interval": enough_for_interval(y)}
    kw = {"seed": seed, "resamples": resamples}
    out["rm"] = scorer_metrics(y, np.asarray(table["score"].to_pylist())[mask], name=f"{name}/rm",
                               calibration=True, **kw)
    verifier = baselines["verifier"][mask]
    has = ~np.isnan(verifier)  # the verifier judges verifiable types only
    out["verifier"] = scorer_metrics(y[has], verifier[has], name=f"{name}/verifier", **kw)
    out["length"] = scorer_metrics(y, baselines["length"][mask], name=f"{name}/length",
                                   threshold=baselines["length_threshold"], **kw)
    out["random"] = scorer_metrics(y, baselines["random"][mask], name=f"{name}/random", **kw)
    return out


def _metrics(cfg: TrainRMConfig, points: Examples, pairs: Examples, train_rows: pa.Table, dev_rows: pa.Table,
             table: pa.Table, baselines: dict[str, Any], pair_scores: tuple[np.ndarray, ...], state: Any,
             train_cut: int, test_cut: int) -> dict[str, Any]:
    """The stage's metrics: deterministic for a seed (no times; rates and statistics rounded to 6 digits)."""
    def last(key: str) -> float | None:
        values = [e[key] for e in state.log_history if key in e]
        return round(float(values[-1]), 6) if values else None

    seed, resamples = cfg.seed, cfg.bootstrap_resamples
    everything = np.ones(table.num_rows, dtype=bool)
    test: dict[str, Any] = {"overall": _group_metrics(table, baselines, everything, seed=seed, name="overall",
                                                      resamples=resamples)}
    for key in ("family", "type"):
        values = np.array([v if v is not None else "(unknown)" for v in table[key].to_pylist()], dtype=object)
        test[f"by_{key}"] = {str(v): _group_metrics(table, baselines, values == v, seed=seed, name=f"{key}/{v}",
                                                    resamples=resamples) for v in sorted(set(values.tolist()))}
    chosen, rejected = pair_scores
    pairs_metrics: dict[str, Any] = {"n": len(chosen)}
    if len(chosen):
        for scorer, (c, r) in (("rm", (chosen, rejected)), ("length", baselines["pair_length"]),
                               ("random", baselines["pair_random"])):
            pairs_metrics[scorer] = flat("accuracy", with_interval(
                pair_accuracy, (c, r), seed=seed, name=f"pairs/{scorer}", interval=len(chosen) >= MIN_INTERVAL_N,
                resamples=resamples))
    overall = test["overall"]
    beats = {}
    for other in ("length", "random"):
        rm_low, other_high = overall["rm"].get("auc_low"), overall[other].get("auc_high")
        beats[other] = bool(rm_low is not None and other_high is not None and rm_low > other_high)
    return {
        "objective": cfg.objective,
        "backbone": cfg.backbone,
        "examples": {
            "pointwise": {s: int(pc.sum(pc.equal(points.table["split"], s)).as_py() or 0) for s in SPLITS},
            "pairwise": {s: int(pc.sum(pc.equal(pairs.table["split"], s)).as_py() or 0) for s in SPLITS},
            "trained_on": train_rows.num_rows,
            "train_available": int(pc.sum(pc.equal((points if cfg.objective == "pointwise" else pairs).table["split"],
                                                   "train")).as_py() or 0),
            "eval_on": dev_rows.num_rows,
        },
        "training": {
            "steps": int(state.global_step),
            "epochs": round(float(state.epoch or 0), 6),
            "train_loss_final": last("loss"),
            "eval_loss_final": last("eval_loss"),
            "world_size": world_size(),
            "truncated_train": train_cut,
        },
        "length_baseline": {"direction": "longer" if baselines["length_sign"] > 0 else "shorter",
                            "train_auc": None if not math.isfinite(baselines["length_train_auc"])
                            else round(baselines["length_train_auc"], 6),
                            "threshold_chars": round(abs(baselines["length_threshold"]), 6)},
        "test": test | {"truncated": test_cut},
        "test_pairs": pairs_metrics,
        "rm_auc_interval_above": beats,
    }


def _fmt(stat: dict[str, Any], key: str) -> str:
    value = stat.get(key)
    if value is None:
        return "-"
    low, high = stat.get(f"{key}_low"), stat.get(f"{key}_high")
    return f"{value:.3f} [{low:.3f}, {high:.3f}]" if low is not None and high is not None else f"{value:.3f}"


def _table_lines(metrics: dict[str, Any]) -> list[str]:
    overall = metrics["test"]["overall"]
    lines = [f"test split, overall (95% bootstrap intervals); RM AUC interval above length: "
             f"{metrics['rm_auc_interval_above']['length']}, above random: "
             f"{metrics['rm_auc_interval_above']['random']}",
             f"  {'scorer':<9} {'n':>6}  {'accuracy':<22} {'ROC AUC':<22} {'ECE':<22} {'pair accuracy':<22}"]
    pairs = metrics["test_pairs"]
    for scorer in ("rm", "verifier", "length", "random"):
        s = overall.get(scorer, {})
        pair = _fmt(pairs[scorer], "accuracy") if scorer in pairs else "-"
        lines.append(f"  {scorer:<9} {s.get('n', 0):>6}  {_fmt(s, 'accuracy'):<22} {_fmt(s, 'auc'):<22} "
                     f"{_fmt(s, 'ece'):<22} {pair:<22}")
    return lines


def _report_from_metrics(cfg: TrainRMConfig, paths: Paths) -> Report:
    """The launching process's report of a multi-process run (each rank printed its own above)."""
    rows = {"in": 0, "used": 0}
    if paths.metrics is not None and paths.metrics.is_file():
        rows = json.loads(paths.metrics.read_text(encoding="utf-8"))["train_rm"]["rows"]
    config = f" with {cfg.launch.config}" if cfg.launch.config else ""
    return Report("train_rm", rows["in"], rows["used"], Counter({"(see rank 0's report)": rows["in"] - rows["used"]})
                  if rows["in"] > rows["used"] else Counter(), paths.outputs[:2], paths.rejects,
                  lines=[f"trained on {cfg.launch.processes} processes through accelerate launch{config}"])


STAGE = Stage(
    name="train_rm",
    config=TrainRMConfig,
    run=run,
    inputs=(Port("pointwise", "Pointwise examples (rm_data): requirement, response, label, split, type, family, "
                 "verifier verdict."),
            Port("pairwise", "Pairwise examples (rm_data): requirement, chosen, rejected, split.")),
    outputs=(Port("test_scores", "One row per test example: label, RM score, verifier/length/random baseline scores "
                  "and the scoring settings."),
             Port("reward_model", "The trained reward model: a *ForSequenceClassification directory with its "
                  "tokenizer and wrl_reward_model.json.", directory=True),
             Port("checkpoints", "Trainer checkpoints for resume (kept between runs: persist: true in dvc.yaml).",
                  directory=True)),
    plots=(Port("train_loss", "train loss by step (dvclive: DIR/plots/metrics/train/loss.tsv)"),
           Port("eval_loss", "dev loss by step (dvclive: DIR/plots/metrics/eval/loss.tsv)")),
    views=(View("rm_scores", "data/rm/test_scores.parquet",
                "Reward-model test scores, one row per (requirement, response) test example: example_id, id, "
                "requirement_id, type, family, verifiable, label, score (RM), truncated, the verifier, length and "
                "random baseline scores, and the scoring settings (model, objective, template, tokenizer, max_length, "
                "batch_size).", stage="train_rm"),),
)
