"""``wrl eval parser``: the parser scored on a file's gold requirements, its report, its misses file and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from wrl.cli import main
from wrl.parser_eval import match_instruction
from wrl.parser_report import evaluate_parser

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEV = Path(__file__).resolve().parents[2] / "shared" / "data"

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


def test_one_requirement_spelled_two_ways_is_one_match():
    """The scoring conventions of :func:`wrl.parser_eval.match_instruction`, each a case that fails without it."""
    found = [{"type": "keyword_frequency", "params": {"keyword": "Cat", "relation": "at_least", "value": 1}},
             {"type": "forbidden_words", "params": {"words": ["Moon", "sun"]}},
             {"type": "length", "params": {"unit": "words", "relation": "at_most", "value": 200}},
             {"type": "length", "params": {"unit": "paragraphs", "relation": "exactly", "value": 3}},
             {"type": "response_language", "params": {"language": "en"}}]
    gold = [{"type": "keywords", "params": {"keywords": ["cat"]}},
            {"type": "forbidden_words", "params": {"words": ["sun", "moon"]}},
            {"type": "length", "params": {"unit": "words", "relation": "less_than", "value": 201}},
            {"type": "paragraph_first_word", "params": {"first_word": "so", "nth": 2, "num_paragraphs": 3}},
            {"type": "response_language", "params": {"language": "en"}, "optional": True},
            {"type": "title", "params": {}, "optional": True}]
    kinds = [(kind, rtype) for kind, rtype, _, _ in match_instruction(found, gold)]
    assert sorted(kinds) == [("matched", "forbidden_words"), ("matched", "keywords"), ("matched", "length"),
                             ("matched", "length"), ("matched", "response_language"),
                             ("missed", "paragraph_first_word")]


def test_a_repeated_prompt_is_scored_only_against_a_gold_prompt():
    found = [{"type": "repeat_prompt", "params": {"prompt": "Write  a poem."}}]

    def kind(gold_params: dict) -> str:
        return match_instruction(found, [{"type": "repeat_prompt", "params": gold_params}])[0][0]

    assert kind({}) == "matched"
    assert kind({"prompt": "Write a poem."}) == "matched"
    assert kind({"prompt": "Write a song."}) == "wrong_params"


def test_the_dev_set_meets_the_issue_targets():
    """Measured on ../shared/data/ifeval_dev.jsonl with `wrl eval parser`, held within 0.01: a parser change that
    moves them must re-measure and say why here."""
    path = DEV / "ifeval_dev.jsonl"
    if not path.exists():
        pytest.skip(f"no development data in {DEV}")
    report, misses, _ = evaluate_parser(path)
    v = report["verifiable"]
    measured = {"precision": v["precision"], "recall": v["recall"], "params_exact": v["params_exact"],
                "all_found": report["all_found"]}
    assert measured == pytest.approx({"precision": 0.965, "recall": 0.977, "params_exact": 0.985,
                                      "all_found": 0.963}, abs=0.01)
    assert min(v["precision"], v["recall"]) >= 0.95 and v["params_exact"] >= 0.98 and report["all_found"] >= 0.90
    assert misses.num_rows == 29


def test_a_file_whose_every_row_is_rejected_is_a_report_of_rejects(tmp_path):
    path = _write(tmp_path, [{"key": 1, "prompt": "Write a poem.", "instruction_id_list": "oops", "kwargs": [{}]},
                             {"key": 2}])
    r = CliRunner().invoke(main, ["eval", "parser", str(path)])
    assert r.exit_code == 0, r.output
    assert "2 rows: 0 scored, 2 rejected (missing_prompt 1, wrong_type 1)" in r.output
