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


# --- sentences: a port of rust_ext/core/src/verify/sentences.rs ---------------------------------
# IFEval counts sentences with nltk's punkt (English parameters). This is punkt's algorithm (candidate ends,
# its word tokenizer, the two annotation passes, boundary realignment) with its English abbreviation,
# collocation and sentence-starter lists; punkt's table of how often each word is seen capitalized (its
# "orthographic context", 20,366 words) is replaced by two short word lists. CJK 。！？ always end a sentence.

_NUMERIC = re.compile(r"^-?[\.,]?[0-9][0-9,\.-]*\.?$")
_INITIAL = re.compile(r"[^\W0-9]\.$")
# A run of CJK sentence ends with the closing quotes and brackets after it.
_CJK_END = re.compile(r"[。！？][。！？\"')\]}”’」』）》»]*")
_ELLIPSIS = re.compile(r"\.\.+$")
_REALIGN = re.compile(r"[\"')\]}]+?(?:\s+|(?=--)|$)")
_PUNKT_WORD = re.compile(
    r"""((?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)|(?=[^\(\"\`{\[:;&\#\*@\)}\]\-,])\S+?(?=\s|$|(?:[)\";}\]\*:@\'\({\[?!])"""
    r"""|(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)|,(?=$|\s|(?:[)\";}\]\*:@\'\({\[?!])|(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)))|\S)""")
_PERIOD_CONTEXT = re.compile(r"""[.?!](?=(?P<after_tok>(?:[)\";}\]\*:@\'\({\[?!])|\s+(?P<next_tok>\S+)))""")


# punkt's English parameters (nltk ``punkt_tab/english``): abbreviations, collocations, frequent sentence starters.
_PUNKT_ABBREVIATIONS = frozenset(
    "a.a a.c a.d a.g a.h a.m a.m.e a.s a.t adm ala ariz aug ave b.f b.v bros c c.i.t c.o.m.b c.v calif chg cie co "
    "col colo conn corp cos ct d d.c d.h d.w dec dr e e.f e.h e.l e.m f f.g f.j feb fla fri ft g g.d g.f g.k ga gen "
    "h h.c h.f h.m i.m.s ill inc j.b j.c j.j j.k j.p j.r jan jr k kan ky l l.a l.f l.p lt ltd m m.b.a m.d.c m.j maj "
    "messrs mg mich minn mr mrs ms n n.c n.d n.h n.j n.m n.v n.y nev nov oct ok okla ore p p.a.m p.m pa ph.d prof r "
    "r.a r.h r.i r.j r.k r.t rep reps s s.a s.a.y s.c s.g s.p.a s.s sen sep sept sr st sw t t.j tenn tues u.k u.n "
    "u.s u.s.a u.s.s.r v va vs vt w w.c w.r w.va w.w wash wed wis yr".split())
_PUNKT_COLLOCATIONS = frozenset(tuple(p.split("/")) for p in (
    "##number##/abreast ##number##/aes ##number##/business ##number##/cbot ##number##/colgate ##number##/commodities "
    "##number##/cooper ##number##/corrections ##number##/credit ##number##/dividend ##number##/financing "
    "##number##/genentech ##number##/henley ##number##/insider ##number##/international ##number##/leisure "
    "##number##/letters ##number##/notable ##number##/pay-fone ##number##/pegasus ##number##/pepper "
    "##number##/review ##number##/rj ##number##/wedgestone ##number##/who ##number##/zimmer b/edelman b/levine "
    "b/smith b/stewart b/wigton i/magnin i/toussie j/aron j/fialka j/walter o/ludcke").split())
_PUNKT_STARTERS = frozenset(
    "according although among both but despite even he however i if in indeed instead it many meanwhile moreover "
    "most nevertheless nonetheless nor sales separately similarly since so some the there these they this though "
    "thus under when while yet".split())
# A stand-in for punkt's orthographic table: common words it has seen lowercase and never capitalized inside a
# sentence (so, capitalized after an abbreviation or an ellipsis, they start a sentence).
_STARTS_WHEN_CAPITALIZED = frozenset(
    "above accordingly almost already apparently besides certainly conclusion currently especially eventually "
    "finally furthermore hence her here ideally including indeed instead likewise moreover nevertheless nonetheless "
    "nor note okay otherwise overall particularly please previously recently remember sadly separately similarly so "
    "sometimes specifically still such surely therefore though thus tomorrow typically ultimately unfortunately "
    "which yes yesterday your".split())


