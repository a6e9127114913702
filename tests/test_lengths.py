"""Length ranges, lines and speaking time end to end: parsed from a prompt in Python, verified in Rust,
and scored by the parser accuracy report (a range against IFEval's pair of bounds)."""

from __future__ import annotations

import json

import pyarrow as pa

from wrl.parser_eval import comparable, parser_accuracy
from wrl.requirements import parse
from wrl.verify import verify


def _lengths(prompt: str) -> list[dict]:
    return [dict(r.params) for r in parse(prompt).requirements if r.type == "length"]


def test_a_parsed_range_is_one_requirement_verified_with_both_bounds():
    for prompt, params in [
        ("Write a product blurb of 5 to 8 words.", {"unit": "words", "relation": "between", "min": 5, "max": 8}),
        ("写一句5-8字的口号。", {"unit": "chars", "relation": "between", "min": 5, "max": 8}),
    ]:
        assert _lengths(prompt) == [params]
    responses = ("Bright.", "Fresh bread, baked daily, right here.", "one two three four five six seven eight nine")
    statuses = [verify(r, prompt="Write a product blurb of 5 to 8 words.")[0].status for r in responses]
    assert statuses == ["violated", "followed", "violated"]
    assert verify("Bright.", [{"type": "length", "params": {"unit": "words", "relation": "between", "min": 5,
                                                             "max": 8}}])[0].reason == "1 word, needs between 5 and 8"


def test_speaking_time_uses_the_rate_of_the_requirement():
    [params] = _lengths("Write a 2-minute speech about courage.")
    assert params == {"unit": "minutes", "relation": "about", "value": 2}
    speech = "word " * 300  # 2 minutes at the default 150 words a minute
    assert verify(speech, [{"type": "length", "params": params}])[0].status == "followed"
    slow = {**params, "words_per_minute": 100}
    assert verify(speech, [{"type": "length", "params": slow}])[0].status == "violated"
    assert _lengths("写一篇演讲稿，时长15-20分钟。") == [
        {"unit": "minutes", "relation": "between", "min": 15, "max": 20}]


def test_length_polarity_regressions():
    assert _lengths("I don't want anything longer than 30 words.") == [
        {"unit": "words", "relation": "at_most", "value": 30}]
    assert _lengths("Please provide less than a total of 10 sentences in your entire answer.") == [
        {"unit": "sentences", "relation": "less_than", "value": 10}]
    assert _lengths("Include at least 20 words in all capital letters.") == []
    assert _lengths("Not a single word in your reply should contain lowercase letters.") == []


def test_scoring_pairs_bounds_into_ranges():
    assert comparable([{"unit": "words", "relation": "at_most", "value": 200}]) == [
        {"unit": "words", "relation": "less_than", "value": 201}]
    gold = [{"type": "length", "params": {"unit": "sentences", "relation": "at_least", "value": 20}},
            {"type": "length", "params": {"unit": "sentences", "relation": "less_than", "value": 31}}]
    found = [{"type": "length", "params": json.dumps({"unit": "sentences", "relation": "between", "min": 20,
                                                      "max": 30})}]
    acc = parser_accuracy(pa.table({"requirements": [found], "gold_requirements": [json.dumps(gold)]}))
    assert (acc["by_type"]["length"]["matched"], acc["by_type"]["length"]["params_exact"]) == (1, 1.0)
