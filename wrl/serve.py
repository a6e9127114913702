"""``wrl serve-rm``: the requirement-level reward model over HTTP, with dynamic batching across requests.

One :class:`RewardModel` is kept in memory. Every request's (requirement, response) pairs go on one
bounded queue; a single batcher thread takes up to ``max_batch_pairs`` of them, scores them with one
:meth:`RewardModel.score_pairs` call and hands each request its own slice. So 16 clients sending one
pair each cost one batched forward pass, not 16. A batch goes as soon as it is full, or holds every
request known to be active (those the previous batch answered plus those waiting), or has waited
``max_wait_ms`` (or 5% of the previous batch's scoring time, if longer) from the oldest arrival or
the previous batch's end.

Routes (JSON in, JSON out; every error is ``{"error": reason}`` with its status):

- ``GET /health``: ``{"status": "ok", "model", "settings", "queue", "stats"}``.
- ``POST /score`` (native): ``{"items": [{"id"?, "response", "requirements": [str, ...]}]}`` ->
  ``{"results": [{"id", "requirements": [p, ...], "score"}], "settings"}``.
- ``POST /predict`` (the paper's server, so its verl fork calls us unchanged): ``{"question":
  requirement, "answer": response}`` -> ``{"value": p, "pred": 0|1}``; a list of such objects -> a list.
- ``POST /get_reward`` (OpenRLHF's remote reward model): ``{"query": [str], "prompts": [str],
  "labels": [...]}`` -> ``{"rewards", "scores", "extra_logs"}``. The response of ``query[i]`` is
  ``query[i]`` without its prefix ``prompts[i]`` (when it starts with it); the requirements are
  ``labels[i]``: a list of strings or the JSON text of one. No requirements is a 400, never a reward.

Statuses: 400 malformed request (bad JSON, wrong types, a missing field; an empty response string
is scored), 401 missing or wrong bearer token, 404 unknown route, 411 no Content-Length, 413 body
over ``max_request_bytes`` (or more pairs than the queue holds), 500 the model failed on this
request's pairs (other requests of the batch are scored alone and answered), 503 queue full
(``Retry-After``) or shutting down, 504 not scored within ``request_timeout_s`` (its pairs leave the
queue if not yet started).
"""

from __future__ import annotations

import hmac
import json
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wrl.errors import InvalidConfigError, WrlError
from wrl.reward_model import aggregate

log = logging.getLogger("wrl.serve")

#: A batch waits for stragglers at most this fraction of the previous batch's scoring time (or max_wait_ms).
WAIT_FRACTION = 0.05
ROUTES = ("GET /health", "POST /score", "POST /predict", "POST /get_reward")


@dataclass(frozen=True)
class ServerSettings:
    """How the server listens, admits and batches requests.

    Attributes:
        host: address to bind (127.0.0.1: this machine only; 0.0.0.0 exposes it, set a token).
        port: TCP port (0: any free port; the URL printed says which).
        token: if set, every route needs ``Authorization: Bearer <token>``.
        max_request_bytes: larger request bodies get 413 without being read.
        request_timeout_s: a request not scored in this time gets 504 (socket reads time out too).
        max_batch_pairs: pairs per batcher call (a larger request is scored alone).
        max_wait_ms: how long a batch waits for more requests (from the oldest arrival, or the previous
            batch's end if later).
        max_queue_pairs: pairs waiting at most; beyond it requests get 503 with ``Retry-After``.
    """

    host: str = "127.0.0.1"
    port: int = 8008
    token: str | None = None
    max_request_bytes: int = 8 << 20
    request_timeout_s: float = 60.0
    max_batch_pairs: int = 64
    max_wait_ms: float = 5.0
    max_queue_pairs: int = 8192

    def __post_init__(self) -> None:
        for name in ("max_request_bytes", "max_batch_pairs", "max_queue_pairs"):
            if getattr(self, name) < 1:
                raise InvalidConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.request_timeout_s <= 0:
            raise InvalidConfigError(f"request_timeout_s must be positive, got {self.request_timeout_s}")
        if self.max_wait_ms < 0:
            raise InvalidConfigError(f"max_wait_ms must be at least 0, got {self.max_wait_ms}")
        if not 0 <= self.port <= 65535:
            raise InvalidConfigError(f"port must be in 0..65535, got {self.port}")


