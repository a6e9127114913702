"""A client of ``wrl serve-rm``, and verl's custom reward function calling it.

This file needs nothing but the Python standard library: verl imports a custom reward function by
path, in workers where wrl may not be installed::

    custom_reward_function.path=wrl/rm_client.py custom_reward_function.name=compute_score
    # or, batched (verl's BatchRewardManager): name=compute_score_batch reward_model.reward_manager=batch

Where wrl is importable its :class:`~wrl.errors.ModelError` and :class:`~wrl.reward_model.ResponseScore`
are used (so wrl's commands print a failure as one ``error:`` line); otherwise stand-ins of the same
shape are defined here.

Settings of :func:`compute_score` come from the environment: ``WRL_RM_URL`` (default
``http://127.0.0.1:8008``), ``WRL_RM_TOKEN`` (bearer token), ``WRL_RM_TIMEOUT_S`` (per request,
default 60) and ``WRL_RM_RETRIES`` (default 3). It never returns a made-up reward: when the server
cannot be reached or answers garbage it raises.

Example:
    >>> client = RewardClient("http://127.0.0.1:8008")                                  # doctest: +SKIP
    >>> client.health()["status"]                                                        # doctest: +SKIP
    'ok'
    >>> client.score([{"response": "a poem about rain", "requirements": ["Write about rain."]}])  # doctest: +SKIP
    [ResponseScore(requirements=[0.91], score=0.91)]
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

try:  # inside wrl: its own error and result types
    from wrl.errors import ModelError
    from wrl.reward_model import ResponseScore
except Exception:  # noqa: BLE001 - imported by path without wrl (or with a broken install): stand-ins
    class ModelError(ValueError):  # type: ignore[no-redef]
        """The reward-model server cannot be reached, refuses, or answers something that is not what was asked."""

    class ResponseScore:  # type: ignore[no-redef]
        """A response's scores: one per requirement, in order, and their aggregate.

        (Not a dataclass: verl may execute this file without registering it in ``sys.modules``, and
        ``dataclass`` looks its module up there.)
        """

        __slots__ = ("requirements", "score")

        def __init__(self, requirements: list[float], score: float) -> None:
            self.requirements, self.score = requirements, score

        def __eq__(self, other: object) -> bool:
            return isinstance(other, ResponseScore) and (self.requirements, self.score) == (other.requirements,
                                                                                            other.score)

        def __repr__(self) -> str:
            return f"ResponseScore(requirements={self.requirements!r}, score={self.score!r})"


__all__ = ["DEFAULT_URL", "ModelError", "ResponseScore", "RewardClient", "compute_score", "compute_score_batch"]

DEFAULT_URL = "http://127.0.0.1:8008"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class _Retry(Exception):
    """A failure worth another attempt (connection error, 5xx, 503 with its Retry-After)."""

    def __init__(self, reason: str, after_s: float | None = None) -> None:
        super().__init__(reason)
        self.after_s = after_s


class RewardClient:
    """Calls a ``wrl serve-rm`` server's native ``/score`` route, with retries and answers checked.

    Args:
        url: the server (``http://127.0.0.1:8008``).
        token: its bearer token, if it was started with one.
        timeout_s: per HTTP request.
        max_retries: further attempts after a connection error, a timeout or a 5xx (503 honours
            ``Retry-After``), with exponential backoff from ``backoff_s``.
        max_request_pairs: items are sent in requests of at most this many pairs (one item is never split).

    Raises (from every method):
        ModelError: naming the server: it refused the request (4xx, with its reason), answered
            something that is not a valid answer to it, or did not answer after the retries.
    """

    def __init__(self, url: str = DEFAULT_URL, token: str | None = None, timeout_s: float = 30.0,
                 max_retries: int = 3, *, backoff_s: float = 0.5, max_request_pairs: int = 1024) -> None:
        if not url.startswith(("http://", "https://")):
            raise ModelError(f"{url}: the reward-model server URL must start with http:// or https://")
        if max_retries < 0 or timeout_s <= 0 or max_request_pairs < 1:
            raise ValueError("max_retries must be >= 0, timeout_s > 0 and max_request_pairs >= 1")
        self.url, self.token, self.timeout_s, self.max_retries = url.rstrip("/"), token, timeout_s, max_retries
        self.backoff_s, self.max_request_pairs = backoff_s, max_request_pairs

    def __repr__(self) -> str:
        return f"RewardClient({self.url!r})"

    # --- HTTP ---------------------------------------------------------------------------------------

    def _once(self, method: str, path: str, body: bytes | None) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url + path, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                raw = answer.read()
        except urllib.error.HTTPError as e:
            try:
                reason = json.loads(e.read()).get("error") or e.reason
            except Exception:  # noqa: BLE001 - the reason is a courtesy
                reason = e.reason
            if e.code in _RETRY_STATUSES:
                after = e.headers.get("Retry-After") if e.headers else None
                raise _Retry(f"HTTP {e.code}: {reason}", float(after) if after and after.isdigit() else None) from None
            raise ModelError(f"{self.url}{path}: the server refused the request (HTTP {e.code}): {reason}") from None
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as e:
            reason = getattr(e, "reason", None) or e
            raise _Retry(f"{type(e).__name__}: {reason}") from None
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise ModelError(f"{self.url}{path}: the server answered something that is not JSON: "
                             f"{raw[:120]!r}") from None

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        body = None if payload is None else json.dumps(payload, allow_nan=False).encode()
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                return self._once(method, path, body)
            except _Retry as e:
                last = str(e)
                if attempt == self.max_retries:
                    break
                delay = e.after_s if e.after_s is not None else self.backoff_s * 2 ** attempt
                time.sleep(min(delay, 30.0) * random.uniform(0.8, 1.2))
        raise ModelError(f"{self.url}{path}: no answer after {self.max_retries + 1} attempt(s); last: {last}")

    # --- routes -------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The server's ``/health`` answer (model, settings, queue); raises unless its status is ok."""
        answer = self._call("GET", "/health")
        if not isinstance(answer, dict) or answer.get("status") != "ok":
            raise ModelError(f"{self.url}/health: the server is not healthy: {str(answer)[:200]}")
        return answer

    def score(self, items: Iterable[Mapping[str, Any] | tuple[str, Sequence[str]]]) -> list[ResponseScore]:
        """Score responses against their requirements.

        Args:
            items: ``{"response": str, "requirements": [str, ...]}`` mappings or ``(response, requirements)``
                pairs; every item needs at least one requirement.

        Returns:
            One :class:`ResponseScore` per item, in order.
        """
        pending: list[tuple[str, list[str]]] = []
        for i, item in enumerate(items):
            if isinstance(item, Mapping):
                response, requirements = item.get("response"), item.get("requirements")
            else:
                response, requirements = item
            requirements = _as_list(requirements)
            if not isinstance(response, str):
                raise ValueError(f"item {i}: the response must be a string, got {type(response).__name__}")
            if not requirements or not all(isinstance(r, str) for r in requirements):
                raise ValueError(f"item {i}: requirements must be a non-empty list of strings, got {requirements!r}")
            pending.append((response, requirements))
        out: list[ResponseScore] = []
        chunk: list[tuple[str, list[str]]] = []
        pairs = 0
        for item in pending:
            if chunk and pairs + len(item[1]) > self.max_request_pairs:
                out += self._score_chunk(chunk)
                chunk, pairs = [], 0
            chunk.append(item)
            pairs += len(item[1])
        if chunk:
            out += self._score_chunk(chunk)
        return out

    def _score_chunk(self, chunk: list[tuple[str, list[str]]]) -> list[ResponseScore]:
        answer = self._call("POST", "/score", {"items": [{"id": i, "response": resp, "requirements": reqs}
                                                         for i, (resp, reqs) in enumerate(chunk)]})
        where = f"{self.url}/score"
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list):
            raise ModelError(f"{where}: the answer has no 'results' list: {str(answer)[:200]}")
        if len(results) != len(chunk):
            raise ModelError(f"{where}: {len(results)} results for {len(chunk)} items")
        out = []
        for i, (result, (_, reqs)) in enumerate(zip(results, chunk, strict=True)):
            if not isinstance(result, dict) or result.get("id") != i:
                raise ModelError(f"{where}: result {i} is not the answer to item {i}: {str(result)[:200]}")
            probs, score = result.get("requirements"), result.get("score")
            if not isinstance(probs, list) or len(probs) != len(reqs) or not all(_probability(p) for p in probs):
                raise ModelError(f"{where}: result {i} does not hold {len(reqs)} scores in [0, 1]: {str(probs)[:200]}")
            if not _probability(score):
                raise ModelError(f"{where}: result {i} has no valid aggregate score: {score!r}")
            out.append(ResponseScore([float(p) for p in probs], float(score)))
        return out


