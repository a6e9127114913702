"""The rollout stage and its generation backends (wrl.generation), on the tiny local decoder.

The openai backend is tested against small HTTP servers started here (http.server in a thread):
a good one, one that answers late, one that fails with 500 first, one that answers garbage, and
a port where nothing listens. vllm is not installed here: only its error is tested.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO

from wrl.config import params_from_dict
from wrl.errors import ModelError
from wrl.generation import GenerationSettings, OpenAISettings, TransformersGenerator, make_generator
from wrl.seeding import derive_seed
from wrl.stage import Context, pipeline_main
from wrl.stages.rollout import ROLLOUTS_SCHEMA, STAGE, RolloutConfig, select

CTX = Context(progress=False)
WORDS = ("write a poem about rain", "write a story about the city", "write an essay about the river",
         "write a letter to my friend about home", "write a poem about the sun and the tree")


# --- a small variants table -----------------------------------------------------------------------


def _variant(iid: str, v: int, split: str, n_req: int, prompt: str, strategy: str = "independent") -> dict:
    kept = [f"r{k}" for k in range(1, n_req + 1 - v)] if v else [f"r{k}" for k in range(1, n_req + 1)]
    dropped = [f"r{k}" for k in range(n_req + 1 - v, n_req + 1)] if v else []
    return {"id": iid, "variant": v, "variant_id": f"{iid}:{v}", "strategy": strategy, "split": split,
            "n_requirements": n_req, "n_dropped": len(dropped), "kept_ids": kept, "dropped_ids": dropped,
            "dropped_types": ["lowercase"] * len(dropped), "prompt": prompt, "category": "poem", "topic": "rain",
            "language": "en", "source": "synth"}


def variants_table(*, train: int = 6, dev: int = 2, test: int = 3, extra: list[dict] | None = None) -> pa.Table:
    """Train/dev instructions with 3 variants each (2 requirements), test ones with progressive variants
    0..2, and one train instruction without requirements (never picked)."""
    rows = [_variant("syn-none", 0, "train", 0, "write a poem")]
    for split, count in (("train", train), ("dev", dev)):
        for i in range(count):
            text = WORDS[i % len(WORDS)]
            rows += [_variant(f"{split}-{i}", v, split, 2, f"{text} in all lowercase letters" if v < 2 else text)
                     for v in range(3)]
    for i in range(test):
        text = WORDS[i % len(WORDS)]
        rows += [_variant(f"test-{i}", v, "test", 2, text + " with a title" * (2 - v), "progressive")
                 for v in range(3)]
    rows += extra or []
    return pa.Table.from_pylist(rows)


def write_variants(path: Path, table: pa.Table | None = None) -> Path:
    pq.write_table(table if table is not None else variants_table(), path)
    return path


def config(model: Path | str, **overrides) -> RolloutConfig:
    raw = {"model": str(model), "max_new_tokens": 8, "batch_size": 4, "shard_size": 5,
           "instructions": {"train": 4, "dev": 1, "test": 2}, **overrides}
    return params_from_dict({"rollout": raw}).rollout


def run_stage(tmp: Path, cfg: RolloutConfig, variants: Path | None = None, out: str = "rollouts"):
    variants = variants or write_variants(tmp / "variants.parquet")
    paths = STAGE.paths((variants,), (tmp / out,), tmp / f"{out}.rejects.parquet", tmp / f"{out}.json")
    paths.check_outputs()
    return STAGE.run(cfg, paths, CTX), paths


def tree(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


# --- the transformers backend ---------------------------------------------------------------------


def test_transformers_left_pads_with_the_chat_template_and_mask(tiny_decoder):
    gen = TransformersGenerator(GenerationSettings(model=str(tiny_decoder), max_new_tokens=6, temperature=0.0,
                                                   batch_size=8))
    seen = []
    real = gen.model.generate

    def spy(**kwargs):
        seen.append(kwargs)
        return real(**kwargs)

    gen.model.generate = spy
    prompts = ["hello", "write a poem about the rain and the sun in the city"]
    out = gen.generate(prompts, seed=0)
    (call,) = seen
    ids, mask = call["input_ids"], call["attention_mask"]
    tok = gen.tokenizer
    # Longest first; the short prompt is padded on the left, with the mask zero there.
    assert mask[0].all() and not mask[1, 0] and mask[1, -1]
    assert ids[1, 0].item() == tok.pad_token_id != tok.eos_token_id
    start = tok.convert_tokens_to_ids("<|im_start|>")
    assert ids[0, 0].item() == start  # the chat template, not the bare prompt
    text = tok.decode(ids[1][mask[1].bool()])
    assert "user" in text and "hello" in text and text.rstrip().endswith("assistant")
    assert [c.prompt_tokens for c in out] == [int(m.sum()) for m in mask.flip(0)]
    # Greedy, alone or batched with a longer prompt: the padding is invisible to the model.
    alone = gen.generate(["hello"], seed=0)[0]
    assert out[0] == alone


def test_transformers_is_seeded_and_counts_tokens(tiny_decoder):
    settings = GenerationSettings(model=str(tiny_decoder), max_new_tokens=10, temperature=1.0, top_p=1.0,
                                  batch_size=2)
    gen = make_generator(settings)
    prompts = list(WORDS)
    a, b, c = gen.generate(prompts, seed=3), gen.generate(prompts, seed=3), gen.generate(prompts, seed=4)
    assert a == b and a != c
    for x in a:
        assert x.finish_reason in ("stop", "length")
        assert (x.completion_tokens == 10) == (x.finish_reason == "length")
        assert x.completion_tokens <= 10 and x.prompt_tokens > 0
    assert gen.context_length == 512
    assert gen.identity.startswith("sha256:")
    calls = []
    gen.generate(prompts, seed=3, progress=calls.append)
    assert [len(batch) for batch in calls] == [2, 2, 1]


def test_derived_seeds_are_stable():
    assert derive_seed(0, 1) == derive_seed(0, 1) != derive_seed(0, 2)
    assert 0 <= derive_seed("x", 5) < 2**31


def test_vllm_missing_is_a_clear_error(monkeypatch, tiny_decoder):
    monkeypatch.setitem(sys.modules, "vllm", None)  # as if not installed, wherever it is
    with pytest.raises(ModelError, match=r"the vllm backend is not installed: pip install 'wrl\[vllm\]'"):
        make_generator(GenerationSettings(model=str(tiny_decoder), backend="vllm"))


# --- selection ------------------------------------------------------------------------------------


def test_selection_is_seeded_capped_and_grows_by_adding():
    table = variants_table(train=20, dev=4, test=6)
    small = config("x", instructions={"train": 3, "dev": 1, "test": 2})
    picked = table.take(select(table, small)).to_pylist()
    ids = {s: {r["id"] for r in picked if r["split"] == s} for s in ("train", "dev", "test")}
    assert {s: len(v) for s, v in ids.items()} == {"train": 3, "dev": 1, "test": 2}
    assert "syn-none" not in ids["train"]  # no requirements: never rolled out
    train = [r for r in picked if r["split"] != "test"]
    assert sorted({r["variant"] for r in train}) == [0, 1]  # variants_per_instruction = 2, variant 0 kept
    assert sorted(r["variant"] for r in picked if r["split"] == "test") == [0, 0, 1, 1, 2, 2]  # all progressive ones
    bigger = table.take(select(table, config("x", instructions={"train": 8, "dev": 1, "test": 2}))).to_pylist()
    assert ids["train"] <= {r["id"] for r in bigger if r["split"] == "train"}
    other = table.take(select(table, config("x", seed=1, instructions={"train": 3, "dev": 1, "test": 2})))
    assert set(other["id"].to_pylist()) != {r["id"] for r in picked}


# --- the stage ------------------------------------------------------------------------------------


def test_stage_end_to_end(tmp_path, tiny_decoder):
    report, paths = run_stage(tmp_path, config(tiny_decoder, n=2))
    out = tmp_path / "rollouts"
    shards = sorted(out.glob("*.parquet"))
    markers = sorted(out.glob("*.done"))
    assert [p.stem for p in shards] == [p.stem for p in markers] == [f"shard-{i:05d}" for i in range(len(shards))]
    table = pa.concat_tables(pq.read_table(p) for p in shards)
    assert table.schema == ROLLOUTS_SCHEMA
    # 4 train + 1 dev instructions x 2 variants, 2 test x 3 progressive variants; 2 samples each
    variants = 5 * 2 + 2 * 3
    assert table.num_rows == 2 * variants == report.rows_out * 2
    assert report.rows_in == variants and not report.rejects
    assert len(shards) == -(-2 * variants // 5)
    rows = table.to_pylist()
    assert [r["sample"] for r in rows[:4]] == [0, 1, 0, 1]
    assert rows[0]["variant_id"] == rows[1]["variant_id"]
    for r in rows:
        assert r["backend"] == "transformers" and r["model"] == str(tiny_decoder)
        assert r["max_new_tokens"] == 8 and r["temperature"] == 0.7 and r["top_p"] == 1.0
        assert (r["completion_tokens"] == 8) == (r["finish_reason"] == "length")
    assert len({r["seed"] for r in rows}) == len(shards)
    marker = json.loads(markers[0].read_text())
    assert set(marker) == {"fingerprint", "rows"} and marker["rows"] == 5
    metrics = json.loads(paths.metrics.read_text())["rollout"]
    assert metrics["instructions"] == {"train": 4, "dev": 1, "test": 2}
    assert metrics["responses"] == {"total": 32, "by_split": {"dev": 4, "test": 12, "train": 16}}
    assert sum(metrics["finish_reason"].values()) == 32
    assert metrics["truncated_share"] == round(metrics["finish_reason"]["length"] / 32, 6)
    assert metrics["rejects"] == {"total": 0, "by_reason": {}}
    assert 0 < metrics["completion_tokens"]["mean"] <= 8 and metrics["prompt_tokens"]["mean"] > 0
    assert pq.read_table(paths.rejects).num_rows == 0
    text = report.render()
    assert "throughput:" in text and "0 kept from an earlier run" in text
    # The same run again: every shard kept, nothing generated, same bytes.
    before = tree(out)
    again, _ = run_stage(tmp_path, config(tiny_decoder, n=2))
    assert tree(out) == before and "throughput" not in again.render()
    assert f"{len(shards)} kept from an earlier run, 0 generated" in again.render()


def test_stale_and_partial_shards_are_regenerated(tmp_path, tiny_decoder):
    run_stage(tmp_path, config(tiny_decoder))
    out = tmp_path / "rollouts"
    first = tree(out)
    changed, _ = run_stage(tmp_path, config(tiny_decoder, max_new_tokens=4))
    assert "0 kept from an earlier run" in changed.render()
    assert all(r["max_new_tokens"] == 4 for p in out.glob("*.parquet") for r in pq.read_table(p).to_pylist())
    back, _ = run_stage(tmp_path, config(tiny_decoder))
    assert tree(out) == first  # the same settings give the same bytes
    # A shard without its marker, a truncated shard and an extra one from a longer run are redone or removed.
    (out / "shard-00001.done").unlink()
    (out / "shard-00002.parquet").write_bytes(b"PAR1 cut off")
    (out / "shard-00099.parquet").write_bytes(b"")
    (out / "shard-00099.done").write_text("{}")
    redone, _ = run_stage(tmp_path, config(tiny_decoder))
    assert tree(out) == first
    assert f"{len(first) // 2 - 2} kept from an earlier run, 2 generated" in redone.render()


def test_a_directory_that_is_not_rollouts_is_refused(tmp_path, tiny_decoder):
    (tmp_path / "rollouts").mkdir()
    (tmp_path / "rollouts" / "notes.txt").write_text("mine")
    from wrl.errors import DatasetError

    with pytest.raises(DatasetError, match="not a rollouts directory"):
        run_stage(tmp_path, config(tiny_decoder))
    assert (tmp_path / "rollouts" / "notes.txt").exists()


def test_unusable_prompts_are_rejected_with_their_reason(tmp_path, tiny_decoder):
    long = " ".join(["rain"] * 600)  # the tiny model's context is 512 tokens
    extra = [_variant("train-long", v, "train", 1, long) for v in range(2)] + \
        [_variant("train-empty", v, "train", 1, "  " if v == 0 else "write") for v in range(2)]
    variants = write_variants(tmp_path / "variants.parquet", variants_table(train=0, dev=0, test=1, extra=extra))
    report, paths = run_stage(tmp_path, config(tiny_decoder), variants)
    rejects = pq.read_table(paths.rejects).to_pylist()
    kinds = {r["id"]: r["reason_kind"] for r in rejects}
    assert kinds == {"train-long:0": "prompt_too_long", "train-long:1": "prompt_too_long",
                     "train-empty:0": "empty_prompt"}
    assert "exceeds the model's context of 512 tokens" in rejects[0]["reason"]
    rows = pq.read_table(variants).to_pylist()
    assert all(rows[r["row"]]["variant_id"] == r["id"] for r in rejects)  # rows of the variants file
    assert report.rows_in == 3 + 4 and report.rows_out == 4 and sum(report.rejects.values()) == 3
    metrics = json.loads(paths.metrics.read_text())["rollout"]
    assert metrics["rejects"]["by_reason"] == {"empty_prompt": 1, "prompt_too_long": 2}
    assert metrics["responses"]["total"] == 4


# --- resume after a kill --------------------------------------------------------------------------

# Runs the DVC script with generation slowed down, so the test can kill it between two shards.
SLOW_CHILD = """
import sys, time
import wrl.generation as g
real = g.TransformersGenerator.generate
def slow(self, *args, **kwargs):
    time.sleep(0.4)
    return real(self, *args, **kwargs)