class RequestError(Exception):
    """A request answered with an error status: ``{"error": reason}``."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, headers or {}


# --- the batcher ----------------------------------------------------------------------------------

_QUEUED, _STARTED, _CANCELLED = "queued", "started", "cancelled"


class _Job:
    """One request's pairs on the queue, and its answer once scored."""

    __slots__ = ("requirements", "responses", "n", "enqueued", "state", "done", "result", "error")

    def __init__(self, requirements: Sequence[str], responses: Sequence[str]) -> None:
        self.requirements, self.responses, self.n = requirements, responses, len(requirements)
        self.enqueued = time.monotonic()
        self.state = _QUEUED
        self.done = threading.Event()
        self.result: list[float] | None = None
        self.error: BaseException | None = None


@dataclass
class BatchStats:
    """Counters since start (``/health`` shows them)."""

    requests: int = 0
    pairs: int = 0
    batches: int = 0
    largest_batch: int = 0
    failed_batches: int = 0
    timeouts: int = 0
    rejected_full: int = 0
    batch_sizes: deque = field(default_factory=lambda: deque(maxlen=256))  # the last batches' pair counts

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "pairs": self.pairs, "batches": self.batches,
                "largest_batch": self.largest_batch, "failed_batches": self.failed_batches,
                "timeouts": self.timeouts, "rejected_full": self.rejected_full,
                "mean_batch_pairs": round(self.pairs / self.batches, 3) if self.batches else 0.0,
                "recent_batch_pairs": list(self.batch_sizes)[-32:]}


