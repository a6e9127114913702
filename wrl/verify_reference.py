"""Pure-Python reference of the rule verifiers in ``rust_ext/core/src/verify/``.

It exists for tests (hypothesis checks that both engines agree) and benchmarks, not for
production: use :func:`wrl.verify.verify` or :func:`wrl.verify.verify_table`. The checks are
written the way IFEval's ``instructions.py`` writes them (Python ``re`` with IFEval's own
patterns), so the agreement tests also show that the Rust engine keeps IFEval's semantics.

Sentences are counted by a small port of the core's sentence splitter (IFEval counts with nltk;
this engine counts what its parser segments). Two pieces are shared with the Rust engine rather than
copied: the abbreviation list (read from the compiled lexicon, the parser's data) and language detection
(whatlang, through
``wrl._core.detect_language``, on the first ``LANGUAGE_SAMPLE_CHARS`` characters as in Rust),
since no pure-Python port of whatlang exists. The detector is called once per text checked, as
IFEval calls langdetect: the Rust engine's cache of samples is not copied here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from wrl import _core

DEFAULT_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")
#: The language detector reads the first this many characters of a text (both engines).
LANGUAGE_SAMPLE_CHARS = 2_000
LOOSE_VARIANTS = (
    "original",
    "no_asterisks",
    "without_first_line",
    "without_last_line",
    "without_first_and_last_lines",
    "no_asterisks_without_first_line",
    "no_asterisks_without_last_line",
    "no_asterisks_without_first_and_last_lines",
)
VERIFIABLE = frozenset(
    "length bullet_points highlighted_sections sections paragraph_first_word json_format title constrained_response "
    "two_responses keywords keyword_frequency forbidden_words letter_frequency lowercase uppercase "
    "capital_word_frequency no_commas quotation response_language start_phrase end_phrase postscript placeholders "
    "repeat_prompt".split()
)
LANGUAGES = frozenset(
    "eo en ru zh es pt it bn fr de uk ka ar hi ja he yi pl am jv ko no da sv fi tr nl hu cs el bg be mr kn ro sl "
    "hr sr mk lt lv et ta vi ur th gu uz pa az id te fa ml or my ne si km tk ak zu sn af la sk ca tl hy cy".split()
)
_LANGUAGE_ALIASES = {"nb": "no", "nn": "no", "iw": "he", "in": "id", "fil": "tl", "ji": "yi", "zh_cn": "zh",
                     "zh_tw": "zh"}

_RELATIONS = {
    "at_least": "at_least", ">=": "at_least", "≥": "at_least",
    "at_most": "at_most", "<=": "at_most", "≤": "at_most",
    "exactly": "exactly", "=": "exactly", "==": "exactly",
    "less_than": "less_than", "<": "less_than", "fewer_than": "less_than",
    "more_than": "more_than", ">": "more_than", "greater_than": "more_than",
    "about": "about", "approximately": "about", "around": "about", "≈": "about",
}

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORDS = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
_MOSTLY_CJK = re.compile(f"[{_CJK}\uac00-\ud7af]")
_BULLET_STAR = re.compile(r"^\s*\*[^\*].*$", re.MULTILINE)
_BULLET_DASH = re.compile(r"^\s*-.*$", re.MULTILINE)
_HIGHLIGHT = re.compile(r"\*[^\n\*]*\*")
_HIGHLIGHT_DOUBLE = re.compile(r"\*\*[^\n\*]*\*\*")
_PLACEHOLDER = re.compile(r"\[.*?\]")
_TITLE = re.compile(r"<<[^\n]+>>")
_DIVIDER = re.compile(r"\s?\*\*\*\s?")
_BLANK_LINE = re.compile(r"\n\s*\n")
_PS = re.compile(r"p\.\s?s\.")
_PPS = re.compile(r"p\.\s?p\.\s?s")
_EDGE_NON_ALNUM = re.compile(r"^[\W_]+|[\W_]+$")


def holds(relation: str, n: int, v: int) -> bool:
    """Does count ``n`` stand in ``relation`` to ``v``? ``less_than`` is strict."""
    if relation == "at_least":
        return n >= v
    if relation == "at_most":
        return n <= v
    if relation == "exactly":
        return n == v
    if relation == "less_than":
        return n < v
    if relation == "more_than":
        return n > v
    if relation == "about":
        return 10 * n >= 9 * v and 10 * n <= 11 * v
    raise ValueError(f"unknown relation {relation!r}")


def _relation(params: dict[str, Any], default: str | None = None) -> str:
    raw = params.get("relation")
    if raw is None:
        if default is None:
            raise ValueError("missing relation")
        return default
    return _RELATIONS[raw.strip().lower().replace(" ", "_").replace("-", "_")]


# --- words and sentences: a port of rust_ext/core/src/text.rs --------------------------------


def count_words(text: str) -> int:
    """Runs of word characters (``\\w+``); each Han ideograph or kana is a word by itself."""
    return len(_WORDS.findall(text))


# Sentences as ``text::split_sentences`` finds them, reduced to what a count needs: lines, list markers
# (skipped), inline numbered lists after a colon, quotes and brackets (never split inside), terminal
# punctuation followed by a capitalized word, abbreviations. Rust's char predicates are Python's
# str methods here except for whitespace; they differ on a few combining marks (Other_Alphabetic).

# char::is_whitespace (White_Space); Python's str.isspace also takes U+001C..U+001F.
_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
    "\u2028\u2029\u202f\u205f\u3000"
_OPEN_QUOTES = {'"': '"', "“": "”", "‘": "’", "«": "»", "「": "」", "『": "』", "'": "'"}
_TERMINALS = frozenset(".!?。！？；:：")
_CJK_TERMINALS = frozenset("。！？；")
_CLOSERS = frozenset("\"'”’)]»」』）")
# A list marker at a line start, and a numbered marker inside a line; the character after it is not its part.
_LINE_MARKER = re.compile(r"[-*•·](?=[ \t])|\([0-9]{1,3}\)(?=[ \t])|（[0-9]{1,3}）(?=[\s\S])"
                          r"|[0-9]{1,3}[.)](?=[ \t])|[0-9]{1,3}、(?=[\s\S])")
_INLINE_MARKER = re.compile(r"([0-9]{1,3})[.)](?=[ \t])")
_LINES = re.compile(r"[^\n]*\n|[^\n]+")  # str::split_inclusive('\n')


@cache
def _abbreviations() -> frozenset[str]:
    return frozenset(json.loads(_core.lexicon_json())["abbreviations"])


def _skip_spaces(text: str, pos: int, end: int) -> int:
    while pos < end and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _followed_by_new_sentence(text: str, pos: int, end: int) -> bool:
    """After whitespace, a word that is not lowercase (or the end) starts a new sentence."""
    p = _skip_spaces(text, pos, end)
    return p >= end or (p > pos and not text[p].islower())


def _is_abbreviation(text: str, line_start: int, dot: int) -> bool:
    k = dot
    while k > line_start and (text[k - 1].isalnum() or text[k - 1] == "."):
        k -= 1
    return k < dot and text[k:dot].lower() in _abbreviations()


def _count_line_sentences(text: str, line_start: int, pos: int, end: int) -> int:
    """Sentences of one line's content ``text[pos:end]`` (``text::scan_line``)."""
    count, sent_start, quote, depth, prev, inline_next = 0, pos, None, 0, None, None

    def push(start: int, stop: int) -> int:
        return 1 if text[start:stop].strip(_WHITESPACE) else 0

    while pos < end:
        c = text[pos]
        if quote is None and depth == 0 and "0" <= c <= "9" and (prev is None or prev in _WHITESPACE):
            m = _INLINE_MARKER.match(text, pos)
            after_colon = inline_next is not None or text[line_start:pos].rstrip(_WHITESPACE).endswith((":", "："))
            if m and after_colon and int(m[1]) == (inline_next or 1):
                count += push(sent_start, pos)
                inline_next = int(m[1]) + 1
                pos = sent_start = _skip_spaces(text, m.end(), end)
                prev = " "
                continue
        boundary = None
        if quote is not None:
            if c == quote and (c != "'" or not (pos + 1 < end and text[pos + 1].isalnum())):
                quote = None
                # 'He said "Stop." Then ...': a quote closing after terminal punctuation.
                if prev in (".", "!", "?") and _followed_by_new_sentence(text, pos + 1, end):
                    boundary = pos + 1
        elif c in _OPEN_QUOTES:
            if c != "'" or not (prev is not None and prev.isalnum()):
                quote = _OPEN_QUOTES[c]
        elif c in "(（[":
            depth += 1
        elif c in ")）]" and depth > 0:
            depth -= 1
        elif depth == 0 and c in _TERMINALS:
            term_end = pos + 1
            while term_end < end and (text[term_end] in _TERMINALS or text[term_end] in _CLOSERS):
                term_end += 1
            at_end = term_end >= end
            if c in _CJK_TERMINALS:
                boundary = term_end
            elif c in ":：":
                boundary = term_end if at_end else None  # a colon ends a sentence only before a list line
            elif (at_end or (text[term_end] in _WHITESPACE and _followed_by_new_sentence(text, term_end, end))) \
                    and not (c == "." and _is_abbreviation(text, line_start, pos)):
                boundary = term_end
        if boundary is not None:
            count += push(sent_start, boundary)
            pos = sent_start = _skip_spaces(text, boundary, end)
            prev = " "
            continue
        prev = c
        pos += 1
    return count + push(sent_start, end)