g.TransformersGenerator.generate = slow
from wrl.stage import pipeline_main
pipeline_main("rollout", sys.argv[1:])
"""


def _project(root: Path, model: Path) -> list[str]:
    root.mkdir()
    write_variants(root / "variants.parquet")
    raw = {"model": str(model), "max_new_tokens": 8, "batch_size": 2, "shard_size": 2,
           "instructions": {"train": 4, "dev": 1, "test": 2}}
    (root / "params.yaml").write_text(yaml.safe_dump({"rollout": raw}))
    return ["variants.parquet", "out", "--rejects", "out.rejects.parquet", "--metrics", "rollout.json"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}


def test_killed_run_resumes_to_the_same_bytes(tmp_path, tiny_decoder, monkeypatch, capsys):
    whole = tmp_path / "whole"
    args = _project(whole, tiny_decoder)
    monkeypatch.chdir(whole)  # the uninterrupted run, in this process (the same script's code)
    pipeline_main("rollout", args)
    monkeypatch.chdir(tmp_path)
    killed = tmp_path / "killed"
    _project(killed, tiny_decoder)
    child = subprocess.Popen([sys.executable, "-c", SLOW_CHILD, *args], cwd=killed, env=_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not list(killed.glob("out/*.done")):
            assert child.poll() is None, "the run ended before its first shard was marked done"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    done = len(list((killed / "out").glob("*.done")))
    total = len(list((whole / "out").glob("*.done")))
    assert 1 <= done < total
    assert not (killed / "rollout.json").exists()  # killed before the end
    proc = subprocess.run([sys.executable, str(REPO / "pipeline/rollout.py"), *args], cwd=killed, env=_env(),
                          check=True, capture_output=True, text=True)
    assert f"{done} kept from an earlier run" in proc.stdout
    assert tree(killed / "out") == tree(whole / "out")
    for name in ("out.rejects.parquet", "rollout.json"):
        assert (killed / name).read_bytes() == (whole / name).read_bytes()


def test_a_missing_model_is_one_error_line(tmp_path):
    args = _project(tmp_path / "p", tmp_path / "no-such-model")
    proc = subprocess.run([sys.executable, str(REPO / "pipeline/rollout.py"), *args], cwd=tmp_path / "p",
                          env=_env(), capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"rollout: error: {tmp_path / 'no-such-model'}: no such model "
                                                "directory or file"]


# --- the openai backend ---------------------------------------------------------------------------


class FakeServer:
    """An OpenAI-compatible chat-completions server in a thread; ``behaviour(n, body)`` answers request n as
    ``(status, bytes)``, or sleeps."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.requests: list[tuple[dict, dict]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    n = len(server.requests)
                    server.requests.append((dict(self.headers), body))
                status, payload = server.behaviour(n, body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (a timeout test)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def answer(body: dict, *, usage: bool = True, finish: str = "stop") -> tuple[int, bytes]:
    text = "echo: " + body["messages"][0]["content"]
    data = {"id": "x", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}]}
    if usage:
        data["usage"] = {"prompt_tokens": 7, "completion_tokens": len(text.split()), "total_tokens": 0}
    return 200, json.dumps(data).encode()