class Batcher:
    """Dynamic batching across threads: :meth:`submit` from any thread, one thread calls ``score_pairs``.

    Args:
        score_pairs: ``(requirements, responses) -> sequence of floats`` (``RewardModel.score_pairs``).
        max_batch_pairs: pairs per call; whole requests are batched, a larger one goes alone.
        max_wait_ms: how long a batch waits for more requests (see :meth:`_deadline`); 0: never waits.
        max_queue_pairs: the queue's bound in pairs.
    """

    def __init__(self, score_pairs: Callable[[Sequence[str], Sequence[str]], Sequence[float]], *,
                 max_batch_pairs: int = 64, max_wait_ms: float = 5.0, max_queue_pairs: int = 8192) -> None:
        self.score_pairs = score_pairs
        self.max_batch_pairs, self.max_wait_s, self.max_queue_pairs = max_batch_pairs, max_wait_ms / 1000, \
            max_queue_pairs
        self.stats = BatchStats()
        self._queue: deque[_Job] = deque()
        self._queued_pairs = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._last_end = 0.0  # when the last batch was answered
        self._last_seconds = 0.0  # how long it took
        self._expect = 0  # requests known to be active (0: not known yet)
        self._thread: threading.Thread | None = None

    @property
    def queued_pairs(self) -> int:
        return self._queued_pairs

    def start(self) -> Batcher:
        self._thread = threading.Thread(target=self._loop, name="wrl-batcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the batch being scored; the requests still queued get 503."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def submit(self, requirements: Sequence[str], responses: Sequence[str], timeout_s: float) -> list[float]:
        """Queue the pairs, wait for their scores (in order).

        Raises:
            RequestError: 413 more pairs than the queue can hold, 503 queue full or stopping, 504 timeout,
                400 the model cannot take this input, 500 the model failed.
        """
        job = _Job(requirements, responses)
        if job.n == 0:
            return []
        with self._cond:
            if self._stopping:
                raise RequestError(503, "the server is shutting down")
            if job.n > self.max_queue_pairs:
                raise RequestError(413, f"{job.n} pairs in one request; this server takes at most "
                                        f"{self.max_queue_pairs} (split the request)")
            if self._queued_pairs + job.n > self.max_queue_pairs:
                self.stats.rejected_full += 1
                raise RequestError(503, f"the queue is full ({self._queued_pairs} pairs waiting); retry later",
                                   {"Retry-After": "1"})
            self._queue.append(job)
            self._queued_pairs += job.n
            self.stats.requests += 1
            self._cond.notify_all()
        if not job.done.wait(timeout_s):
            with self._cond:
                if not job.done.is_set():
                    was = job.state
                    if job.state == _QUEUED:
                        self._queue.remove(job)
                        self._queued_pairs -= job.n
                        job.state = _CANCELLED
                    self.stats.timeouts += 1
                    raise RequestError(504, f"not scored within {timeout_s:g} s ({job.n} pairs; "
                                            f"{'dropped from the queue' if was == _QUEUED else 'still being scored'})")
        if job.error is not None:
            if isinstance(job.error, RequestError):
                raise job.error
            if isinstance(job.error, WrlError):
                raise RequestError(400, f"cannot score this input: {job.error}")
            raise RequestError(500, f"the reward model failed: {type(job.error).__name__}: {job.error}")
        assert job.result is not None
        return job.result

    def _take(self) -> list[_Job] | None:
        """The next batch (whole requests, up to max_batch_pairs), or None when stopping."""
        with self._cond:
            while True:
                if self._stopping:
                    for job in self._queue:
                        job.error = RequestError(503, "the server is shutting down")
                        job.done.set()
                    self._queue.clear()
                    self._queued_pairs = 0
                    return None
                if self._queue:
                    full = self._queued_pairs >= self.max_batch_pairs
                    if full or (self._expect and len(self._queue) >= self._expect):
                        break
                    wait = self._deadline() - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            batch, n = [], 0
            while self._queue and (not batch or n + self._queue[0].n <= self.max_batch_pairs):
                job = self._queue.popleft()
                self._queued_pairs -= job.n
                job.state = _STARTED
                batch.append(job)
                n += job.n
            return batch

    def _deadline(self) -> float:
        """When the batch being gathered is scored even if fewer requests than expected have come.

        The wait counts from the oldest queued request's arrival or the end of the previous batch,
        whichever is later (the clients just answered get their chance to send the next request), and
        lasts ``max_wait_ms``, or 5% of the previous batch's scoring time if that is longer (on a CPU, where
        a batch takes a second, waiting 50 ms for the stragglers costs 5% and can double the batch).
        """
        patience = max(self.max_wait_s, WAIT_FRACTION * self._last_seconds) if self.max_wait_s else 0.0
        return max(self._queue[0].enqueued, self._last_end) + patience

    def _loop(self) -> None:
        while (batch := self._take()) is not None:
            started = time.monotonic()
            self._run(batch)
            with self._cond:
                # The requests we know are active: those just answered (they come back, if their clients
                # are closed loops) and those already waiting. A batch holding them all goes at once.
                self._expect = len(batch) + len(self._queue)
                self._last_end = time.monotonic()
                self._last_seconds = self._last_end - started
            for job in batch:
                job.done.set()

    def _run(self, batch: list[_Job]) -> None:
        """Score a batch; a failure is retried request by request, so it is reported to its own request alone."""
        try:
            self._score(batch)
        except Exception as e:  # noqa: BLE001 - reported to the requests of this batch alone
            self.stats.failed_batches += 1
            if len(batch) == 1:
                batch[0].error = e
            else:  # score each request alone, so one bad request does not fail the others
                log.warning("a batch of %d requests failed (%s: %s); scoring them one by one", len(batch),
                            type(e).__name__, e)
                for job in batch:
                    try:
                        self._score([job])
                    except Exception as e1:  # noqa: BLE001
                        job.error = e1

    def _score(self, batch: list[_Job]) -> None:
        requirements = [r for job in batch for r in job.requirements]
        responses = [r for job in batch for r in job.responses]
        scores = [float(s) for s in self.score_pairs(requirements, responses)]
        if len(scores) != len(requirements):
            raise RuntimeError(f"score_pairs returned {len(scores)} scores for {len(requirements)} pairs")
        at = 0
        for job in batch:
            job.result = scores[at:at + job.n]
            at += job.n
        self.stats.pairs += len(scores)
        self.stats.batches += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(scores))
        self.stats.batch_sizes.append(len(scores))


# --- request validation ---------------------------------------------------------------------------


def _bad(reason: str) -> RequestError:
    return RequestError(400, reason)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"{where} must be a string, got {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _requirement_list(value: Any, where: str, *, json_text: bool = False) -> list[str]:
    """A non-empty list of requirement strings (or, with ``json_text``, the JSON text of one)."""
    if json_text and isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise _bad(f"{where} must be a list of requirement strings or the JSON text of one; got a string that "
                       "is not JSON") from None
    if not isinstance(value, list):
        raise _bad(f"{where} must be a list of requirement strings, got {_json_type(value)}")
    if not value:
        raise _bad(f"{where} is empty: a response needs at least one requirement to be scored")
    for j, r in enumerate(value):
        _text(r, f"{where}[{j}]")
    return value


def _field(obj: dict, name: str, where: str) -> Any:
    if name not in obj:
        raise _bad(f"{where}: missing field {name!r}")
    return obj[name]


