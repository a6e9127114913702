"""``wrl serve-rm``: every route against the tiny reward model, the error statuses, dynamic batching across
requests, disconnects, a 64-client load test in a subprocess, and the client / verl ``compute_score``."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from wrl.errors import ModelError
from wrl.reward_model import RewardModel
from wrl.rm_client import JsonHttp, RewardClient
from wrl.serve import RewardServer, ServerSettings

REPO = Path(__file__).resolve().parents[1]
WORDS = ("write a poem story essay letter about rain sun city river tree bird friend home school hello world "
         "answer yes no in all lowercase capital letters comma title quote tone humorous formal for children").split()


def texts(n: int, salt: int = 0) -> list[str]:
    """``n`` distinct responses of varying length made of the tiny tokenizer's words."""
    return [" ".join(WORDS[(i * 7 + k * 13 + salt) % len(WORDS)] for k in range(3 + (i + salt) % 11)) + f" {i % 10}"
            for i in range(n)]


def call(url: str, method: str, path: str, body: object = None, *, raw: bytes | None = None,
         headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, object, dict[str, str]]:
    """One request; returns (status, decoded JSON body, headers)."""
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        answer = conn.getresponse()
        payload = answer.read()
        return answer.status, json.loads(payload) if payload else None, dict(answer.getheaders())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def rm(tiny_reward_model: Path) -> RewardModel:
    return RewardModel.load(tiny_reward_model, device="cpu", batch_size=8)


@pytest.fixture(scope="module")
def server(rm: RewardModel) -> Iterator[RewardServer]:
    srv = RewardServer(rm, ServerSettings(port=0, max_wait_ms=20, max_batch_pairs=64)).start()
    yield srv
    srv.close()


def start(rm: object, **settings: object) -> RewardServer:
    return RewardServer(rm, ServerSettings(port=0, **settings)).start()


class Wrapped:
    """A reward model whose ``score_pairs`` can be slowed down or made to fail on some responses."""

    def __init__(self, rm: RewardModel, *, delay_s: float = 0.0, fail_on: str | None = None) -> None:
        self.rm, self.delay_s, self.fail_on = rm, delay_s, fail_on
        self.aggregate = rm.aggregate
        self.calls: list[int] = []

    def describe(self) -> dict:
        return self.rm.describe()

    def score_pairs(self, requirements, responses):
        self.calls.append(len(requirements))
        time.sleep(self.delay_s)
        if self.fail_on is not None and any(self.fail_on in r for r in responses):
            raise RuntimeError(f"cannot score {self.fail_on!r}")
        return self.rm.score_pairs(requirements, responses)


# --- routes ---------------------------------------------------------------------------------------


def test_health(server: RewardServer, rm: RewardModel) -> None:
    status, body, _ = call(server.url, "GET", "/health")
    assert status == 200 and body["status"] == "ok"
    assert body["settings"] == rm.describe() and body["model"] == rm.name
    assert body["queue"] == 0 and "batches" in body["stats"]


def test_score_equals_reward_model_score(server: RewardServer, rm: RewardModel) -> None:
    responses = texts(12)
    reqs = [["use all lowercase letters", "write about rain", "end with hello world"][: 1 + i % 3] for i in range(12)]
    items = [{"id": {"n": i}, "response": r, "requirements": q}
             for i, (r, q) in enumerate(zip(responses, reqs, strict=True))]
    status, body, _ = call(server.url, "POST", "/score", {"items": items})
    assert status == 200, body
    expected = rm.score(responses, reqs)
    assert [r["id"] for r in body["results"]] == [{"n": i} for i in range(12)]
    for got, want in zip(body["results"], expected, strict=True):
        assert got["requirements"] == pytest.approx(want.requirements, abs=1e-6)
        assert got["score"] == pytest.approx(want.score, abs=1e-6)
    assert body["settings"] == rm.describe()
    # an empty response is scored; no items is an empty answer
    status, body, _ = call(server.url, "POST", "/score", {"items": [{"response": "", "requirements": ["a title"]}]})
    assert status == 200 and body["results"][0]["id"] is None and 0 <= body["results"][0]["score"] <= 1
    assert call(server.url, "POST", "/score", {"items": []})[:2] == (200, {"results": [], "settings": rm.describe()})