def openai_gen(url: str, model: str = "served-model", **kwargs):
    o = OpenAISettings(base_url=url, api_key_env="WRL_TEST_KEY", concurrency=3, timeout_s=kwargs.pop("timeout_s", 5),
                       max_retries=kwargs.pop("max_retries", 3), backoff_s=0.0)
    return make_generator(GenerationSettings(model=model, backend="openai", max_new_tokens=16, temperature=0.5,
                                             top_p=0.9, openai=o))


def test_openai_backend_against_a_good_server(monkeypatch):
    monkeypatch.setenv("WRL_TEST_KEY", "sekret")
    with FakeServer(lambda n, body: answer(body)) as server:
        gen = openai_gen(server.url)
        prompts = [f"write poem {i}" for i in range(7)]
        out = gen.generate(prompts, seed=11)
    assert [c.text for c in out] == [f"echo: {p}" for p in prompts]  # in the prompts' order
    assert all(c.finish_reason == "stop" and c.prompt_tokens == 7 and c.completion_tokens == 4 for c in out)
    headers, body = server.requests[0]
    assert headers["Authorization"] == "Bearer sekret"
    assert body["model"] == "served-model" and body["n"] == 1 and body["max_tokens"] == 16
    assert body["temperature"] == 0.5 and body["top_p"] == 0.9
    assert body["messages"][0]["role"] == "user"
    seeds = sorted(b["seed"] for _, b in server.requests)
    assert seeds == sorted(derive_seed(11, i) for i in range(7))


