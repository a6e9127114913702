"""wrl.data: the synthetic generator, the importers, splits and parser accuracy."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from wrl import data as wdata
from wrl.io import REJECTS_SCHEMA
from wrl.cli import main
from wrl.data import (
    CATEGORIES,
    assign_splits,
    import_generic,
    import_ifeval,
    import_writingbench,
    load_dataset,
    parser_accuracy,
    synthesize,
)
from wrl.io import DatasetError, read_table, write_table
from wrl.requirements import parse_dataset, taxonomy

FIXTURES = Path(__file__).parent / "fixtures"
ALL_TYPES = set(taxonomy())


@pytest.fixture(scope="module")
def synth5k() -> pa.Table:
    return synthesize(5000, seed=0)


def _golds(table: pa.Table) -> list[list[dict]]:
    return [json.loads(g) for g in table["gold_requirements"].to_pylist()]


# --- synthesize ---------------------------------------------------------------------------------


def test_synth_schema_and_ids(synth5k):
    assert synth5k.column_names == ["id", "prompt", "category", "topic", "language", "gold_requirements", "source"]
    assert synth5k["id"][0].as_py() == "syn-0000001"
    assert synth5k["id"][4999].as_py() == "syn-0005000"
    assert set(synth5k["source"].to_pylist()) == {"synth"}
    assert synthesize(0).num_rows == 0


def test_synth_is_deterministic_to_the_byte(tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_table(synthesize(3000, seed=7), a)
    write_table(synthesize(3000, seed=7), b)
    assert a.read_bytes() == b.read_bytes()
    assert not synthesize(50, seed=8).equals(synthesize(50, seed=7))


def test_synth_chunks_equal_the_whole():
    whole = synthesize(700, seed=3)
    parts = [synthesize(100, seed=3), synthesize(300, seed=3, start=100), synthesize(300, seed=3, start=400)]
    assert pa.concat_tables(parts).equals(whole)


def test_synth_covers_every_type_category_and_language(synth5k):
    golds = _golds(synth5k)
    types = Counter(r["type"] for g in golds for r in g)
    assert set(types) == ALL_TYPES, ALL_TYPES - set(types)
    assert min(types.values()) >= 50
    assert set(synth5k["category"].to_pylist()) == set(CATEGORIES)
    topics = defaultdict(set)
    for category, topic in zip(synth5k["category"].to_pylist(), synth5k["topic"].to_pylist(), strict=True):
        topics[category].add(topic)
    assert all(len(t) >= 40 for t in topics.values())
    languages = Counter(synth5k["language"].to_pylist())
    assert set(languages) == {"en", "zh"}
    assert abs(languages["zh"] / synth5k.num_rows - 0.15) < 0.03
    assert all(1 <= len(g) <= 5 for g in golds)


def test_zh_share_extremes():
    assert set(synthesize(200, zh_share=0.0)["language"].to_pylist()) == {"en"}
    assert set(synthesize(200, zh_share=1.0)["language"].to_pylist()) == {"zh"}
    with pytest.raises(ValueError, match="zh_share"):
        synthesize(10, zh_share=1.5)


def test_gold_is_compact_normalized_json_with_taxonomy_params(synth5k):
    info = taxonomy()
    for cell in synth5k["gold_requirements"].to_pylist():
        gold = json.loads(cell)
        assert cell == json.dumps(gold, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        for r in gold:
            assert set(r) == {"type", "params"}
            assert set(r["params"]) <= set(info[r["type"]].params), r


def test_gold_has_no_contradictions(synth5k):
    """The engine's own conflict check accepts every gold set, and no length unit is bounded twice."""
    pools = wdata._KEYWORDS_EN + wdata._START_EN + wdata._END_EN + wdata._FIRST_WORDS_EN
    assert not [w for w in pools if set(w.lower()) & set(wdata._RARE_LETTERS)]
    for gold in _golds(synth5k):
        types = [r["type"] for r in gold]
        assert not {"lowercase", "uppercase"} <= set(types)
        units = [r["params"]["unit"] for r in gold if r["type"] == "length"]
        assert len(units) == len(set(units))
        assert len(types) - types.count("length") == len(set(types) - {"length"})
    sample = synth5k.slice(0, 2000)  # the engine's conflict check, on a sample to keep the test fast
    structured = sample.select(["id", "prompt"]).append_column("requirements", sample["gold_requirements"])
    _, rejects = parse_dataset(structured, progress=False)
    assert rejects.num_rows == 0, rejects.to_pylist()[:3]