def count_sentences(text: str) -> int:
    """Sentences as the parser splits them: every line and list item is at least one."""
    count, line_start = 0, 0
    for line in _LINES.findall(text):
        line_end = line_start + len(line)
        content_end = line_start + len(line.rstrip(_WHITESPACE))
        pos = _skip_spaces(text, line_start, content_end)
        if pos < content_end:
            marker = _LINE_MARKER.match(text, pos)
            if marker:
                pos = _skip_spaces(text, marker.end(), content_end)
            count += _count_line_sentences(text, line_start, pos, content_end)
        line_start = line_end
    return count


# --- checks ------------------------------------------------------------------------------------


def _count_sections(text: str, splitter: str) -> int:
    return len(re.findall(r"\s?" + re.escape(splitter) + r"\s?[0-9]+\s?", text))


def _paragraphs_by_divider(text: str) -> int | None:
    parts = _DIVIDER.split(text)
    n = len(parts)
    for i, p in enumerate(parts):
        if not p.strip():
            if i == 0 or i == len(parts) - 1:
                n -= 1
            else:
                return None
    return n


def _contains_word(lower: str, word: str) -> bool:
    return re.search(r"\b" + re.escape(word) + r"\b", lower) is not None


def _json_ok(text: str) -> bool:
    value = (text.strip().removeprefix("```json").removeprefix("```Json").removeprefix("```JSON")
             .removeprefix("```").removesuffix("```").strip())

    def reject(_: str) -> Any:
        raise ValueError("not JSON")

    def number(s: str) -> float:
        f = float(s)
        if f in (float("inf"), float("-inf")):
            raise ValueError("number out of range")
        return f

    try:
        json.loads(value, parse_constant=reject, parse_float=number)
    except (ValueError, RecursionError):
        return False
    return True