def test_openai_without_usage_counts_with_the_local_tokenizer(tiny_decoder):
    with FakeServer(lambda n, body: answer(body, usage=False, finish="length")) as server:
        (local,) = openai_gen(server.url, model=str(tiny_decoder)).generate(["write a poem"], seed=0)
        (remote,) = openai_gen(server.url, model="org/served").generate(["write a poem"], seed=0)
    assert local.finish_reason == "length" and local.prompt_tokens > 3 and local.completion_tokens >= 3
    assert remote.prompt_tokens is None and remote.completion_tokens is None


def test_openai_retries_timeouts_and_server_errors():
    def late_then_ok(n, body):
        if n == 0:
            time.sleep(1.0)
        return answer(body)

    with FakeServer(late_then_ok) as server:
        (c,) = openai_gen(server.url, timeout_s=0.3).generate(["hello"], seed=0)
    assert c.text == "echo: hello" and len(server.requests) == 2
    with FakeServer(lambda n, body: (500, b"busy") if n < 2 else answer(body)) as server:
        (c,) = openai_gen(server.url).generate(["hello"], seed=0)
    assert c.text == "echo: hello" and len(server.requests) == 3
    server = FakeServer(lambda n, body: (503, b"down"))
    failed = rf"openai server {server.url}: no answer after 3 tries \(last: HTTP 503"
    with server, pytest.raises(ModelError, match=failed):
        openai_gen(server.url, max_retries=2).generate(["hello"], seed=0)
    assert len(server.requests) == 3