def test_several_phrasings_per_type():
    for rtype in ALL_TYPES:
        keys = [k for k in wdata._EN_TEMPLATES if k.split("/")[0] == rtype]
        assert sum(len(wdata._EN_TEMPLATES[k]) for k in keys) >= 3, rtype
    trace: list = []
    wdata._generate(5000, 0, 0.15, 0, trace)
    used = defaultdict(set)
    for _, rtype, key, tpl, lang in trace:
        used[(rtype, lang)].add((key, tpl))
    for rtype in ALL_TYPES:
        assert len(used[(rtype, "en")]) >= 3, rtype
    assert sum(len(v) for (_, lang), v in used.items() if lang == "zh") >= 60


def test_base_tasks_hold_no_requirement():
    """Subjects and genres must not trigger the parser, or the gold would miss what the task says."""
    rows = [f"{verb} a poem about rain." for verb in wdata._EN_VERBS]
    zh_forms = {"creative": "写一{m}关于{s}的{g}。", "informative": "写一{m}介绍{s}的{g}。",
                "technical": "为{s}写一{m}{g}。", "persuasive": "写一{m}{s}的{g}。", "communication": "写一{m}{s}的{g}。"}
    for c in CATEGORIES:
        for art, noun in wdata._EN_GENRES[c]:
            head = f"{art} {noun}".strip()
            for s in wdata._EN_SUBJECTS[c]:
                rows += [f"Write {head}{wdata._EN_PREP[c]}{s}.",
                         f"Would {head}{wdata._EN_PREP[c]}{s} work well in a school newsletter?"]
        for m, g in wdata._ZH_GENRES[c]:
            for s in wdata._ZH_SUBJECTS[c]:
                rows += [zh_forms[c].format(m=m, s=s, g=g), f"一{m}关于{s}的{g}适合发表在校刊上吗？"]
    parsed, rejects = parse_dataset(pa.table({"prompt": rows}), progress=False)
    assert rejects.num_rows == 0
    found = [(p, r) for p, r in zip(parsed["prompt"].to_pylist(), parsed["requirements"].to_pylist(), strict=True)
             if r]
    assert not found, found[:5]


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


def test_parser_accuracy_on_synth_is_sane(synth5k):
    sample = synth5k.slice(0, 2000)
    parsed, rejects = parse_dataset(sample, progress=False)
    assert rejects.num_rows == 0
    acc = parser_accuracy(parsed)
    overall = acc["overall"]
    assert acc["instructions"] == 2000
    assert overall["support"] == sum(len(g) for g in _golds(sample))
    assert 0.3 < overall["recall"] <= 1.0 and 0.5 < overall["precision"] <= 1.0
    assert 0.0 <= overall["params_exact"] <= 1.0
    assert ALL_TYPES <= set(acc["by_type"])
    with pytest.raises(ValueError, match="gold_requirements"):
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
    with pytest.raises(ValueError, match="unknown data source"):
        load_dataset("hub", path=None, n=1, seed=0, zh_share=0)
    with pytest.raises(ValueError, match="path"):
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
        by_prompt[" ".join(p.lower().split())].add(s)
    assert all(len(s) == 1 for s in by_prompt.values())
    assert not assign_splits(synth5k, train=0.8, dev=0.1, test=0.1, seed=1)["split"].equals(table["split"])


def test_split_fractions_are_checked(synth5k):
    with pytest.raises(ValueError, match="sum to 1"):
        assign_splits(synth5k, train=0.8, dev=0.1, test=0.2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        assign_splits(synth5k, train=1.2, dev=-0.1, test=-0.1)


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