def _probability(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and \
        0.0 <= value <= 1.0


def _as_list(value: Any) -> Any:
    """Lists as Python lists (numpy arrays, as verl hands them over, included)."""
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        value = value.tolist()
    return list(value) if isinstance(value, tuple) else value


# --- verl -----------------------------------------------------------------------------------------

_clients: dict[tuple[str, str | None, float, int], RewardClient] = {}
_clients_lock = threading.Lock()


def _client() -> RewardClient:
    """One client per settings read from the environment (WRL_RM_URL, WRL_RM_TOKEN, WRL_RM_TIMEOUT_S,
    WRL_RM_RETRIES)."""
    key = (os.environ.get("WRL_RM_URL") or DEFAULT_URL, os.environ.get("WRL_RM_TOKEN") or None,
           float(os.environ.get("WRL_RM_TIMEOUT_S") or 60), int(os.environ.get("WRL_RM_RETRIES") or 3))
    with _clients_lock:
        if key not in _clients:
            _clients[key] = RewardClient(key[0], key[1], key[2], key[3])
        return _clients[key]


def requirements_of(ground_truth: Any, extra_info: Any = None) -> list[str]:
    """A sample's requirement texts: ``extra_info["requirements"]`` if given, else ``ground_truth``.

    Either may be a list of strings, a list of parse-stage requirements (objects with ``text``), or
    the JSON text of such a list (numpy arrays are taken as lists).

    Raises:
        ValueError: no requirements, or not in one of those shapes.
    """
    value = ground_truth
    if isinstance(extra_info, Mapping) and extra_info.get("requirements") is not None:
        value = extra_info["requirements"]
    value = _as_list(value)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("the requirements (extra_info['requirements'] or ground_truth) must be a list of "
                             f"strings or its JSON text; got a string that is not JSON: {value[:80]!r}") from None
    value = _as_list(value)
    if not isinstance(value, list) or not value:
        raise ValueError(f"no requirements to score against: {str(value)[:80]!r} (give extra_info['requirements'] "
                         "or ground_truth as a non-empty list of requirement texts)")
    texts = [r.get("text") if isinstance(r, Mapping) else r for r in value]
    if not all(isinstance(t, str) for t in texts):
        raise ValueError(f"requirements must be strings (or objects with a 'text'): {str(value)[:120]}")
    return texts


def compute_score(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None,
                  **kwargs: Any) -> float:
    """verl's custom reward function: the aggregate requirement-level score of one response.

    Args:
        data_source: unused (verl passes the dataset name).
        solution_str: the decoded response.
        ground_truth: the requirement texts (a list or its JSON text), unless ``extra_info`` has them.
        extra_info: verl's per-sample dict; ``extra_info["requirements"]`` takes precedence.

    Raises:
        ModelError: the server failed (never a silent 0); ValueError: no requirements.
    """
    return _client().score([(solution_str, requirements_of(ground_truth, extra_info))])[0].score


def compute_score_batch(data_sources: Sequence[Any], solution_strs: Sequence[str], ground_truths: Sequence[Any],
                        extra_infos: Sequence[Any] | None = None, **kwargs: Any) -> list[float]:
    """The batched form (verl's ``BatchRewardManager``): one score per response, scored in few requests."""
    n = len(solution_strs)
    infos = list(extra_infos) if extra_infos is not None else [None] * n
    if not (len(ground_truths) == len(infos) == n):
        raise ValueError(f"{n} responses, {len(ground_truths)} ground truths and {len(infos)} extra_infos")
    items = [(s, requirements_of(g, e)) for s, g, e in zip(solution_strs, ground_truths, infos, strict=True)]
    return [r.score for r in _client().score(items)]
