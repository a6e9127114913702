"""Reward functions for TRL's ``GRPOTrainer``, built on a wrl judge.

Each term is a callable with a ``__name__`` (TRL logs it as ``rewards/<name>/mean``) taking TRL's
``(prompts, completions, completion_ids=..., **columns)``, where the extra dataset columns arrive
as keyword arguments: ``prompt_id`` (the instruction's id) and ``requirements`` (the instruction's
requirements as JSON text, one list per row). The terms:

- ``rm``: the requirement-level reward: the judge's aggregate (mean, min or product) of its
  per-requirement scores over the instruction's requirements; the judge is the trained reward
  model in memory (:class:`wrl.judges.reward.RewardModelJudge`) or ``wrl serve-rm`` over HTTP,
  checked with ``/health`` when it is built. TRL is never handed the ``PreTrainedModel``: it would
  tokenize prompt + completion without special tokens and read ``logits[:, 0]``, which is wrong for
  a 2-label pointwise model and for an encoder without its [CLS]. With ``format_gate`` (the paper's
  reward), a completion not in the think/answer format gets 0 and the model scores only the answer.
- ``verifiers``: the rule verifiers' aggregate over the verifiable requirements (1 followed, 0
  violated); no score for an instruction with none.
- ``format``: 1 when the completion is ``<think>…</think><answer>…</answer>`` (the paper's format), else 0.
- ``length``: a penalty in [-1, 0]: ``-(tokens - target) / (max_completion_length - target)`` beyond
  ``target`` completion tokens (``target`` 0: every token costs).

Every term checks that the completions arrive in consecutive groups of ``num_generations`` sharing
one prompt (TRL's sampler guarantees it; a mismatch between the stage's batch sizes and TRL's is a
:class:`GroupError`, never silently wrong advantages). A completion a term cannot score gets None
(TRL then leaves it out of that term's mean; never NaN) and is counted by reason; a completion the
reward model cannot score gets None from every term, so it is unscorable as a whole and its
advantage is 0 (its format or length alone would otherwise make up its reward). Per-requirement
scores are accumulated by requirement type; :class:`RewardStats` turns what every process saw into
log entries (``by_type/rm/<type>``, ``unscored/<term>/<reason>``) that land in the trainer's log
history, so they survive a resume.

Example:
    >>> from wrl.judges import JudgeSpec, build_judge
    >>> terms = reward_terms({"rm": 0.0, "verifiers": 1.0, "format": 0.5, "length": 0.0}, judge=None,
    ...                      num_generations=2, max_completion_length=8)
    >>> [t.__name__ for t in terms.functions], terms.weights
    (['verifiers', 'format', 'length'], [1.0, 0.5, 0.0])
    >>> reqs = json.dumps([{"id": "r1", "type": "no_commas", "text": "Use no commas.", "params": {}}])
    >>> terms.functions[0](prompts=["Write. Use no commas."] * 2, completions=["a, b", "a b"],
    ...                    prompt_id=["p1", "p1"], requirements=[reqs, reqs])
    [0.0, 1.0]
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from wrl.errors import WrlError
from wrl.judges import Judge, JudgeItem, JudgeSpec
from wrl.requirements import Requirement, requirement_params

#: The reward terms, in the order TRL calls them (``rm`` first: the others read which completions it failed on).
TERMS = ("rm", "verifiers", "format", "length")
#: The paper's format: a reasoning block, then the answer, and nothing else.
FORMAT = re.compile(r"\A\s*<think>(.*?)</think>\s*<answer>(.*?)</answer>\s*\Z", re.DOTALL)
#: The reason a term gives for a completion the reward model could not score.
RM_UNSCORED = "rm_unscored"


class GroupError(WrlError):
    """Completions did not arrive in consecutive groups of ``num_generations`` sharing one prompt."""


def completion_text(completion: Any) -> str:
    """A completion's text: TRL passes a string, or (for chat prompts) a list of messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence):
        return "".join(str(m.get("content") or "") for m in completion if isinstance(m, Mapping))
    raise GroupError(f"a completion must be text or a list of messages, got {type(completion).__name__}")


def prompt_text(prompt: Any) -> str:
    """The instruction a prompt asks: the prompt itself, or its last user message."""
    if isinstance(prompt, str):
        return prompt
    users = [m for m in prompt if isinstance(m, Mapping) and m.get("role") == "user"]
    return str(users[-1].get("content") or "") if users else completion_text(prompt)