def test_predict_single_and_list(server: RewardServer, rm: RewardModel) -> None:
    req, resp = "use all lowercase letters", texts(1)[0]
    p = float(rm.score_pairs([req], [resp])[0])
    status, body, _ = call(server.url, "POST", "/predict", {"question": req, "answer": resp})
    assert status == 200 and body["value"] == pytest.approx(p, abs=1e-6) and body["pred"] == int(p >= 0.5)
    status, body, _ = call(server.url, "POST", "/predict", [{"question": req, "answer": r} for r in texts(3)])
    want = rm.score_pairs([req] * 3, texts(3))
    assert status == 200 and [b["value"] for b in body] == pytest.approx(list(want), abs=1e-6)
    assert [b["pred"] for b in body] == [int(w >= 0.5) for w in want]


def test_get_reward_openrlhf_shape(server: RewardServer, rm: RewardModel) -> None:
    prompts = ["<|user|> write a poem about rain <|assistant|> ", "<|user|> a letter <|assistant|> "]
    responses = texts(2, salt=3)
    labels = [["use all lowercase letters", "write about rain"], json.dumps(["end with hello world"])]
    status, body, _ = call(server.url, "POST", "/get_reward",
                           {"query": [p + r for p, r in zip(prompts, responses, strict=True)], "prompts": prompts,
                            "labels": labels})
    assert status == 200, body
    want = rm.score(responses, [labels[0], json.loads(labels[1])])
    assert body["rewards"] == pytest.approx([w.score for w in want], abs=1e-6) and body["scores"] == body["rewards"]
    assert body["extra_logs"]["rm_n_requirements"] == [2.0, 1.0]
    assert body["extra_logs"]["rm_min_requirement_score"] == pytest.approx([min(w.requirements) for w in want],
                                                                           abs=1e-6)


@pytest.mark.parametrize(("path", "raw", "needle"), [
    ("/score", b"{not json", "not valid JSON"),
    ("/score", b"[]", "must be a JSON object"),
    ("/score", b'{"items": {}}', "'items' must be an array"),
    ("/score", b'{"items": [{"requirements": ["a"]}]}', "missing field 'response'"),
    ("/score", b'{"items": [{"response": "x"}]}', "missing field 'requirements'"),
    ("/score", b'{"items": [{"response": 3, "requirements": ["a"]}]}', "items[0].response must be a string"),
    ("/score", b'{"items": [{"response": "x", "requirements": "a"}]}', "must be a list"),
    ("/score", b'{"items": [{"response": "x", "requirements": []}]}', "is empty"),
    ("/score", b'{"items": [{"response": "x", "requirements": ["a", 1]}]}', "requirements[1] must be a string"),
    ("/predict", b'{"question": "a"}', "missing field 'answer'"),
    ("/predict", b'[{"question": "a", "answer": null}]', "must be a string"),
    ("/get_reward", b'{"query": ["x"], "prompts": [""]}', "missing field 'labels'"),
    ("/get_reward", b'{"query": ["x"], "prompts": [""], "labels": [[]]}', "is empty"),
    ("/get_reward", b'{"query": ["x"], "prompts": [""], "labels": ["not json"]}', "not JSON"),
    ("/get_reward", b'{"query": ["x", "y"], "prompts": ["", ""], "labels": [["a"]]}', "one per query"),
    ("/get_reward", b'{"query": "x", "labels": [["a"]]}', "'query' must be an array"),
])
def test_malformed_requests_are_400_and_the_server_keeps_serving(server: RewardServer, path: str, raw: bytes,
                                                                 needle: str) -> None:
    status, body, _ = call(server.url, "POST", path, raw=raw)
    assert status == 400 and needle in body["error"], body
    assert call(server.url, "GET", "/health")[0] == 200


