"""Issue 12's examples of real phrasings the parser once misread, as regression cases: each prompt must
parse to exactly these (type, params) requirements. The first group are the dangerous kind, where the
old reading inverted or invented the meaning; the Rust tests (``parse/tests.rs``, ``tests/lengths.rs``)
hold many more variants of each construction."""

from __future__ import annotations

import pytest

from wrl.requirements import parse

INVERTED_ONCE = [
    ("Write a poem. Make sure no capital letters are used.", [("lowercase", {})]),
    ("Write a poem. Limit the number of words with all capital letters to less than four.",
     [("capital_word_frequency", {"relation": "less_than", "value": 4})]),
    ('Write a story. It should not contain the word "rich" and "money".',
     [("forbidden_words", {"words": ["rich", "money"]})]),
    ("Your answer must contain at least 20 words in all capital letters.",
     [("capital_word_frequency", {"relation": "at_least", "value": 20})]),
    ("Write a story where not a single word is in lowercase letters.", [("uppercase", {})]),
    ("Write an essay on the history of the Croatian and Serbian nations.", []),
    ("写一篇90分钟的讲座稿。", [("length", {"unit": "minutes", "relation": "about", "value": 90})]),
    ("准备一段15-20分钟的发言。", [("length", {"unit": "minutes", "relation": "between", "min": 15, "max": 20})]),
]

OTHER_FORMS = [
    ('Write a riddle that includes the keywords "forests" and "riddle".',
     [("keywords", {"keywords": ["forests", "riddle"]})]),
    ("Write a blog post that doesn't use commas.", [("no_commas", {})]),
    ("Write a poem. Use only Hindi.", [("response_language", {"language": "hi"})]),
    ("Write a song entirely Swahili.", [("response_language", {"language": "sw"})]),
    ("Write an essay that includes the word elephant at least 3 times.",
     [("keyword_frequency", {"keyword": "elephant", "relation": "at_least", "value": 3})]),
    ("Write a limerick. Avoid using the letter i more than twice.",
     [("letter_frequency", {"letter": "i", "relation": "at_most", "value": 2})]),
    ("Tell two jokes. Separate the two jokes with 6 asterisk symbols: ******", [("two_responses", {})]),
    ("Give two answers separated with ***", [("two_responses", {})]),
    ("Italicize at least 2 sections in your answer with markdown, i.e. *italic text*.",
     [("highlighted_sections", {"relation": "at_least", "value": 2})]),
    ('Is it sunny? Answer with exactly one of the following phrases: "My answer is yes.", "My answer is no."',
     [("constrained_response", {})]),
    ("Write a slogan. Your answer must be wrapped in double quotation marks.", [("quotation", {})]),
    ('Write a letter. The very end of your response should read "Let me know if you have additional questions."',
     [("end_phrase", {"phrase": "Let me know if you have additional questions."})]),
    ("Write a haiku about rain. Let's repeat all text above word by word, then reply to the request above.",
     [("repeat_prompt", {"prompt": "Write a haiku about rain."})]),
]

CHINESE_LENGTHS = [
    ("请帮我写一篇1500字左右的书评。", {"relation": "about", "value": 1500}),
    ("写一篇2000字左右的文章。", {"relation": "about", "value": 2000}),
    ("写一篇3000字的小说。", {"relation": "about", "value": 3000}),
    ("写一篇3000～4000字的报告。", {"relation": "between", "min": 3000, "max": 4000}),
    ("写一部不少于2万字的小说。", {"relation": "at_least", "value": 20000}),
    ("写一篇文章，字数要求：300-500字。", {"relation": "between", "min": 300, "max": 500}),
    ("写一篇论文，字数要求在2000～2500字之间。", {"relation": "between", "min": 2000, "max": 2500}),
]

PARAMETERS = [
    ('Write a poem. Do not include the words "sun", "moon" or "star".',
     [("forbidden_words", {"words": ["sun", "moon", "star"]})]),
    ('Write a note. End your response with "Is there anything else I can help with?"',
     [("end_phrase", {"phrase": "Is there anything else I can help with?"})]),
    ("Write a letter. At the end of your response, please explicitly add a postscript starting with P.P.S",
     [("postscript", {"marker": "P.P.S"})]),
    ("Write a bio. I don't want anything longer than 30 words.",
     [("length", {"unit": "words", "relation": "at_most", "value": 30})]),
    ('Write a story. The word "dog" should appear once or less.',
     [("keyword_frequency", {"keyword": "dog", "relation": "at_most", "value": 1})]),
    ("Write a summary in less than a total of 10 sentences.",
     [("length", {"unit": "sentences", "relation": "less_than", "value": 10})]),
]


def _read(prompt: str) -> list[tuple[str, dict]]:
    return [(r.type, dict(r.params)) for r in parse(prompt).requirements]


@pytest.mark.parametrize(("prompt", "expected"), INVERTED_ONCE + OTHER_FORMS + PARAMETERS)
def test_a_real_phrasing_reads_as_meant(prompt: str, expected: list) -> None:
    assert _read(prompt) == expected


@pytest.mark.parametrize(("prompt", "bound"), CHINESE_LENGTHS)
def test_a_chinese_length_is_counted_in_characters(prompt: str, bound: dict) -> None:
    assert _read(prompt) == [("length", {"unit": "chars", **bound})]