def answer_of(text: str) -> str | None:
    """The answer of a completion in the paper's format, or None when it is not in that format."""
    m = FORMAT.match(text)
    return m.group(2).strip() if m else None


def parse_requirements(cell: Any) -> tuple[Requirement, ...]:
    """The ``requirements`` column's cell (JSON text, or already a list of mappings) as requirements."""
    raw = json.loads(cell) if isinstance(cell, str) else cell
    if not isinstance(raw, list):
        raise GroupError(f"the requirements column must hold a list per row, got {type(raw).__name__}")
    return tuple(Requirement(str(r.get("id", f"r{j}")), str(r["type"]), None, None, str(r["text"]),
                             requirement_params(r.get("params"))) for j, r in enumerate(raw))


@dataclass
class Batch:
    """One call's completions, checked to come in groups, with their instructions and requirements."""

    prompt_ids: list[str]
    instructions: list[str]
    texts: list[str]
    requirements: list[tuple[Requirement, ...]]
    tokens: list[int]
    key: str

    @classmethod
    def of(cls, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Sequence[Sequence[int]] | None,
           columns: Mapping[str, Any], num_generations: int) -> Batch:
        """Check the groups and gather what the terms read.

        Raises:
            GroupError: the completions do not come in consecutive groups of ``num_generations`` sharing one
                prompt, or a column the terms need is missing or of another length.
        """
        n = len(completions)
        for name in ("prompt_id", "requirements"):
            if name not in columns:
                raise GroupError(f"the reward functions need the dataset column {name!r} (got columns: "
                                 f"{', '.join(sorted(k for k in columns if not k.startswith(('log_', 'trainer_'))))})")
        lengths = {"prompts": len(prompts), "prompt_id": len(columns["prompt_id"]),
                   "requirements": len(columns["requirements"])}
        if any(v != n for v in lengths.values()):
            raise GroupError(f"{n} completions but " + ", ".join(f"{v} {k}" for k, v in lengths.items()))
        if n % num_generations:
            raise GroupError(f"{n} completions do not make whole groups of num_generations={num_generations}: TRL's "
                             "batch sizes and the stage's disagree")
        ids = [str(i) for i in columns["prompt_id"]]
        keys = [json.dumps(p, sort_keys=True, default=str) if not isinstance(p, str) else p for p in prompts]
        for start in range(0, n, num_generations):
            group = range(start, start + num_generations)
            if len({ids[i] for i in group}) != 1 or len({keys[i] for i in group}) != 1:
                seen = sorted({ids[i] for i in group})
                raise GroupError(f"completions {start}..{start + num_generations - 1} should be one group of "
                                 f"num_generations={num_generations} sharing one prompt, but come from prompts "
                                 f"{', '.join(seen)}")
        parsed: dict[str, tuple[Requirement, ...]] = {}
        reqs = []
        for cell in columns["requirements"]:
            text = cell if isinstance(cell, str) else json.dumps(cell, sort_keys=True, default=str)
            if text not in parsed:
                parsed[text] = parse_requirements(cell)
            reqs.append(parsed[text])
        texts = [completion_text(c) for c in completions]
        tokens = [len(c) for c in completion_ids] if completion_ids is not None else [len(t.split()) for t in texts]
        key = hashlib.sha256(json.dumps([ids, texts]).encode()).hexdigest()
        return cls(ids, [prompt_text(p) for p in prompts], texts, reqs, tokens, key)