def _object(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise _bad(f"{where} must be a JSON object, got {_json_type(value)}")
    return value


# --- the application ------------------------------------------------------------------------------


class RewardServer:
    """The routes over a :class:`RewardModel` and a :class:`Batcher`; :meth:`start` serves them over HTTP.

    Example:
        >>> server = RewardServer(RewardModel.load("models/reward_model"), ServerSettings(port=0))  # doctest: +SKIP
        >>> server.start(); print(server.url); ...; server.close()                                # doctest: +SKIP
    """

    def __init__(self, rm: Any, settings: ServerSettings | None = None) -> None:
        self.rm = rm
        self.settings = settings or ServerSettings()
        s = self.settings
        self.batcher = Batcher(rm.score_pairs, max_batch_pairs=s.max_batch_pairs, max_wait_ms=s.max_wait_ms,
                               max_queue_pairs=s.max_queue_pairs)
        self.described = rm.describe()
        self.httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.disconnects = 0

    # routes ---------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "model": self.described.get("model", ""), "settings": self.described,
                "queue": self.batcher.queued_pairs, "stats": {**self.batcher.stats.as_dict(),
                                                              "client_disconnects": self.disconnects}}

    def _scores(self, requirements: list[str], responses: list[str]) -> list[float]:
        return self.batcher.submit(requirements, responses, self.settings.request_timeout_s)

    def score(self, body: Any) -> dict[str, Any]:
        items = _field(_object(body, "the request"), "items", "the request")
        if not isinstance(items, list):
            raise _bad(f"'items' must be an array, got {_json_type(items)}")
        reqs, resps, counts = [], [], []
        for i, item in enumerate(items):
            item = _object(item, f"items[{i}]")
            response = _text(_field(item, "response", f"items[{i}]"), f"items[{i}].response")
            requirements = _requirement_list(_field(item, "requirements", f"items[{i}]"), f"items[{i}].requirements")
            reqs += requirements
            resps += [response] * len(requirements)
            counts.append(len(requirements))
        flat, at, results = self._scores(reqs, resps), 0, []
        for item, n in zip(items, counts, strict=True):
            mine = flat[at:at + n]
            at += n
            results.append({"id": item.get("id"), "requirements": mine, "score": aggregate(mine, self.rm.aggregate)})
        return {"results": results, "settings": self.described}

    def predict(self, body: Any) -> dict[str, Any] | list[dict[str, Any]]:
        single = not isinstance(body, list)
        objs = [body] if single else body
        reqs, resps = [], []
        for i, obj in enumerate(objs):
            where = "the request" if single else f"item {i}"
            obj = _object(obj, where)
            reqs.append(_text(_field(obj, "question", where), f"{where}: 'question' (the requirement)"))
            resps.append(_text(_field(obj, "answer", where), f"{where}: 'answer' (the response)"))
        out = [{"value": p, "pred": int(p >= 0.5)} for p in self._scores(reqs, resps)]
        return out[0] if single else out

    def get_reward(self, body: Any) -> dict[str, Any]:
        body = _object(body, "the request")
        queries = _field(body, "query", "the request")
        if not isinstance(queries, list):
            raise _bad(f"'query' must be an array of strings, got {_json_type(queries)}")
        prompts = body.get("prompts")
        if prompts is not None and (not isinstance(prompts, list) or len(prompts) != len(queries)):
            raise _bad(f"'prompts' must be an array of {len(queries)} strings (one per query)")
        labels = _field(body, "labels", "the request")
        if not isinstance(labels, list) or len(labels) != len(queries):
            raise _bad(f"'labels' must be an array of {len(queries)} requirement lists (one per query), got "
                       f"{_json_type(labels) if not isinstance(labels, list) else f'{len(labels)} entries'}")
        reqs, resps, counts = [], [], []
        for i, query in enumerate(queries):
            query = _text(query, f"query[{i}]")
            if prompts is not None:
                prompt = _text(prompts[i], f"prompts[{i}]")
                if prompt and query.startswith(prompt):
                    query = query[len(prompt):]
            requirements = _requirement_list(labels[i], f"labels[{i}]", json_text=True)
            reqs += requirements
            resps += [query] * len(requirements)
            counts.append(len(requirements))
        flat, at, per = self._scores(reqs, resps), 0, []
        for n in counts:
            per.append(flat[at:at + n])
            at += n
        rewards = [aggregate(p, self.rm.aggregate) for p in per]
        return {"rewards": rewards, "scores": rewards,
                "extra_logs": {"rm_min_requirement_score": [min(p) for p in per],
                               "rm_n_requirements": [float(len(p)) for p in per]}}

    # HTTP -----------------------------------------------------------------------------------------

    def bind(self) -> RewardServer:
        """Create the listening socket (raises InvalidConfigError if the address cannot be used)."""
        # Socket reads time out too (a client that stops sending holds a thread at most this long).
        handler = type("Handler", (_Handler,), {"app": self, "timeout": max(30.0, self.settings.request_timeout_s)})
        try:
            self.httpd = _HTTPServer((self.settings.host, self.settings.port), handler)
        except OSError as e:
            raise InvalidConfigError(f"cannot listen on {self.settings.host}:{self.settings.port}: "
                                     f"{e.strerror or e}") from None
        return self

    @property
    def url(self) -> str:
        assert self.httpd is not None, "bind() first"
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> RewardServer:
        """Bind (if not yet), start the batcher and serve in a background thread."""
        if self.httpd is None:
            self.bind()
        self.batcher.start()
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="wrl-http", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, finish the batch in flight, answer the queued requests 503, close the socket."""
        if self.httpd is not None:
            if self._thread is not None:
                self.httpd.shutdown()
                self._thread.join()
            self.batcher.stop()
            self.httpd.server_close()
            self.httpd = None

    def serve_until_signalled(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve until SIGINT or SIGTERM, then shut down gracefully (main thread only)."""
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            if on_ready is not None:
                on_ready(self.url)
            while not stop.wait(0.5):
                pass
        finally:
            self.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # 64 clients connecting at once must not be refused


