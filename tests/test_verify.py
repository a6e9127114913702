"""Rule verifiers: hand-written followed and violated cases for every verifiable type, run through
both the Rust engine and the Python reference; edge cases; the batch API on bad input; the CLI
and the four IFEval figures."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

import wrl
from wrl import _core
from wrl.cli import main
from wrl.requirements import taxonomy
from wrl.verify import ifeval_figures, verify, verify_table
from wrl.verify_reference import verify_reference

W = "word "

# (type, params, followed response, violated response). Several per type, edge cases included.
CASES = [
    ("length", {"unit": "words", "relation": "at_least", "value": 5}, "one two three four five", "one two three four"),
    ("length", {"unit": "words", "relation": "less_than", "value": 3}, "one two", "one two three"),
    ("length", {"unit": "words", "relation": "at_most", "value": 3}, "one, two-three!", "one two three four"),
    ("length", {"unit": "words", "relation": "more_than", "value": 2}, "it's fine", "it is"),
    ("length", {"unit": "words", "relation": "exactly", "value": 4}, "春天来了", "春天来"),
    ("length", {"unit": "words", "relation": "about", "value": 100}, W * 110, W * 111),
    ("length", {"unit": "words", "relation": "about", "value": 100}, W * 90, W * 89),
    # Sentences as IFEval's punkt counts them: "e.g." ends one, list lines without punctuation run on.
    ("length", {"unit": "sentences", "relation": "less_than", "value": 3}, "One. Two, for example this.",
     "One. Two, e.g. this."),
    ("length", {"unit": "sentences", "relation": "at_least", "value": 3}, "One. Two! Three?", "Intro:\n- a\n- b\n- c"),
    ("length", {"unit": "sentences", "relation": "exactly", "value": 3}, 'He said "Stop!" Then he left. Fine.',
     "Wait! What?"),
    ("length", {"unit": "paragraphs", "relation": "exactly", "value": 3, "separator": "***"},
     "A\n***\nB\n***\nC", "A\n\nB\n\nC"),
    ("length", {"unit": "paragraphs", "relation": "exactly", "value": 2, "separator": "***"},
     "***\nA\n***\nB\n***", "A\n***\n\n***\nB"),
    ("length", {"unit": "paragraphs", "relation": "at_least", "value": 2}, "A\n\n  \nB", "A\nB"),
    ("length", {"unit": "chars", "relation": "at_most", "value": 4}, "a b\nc\td", "a b c d e"),
    ("bullet_points", {"relation": "exactly", "value": 2}, "* one\n- two", "* one\n- two\n* three"),
    ("bullet_points", {"relation": "exactly", "value": 2}, "Intro\n  * nested\n- dash\n**Bold**", "1. one\n2. two"),
    ("bullet_points", {"relation": "exactly", "value": 1}, "- only", "• not markdown"),
    ("highlighted_sections", {"relation": "at_least", "value": 2}, "*one* and **two**", "*one* and ** **"),
    ("highlighted_sections", {"relation": "at_least", "value": 1}, "**bold**", "* not\nclosed*"),
    ("sections", {"splitter": "SECTION", "value": 2}, "SECTION 1\na\nSECTION 2\nb", "SECTION 1\na\nSection 2"),
    ("sections", {"splitter": "Section", "value": 2}, "Section 1 a Section2 b", "Section one, Section two"),
    ("sections", {"value": 2}, "section 1 ... SECTION 2", "chapter 1 ... chapter 2"),
    ("paragraph_first_word", {"num_paragraphs": 2, "nth": 2, "first_word": "then"}, "First.\n\n\"Then, more.",
     "First.\n\nNow."),
    ("paragraph_first_word", {"num_paragraphs": 2, "nth": 1, "first_word": "Hello"}, "hello!\n\nbye",
     "hello!\n\nbye\n\nagain"),
    ("paragraph_first_word", {"nth": 2, "first_word": "b"}, "A\r\n\r\nB", "A\nB"),
    ("json_format", {}, "```json\n{\"a\": {\"b\": [1, {\"c\": null}]}}\n```", "{\"a\": 1"),
    ("json_format", {}, "  [1, 2, 3]  ", "```json\n{\"a\": NaN}\n```"),
    ("json_format", {}, "```\n{}\n```", "Sure:\n```json\n{}\n```"),
    ("title", {}, "Body text.\n<<A Title On The Last Line>>", "<<   >> and <<\n>>"),
    ("title", {}, "<<Poem of joy>>\nLa la", "«Poem of joy»"),
    ("constrained_response", {}, "My answer is maybe.", "my answer is yes"),
    ("constrained_response", {"options": ["Option A", "Option B"]}, "I pick Option B.", "I pick option b."),
    ("two_responses", {}, "First answer\n******\nSecond answer", "Same\n******\nSame"),
    ("two_responses", {}, "******\nA\n******\nB\n******", "A\n******\n\n******\nB"),
    ("keywords", {"keywords": ["River", "moon"]}, "The river and the MOON.", "The river only."),
    ("keywords", {"keywords": ["café"]}, "Un CAFÉ noir.", "Un cafe noir."),
    ("keyword_frequency", {"keyword": "cat", "relation": "less_than", "value": 2}, "A cat.", "A cat and a cat."),
    ("keyword_frequency", {"keyword": "cat", "relation": "at_least", "value": 2}, "Cat, catalog.", "One cat."),
    ("forbidden_words", {"words": ["bad", "ugly"]}, "Badge, ugly_duckling.", "That is BAD."),
    ("forbidden_words", {"words": ["bad"]}, "Not b.a.d at all", "so... bad!"),
    ("letter_frequency", {"letter": "z", "relation": "at_least", "value": 2}, "Zig zag", "Zig"),
    ("letter_frequency", {"letter": "e", "relation": "less_than", "value": 2}, "Be", "Bee"),
    ("lowercase", {}, "all lower, 123 — ünïcode.", "Not lower"),
    ("lowercase", {}, "ß and σ", "12345"),
    ("uppercase", {}, "ALL UPPER 123 — ÜBER", "ALL UPPEr"),
    ("capital_word_frequency", {"relation": "at_most", "value": 1}, "ONE word here", "ONE TWO words"),
    ("capital_word_frequency", {"relation": "at_least", "value": 3}, "NASA, (ESA) and \"JAXA\".", "NASA and Esa"),
    ("capital_word_frequency", {"relation": "less_than", "value": 2}, "I think", "I AM here"),
    ("no_commas", {}, "No commas here; none.", "Commas，even fullwidth ones"),
    ("no_commas", {}, "Semicolons; colons: fine", "a, b"),
    ("quotation", {}, " \"quoted\" ", "\"open only"),
    ("quotation", {}, "\"multi\nline\"", "“curly quotes”"),
    ("response_language", {"language": "de"},
     "Das ist ein kurzer Satz auf Deutsch, und er ist ganz einfach zu lesen.",
     "This is a short sentence in English, and it is easy to read."),
    ("response_language", {"language": "en"}, "12345 !!!", "Ceci est une phrase en français, écrite pour tester."),
    ("response_language", {"language": "ja"}, "これは日本語の文章です。とても簡単です。",
     "这是一个中文句子，非常简单。"),
    ("start_phrase", {"phrase": "Dear Sir"}, "\"dear sir, hello", "Hello dear sir"),
    ("end_phrase", {"phrase": "Any other questions?"}, "Done. Any other questions?\"", "Any other questions? Bye."),
    ("end_phrase", {"phrase": "¿Algo más?"}, "Hola. ¿ALGO MÁS?", "Hola. Algo más?"),
    ("postscript", {"marker": "P.S."}, "Hi.\n\nP.S. bye", "Hi. PS bye"),
    ("postscript", {"marker": "P.P.S"}, "Hi.\nP. P. S more", "Hi.\nP.S. more"),
    ("postscript", {"marker": "Note:"}, "Hi.\nNOTE: x", "Hi. Notes x"),
    ("placeholders", {"relation": "at_least", "value": 2}, "[name] at [address]", "[name] at\n[address\n]"),
    ("repeat_prompt", {"prompt": "Write a poem."}, "  write a POEM. Roses...", "Sure! Write a poem."),
]


def _ids(case):
    return f"{case[0]}:{json.dumps(case[1], ensure_ascii=False)}"


def _rust_strict(response, rtype, params):
    return verify(response, [{"type": rtype, "params": params}])[0]


def _ref_strict(response, rtype, params):
    return verify_reference(response, [(rtype, params)])[0][1]


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_followed_and_violated_in_both_engines(case):
    rtype, params, good, bad = case
    g = _rust_strict(good, rtype, params)
    assert g.strict is True and g.status == "followed", g.reason
    assert _ref_strict(good, rtype, params) is True
    b = _rust_strict(bad, rtype, params)
    assert b.strict is False and b.status == "violated", b.reason
    assert _ref_strict(bad, rtype, params) is False


def test_every_verifiable_type_has_cases():
    covered = {c[0] for c in CASES}
    assert covered == {name for name, t in taxonomy().items() if t.verifiable}


def test_less_than_is_a_real_strict_comparison():
    for rtype, params, text in [
        ("length", {"unit": "words", "relation": "less than", "value": 3}, "one two three"),
        ("keyword_frequency", {"keyword": "x", "relation": "less_than", "value": 1}, "x"),
        ("letter_frequency", {"letter": "a", "relation": "less_than", "value": 3}, "aaa"),
        ("capital_word_frequency", {"relation": "less_than", "value": 1}, "OK"),
        ("length", {"unit": "sentences", "relation": "less_than", "value": 1}, "One."),
    ]:
        v = _rust_strict(text, rtype, params)
        assert v.strict is False and v.loose is False, (rtype, v.reason)
        assert "< " in v.reason
        assert _ref_strict(text, rtype, params) is False


def test_reasons_say_what_was_found_and_needed():
    v = _rust_strict(W * 412, "length", {"unit": "words", "relation": "at_least", "value": 500})
    assert v.reason == "412 words, needs ≥ 500"
    v = _rust_strict("* a\n* b", "bullet_points", {"value": 3})
    assert v.reason == "2 bullet points, needs exactly 3"


@pytest.mark.parametrize("response", ["", " ", "\n\t  \n"])
def test_empty_response_follows_nothing(response):
    for rtype, params, _, _ in CASES:
        v = _rust_strict(response, rtype, params)
        assert (v.strict, v.loose) == (False, False), rtype
        assert verify_reference(response, [(rtype, params)])[0][1:3] == (False, False)


def test_loose_variants():
    p = {"phrase": "The end."}
    v = _rust_strict("Story. The end.\nHope this helps!", "end_phrase", p)
    assert (v.strict, v.loose, v.loose_variant) == (False, True, "without_last_line")
    v = _rust_strict("Sure, here it is:\nall lowercase text", "lowercase", {})
    assert (v.strict, v.loose, v.loose_variant) == (False, True, "without_first_line")
    v = _rust_strict("**Dear** Sir, hello", "start_phrase", {"phrase": "Dear Sir"})
    assert (v.strict, v.loose, v.loose_variant) == (False, True, "no_asterisks")
    v = _rust_strict("Title\n\"quoted body\"\nBye", "quotation", {})
    assert v.loose_variant == "without_first_and_last_lines"
    # Nothing rescues a comma in the middle line.
    v = _rust_strict("a\nb, c\nd", "no_commas", {})
    assert (v.strict, v.loose) == (False, False)


def test_non_verifiable_requirements_are_reported_not_guessed():
    vs = verify("A warm note.", [{"type": "tone", "params": {"tone": "warm"}},
                                 {"type": "response_language", "params": {"language": "sw"}},
                                 {"type": "no_commas"}])
    assert [v.status for v in vs] == ["not_verifiable", "not_verifiable", "followed"]
    assert vs[0].strict is None and vs[0].loose is None


@pytest.mark.parametrize("rtype,params", [
    ("length", {"unit": "words", "relation": "at_least", "value": -1}),
    ("length", {"unit": "words", "relation": "at_least"}),
    ("keywords", {"keywords": [""]}),
    ("keyword_frequency", {"keyword": "", "relation": "at_least", "value": 1}),
    ("forbidden_words", {"words": []}),
    ("letter_frequency", {"letter": "xy", "relation": "at_least", "value": 1}),
    ("bullet_points", {"value": 10 ** 12}),
    ("paragraph_first_word", {"num_paragraphs": 1, "nth": 3, "first_word": "x"}),
    ("response_language", {"language": "not a language"}),
    ("no_such_type", {}),
])
def test_bad_parameters_raise_a_precise_error(rtype, params):
    with pytest.raises(wrl.InvalidRequirementsError):
        verify("text", [{"type": rtype, "params": params}])


def test_ifeval_input_and_mismatched_kwargs():
    v = verify("Hello world", instruction_id_list=["punctuation:no_comma", "length_constraints:number_words"],
               kwargs=[{}, {"num_words": 2, "relation": "at least"}])
    assert [x.strict for x in v] == [True, True]
    assert v[1].instruction_id == "length_constraints:number_words"
    with pytest.raises(wrl.InvalidRequirementsError):
        verify("x", instruction_id_list=["punctuation:no_comma"], kwargs=[{"num_words": 3}])
    with pytest.raises(wrl.UnknownInstructionIdError):
        verify("x", instruction_id_list=["made:up"], kwargs=[{}])


def test_prompt_parsed_on_the_fly():
    v = verify("roses are red", prompt="Write a poem about roses. Do not use any commas.")
    assert any(x.type == "no_commas" and x.strict for x in v)


def test_batch_bad_input_is_a_rejected_row_never_a_crash():
    big = "a " * (5 << 20)  # 10 MB
    table = pa.table({
        "id": [str(i) for i in range(8)],
        "response": pa.array([b"fine, ok", big.encode(), b"\xff\xfe bad utf8", None, b"x", b"x", b"x", b"x"],
                             pa.binary()),
        "instruction_id_list": [["punctuation:no_comma"]] * 4 + [["length_constraints:number_words"],
                                                                ["keywords:existence"], ["punctuation:no_comma"],
                                                                ["made:up"]],
        "kwargs": ["[{}]"] * 4 + ['[{"num_words": -5, "relation": "at least"}]', '[{"keywords": [""]}]',
                                  '[{"num_words": 3}]', "[{}]"],
    })
    results, rejects = verify_table(table)
    # A bad kwarg makes its requirement invalid, with the reason; the row is verified, not rejected.
    assert results["row"].to_pylist() == [0, 4, 5, 6]
    assert results["status"].to_pylist() == ["violated", "invalid", "invalid", "invalid"]
    invalid = results["reason"].to_pylist()[1:]
    assert "-5" in invalid[0] and "non-empty" in invalid[1] and "does not belong" in invalid[2]
    kinds = dict(zip(rejects["row"].to_pylist(), rejects["reason_kind"].to_pylist(), strict=True))
    assert kinds == {1: "invalid_response", 2: "invalid_response", 3: "invalid_response", 7: "unknown_instruction_id"}
    reasons = dict(zip(rejects["row"].to_pylist(), rejects["reason"].to_pylist(), strict=True))
    assert "over the limit" in reasons[1] and "UTF-8" in reasons[2]
    assert set(rejects.column_names) == {"row", "id", "stage", "reason_kind", "reason"}


def test_batch_from_parsed_requirements_and_threads_agree():
    parsed, _ = wrl.parse_table(pa.table({"prompt": ["Write a haiku. Use at least 5 words and no commas.",
                                                    "Write a note in a warm tone."] * 100}))
    responses = ["Autumn moon rises over still water", "Dear friend, I hope you are well"] * 100
    table = parsed.append_column("response", pa.array(responses))
    one, rej1 = verify_table(table, threads=1)
    many, rej2 = verify_table(table, threads=0)
    assert one.equals(many) and rej1.num_rows == rej2.num_rows == 0
    statuses = set(one["status"].to_pylist())
    assert {"followed", "not_verifiable"} <= statuses


# A small IFEval-format file of prompts and responses whose per-instruction verdicts were worked
# out by hand from IFEval's instructions.py and evaluation_lib.py.
IFEVAL_ROWS = [
    # strict: [F (comma), T, T]; loose same -> prompt F/F.
    ({"key": 1, "prompt": "Summarize. No commas, 3 highlights, 30+ words.",
      "instruction_id_list": ["punctuation:no_comma", "detectable_format:number_highlighted_sections",
                              "length_constraints:number_words"],
      "kwargs": [{}, {"num_highlights": 3}, {"relation": "at least", "num_words": 30}]},
     "Raymond III *Early life* *Regency* *Death*, " + W * 30, [False, True, True], [False, True, True]),
    # strict F (preamble line), loose T via without_first_line.
    ({"key": 2, "prompt": "Write in lowercase.", "instruction_id_list": ["change_case:english_lowercase"],
      "kwargs": [{}]},
     "Sure! Here you go:\nall of this is lowercase.", [False], [True]),
    # title on the last line: T; end phrase followed by a sign-off: strict F, loose T.
    ({"key": 3, "prompt": "Title it and end with 'Is there anything else I can help with?'.",
      "instruction_id_list": ["detectable_format:title", "startend:end_checker"],
      "kwargs": [{}, {"end_phrase": "Is there anything else I can help with?"}]},
     "Body.\nIs there anything else I can help with?\n<<The Title>>", [True, False], [True, True]),
    # two responses, json in fences, placeholders.
    ({"key": 4, "prompt": "Two answers.", "instruction_id_list": ["combination:two_responses"], "kwargs": [{}]},
     "Answer one.\n******\nAnswer two.", [True], [True]),
    ({"key": 5, "prompt": "JSON please.", "instruction_id_list": ["detectable_format:json_format",
                                                                   "detectable_content:number_placeholders"],
      "kwargs": [{}, {"num_placeholders": 2}]},
     "```json\n{\"name\": \"[name]\", \"city\": {\"x\": \"[city]\"}}\n```", [True, True], [True, True]),
    # paragraphs with *** dividers: 3 of 3; first word of paragraph 2 is wrong.
    ({"key": 6, "prompt": "Three paragraphs.", "instruction_id_list": ["length_constraints:number_paragraphs",
                                                                        "length_constraints:nth_paragraph_first_word"],
      "kwargs": [{"num_paragraphs": 3}, {"num_paragraphs": 1, "nth_paragraph": 1, "first_word": "alpha"}]},
     "Alpha one.\n***\nBeta two.\n***\nGamma three.", [True, True], [True, True]),
    # repeat the prompt, then answer; a postscript.
    ({"key": 7, "prompt": "Repeat: Write a limerick. Add P.S.",
      "instruction_id_list": ["combination:repeat_prompt", "detectable_content:postscript"],
      "kwargs": [{"prompt_to_repeat": "Write a limerick."}, {"postscript_marker": "P.S."}]},
     "write a limerick. There once was a cat.\n\nP.S. meow", [True, True], [True, True]),
    # bullets: 3 needed, 2 given; quotation wrapping.
    ({"key": 8, "prompt": "Bullets and quotes.", "instruction_id_list": ["detectable_format:number_bullet_lists",
                                                                          "startend:quotation"],
      "kwargs": [{"num_bullets": 3}, {}]},
     "\"* one\n- two\"", [False, True], [False, True]),
]


def _write_ifeval_file(path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row, response, _, _ in IFEVAL_ROWS:
            f.write(json.dumps({**row, "response": response}) + "\n")


def _expected_figures():
    strict = [s for _, _, ss, _ in IFEVAL_ROWS for s in ss]
    loose = [s for _, _, _, ls in IFEVAL_ROWS for s in ls]
    return {
        "prompt_strict": sum(all(ss) for _, _, ss, _ in IFEVAL_ROWS) / len(IFEVAL_ROWS),
        "instruction_strict": sum(strict) / len(strict),
        "prompt_loose": sum(all(ls) for _, _, _, ls in IFEVAL_ROWS) / len(IFEVAL_ROWS),
        "instruction_loose": sum(loose) / len(loose),
    }


def test_per_instruction_verdicts_match_ifeval(tmp_path):
    path = tmp_path / "responses.jsonl"
    _write_ifeval_file(path)
    results, rejects = verify_table(wrl.io.read_table(path))
    assert rejects.num_rows == 0
    by_row: dict[int, list[tuple[bool, bool]]] = {}
    for r in results.to_pylist():
        by_row.setdefault(r["row"], []).append((r["strict"], r["loose"]))
    for i, (_, _, strict, loose) in enumerate(IFEVAL_ROWS):
        assert [s for s, _ in by_row[i]] == strict, (i, by_row[i])
        assert [lo for _, lo in by_row[i]] == loose, (i, by_row[i])


def test_cli_verify_reproduces_the_four_ifeval_figures(tmp_path):
    path = tmp_path / "responses.jsonl"
    _write_ifeval_file(path)
    out, metrics = tmp_path / "results.parquet", tmp_path / "figures.json"
    res = CliRunner().invoke(main, ["verify", str(path), str(out), "--metrics", str(metrics)])
    assert res.exit_code == 0, res.output
    assert "IFEval figures" in res.output and "overall" in res.output
    figs = json.loads(metrics.read_text())
    for name, value in _expected_figures().items():
        assert figs["overall"][name] == pytest.approx(value), name
    assert figs["overall"]["prompts"] == len(IFEVAL_ROWS)
    assert figs["by_instruction_id"]["startend:end_checker"]["instruction_loose"] == 1.0
    assert figs["by_type"]["no_commas"]["instruction_strict"] == 0.0
    assert wrl.io.read_table(out).num_rows == sum(len(r[2]) for r in IFEVAL_ROWS)
    by_id = CliRunner().invoke(main, ["verify", str(path), str(out), "--by", "instruction_id"])
    assert "detectable_format:title" in by_id.output


def test_figures_skip_unverifiable_requirements():
    table = pa.table({"response": ["hi there", "Hello, you"],
                      "requirements": [json.dumps([{"type": "tone", "params": {"tone": "warm"}}]),
                                       json.dumps([{"type": "no_commas"}, {"type": "tone", "params": {}}])]})
    results, _ = verify_table(table)
    figs = ifeval_figures(results)["overall"]
    assert figs["prompts"] == 1 and figs["instructions"] == 1 and figs["not_verifiable"] == 2
    assert figs["prompt_strict"] == 0.0


def test_language_detection_is_deterministic():
    text = "Esto es una frase en español para probar la detección del idioma."
    assert {_core.detect_language(text) for _ in range(5)} == {"es"}
    assert _core.detect_language("") is None


def test_language_detection_reads_the_same_first_characters_in_both_engines():
    from wrl.verify_reference import LANGUAGE_SAMPLE_CHARS

    fr = "Ceci est une phrase en français, écrite pour tester la détection de la langue. " * 20
    en = " This is a long English tail, which the language detector never reads at all." * 100
    assert len(fr) < LANGUAGE_SAMPLE_CHARS < len(fr + en)
    assert _core.detect_language(fr + en) == _core.detect_language((fr + en)[:LANGUAGE_SAMPLE_CHARS]) == "fr"
    for lang, followed in (("fr", True), ("en", False)):
        req = [("response_language", {"language": lang})]
        assert verify(fr + en, [{"type": t, "params": p} for t, p in req])[0].strict is followed
        assert verify_reference(fr + en, req)[0][1] is followed
    # The cap counts characters, not bytes: 2,000 "é" are read, not 1,000.
    sample = "é" * LANGUAGE_SAMPLE_CHARS
    assert _core.detect_language(sample * 2) == _core.detect_language(sample)


def test_batch_rows_sharing_requirements_get_each_their_own_verdicts():
    # Rows repeat a requirement list (compiled once per batch), conflicting lists are rejected on
    # every row that has them, and repeated responses share language detection: nothing leaks.
    good = json.dumps([{"type": "response_language", "params": {"language": "fr"}}, {"type": "no_commas"}])
    bad = json.dumps([{"type": "lowercase"}, {"type": "uppercase"}])
    fr = "Ceci est une phrase en français, écrite pour tester la détection de la langue."
    en = "This is a sentence in English, written to test how the language is detected."
    responses = [fr, en, fr, "Hello", fr, "*" + fr + "*\nP.S. ok", en]
    reqs = [good, good, good, bad, bad, good, good]
    for threads in (1, 2):
        results, rejects = verify_table(pa.table({"response": responses, "requirements": reqs}), threads=threads)
        assert sorted(rejects["row"].to_pylist()) == [3, 4]
        assert all("conflict" in r for r in rejects["reason"].to_pylist())
        got = {}
        for r in results.to_pylist():
            verdict = (r["status"], r["strict"], r["loose"], r["loose_variant"], r["reason"])
            got.setdefault(r["row"], []).append(verdict)
        for row in (0, 1, 2, 5, 6):
            one = verify(responses[row], json.loads(reqs[row]))
            assert got[row] == [(v.status, v.strict, v.loose, v.loose_variant, v.reason) for v in one]
