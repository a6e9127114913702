"""``wrl score IN OUT``: per-requirement scores with the settings beside them, rejects with reasons, and a
missing model as one error line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from wrl.cli import main
from wrl.reward_model import RewardModel

REPO = Path(__file__).resolve().parents[1]


def wrl(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def rm(tiny_reward_model: Path) -> RewardModel:
    return RewardModel.load(tiny_reward_model, device="cpu")


def test_score_parse_style_file_with_rejects(tmp_path: Path, tiny_reward_model: Path, rm: RewardModel) -> None:
    struct = pa.struct([("id", pa.string()), ("type", pa.string()), ("text", pa.string())])
    rows = [
        ("a", "write a poem about rain", [{"id": "r1", "type": "lowercase", "text": "use all lowercase letters"},
                                          {"id": "r2", "type": "end_phrase", "text": "end with hello world"}]),
        ("b", None, [{"id": "r1", "type": "lowercase", "text": "use all lowercase letters"}]),
        ("c", "  ", [{"id": "r1", "type": "lowercase", "text": "use all lowercase letters"}]),
        ("d", "a letter to my friend", []),
        ("e", "the city and the river", [{"id": "r9", "type": "title", "text": "include a title"}]),
        ("f", "a story", [{"id": "r1", "type": "title", "text": "title " * 80}]),
    ]
    table = pa.table({"id": [r[0] for r in rows], "response": [r[1] for r in rows],
                      "requirements": pa.array([r[2] for r in rows], pa.list_(struct)),
                      "split": ["test"] * len(rows)})
    inp, out = tmp_path / "in.parquet", tmp_path / "scores.parquet"
    pq.write_table(table, inp)
    code, text = wrl("score", inp, out, "--model", tiny_reward_model, "--device", "cpu", "--batch-size", 4,
                     "--aggregate", "min", "--keep", "split")
    assert code == 0, text
    assert "score: rows in 6 = out 2 + rejected 4" in text
    scores = pq.read_table(out)
    assert scores.column_names == ["row", "id", "requirement_index", "requirement_id", "requirement_type",
                                   "requirement", "score", "aggregate_score", "split", "model", "objective",
                                   "template", "tokenizer", "max_length", "batch_size", "aggregate"]
    got = scores.to_pylist()
    assert [(r["row"], r["id"], r["requirement_index"], r["requirement_id"], r["requirement_type"]) for r in got] == \
        [(0, "a", 0, "r1", "lowercase"), (0, "a", 1, "r2", "end_phrase"), (4, "e", 0, "r9", "title")]
    want = rm.score(["write a poem about rain", "the city and the river"],
                    [["use all lowercase letters", "end with hello world"], ["include a title"]])
    assert [r["score"] for r in got] == pytest.approx(want[0].requirements + want[1].requirements, abs=1e-9)
    assert [r["aggregate_score"] for r in got] == pytest.approx([min(want[0].requirements)] * 2 + [want[1].score])
    settings = {k: got[0][k] for k in ("model", "objective", "template", "tokenizer", "max_length", "batch_size",
                                       "aggregate")}
    assert settings == {**rm.describe(), "model": str(tiny_reward_model), "batch_size": 4, "aggregate": "min"}
    assert {r["split"] for r in got} == {"test"}
    rejects = pq.read_table(tmp_path / "scores.rejects.parquet").to_pylist()
    assert [(r["row"], r["id"], r["reason_kind"]) for r in rejects] == [
        (1, "b", "missing_response"), (2, "c", "empty_response"), (3, "d", "no_requirements"),
        (5, "f", "requirement_too_long")]
    # the same input gives the same bytes
    again = tmp_path / "again.parquet"
    assert wrl("score", inp, again, "--model", tiny_reward_model, "--device", "cpu", "--batch-size", 4,
               "--aggregate", "min", "--keep", "split")[0] == 0
    assert pq.read_table(again).equals(scores)


def test_score_jsonl_lists_and_bad_types(tmp_path: Path, tiny_reward_model: Path, rm: RewardModel) -> None:
    lines = [{"response": "hello world", "requirements": ["include a title", "write about rain"]},
             {"response": "a poem", "requirements": "not json"},
             {"response": "a poem", "requirements": json.dumps(["use all lowercase letters"])},
             {"response": "a poem", "requirements": [1, 2]},
             {"response": 7, "requirements": ["a title"]},
             {"response": "a poem", "requirements": {"text": "a title"}}]
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.parquet"
    inp.write_text("".join(json.dumps(line) + "\n" for line in lines) + "{broken\n")
    code, text = wrl("score", inp, out, "--model", tiny_reward_model, "--device", "cpu")
    assert code == 0, text
    got = pq.read_table(out).to_pylist()
    assert [(r["row"], r["id"], r["requirement"]) for r in got] == [
        (0, "0", "include a title"), (0, "0", "write about rain"), (2, "2", "use all lowercase letters")]
    want = rm.score(["hello world", "a poem"],
                    [["include a title", "write about rain"], ["use all lowercase letters"]])
    assert [r["score"] for r in got] == pytest.approx(want[0].requirements + want[1].requirements, abs=1e-9)
    assert got[0]["requirement_id"] is None
    rejects = pq.read_table(tmp_path / "out.rejects.parquet").to_pylist()
    assert [(r["row"], r["reason_kind"]) for r in rejects] == [
        (1, "invalid_json"), (3, "wrong_type"), (4, "wrong_type"), (5, "wrong_type"), (6, "invalid_json")]


def test_score_one_requirement_per_row(tmp_path: Path, tiny_reward_model: Path, rm: RewardModel) -> None:
    inp, out = tmp_path / "pointwise.parquet", tmp_path / "out.parquet"
    pq.write_table(pa.table({"id": ["x:0", "x:1", "x:2"], "requirement": ["include a title", "", "write about rain"],
                             "text": ["a poem", "a poem", "a story about rain"], "label": [1, 0, 1]}), inp)
    code, text = wrl("score", inp, out, "--model", tiny_reward_model, "--device", "cpu", "--response-column", "text",
                     "--keep", "label")
    assert code == 0, text
    got = pq.read_table(out).to_pylist()
    assert [(r["id"], r["label"], r["requirement_index"]) for r in got] == [("x:0", 1, 0), ("x:2", 1, 0)]
    assert [r["score"] for r in got] == pytest.approx(
        list(rm.score_pairs(["include a title", "write about rain"], ["a poem", "a story about rain"])), abs=1e-9)
    assert [r["score"] for r in got] == [r["aggregate_score"] for r in got]
    assert pq.read_table(tmp_path / "out.rejects.parquet")["reason_kind"].to_pylist() == ["empty_requirement"]


def test_score_bad_files(tmp_path: Path, tiny_reward_model: Path) -> None:
    inp = tmp_path / "in.parquet"
    pq.write_table(pa.table({"response": ["a"]}), inp)
    code, text = wrl("score", inp, tmp_path / "o.parquet", "--model", tiny_reward_model, "--device", "cpu")
    assert code == 2 and "no 'requirements' column" in text
    code, text = wrl("score", inp, tmp_path / "o.parquet", "--model", tiny_reward_model, "--response-column", "nope")
    assert code == 2 and "no 'nope' column" in text
    code, text = wrl("score", tmp_path / "missing.parquet", tmp_path / "o.parquet", "--model", tiny_reward_model)
    assert code == 2 and "no such file" in text
    assert not (tmp_path / "o.parquet").exists()


def test_score_missing_model_is_one_error_line(tmp_path: Path) -> None:
    inp = tmp_path / "in.parquet"
    pq.write_table(pa.table({"response": ["a"], "requirements": [["a title"]]}), inp)
    proc = subprocess.run([sys.executable, "-m", "wrl.cli", "score", str(inp), str(tmp_path / "o.parquet"),
                           "--model", str(tmp_path / "no_model")], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {tmp_path / 'no_model'}: no such model directory or file"]
    assert not (tmp_path / "o.parquet").exists()