@pytest.mark.parametrize(("payload", "what"), [
    (b"<html>oops</html>", "not JSON"),
    (b'{"choices": []}', "no choices"),
    (b'{"choices": [{"message": {"content": 3}, "finish_reason": "stop"}]}', "content is not a string"),
    (b'{"choices": [{"message": {"content": "x"}, "finish_reason": "tool_calls"}]}', "finish_reason"),
    (b'{"choices": [{"message": {"content": "x"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": "7"}}',
     "usage.prompt_tokens"),
])
def test_openai_garbage_is_a_model_error(payload, what):
    server = FakeServer(lambda n, body: (200, payload))
    with server, pytest.raises(ModelError, match=rf"openai server {server.url}: unexpected answer: .*{what}"):
        openai_gen(server.url).generate(["hello"], seed=0)
    assert len(server.requests) == 1  # not retried


def test_openai_client_errors_fail_at_once_and_refused_connections_after_retries():
    server = FakeServer(lambda n, body: (400, b'{"error": "bad model"}'))
    with server, pytest.raises(ModelError, match=r"HTTP 400\b.*bad model"):
        openai_gen(server.url).generate(["hello"], seed=0)
    assert len(server.requests) == 1
    with FakeServer(lambda n, body: answer(body)) as server:
        url = server.url
    with pytest.raises(ModelError, match=rf"openai server {url}: no answer after 2 tries \(last: cannot connect"):
        openai_gen(url, max_retries=1).generate(["a", "b"], seed=0)


