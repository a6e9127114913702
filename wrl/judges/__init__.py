"""Judges: anything that scores a response against the requirements of the instruction it answers.

WEval ranks the responses of a group with a judge; GRPO rewards a completion with one. Every judge
has the same interface, so a trained reward model, an LLM asked yes/no questions, the rule
verifiers, the length and random baselines and a judge behind an HTTP server are compared on
exactly the same items:

- :class:`JudgeItem`: one response, the full instruction and its requirements;
- :class:`Judgment`: one score per requirement (None where the judge has no view of that
  requirement) and the response's aggregate score, or a failure with its reason (the score is
  then NaN and never averaged in);
- :class:`Judge`: ``judge(items) -> [Judgment]`` and ``settings`` (model, template, tokenizer,
  batch size, generation settings), saved beside every score so rankings can be recomputed and
  runs reproduced without re-scoring.

A judge is declared by a :class:`JudgeSpec` (one entry of ``params.yaml``'s
``weval_judge.judges``) and built by :func:`build_judge`.

Example:
    >>> from wrl.requirements import Requirement
    >>> item = JudgeItem("r0", "Write a poem. Use no commas.", "A poem, with a comma.",
    ...                  (Requirement("r1", "no_commas", None, None, "Use no commas."),))
    >>> judge = build_judge("verifiers", JudgeSpec(kind="verifiers"))
    >>> judge.judge([item])[0].score
    0.0
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from wrl.config import Section, param
from wrl.errors import ParamsError
from wrl.models import DTYPES
from wrl.requirements import Requirement
from wrl.reward_model import AGGREGATES, aggregate

#: Judge kinds, each a class named in :data:`_CLASSES`.
KINDS = ("reward_model", "llm", "verifiers", "length", "random", "http")
LLM_MODES = ("yes_no", "critic")
HTTP_PROTOCOLS = ("native", "predict")


@dataclass(frozen=True)
class JudgeItem:
    """One response to judge.

    Attributes:
        key: a stable id of the response (seeds the random judge; names the response in errors).
        prompt: the full instruction (every requirement kept).
        response: the response, written under the full instruction or a variant with requirements dropped.
        requirements: the full instruction's requirements, in order.
    """

    key: str
    prompt: str
    response: str
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True)
class Judgment:
    """A judge's verdict on one response.

    Attributes:
        requirement_scores: one per requirement, in order; None where the judge has no view of it (a
            requirement no rule can verify; a judge that only scores whole responses).
        score: the response's score (higher is better); NaN when ``failure`` is set.
        failure: why the response could not be scored (a reason kind such as ``critic_unparsed``), else None.
        detail: what went wrong, for the rejects and the report.
    """

    requirement_scores: tuple[float | None, ...]
    score: float
    failure: str | None = None
    detail: str | None = None

    @classmethod
    def failed(cls, n: int, failure: str, detail: str) -> Judgment:
        return cls((None,) * n, math.nan, failure, detail)


def judgment(requirement_scores: Sequence[float | None], how: str = "mean") -> Judgment:
    """A :class:`Judgment` from per-requirement scores: their aggregate over the requirements judged.

    A NaN or infinite score is a failure (``non_finite_score``), never averaged in; so is a response with no
    requirement judged (``nothing_judged``).
    """
    scores = tuple(None if s is None else float(s) for s in requirement_scores)
    bad = [j for j, s in enumerate(scores) if s is not None and not math.isfinite(s)]
    if bad:
        return Judgment(scores, math.nan, "non_finite_score", f"requirement {bad[0]} scored {scores[bad[0]]}")
    judged = [s for s in scores if s is not None]
    if not judged:
        return Judgment(scores, math.nan, "nothing_judged", "the judge has no view of any of its requirements")
    return Judgment(scores, aggregate(judged, how))


@dataclass(frozen=True)
class JudgeSpec(Section):
    """One judge of ``weval_judge.judges``: its kind and the settings that kind reads.

    A setting another kind reads is an error when given (it would be silently ignored).
    """

    _key: ClassVar[str] = "weval_judge.judges.<name>"

    kind: str = param("reward_model", "What judges: a trained reward model, a causal LM asked per requirement, the "
                      "rule verifiers, the length baseline, a seeded random baseline, or a server over HTTP.",
                      choices=KINDS)
    model: str | None = param(None, "reward_model, llm: the model (a directory, package:NAME or a hub id).")
    mode: str = param("yes_no", "llm: yes_no (P(Yes) against P(No) after a yes/no question, no sampling) or critic "
                      "(a 1-10 score per requirement, generated greedily and parsed).", choices=LLM_MODES)
    template: str | None = param(None, "llm: the question, with {instruction}, {response} and {requirement} "
                                 "(default: the mode's template in wrl/judges/templates.yaml).")
    batch_size: int = param(16, "reward_model, llm: pairs (or prompts) per forward pass.", min=1)
    aggregate: str = param("mean", "How per-requirement scores become the response's score.", choices=AGGREGATES)
    max_length: int | None = param(None, "reward_model: token budget per pair (default: as trained); llm: tokens "
                                   "of the response kept (longer ones are cut, counted).", min=16)
    max_new_tokens: int = param(24, "llm critic: tokens generated per answer.", min=1, max=4096)
    reverse: bool = param(False, "length: shorter is better.")
    seed: int = param(0, "random: the seed (with the response's key) of each score.", min=0)
    url: str | None = param(None, "http: the server, e.g. http://127.0.0.1:8008.")
    protocol: str = param("native", "http: native (wrl serve-rm's POST /score, batched) or predict (the paper's "
                          "POST /predict, one (requirement, response) per request).", choices=HTTP_PROTOCOLS)
    timeout_s: float = param(60.0, "http: seconds per request before it is retried.", min=0.001)
    max_retries: int = param(3, "http: further attempts after a timeout, a connection error, a 429 or a 5xx.",
                             min=0, max=100)
    concurrency: int = param(8, "http: requests in flight at once.", min=1, max=1024)
    token_env: str | None = param(None, "http: the environment variable holding the bearer token (not the token).")
    device: str = param("auto", "reward_model, llm: auto (GPU if visible), cpu, cuda or cuda:N.")
    dtype: str = param("auto", "reward_model, llm: the weights' dtype.", choices=DTYPES)

    #: The settings each kind reads (besides ``kind`` and ``aggregate``).
    READS: ClassVar[dict[str, tuple[str, ...]]] = {
        "reward_model": ("model", "batch_size", "max_length", "device", "dtype"),
        "llm": ("model", "mode", "template", "batch_size", "max_length", "max_new_tokens", "device", "dtype"),
        "verifiers": (),
        "length": ("reverse",),
        "random": ("seed",),
        "http": ("url", "protocol", "timeout_s", "max_retries", "concurrency", "token_env"),
    }

    def check(self) -> None:
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        reads = {"kind", "aggregate", *self.READS[self.kind]}
        for name, default in defaults.items():
            if name not in reads and getattr(self, name) != default:
                raise ParamsError(f"{self._key}.{name} does not apply to a judge of kind {self.kind!r} (it reads: "
                                  f"{', '.join(sorted(reads))})")
        if self.kind in ("reward_model", "llm") and not self.model:
            raise ParamsError(f"{self._key}.model is required for a judge of kind {self.kind!r}")
        if self.kind == "http" and not self.url:
            raise ParamsError(f"{self._key}.url is required for a judge of kind 'http'")

    @classmethod
    def named(cls, name: str, raw: Any, source: str = "params.yaml") -> JudgeSpec:
        """The spec of judge ``name`` from its ``params.yaml`` mapping, errors naming ``weval_judge.judges.<name>``."""
        from wrl.config import build_section

        named = type(f"JudgeSpec[{name}]", (cls,), {"_key": f"weval_judge.judges.{name}", "__module__": __name__})
        return build_section(named, raw, f"weval_judge.judges.{name}", source)


#: Responses per :meth:`Judge.judge` call in :meth:`Judge.judge_all` (the unit of the progress bar).
CHUNK_ITEMS = 64


class Judge(ABC):
    """Scores responses against their instruction's requirements (see the module docstring).

    Args:
        name: the judge's name in ``params.yaml`` and in every output.
        spec: its settings.
    """

    kind: ClassVar[str]

    def __init__(self, name: str, spec: JudgeSpec) -> None:
        self.name, self.spec = name, spec

    @property
    def settings(self) -> dict[str, Any]:
        """What produced the scores: the kind, the settings it reads and, for models, what was loaded."""
        return {"kind": self.kind, "aggregate": self.spec.aggregate,
                **{k: getattr(self.spec, k) for k in JudgeSpec.READS[self.kind] if k not in ("token_env",)}}

    @property
    def counters(self) -> dict[str, int]:
        """Counts worth reporting (responses cut to fit, answers that could not be parsed), by name."""
        return {}

    @abstractmethod
    def judge(self, items: Sequence[JudgeItem]) -> list[Judgment]:
        """One :class:`Judgment` per item, in order."""

    def judge_all(self, items: Sequence[JudgeItem], *, progress: bool = False) -> list[Judgment]:
        """:meth:`judge` over ``items`` in chunks of :data:`CHUNK_ITEMS`, with a progress bar, checking that each
        chunk gets one judgment per item."""
        from tqdm import tqdm

        out: list[Judgment] = []
        with tqdm(total=len(items), desc=f"judge {self.name}", unit="responses", leave=False,
                  disable=not progress) as bar:
            for start in range(0, len(items), CHUNK_ITEMS):
                chunk = items[start:start + CHUNK_ITEMS]
                judged = self.judge(chunk)
                if len(judged) != len(chunk):
                    raise RuntimeError(f"judge {self.name} returned {len(judged)} judgments for {len(chunk)} items")
                out += judged
                bar.update(len(chunk))
        return out

    def close(self) -> None:  # noqa: B027 - most judges hold nothing to free
        """Free what the judge holds (a model)."""


def build_judge(name: str, spec: JudgeSpec) -> Judge:
    """The judge a spec declares (models are loaded now).

    Raises:
        ModelError: a model cannot be loaded, or a server does not answer its health check.
    """
    import importlib

    module, _, cls = _CLASSES[spec.kind].partition(":")
    return getattr(importlib.import_module(module), cls)(name, spec)


#: Where each kind's class lives (imported only when a judge of that kind is built).
_CLASSES = {
    "reward_model": "wrl.judges.reward:RewardModelJudge", "http": "wrl.judges.reward:HttpJudge",
    "llm": "wrl.judges.llm:LlmJudge", "verifiers": "wrl.judges.rules:VerifierJudge",
    "length": "wrl.judges.baselines:LengthJudge", "random": "wrl.judges.baselines:RandomJudge",
}