def test_unknown_route_is_404(server: RewardServer) -> None:
    assert call(server.url, "POST", "/nope", {})[0] == 404
    assert call(server.url, "GET", "/score")[0] == 404


def test_token_required(rm: RewardModel) -> None:
    srv = start(rm, token="s3cret")
    try:
        assert call(srv.url, "GET", "/health")[0] == 401
        assert call(srv.url, "POST", "/predict", {"question": "a", "answer": "b"},
                    headers={"Authorization": "Bearer wrong"})[0] == 401
        assert call(srv.url, "GET", "/health", headers={"Authorization": "Bearer s3cret"})[0] == 200
        assert RewardClient(srv.url, token="s3cret").score([("hello world", ["a title"])])[0].score > 0
        with pytest.raises(ModelError, match="401"):
            RewardClient(srv.url).health()
    finally:
        srv.close()


def test_request_size_limit_is_413(rm: RewardModel) -> None:
    srv = start(rm, max_request_bytes=2000)
    try:
        status, body, _ = call(srv.url, "POST", "/score",
                               {"items": [{"response": "rain " * 1000, "requirements": ["a title"]}]})
        assert status == 413 and "over the limit" in body["error"]
        assert call(srv.url, "POST", "/predict", {"question": "a", "answer": "b"})[0] == 200
    finally:
        srv.close()


def test_timeout_is_504_and_queued_pairs_are_dropped(rm: RewardModel) -> None:
    slow = Wrapped(rm, delay_s=1.0)
    srv = start(slow, request_timeout_s=0.3, max_wait_ms=0, max_batch_pairs=2)
    try:
        answers: list[int] = []
        threads = [threading.Thread(target=lambda: answers.append(
            call(srv.url, "POST", "/predict", [{"question": "a", "answer": "b"}] * 2)[0])) for _ in range(3)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join()
        assert answers == [504, 504, 504]
        time.sleep(1.2)
        assert srv.batcher.queued_pairs == 0
        assert len(slow.calls) < 3, "requests that timed out in the queue must not be scored"
        assert srv.batcher.stats.timeouts == 3
    finally:
        srv.close()


def test_full_queue_is_503_with_retry_after(rm: RewardModel) -> None:
    slow = Wrapped(rm, delay_s=0.6)
    srv = start(slow, max_queue_pairs=4, max_wait_ms=0, max_batch_pairs=3)
    try:
        results: dict[int, tuple] = {}

        def one(k: int) -> None:
            results[k] = call(srv.url, "POST", "/predict", [{"question": "a", "answer": "b"}] * 3)

        first = threading.Thread(target=one, args=(0,))
        first.start()
        time.sleep(0.2)  # the first is being scored
        second = threading.Thread(target=one, args=(1,))
        second.start()
        time.sleep(0.1)  # the second waits in the queue (3 of 4 pairs)
        one(2)
        first.join()
        second.join()
        assert results[0][0] == 200 and results[1][0] == 200
        assert results[2][0] == 503 and results[2][2].get("Retry-After") == "1"
        status, body, _ = call(srv.url, "POST", "/predict", [{"question": "a", "answer": "b"}] * 5)
        assert status == 413 and "at most 4" in body["error"]
    finally:
        srv.close()


def test_model_error_fails_only_its_own_request(rm: RewardModel) -> None:
    flaky = Wrapped(rm, fail_on="BOOM")
    srv = start(flaky, max_wait_ms=300)
    try:
        good = texts(4)
        results: dict[str, tuple] = {}
        jobs = {f"good{i}": {"question": "a title", "answer": t} for i, t in enumerate(good)}
        jobs["bad"] = {"question": "a title", "answer": "BOOM"}
        threads = [threading.Thread(target=lambda k=k, b=b: results.__setitem__(k, call(srv.url, "POST", "/predict",
                                                                                        b))) for k, b in jobs.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results["bad"][0] == 500 and "BOOM" in results["bad"][1]["error"]
        want = rm.score_pairs(["a title"] * 4, good)
        for i in range(4):
            assert results[f"good{i}"][0] == 200
            assert results[f"good{i}"][1]["value"] == pytest.approx(float(want[i]), abs=1e-6)
        assert flaky.calls[0] == 5, "the five requests were one batch"
        assert call(srv.url, "GET", "/health")[0] == 200
    finally:
        srv.close()


def test_concurrent_requests_are_batched_and_a_disconnect_does_not_break_the_batch(rm: RewardModel) -> None:
    counting = Wrapped(rm)
    srv = start(counting, max_wait_ms=400, max_batch_pairs=64)
    u = urlparse(srv.url)
    try:
        # a client that sends a whole request and goes away before its answer
        gone = socket.create_connection((u.hostname, u.port))
        body = json.dumps({"items": [{"response": "bye", "requirements": ["a title", "hello world"]}]}).encode()
        gone.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        # and one that stops half-way through its body
        half = socket.create_connection((u.hostname, u.port))
        half.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"items\": [")
        half.close()
        time.sleep(0.05)
        gone.close()
        responses = texts(6, salt=5)
        results: dict[int, tuple] = {}
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, call(
            srv.url, "POST", "/score", {"items": [{"id": i, "response": responses[i],
                                                   "requirements": ["a title", "write about rain"]}]})))
            for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        want = rm.score(responses, [["a title", "write about rain"]] * 6)
        for i in range(6):
            status, body, _ = results[i]
            assert status == 200 and body["results"][0]["id"] == i
            assert body["results"][0]["requirements"] == pytest.approx(want[i].requirements, abs=1e-6)
        assert counting.calls[0] == 14, "the departed client's pairs were scored in the same batch as the others"
        assert call(srv.url, "GET", "/health")[0] == 200
    finally:
        srv.close()