def normalize_language(code: str) -> str:
    c = code.strip().lower().replace("-", "_")
    if c in _LANGUAGE_ALIASES:
        return _LANGUAGE_ALIASES[c]
    base = c.split("_")[0]
    return _LANGUAGE_ALIASES.get(base, base)


def check(text: str, rtype: str, params: dict[str, Any]) -> bool:
    """Does ``text`` as it is follow the requirement (no empty rule, no loose variants)?"""
    p = params
    if rtype == "length":
        unit = p["unit"].strip().lower()
        if p.get("relation") == "between" or (p.get("relation") is None and "min" in p):
            lo, hi = int(p["min"]), int(p["max"])

            def held(n: int, k: int = 1) -> bool:
                return lo * k <= n <= hi * k
        else:
            rel, v = _relation(p), int(p["value"])

            def held(n: int, k: int = 1) -> bool:
                return holds(rel, n, v * k)
        seconds = {"minutes": 60, "minute": 60, "seconds": 1, "second": 1, "hours": 3600, "hour": 3600}.get(unit)
        if seconds is not None:
            # text::is_mostly_cjk: at least half the letters CJK (kana and Hangul included).
            letters = [c for c in text if c.isalpha()]
            cjk = sum(1 for c in letters if _MOSTLY_CJK.match(c))
            if letters and cjk * 2 >= len(letters):
                n, rate = sum(1 for c in text if not c.isspace()), int(p.get("chars_per_minute") or 200)
            else:
                n, rate = count_words(text), int(p.get("words_per_minute") or 150)
            return held(60 * n, seconds * rate)
        if unit in ("lines", "line"):
            return held(sum(1 for line in text.split("\n") if line.strip()))
        if unit in ("words", "word"):
            return holds(rel, count_words(text), v)
        if unit in ("sentences", "sentence"):
            return holds(rel, count_sentences(text), v)
        if unit in ("chars", "characters", "char", "character"):
            return holds(rel, sum(1 for c in text if not c.isspace()), v)
        sep = p.get("separator")
        divider = sep == "***" or (sep is None and "***" in text)
        if divider:
            n = _paragraphs_by_divider(text)
            return n is not None and holds(rel, n, v)
        return holds(rel, sum(1 for part in _BLANK_LINE.split(text) if part.strip()), v)
    if rtype == "bullet_points":
        n = len(_BULLET_STAR.findall(text)) + len(_BULLET_DASH.findall(text))
        return holds(_relation(p, "exactly"), n, int(p["value"]))
    if rtype == "highlighted_sections":
        n = sum(1 for h in _HIGHLIGHT.findall(text) if h.strip("*").strip())
        n += sum(1 for h in _HIGHLIGHT_DOUBLE.findall(text) if h.removeprefix("**").removesuffix("**").strip())
        return holds(_relation(p, "at_least"), n, int(p["value"]))
    if rtype == "placeholders":
        return holds(_relation(p, "at_least"), len(_PLACEHOLDER.findall(text)), int(p["value"]))
    if rtype == "sections":
        if p.get("splitter") is None:
            n = _count_sections(text.lower(), "section")
        else:
            n = _count_sections(text, p["splitter"].strip())
        return holds(_relation(p, "at_least"), n, int(p["value"]))
    if rtype == "paragraph_first_word":
        paragraphs = text.split("\n\n")
        count = sum(1 for x in paragraphs if x.strip())
        nth = int(p["nth"])
        if nth > count:
            return False
        para = paragraphs[nth - 1].strip()
        if not para:
            return False
        word = para.split()[0].lstrip("'").lstrip('"')
        first = ""
        for letter in word:
            if letter in ".,?!'\"":
                break
            first += letter.lower()
        num = p.get("num_paragraphs")
        return (num is None or count == int(num)) and first == p["first_word"].strip().lower()
    if rtype == "json_format":
        return _json_ok(text)
    if rtype == "title":
        return any(t.lstrip("<").rstrip(">").strip() for t in _TITLE.findall(text))
    if rtype == "constrained_response":
        options = p.get("options") or DEFAULT_OPTIONS
        if isinstance(options, str):
            options = [options]
        stripped = text.strip()
        return any(o in stripped for o in options)
    if rtype == "two_responses":
        parts = text.split("******")
        valid = []
        for i, part in enumerate(parts):
            if not part.strip():
                if i != 0 and i != len(parts) - 1:
                    return False
            else:
                valid.append(part)
        return len(valid) == 2 and valid[0].strip() != valid[1].strip()
    if rtype == "keywords":
        words = p["keywords"] if isinstance(p["keywords"], list) else [p["keywords"]]
        lower = text.lower()
        return all(w.strip().lower() in lower for w in words)
    if rtype == "keyword_frequency":
        return holds(_relation(p), text.lower().count(p["keyword"].strip().lower()), int(p["value"]))
    if rtype == "forbidden_words":
        words = p["words"] if isinstance(p["words"], list) else [p["words"]]
        lower = text.lower()
        return not any(_contains_word(lower, w.strip().lower()) for w in words)
    if rtype == "letter_frequency":
        return holds(_relation(p), text.lower().count(p["letter"].strip().lower()), int(p["value"]))
    if rtype == "lowercase":
        return text.islower()
    if rtype == "uppercase":
        return text.isupper()
    if rtype == "capital_word_frequency":
        n = 0
        for token in text.split():
            token = _EDGE_NON_ALNUM.sub("", token)
            if token and token.isupper():
                n += 1
        return holds(_relation(p), n, int(p["value"]))
    if rtype == "no_commas":
        return "," not in text and "，" not in text
    if rtype == "quotation":
        t = text.strip()
        return len(t) > 1 and t[0] == '"' and t[-1] == '"'
    if rtype == "response_language":
        found = _core.detect_language(text[:LANGUAGE_SAMPLE_CHARS])
        return found is None or found == normalize_language(p["language"])
    if rtype == "start_phrase":
        return text.lower().lstrip().lstrip('"').lstrip().startswith(p["phrase"].strip().lower())
    if rtype == "end_phrase":
        return text.strip().strip('"').lower().endswith(p["phrase"].strip().lower())
    if rtype == "postscript":
        marker = p["marker"].strip()
        lower = text.lower()
        if marker == "P.S.":
            return _PS.search(lower) is not None
        if marker == "P.P.S":
            return _PPS.search(lower) is not None
        return marker.lower() in lower
    if rtype == "repeat_prompt":
        return text.lower().lstrip().startswith(p["prompt"].strip().lower())
    raise ValueError(f"{rtype} is not verifiable")


