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
import urllib.parse
import urllib.request
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
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


__all__ = ["DEFAULT_URL", "JsonHttp", "ModelError", "ResponseScore", "RewardClient", "compute_score",
           "compute_score_batch"]

DEFAULT_URL = "http://127.0.0.1:8008"

# --- JSON over HTTP, with retries -----------------------------------------------------------------

#: Answers worth another attempt: too many requests, and server errors.
RETRY_STATUSES = frozenset({429, *range(500, 600)})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class _Retry(Exception):
    """A failure worth another attempt; ``after_s`` is the server's ``Retry-After``, if it gave one."""

    def __init__(self, reason: str, after_s: float | None = None) -> None:
        super().__init__(reason)
        self.after_s = after_s


def excerpt(raw: bytes | str, limit: int = 200) -> str:
    """The start of an answer, quoted and on one line, for an error message."""
    text = (raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw).strip().replace("\n", " ")
    return repr(text[:limit] + ("..." if len(text) > limit else "")) if text else "(empty body)"


def _error_detail(body: bytes, reason: str) -> str:
    """What a refusal says: its JSON ``error`` (a string, or an object's ``message``), else the body, else the
    status's reason phrase."""
    try:
        error = json.loads(body).get("error")
        if isinstance(error, dict):
            error = error.get("message")
        if isinstance(error, str) and error:
            return error
    except Exception:  # noqa: BLE001 - the detail is a courtesy
        pass
    return excerpt(body) if body.strip() else str(reason)