def _typ(tok: str) -> str:
    return _NUMERIC.sub("##number##", tok.lower())


def _no_period(typ: str) -> str:
    return typ[:-1] if len(typ) > 1 and typ[-1] == "." else typ


def _ortho(tok: str, typ: str) -> bool | None:
    """punkt's orthographic heuristic: does ``tok`` (of type ``typ``) start a sentence? True, False or None."""
    if tok in (";", ":", ",", ".", "!", "?"):
        return False
    if tok[:1].isupper() and typ in _STARTS_WHEN_CAPITALIZED:
        return True
    if tok[:1].islower():
        return False
    return None


def _contains_break(context: str) -> bool:
    """punkt's ``text_contains_sentbreak``: a token other than the last one of ``context`` ends a sentence."""
    toks = [t for line in context.split("\n") if line.strip() for t in _PUNKT_WORD.findall(line)]
    breaks = []
    for tok in toks:  # first pass
        if tok in (".", "?", "!"):
            breaks.append([True, False, False])
        elif _ELLIPSIS.match(tok):
            breaks.append([False, False, True])
        elif tok.endswith(".") and not tok.endswith(".."):
            base = tok[:-1].lower()
            abbr = base in _PUNKT_ABBREVIATIONS or base.split("-")[-1] in _PUNKT_ABBREVIATIONS
            breaks.append([not abbr, abbr, False])
        else:
            breaks.append([False, False, False])
    for i in range(len(toks) - 1):  # second pass
        tok, nxt = toks[i], toks[i + 1]
        if not tok.endswith("."):
            continue
        brk, abbr, ellipsis = breaks[i]
        typ = _no_period(_typ(tok))
        nxt_typ = _typ(nxt)
        if breaks[i + 1][0]:
            nxt_typ = _no_period(nxt_typ)
        initial = _INITIAL.match(tok) is not None
        if (typ, nxt_typ) in _PUNKT_COLLOCATIONS:
            breaks[i][0] = False
            continue
        starts = _ortho(nxt, nxt_typ) is True or (nxt[:1].isupper() and nxt_typ in _PUNKT_STARTERS)
        if (abbr or ellipsis) and not initial and starts:
            breaks[i][0] = True
            continue
        if initial or typ == "##number##":
            starter = _ortho(nxt, nxt_typ)
            if starter is False:
                breaks[i][0] = False
    return any(b[0] for b in breaks[:-1])


def count_sentences(text: str) -> int:
    """Sentences as IFEval counts them (nltk punkt, English), by the rules of ``verify/sentences.rs``."""
    count, start = 0, 0
    for m in _CJK_END.finditer(text):
        count += _punkt_count(text[start:m.end()])
        start = m.end()
    return count + _punkt_count(text[start:])


def _punkt_count(text: str) -> int:
    slices, last_break = [], 0
    prev_slice, prev_match = (0, 0), None
    candidates = []
    for m in _PERIOD_CONTEXT.finditer(text):
        before = text[prev_slice[1]:m.start()]
        ws = max((i for i, c in enumerate(before) if c in " \t\n\r\x0b\x0c"), default=0)
        start = ws + prev_slice[1] + 1 if ws else prev_slice[0]
        word = (start, m.start())
        if prev_match is not None and prev_slice[1] <= word[0]:
            candidates.append((prev_match, text[prev_slice[0]:prev_match.end("after_tok")]))
        prev_match, prev_slice = m, word
    if prev_match is not None:
        candidates.append((prev_match, text[prev_slice[0]:prev_match.end("after_tok")]))
    for m, context in candidates:
        if _contains_break(context):
            slices.append((last_break, m.end()))
            last_break = m.start("next_tok") if m["next_tok"] else m.end()
    slices.append((last_break, len(text.rstrip())))
    count, realign = 0, 0
    for i, (a, b) in enumerate(slices):
        a += realign
        realign = 0
        if i + 1 < len(slices):
            m = _REALIGN.match(text, slices[i + 1][0], slices[i + 1][1])
            if m:
                realign = m.end() - slices[i + 1][0]
                count += 1  # the slice grows by the closers, so it is not empty
                continue
        count += a < b
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
    if rtype in ("lowercase", "uppercase"):
        ok = text.islower() if rtype == "lowercase" else text.isupper()
        if ok and p.get("language"):  # IFEval's english_lowercase / english_capital
            found = _core.detect_language(text[:LANGUAGE_SAMPLE_CHARS])
            return found is None or found == normalize_language(p["language"])
        return ok
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
