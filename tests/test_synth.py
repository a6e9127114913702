"""wrl.synth: the synthetic instruction generator and its data files."""

from __future__ import annotations

import json
import string
from collections import Counter, defaultdict

import pyarrow as pa
import pytest

from wrl import InvalidConfigError
from wrl.io import write_table
from wrl.requirements import parse_dataset, taxonomy
from wrl.synth import CATEGORIES, generator, synthesize

ALL_TYPES = set(taxonomy())
EN = generator._POOLS["en"]
TASKS = generator._TASKS
DATA_FILES = ("tasks_en.yaml", "tasks_zh.yaml", "templates_en.yaml", "templates_zh.yaml", "pools_en.yaml",
              "pools_zh.yaml", "requirements.yaml")


@pytest.fixture(scope="module")
def synth5k() -> pa.Table:
    return synthesize(5000, seed=0)


def _golds(table: pa.Table) -> list[list[dict]]:
    return [json.loads(g) for g in table["gold_requirements"].to_pylist()]


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
    with pytest.raises(InvalidConfigError, match="zh_share"):
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
    pools = EN["keywords"] + EN["start_phrases"] + EN["end_phrases"] + EN["first_words"]
    assert not [w for w in pools if set(w.lower()) & set(EN["rare_letters"])]
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
        keys = [k for k in generator._TEMPLATES["en"] if k.split("/")[0] == rtype]
        assert sum(len(generator._TEMPLATES["en"][k]) for k in keys) >= 3, rtype
    trace: list = []
    generator._generate(5000, 0, 0.15, 0, trace)
    used = defaultdict(set)
    for _, rtype, key, tpl, lang in trace:
        used[(rtype, lang)].add((key, tpl))
    for rtype in ALL_TYPES:
        assert len(used[(rtype, "en")]) >= 3, rtype
    assert sum(len(v) for (_, lang), v in used.items() if lang == "zh") >= 60


def test_base_tasks_hold_no_requirement():
    """Subjects and genres must not trigger the parser, or the gold would miss what the task says."""
    en, zh = TASKS["en"], TASKS["zh"]
    rows = [f"{verb} a poem about rain." for verb in en["verbs"]]
    rows += [zh["tasks"]["creative"].format(verb=verb, measure="首", subject="春天的雨", noun="诗") + "。"
             for verb in zh["verbs"]]
    for c in CATEGORIES:
        prep = en["prepositions"][c]
        for art, noun in en["genres"][c]:
            head = f"{art} {noun}".strip()
            for s in en["subjects"][c]:
                rows += [f"Write {head}{prep}{s}.", en["question"].format(head=head, prep=prep, subject=s)]
        for m, g in zh["genres"][c]:
            for s in zh["subjects"][c]:
                rows += [zh["tasks"][c].format(verb="写", measure=m, subject=s, noun=g) + "。",
                         zh["question"].format(measure=m, subject=s, noun=g)]
    parsed, rejects = parse_dataset(pa.table({"prompt": rows}), progress=False)
    assert rejects.num_rows == 0
    found = [(p, r) for p, r in zip(parsed["prompt"].to_pylist(), parsed["requirements"].to_pylist(), strict=True)
             if r]
    assert not found, found[:5]


# --- the data files -------------------------------------------------------------------------------


def test_data_files_are_the_package_files():
    """Every YAML file of the package is loaded (and so a dep of the data stage through ``wrl/synth``)."""
    from importlib import resources

    names = {f.name for f in resources.files("wrl.synth").iterdir() if f.name.endswith(".yaml")}
    assert names == set(DATA_FILES)


# Empty strings the data means: a bare count ("" before the number), the article of a plural genre,
# and numeral 0 (the numerals are indexed by value).
EMPTY_ALLOWED = {("pools_en.yaml", "relation_phrases"), ("tasks_en.yaml", "genres"), ("pools_zh.yaml", "numerals")}


def _leaves(value, path):
    if isinstance(value, dict):
        yield path, value
        for key, v in value.items():
            yield from _leaves(v, path + (key,))
    elif isinstance(value, list):
        yield path, value
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    else:
        yield path, value


@pytest.mark.parametrize("name", DATA_FILES)
def test_every_pool_is_non_empty(name):
    for path, value in _leaves(generator._load(name), ()):
        assert value is not None, (name, path)
        if isinstance(value, (dict, list)):
            assert len(value) > 0, (name, path)
        elif isinstance(value, str) and (name, path[0]) not in EMPTY_ALLOWED:
            assert value, (name, path)


def test_data_files_name_known_categories_and_types():
    for lang in ("en", "zh"):
        tasks = TASKS[lang]
        assert set(tasks["genres"]) == set(tasks["subjects"]) == set(CATEGORIES), lang
        assert {key.split("/")[0] for key in generator._TEMPLATES[lang]} <= ALL_TYPES, lang
    assert set(TASKS["en"]["prepositions"]) == set(EN["topics"]) == set(TASKS["zh"]["tasks"]) == set(CATEGORIES)
    spec = generator._load("requirements.yaml")
    assert sorted(spec["types"]) == sorted(ALL_TYPES)
    named = set(spec["not_in_zh"]) | set(spec["foreign_conflicts"]) | set(spec["conflicts"])
    named |= {t for others in spec["conflicts"].values() for t in others}
    named |= {key.split("/")[0] for key in list(spec["relations"]) + list(spec["relations_zh"])}
    assert named <= ALL_TYPES
    for lang, templates in generator._TEMPLATES.items():
        for key, entries in templates.items():
            for text, relations in entries:
                # A phrasing for any relation writes it ({rel}), unless the type's relation is implied.
                assert relations is None or "{rel}" not in text, (lang, key, text)


def test_every_template_placeholder_is_filled(synth5k):
    """Every phrasing of both languages is drawn in the sample, and so formatted with every slot it
    names (a missing one raises KeyError); no slot or brace is left in any prompt."""
    trace: list = []
    columns = generator._generate(5000, 0, 0.15, 0, trace)
    drawn = {(lang, key, i) for _, _, key, i, lang in trace}
    every = {(lang, key, i) for lang, templates in generator._TEMPLATES.items()
             for key, entries in templates.items() for i in range(len(entries))}
    assert every - drawn == set()
    slots = {field for templates in generator._TEMPLATES.values() for entries in templates.values()
             for text, _ in entries for _, field, _, _ in string.Formatter().parse(text) if field}
    assert slots and not [p for p in columns["prompt"] if "{" in p or "}" in p]
    assert columns["prompt"] == synth5k["prompt"].to_pylist()
