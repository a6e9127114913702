"""The requirement-level reward model: how a (requirement, response) pair becomes model input, and how a
trained model scores many of them at once.

Training (stage ``train_rm``), offline scoring (``wrl score``), serving (``wrl serve-rm``), WEval and
GRPO all go through this module, so the text a model was trained on is exactly the text it is
scored on.

Input: the template (``{requirement}`` before ``{response}``) is split at ``{response}``; the first
part, holding the requirement, is the tokenizer's first sequence and the response (with what follows
it in the template) the second, truncated with ``only_second``: on a long response the response is
cut, never the requirement. The paper's released server put the constraint last and truncated the
whole text, so on long responses the constraint was what got cut.

Scores: a pointwise model (2 labels) gives P(label 1) by softmax; a pairwise (Bradley-Terry) model
(1 label) gives sigmoid(reward). An instruction-level score aggregates the per-requirement scores
(mean, as the paper does; min or product on request).

Example:
    >>> rm = RewardModel.load("models/reward_model")                        # doctest: +SKIP
    >>> rm.score(["a poem about rain, in lowercase."],
    ...          [["Your entire response should be in lowercase.", "Write about rain."]])  # doctest: +SKIP
    [ResponseScore(requirements=[0.93, 0.88], score=0.905)]
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wrl.errors import InvalidConfigError, ModelError
from wrl.models import ModelSource, guarded_load, load_tokenizer, pick_device, resolve, torch_dtype

if TYPE_CHECKING:
    import numpy as np

DEFAULT_TEMPLATE = ("Does the response satisfy the requirement?\nRequirement: {requirement}\nResponse: {response}")
OBJECTIVES = ("pointwise", "pairwise")
AGGREGATES = ("mean", "min", "product")
#: Tokens a pair must leave for the response; a requirement that leaves fewer is refused.
MIN_RESPONSE_TOKENS = 8
#: Written beside the weights by ``train_rm``: how the model reads its input.
SETTINGS_FILE = "wrl_reward_model.json"
#: The padding token added to a causal LM whose pad is its eos (the score would be read at the wrong token).
ADDED_PAD_TOKEN = "<|wrl_pad|>"


@dataclass(frozen=True)
class InputFormat:
    """How a pair is written for the model: the template and the token budget.

    Attributes:
        template: text with ``{requirement}`` before ``{response}``, each once.
        max_length: tokens per pair, special tokens included; the response is cut to fit.
    """

    template: str = DEFAULT_TEMPLATE
    max_length: int = 256

    def __post_init__(self) -> None:
        for name in ("{requirement}", "{response}"):
            if self.template.count(name) != 1:
                raise InvalidConfigError(f"the reward-model template must contain {name} exactly once: "
                                         f"{self.template!r}")
        if self.template.index("{requirement}") > self.template.index("{response}"):
            raise InvalidConfigError("the reward-model template must put {requirement} before {response}, so "
                                     "truncation cuts the response, never the requirement")
        if self.max_length < 16:
            raise InvalidConfigError(f"max_length must be at least 16 tokens, got {self.max_length}")

    def texts(self, requirement: str, response: str) -> tuple[str, str]:
        """The two sequences: the template up to the response (with the requirement), then the response and the
        rest of the template."""
        head, tail = self.template.split("{response}")
        return head.replace("{requirement}", requirement), response + tail


@dataclass(frozen=True)
class Encoded:
    """Tokenized pairs (unpadded) and how many responses were cut to fit."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    truncated: list[bool]

    def __len__(self) -> int:
        return len(self.input_ids)


def encode(tokenizer: Any, fmt: InputFormat, requirements: Sequence[str], responses: Sequence[str]) -> Encoded:
    """Tokenize (requirement, response) pairs so that only the response is ever truncated.

    Raises:
        InvalidConfigError: a requirement alone does not fit in ``fmt.max_length`` with room for a response.
    """
    if len(requirements) != len(responses):
        raise ValueError(f"{len(requirements)} requirements for {len(responses)} responses")
    if not requirements:
        return Encoded([], None, [])
    firsts, seconds = zip(*(fmt.texts(r, s) for r, s in zip(requirements, responses, strict=True)), strict=True)
    special = tokenizer.num_special_tokens_to_add(pair=True)
    head_lengths = [len(ids) for ids in tokenizer(list(firsts), add_special_tokens=False)["input_ids"]]
    room = fmt.max_length - special - max(head_lengths)
    if room < MIN_RESPONSE_TOKENS:
        longest = requirements[head_lengths.index(max(head_lengths))]
        raise InvalidConfigError(f"a requirement takes {max(head_lengths)} tokens with the template, leaving {room} "
                                 f"of max_length={fmt.max_length} for the response; raise max_length "
                                 f"(requirement: {longest[:80]!r})")
    tail_lengths = [len(ids) for ids in tokenizer(list(seconds), add_special_tokens=False)["input_ids"]]
    enc = tokenizer(list(firsts), list(seconds), truncation="only_second", max_length=fmt.max_length,
                    padding=False)
    truncated = [h + t + special > fmt.max_length for h, t in zip(head_lengths, tail_lengths, strict=True)]
    return Encoded(enc["input_ids"], enc.get("token_type_ids"), truncated)


