"""Datasets: the importers, splits, parser accuracy and the ``wrl data`` commands."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from wrl import InvalidConfigError, WrlError
from wrl.cli import main
from wrl.importers import import_generic, import_ifeval, import_writingbench, load_dataset
from wrl.io import REJECTS_SCHEMA, DatasetError, read_table, write_table
from wrl.parser_eval import parser_accuracy
from wrl.requirements import parse_dataset, taxonomy
from wrl.splits import assign_splits, normalize_prompt
from wrl.synth import synthesize

FIXTURES = Path(__file__).parent / "fixtures"
ALL_TYPES = set(taxonomy())


@pytest.fixture(scope="module")
def synth5k() -> pa.Table:
    return synthesize(5000, seed=0)


def _golds(table: pa.Table) -> list[list[dict]]:
    return [json.loads(g) for g in table["gold_requirements"].to_pylist()]


# --- parser accuracy ------------------------------------------------------------------------------


def test_parser_accuracy_counts_a_known_case():
    requirements = pa.array([[
        {"id": "r1", "type": "length", "params": '{"relation":"at_least","unit":"words","value":300}'},
        {"id": "r2", "type": "keywords", "params": '{"keywords":["a"]}'},
    ], []], pa.list_(pa.struct([("id", pa.string()), ("type", pa.string()), ("params", pa.string())])))
    gold = [json.dumps([{"type": "length", "params": {"unit": "words", "relation": "at_most", "value": 300}},
                        {"type": "tone", "params": {"tone": "warm"}}]), None]
    acc = parser_accuracy(pa.table({"requirements": requirements, "gold_requirements": gold}))
    assert acc["instructions"] == 1
    assert acc["overall"]["precision"] == 0.5 and acc["overall"]["recall"] == 0.5
    assert acc["by_type"]["length"]["params_exact"] == 0.0
    assert acc["by_type"]["tone"]["recall"] == 0.0 and acc["by_type"]["keywords"]["precision"] == 0.0


# Measured on this sample (the first 2,000 rows of synthesize(5000, seed=0)) with the lexicon of commit
# 9c5dad3; the pipeline's 20,000 rows give 1.00 / 0.74 / 1.00 (metrics/parse.json). A lexicon change
# moves them: re-measure with parser_accuracy(parse_dataset(sample)[0])["overall"] and update, saying why.
# Issue 12's polarity and phrasing work (branch polarity) raised recall from 0.7454 (more verb forms and
# IFEval phrasings); params_exact 0.9985 -> 0.9983: a first-word requirement now carries the
# instruction's exact paragraph count (IFEval's num_paragraphs), which the synthetic gold leaves out.
MEASURED_ON_SAMPLE = {"precision": 1.0, "recall": 0.7624, "params_exact": 0.9983}


def test_parser_accuracy_on_synth_is_what_was_measured(synth5k):
    sample = synth5k.slice(0, 2000)
    parsed, rejects = parse_dataset(sample, progress=False)
    assert rejects.num_rows == 0
    acc = parser_accuracy(parsed)
    overall = acc["overall"]
    assert acc["instructions"] == 2000
    assert overall["support"] == sum(len(g) for g in _golds(sample))
    assert overall["matched"] <= min(overall["predicted"], overall["support"])
    for name, measured in MEASURED_ON_SAMPLE.items():
        assert overall[name] == pytest.approx(measured, abs=0.02), name
    assert set(acc["by_type"]) == ALL_TYPES
    with pytest.raises(DatasetError, match="gold_requirements"):
        parser_accuracy(parsed.drop_columns(["gold_requirements"]))


# --- importers ----------------------------------------------------------------------------------


def _nonblank_lines(path: Path) -> int:
    return sum(1 for line in path.read_bytes().split(b"\n") if line.strip())


def _check_accounting(table: pa.Table, rejects: pa.Table, rows_in: int) -> None:
    assert rejects.schema == REJECTS_SCHEMA
    assert table.num_rows + rejects.num_rows == rows_in
    assert set(rejects["stage"].to_pylist()) <= {"data"}
    assert len(set(table["id"].to_pylist())) == table.num_rows


def test_import_ifeval_jsonl_quarantines_malformed_rows():
    path = FIXTURES / "ifeval.jsonl"
    table, rejects = import_ifeval(path)
    _check_accounting(table, rejects, _nonblank_lines(path))
    assert table.column_names[:4] == ["id", "prompt", "category", "source"]
    assert table["id"].to_pylist() == ["1000", "1001", "1002", "1003"]
    kinds = dict(zip(rejects["row"].to_pylist(), rejects["reason_kind"].to_pylist(), strict=True))
    assert kinds == {4: "missing_prompt", 5: "wrong_type", 6: "duplicate_id", 7: "invalid_utf8",
                     8: "unknown_instruction_id", 9: "invalid_kwargs", 10: "invalid_json"}
    kwargs = [json.loads(k) for k in table["kwargs"].to_pylist()]
    assert kwargs[2] == [{"postscript_marker": "P.S."}]  # the null-valued key is dropped
    parsed, parse_rejects = parse_dataset(table, progress=False)
    assert parse_rejects.num_rows == 0
    assert [r["type"] for r in parsed["requirements"][0].as_py()] == ["length", "no_commas"]


def test_import_ifeval_parquet_with_struct_kwargs():
    table, rejects = import_ifeval(FIXTURES / "ifeval.parquet")
    _check_accounting(table, rejects, 5)
    assert rejects["reason_kind"].to_pylist() == ["missing_prompt", "duplicate_id"]
    kwargs = [json.loads(k) for k in table["kwargs"].to_pylist()]
    assert kwargs == [[{"num_words": 200, "relation": "at least"}], [{"num_bullets": 3}],
                      [{"postscript_marker": "P.P.S"}]]
    parsed, parse_rejects = parse_dataset(table, progress=False)
    assert parse_rejects.num_rows == 0
    assert json.loads(parsed["requirements"][0].as_py()[0]["params"])["value"] == 200


def test_import_writingbench_keeps_domains_and_checklist():
    path = FIXTURES / "writingbench.jsonl"
    table, rejects = import_writingbench(path)
    _check_accounting(table, rejects, _nonblank_lines(path))
    assert table.column_names == ["id", "prompt", "category", "source", "subcategory", "language", "checklist"]
    first = table.to_pylist()[0]
    assert first["category"] == "Academic & Engineering" and first["subcategory"] == "Paper Outline"
    assert json.loads(first["checklist"])[0]["name"] == "Structure"
    assert rejects["reason_kind"].to_pylist() == ["missing_prompt", "wrong_type", "duplicate_id"]


def test_import_generic_csv():
    table, rejects = import_generic(FIXTURES / "generic.csv")
    _check_accounting(table, rejects, 6)
    assert table["id"].to_pylist() == ["g1", "g2", "g5"]
    assert table.column_names == ["id", "prompt", "category", "source", "note"]
    assert rejects["reason_kind"].to_pylist() == ["missing_prompt", "duplicate_id", "invalid_utf8"]


def test_import_generic_generates_ids_and_validates_requirements(tmp_path):
    path = tmp_path / "mine.jsonl"
    rows = [
        {"text": "Write a haiku about snow.", "requirements": [{"type": "tone", "params": {"tone": "calm"}}]},
        {"text": "Write a limerick.", "requirements": '[{"type": "vibes"}]'},
        {"text": "Write a poem.", "requirements": None, "extra": 3},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table, rejects = import_generic(path, prompt_column="text")
    _check_accounting(table, rejects, 3)
    assert table["id"].to_pylist() == ["0", "2"]
    assert table["extra"].to_pylist() == [None, 3]
    assert json.loads(table["requirements"][0].as_py()) == [{"type": "tone", "params": {"tone": "calm"}}]
    assert rejects["reason_kind"].to_pylist() == ["invalid_requirements"]
    with pytest.raises(DatasetError, match="'prompt'"):
        import_generic(path)


@pytest.mark.parametrize("ext", ["parquet", "jsonl", "csv"])
def test_generic_round_trip_of_synth(tmp_path, synth5k, ext):
    """Synth rows survive every format, multi-line list prompts in CSV included."""
    path = tmp_path / f"synth.{ext}"
    sample = synth5k.slice(0, 300)
    assert any("\n" in p for p in sample["prompt"].to_pylist())
    write_table(sample, path)
    table, rejects = import_generic(path)
    assert rejects.num_rows == 0
    assert table["source"].to_pylist() == ["synth"] * 300
    assert table["prompt"].equals(sample["prompt"])
    assert table["gold_requirements"].equals(sample["gold_requirements"])


def test_values_json_cannot_hold_are_rejected_not_raised(tmp_path):
    """Parquet binary fields inside kwargs, requirement params or a checklist: the row is rejected."""
    path = tmp_path / "bytes.parquet"
    write_table(pa.table({"key": [1, 2], "index": [1, 2], "prompt": ["Write a poem.", "Write a song."],
                          "query": ["Write a poem.", "Write a song."],
                          "instruction_id_list": [["punctuation:no_comma"]] * 2,
                          "kwargs": [[{"x": b"\xff"}], [{"x": None}]],
                          "checklist": [[{"name": b"\xff"}], None],
                          "requirements": [[{"type": "tone", "params": {"tone": b"\xff"}}], None]}), path)
    for importer, kind in ((import_ifeval, "invalid_kwargs"), (import_writingbench, "wrong_type"),
                           (import_generic, "invalid_kwargs")):
        table, rejects = importer(path)
        assert table.num_rows == 1 and rejects["row"].to_pylist() == [0], importer
        assert rejects["reason_kind"].to_pylist() == [kind] and "bytes" in rejects["reason"][0].as_py()
    write_table(pa.table({"prompt": ["Write a poem.", "Write a song."],
                          "requirements": [[{"type": "tone", "params": {"tone": b"\xff"}}], None]}), path)
    table, rejects = import_generic(path)
    assert table.num_rows == 1 and rejects["reason_kind"].to_pylist() == ["invalid_requirements"]


@pytest.mark.parametrize("name", ["truncated.parquet", "truncated.jsonl"])
def test_truncated_file_raises_naming_it(name):
    with pytest.raises(DatasetError, match=name):
        import_generic(FIXTURES / name)
    with pytest.raises(DatasetError, match=name):
        import_ifeval(FIXTURES / name)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        import_ifeval(tmp_path / "nope.jsonl")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(DatasetError, match="x.txt"):
        import_generic(tmp_path / "x.txt")


def test_load_dataset_dispatch():
    table, rejects = load_dataset("synth", path=None, n=20, seed=1, zh_share=0.5)
    assert table.num_rows == 20 and rejects.num_rows == 0 and rejects.schema == REJECTS_SCHEMA
    table, _ = load_dataset("ifeval", path=str(FIXTURES / "ifeval.jsonl"), n=0, seed=0, zh_share=0)
    assert table.num_rows == 4
    with pytest.raises(InvalidConfigError, match="unknown data source"):
        load_dataset("hub", path=None, n=1, seed=0, zh_share=0)
    with pytest.raises(InvalidConfigError, match="path"):
        load_dataset("generic", path=None, n=1, seed=0, zh_share=0)


# --- splits ---------------------------------------------------------------------------------------


def test_splits_are_stable_and_follow_the_normalized_prompt(synth5k):
    table = assign_splits(synth5k, train=0.8, dev=0.1, test=0.1, seed=0)
    again = assign_splits(synth5k, train=0.8, dev=0.1, test=0.1, seed=0)
    assert table["split"].equals(again["split"])
    shares = Counter(table["split"].to_pylist())
    assert abs(shares["train"] / 5000 - 0.8) < 0.03 and abs(shares["test"] / 5000 - 0.1) < 0.03
    prompts = pa.table({"prompt": ["Write a Poem.", "  write a   poem. ", "WRITE A POEM."] * 20 + ["Other."]})
    splits = assign_splits(prompts, train=0.34, dev=0.33, test=0.33, seed=5)["split"].to_pylist()
    assert len(set(splits[:-1])) == 1
    by_prompt = defaultdict(set)
    for p, s in zip(table["prompt"].to_pylist(), table["split"].to_pylist(), strict=True):
        by_prompt[normalize_prompt(p)].add(s)
    assert all(len(s) == 1 for s in by_prompt.values())
    assert not assign_splits(synth5k, train=0.8, dev=0.1, test=0.1, seed=1)["split"].equals(table["split"])


def test_split_fractions_are_checked(synth5k):
    with pytest.raises(InvalidConfigError, match="sum to 1"):
        assign_splits(synth5k, train=0.8, dev=0.1, test=0.2)
    with pytest.raises(InvalidConfigError, match="between 0 and 1"):
        assign_splits(synth5k, train=1.2, dev=-0.1, test=-0.1)
    with pytest.raises(DatasetError, match="'prompt' column"):
        assign_splits(synth5k.drop_columns(["prompt"]), train=0.8, dev=0.1, test=0.1)


def test_dataset_errors_are_wrl_errors():
    """Callers catch WrlError (the CLI, the stages) or ValueError: every error raised here is both."""
    assert issubclass(DatasetError, WrlError) and issubclass(InvalidConfigError, WrlError)
    assert issubclass(WrlError, ValueError)


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_data_synth_and_import(tmp_path):
    runner = CliRunner()
    out = tmp_path / "synth.parquet"
    result = runner.invoke(main, ["data", "synth", str(out), "--n", "300", "--seed", "2", "--zh-share", "0.2"])
    assert result.exit_code == 0, result.output
    assert "splits" in result.output and "languages" in result.output
    assert read_table(out).drop_columns(["split"]).equals(synthesize(300, seed=2, zh_share=0.2))
    out = tmp_path / "ifeval.jsonl"
    result = runner.invoke(main, ["data", "import", "ifeval", str(FIXTURES / "ifeval.jsonl"), str(out)])
    assert result.exit_code == 0, result.output
    assert "rows in 11 = out 4 + rejected 7" in result.output and "invalid_utf8" in result.output
    assert read_table(tmp_path / "ifeval.rejects.jsonl").num_rows == 7
    result = runner.invoke(main, ["data", "import", "generic", str(FIXTURES / "truncated.parquet"), str(out)])
    assert result.exit_code == 2 and "truncated.parquet" in result.output
