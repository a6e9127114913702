"""The LLM judge (wrl/judges/llm.py) on the tiny decoder: KV reuse equals plain forwards, determinism, aggregates,
cut responses, the critic's parser and failures, bad templates and missing models."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from wrl.errors import InvalidConfigError, ModelError
from wrl.judges import JudgeItem, JudgeSpec
from wrl.judges.llm import LlmJudge, Template, parse_critic_score, templates
from wrl.requirements import Requirement

pytest.importorskip("torch")


def req(i: int, text: str) -> Requirement:
    return Requirement(f"r{i}", "no_commas", None, None, text)


ITEMS = [
    JudgeItem("a", "write a poem about rain. use no commas. end with hello.", "rain is the city and the river",
              (req(1, "use no commas."), req(2, "end with hello."))),
    JudgeItem("b", "write a story about a bird in all lowercase letters. include the keyword tree. use at least "
              "three sentences.", "the bird is in the tree. the bird is my friend. hello world.",
              (req(1, "in all lowercase letters."), req(2, "include the keyword tree."),
               req(3, "use at least three sentences."))),
    JudgeItem("c", "write a letter to a friend. answer in english.",
              "hello my friend , this is my letter {about} rain",
              (req(1, "answer in english."),)),
]


def flat(judgments_or_scores: list) -> list[float]:
    return [s for j in judgments_or_scores for s in getattr(j, "requirement_scores", j)]


def spec(model: Path, **kw: object) -> JudgeSpec:
    return JudgeSpec(kind="llm", model=str(model), device="cpu", dtype="float32", **kw)


@pytest.fixture(scope="module")
def judge(tiny_decoder: Path):
    j = LlmJudge("tiny", spec(tiny_decoder))
    yield j
    j.close()


def test_cached_scores_equal_plain_full_forwards(judge) -> None:
    cached = [list(j.requirement_scores) for j in judge.judge(ITEMS)]
    plain = judge.score_uncached(ITEMS)
    assert [len(s) for s in cached] == [2, 3, 1]
    for c, p in zip(cached, plain, strict=True):
        assert c == pytest.approx(p, abs=1e-5)  # (measured: 3e-9)
        assert all(0.0 < s < 1.0 for s in c)
    # the scores differ by far more than the tolerance, so a score read at the wrong token would fail
    assert max(flat(cached)) - min(flat(cached)) > 1e-3


def test_an_instruction_is_encoded_once_for_its_consecutive_responses(tiny_decoder: Path) -> None:
    prompt = "write a poem about rain. use no commas. end with hello."
    reqs = (req(1, "use no commas."), req(2, "end with hello."))
    group = [JudgeItem(f"g{k}", prompt, text, reqs) for k, text in
             enumerate(["rain is the city", "rain , rain , and the river . hello", "the sun"])]
    j = LlmJudge("tiny", spec(tiny_decoder))
    parts = [j.encode_parts(it) for it in group]
    assert parts[0][0] == parts[1][0] == parts[2][0]  # the part before the response is the same
    got = j.judge(group)
    assert j.counters["tokens"] == len(parts[0][0]) + sum(len(own) + sum(map(len, suf)) for _, own, suf in parts)
    assert flat(got) == pytest.approx(flat(j.score_uncached(group)), abs=1e-5)
    # interleaved with another instruction (its cache replaces the kept one), the scores are the same
    mixed = [group[0], ITEMS[1], group[1], ITEMS[0], group[2]]
    again = j.judge(mixed)
    assert flat([again[0], again[2], again[4]]) == pytest.approx(flat(got), abs=1e-6)
    assert flat(again) == pytest.approx(flat(j.score_uncached(mixed)), abs=1e-5)


def test_prefix_is_shared_and_suffixes_hold_the_requirement(judge) -> None:
    prefix, suffixes = judge.encode_item(ITEMS[1])
    tok = judge.tokenizer
    assert tok.decode(prefix).startswith("<|im_start|> user") and tok.decode(prefix).endswith("requirement :")
    assert "bird" in tok.decode(prefix) and "keyword" not in tok.decode(suffixes[0])
    texts = [tok.decode(s) for s in suffixes]
    assert [t.split(" answer")[0] for t in texts] == [
        "in all lowercase letters.", "include the keyword tree.", "use at least three sentences."]
    # each suffix ends the user's turn and opens the assistant's: the next token is the answer
    assert all(t.endswith("<|im_end|> <|im_start|> assistant") for t in texts), texts


def test_deterministic_across_runs_and_batch_sizes(tiny_decoder: Path, judge) -> None:
    first = [j.requirement_scores for j in judge.judge(ITEMS)]
    assert [j.requirement_scores for j in judge.judge(ITEMS)] == first
    one = LlmJudge("tiny1", spec(tiny_decoder, batch_size=1))
    assert flat(one.judge(ITEMS)) == pytest.approx(flat(first), abs=1e-6)
    assert flat(one.score_uncached(ITEMS)) == pytest.approx(flat(judge.score_uncached(ITEMS)), abs=1e-6)


@pytest.mark.parametrize("how", ["mean", "min", "product"])
def test_aggregate_over_requirements(tiny_decoder: Path, how: str) -> None:
    j = LlmJudge("tiny", spec(tiny_decoder, aggregate=how))
    for got in j.judge(ITEMS):
        scores = got.requirement_scores
        want = {"mean": sum(scores) / len(scores), "min": min(scores), "product": math.prod(scores)}[how]
        assert got.failure is None and got.score == pytest.approx(want)


def test_settings_name_what_produced_the_scores(judge) -> None:
    s = judge.settings
    assert s["kind"] == "llm" and s["mode"] == "yes_no" and s["chat_template"] is True and s["kv_cache"] is True
    assert s["template"] == templates()["yes_no"] and s["dtype"] == "float32" and s["device"] == "cpu"
    assert s["yes_tokens"] == ["yes"] and s["no_tokens"] == ["no"]  # the word-level tokenizer lowercases
    assert set(s) >= {"model", "tokenizer", "batch_size", "max_length", "max_new_tokens", "yes_token_ids",
                      "no_token_ids", "aggregate"}


def test_long_responses_are_cut_and_counted(tiny_decoder: Path) -> None:
    j = LlmJudge("tiny", spec(tiny_decoder, max_length=16))
    long = JudgeItem("l", "write a poem.", " ".join(["rain"] * 40), (req(1, "use no commas."),))
    short = JudgeItem("s", "write a poem.", "rain sun", (req(1, "use no commas."),))
    j.judge([long, short, long])
    assert j.counters["responses_cut"] == 2
    prefix, _ = j.encode_item(long)
    assert j.tokenizer.decode(prefix).count("rain") == 16
    # a cut response scores as the same response written short
    cut = JudgeItem("c", "write a poem.", " ".join(["rain"] * 16), (req(1, "use no commas."),))
    assert j.judge([long])[0].score == pytest.approx(j.judge([cut])[0].score, abs=1e-6)


def test_no_requirements_is_a_counted_failure_not_a_crash(judge) -> None:
    got = judge.judge([JudgeItem("e", "write a poem.", "rain", ())])[0]
    assert got.failure == "nothing_judged" and math.isnan(got.score)


@pytest.mark.parametrize(("answer", "score"), [
    ('{"score": 8, "reason": "fine"}', 8.0),
    ('```json\n{"Score": "6"}\n```', 6.0),
    ("Score: 7", 7.0),
    ("**Score:** 9\nThe response is good.", 9.0),
    ("I would give it a score of 4.", 4.0),
    ("score = 10", 10.0),
    ("7/10", 7.0),
    ("It deserves 3 out of 10.", 3.0),
    ("5", 5.0),
    (" 8.5 ", 8.5),
    ("Score: 7/10", 7.0),
    ("Score: 11", None),
    ("Score: 0", None),
    ('{"score": -2}', None),
    ("12/10", None),
    ("Score: N", None),
    ("The response uses 3 commas and 2 paragraphs.", None),
    ("", None),
    ("yes", None),
])
def test_critic_parser(answer: str, score: float | None) -> None:
    assert parse_critic_score(answer) == score


def test_critic_mode_runs_and_counts_unparsed_answers(tiny_decoder: Path) -> None:
    j = LlmJudge("critic", spec(tiny_decoder, mode="critic", max_new_tokens=4, batch_size=2))
    got = j.judge(ITEMS)
    assert len(got) == 3
    # the random tiny model writes no score: every answer is unparsed, every item a counted failure
    assert j.counters["critic_unparsed"] == 6 and j.counters["pairs"] == 6
    assert all(g.failure == "critic_unparsed" and math.isnan(g.score) and g.detail.startswith("requirement r1: ")
               for g in got)
    assert j.settings["kv_cache"] is False and j.settings["yes_token_ids"] is None
    assert [g.detail for g in j.judge(ITEMS)] == [g.detail for g in got]  # greedy: the same answers again


def test_critic_mode_scores_parsed_answers(tiny_decoder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    j = LlmJudge("critic", spec(tiny_decoder, mode="critic", max_new_tokens=2))
    answers = iter(["Score: 8", "5/10", "Score: 2", "9", "Score: 4", "{\"score\": 10}"])
    monkeypatch.setattr(j.tokenizer, "decode", lambda *a, **k: next(answers))
    got = j.judge(ITEMS)
    assert all(g.failure is None for g in got)
    # prompts run longest first, so the answers land in that order: check the set of scores and the counters
    assert sorted(s for g in got for s in g.requirement_scores) == [0.2, 0.4, 0.5, 0.8, 0.9, 1.0]
    assert j.counters["critic_unparsed"] == 0


@pytest.mark.parametrize("text", [
    "Requirement: {requirement}\nInstruction: {instruction}\nResponse: {response}",
    "Instruction: {instruction}\nRequirement: {requirement}\nResponse: {response}",
])
def test_yes_no_template_needs_the_requirement_last(tiny_decoder: Path, text: str) -> None:
    with pytest.raises(InvalidConfigError, match=r"\{requirement\} after \{instruction\} and \{response\}"):
        LlmJudge("bad", spec(tiny_decoder, template=text))
    Template(text, requirement_last=False)  # the critic caches nothing: any order


@pytest.mark.parametrize("text", ["{instruction} {response}", "{instruction} {response} {requirement} {response}"])
def test_template_needs_each_field_once(tiny_decoder: Path, text: str) -> None:
    with pytest.raises(InvalidConfigError, match="exactly once"):
        LlmJudge("bad", spec(tiny_decoder, template=text))


def test_braces_in_texts_are_not_fields(judge) -> None:
    t = Template("{instruction}|{response}|{requirement}")
    assert t.question("a {response} b", "c {requirement}", "d") == "a {response} b|c {requirement}|d"


def test_missing_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such model directory"):
        LlmJudge("gone", spec(tmp_path / "no-model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="holds no model"):
        LlmJudge("empty", spec(tmp_path / "empty"))


def test_a_model_without_a_pad_token_is_judged(tiny_decoder: Path, tmp_path: Path) -> None:
    import shutil

    from transformers import AutoTokenizer

    nopad = tmp_path / "nopad"
    shutil.copytree(tiny_decoder, nopad)
    tok = AutoTokenizer.from_pretrained(nopad)
    tok.pad_token = None
    tok.save_pretrained(nopad)
    j = LlmJudge("nopad", spec(nopad, batch_size=2))
    assert j.tokenizer.pad_token_id is None and j.pad_id == j.tokenizer.eos_token_id
    with_pad = LlmJudge("pad", spec(tiny_decoder, batch_size=2))
    assert flat(j.judge(ITEMS)) == pytest.approx(flat(with_pad.judge(ITEMS)), abs=1e-6)