class JsonHttp:
    """JSON requests to one server with the standard library: failures sorted into worth retrying or final.

    This is the one HTTP mechanism of wrl (the ``openai`` rollout backend and :class:`RewardClient` use it);
    it lives here because this file must run with the standard library alone.

    - Connection errors, timeouts and the statuses in ``retry_statuses`` (429 and 5xx) are retried up to
      ``max_retries`` times, after ``backoff_s * 2**attempt`` seconds (or the server's ``Retry-After``
      when ``retry_after`` is true), at most ``max_delay_s``, times a jitter in [0.5, 1.5) drawn from
      ``jitter`` (a seeded :class:`random.Random` makes the delays reproducible; default: the module's).
    - Another 4xx fails at once, with the server's reason; so does an answer that is not JSON.
    - Every failure is one :class:`ModelError` starting with ``name`` (default: the URL requested); the
      last one, after the retries, says how many attempts were made and what the last failure was, then
      ``hint``.
    - A proxy from the environment is used for remote servers, never for this machine's.

    Args:
        base_url: ``http(s)://host[:port][/prefix]``; request paths are appended to it.
        token: sent as ``Authorization: Bearer <token>`` when set.
        timeout_s: per attempt.
        sleep: waits between attempts (tests pass a fake).

    Raises:
        ModelError: ``base_url`` is not an http(s) URL.
    """

    def __init__(self, base_url: str, *, name: str | None = None, token: str | None = None, timeout_s: float = 30.0,
                 max_retries: int = 3, backoff_s: float = 0.5, max_delay_s: float = 30.0,
                 retry_statuses: Container[int] = RETRY_STATUSES, retry_after: bool = True,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url, self.name = base_url.rstrip("/"), name
        parsed = urllib.parse.urlparse(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ModelError(f"{name + ': ' if name else ''}{base_url!r} is not an http:// or https:// URL")
        if max_retries < 0 or timeout_s <= 0 or backoff_s < 0:
            raise ValueError("max_retries must be >= 0, timeout_s > 0 and backoff_s >= 0")
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.timeout_s, self.max_retries, self.backoff_s, self.max_delay_s = timeout_s, max_retries, backoff_s, \
            max_delay_s
        self.retry_statuses, self.retry_after, self._sleep = retry_statuses, retry_after, sleep
        self._opener = urllib.request.build_opener(
            *([urllib.request.ProxyHandler({})] if parsed.hostname in _LOOPBACK else []))

    def __repr__(self) -> str:
        return f"JsonHttp({self.base_url!r})"

    def request(self, method: str, path: str, payload: Any = None, *, jitter: random.Random | None = None,
                abort: threading.Event | None = None, hint: str = "") -> Any:
        """``payload`` (JSON; none for a GET) sent to ``base_url + path``; the decoded JSON answer.

        Args:
            jitter: the source of the backoff jitter (seed it for reproducible delays).
            abort: checked before every attempt: once set, the request fails as cancelled.
            hint: appended to the message when the retries are exhausted.
        """
        url = self.base_url + path
        where = self.name or url
        body = None if payload is None else json.dumps(payload, allow_nan=False).encode()
        headers = self.headers if body is None else {**self.headers, "Content-Type": "application/json"}
        last = ""
        for attempt in range(self.max_retries + 1):
            if abort is not None and abort.is_set():
                raise ModelError(f"{where}: cancelled")
            try:
                raw = self._once(urllib.request.Request(url, data=body, headers=headers, method=method), where)
            except _Retry as e:
                last = str(e)
                if attempt < self.max_retries:
                    delay = e.after_s if e.after_s is not None and self.retry_after else self.backoff_s * 2 ** attempt
                    self._sleep(min(delay, self.max_delay_s) * (0.5 + (jitter or random).random()))
                continue
            try:
                return json.loads(raw)
            except (ValueError, RecursionError):
                raise ModelError(f"{where}: unexpected answer: not JSON: {excerpt(raw)}") from None
        tries = self.max_retries + 1
        raise ModelError(f"{where}: no answer after {tries} tr{'y' if tries == 1 else 'ies'} (last: {last}){hint}")

    def _once(self, request: urllib.request.Request, where: str) -> bytes:
        try:
            with self._opener.open(request, timeout=self.timeout_s) as answer:
                return answer.read()
        except urllib.error.HTTPError as e:
            try:
                body = e.read() if e.fp is not None else b""
            except Exception:  # noqa: BLE001 - the body is a courtesy
                body = b""
            detail = _error_detail(body, e.reason)
            if e.code in self.retry_statuses:
                after = e.headers.get("Retry-After") if e.headers else None
                raise _Retry(f"HTTP {e.code}: {detail}", float(after) if after and after.isdigit() else None) from None
            raise ModelError(f"{where}: the server refused the request (HTTP {e.code}): {detail}") from None
        except urllib.error.URLError as e:
            raise _Retry(f"cannot connect: {e.reason}") from None
        except TimeoutError:
            raise _Retry(f"no answer within {self.timeout_s:g} s") from None
        except (ConnectionError, http.client.HTTPException, OSError) as e:
            raise _Retry(f"connection failed: {type(e).__name__}: {e}") from None


class RewardClient:
    """Calls a ``wrl serve-rm`` server's native ``/score`` route, with retries and answers checked.

    Args:
        url: the server (``http://127.0.0.1:8008``).
        token: its bearer token, if it was started with one.
        timeout_s: per HTTP request.
        max_retries: further attempts after a connection error, a timeout, a 429 or a 5xx (``Retry-After``
            honoured), with exponential backoff from ``backoff_s``: see :class:`JsonHttp`.
        max_request_pairs: items are sent in requests of at most this many pairs (one item is never split).

    Raises (from every method):
        ModelError: naming the server: it refused the request (4xx, with its reason), answered
            something that is not a valid answer to it, or did not answer after the retries.
    """

    def __init__(self, url: str = DEFAULT_URL, token: str | None = None, timeout_s: float = 30.0,
                 max_retries: int = 3, *, backoff_s: float = 0.5, max_request_pairs: int = 1024) -> None:
        if max_request_pairs < 1:
            raise ValueError("max_request_pairs must be >= 1")
        self.http = JsonHttp(url, token=token, timeout_s=timeout_s, max_retries=max_retries, backoff_s=backoff_s)
        self.url, self.max_request_pairs = self.http.base_url, max_request_pairs

    def __repr__(self) -> str:
        return f"RewardClient({self.url!r})"

    # --- routes -------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The server's ``/health`` answer (model, settings, queue); raises unless its status is ok."""
        answer = self.http.request("GET", "/health")
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
        answer = self.http.request("POST", "/score", {"items": [{"id": i, "response": resp, "requirements": reqs}
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