@dataclass
class RewardStats:
    """What the reward terms of one process saw since the last :meth:`drain`: completions left unscored by term
    and reason, and per-requirement scores by (term, requirement type).

    The trainer gathers every process's drained stats when it logs and adds :meth:`log_entries` of them to its
    logs (so they are in the log history a checkpoint keeps).
    """

    unscored: Counter = field(default_factory=Counter)
    scored: Counter = field(default_factory=Counter)
    by_type: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(lambda: [0.0, 0]))
    #: The last batch's completions the reward model could not score (the other terms skip them).
    rm_failed: tuple[str, frozenset[int]] = ("", frozenset())

    def add(self, term: str, requirement_type: str, score: float) -> None:
        cell = self.by_type[(term, requirement_type)]
        cell[0] += score
        cell[1] += 1

    def drain(self) -> dict[str, Any]:
        """The stats since the last drain, as plain JSON-able data, and reset them."""
        out = {"unscored": sorted([t, r, n] for (t, r), n in self.unscored.items()),
               "scored": sorted([t, n] for t, n in self.scored.items()),
               "by_type": sorted([t, k, s, n] for (t, k), (s, n) in self.by_type.items())}
        self.unscored.clear()
        self.scored.clear()
        self.by_type.clear()
        return out

    @staticmethod
    def log_entries(drained: Sequence[Mapping[str, Any]]) -> dict[str, float]:
        """Log entries from the drained stats of every process: ``unscored/<term>/<reason>`` and ``scored/<term>``
        (counts), ``by_type/<term>/<type>`` (mean score) and ``by_type_n/<term>/<type>`` (requirements scored)."""
        unscored: Counter = Counter()
        scored: Counter = Counter()
        sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])
        for part in drained:
            for term, reason, n in part["unscored"]:
                unscored[(term, reason)] += n
            for term, n in part["scored"]:
                scored[term] += n
            for term, rtype, s, n in part["by_type"]:
                sums[(term, rtype)][0] += s
                sums[(term, rtype)][1] += n
        logs: dict[str, float] = {}
        for (term, reason), n in sorted(unscored.items()):
            logs[f"unscored/{term}/{reason}"] = n
        for term, n in sorted(scored.items()):
            logs[f"scored/{term}"] = n
        for (term, rtype), (s, n) in sorted(sums.items()):
            logs[f"by_type/{term}/{rtype}"] = s / n
            logs[f"by_type_n/{term}/{rtype}"] = n
        return logs


class RewardTerm:
    """One term of the reward: a TRL reward function. Subclasses fill :meth:`score`.

    Args:
        num_generations: completions per prompt (the group size checked on every call).
        stats: where the term counts what it could not score and accumulates scores by type.
    """

    term: ClassVar[str]

    def __init__(self, num_generations: int, stats: RewardStats) -> None:
        self.__name__ = self.term  # TRL names the term by it: rewards/<name>/mean
        self.num_generations, self.stats = num_generations, stats

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any],
                 completion_ids: Sequence[Sequence[int]] | None = None, **columns: Any) -> list[float | None]:
        batch = Batch.of(prompts, completions, completion_ids, columns, self.num_generations)
        key, failed = self.stats.rm_failed
        skip = failed if key == batch.key and self.term != "rm" else frozenset()
        out = self.score(batch, skip)
        for i, value in enumerate(out):
            if value is not None and not math.isfinite(value):  # never NaN: a non-finite score is no score
                out[i] = None
                self.stats.unscored[(self.term, "non_finite_score")] += 1
        for i in skip:
            out[i] = None
        if skip:
            self.stats.unscored[(self.term, RM_UNSCORED)] += len(skip)
        self.stats.scored[self.term] += sum(v is not None for v in out)
        return out

    def score(self, batch: Batch, skip: frozenset[int]) -> list[float | None]:
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - most terms hold nothing
        """Free what the term holds."""


class RequirementReward(RewardTerm):
    """The reward model's (or a served model's) aggregate over the instruction's requirements.

    Args:
        judge: a ``reward_model`` or ``http`` judge (already built: loaded, or its server checked).
        format_gate: the paper's reward: 0 unless the completion is in the think/answer format, then the judge
            scores the answer alone.
    """

    term = "rm"

    def __init__(self, num_generations: int, stats: RewardStats, judge: Judge, *, format_gate: bool = False) -> None:
        super().__init__(num_generations, stats)
        self.judge, self.format_gate = judge, format_gate

    def score(self, batch: Batch, skip: frozenset[int]) -> list[float | None]:
        out: list[float | None] = [None] * len(batch.texts)
        items, rows = [], []
        for i, text in enumerate(batch.texts):
            response = text
            if self.format_gate:
                response = answer_of(text)
                if response is None:
                    out[i] = 0.0
                    continue
            items.append(JudgeItem(f"{batch.prompt_ids[i]}/{i}", batch.instructions[i], response,
                                   batch.requirements[i]))
            rows.append(i)
        failed = set()
        for i, judged in zip(rows, self.judge.judge(items) if items else [], strict=True):
            if judged.failure is not None or not math.isfinite(judged.score):
                failed.add(i)
                self.stats.unscored[(self.term, judged.failure or "non_finite_score")] += 1
                continue
            out[i] = judged.score
            for req, s in zip(batch.requirements[i], judged.requirement_scores, strict=True):
                if s is not None and math.isfinite(s):
                    self.stats.add(self.term, req.type, s)
        self.stats.rm_failed = (batch.key, frozenset(failed))
        return out

    def close(self) -> None:
        self.judge.close()