def ensure_pad_token(tokenizer: Any) -> bool:
    """Give a tokenizer without a pad token, or whose pad is its eos, a pad token of its own.

    A causal-LM score head reads the last token that is not padding; with pad = eos that is the wrong
    token whenever a text ends in eos. Returns True if a token was added (the embeddings must grow).
    """
    if tokenizer.pad_token_id is not None and tokenizer.pad_token_id != tokenizer.eos_token_id:
        return False
    tokenizer.add_special_tokens({"pad_token": ADDED_PAD_TOKEN})
    return True


def aggregate(scores: Sequence[float], how: str = "mean") -> float:
    """One instruction-level score from per-requirement scores; NaN for no requirements."""
    if how not in AGGREGATES:
        raise InvalidConfigError(f"unknown aggregate {how!r}; one of {', '.join(AGGREGATES)}")
    if not scores:
        return math.nan
    if how == "min":
        return float(min(scores))
    if how == "product":
        return float(math.prod(scores))
    return float(sum(scores) / len(scores))


@dataclass(frozen=True)
class RewardModelSettings:
    """What ``train_rm`` saves beside the weights (``wrl_reward_model.json``), so scoring reads input as
    training did."""

    objective: str = "pointwise"
    template: str = DEFAULT_TEMPLATE
    max_length: int = 256
    backbone: str = ""
    format_version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def input_format(self) -> InputFormat:
        return InputFormat(self.template, self.max_length)

    def save(self, directory: str | Path) -> None:
        Path(directory, SETTINGS_FILE).write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n",
                                                  encoding="utf-8")

    @classmethod
    def read(cls, directory: str | Path) -> RewardModelSettings:
        path = Path(directory, SETTINGS_FILE)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            settings = cls(**raw)
        except FileNotFoundError:
            raise ModelError(f"{directory}: not a wrl reward model (no {SETTINGS_FILE}; train one with the "
                             "train_rm stage)") from None
        except (ValueError, TypeError) as e:
            raise ModelError(f"{path}: unreadable reward-model settings: {e}") from None
        if settings.objective not in OBJECTIVES:
            raise ModelError(f"{path}: unknown objective {settings.objective!r}")
        return settings


@dataclass(frozen=True)
class ResponseScore:
    """A response's scores: one per requirement, in order, and their aggregate."""

    requirements: list[float]
    score: float