# --- the client and verl's compute_score ----------------------------------------------------------


def test_client_and_compute_score(server: RewardServer, rm: RewardModel, monkeypatch: pytest.MonkeyPatch) -> None:
    from wrl import rm_client

    client = RewardClient(server.url, max_request_pairs=3)
    assert client.health()["settings"] == rm.describe()
    responses = texts(5)
    reqs = [["a title", "write about rain"]] * 5
    got = client.score([{"response": r, "requirements": q} for r, q in zip(responses, reqs, strict=True)])  # 3 calls
    want = rm.score(responses, reqs)
    assert [g.score for g in got] == pytest.approx([w.score for w in want], abs=1e-6)
    monkeypatch.setenv("WRL_RM_URL", server.url)
    assert rm_client.compute_score("wrl", responses[0], ["a title", "write about rain"]) == pytest.approx(
        want[0].score, abs=1e-6)
    assert rm_client.compute_score("wrl", responses[0], "ignored", {"requirements": json.dumps(reqs[0])}) == \
        pytest.approx(want[0].score, abs=1e-6)
    assert rm_client.compute_score("wrl", responses[0], [{"text": "a title"}, {"text": "write about rain"}]) == \
        pytest.approx(want[0].score, abs=1e-6)
    batch = rm_client.compute_score_batch(["wrl"] * 5, responses, [json.dumps(q) for q in reqs], [None] * 5)
    assert batch == pytest.approx([w.score for w in want], abs=1e-6)
    with pytest.raises(ValueError, match="no requirements"):
        rm_client.compute_score("wrl", "x", [])