def test_stage_with_the_openai_backend(tmp_path, tiny_decoder):
    with FakeServer(lambda n, body: answer(body)) as server:
        cfg = config(tiny_decoder, backend="openai", openai={"base_url": server.url, "max_retries": 0,
                                                             "backoff_s": 0.0})
        report, paths = run_stage(tmp_path, cfg)
    table = pa.concat_tables(pq.read_table(p) for p in sorted((tmp_path / "rollouts").glob("*.parquet")))
    assert table.num_rows == report.rows_out == 16
    assert table["response"].to_pylist() == ["echo: " + p for p in table["prompt"].to_pylist()]
    assert set(table["backend"].to_pylist()) == {"openai"}
    # A server that stops answering: the stage fails naming it, and no shard is marked done.
    with FakeServer(lambda n, body: (500, b"") if n >= 3 else answer(body)) as server:
        cfg = replace(cfg, openai=replace(cfg.openai, base_url=server.url))
        with pytest.raises(ModelError, match=f"openai server {server.url}"):
            run_stage(tmp_path, cfg, out="broken")
    assert not list((tmp_path / "broken").glob("*"))


def test_rollouts_sql_view(tmp_path, tiny_decoder):
    from wrl.sql import connect

    (tmp_path / "data").mkdir()
    run_stage(tmp_path / "data", config(tiny_decoder))
    con = connect(tmp_path)
    (n, splits), = con.sql("SELECT count(*), count(DISTINCT split) FROM rollouts").fetchall()
    assert n == 16 and splits == 3


def test_wrl_rollout_command(tmp_path, tiny_decoder):
    from click.testing import CliRunner

    from wrl.cli import main

    variants = write_variants(tmp_path / "variants.parquet")
    result = CliRunner().invoke(main, ["rollout", str(variants), str(tmp_path / "rollouts"), "--model",
                                       str(tiny_decoder), "--max-new-tokens", "4", "--instructions-train", "2",
                                       "--instructions-dev", "0", "--instructions-test", "1", "--temperature", "0"])
    assert result.exit_code == 0, result.output
    assert "rollout: rows in 7 = out 7 + rejected 0" in result.output
    assert pq.read_table(tmp_path / "rollouts.rejects.parquet").num_rows == 0  # DIR.rejects.parquet by default
    shards = sorted((tmp_path / "rollouts").glob("*.parquet"))
    assert {t for p in shards for t in pq.read_table(p)["temperature"].to_pylist()} == {0.0}