class RewardModel:
    """A trained requirement-level reward model, kept in memory, scoring pairs in length-sorted batches.

    Args:
        model: a ``*ForSequenceClassification`` model (2 labels pointwise, 1 pairwise).
        tokenizer: its tokenizer (with a pad token distinct from eos for causal LMs).
        settings: the template, max length and objective it was trained with.
        batch_size: pairs per forward pass.
        aggregate: how per-requirement scores become one (mean, min, product).
        name: the model's path or id, for provenance.
    """

    def __init__(self, model: Any, tokenizer: Any, settings: RewardModelSettings, *, batch_size: int = 32,
                 aggregate: str = "mean", name: str = "") -> None:
        if aggregate not in AGGREGATES:
            raise InvalidConfigError(f"unknown aggregate {aggregate!r}; one of {', '.join(AGGREGATES)}")
        if batch_size < 1:
            raise InvalidConfigError(f"batch_size must be at least 1, got {batch_size}")
        self.model, self.tokenizer, self.settings = model, tokenizer, settings
        self.batch_size, self.aggregate, self.name = batch_size, aggregate, name
        self.format = settings.input_format
        self.truncated = 0  # responses cut to fit max_length, over the life of this object
        # Padding on the right: a causal LM's positions then do not depend on the batch it is in, and its
        # score is read at the last token that is not padding (transformers finds it from pad_token_id).
        tokenizer.padding_side = "right"
        pad = getattr(getattr(model, "config", None), "pad_token_id", None)
        if getattr(tokenizer, "eos_token_id", None) is not None and tokenizer.pad_token_id == tokenizer.eos_token_id:
            raise ModelError(f"{name or 'reward model'}: the tokenizer's pad token is its eos token, so the score "
                             "would be read at the wrong token; train it with train_rm (which adds a pad token)")
        if pad is not None and tokenizer.pad_token_id is not None and pad != tokenizer.pad_token_id:
            raise ModelError(f"{name or 'reward model'}: the model's pad_token_id ({pad}) is not the tokenizer's "
                             f"({tokenizer.pad_token_id}); the score would be read at the wrong token")

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto", dtype: str = "auto", batch_size: int = 32,
             aggregate: str = "mean", max_length: int | None = None, name: str | None = None) -> RewardModel:
        """Load a model saved by ``train_rm`` and check that its score head was saved with it.

        Args:
            path: the model directory (``models/reward_model``).
            device: ``auto`` (GPU if visible), ``cpu``, ``cuda``, ``cuda:1``...
            dtype: ``auto`` (as saved), ``float32``, ``bfloat16``, ``float16``.
            max_length: override the trained token budget (longer responses are cut).
            name: the model's name in :meth:`describe` (default: ``path``), e.g. where a model loaded from a
                staging directory will live.

        Raises:
            ModelError: no such directory, not a reward model, or the score head is missing.
        """
        from transformers import AutoModelForSequenceClassification

        source = resolve(str(path))
        settings = RewardModelSettings.read(source.location)
        if max_length is not None:
            settings = RewardModelSettings(**{**asdict(settings), "max_length": max_length})
        tokenizer = load_tokenizer(source)
        model, info = guarded_load(source, "reward model", lambda: AutoModelForSequenceClassification.from_pretrained(
            source.location, dtype=torch_dtype(dtype), output_loading_info=True))
        check_score_head(source, info)
        model.to(pick_device(device)).eval()
        name = str(path) if name is None else name
        tokenizer.name_or_path = name  # the tokenizer saved with the model, named as the model is
        return cls(model, tokenizer, settings, batch_size=batch_size, aggregate=aggregate, name=name)

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    def describe(self) -> dict[str, Any]:
        """The scoring settings, saved beside every score (RewardBench users could not reproduce without them)."""
        return {
            "model": self.name,
            "objective": self.settings.objective,
            "template": self.settings.template,
            "tokenizer": getattr(self.tokenizer, "name_or_path", "") or type(self.tokenizer).__name__,
            "max_length": self.format.max_length,
            "batch_size": self.batch_size,
            "aggregate": self.aggregate,
        }

    def too_long(self, requirements: Sequence[str]) -> list[bool]:
        """Which requirements leave no room for a response in ``max_length`` (:func:`encode` refuses those)."""
        heads = self.tokenizer([self.format.texts(r, "")[0] for r in requirements],
                               add_special_tokens=False)["input_ids"]
        special = self.tokenizer.num_special_tokens_to_add(pair=True)
        return [self.format.max_length - special - len(h) < MIN_RESPONSE_TOKENS for h in heads]

    def score_pairs(self, requirements: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        """P(the response satisfies the requirement) for each pair, in order (float64)."""
        import numpy as np
        import torch

        enc = encode(self.tokenizer, self.format, requirements, responses)
        self.truncated += sum(enc.truncated)
        out = np.empty(len(enc), dtype=np.float64)
        order = sorted(range(len(enc)), key=lambda i: -len(enc.input_ids[i]))  # similar lengths batch together
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start:start + self.batch_size]
                features = {"input_ids": [enc.input_ids[i] for i in rows]}
                if enc.token_type_ids is not None:
                    features["token_type_ids"] = [enc.token_type_ids[i] for i in rows]
                batch = self.tokenizer.pad(features, return_tensors="pt").to(self.device)
                logits = self.model(**batch).logits.float()
                probs = torch.softmax(logits, -1)[:, 1] if logits.shape[-1] == 2 else torch.sigmoid(logits[:, 0])
                out[rows] = probs.cpu().numpy()
        return out

    def score(self, responses: Sequence[str], requirements: Sequence[Sequence[str]]) -> list[ResponseScore]:
        """Score each response against its own requirements, all pairs in one batched pass."""
        if len(responses) != len(requirements):
            raise ValueError(f"{len(responses)} responses for {len(requirements)} requirement lists")
        flat_req = [r for reqs in requirements for r in reqs]
        flat_resp = [resp for resp, reqs in zip(responses, requirements, strict=True) for _ in reqs]
        flat = self.score_pairs(flat_req, flat_resp).tolist()
        scored, at = [], 0
        for reqs in requirements:
            mine = flat[at:at + len(reqs)]
            at += len(reqs)
            scored.append(ResponseScore(mine, aggregate(mine, self.aggregate)))
        return scored


def check_score_head(source: ModelSource, loading_info: dict[str, Any]) -> None:
    """Fail if the classifier head was not in the checkpoint (transformers would silently initialize it at random,
    and every score would be noise)."""
    missing = [k for k in loading_info.get("missing_keys", []) if k.split(".")[0] in ("score", "classifier")]
    if missing:
        raise ModelError(f"{source.reference}: the checkpoint has no trained score head (missing "
                         f"{', '.join(sorted(missing))}); scores would be random")
