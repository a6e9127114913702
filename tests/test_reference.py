"""The pure-Python reference engine (wrl.reference) agrees with the Rust engine (wrl._core).

Property tests draw instructions from a grammar of task sentences and requirement phrases (English
and Chinese, sentences, numbered/bulleted/inline lists, quotes, apostrophes, parentheses), mutate
them character by character, or draw arbitrary text, and check that both engines give the same
parse (or the same error), the same rewrites for random sets of dropped requirements, and the same
drop variants for every strategy. Every row of the example files is checked too, and a few cases
are checked by hand.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wrl
from wrl import _core, reference
from wrl.requirements import DropSettings, ParseLimits

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [ROOT / "examples" / "instructions.jsonl", ROOT / "examples" / "ifeval_sample.jsonl"]
# WRL_REFERENCE_EXAMPLES=5000 for a thorough run (the default keeps the suite under a minute).
FAST = settings(max_examples=int(os.environ.get("WRL_REFERENCE_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------------------------
# Comparing the engines
# ---------------------------------------------------------------------------------------------


def _outcome(fn: Any) -> tuple:
    try:
        return ("ok", fn())
    except wrl.WrlError as e:
        return ("error", type(e).__name__, str(e))


def assert_same_parse(text: str, *, exact_message: bool = True, **kwargs: Any) -> wrl.ParsedInstruction | None:
    rust = _outcome(lambda: wrl.parse(text, **kwargs))
    ref = _outcome(lambda: reference.parse(text, **kwargs))
    if not exact_message and rust[0] == ref[0] == "error":
        rust, ref = rust[:2], ref[:2]
    assert ref == rust, f"parse disagrees on {text!r} {kwargs}"
    return rust[1] if rust[0] == "ok" else None


def assert_same_rewrite(parsed: wrl.ParsedInstruction, dropped: list[str]) -> None:
    rust = wrl.rewrite(parsed.text, parsed.requirements, dropped)
    ref = reference.rewrite(parsed.text, parsed.requirements, dropped)
    assert ref == rust, f"rewrite disagrees on {parsed.text!r} dropping {dropped}"


def assert_same_drop(parsed: wrl.ParsedInstruction, key: str, drop_settings: DropSettings) -> None:
    table = pa.table({
        "id": [key],
        "prompt": [parsed.text],
        "requirements": pa.array([[reference._requirement_row(r) for r in parsed.requirements]],
                                 reference._PARSED_SCHEMA.field("requirements").type),
    })
    rust, rust_rejects = wrl.drop_table(table, drop_settings, threads=1)
    ref, ref_rejects = reference.drop_table(table, drop_settings)
    assert ref.equals(rust), f"drop disagrees on {parsed.text!r} with {drop_settings}"
    assert ref_rejects.equals(rust_rejects)
    variants = reference.drop(parsed.text, parsed, key, drop_settings)
    assert [v["prompt"] for v in variants] == rust["prompt"].to_pylist()
    assert [v["dropped"] for v in variants] == rust["dropped_ids"].to_pylist()


drop_settings_strategy = st.builds(
    DropSettings,
    strategy=st.sampled_from(["independent", "exact_k", "progressive"]),
    rate=st.sampled_from([0.0, 0.2, 0.5, 0.9, 1.0]),
    k=st.integers(1, 4),
    seed=st.integers(0, 2**64 - 1),
    max_variants=st.integers(1, 6),
)


def check_everything(data: st.DataObject, text: str) -> None:
    """Parse, rewrite a random subset, and drop with random settings: both engines agree."""
    parsed = assert_same_parse(text)
    if parsed is None:
        return
    ids = [r.id for r in parsed.requirements]
    dropped = data.draw(st.lists(st.sampled_from(ids), unique=True) if ids else st.just([]), label="dropped")
    assert_same_rewrite(parsed, dropped)
    assert_same_drop(parsed, data.draw(st.text(max_size=8), label="key"), data.draw(drop_settings_strategy))


# ---------------------------------------------------------------------------------------------
# A grammar of instructions
# ---------------------------------------------------------------------------------------------

TASKS_EN = [
    "Write a poem about rain",
    "Write a short story about a lighthouse keeper who finds a message in a bottle",
    "Compose an essay on why cities should plant more trees",
    "Explain how vaccines train the immune system",
    "Draft an email to a landlord asking for a broken heater to be repaired",
    "Describe the water cycle",
    "Tell me about the history of tea",
    "Please write a blog post about urban gardening",
    "Can you summarize the plot of Hamlet",
    "I am planning a trip to Japan, and I would like you to write an itinerary for my journey",
    "Create a product description for a smart water bottle",
    "Give me a list of tips for new runners",
    "Write a limerick about a cat who loves jazz",
    "Now, rewrite the following paragraph: 'It's raining.'",
    "Write a speech for a school board meeting in favour of later start times",
    "Generate a recipe for banana bread (e.g. with walnuts)",
    "Write a riddle about a cat",
]
TASKS_ZH = [
    "写一篇关于春天的散文",
    "为社区图书馆写一篇倡议书",
    "写一篇介绍长城历史的文章",
    "给客户写一封道歉信",
    "请你写一首关于大海的诗",
    "帮我写一份产品说明",
]
NUMBERS = ["1", "2", "3", "5", "12", "50", "100", "300", "1,200", "two", "three", "five", "ten", "twenty", "a hundred",
           "A  Hundred", "Two", "one\u00a0hundred", "007", "99999999999999999999", "0"]
RELATIONS = ["at least", "at most", "exactly", "less than", "more than", "no more than", "no less than", "about",
             "fewer than", "up to", "a minimum of", "a maximum of", "under", "over", "", "At  Least", "AT MOST"]
WORDS = ["river", "lantern", "hope", "shade", "biodiversity", "moon", "kettle", "it's", "co-op", "Paris"]
LANGS = ["English", "French", "German", "Spanish", "Japanese", "Chinese", "Hindi", "Swahili"]
TONES = ["formal", "humorous", "warm", "polite but firm", "playful", "serious and calm", "lighthearted"]
AUDIENCES = ["beginners", "ten-year-olds", "experts", "high school students", "busy parents", "the general public"]
PERSONAS = ["pirate", "concerned parent", "medieval scholar", "tour guide", "detective", "grumpy cat"]
STYLES = ["vivid imagery", "metaphors", "short sentences", "dialogue", "rhetorical questions", "the first person"]
PHRASES = ["Is there anything else I can help with?", "The light stayed on.", "Happy growing!", "Any questions?",
           "Bye.", "That's all"]
QUOTES = [("'", "'"), ('"', '"'), ("“", "”"), ("‘", "’"), ("«", "»")]
OPENERS, CLOSERS = ['"', "“", "'"], ['"', "”", "'"]
ZH_NUMBERS = ["3", "5", "100", "300", "800", "三", "五", "两", "一百", "八百"]
ZH_WORDS = ["退款", "改进", "春天", "感谢", "希望"]


@st.composite
def quoted(draw: st.DrawFn, words: list[str] = WORDS) -> str:
    o, c = draw(st.sampled_from(QUOTES))
    return o + draw(st.sampled_from(words)) + c


@st.composite
def word_list(draw: st.DrawFn) -> str:
    items = draw(st.lists(st.one_of(quoted(), st.sampled_from(WORDS)), min_size=1, max_size=4))
    if len(items) == 1:
        return items[0]
    joiner = draw(st.sampled_from([", ", " and ", ", and "]))
    return ", ".join(items[:-1]) + (" and " if joiner != ", " else ", ") + items[-1]


@st.composite
def requirement_en(draw: st.DrawFn) -> str:
    n = draw(st.sampled_from(NUMBERS))
    rel = draw(st.sampled_from(RELATIONS))
    rel_ = (rel + " ") if rel else ""
    w = draw(quoted())
    templates = [
        lambda: f"Use {rel_}{n} words",
        lambda: f"Keep it under {n} words",
        lambda: f"Your response should contain {rel_}{n} sentences",
        lambda: f"The answer must be {rel_}{n} paragraphs long",
        lambda: f"Answer in {n}+ words",
        lambda: f"Write {n} words or more",
        lambda: draw(st.sampled_from(["Do not use any commas", "Don't use commas", "no commas at all",
                                      "Avoid commas", "Refrain from using any commas"])),
        lambda: f"Include the keywords {draw(word_list())}",
        lambda: f"Use the words {draw(word_list())}",
        lambda: f"Avoid the words {draw(word_list())}",
        lambda: f"Do not use the word {draw(st.sampled_from(WORDS))}",
        lambda: f"The word {w} should appear {rel_}{n} times",
        lambda: f"Use the word {w} {rel_}{n} times",
        lambda: f"The letter '{draw(st.sampled_from('qzxA'))}' should appear {rel_}{n} times",
        lambda: f"Respond in {draw(st.sampled_from(LANGS))}",
        lambda: f"Your entire response should be in {draw(st.sampled_from(LANGS))}, no other language is allowed",
        lambda: f"Use a {draw(st.sampled_from(TONES))} tone",
        lambda: f"The tone should be {draw(st.sampled_from(TONES))}",
        lambda: f"Write it in a {draw(st.sampled_from(TONES))} way",
        lambda: f"for an audience of {draw(st.sampled_from(AUDIENCES))}",
        lambda: f"Make it suitable for {draw(st.sampled_from(AUDIENCES))}",
        lambda: f"Write as if you were a {draw(st.sampled_from(PERSONAS))}",
        lambda: f"Adopt the voice of a {draw(st.sampled_from(PERSONAS))}",
        lambda: f"Use {draw(st.sampled_from(STYLES))}",
        lambda: "Write in the style of Ernest Hemingway",
        lambda: "End your response with " + draw(st.sampled_from(OPENERS)) + draw(st.sampled_from(PHRASES))
                + draw(st.sampled_from(CLOSERS)),
        lambda: f"Start your answer with {draw(quoted(PHRASES))}",
        lambda: "End with a question",
        lambda: "Include a title wrapped in double angular brackets, such as <<my title>>",
        lambda: "Add a catchy title",
        lambda: f"Highlight {rel_}{n} sections with markdown, i.e. *highlighted section*",
        lambda: f"Your answer must contain {rel_}{n} bullet points",
        lambda: f"Use a bulleted list with {n} items",
        lambda: f"Include {rel_}{n} placeholders represented by square brackets, such as [address]",
        lambda: "At the end of your response, please explicitly add a postscript starting with P.S.",
        lambda: "Add a postscript",
        lambda: "Wrap the entire output in JSON format",
        lambda: "Your entire response should be in English, and in all lowercase letters",
        lambda: "Your answer should be in all capital letters",
        lambda: "Wrap your entire response with double quotation marks",
        lambda: f"Your response must have {n} sections. Mark the beginning of each section with SECTION X",
        lambda: "First repeat the request word for word without change, then give your answer",
        lambda: "Give two different responses separated by 6 asterisk symbols ******",
        lambda: "Answer with one of the following options: (\"My answer is yes.\", \"My answer is no.\")",
        lambda: f"Use {rel_}{n} words in all capital letters",
        lambda: f"Paragraph {n} must start with the word {w}",
        lambda: f"The {draw(st.sampled_from(['first', 'second', 'last', '3rd']))} paragraph should begin with {w}",
        lambda: "Cover " + draw(st.sampled_from(["the sleep research and the impact on grades", "cost and speed"])),
        lambda: "Make sure it's fun",
        lambda: "Please be concise",
        lambda: "Mention the keyword " + draw(st.sampled_from(WORDS)),
    ]
    return draw(st.sampled_from(templates))()


@st.composite
def requirement_zh(draw: st.DrawFn) -> str:
    n = draw(st.sampled_from(ZH_NUMBERS))
    w = draw(st.sampled_from(ZH_WORDS))
    o, c = draw(st.sampled_from([("“", "”"), ('"', '"'), ("「", "」")]))
    templates = [
        f"字数不少于{n}字", f"字数不超过{n}字", f"全文约{n}字", f"不超过{n}字", f"分为{n}段", f"写{n}段",
        "不要使用任何逗号", f"包含关键词{o}{w}{c}和{o}退款{c}", f"不要使用{o}{w}{c}", f"{o}{w}{c}出现至少{n}次",
        "请用中文回答", "用英语写", "语气要温柔", "语气正式一些", "面向小学生家长", "以客服经理的口吻",
        "运用比喻", f"以{o}谢谢阅读{c}结尾", f"以{o}你好{c}开头", "加上标题", f"用{n}个要点", "分为3个部分",
        "涵盖修建背景和历史意义等方面", "风格要幽默", "全部使用小写", "以问句结尾", f"第2段以{o}{w}{c}开头",
    ]
    return draw(st.sampled_from(templates))


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


@st.composite
def instruction_en(draw: st.DrawFn) -> str:
    task = draw(st.sampled_from(TASKS_EN))
    reqs = draw(st.lists(requirement_en(), max_size=5))
    layout = draw(st.sampled_from(["sentences", "joined", "numbered", "bulleted", "inline", "task_clause"]))
    end = draw(st.sampled_from([".", ".", "!", "", "?"]))
    if layout == "sentences":
        out = task + "."
        for r in reqs:
            out += draw(st.sampled_from([" ", " ", "  ", "\n", "\n\n", " \n"])) + _cap(r) + end
        return out
    if layout == "joined":
        out = task + ". "
        for i, r in enumerate(reqs):
            out += r if i == 0 else draw(st.sampled_from([", and ", " and ", "; ", ", ", " but ", ", and also "])) + r
        return out + end
    if layout == "task_clause":
        return task + "".join(" " + r for r in reqs[:2]) + "." + "".join(" " + _cap(r) + "." for r in reqs[2:])
    lead = task + draw(st.sampled_from([" with the following requirements:", ". Follow these rules:", ":",
                                         ", following these constraints:", " according to the following criteria:"]))
    if layout == "inline":
        return lead + "".join(f" {i}. {_cap(r)}{end}" for i, r in enumerate(reqs, 1))
    if layout == "numbered":
        fmt = draw(st.sampled_from(["{i}. ", "{i}) ", "({i}) ", "{i}.\t"]))
        start = draw(st.sampled_from([1, 1, 2]))
        items = [fmt.format(i=i) + _cap(r) + end for i, r in enumerate(reqs, start)]
    else:
        bullet = draw(st.sampled_from(["- ", "* ", "• "]))
        items = [bullet + _cap(r) + end for r in reqs]
    sep = draw(st.sampled_from(["\n", "\n\n", "\r\n"]))
    return lead + sep + sep.join(items) + draw(st.sampled_from(["", "\nThanks!", "\n\nKeep it simple."]))


@st.composite
def instruction_zh(draw: st.DrawFn) -> str:
    task = draw(st.sampled_from(TASKS_ZH))
    reqs = draw(st.lists(requirement_zh(), max_size=5))
    layout = draw(st.sampled_from(["commas", "sentences", "numbered"]))
    if layout == "commas":
        out = task
        for r in reqs:
            out += draw(st.sampled_from(["，", "，并且", "并", "、", "；", "，，", "abc并", " and "])) + r
        return out + draw(st.sampled_from(["。", "", "！"]))
    if layout == "sentences":
        return task + "。" + "".join(r + "。" for r in reqs)
    fmt = draw(st.sampled_from(["{i}. ", "{i}、", "（{i}）", "- "]))
    return task + "，要求如下：\n" + "\n".join(fmt.format(i=i) + r + "。" for i, r in enumerate(reqs, 1))


INTERESTING = list(" \t\n'\"“”‘’«»「」()（）[].,;:!?。，、；：！？-*•·0123456789") + [
    "e.g.", "i.e.", "Dr.", "don't", "it's", "P.S.", " and ", " but ", ", and ", "并且", "Use ", "Make sure ",
    "\u00a0", "\u3000", "\x1c", "\x1f", "\u0345", "K", "İ", "Σ", "ſ", "²", "\u200d", "ª", "ʰ", "'s", "'", "\"",
    "，，", ", ,", ". ª", ".\x1c", "!\x1fUse", "use's", ", use's ", "Keep it's",
]


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    text = draw(base)
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(INTERESTING))
        if action == "insert":
            text = text[:pos] + piece + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 5)):]
        else:
            text = text[:pos] + piece + text[pos + 1:]
    return text


instructions = st.one_of(instruction_en(), instruction_zh())
soup = st.lists(st.sampled_from(INTERESTING + list("abcUse tonwrd写字要")), max_size=40).map("".join)


# ---------------------------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------------------------


@FAST
@given(st.data(), instructions)
def test_generated_instructions_agree(data: st.DataObject, text: str) -> None:
    check_everything(data, text)


@FAST
@given(st.data(), mutated(instructions))
def test_mutated_instructions_agree(data: st.DataObject, text: str) -> None:
    check_everything(data, text)


@FAST
@given(st.data(), st.text())
def test_arbitrary_text_agrees(data: st.DataObject, text: str) -> None:
    check_everything(data, text)


@FAST
@given(st.data(), soup)
def test_punctuation_soup_agrees(data: st.DataObject, text: str) -> None:
    check_everything(data, text)


@st.composite
def text_with_spans(draw: st.DrawFn) -> tuple[str, list[wrl.Requirement]]:
    text = draw(st.one_of(mutated(instructions), st.text(max_size=40),
                          st.lists(st.sampled_from(INTERESTING + list("abc写字")), max_size=30).map("".join)))
    reqs = []
    for i in range(draw(st.integers(0, 5))):
        start = draw(st.one_of(st.none(), st.integers(0, len(text) + 2)))
        end = None if start is None else draw(st.integers(max(0, start - 2), len(text) + 2))
        rid = f"r{draw(st.integers(1, 4))}" if draw(st.integers(0, 5)) == 0 else f"r{i + 1}"
        reqs.append(wrl.Requirement(rid, draw(st.sampled_from(["tone", "length", "keywords"])), start, end,
                                    "" if start is None else text[start:end], {}, "text"))
    return text, reqs


@FAST
@given(st.data(), text_with_spans())
def test_rewrite_of_arbitrary_spans_agrees(data: st.DataObject, case: tuple[str, list[wrl.Requirement]]) -> None:
    """Rewriting and tidying any text without any spans: the parser is out of the loop."""
    text, reqs = case
    ids = sorted({r.id for r in reqs})
    dropped = data.draw(st.lists(st.sampled_from(ids), unique=True) if ids else st.just([]))
    rust = wrl.rewrite(text, reqs, dropped)
    assert reference.rewrite(text, reqs, dropped) == rust
    if text.strip() and all(r.end is None or r.end <= len(text) for r in reqs) and all(
            r.start is None or r.end is None or r.start <= r.end for r in reqs):
        parsed = wrl.ParsedInstruction(text, "", "", tuple(reqs))
        assert_same_drop(parsed, data.draw(st.text(max_size=4)), data.draw(drop_settings_strategy))


@FAST
@given(st.one_of(st.text(), soup, mutated(instructions)))
def test_segmentation_agrees(text: str) -> None:
    rust = json.loads(_core.segment_json(text))
    doc = reference.segment(text)
    # Rust reports byte offsets: convert to code points.
    to_char = {}
    b = 0
    for i, ch in enumerate(text):
        to_char[b] = i
        b += len(ch.encode())
    to_char[b] = len(text)
    sentences = [
        {"start": to_char[s["start"]], "body_end": to_char[s["body_end"]], "end": to_char[s["end"]], "item": s["item"],
         "clauses": [[to_char[x] for x in c] for c in s["clauses"]]}
        for s in rust["sentences"]
    ]
    items = [{**i, "marker_start": to_char[i["marker_start"]], "marker_end": to_char[i["marker_end"]]}
             for i in rust["items"]]
    assert [
        {"start": s.start, "body_end": s.body_end, "end": s.end, "item": s.item,
         "clauses": [[c.conn_start, c.start, c.end] for c in s.clauses]}
        for s in doc.sentences
    ] == sentences
    assert [{"marker_start": i.marker_start, "marker_end": i.marker_end, "number": i.number, "list": i.list}
            for i in doc.items] == items


def _ifeval_ids() -> list[str]:
    return [i for i, _, _ in json.loads(_core.taxonomy_json())["ifeval"]]


def _ifeval_kwargs() -> list[tuple[str, str, str]]:
    return [tuple(x) for x in json.loads(_core.taxonomy_json())["ifeval_kwargs"]]


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 2_000_000), st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["at least", "less than", "At  Most", "fr", "French", "x", "", " ", "Q", "SECTION", "P.S."]),
    st.text(max_size=6),
)
json_values = st.one_of(
    json_scalars, st.lists(st.one_of(st.sampled_from(["river", " moon ", ""]), st.text(max_size=4)), max_size=3)
)


@st.composite
def ifeval_row(draw: st.DrawFn) -> tuple[list[str], list[Any]]:
    ids = draw(st.lists(st.one_of(st.sampled_from(_ifeval_ids()), st.just("made:up")), max_size=4))
    kwargs_table = _ifeval_kwargs()
    kwargs: list[Any] = []
    for rid in ids:
        keys = [k for i, k, _ in kwargs_table if i == rid]
        kw = {k: draw(json_values) for k in keys if draw(st.booleans())}
        if draw(st.integers(0, 9)) == 0:
            kw[draw(st.sampled_from(["num_words", "bogus", "relation"]))] = draw(json_values)
        kwargs.append(draw(st.sampled_from([kw, kw, kw, None, [1]])))
    if draw(st.integers(0, 9)) == 0:
        kwargs.append({})
    return ids, kwargs


@FAST
@given(st.data(), st.one_of(instructions, st.sampled_from(["", "  ", "Write a poem."])), ifeval_row())
def test_ifeval_input_agrees(data: st.DataObject, text: str, row: tuple[list[str], list[Any]]) -> None:
    ids, kwargs = row
    parsed = assert_same_parse(text, instruction_id_list=ids, kwargs=kwargs)
    if parsed is not None:
        assert_same_rewrite(parsed, data.draw(st.lists(st.sampled_from([r.id for r in parsed.requirements]))
                                              if parsed.requirements else st.just([])))


def _type_names() -> list[str]:
    return [t["name"] for t in json.loads(_core.taxonomy_json())["types"]]


@st.composite
def requirement_list(draw: st.DrawFn, text: str) -> list[Any]:
    out: list[Any] = []
    for _ in range(draw(st.integers(0, 4))):
        item: dict[str, Any] = {"type": draw(st.one_of(st.sampled_from(_type_names()), st.just("vibes")))}
        if draw(st.booleans()):
            item["params"] = draw(st.one_of(
                st.dictionaries(st.sampled_from(["unit", "relation", "value", "tone", "keywords"]), json_values,
                                max_size=3),
                st.just({"unit": "words", "relation": "at_least", "value": 500}),
                st.just({"unit": "words", "relation": "less_than", "value": 300}),
                json_scalars,
            ))
        if draw(st.booleans()) and text:
            a = draw(st.integers(0, len(text)))
            item["text"] = text[a: a + draw(st.integers(0, 30))]
        out.append(draw(st.sampled_from([item, item, item, "not an object", {"params": {}}])))
    return out


@FAST
@given(st.data(), instructions)
def test_explicit_requirement_lists_agree(data: st.DataObject, text: str) -> None:
    reqs = data.draw(requirement_list(text))
    parsed = assert_same_parse(text, requirements=reqs)
    if parsed is not None:
        ids = [r.id for r in parsed.requirements]
        assert_same_rewrite(parsed, data.draw(st.lists(st.sampled_from(ids)) if ids else st.just([])))
        assert_same_drop(parsed, "k", data.draw(drop_settings_strategy))


@FAST
@given(instructions, st.integers(1, 400), st.integers(1, 6))
def test_limits_agree(text: str, max_bytes: int, max_requirements: int) -> None:
    assert_same_parse(text, limits=ParseLimits(max_bytes=max_bytes, max_requirements=max_requirements))


# ---------------------------------------------------------------------------------------------
# Every example row, and the batch functions
# ---------------------------------------------------------------------------------------------


def _example_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for path in EXAMPLES for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("row", _example_rows(), ids=lambda r: str(r.get("id", r.get("key"))))
def test_example_rows_agree(row: dict[str, Any]) -> None:
    import itertools

    parsed = assert_same_parse(row["prompt"])
    ids = [r.id for r in parsed.requirements]
    for n in range(len(ids) + 1):
        for dropped in itertools.combinations(ids, n):
            assert_same_rewrite(parsed, list(dropped))
    for strategy in ("independent", "exact_k", "progressive"):
        assert_same_drop(parsed, str(row.get("id", row.get("key"))), DropSettings(strategy=strategy, max_variants=6))
    if "instruction_id_list" in row:
        assert_same_parse(row["prompt"], instruction_id_list=row["instruction_id_list"], kwargs=row["kwargs"])


# Edge cases met while writing the reference: each is checked with every subset of drops.
TRICKY = [
    "Write a poem.\n\nUse a formal tone. Do not use any commas.\nEnd with a question.",
    "Write a poem. Use a formal tone.\n\n\nDo not use any commas.\nThanks.",
    "写一篇关于春天的散文，字数不少于3字，风格要幽默！",
    "Write a memo. Use éno commas. Keep it under 5 words.",
    "Write a story. Respond in French. ªnd use a formal tone.",
    "Write a story.\x1cUse a formal tone. Do not use any commas.",
    "Write a list with these rules: 1. Use a formal tone. 2. Avoid commas. 3) Respond in German.",
    "Write a speech with the following requirements:\n2. Use at least 200 words.\n3. Use a formal tone.",
    "Write a note with the following requirements:\n(1) Use a formal tone.\n(2) Do not use any commas.",
    "Write a poem, and use's a formal tone, and do not use any commas.",
    "给客户写一封道歉信，要求如下：\n1、以客服经理的口吻。\n2、字数不超过300字。",
    "Write a haiku. Use the words 'river', \"moon\" and lantern. Avoid the words sad, bad.",
    "Write a story about 'Bob's day'. End your response with 'That's all.' Use a formal tone.",
    "Explain tides (use simple words, e.g. moon). Keep it under 100 words; do not use any commas.",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_cases_agree(text: str) -> None:
    import itertools

    parsed = assert_same_parse(text)
    ids = [r.id for r in parsed.requirements]
    for n in range(len(ids) + 1):
        for dropped in itertools.combinations(ids, n):
            assert_same_rewrite(parsed, list(dropped))
    for strategy in ("independent", "exact_k", "progressive"):
        assert_same_drop(parsed, text[:5], DropSettings(strategy=strategy, max_variants=6))


def _example_table() -> pa.Table:
    from wrl.io import read_table

    return read_table(str(EXAMPLES[0]))


def test_parse_table_and_drop_table_agree() -> None:
    table = _example_table()
    extra = pa.table({
        "id": ["bad-1", "bad-2", "ex-01", "bad-4"],
        "category": ["x", "x", "x", "x"],
        "prompt": ["  ", "Write a poem. Do not use any commas.", "Write a haiku.", None],
    })
    table = pa.concat_tables([table, extra])
    rust, rust_rejects = wrl.parse_table(table)
    ref, ref_rejects = reference.parse_table(table)
    assert ref.equals(rust, check_metadata=True)
    assert ref_rejects.equals(rust_rejects)
    for strategy in ("independent", "exact_k", "progressive"):
        s = DropSettings(strategy=strategy, rate=0.4, k=2, seed=11, max_variants=5)
        rust_v, rust_r = wrl.drop_table(rust, s)
        ref_v, ref_r = reference.drop_table(rust, s)
        assert ref_v.equals(rust_v) and ref_r.equals(rust_r)


def test_ifeval_table_agrees() -> None:
    rows = [json.loads(line) for line in EXAMPLES[1].read_text().splitlines()]
    table = pa.Table.from_pylist([
        {"id": str(r["key"]), "prompt": r["prompt"], "instruction_id_list": r["instruction_id_list"],
         "kwargs": json.dumps(r["kwargs"])}
        for r in rows
    ])
    rust, rust_rejects = wrl.parse_table(table)
    ref, ref_rejects = reference.parse_table(table)
    assert ref.equals(rust) and ref_rejects.equals(rust_rejects)


def test_bad_drop_settings_raise_the_same_errors() -> None:
    parsed = wrl.parse("Write a poem. Use a formal tone.")
    for s in (DropSettings(rate=1.5), DropSettings(rate=float("nan")), DropSettings(strategy="sometimes")):
        with pytest.raises(wrl.InvalidConfigError) as rust:
            wrl.drop_table(pa.table({"id": ["a"], "prompt": [parsed.text], "requirements": [[]]}), s)
        with pytest.raises(wrl.InvalidConfigError) as ref:
            reference.drop(parsed.text, parsed, "a", s)
        assert str(ref.value) == str(rust.value)


# ---------------------------------------------------------------------------------------------
# The reference by hand
# ---------------------------------------------------------------------------------------------


def test_reference_parses_a_typical_instruction() -> None:
    text = ("Write a blog post about urban gardening for beginners. Use at least 300 words, and do not use any "
            "commas. Include the keywords 'compost' and 'balcony'. End your response with \"Happy growing!\"")
    p = reference.parse(text)
    assert [r.type for r in p.requirements] == ["audience", "length", "no_commas", "keywords", "end_phrase"]
    assert p.requirements[1].text == "Use at least 300 words"
    assert p.requirements[1].params == {"relation": "at_least", "unit": "words", "value": 300}
    assert p.requirements[3].params == {"keywords": ["compost", "balcony"]}
    assert all(text[r.start : r.end] == r.text for r in p.requirements)
    assert p.base_task == "Write a blog post about urban gardening."
    assert reference.rewrite(text, p.requirements, ["r3", "r4"]) == (
        "Write a blog post about urban gardening for beginners. Use at least 300 words. "
        "End your response with \"Happy growing!\""
    )


def test_reference_spans_are_code_points() -> None:
    text = "写一篇散文，字数不少于800字。请用中文回答。"
    p = reference.parse(text)
    assert [(r.type, r.text) for r in p.requirements] == [
        ("length", "字数不少于800字"), ("response_language", "请用中文回答")]
    assert p.requirements[0].start == 6 and p.script == "zh"
    assert p.base_task == "写一篇散文。"


def test_reference_renumbers_lists_and_removes_emptied_lead_in() -> None:
    text = ("Write an essay about bees with the following requirements:\n"
            "1. Use at least 300 words.\n2. Use a formal tone.\n3. Do not use any commas.")
    p = reference.parse(text)
    assert reference.rewrite(text, p.requirements, ["r2"]) == (
        "Write an essay about bees with the following requirements:\n1. Use at least 300 words.\n"
        "2. Do not use any commas."
    )
    assert p.base_task == "Write an essay about bees."


def test_reference_segments_quotes_abbreviations_and_inline_lists() -> None:
    text = "Write a poem, e.g. a sonnet. End with \"Any questions?\". Don't use commas!"
    doc = reference.segment(text)
    assert [text[s.start : s.end] for s in doc.sentences] == [
        "Write a poem, e.g. a sonnet.", "End with \"Any questions?\".", "Don't use commas!"]
    text = "Write a story with these requirements: 1. Use a formal tone. 2. End with 'Bye.'"
    doc = reference.segment(text)
    assert len(doc.items) == 2 and text[doc.sentences[2].start : doc.sentences[2].end] == "End with 'Bye.'"


def test_reference_tidy() -> None:
    assert reference.tidy("Write a story  about cats .") == "Write a story about cats."
    assert reference.tidy("Your response should be in English, and ") == "Your response should be in English"
    assert reference.tidy("a poem ( ) about , , rain") == "a poem about, rain"


def test_reference_structured_errors() -> None:
    with pytest.raises(wrl.UnknownInstructionIdError, match="made:up"):
        reference.parse("Write a poem.", instruction_id_list=["made:up"], kwargs=[{}])
    with pytest.raises(wrl.InvalidRequirementsError, match="is not a count"):
        reference.parse("Write a poem.", instruction_id_list=["length_constraints:number_words"],
                        kwargs=[{"num_words": -3, "relation": "at least"}])
    with pytest.raises(wrl.InvalidRequirementsError, match="conflicting"):
        reference.parse("Write a poem.", requirements=[{"type": "lowercase"}, {"type": "uppercase"}])


def test_reference_rng_known_values() -> None:
    assert reference.fnv1a(b"") == 0xCBF29CE484222325
    assert reference.fnv1a(b"a") == 0xAF63DC4C8601EC8C
    assert reference.Rng(0).next_u64() == 0xE220A8397B1DCDAF
    assert sorted(reference.Rng.for_key(1, "k").sample(10, 10)) == list(range(10))


def test_reference_unicode_predicates_follow_rust() -> None:
    from wrl.reference import _is_alnum, _is_lower, _lower, _split_whitespace, _trim

    # Python's str methods disagree with Rust's char methods on these.
    assert _trim("\x1c a \x1c") == "\x1c a \x1c" and "\x1c a".strip() == "a"
    assert _split_whitespace("a\u00a0b\x1fc") == ["a", "b\x1fc"]
    assert _is_alnum("\u0345") and not "\u0345".isalnum()  # Other_Alphabetic
    assert not _is_alnum("_") and _is_alnum("²")
    assert _is_lower("ª") and _lower("ΑΣ Σ") == "ας σ"
