"""``wrl eval parser``: the parser scored on a file's gold requirements, its report, its misses file and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from wrl.cli import main
from wrl.parser_report import evaluate_parser

FIXTURES = Path(__file__).resolve().parent / "fixtures"

ROWS = [
    {"key": 1, "prompt": "Write a poem about rain. Do not use any commas.",
     "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
    {"key": 2, "prompt": "Write a story. Your answer must be at least 50 words. Wrap it in double quotation marks.",
     "instruction_id_list": ["length_constraints:number_words", "startend:quotation"],
     "kwargs": [{"relation": "at least", "num_words": 50}, {}]},
    # The letter "#" is a valid IFEval letter; the parser may or may not find it.
    {"key": 3, "prompt": "Write a tweet. Use the letter # at least 4 times.", "instruction_id_list":
     ["keywords:letter_frequency"], "kwargs": [{"letter": "#", "let_frequency": 4, "let_relation": "at least"}]},
    {"key": 4, "prompt": "Describe tea.", "instruction_id_list": ["made:up"], "kwargs": [{}]},
    {"key": 5, "prompt": "   ", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
]


def _write(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_report_counts_every_row_and_scores_by_type(tmp_path):
    report, misses, rejects = evaluate_parser(_write(tmp_path, ROWS))
    assert (report["rows"], report["scored"], report["rejected"]) == (5, 3, 2)
    assert report["rejected_by_reason"] == {"unknown_instruction_id": 1, "missing_prompt": 1}
    assert report["by_type"]["no_commas"]["recall"] == 1.0
    assert report["by_type"]["length"]["params_exact"] == 1.0
    assert report["verifiable"]["support"] == 4
    assert 0 < report["all_found"] <= 1
    assert set(misses["kind"].to_pylist()) <= {"missed", "spurious", "wrong_params"}
    assert sorted(rejects["id"].to_pylist()) == ["4", "5"]


def test_cli_table_json_and_misses_file(tmp_path):
    path = _write(tmp_path, ROWS)
    runner = CliRunner()
    r = runner.invoke(main, ["eval", "parser", str(path)])
    assert r.exit_code == 0, r.output
    assert "all requirements found in" in r.output and "verifiable types" in r.output
    assert "5 rows: 3 scored, 2 rejected" in r.output
    out = tmp_path / "misses.parquet"
    r = runner.invoke(main, ["eval", "parser", str(path), "--json", "--out", str(out)])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["overall"]["support"] == 4
    assert pq.read_table(out).schema.names == ["id", "prompt", "kind", "type", "gold_params", "found_params"]


def test_the_projects_own_gold_column(tmp_path):
    path = tmp_path / "gold.jsonl"
    rows = [{"id": "a", "prompt": "Write a haiku. Do not use any commas.",
             "gold_requirements": json.dumps([{"type": "no_commas", "params": {}}])},
            {"id": "b", "prompt": "Write a limerick in all lowercase letters.",
             "gold_requirements": [{"type": "lowercase", "params": {}}]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report, _, _ = evaluate_parser(path)
    assert report["scored"] == 2 and report["overall"]["recall"] == 1.0


def test_the_ifeval_fixture_file():
    report, _, rejects = evaluate_parser(FIXTURES / "ifeval.jsonl")
    assert report["rows"] == report["scored"] + report["rejected"]
    assert report["overall"]["support"] > 0


def test_bad_input_is_one_error_line(tmp_path):
    runner = CliRunner()
    no_gold = tmp_path / "plain.jsonl"
    no_gold.write_text('{"id": 1, "prompt": "Write a poem."}\n', encoding="utf-8")
    truncated = tmp_path / "broken.parquet"
    truncated.write_bytes(b"PAR1 not really")
    for path in (no_gold, truncated, tmp_path / "missing.jsonl"):
        r = runner.invoke(main, ["eval", "parser", str(path)])
        assert r.exit_code == 2, (path, r.output)
        lines = [x for x in r.output.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    assert "instruction_id_list" in runner.invoke(main, ["eval", "parser", str(no_gold)]).output
