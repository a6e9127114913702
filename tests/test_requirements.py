"""The requirement engine through its Python API: parsing, structured input, dropping, bad input."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import wrl
from wrl import _core
from wrl.requirements import DropSettings, ParseLimits, drop_dataset, ifeval_mapping, parse_dataset, taxonomy

EXAMPLES = "examples/instructions.jsonl"


def test_parse_extracts_types_params_and_spans():
    text = "Write a blog post about tea. Use at least 300 words, and include the keywords 'oolong' and 'kettle'."
    p = wrl.parse(text)
    assert [r.type for r in p.requirements] == ["length", "keywords"]
    length, keywords = p.requirements
    assert length.params == {"unit": "words", "relation": "at_least", "value": 300}
    assert keywords.params == {"keywords": ["oolong", "kettle"]}
    for r in p.requirements:
        assert text[r.start : r.end] == r.text
        assert r.source == "text"
    assert length.family == "length" and length.verifiable
    assert p.base_task == "Write a blog post about tea."


def test_unverifiable_style_requirements_are_marked():
    p = wrl.parse("Write a letter to a friend in a humorous tone for teenagers.")
    types = {r.type: r for r in p.requirements}
    assert set(types) == {"tone", "audience"}
    assert not types["tone"].verifiable and types["tone"].family == "style"


def test_numbered_list_requirements_and_renumbering():
    text = ("Write a speech about recycling with the following requirements:\n"
            "1. Use at least 200 words.\n2. Use a formal tone.\n3. End with a question.")
    p = wrl.parse(text)
    assert [r.type for r in p.requirements] == ["length", "tone", "end_phrase"]
    assert p.drop(["r1"]) == ("Write a speech about recycling with the following requirements:\n"
                              "1. Use a formal tone.\n2. End with a question.")
    assert p.drop(["r1", "r2", "r3"]) == "Write a speech about recycling."


def test_chinese_instruction():
    p = wrl.parse("写一篇关于春天的散文，字数不少于800字，语气要温柔。")
    assert p.script == "zh"
    assert [r.type for r in p.requirements] == ["length", "tone"]
    assert p.requirements[0].params == {"unit": "chars", "relation": "at_least", "value": 800}
    assert p.drop(["r2"]) == "写一篇关于春天的散文，字数不少于800字。"


def test_dropped_parameters_do_not_survive_the_rewrite():
    text = ("Write a story about a fox. Include the keywords 'river' and 'lantern', "
            "and end your response with \"The end.\"")
    p = wrl.parse(text)
    ids = {r.type: r.id for r in p.requirements}
    out = p.drop([ids["keywords"]])
    assert "river" not in out and "lantern" not in out
    assert out == 'Write a story about a fox. End your response with "The end."'
    out = p.drop([ids["end_phrase"]])
    assert "The end" not in out and out.endswith("'lantern'.")


def test_ifeval_structured_input_aligns_to_text():
    with open("examples/ifeval_sample.jsonl") as f:
        row = json.loads(f.readline())
    p = wrl.parse(row["prompt"], instruction_id_list=row["instruction_id_list"], kwargs=row["kwargs"])
    assert [r.type for r in p.requirements] == ["no_commas", "highlighted_sections", "length"]
    assert all(r.source == "structured" for r in p.requirements)
    assert p.requirements[2].params == {"unit": "words", "relation": "at_least", "value": 300}
    located = [r for r in p.requirements if r.start is not None]
    assert located and all(row["prompt"][r.start : r.end] == r.text for r in located)


def test_taxonomy_covers_every_ifeval_id_and_all_families():
    assert len(ifeval_mapping()) == 25
    assert {t.family for t in taxonomy().values()} >= {
        "length", "format", "lexical", "mechanics", "language", "phrase", "style", "content"}
    assert set(ifeval_mapping().values()) <= set(taxonomy())


@pytest.mark.parametrize(
    ("kwargs", "ids", "error"),
    [
        ([{}], ["made:up"], wrl.UnknownInstructionIdError),
        ([{}, {}], ["punctuation:no_comma"], wrl.InvalidRequirementsError),
        ([{"num_words": -5, "relation": "at least"}], ["length_constraints:number_words"],
         wrl.InvalidRequirementsError),
        ([{"keywords": [""]}], ["keywords:existence"], wrl.InvalidRequirementsError),
        ([{"num_words": 3}], ["punctuation:no_comma"], wrl.InvalidRequirementsError),
        ([{}, {}], ["change_case:english_lowercase", "change_case:english_capital"], wrl.InvalidRequirementsError),
    ],
)
def test_bad_structured_input_raises_a_precise_error(kwargs, ids, error):
    with pytest.raises(error) as excinfo:
        wrl.parse("Write a poem.", instruction_id_list=ids, kwargs=kwargs)
    assert isinstance(excinfo.value, ValueError) and str(excinfo.value)


def test_errors_form_one_hierarchy():
    for cls in (wrl.InvalidInstructionError, wrl.InvalidRequirementsError, wrl.UnknownInstructionIdError,
                wrl.InvalidConfigError, wrl.InternalError):
        assert issubclass(cls, wrl.WrlError) and issubclass(cls, ValueError)
        assert cls.__name__ in wrl.__all__


def _account(table: pa.Table, parsed: pa.Table, rejects: pa.Table) -> None:
    assert parsed.num_rows + rejects.num_rows == table.num_rows
    assert set(parsed["id"].to_pylist()).isdisjoint(
        {table["id"][r].as_py() for r in rejects["row"].to_pylist()} - set(parsed["id"].to_pylist()))


def test_bad_rows_are_rejected_with_reasons_and_counted():
    prompts = [
        "Write a haiku about frost. Do not use any commas.",
        "",
        "   \n\t ",
        "a" * (1 << 20),
        ",".join(["x"] * 100_000),
        '"unbalanced quotes everywhere ' * 2000,
        None,
        "Write a haiku about snow.",
    ]
    ids = ["ok", "empty", "blank", "huge", "commas", "quotes", "null", "ok"]
    table = pa.table({"id": ids, "prompt": prompts})
    parsed, rejects = parse_dataset(table, progress=False)
    _account(table, parsed, rejects)
    reasons = dict(zip(rejects["id"].to_pylist(), rejects["reason"].to_pylist(), strict=True))
    assert "empty" in reasons["empty"] and "empty" in reasons["blank"]
    assert "max_bytes" in reasons["huge"] and "null" in reasons["null"]
    assert "duplicate" in rejects.filter(pa.compute.equal(rejects["row"], 7))["reason"][0].as_py()
    assert "max_bytes" in reasons["commas"]
    assert {"ok", "quotes"} <= set(parsed["id"].to_pylist())
    # With the limit raised, pathological text is parsed (in linear time), not crashed.
    parsed, rejects = parse_dataset(table.slice(4, 2), limits=ParseLimits(max_bytes=1 << 22), progress=False)
    assert parsed["id"].to_pylist() == ["commas", "quotes"] and rejects.num_rows == 0


def test_huge_list_is_rejected_or_parsed_without_crash():
    items = "\n".join(f"{i}. Use a formal tone." for i in range(1, 200_001))
    table = pa.table({"id": ["list"], "prompt": [f"Write a memo with these rules:\n{items}"]})
    parsed, rejects = parse_dataset(table, limits=ParseLimits(max_bytes=10_000_000), progress=False)
    assert parsed.num_rows == 0 and rejects.num_rows == 1
    assert "max_requirements" in rejects["reason"][0].as_py()


def test_invalid_utf8_in_a_binary_column_is_a_row_rejection():
    table = pa.table({"id": ["a", "b"], "prompt": pa.array([b"Write a poem.", b"\xff\xfe broken"], pa.binary())})
    parsed, rejects = _core.parse_batch(table)
    assert parsed["id"].to_pylist() == ["a"]
    assert rejects["reason"].to_pylist() == ["invalid instruction: prompt is not valid UTF-8"]


def test_missing_prompt_column_is_a_clear_error():
    with pytest.raises(wrl.InvalidConfigError, match="no \"prompt\" column"):
        _core.parse_batch(pa.table({"text": ["Write a poem."]}))
    with pytest.raises(wrl.InvalidConfigError, match="requirements"):
        _core.drop_batch(pa.table({"id": ["a"], "prompt": ["x"]}))


def _examples() -> pa.Table:
    from wrl.io import read_table

    return read_table(EXAMPLES)


def test_batch_results_do_not_depend_on_thread_count_or_chunking():
    table = _examples()
    one, _ = parse_dataset(table, threads=1, progress=False)
    many, _ = parse_dataset(table, threads=2, progress=False)
    assert one.equals(many)
    settings = DropSettings(strategy="independent", rate=0.5, seed=3, max_variants=3)
    v1, _ = drop_dataset(one, settings, threads=1, progress=False)
    v2, _ = drop_dataset(one.slice(5).take(list(range(one.num_rows - 5))), settings, threads=2, progress=False)
    by_id = {r["variant_id"]: r["prompt"] for r in v1.to_pylist()}
    assert all(by_id[r["variant_id"]] == r["prompt"] for r in v2.to_pylist())


def test_parse_table_matches_single_parse_and_carries_columns():
    table = _examples()
    parsed, rejects = parse_dataset(table, progress=False)
    assert rejects.num_rows == 0 and parsed.num_rows == table.num_rows
    assert parsed["category"].to_pylist() == table["category"].to_pylist()
    for row in parsed.to_pylist()[:10]:
        single = wrl.parse(row["prompt"])
        assert single.base_task == row["base_task"]
        assert [r.type for r in single.requirements] == [r["type"] for r in row["requirements"]]


@pytest.mark.parametrize("strategy", ["independent", "exact_k", "progressive"])
def test_drop_strategies(strategy):
    parsed, _ = parse_dataset(_examples(), progress=False)
    settings = DropSettings(strategy=strategy, rate=0.5, k=1, seed=0, max_variants=3)
    variants, rejects = drop_dataset(parsed, settings, progress=False)
    assert rejects.num_rows == 0
    assert set(variants["id"].to_pylist()) == set(parsed["id"].to_pylist())
    rows = variants.to_pylist()
    full = {r["id"]: r for r in rows if r["variant"] == 0}
    assert all(r["n_dropped"] == 0 and not r["dropped_ids"] for r in full.values())
    for r in rows:
        assert len(r["kept_ids"]) + len(r["dropped_ids"]) == r["n_requirements"]
        assert r["n_dropped"] <= min(3, r["n_requirements"]) if strategy == "progressive" else True
        if strategy == "exact_k" and r["variant"]:
            assert r["n_dropped"] == 1
        if r["variant"]:
            assert r["prompt"] != full[r["id"]]["prompt"]
            assert "  " not in r["prompt"] and " ." not in r["prompt"] and ",." not in r["prompt"]
    # Instructions without requirements pass through as variant 0 only.
    assert [r["variant"] for r in rows if r["id"] == "ex-21"] == [0]


def test_drop_rate_changes_the_amount_dropped():
    parsed, _ = parse_dataset(_examples(), progress=False)

    def mean_dropped(rate: float) -> float:
        v, _ = drop_dataset(parsed, DropSettings(rate=rate, max_variants=1, seed=1), progress=False)
        drops = [r["n_dropped"] / r["n_requirements"] for r in v.to_pylist() if r["variant"]]
        return sum(drops) / len(drops)

    assert mean_dropped(0.2) < mean_dropped(0.9)


def test_bad_drop_config_is_rejected_before_work():
    parsed, _ = parse_dataset(_examples(), progress=False)
    for settings in (dict(rate=-0.1), dict(strategy="sometimes"), dict(max_variants=0), dict(strategy="exact_k", k=0),
                     dict(seed=-1), dict(max_variants=2**62)):
        with pytest.raises(wrl.InvalidConfigError):
            drop_dataset(parsed, DropSettings(**settings), progress=False)


def test_drop_rejects_corrupt_requirement_rows():
    parsed, _ = parse_dataset(_examples().slice(0, 2), progress=False)
    rows = parsed.to_pylist()
    rows[1]["requirements"][0]["end"] = 10_000
    bad = pa.Table.from_pylist(rows, schema=parsed.schema)
    variants, rejects = drop_dataset(bad, progress=False)
    assert rejects["id"].to_pylist() == [rows[1]["id"]]
    assert "past the prompt" in rejects["reason"][0].as_py()
    assert set(variants["id"].to_pylist()) == {rows[0]["id"]}