def loose_variants(response: str) -> list[str]:
    """IFEval's eight loose variants of a response, in its order."""
    r = response.split("\n")
    first = "\n".join(r[1:]).strip()
    last = "\n".join(r[:-1]).strip()
    both = "\n".join(r[1:-1]).strip()
    return [response, response.replace("*", ""), first, last, both, first.replace("*", ""), last.replace("*", ""),
            both.replace("*", "")]


def _verifiable(rtype: str, params: dict[str, Any]) -> bool:
    if rtype not in VERIFIABLE:
        return False
    if rtype == "response_language":
        return normalize_language(params["language"]) in LANGUAGES
    return True


def verify_reference(
    response: str, requirements: Sequence[tuple[str, dict[str, Any]]]
) -> list[tuple[str, bool | None, bool | None, str | None]]:
    """Verify like :func:`wrl_core::verify::verify`: per requirement ``(status, strict, loose, loose_variant)``."""
    response = response.replace("\r\n", "\n")
    empty = not response.strip()
    variants = None
    out = []
    for rtype, params in requirements:
        if not _verifiable(rtype, params):
            out.append(("not_verifiable", None, None, None))
            continue
        strict = not empty and check(response, rtype, params)
        loose, via = strict, ("original" if strict else None)
        if not strict and not empty:
            variants = variants or loose_variants(response)
            for name, text in zip(LOOSE_VARIANTS[1:], variants[1:], strict=True):
                if text.strip() and check(text, rtype, params):
                    loose, via = True, name
                    break
        out.append(("followed" if strict else "violated", strict, loose, via))
    return out