class VerifierReward(RewardTerm):
    """The rule verifiers' aggregate over the verifiable requirements; no score where there are none."""

    term = "verifiers"

    def __init__(self, num_generations: int, stats: RewardStats, *, aggregate: str = "mean") -> None:
        from wrl.judges.rules import VerifierJudge

        super().__init__(num_generations, stats)
        self.judge = VerifierJudge("verifiers", JudgeSpec(kind="verifiers", aggregate=aggregate))

    def score(self, batch: Batch, skip: frozenset[int]) -> list[float | None]:
        rows = [i for i in range(len(batch.texts)) if i not in skip]
        items = [JudgeItem(f"{batch.prompt_ids[i]}/{i}", batch.instructions[i], batch.texts[i],
                           batch.requirements[i]) for i in rows]
        out: list[float | None] = [None] * len(batch.texts)
        for i, judged in zip(rows, self.judge.judge(items) if items else [], strict=True):
            if judged.failure is not None:
                self.stats.unscored[(self.term, judged.failure)] += 1
                continue
            out[i] = judged.score
            for req, s in zip(batch.requirements[i], judged.requirement_scores, strict=True):
                if s is not None:
                    self.stats.add(self.term, req.type, s)
        return out


class FormatReward(RewardTerm):
    """1 for a completion in the paper's ``<think>…</think><answer>…</answer>`` format, else 0."""

    term = "format"

    def score(self, batch: Batch, skip: frozenset[int]) -> list[float | None]:
        return [1.0 if FORMAT.match(t) else 0.0 for t in batch.texts]


class LengthPenalty(RewardTerm):
    """``-(tokens - target) / (max_completion_length - target)`` beyond ``target`` completion tokens, in [-1, 0]."""

    term = "length"

    def __init__(self, num_generations: int, stats: RewardStats, *, max_completion_length: int,
                 target: int = 0) -> None:
        super().__init__(num_generations, stats)
        if not 0 <= target < max_completion_length:
            raise WrlError(f"the length target ({target}) must be below max_completion_length "
                           f"({max_completion_length})")
        self.max_completion_length, self.target = max_completion_length, target

    def score(self, batch: Batch, skip: frozenset[int]) -> list[float | None]:
        span = self.max_completion_length - self.target
        return [-min(1.0, max(0, n - self.target) / span) for n in batch.tokens]


@dataclass
class RewardTerms:
    """The reward functions handed to TRL, their weights (``GRPOConfig.reward_weights``) and their stats."""

    functions: list[RewardTerm]
    weights: list[float]
    stats: RewardStats

    def close(self) -> None:
        for f in self.functions:
            f.close()


def reward_terms(weights: Mapping[str, float], *, judge: Judge | None, num_generations: int,
                 max_completion_length: int, length_target: int = 0, format_gate: bool = False,
                 verifier_aggregate: str = "mean") -> RewardTerms:
    """The reward terms for TRL: ``rm`` when its weight is not 0 (it needs ``judge``), the others always (they cost
    little, and are logged even at weight 0).

    Args:
        weights: a weight per term of :data:`TERMS` (missing terms weigh 0).
        judge: the reward model's judge (``reward_model`` or ``http``), built by :func:`wrl.judges.build_judge`.
        num_generations: completions per prompt.
        max_completion_length, length_target: the length penalty's scale and free allowance, in tokens.
        format_gate: the paper's gate on the reward model's score (see :class:`RequirementReward`).
        verifier_aggregate: how the verifiers' per-requirement verdicts become one score.

    Raises:
        WrlError: an unknown term, a negative weight, no judge for a weighted ``rm``, or every weight 0.
    """
    unknown = sorted(set(weights) - set(TERMS))
    if unknown:
        raise WrlError(f"unknown reward term {unknown[0]!r}; terms: {', '.join(TERMS)}")
    w = {t: float(weights.get(t, 0.0)) for t in TERMS}
    if not any(w.values()):
        raise WrlError("every reward weight is 0: nothing to learn from")
    stats = RewardStats()
    functions: list[RewardTerm] = []
    if w["rm"]:
        if judge is None:
            raise WrlError("the rm term has a weight but no judge was given")
        functions.append(RequirementReward(num_generations, stats, judge, format_gate=format_gate))
    functions += [VerifierReward(num_generations, stats, aggregate=verifier_aggregate),
                  FormatReward(num_generations, stats),
                  LengthPenalty(num_generations, stats, max_completion_length=max_completion_length,
                                target=length_target)]
    return RewardTerms(functions, [w[f.term] for f in functions], stats)
