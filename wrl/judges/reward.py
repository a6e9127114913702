"""Reward models as judges: a trained requirement-level model in memory (pointwise or pairwise, through
:class:`~wrl.reward_model.RewardModel`), or one behind an HTTP server (``wrl serve-rm``'s native route, or
any server speaking the paper's ``POST /predict``)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wrl.errors import ModelError
from wrl.judges import Judge, JudgeItem, JudgeSpec, Judgment, judgment


class RewardModelJudge(Judge):
    """A model trained by ``train_rm``: P(requirement satisfied) per requirement, aggregated."""

    kind = "reward_model"

    def __init__(self, name: str, spec: JudgeSpec) -> None:
        from wrl.reward_model import RewardModel

        super().__init__(name, spec)
        self.rm = RewardModel.load(spec.model, device=spec.device, dtype=spec.dtype, batch_size=spec.batch_size,
                                   aggregate=spec.aggregate, max_length=spec.max_length)

    @property
    def settings(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.rm.describe(), "device": str(self.rm.device), "dtype": self.spec.dtype}

    @property
    def counters(self) -> dict[str, int]:
        return {"pairs_cut": self.rm.truncated}

    def judge(self, items: Sequence[JudgeItem]) -> list[Judgment]:
        texts = [[r.text for r in item.requirements] for item in items]
        long = self.rm.too_long([t for ts in texts for t in ts])
        out: list[Judgment | None] = [None] * len(items)
        at = 0
        for i, ts in enumerate(texts):
            if any(long[at:at + len(ts)]):
                out[i] = Judgment.failed(len(ts), "requirement_too_long", "a requirement leaves no room for the "
                                         f"response in max_length={self.rm.format.max_length} tokens")
            at += len(ts)
        rows = [i for i, j in enumerate(out) if j is None]
        scored = self.rm.score([items[i].response for i in rows], [texts[i] for i in rows])
        for i, s in zip(rows, scored, strict=True):
            out[i] = judgment(s.requirements, self.spec.aggregate)
        return out  # type: ignore[return-value]

    def close(self) -> None:
        del self.rm


class HttpJudge(Judge):
    """A judge behind a server. ``native``: ``wrl serve-rm``'s ``POST /score`` (batched, checked with
    ``/health`` first); ``predict``: the paper's ``POST /predict`` with ``{"question": requirement, "answer":
    response}`` answered by ``{"value": p}``, one pair per request, ``concurrency`` in flight.

    A server that times out or refuses after the retries stops the run with a :class:`ModelError` naming it
    (a judge that answers some pairs and not others would give averages over different sets).
    """

    kind = "http"

    def __init__(self, name: str, spec: JudgeSpec) -> None:
        from wrl.rm_client import JsonHttp, RewardClient

        super().__init__(name, spec)
        token = os.environ.get(spec.token_env) if spec.token_env else None
        if spec.token_env and not token:
            raise ModelError(f"judge {name}: the environment variable {spec.token_env} (its bearer token) is not set")
        if spec.protocol == "native":
            self.client = RewardClient(spec.url, token=token, timeout_s=spec.timeout_s, max_retries=spec.max_retries)
            self.server = self.client.health()
        else:
            self.http = JsonHttp(spec.url, name=f"{spec.url.rstrip('/')}/predict", token=token,
                                 timeout_s=spec.timeout_s, max_retries=spec.max_retries)
            self.server = {}

    @property
    def settings(self) -> dict[str, Any]:
        return {**super().settings, "server": self.server.get("settings") or self.server.get("model")}

    def judge(self, items: Sequence[JudgeItem]) -> list[Judgment]:
        if self.spec.protocol == "native":
            scored = self.client.score([(item.response, [r.text for r in item.requirements]) for item in items])
            return [judgment(s.requirements, self.spec.aggregate) for s in scored]
        pairs = [(r.text, item.response) for item in items for r in item.requirements]
        with ThreadPoolExecutor(self.spec.concurrency) as pool:
            flat = list(pool.map(self._predict, pairs))
        out, at = [], 0
        for item in items:
            out.append(judgment(flat[at:at + len(item.requirements)], self.spec.aggregate))
            at += len(item.requirements)
        return out

    def _predict(self, pair: tuple[str, str]) -> float:
        answer = self.http.request("POST", "/predict", {"question": pair[0], "answer": pair[1]})
        value = answer.get("value") if isinstance(answer, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ModelError(f"{self.http.name}: the answer has no numeric 'value': {str(answer)[:200]}")
        return float(value)