def test_compute_score_raises_when_the_server_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    from wrl import rm_client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("WRL_RM_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("WRL_RM_RETRIES", "1")
    with pytest.raises(ModelError, match=rf"127.0.0.1:{port}/score: no answer after 2 tries"):
        rm_client.compute_score("wrl", "a poem", ["a title"])


def test_compute_score_imported_by_path_with_the_standard_library_alone(server: RewardServer,
                                                                        rm: RewardModel) -> None:
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('custom_module', {str(REPO / 'wrl/rm_client.py')!r})\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "assert 'wrl' not in sys.modules and 'wrl.errors' not in sys.modules\n"
            "print(m.compute_score('wrl', 'hello world', '[\"a title\"]'))\n"
            "try:\n    m.RewardClient('http://127.0.0.1:1', max_retries=0).health()\n"
            "except m.ModelError as e:\n    print('raised', type(e).__name__)\n")
    env = {"WRL_RM_URL": server.url, "PATH": os.environ.get("PATH", "")}
    proc = subprocess.run([sys.executable, "-S", "-I", "-c", code], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    value, raised = proc.stdout.splitlines()
    assert float(value) == pytest.approx(float(rm.score_pairs(["a title"], ["hello world"])[0]), abs=1e-6)
    assert raised == "raised ModelError"


class _Stub(http.server.BaseHTTPRequestHandler):
    """A misbehaving server: answers from a list, one per request."""

    answers: list[tuple[int, bytes]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, body = self.answers.pop(0) if self.answers else (500, b"{}")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if status == 503:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


@pytest.fixture()
def stub() -> Iterator[tuple[str, type[_Stub]]]:
    handler = type("Stub", (_Stub,), {"answers": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


def test_client_retries_503_then_validates_the_answer(stub: tuple[str, type[_Stub]]) -> None:
    url, handler = stub
    ok = json.dumps({"results": [{"id": 0, "requirements": [0.25, 0.75], "score": 0.5}]}).encode()
    handler.answers += [(503, b'{"error": "busy"}'), (200, ok)]
    client = RewardClient(url, backoff_s=0.01)
    assert client.score([("x", ["a", "b"])])[0].requirements == [0.25, 0.75]
    for garbage, needle in [(b"<html>", "not JSON"), (b'{"results": []}', "0 results for 1 items"),
                            (b'{"results": [{"id": 5, "requirements": [0.1, 0.2], "score": 0.1}]}', "not the answer"),
                            (b'{"results": [{"id": 0, "requirements": [0.1], "score": 0.1}]}', "2 scores"),
                            (b'{"results": [{"id": 0, "requirements": [0.1, 7], "score": 0.1}]}', "in [0, 1]"),
                            (b'{"nothing": 1}', "no 'results'")]:
        handler.answers.append((200, garbage))
        with pytest.raises(ModelError, match=re.escape(needle)) as e:
            client.score([("x", ["a", "b"])])
        assert url in str(e.value)
    handler.answers += [(500, b'{"error": "down"}')] * 3
    with pytest.raises(ModelError, match="no answer after 3 tries.*HTTP 500: down"):
        RewardClient(url, max_retries=2, backoff_s=0.01).score([("x", ["a"])])
    handler.answers.append((400, b'{"error": "bad field"}'))
    with pytest.raises(ModelError, match="refused the request \\(HTTP 400\\): bad field"):
        client.score([("x", ["a"])])



def test_json_http_backoff_is_seeded_honours_retry_after_and_stops_when_aborted(stub: tuple[str, type[_Stub]]) -> None:
    url, handler = stub
    delays: list[float] = []
    client = JsonHttp(url, max_retries=2, backoff_s=1.0, sleep=delays.append)
    for _ in range(2):
        handler.answers += [(500, b"{}"), (502, b"{}"), (200, b'{"ok": 1}')]
        assert client.request("GET", "/x", jitter=random.Random(7)) == {"ok": 1}
    assert delays[:2] == delays[2:] and 0.5 <= delays[0] < 1.5 and 1.0 <= delays[1] < 3.0  # the same seed
    delays.clear()
    handler.answers += [(503, b"{}"), (200, b"[]")]  # with Retry-After: 0
    assert client.request("POST", "/x", {"a": 1}) == [] and delays == [0.0]
    abort = threading.Event()
    abort.set()
    with pytest.raises(ModelError, match=rf"{url}/x: cancelled"):
        client.request("GET", "/x", abort=abort)

# --- the command ------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}


def test_serve_rm_missing_model_is_one_error_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "wrl.cli", "serve-rm", "--model", str(tmp_path / "none"),
                           "--port", "0"], capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {tmp_path / 'none'}: no such model directory or file"]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_load_64_clients(tiny_reward_model: Path, rm: RewardModel) -> None:
    """64 concurrent clients for WRL_LOAD_TEST_S seconds (default 60) against `wrl serve-rm` in a subprocess:
    every answer is its own request's (ids echoed, scores of its own distinct texts), no errors, and the
    server's RSS grows by less than 200 MB after warm-up."""
    duration = float(os.environ.get("WRL_LOAD_TEST_S", "60"))
    # responses whose scores are at least 1e-4 apart, so an answer given to the wrong request cannot pass
    pool, scores = [], []
    candidates = texts(600, salt=11)
    probs = rm.score_pairs(["a title"] * len(candidates), candidates)
    for text, p in sorted(zip(candidates, probs.tolist(), strict=True), key=lambda tp: tp[1]):
        if not scores or p - scores[-1] > 1e-4:
            pool.append(text)
            scores.append(p)
    assert len(pool) >= 100
    expected = dict(zip(pool, scores, strict=True))
    proc = subprocess.Popen([sys.executable, "-m", "wrl.cli", "serve-rm", "--model", str(tiny_reward_model),
                             "--port", "0", "--device", "cpu", "--max-wait-ms", "5", "--batch-size", "32"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"the server exited: {proc.stderr.read()}")
            if m := re.search(r" at (http://\S+)$", line.strip()):
                url = m.group(1)
        assert url is not None
        u = urlparse(url)
        errors: list[str] = []
        counts = [0] * 64
        stop_at = [0.0]
        warm = threading.Barrier(65)

        def client(k: int) -> None:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            seq = 0
            try:
                warm.wait()
                while time.monotonic() < stop_at[0]:
                    n = 1 + (k + seq) % 3
                    picks = [pool[(k * 31 + seq * 7 + j) % len(pool)] for j in range(n)]
                    items = [{"id": [k, seq, j], "response": t, "requirements": ["a title"]}
                             for j, t in enumerate(picks)]
                    conn.request("POST", "/score", json.dumps({"items": items}),
                                 {"Content-Type": "application/json"})
                    answer = conn.getresponse()
                    body = json.loads(answer.read())
                    if answer.status != 200:
                        errors.append(f"client {k}: HTTP {answer.status}: {body}")
                        return
                    for j, (t, r) in enumerate(zip(picks, body["results"], strict=True)):
                        if r["id"] != [k, seq, j] or abs(r["requirements"][0] - expected[t]) > 1e-6:
                            errors.append(f"client {k} request {seq} item {j}: got {r}, want {expected[t]}")
                            return
                    seq += 1
                    counts[k] += 1
            except Exception as e:  # noqa: BLE001 - recorded, the test fails on it
                errors.append(f"client {k}: {type(e).__name__}: {e}")
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(64)]
        for t in threads:
            t.start()
        warmup = min(5.0, duration / 4)
        stop_at[0] = time.monotonic() + duration
        warm.wait()
        time.sleep(warmup)
        rss_start = _rss_kib(proc.pid)
        for t in threads:
            t.join()
        rss_end = _rss_kib(proc.pid)
        assert not errors, errors[:5]
        assert min(counts) > 0, "every client was answered"
        growth_mb = (rss_end - rss_start) / 1024
        assert growth_mb < 200, f"server RSS grew by {growth_mb:.0f} MB"
        status, health, _ = call(url, "GET", "/health")
        assert status == 200 and health["stats"]["requests"] >= sum(counts)
        assert health["stats"]["largest_batch"] > 3, "requests of different clients were batched together"
        print(f"load: {sum(counts)} requests in {duration:.0f} s from 64 clients, RSS {rss_start / 1024:.0f} -> "
              f"{rss_end / 1024:.0f} MB, mean batch {health['stats']['mean_batch_pairs']} pairs")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