class _Handler(BaseHTTPRequestHandler):
    app: RewardServer
    server_version = "wrl-serve-rm"
    protocol_version = "HTTP/1.1"  # keep-alive: a client's requests share one connection
    # Headers and body are two writes: without TCP_NODELAY, Nagle's algorithm holds the body until the client's
    # delayed ACK (40 ms on Linux) on every answer.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        try:
            body = json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()
        except ValueError as e:  # a NaN or infinite score
            status, body = 500, json.dumps({"error": f"the reward model gave a non-finite score: {e}"}).encode()
        if status >= 400:
            log.info("%s %s -> %d %s", self.command, self.path, status, obj.get("error", "") if isinstance(obj, dict)
                     else "")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError) as e:
            self.app.disconnects += 1
            self.close_connection = True
            log.warning("%s %s: the client went away before its answer was written (%s)", self.command, self.path,
                        type(e).__name__)

    def _error(self, e: RequestError) -> None:
        self._send(e.status, {"error": e.reason}, e.headers)

    def _authorized(self) -> bool:
        token = self.app.settings.token
        if not token:
            return True
        given = self.headers.get("Authorization", "")
        if given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
            return True
        self.close_connection = True
        self._send(401, {"error": "missing or wrong bearer token (send 'Authorization: Bearer <token>')"},
                   {"WWW-Authenticate": "Bearer"})
        return False

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        if not self._authorized():
            return
        if self.path.split("?")[0].rstrip("/") == "/health":
            self._send(200, self.app.health())
        else:
            self._send(404, {"error": f"no route GET {self.path} (routes: {', '.join(ROUTES)})"})

    def _body(self) -> Any:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked" or length is None:
            self.close_connection = True
            raise RequestError(411, "send the body with a Content-Length header")
        try:
            n = int(length)
        except ValueError:
            self.close_connection = True
            raise _bad(f"Content-Length is not a number: {length!r}") from None
        limit = self.app.settings.max_request_bytes
        if n > limit:
            self.close_connection = True  # the body is not read: the connection cannot be reused
            raise RequestError(413, f"request body of {n:,} bytes is over the limit of {limit:,} bytes")
        raw = self.rfile.read(n)
        if len(raw) < n:
            self.close_connection = True
            raise ConnectionResetError("the client closed the connection before sending its whole body")
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as e:
            raise _bad(f"the body is not valid JSON: {e}") from None

    def do_POST(self) -> None:  # noqa: N802 - the base class's name
        if not self._authorized():
            return
        route = {"/score": self.app.score, "/predict": self.app.predict,
                 "/get_reward": self.app.get_reward}.get(self.path.split("?")[0].rstrip("/"))
        try:
            if route is None:
                self.close_connection = True
                raise RequestError(404, f"no route POST {self.path} (routes: {', '.join(ROUTES)})")
            body = self._body()
            self._send(200, route(body))
        except RequestError as e:
            self._error(e)
        except (ConnectionResetError, BrokenPipeError, TimeoutError) as e:
            self.app.disconnects += 1
            self.close_connection = True
            log.warning("POST %s: the client went away mid-request (%s)", self.path, e)
        except Exception as e:  # noqa: BLE001 - one request's bug must not stop the server
            log.exception("POST %s failed", self.path)
            self._send(500, {"error": f"internal error: {type(e).__name__}: {e}"})
