"""A pure-Python reference engine with exactly the semantics of the Rust core (``wrl._core``).

It re-implements segmentation, requirement finding, structured input, rewriting and dropping in
plain Python (standard library and ``re`` only), reading the same data as the Rust engine: the
pattern table and lexicons (``wrl._core.lexicon_json()``) and the taxonomy
(``wrl._core.taxonomy_json()``). It is slow on purpose: it is the baseline of the benchmarks and the
oracle of the agreement tests (``tests/test_reference.py``), which check that both engines give
identical results. See ``docs/reference-engine.md``.

Rust works in UTF-8 byte offsets; this module works in code points, which is equivalent because
every offset the Rust core keeps lies on a character boundary. Where Python and Rust disagree on
what a character is (``str.isalnum`` vs ``char::is_alphanumeric``, ``str.isspace`` vs
``char::is_whitespace``, ``re``'s ``\\w`` vs ``regex``'s ``\\w``, case mappings of recent Unicode
versions), this module uses tables generated from Rust (at the end of the file), and translates
the regexes of the lexicon into ``re`` syntax with those classes spelled out.

Example:
    >>> from wrl import reference
    >>> p = reference.parse("Write a poem about rain. Use at least 50 words and do not use any commas.")
    >>> [r.type for r in p.requirements]
    ['length', 'no_commas']
    >>> reference.rewrite(p.text, p.requirements, ["r2"])
    'Write a poem about rain. Use at least 50 words.'
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

import pyarrow as pa

from wrl import _core
from wrl._core import (
    InvalidConfigError,
    InvalidInstructionError,
    InvalidRequirementsError,
    UnknownInstructionIdError,
)
from wrl.requirements import DropSettings, ParsedInstruction, ParseLimits, Requirement

__all__ = [
    "Clause",
    "Document",
    "Item",
    "Rng",
    "Sentence",
    "drop",
    "drop_table",
    "fnv1a",
    "is_mostly_cjk",
    "parse",
    "parse_table",
    "rewrite",
    "segment",
    "tidy",
]

_M64 = (1 << 64) - 1
_DEFAULT_LIMITS = ParseLimits()
_DEFAULT_DROP = DropSettings()
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1

# ---------------------------------------------------------------------------------------------
# Characters as Rust sees them
# ---------------------------------------------------------------------------------------------

# char::is_whitespace (White_Space), which is also regex's \s. Python's str.isspace differs
# (it accepts U+001C..U+001F).
_WS_CHARS = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
_WS = frozenset(_WS_CHARS)


class _CharSet:
    """Membership in a set of code point ranges, with a fast path for ASCII."""

    def __init__(self, ranges: list[tuple[int, int]]):
        self.ranges = ranges
        self.los = [lo for lo, _ in ranges]
        self.his = [hi for _, hi in ranges]
        self.ascii = frozenset(chr(c) for lo, hi in ranges if lo < 128 for c in range(lo, min(hi, 127) + 1))

    def __contains__(self, c: str) -> bool:
        if c < "\x80":
            return c in self.ascii
        cp = ord(c)
        i = bisect.bisect_right(self.los, cp) - 1
        return i >= 0 and cp <= self.his[i]


def _decode_ranges(data: str) -> list[tuple[int, int]]:
    """Ranges stored as base-36 'gap.length' pairs (see the end of the file)."""
    out, prev = [], -1
    for tok in data.split(","):
        gap, _, span = tok.partition(".")
        lo = prev + 1 + int(gap, 36)
        hi = lo + (int(span, 36) if span else 0)
        out.append((lo, hi))
        prev = hi
    return out


def _merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _is_alnum(c: str) -> bool:
    """char::is_alphanumeric."""
    return c in _ALNUM


def _is_alpha(c: str) -> bool:
    """char::is_alphabetic."""
    return c in _ALPHA


def _is_lower(c: str) -> bool:
    """char::is_lowercase."""
    return c in _LOWER


def _lower(s: str) -> str:
    """str::to_lowercase: Rust's case mappings; the final-sigma context as Python decides it."""
    if s.isascii():
        return s.lower()
    out = []
    for i, c in enumerate(s):
        if c == "\u03a3":
            out.append(s.lower()[len(s[:i].lower())])
        else:
            out.append(_LOWER_MAP.get(c, c))
    return "".join(out)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ascii_lower(s: str) -> str:
    return s.translate(_ASCII_LOWER)


def _trim(s: str) -> str:
    """str::trim."""
    return s.strip(_WS_CHARS)


def _trim_start(s: str) -> str:
    return s.lstrip(_WS_CHARS)


def _trim_end(s: str) -> str:
    return s.rstrip(_WS_CHARS)


def _split_whitespace(s: str) -> list[str]:
    """str::split_whitespace."""
    out, word = [], []
    for c in s:
        if c in _WS:
            if word:
                out.append("".join(word))
                word = []
        else:
            word.append(c)
    if word:
        out.append("".join(word))
    return out


# ---------------------------------------------------------------------------------------------
# Rust's formatting of values in error messages and of JSON
# ---------------------------------------------------------------------------------------------


def _rust_debug_str(s: str) -> str:
    """`format!("{s:?}")` for a str (escapes approximated with unicodedata outside ASCII)."""
    out = ['"']
    for c in s:
        if c == "\0":
            out.append("\\0")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif c == "\n":
            out.append("\\n")
        elif c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif " " <= c <= "~":
            out.append(c)
        elif unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs", "Mn", "Me"):
            out.append(f"\\u{{{ord(c):x}}}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _float_digits(f: float) -> tuple[str, int]:
    """Shortest round-trip digits d1..dn and exponent k with |f| = d1..dn * 10**k."""
    mantissa, _, exp = repr(abs(f)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    k = (int(exp) if exp else 0) - len(frac)
    stripped = digits.rstrip("0")
    k += len(digits) - len(stripped)
    return stripped, k


def _json_float(f: float) -> str:
    """serde_json's (ryu's) formatting of a finite f64."""
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    if f == 0:
        return sign + "0.0"
    d, k = _float_digits(f)
    n = len(d)
    kk = n + k
    if 0 <= k and kk <= 16:
        body = d + "0" * k + ".0"
    elif 0 < kk <= 16:
        body = d[:kk] + "." + d[kk:]
    elif -5 < kk <= 0:
        body = "0." + "0" * (-kk) + d
    elif n == 1:
        body = f"{d}e{kk - 1:+d}"
    else:
        body = f"{d[0]}.{d[1:]}e{kk - 1:+d}"
    return sign + body


def _rust_f64_display(f: float) -> str:
    """`format!("{f}")` for an f64: shortest digits, never an exponent, no '.0'."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    text = format(Decimal(repr(f)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _json_dumps(v: Any) -> str:
    """serde_json::to_string of a Value: compact, keys sorted (a BTreeMap), ryu floats."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _json_float(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_json_dumps(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(f"{_json_dumps(k)}:{_json_dumps(v[k])}" for k in sorted(v)) + "}"
    raise TypeError(f"not a JSON value: {v!r}")


_POW10 = [float(f"1e{i}") for i in range(309)]
_I32_MAX = (1 << 31) - 1


def _overflows(a: int, digit: int, limit: int) -> bool:
    """serde_json's `overflow!(a * 10 + digit, limit)`."""
    return a >= limit // 10 and (a > limit // 10 or digit > limit % 10)


class _SerdeNumber:
    """serde_json's number parser without its `float_roundtrip` feature, as wrl-core builds it.

    Integers that fit u64 or i64 stay integers; others, and every number with a fraction or an
    exponent, become f64 by multiplying or dividing a u64 significand by a power of ten, which is
    not always the nearest f64 (``100500882.91682787`` reads as ``100500882.91682789``).
    """

    def __init__(self, literal: str):
        self.s = literal
        self.i = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def peek_digit(self) -> int | None:
        c = self.peek()
        return ord(c) - 48 if c and "0" <= c <= "9" else None

    def parse(self) -> int | float:
        positive = self.peek() != "-"
        if not positive:
            self.i += 1
        c = self.s[self.i]
        self.i += 1
        if c == "0":
            return self.parse_number(positive, 0)
        significand = ord(c) - 48
        while (d := self.peek_digit()) is not None:
            if _overflows(significand, d, _M64):
                return self.parse_long_integer(positive, significand)
            self.i += 1
            significand = significand * 10 + d
        return self.parse_number(positive, significand)

    def parse_number(self, positive: bool, significand: int) -> int | float:
        c = self.peek()
        if c == ".":
            return self.parse_decimal(positive, significand, 0)
        if c in ("e", "E"):
            return self.parse_exponent(positive, significand, 0)
        if positive:
            return significand
        as_i64 = significand - (1 << 64) if significand >= 1 << 63 else significand
        neg = -as_i64 if as_i64 != _I64_MIN else _I64_MIN  # wrapping_neg
        if neg >= 0:  # -0, or below i64::MIN
            return -float(significand)
        return neg

    def parse_decimal(self, positive: bool, significand: int, exponent_before: int) -> float:
        self.i += 1
        exponent_after = 0
        while (d := self.peek_digit()) is not None:
            if _overflows(significand, d, _M64):
                return self.parse_decimal_overflow(positive, significand, exponent_before + exponent_after)
            self.i += 1
            significand = significand * 10 + d
            exponent_after -= 1
        exponent = exponent_before + exponent_after
        if self.peek() in ("e", "E"):
            return self.parse_exponent(positive, significand, exponent)
        return self.f64_from_parts(positive, significand, exponent)

    def parse_exponent(self, positive: bool, significand: int, starting_exp: int) -> float:
        self.i += 1
        positive_exp = True
        if self.peek() == "+":
            self.i += 1
        elif self.peek() == "-":
            self.i += 1
            positive_exp = False
        exp = ord(self.s[self.i]) - 48
        self.i += 1
        while (d := self.peek_digit()) is not None:
            self.i += 1
            if _overflows(exp, d, _I32_MAX):
                return self.parse_exponent_overflow(positive, significand == 0, positive_exp)
            exp = exp * 10 + d
        final = starting_exp + exp if positive_exp else starting_exp - exp
        return self.f64_from_parts(positive, significand, max(-_I32_MAX - 1, min(_I32_MAX, final)))

    def f64_from_parts(self, positive: bool, significand: int, exponent: int) -> float:
        f = float(significand)
        while True:
            if abs(exponent) < len(_POW10):
                if exponent >= 0:
                    f *= _POW10[exponent]
                    if math.isinf(f):
                        raise ValueError("number out of range")
                else:
                    f /= _POW10[-exponent]
                break
            if f == 0.0:
                break
            if exponent >= 0:
                raise ValueError("number out of range")
            f /= 1e308
            exponent += 308
        return f if positive else -f

    def parse_long_integer(self, positive: bool, significand: int) -> float:
        exponent = 0
        while True:
            c = self.peek()
            if c and "0" <= c <= "9":
                self.i += 1
                exponent += 1
            elif c == ".":
                return self.parse_decimal(positive, significand, exponent)
            elif c in ("e", "E"):
                return self.parse_exponent(positive, significand, exponent)
            else:
                return self.f64_from_parts(positive, significand, exponent)

    def parse_decimal_overflow(self, positive: bool, significand: int, exponent: int) -> float:
        while self.peek_digit() is not None:
            self.i += 1
        if self.peek() in ("e", "E"):
            return self.parse_exponent(positive, significand, exponent)
        return self.f64_from_parts(positive, significand, exponent)

    def parse_exponent_overflow(self, positive: bool, zero_significand: bool, positive_exp: bool) -> float:
        if not zero_significand and positive_exp:
            raise ValueError("number out of range")
        return 0.0 if positive else -0.0


def _serde_number(literal: str) -> int | float:
    return _SerdeNumber(literal).parse()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid number {name}")


def _json_loads(text: str) -> Any:
    """serde_json::from_str into a Value: its number parsing, NaN and infinities rejected."""
    return json.loads(text, parse_int=_serde_number, parse_float=_serde_number, parse_constant=_reject_constant)


def _sorted_params(params: dict[str, Any]) -> dict[str, Any]:
    """Params as the Rust engine returns them to Python: keys sorted, values through serde."""
    return json.loads(_json_dumps(params))


# ---------------------------------------------------------------------------------------------
# Regexes: Rust `regex` syntax of the lexicon → `re` syntax with Rust's classes spelled out
# ---------------------------------------------------------------------------------------------


def _class_body(ranges: Iterable[tuple[int, int]]) -> str:
    parts = []
    for lo, hi in ranges:
        a = f"\\U{lo:08x}" if lo > 0xFFFF else f"\\u{lo:04x}"
        if lo == hi:
            parts.append(a)
        else:
            parts.append(a + "-" + (f"\\U{hi:08x}" if hi > 0xFFFF else f"\\u{hi:04x}"))
    return "".join(parts)


def _case_orbit(cp: int) -> list[int]:
    """Rust regex's simple case folding orbit of an ASCII letter under (?i)."""
    c = chr(cp)
    out = [ord(c.lower()), ord(c.upper())]
    if c in "kK":
        out.append(0x212A)
    if c in "sS":
        out.append(0x17F)
    return out


def _fold_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    extra = []
    for lo, hi in ranges:
        for cp in range(lo, min(hi, 127) + 1):
            if chr(cp).isalpha():
                extra.extend((x, x) for x in _case_orbit(cp))
        if hi >= 128:
            for cp in range(max(lo, 128), hi + 1) if hi - lo < 4096 else ():
                c = chr(cp)
                if c.lower() != c or c.upper() != c:
                    raise ValueError(f"case-insensitive class with a cased non-ASCII character {c!r}")
    return _merge(list(ranges) + extra)


_QUANT = re.compile(r"\{\d+(?:,\d*)?\}")


class _Translator:
    """Translate the subset of Rust regex syntax that lexicon.json uses (it says which)."""

    def __init__(self, pattern: str):
        self.p = pattern
        self.ci = False

    def translate(self) -> str:
        p = self.p
        if p.startswith("(?i)"):
            self.ci = True
            p = p[4:]
        out: list[str] = []
        i = 0
        while i < len(p):
            c = p[i]
            if c == "\\":
                e = p[i + 1]
                i += 2
                if e == "w":
                    out.append(f"[{_W_BODY}]")
                elif e == "d":
                    out.append(f"[{_D_BODY}]")
                elif e == "s":
                    out.append(f"[{_S_BODY}]")
                elif e == "b":
                    out.append(_B)
                elif e.isalnum():
                    raise ValueError(f"unsupported escape \\{e} in {self.p!r}")
                else:
                    out.append(self.literal(e))
            elif c == "[":
                i = self.char_class(p, i, out)
            elif c == "(":
                if p.startswith("(?P<", i):
                    j = p.index(">", i)
                    out.append(p[i : j + 1])
                    i = j + 1
                elif p.startswith("(?:", i):
                    out.append("(?:")
                    i += 3
                elif p.startswith("(?", i):
                    raise ValueError(f"unsupported group in {self.p!r}")
                else:
                    out.append("(")
                    i += 1
            elif c in ")|*+?.^":
                out.append(c)
                i += 1
            elif c == "$":
                out.append(r"\Z")
                i += 1
            elif c == "{":
                m = _QUANT.match(p, i)
                if not m:
                    raise ValueError(f"unsupported repetition in {self.p!r}")
                out.append(m.group())
                i = m.end()
            else:
                out.append(self.literal(c))
                i += 1
        return "".join(out)

    def literal(self, c: str) -> str:
        if self.ci and c.isascii() and c.isalpha():
            return f"[{_class_body(_merge((x, x) for x in _case_orbit(ord(c))))}]"
        if self.ci and (c.lower() != c or c.upper() != c):
            raise ValueError(f"case-insensitive non-ASCII letter {c!r} in {self.p!r}")
        return re.escape(c)

    def char_class(self, p: str, i: int, out: list[str]) -> int:
        i += 1
        negated = p.startswith("^", i)
        if negated:
            i += 1
        ranges: list[tuple[int, int]] = []
        tables: list[tuple[int, int]] = []
        first = True
        while True:
            c = p[i]
            if c == "]" and not first:
                i += 1
                break
            first = False
            if c == "[" or p.startswith(("&&", "--", "~~"), i):
                raise ValueError(f"unsupported class syntax in {self.p!r}")
            if c == "\\":
                e = p[i + 1]
                i += 2
                table = {"w": _REGEX_WORD_RANGES, "d": _REGEX_DIGIT_RANGES, "s": _WS_RANGES}.get(e)
                if table is not None:
                    tables.extend(table)  # closed under case folding already
                    continue
                if e.isalnum():
                    raise ValueError(f"unsupported escape \\{e} in {self.p!r}")
                lo = ord(e)
            else:
                lo = ord(c)
                i += 1
            if p[i] == "-" and p[i + 1] != "]":
                hi_c = p[i + 1]
                if hi_c == "\\":
                    hi = ord(p[i + 2])
                    i += 3
                else:
                    hi = ord(hi_c)
                    i += 2
                ranges.append((lo, hi))
            else:
                ranges.append((lo, lo))
        ranges = _merge((_fold_ranges(ranges) if self.ci else ranges) + tables)
        out.append(("[^" if negated else "[") + _class_body(ranges) + "]")
        return i


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(_Translator(pattern).translate())


# ---------------------------------------------------------------------------------------------
# The lexicon
# ---------------------------------------------------------------------------------------------


@dataclass
class _Pattern:
    rtype: str
    regex: re.Pattern[str]
    defaults: dict[str, Any]
    groups: list[str]  # named groups in group order, as Regex::capture_names yields them
    fold_only: bool = False


_QUOTE_PAIRS = [('"', '"'), ("'", "'"), ("“", "”"), ("‘", "’"), ("«", "»"), ("「", "」"), ("『", "』")]
_LIST_SEPARATORS = [
    ", and ", ", or ", " as well as ", " and ", " or ", " nor ", ",", "、", "，", "和", "与", "及",
]


def _byte_len(s: str) -> int:
    return len(s.encode("utf-8"))


class _Lexicon:
    def __init__(self, raw: dict[str, Any]):
        self.relations: dict[str, str] = raw["relations"]
        self.numbers: dict[str, int] = raw["numbers"]
        self.units: dict[str, str] = raw["units"]
        self.languages: dict[str, str] = raw["languages"]
        self.abbreviations: list[str] = raw["abbreviations"]
        # Longest (in bytes) first, then in byte order, as the Rust lexicon sorts them.
        self.clause_triggers = sorted(raw["clause_triggers"], key=lambda t: (-_byte_len(t), t))
        self.clause_conjunctions = sorted(raw["clause_conjunctions"], key=lambda t: (-_byte_len(t), t))
        self.triggers_by_first: dict[str, list[str]] = {}
        for t in self.clause_triggers:
            self.triggers_by_first.setdefault(_ascii_lower(t[0]), []).append(_ascii_lower(t))
        self.task_clause = _compile(raw["task_clause"])
        self.list_intro_tail = _compile(raw["list_intro_tail"])
        self.patterns = []
        for p in raw["patterns"]:
            regex = _compile(p["regex"])
            groups = [name for name, _ in sorted(regex.groupindex.items(), key=lambda kv: kv[1])]
            self.patterns.append(
                _Pattern(p["type"], regex, dict(p.get("params", {})), groups, bool(p.get("fold_only", False)))
            )

    def number(self, s: str) -> int | None:
        """Lexicon::number: ASCII digits (commas allowed, must fit i64) or a number word."""
        t = _trim(s)
        digits = t.replace(",", "")
        if digits and all("0" <= c <= "9" for c in digits):
            n = int(digits)
            return n if n <= _I64_MAX else None
        words = _normalize_words(t)
        if words in self.numbers:
            return self.numbers[words]
        # "twenty-five", "twenty five": a tens word and a unit word.
        cut = min((i for i in (words.find("-"), words.find(" ")) if i >= 0), default=-1)
        if cut >= 0:
            tens, unit = self.numbers.get(words[:cut]), self.numbers.get(words[cut + 1 :])
            if tens is None or unit is None:
                return None
            return tens + unit if 20 <= tens <= 90 and tens % 10 == 0 and 1 <= unit <= 9 else None
        return _chinese_number(t)

    def fill_param(self, group: str, text: str, params: dict[str, Any]) -> bool:
        kind, sep, name = group.partition("_")
        if not sep:
            return True
        kind = kind.rstrip("0123456789")
        value: Any
        if kind == "num":
            value = self.number(text)
        elif kind == "rel":
            value = self.relations.get(_normalize_words(text))
        elif kind == "unit":
            value = self.units.get(_normalize_words(text))
        elif kind == "lang":
            value = self.languages.get(_normalize_words(text))
        elif kind == "list":
            value = _split_list(_strip_brackets(text)) or None
        elif kind == "marker":
            value = _normalize_marker(text) or None
        elif kind == "str":
            value = _strip_quotes(text) or None
        elif kind == "word":
            value = _normalize_words(text) or None
        elif kind == "letter":
            s = _lower(_strip_quotes(text))
            value = s if len(s) == 1 else None
        else:
            return True
        if value is None:
            return False
        params[name] = value
        return True


@cache
def _lexicon() -> _Lexicon:
    return _Lexicon(json.loads(_core.lexicon_json()))


@cache
def _taxonomy() -> dict[str, Any]:
    return json.loads(_core.taxonomy_json())


@cache
def _type_info() -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in _taxonomy()["types"]}


def _normalize_words(s: str) -> str:
    """Lowercase and collapse internal whitespace."""
    return _lower(" ".join(_split_whitespace(s)))


def _strip_quotes(s: str) -> str:
    t = _trim(s)
    if len(t) >= 2 and (t[0], t[-1]) in _QUOTE_PAIRS:
        return _trim(t[1:-1])
    return t


def _quoted_items(s: str) -> list[str]:
    items = []
    rest = s
    openers = {o: c for o, c in reversed(_QUOTE_PAIRS)}
    while True:
        i = next((k for k, c in enumerate(rest) if c in openers), None)
        if i is None:
            break
        close = openers[rest[i]]
        after = rest[i + 1 :]
        j = after.find(close)
        if j < 0:
            break
        item = _trim(after[:j])
        if item:
            items.append(item)
        rest = after[j + len(close) :]
    return items


def _split_list(s: str) -> list[str]:
    quoted = _quoted_items(s)
    if quoted:
        return quoted
    parts = [s]
    for sep in _LIST_SEPARATORS:
        parts = [q for p in parts for q in p.split(sep)]
    out = []
    for p in parts:
        p = _trim(_trim(p).rstrip(".;:。"))
        p = _strip_conjunction(p)
        p = p.removeprefix("the ")
        if p and p != "etc":
            out.append(p)
    return out


def _ascii_lower_str(s: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


def _strip_conjunction(p: str) -> str:
    """lexicon::strip_conjunction: "and c" → "c", a lone "and" → ""."""
    for conj in ("and", "or", "nor"):
        if _ascii_lower_str(p) == conj:
            return ""
        if len(p) > len(conj) and p[len(conj)] == " " and _ascii_lower_str(p[: len(conj)]) == conj:
            return _trim_start(p[len(conj) :])
    return p


def _normalize_marker(s: str) -> str:
    """lexicon::normalize_marker: "P.S" → "P.S.", "P.P.S." → "P.P.S", others as written."""
    t = _strip_quotes(s)
    compact = _ascii_lower_str("".join(_split_whitespace(t))).rstrip(".")
    if compact == "p.s":
        return "P.S."
    if compact == "p.p.s":
        return "P.P.S"
    return t


def _chinese_number(s: str) -> int | None:
    """lexicon::chinese_number: 十三, 二十五, 一百零五, 两千, ...; None for two digits in a row."""
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")}
    digits["两"] = 2
    total, section, pending = 0, 0, None
    if not s:
        return None
    for c in s:
        if c in digits:
            d = digits[c]
            if pending is not None and pending != 0 and d != 0:
                return None
            pending = d
            continue
        if c == "万":
            total += (section + (pending or 0)) * 10_000
            section, pending = 0, None
            continue
        unit = {"十": 10, "百": 100, "千": 1000}.get(c)
        if unit is None:
            return None
        if unit == 10 and (pending is None or pending == 0):
            d = 1
        elif pending is not None and pending > 0:
            d = pending
        else:
            return None
        section += d * unit
        pending = None
    n = total + section + (pending or 0)
    return n if n <= _I64_MAX else None


def _strip_brackets(s: str) -> str:
    t = _trim(s)
    for o, c in (("(", ")"), ("[", "]")):
        if t.startswith(o) and t.endswith(c) and len(t) >= 2:
            return t[1:-1]
    return t


# ---------------------------------------------------------------------------------------------
# Segmentation (text.rs)
# ---------------------------------------------------------------------------------------------


@dataclass
class Clause:
    """``text[start:end]``, preceded by its connector ``text[conn_start:start]``."""

    conn_start: int
    start: int
    end: int


@dataclass
class Sentence:
    """Body ``text[start:body_end]``, then its terminal punctuation ``text[body_end:end]``."""

    start: int
    body_end: int
    end: int
    clauses: list[Clause]
    item: int | None


@dataclass
class Item:
    """A list item's marker ``text[marker_start:marker_end]`` and its list."""

    marker_start: int
    marker_end: int
    number: int | None
    list: int


@dataclass
class Document:
    sentences: list[Sentence] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)


_OPEN_QUOTES = {'"': '"', "“": "”", "‘": "’", "«": "»", "「": "」", "『": "』", "'": "'"}
_TERMINALS = frozenset(".!?。！？；:：")
_CJK_TERMINALS = frozenset("。！？；")
_CLOSERS = frozenset("\"'”’)]»」』）")


def _skip_spaces(text: str, pos: int, end: int) -> int:
    while pos < end and text[pos] in _WS:
        pos += 1
    return pos


def _trim_end_pos(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in _WS:
        end -= 1
    return end


def _numbered_marker(text: str, pos: int, line_start: bool) -> tuple[int, int] | None:
    """'1.' '2)' (and '3、' at a line start), or '(4)' '（5）' at a line start, then whitespace."""
    n = len(text)
    first = text[pos] if pos < n else ""
    opener = first if first in ("(", "（") else ""
    if opener and not line_start:
        return None
    d = pos + (1 if opener else 0)
    j = d
    while j < n and "0" <= text[j] <= "9":
        j += 1
    if j == d or j - d > 3:
        return None
    if j >= n:
        return None
    close = text[j]
    if opener:
        ok = (opener == "(" and close == ")") or (opener == "（" and close == "）")
    else:
        ok = close in (".", ")") or (line_start and close == "、")
    if not ok:
        return None
    marker_end = j + 1
    follow = text[marker_end] if marker_end < n else None
    if not (follow in (" ", "\t") or (close not in (".", ")") and follow is not None)):
        return None
    return marker_end, int(text[d:j])


def _line_marker(text: str, pos: int) -> tuple[int, int | None] | None:
    if pos >= len(text):
        return None
    first = text[pos]
    if first in "-*•·":
        if pos + 1 >= len(text):
            return None
        return (pos + 1, None) if text[pos + 1] in (" ", "\t") else None
    return _numbered_marker(text, pos, True)


def _is_abbreviation(text: str, line_start: int, dot: int) -> bool:
    before = text[line_start:dot]
    k = len(before)
    while k > 0 and (before[k - 1] == "." or _is_alnum(before[k - 1])):
        k -= 1
    token = _lower(before[k:])
    return token != "" and token in _lexicon().abbreviations


def _next_is_alnum(text: str, pos: int, end: int) -> bool:
    return pos < end and _is_alnum(text[pos])


def _followed_by_new_sentence(text: str, pos: int, end: int) -> bool:
    p = _skip_spaces(text, pos, end)
    if p >= end:
        return True
    if p == pos:
        return False
    return not _is_lower(text[p])


def _split_lines(text: str) -> list[str]:
    """str::split_inclusive('\\n')."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


class _Segmenter:
    def __init__(self, text: str):
        self.text = text
        self.doc = Document()
        self.list_count = 0
        self.in_list = False

    def run(self) -> Document:
        text = self.text
        line_start = 0
        for line in _split_lines(text):
            line_end = line_start + len(line)
            content_end = _trim_end_pos(text, line_start, line_end)
            pos = _skip_spaces(text, line_start, content_end)
            if pos < content_end:
                current_item = None
                marker = _line_marker(text, pos)
                if marker is not None:
                    if not self.in_list:
                        self.list_count += 1
                        self.in_list = True
                    self.doc.items.append(Item(pos, marker[0], marker[1], self.list_count - 1))
                    current_item = len(self.doc.items) - 1
                    pos = _skip_spaces(text, marker[0], content_end)
                else:
                    self.in_list = False
                self.scan_line(line_start, pos, content_end, current_item)
            line_start = line_end
        return self.doc

    def push_sentence(self, start: int, end: int, item: int | None) -> None:
        text = self.text
        end = _trim_end_pos(text, start, end)
        if end <= start:
            return
        body_end = end
        while body_end > start and text[body_end - 1] in _TERMINALS:
            body_end -= 1
        body_end = _trim_end_pos(text, start, body_end)
        self.doc.sentences.append(Sentence(start, body_end, end, [], item))

    def scan_line(self, line_start: int, pos: int, end: int, current_item: int | None) -> None:
        text = self.text
        inline_next: int | None = None
        sent_start = pos
        quote: str | None = None
        depth = 0
        prev: str | None = None
        while pos < end:
            c = text[pos]
            # Inline numbered list: "...requirements: 1. ... 2. ..."
            if quote is None and depth == 0 and "0" <= c <= "9" and (prev is None or prev in _WS):
                expected = 1 if inline_next is None else inline_next
                prefix_ok = inline_next is not None or _trim_end(text[line_start:pos]).endswith((":", "："))
                if prefix_ok:
                    m = _numbered_marker(text, pos, False)
                    if m is not None and m[1] == expected:
                        self.push_sentence(sent_start, pos, current_item)
                        if inline_next is None and not self.in_list:
                            self.list_count += 1
                            self.in_list = True
                        self.doc.items.append(Item(pos, m[0], m[1], self.list_count - 1))
                        current_item = len(self.doc.items) - 1
                        inline_next = m[1] + 1
                        pos = _skip_spaces(text, m[0], end)
                        sent_start = pos
                        quote = None
                        prev = " "
                        continue
            if quote is not None:
                if c == quote and (c != "'" or not _next_is_alnum(text, pos + 1, end)):
                    quote = None
                    # 'He said "Stop." Then ...': a quote closing after terminal punctuation.
                    if prev in (".", "!", "?") and _followed_by_new_sentence(text, pos + 1, end):
                        self.push_sentence(sent_start, pos + 1, current_item)
                        pos = _skip_spaces(text, pos + 1, end)
                        sent_start = pos
                        prev = " "
                        continue
            elif c in _OPEN_QUOTES:
                if c != "'" or not (prev is not None and _is_alnum(prev)):
                    quote = _OPEN_QUOTES[c]
            elif c in ("(", "（", "["):
                depth += 1
            elif c in (")", "）", "]") and depth > 0:
                depth -= 1
            elif depth == 0 and c in _TERMINALS:
                term_end = pos + 1
                while term_end < end and (text[term_end] in _TERMINALS or text[term_end] in _CLOSERS):
                    term_end += 1
                if c in _CJK_TERMINALS:
                    boundary = True
                elif c in (":", "："):
                    boundary = term_end >= end
                else:
                    at_end = term_end >= end
                    spaced = at_end or text[term_end] in _WS
                    boundary = (
                        spaced
                        and (at_end or _followed_by_new_sentence(text, term_end, end))
                        and not (c == "." and _is_abbreviation(text, line_start, pos))
                    )
                if boundary:
                    self.push_sentence(sent_start, term_end, current_item)
                    pos = _skip_spaces(text, term_end, end)
                    sent_start = pos
                    prev = " "
                    continue
            prev = c
            pos += 1
        self.push_sentence(sent_start, end, current_item)


def _trigger_at(text: str, pos: int, end: int) -> bool:
    """Does a clause trigger start at ``pos``?"""
    if pos >= end:
        return False
    candidates = _lexicon().triggers_by_first.get(_ascii_lower(text[pos]))
    if not candidates:
        return False
    for t in candidates:
        n = len(t)
        if pos + n > end or _ascii_lower(text[pos : pos + n]) != t:
            continue
        # ASCII triggers must end at a word boundary; CJK triggers need none.
        if not t.isascii():
            return True
        nxt = text[pos + n] if pos + n < end else None
        if nxt is None or not (nxt == "'" or _is_alnum(nxt)):
            return True
    return False


def _conjunction_at(text: str, pos: int, end: int) -> int | None:
    """Length of a conjunction (plus following whitespace) at ``pos``."""
    for c in _lexicon().clause_conjunctions:
        n = len(c)
        if pos + n > end or _ascii_lower(text[pos : pos + n]) != _ascii_lower(c):
            continue
        if c.isascii():
            ws = _skip_spaces(text, pos + n, end) - (pos + n)
            if ws > 0:
                return n + ws
        else:
            return n
    return None


def _split_clauses(text: str, start: int, end: int) -> list[Clause]:
    clauses = []
    clause_start = conn_start = start
    quote: str | None = None
    depth = 0
    prev: str | None = None
    pos = start
    while pos < end:
        c = text[pos]
        if quote is not None:
            if c == quote and (c != "'" or not _next_is_alnum(text, pos + 1, end)):
                quote = None
        elif c in _OPEN_QUOTES:
            if c != "'" or not (prev is not None and _is_alnum(prev)):
                quote = _OPEN_QUOTES[c]
        elif c in ("(", "（", "["):
            depth += 1
        elif c in (")", "）", "]") and depth > 0:
            depth -= 1
        elif depth == 0 and pos > clause_start:
            next_start = None
            if c == ";":
                next_start = _skip_spaces(text, pos + 1, end)
            elif c in (",", "，", "、"):
                p = _skip_spaces(text, pos + 1, end)
                n = _conjunction_at(text, p, end)
                if n is not None:
                    p = _skip_spaces(text, p + n, end)
                if _trigger_at(text, p, end):
                    next_start = p
            elif c in _WS or not c.isascii():
                p = _skip_spaces(text, pos, end) if c in _WS else pos
                boundary_ok = c in _WS or not (prev is not None and prev.isascii() and prev.isalnum())
                n = _conjunction_at(text, p, end)
                if n is not None and boundary_ok:
                    q = _skip_spaces(text, p + n, end)
                    if _trigger_at(text, q, end):
                        next_start = q
            if next_start is not None and next_start < end:
                clause_end = _trim_end_pos(text, clause_start, pos)
                if clause_end > clause_start:
                    clauses.append(Clause(conn_start, clause_start, clause_end))
                    conn_start = clause_end
                    clause_start = next_start
                    pos = next_start
                    prev = " "
                    continue
        prev = c
        pos += 1
    clause_end = _trim_end_pos(text, clause_start, end)
    if clause_end > clause_start:
        clauses.append(Clause(conn_start, clause_start, clause_end))
    return clauses


def split_sentences(text: str) -> Document:
    """Sentences and list items of ``text`` without their clauses (the verifiers' sentence count)."""
    return _Segmenter(text).run()


def segment(text: str) -> Document:
    """Sentences, list items and clauses of ``text``, in code point offsets.

    Example:
        >>> [(s.start, s.end) for s in segment("Write a poem. Keep it short.").sentences]
        [(0, 13), (14, 28)]
    """
    doc = _Segmenter(text).run()
    for s in doc.sentences:
        s.clauses = _split_clauses(text, s.start, s.body_end)
    return doc


_TIDY_PUNCT = frozenset(",.;:!?)，。；：！？）")
_TIDY_TRIM = _WS_CHARS + ",;，、；"
_TIDY_CONJUNCTIONS = ("and", "or", "but", "with", "和", "并且", "并", "且")


def tidy(s: str) -> str:
    """Tidy text after phrases were cut out of it (``rewrite::tidy``)."""
    out: list[str] = []
    for c in s:
        if c == " " and (not out or out[-1] in (" ", "(", "（")):
            continue
        if c in _TIDY_PUNCT:
            while out and out[-1] == " ":
                out.pop()
            if c in (",", "，") and (not out or out[-1] in (",", "，")):
                continue
            if out and ((c == ")" and out[-1] == "(") or (c == "）" and out[-1] == "（")):
                out.pop()
                continue
        out.append(c)
    t = "".join(out)
    while True:
        before = t
        t = t.strip(_TIDY_TRIM)
        for conj in _TIDY_CONJUNCTIONS:
            if t.endswith(conj):
                rest = t[: -len(conj)]
                if not conj.isascii() or not rest or rest.endswith((" ", ",")):
                    t = rest
            if t.startswith(conj):
                rest = t[len(conj) :]
                if conj.isascii() and rest.startswith((" ", ",")):
                    t = rest
        if t == before:
            return t


def _is_cjk(c: str) -> bool:
    cp = ord(c)
    return (
        0x3040 <= cp <= 0x30FF
        or 0x3400 <= cp <= 0x4DBF
        or 0x4E00 <= cp <= 0x9FFF
        or 0xAC00 <= cp <= 0xD7AF
        or 0xF900 <= cp <= 0xFAFF
    )


def is_mostly_cjk(text: str) -> bool:
    """Is the text mostly CJK (Han, kana, hangul) among its letters?"""
    cjk = letters = 0
    for c in text:
        if _is_alpha(c):
            letters += 1
            if _is_cjk(c):
                cjk += 1
    return letters > 0 and cjk * 2 >= letters


# ---------------------------------------------------------------------------------------------
# Parsing (parse.rs)
# ---------------------------------------------------------------------------------------------


@dataclass
class _Found:
    start: int
    end: int
    rtype: str
    params: dict[str, Any]
    fold_only: bool = False


def _check_instruction(text: str, limits: ParseLimits) -> None:
    if not _trim(text):
        raise InvalidInstructionError("invalid instruction: empty or whitespace-only instruction")
    n = _byte_len(text)
    if n > limits.max_bytes:
        raise InvalidInstructionError(
            f"invalid instruction: instruction is {n} bytes, over the limit of {limits.max_bytes} (parse.max_bytes)"
        )


def _trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    piece = text[start:end]
    lead = len(piece) - len(_trim_start(piece))
    trail = len(piece) - len(_trim_end(piece))
    if lead + trail >= len(piece):
        return start, start
    return start + lead, end - trail


def _find_requirements(text: str, doc: Document) -> list[_Found]:
    lx = _lexicon()
    # Every pattern is tried in every clause: the anchors of lexicon.json only speed Rust up.
    candidates = lx.patterns
    found: list[_Found] = []
    first_clause = True
    for sentence in doc.sentences:
        for clause in sentence.clauses:
            clause_text = text[clause.start : clause.end]
            matches: list[_Found] = []
            for pattern in candidates:
                for m in pattern.regex.finditer(clause_text):
                    s, e = _trim_span(clause_text, m.start(), m.end())
                    if s >= e or any(s < x.end and x.start < e for x in matches):
                        continue
                    params = dict(pattern.defaults)
                    ok = True
                    for name in pattern.groups:
                        g = m.group(name)
                        if g is not None and not lx.fill_param(name, g, params):
                            ok = False
                            break
                    if ok:
                        matches.append(_Found(s, e, pattern.rtype, params, pattern.fold_only))
            task = first_clause or lx.task_clause.search(clause_text) is not None
            first_clause = False
            whole_clause = len(matches) == 1 and not task
            for f in matches:
                if whole_clause:
                    f.start, f.end = 0, len(clause_text)
                f.start += clause.start
                f.end += clause.start
                found.append(f)
    found.sort(key=lambda f: (f.start, f.end))
    return _fold_restatements(doc, found)


def _fold_restatements(doc: Document, found: list[_Found]) -> list[_Found]:
    """parse::fold_restatements: a same-type requirement in the same or next sentence whose params
    agree folds into the previous one; unfolded fold-only matches are discarded."""

    def sentence_of(pos: int) -> int:
        return next((i for i, s in enumerate(doc.sentences) if pos < s.end), len(doc.sentences))

    out: list[_Found] = []
    for f in found:
        if out:
            last = out[-1]
            agree = all(k not in last.params or last.params[k] == v for k, v in f.params.items())
            if last.rtype == f.rtype and agree and sentence_of(f.start) <= sentence_of(last.start) + 1:
                last.end = max(last.end, f.end)
                last.fold_only = last.fold_only and f.fold_only
                for k, v in f.params.items():
                    last.params.setdefault(k, v)
                continue
        out.append(f)
    return [f for f in out if not f.fold_only]


def _finish(text: str, doc: Document, requirements: list[Requirement]) -> ParsedInstruction:
    for i, r in enumerate(requirements):
        if r.type == "repeat_prompt" and r.start is not None and "prompt" not in r.params:
            request = _rewrite_with(text, doc, requirements, {r.id})
            requirements[i] = dataclasses.replace(r, params=_sorted_params({**r.params, "prompt": request}))
    base_task = _rewrite_with(text, doc, requirements, {r.id for r in requirements})
    return ParsedInstruction(
        text=text,
        base_task=base_task,
        script="zh" if is_mostly_cjk(text) else "en",
        requirements=tuple(requirements),
    )


def _parse_text(text: str, limits: ParseLimits) -> ParsedInstruction:
    _check_instruction(text, limits)
    doc = segment(text)
    found = _find_requirements(text, doc)
    if len(found) > limits.max_requirements:
        raise InvalidInstructionError(
            f"invalid instruction: more than {limits.max_requirements} requirements found, over the limit "
            "(parse.max_requirements)"
        )
    reqs = [
        Requirement(f"r{i + 1}", f.rtype, f.start, f.end, text[f.start : f.end], _sorted_params(f.params), "text")
        for i, f in enumerate(found)
    ]
    return _finish(text, doc, reqs)


# ---------------------------------------------------------------------------------------------
# Structured requirements (structured.rs)
# ---------------------------------------------------------------------------------------------


def _invalid(msg: str) -> InvalidRequirementsError:
    return InvalidRequirementsError(f"invalid requirements: {msg}")


_REQUIRED_PARAMS = {
    "length": ("unit", "relation", "value"),
    "keywords": ("keywords",),
    "keyword_frequency": ("keyword", "relation", "value"),
    "forbidden_words": ("words",),
    "letter_frequency": ("letter", "relation", "value"),
    "response_language": ("language",),
    "paragraph_first_word": ("nth", "first_word"),
    "placeholders": ("value",),
    "bullet_points": ("value",),
    "highlighted_sections": ("value",),
    "sections": ("value",),
    "capital_word_frequency": ("relation", "value"),
    "end_phrase": ("phrase",),
    "start_phrase": ("phrase",),
    "postscript": ("marker",),
}


def _as_i64(v: Any) -> int | None:
    if isinstance(v, int) and not isinstance(v, bool) and _I64_MIN <= v <= _I64_MAX:
        return v
    return None


def _as_f64(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return None


def _f64_as_i64(f: float) -> int:
    """Rust's saturating `f as i64`."""
    return max(_I64_MIN, min(_I64_MAX, int(f)))


def _normalize_kwarg(rid: str, key: str, param: str, value: Any) -> Any:
    def bad(what: str) -> InvalidRequirementsError:
        return _invalid(f"{rid}: kwarg {key}={_json_dumps(value)} {what}")

    if param in ("value", "num_paragraphs", "nth"):
        n = _as_i64(value)
        if n is None:
            f = _as_f64(value)
            if f is not None and f == int(f):
                n = _f64_as_i64(f)
        if n is not None and 0 <= n <= 1_000_000:
            return n
        raise bad("is not a count (an integer from 0 to 1,000,000)")
    if param == "relation":
        if not isinstance(value, str):
            raise bad("is not a string")
        rel = _lexicon().relations.get(_normalize_words(value))
        if rel is None:
            raise bad("is not a known relation")
        return rel
    if param in ("keywords", "words"):
        if not isinstance(value, list):
            raise bad("is not a list")
        words = [_trim(w) if isinstance(w, str) else "" for w in value]
        if not words or any(not w for w in words):
            raise bad("must be a non-empty list of non-empty strings")
        return words
    if param == "letter":
        if not isinstance(value, str):
            raise bad("is not a string")
        s = _lower(_trim(value))
        if len(s) != 1 or not all(_is_alpha(c) for c in s):
            raise bad("is not a single letter")
        return s
    if param == "language":
        if not isinstance(value, str):
            raise bad("is not a string")
        s = _lower(_trim(value))
        if _byte_len(s) == 2 and all("a" <= c <= "z" for c in s):
            return s
        code = _lexicon().languages.get(s)
        if code is None:
            raise bad("is not an ISO 639-1 code or language name")
        return code
    if not isinstance(value, str):
        raise bad("is not a string")
    if not _trim(value):
        raise bad("is empty")
    return value


def _value_eq(a: Any, b: Any) -> bool:
    """serde_json's Value equality: 1 and 1.0 differ, and so do 1 and true."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_value_eq(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_value_eq(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _check_conflicts(reqs: Sequence[tuple[str, dict[str, Any]]]) -> None:
    types = {t for t, _ in reqs}
    if "lowercase" in types and "uppercase" in types:
        raise _invalid("conflicting requirements: both all-lowercase and all-uppercase")
    lengths = [p for t, p in reqs if t == "length"]
    missing = object()
    for a in lengths:
        for b in lengths:
            if not _value_eq(a.get("unit", missing), b.get("unit", missing)):
                continue
            ra, rb = a.get("relation"), b.get("relation")
            va, vb = _as_i64(a.get("value")), _as_i64(b.get("value"))
            if not isinstance(ra, str) or not isinstance(rb, str) or va is None or vb is None:
                continue
            if ra == "at_least":
                lower = va
            elif ra == "more_than":
                lower = min(va + 1, _I64_MAX)
            else:
                continue
            if rb == "at_most":
                upper = vb
            elif rb == "less_than":
                upper = max(vb - 1, _I64_MIN)
            else:
                continue
            if lower > upper:
                raise _invalid(f"conflicting length requirements: {ra} {va} and {rb} {vb}")


def _from_ifeval(ids: Sequence[str], kwargs_json: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        kwargs = _json_loads(kwargs_json)
    except ValueError as e:
        raise _invalid(f"kwargs is not JSON: {e}") from None
    if not isinstance(kwargs, list):
        raise _invalid("kwargs is not a JSON list")
    if len(kwargs) != len(ids):
        raise _invalid(f"{len(ids)} instruction ids but {len(kwargs)} kwargs entries")
    tax = _taxonomy()
    ifeval = {i: (t, fixed) for i, t, fixed in tax["ifeval"]}
    kwarg_params = {(i, k): p for i, k, p in tax["ifeval_kwargs"]}
    out = []
    for rid, kw in zip(ids, kwargs):
        if rid not in ifeval:
            raise UnknownInstructionIdError(f"unknown IFEval instruction id {_rust_debug_str(rid)}")
        rtype, fixed = ifeval[rid]
        params = json.loads(fixed)
        if kw is None:
            kw = {}
        elif not isinstance(kw, dict):
            raise _invalid(f"{rid}: kwargs entry {_json_dumps(kw)} is not an object")
        for key in sorted(kw):
            value = kw[key]
            if value is None:
                continue
            param = kwarg_params.get((rid, key))
            if param is None:
                raise _invalid(f"kwarg {_rust_debug_str(key)} does not belong to {rid}")
            params[param] = _normalize_kwarg(rid, key, param, value)
        if rtype == "length" and "relation" not in params:
            params["relation"] = "exactly"
        for p in _REQUIRED_PARAMS.get(rtype, ()):
            if p not in params:
                raise _invalid(f"{rid}: {rtype}: missing parameter {_rust_debug_str(p)}")
        out.append((rtype, params))
    _check_conflicts(out)
    return out


def _from_list(requirements_json: str) -> list[tuple[str, dict[str, Any], str | None]]:
    try:
        items = _json_loads(requirements_json)
    except ValueError as e:
        raise _invalid(f"requirements is not JSON: {e}") from None
    if not isinstance(items, list):
        raise _invalid("requirements is not a JSON list")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise _invalid(f"requirement {_json_dumps(item)} is not an object")
        rtype = item.get("type")
        if not isinstance(rtype, str):
            raise _invalid(f"requirement {_json_dumps(item)} has no type")
        if rtype not in _type_info():
            raise _invalid(f"unknown requirement type {_rust_debug_str(rtype)}")
        params = item.get("params")
        if params is None:
            params = {}
        elif not isinstance(params, dict):
            raise _invalid(f"{rtype}: params {_json_dumps(params)} is not an object")
        text = item.get("text")
        text = text if isinstance(text, str) and _trim(text) else None
        out.append((rtype, params, text))
    _check_conflicts([(t, p) for t, p, _ in out])
    return out


def _parse_structured(
    prompt: str, reqs: list[tuple[str, dict[str, Any], str | None]], limits: ParseLimits
) -> ParsedInstruction:
    _check_instruction(prompt, limits)
    if len(reqs) > limits.max_requirements:
        raise InvalidInstructionError(
            f"invalid instruction: {len(reqs)} requirements, over the limit of {limits.max_requirements} "
            "(parse.max_requirements)"
        )
    doc = segment(prompt)
    found: list[_Found | None] = list(_find_requirements(prompt, doc))
    taken: list[tuple[int, int]] = []

    def overlaps(s: int, e: int) -> bool:
        return any(s < b and a < e for a, b in taken)

    requirements = []
    for i, (rtype, params, text) in enumerate(reqs):
        span = None
        if text is not None:
            k = prompt.find(text)
            while k >= 0:
                if not overlaps(k, k + len(text)):
                    span = (k, k + len(text))
                    break
                k = prompt.find(text, k + len(text))
        if span is None:
            for j, f in enumerate(found):
                if f is not None and f.rtype == rtype and not overlaps(f.start, f.end):
                    span = (f.start, f.end)
                    found[j] = None
                    break
        if span is not None:
            taken.append(span)
        requirements.append(
            Requirement(
                id=f"r{i + 1}",
                type=rtype,
                start=span[0] if span else None,
                end=span[1] if span else None,
                text=prompt[span[0] : span[1]] if span else "",
                params=_sorted_params(params),
                source="structured",
            )
        )
    return _finish(prompt, doc, requirements)


def parse(
    text: str,
    *,
    instruction_id_list: Sequence[str] | None = None,
    kwargs: Sequence[dict[str, Any] | None] | None = None,
    requirements: Sequence[dict[str, Any]] | None = None,
    limits: ParseLimits = _DEFAULT_LIMITS,
) -> ParsedInstruction:
    """Parse one instruction, exactly as :func:`wrl.requirements.parse` does.

    Args:
        text: the instruction.
        instruction_id_list, kwargs: IFEval structured requirements.
        requirements: explicit ``[{"type", "params", "text"}]`` requirements.
        limits: rejection limits.

    Returns:
        The parsed instruction (spans in code points, params as the Rust engine returns them).

    Raises:
        WrlError: the same subclass (and, with rare exceptions documented in
        ``docs/reference-engine.md``, the same message) as the Rust engine.
    """
    kwargs_json = json.dumps(list(kwargs)) if kwargs is not None else None
    reqs_json = json.dumps(list(requirements)) if requirements is not None else None
    return _parse_one(text, list(instruction_id_list) if instruction_id_list is not None else None, kwargs_json,
                      reqs_json, limits)


def _parse_one(
    text: str, ids: list[str] | None, kwargs_json: str | None, reqs_json: str | None, limits: ParseLimits
) -> ParsedInstruction:
    if ids is not None:
        pairs = _from_ifeval(ids, kwargs_json if kwargs_json is not None else "[]")
        return _parse_structured(text, [(t, p, None) for t, p in pairs], limits)
    if reqs_json is not None:
        return _parse_structured(text, _from_list(reqs_json), limits)
    return _parse_text(text, limits)


# ---------------------------------------------------------------------------------------------
# Rewriting (rewrite.rs)
# ---------------------------------------------------------------------------------------------


def _dropped_ranges(text: str, requirements: Iterable[Requirement], dropped: set[str]) -> list[tuple[int, int]]:
    n = len(text)
    ranges = [
        (r.start, r.end)
        for r in requirements
        if r.id in dropped and r.start is not None and r.end is not None and 0 <= r.start <= n and 0 <= r.end <= n
    ]
    return sorted((s, e) for s, e in ranges if s < e)


def _has_word(s: str) -> bool:
    return any(_is_alnum(c) for c in s)


def _ends_sentence(s: str) -> bool:
    t = s.rstrip("\"'”’」』）)]")
    return t.endswith(tuple(".!?。！？；:："))


def _is_bare_trigger(s: str) -> bool:
    k = len(s)
    while k > 0 and not _is_alnum(s[k - 1]):
        k -= 1
    t = _ascii_lower(s[:k])
    return any(_ascii_lower(trigger) == t for trigger in _lexicon().clause_triggers)


def _capitalize_first(s: str) -> str:
    if s and "a" <= s[0] <= "z":
        return s[0].upper() + s[1:]
    return s


def _rewrite_sentence(text: str, sentence: Sentence, ranges: list[tuple[int, int]]) -> tuple[str, bool] | None:
    kept: list[tuple[int, str]] = []
    changed = False
    for ci, clause in enumerate(sentence.clauses):
        cuts = [(max(s, clause.start), min(e, clause.end)) for s, e in ranges if s < clause.end and e > clause.start]
        if not cuts:
            kept.append((ci, text[clause.start : clause.end]))
            continue
        changed = True
        remaining = []
        pos = clause.start
        for s, e in cuts:
            if s > pos:
                remaining.append(text[pos:s])
            remaining.append(" ")
            pos = max(pos, e)
        remaining.append(text[min(pos, clause.end) : clause.end])
        tidied = tidy("".join(remaining))
        if _has_word(tidied) and not _is_bare_trigger(tidied):
            kept.append((ci, tidied))
    if not kept:
        return None
    body = []
    for i, (ci, clause_text) in enumerate(kept):
        if i > 0:
            c = sentence.clauses[ci]
            body.append(text[c.conn_start : c.start])
        body.append(clause_text)
    out = "".join(body)
    if changed:
        out = _capitalize_first(out)
    return out, changed


def _more_breaks(a: str, b: str) -> str:
    return b if b.count("\n") > a.count("\n") else a


def _rewrite_with(text: str, doc: Document, requirements: Iterable[Requirement], dropped: set[str]) -> str:
    ranges = _dropped_ranges(text, requirements, dropped)
    if not ranges:
        return _trim(text)
    sentences = doc.sentences
    items = doc.items
    bodies = [_rewrite_sentence(text, s, ranges) for s in sentences]
    item_kept = [False] * len(items)
    for s, b in zip(sentences, bodies):
        if s.item is not None and b is not None:
            item_kept[s.item] = True
    list_count = max((it.list + 1 for it in items), default=0)
    list_kept = [False] * list_count
    list_changed = [False] * list_count
    for it, item in enumerate(items):
        list_kept[item.list] |= item_kept[it]
        list_changed[item.list] |= not item_kept[it]
    lx = _lexicon()
    out: list[str] = []
    pending_gap: str | None = None
    prev_end = 0
    item_emitted = [False] * len(items)
    # Renumbering restarts from each list's first number.
    next_number: list[int | None] = [None] * list_count
    for item in reversed(items):
        if item.number is not None:
            next_number[item.list] = item.number
    for si, (s, rewritten) in enumerate(zip(sentences, bodies)):
        opens_item = s.item is not None and items[s.item].marker_start >= prev_end
        gap_end = items[s.item].marker_start if opens_item else s.start
        gap = text[prev_end:gap_end]
        prev_end = s.end
        if rewritten is None:
            pending_gap = gap if pending_gap is None else _more_breaks(pending_gap, gap)
            continue
        body, changed = rewritten
        terminal = text[s.body_end : s.end]
        # A sentence that lost its last clause, and with it its closing punctuation, gets a period.
        if changed and not terminal and not _ends_sentence(body):
            terminal = "。" if is_mostly_cjk(body) else "."
        # A lead-in whose list was emptied loses its "with the following requirements" tail.
        nxt = sentences[si + 1].item if si + 1 < len(sentences) else None
        if nxt is not None:
            lst = items[nxt].list
            is_intro = s.item is None or items[s.item].list != lst
            if is_intro and not list_kept[lst] and terminal.endswith((":", "：")):
                tail = [m for m in lx.list_intro_tail.finditer(body) if m.end() == len(body)]
                if tail and tail[-1].start() > 0:
                    body = tidy(body[: tail[-1].start()])
                terminal = "。" if terminal.endswith("：") else "."
        if out:
            out.append(gap if pending_gap is None else _more_breaks(pending_gap, gap))
        pending_gap = None
        if s.item is not None and not item_emitted[s.item]:
            item_emitted[s.item] = True
            item = items[s.item]
            marker = text[item.marker_start : item.marker_end]
            if item.number is not None and list_changed[item.list]:
                number = next_number[item.list]
                if number is None:
                    number = item.number
                next_number[item.list] = number + 1
                out.append(marker.replace(str(item.number), str(number), 1))
            else:
                out.append(marker)
            out.append(text[item.marker_end : s.start] if opens_item else " ")
        out.append(body)
        out.append(terminal)
    return _trim("".join(out))


def rewrite(text: str, requirements: Iterable[Requirement], dropped: Iterable[str]) -> str:
    """``text`` without the spans of the requirements whose ids are in ``dropped``."""
    return _rewrite_with(text, segment(text), list(requirements), set(dropped))


# ---------------------------------------------------------------------------------------------
# Dropping (rng.rs, drop.rs)
# ---------------------------------------------------------------------------------------------

_GOLDEN = 0x9E3779B97F4A7C15


def fnv1a(data: bytes) -> int:
    """FNV-1a, 64 bits."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & _M64
    return h


class Rng:
    """SplitMix64 seeded from FNV-1a of the instruction's key, as ``rng.rs``."""

    def __init__(self, state: int):
        self.state = state & _M64

    @classmethod
    def for_key(cls, seed: int, key: str) -> Rng:
        return cls(fnv1a(key.encode("utf-8")) ^ ((seed * _GOLDEN) & _M64))

    def next_u64(self) -> int:
        self.state = (self.state + _GOLDEN) & _M64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        return z ^ (z >> 31)

    def next_f64(self) -> float:
        return (self.next_u64() >> 11) / float(1 << 53)

    def sample(self, n: int, k: int) -> list[int]:
        pool = list(range(n))
        k = min(k, n)
        for i in range(k):
            j = i + self.next_u64() % (n - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]


_STRATEGIES = ("independent", "exact_k", "progressive")


def _check_settings(settings: DropSettings) -> None:
    if settings.strategy not in _STRATEGIES:
        raise InvalidConfigError(
            f"invalid config: drop.strategy {_rust_debug_str(settings.strategy)} is not one of independent, "
            "exact_k, progressive"
        )
    for name in ("k", "seed", "max_variants"):
        value = getattr(settings, name)
        if value < 0 or value > _M64:
            raise OverflowError(f"drop.{name}={value} does not fit an unsigned 64-bit integer")
    rate = float(settings.rate)
    if math.isnan(rate) or not 0.0 <= rate <= 1.0:
        raise InvalidConfigError(f"invalid config: drop.rate must be in [0, 1], got {_rust_f64_display(rate)}")
    if settings.strategy == "exact_k" and settings.k == 0:
        raise InvalidConfigError("invalid config: drop.k must be at least 1 for exact_k")
    if not 1 <= settings.max_variants <= 4096:
        raise InvalidConfigError(f"invalid config: drop.max_variants must be in [1, 4096], got {settings.max_variants}")


def drop(
    text: str, parsed: ParsedInstruction, key: str, settings: DropSettings = _DEFAULT_DROP
) -> list[dict[str, Any]]:
    """Draw the variants of one instruction, as ``drop::drop_instruction``.

    Args:
        text: the instruction.
        parsed: its parse (only the requirements are used).
        key: the instruction's id: with ``settings.seed`` it seeds the draw.
        settings: strategy, rate, k, seed and max_variants.

    Returns:
        ``[{"variant", "kept", "dropped", "prompt"}]``, variant 0 being the full instruction.
    """
    _check_settings(settings)
    reqs = list(parsed.requirements)
    droppable = [r for r in reqs if r.start is not None]
    n = len(droppable)
    rng = Rng.for_key(settings.seed, key)
    rate = float(settings.rate)
    attempts = (settings.max_variants * 4) & _M64
    sets: list[list[int]] = []
    if settings.strategy == "independent":
        for _ in range(attempts):
            if len(sets) >= settings.max_variants or n == 0:
                break
            chosen = [i for i in range(n) if rng.next_f64() < rate]
            if chosen and chosen not in sets:
                sets.append(chosen)
    elif settings.strategy == "exact_k":
        if n >= settings.k:
            for _ in range(attempts):
                if len(sets) >= settings.max_variants:
                    break
                chosen = sorted(rng.sample(n, settings.k))
                if chosen not in sets:
                    sets.append(chosen)
    else:
        order = rng.sample(n, n)
        for j in range(1, min(n, settings.max_variants) + 1):
            sets.append(sorted(order[:j]))
    doc = segment(text)
    variants = [{"variant": 0, "kept": [r.id for r in reqs], "dropped": [], "prompt": _trim(text)}]
    for i, chosen in enumerate(sets):
        dropped = {droppable[j].id for j in chosen}
        variants.append(
            {
                "variant": i + 1,
                "kept": [r.id for r in reqs if r.id not in dropped],
                "dropped": [r.id for r in reqs if r.id in dropped],
                "prompt": _rewrite_with(text, doc, reqs, dropped),
            }
        )
    return variants


# ---------------------------------------------------------------------------------------------
# Tables: the batch functions of the bindings (rust_ext/py), row by row
# ---------------------------------------------------------------------------------------------

_REQUIREMENT_TYPE = pa.struct(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("family", pa.string(), nullable=False),
        pa.field("start", pa.int32()),
        pa.field("end", pa.int32()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("params", pa.string(), nullable=False),
        pa.field("verifiable", pa.bool_(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
    ]
)
_PARSED_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("prompt", pa.string(), nullable=False),
        pa.field("base_task", pa.string(), nullable=False),
        pa.field("script", pa.string(), nullable=False),
        pa.field("n_requirements", pa.int32(), nullable=False),
        pa.field("requirements", pa.list_(pa.field("item", _REQUIREMENT_TYPE, nullable=False)), nullable=False),
    ]
)
_REJECTS_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64(), nullable=False),
        pa.field("id", pa.string()),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason_kind", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ]
)
_STRING_LIST = pa.list_(pa.field("item", pa.string()))
_VARIANTS_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("variant", pa.int32(), nullable=False),
        pa.field("variant_id", pa.string(), nullable=False),
        pa.field("strategy", pa.string(), nullable=False),
        pa.field("n_requirements", pa.int32(), nullable=False),
        pa.field("n_dropped", pa.int32(), nullable=False),
        pa.field("kept_ids", _STRING_LIST, nullable=False),
        pa.field("dropped_ids", _STRING_LIST, nullable=False),
        pa.field("dropped_types", _STRING_LIST, nullable=False),
        pa.field("prompt", pa.string(), nullable=False),
    ]
)
_REASON_KIND = {
    InvalidInstructionError: "invalid_instruction",
    InvalidRequirementsError: "invalid_requirements",
    UnknownInstructionIdError: "unknown_instruction_id",
    InvalidConfigError: "invalid_config",
}
_INVALID_UTF8 = object()


def _arrow_type_name(t: pa.DataType) -> str:
    """Arrow Rust's display of a data type, for the common cases."""
    names = {
        pa.int8(): "Int8", pa.int16(): "Int16", pa.int32(): "Int32", pa.int64(): "Int64",
        pa.uint8(): "UInt8", pa.uint16(): "UInt16", pa.uint32(): "UInt32", pa.uint64(): "UInt64",
        pa.float16(): "Float16", pa.float32(): "Float32", pa.float64(): "Float64", pa.bool_(): "Boolean",
        pa.string(): "Utf8", pa.large_string(): "LargeUtf8", pa.binary(): "Binary", pa.large_binary(): "LargeBinary",
    }
    return names.get(t, str(t))


def _string_cells(batch: pa.RecordBatch, name: str) -> list[Any] | None:
    """StrColumn: None when the column is absent; cells are str, None or _INVALID_UTF8."""
    if name not in batch.schema.names:
        return None
    col = batch.column(name)
    t = col.type
    if pa.types.is_null(t):
        return [None] * len(col)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return col.to_pylist()
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        out: list[Any] = []
        for b in col.to_pylist():
            try:
                out.append(None if b is None else b.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(_INVALID_UTF8)
        return out
    raise InvalidConfigError(f"column {_rust_debug_str(name)} must be a string column, not {_arrow_type_name(t)}")


def _string_list_cells(batch: pa.RecordBatch, name: str) -> list[Any]:
    """`arrow_io::string_list` for every row: None, a list of str, or an error message."""
    if name not in batch.schema.names:
        return [None] * batch.num_rows
    col = batch.column(name)
    t = col.type
    if pa.types.is_null(t):
        return [None] * batch.num_rows
    if not (pa.types.is_list(t) or pa.types.is_large_list(t)):
        msg = f"column {_rust_debug_str(name)} must be a list of strings, not {_arrow_type_name(t)}"
        return [None if v is None else _RowError(msg) for v in col.to_pylist()]
    vt = t.value_type
    is_str = pa.types.is_string(vt) or pa.types.is_large_string(vt) or pa.types.is_string_view(vt)
    out: list[Any] = []
    for v in col.to_pylist():
        if v is None:
            out.append(None)
        elif not is_str or any(x is None for x in v):
            out.append(_RowError(f"column {_rust_debug_str(name)} holds a null or non-string item"))
        else:
            out.append(v)
    return out


@dataclass
class _RowError:
    message: str


def _requirement_row(r: Requirement) -> dict[str, Any]:
    info = _type_info().get(r.type)
    return {
        "id": r.id,
        "type": r.type,
        "family": info["family"] if info else "unknown",
        "start": r.start,
        "end": r.end,
        "text": r.text,
        "params": _json_dumps(r.params),
        "verifiable": bool(info["verifiable"]) if info else False,
        "source": r.source,
    }


def _parse_batch(table: pa.Table, limits: ParseLimits) -> tuple[pa.Table, pa.Table]:
    """`_core.parse_batch`, row by row."""
    if "prompt" not in table.column_names:
        raise InvalidConfigError(f'the input has no "prompt" column (columns: {", ".join(table.column_names)})')
    rows = []
    seen: set[str] = set()
    offset = 0
    for batch in table.to_batches():
        prompts = _string_cells(batch, "prompt")
        ids = _string_cells(batch, "id")
        kwargs = _string_cells(batch, "kwargs")
        reqs = _string_cells(batch, "requirements")
        id_lists = _string_list_cells(batch, "instruction_id_list")
        for i in range(batch.num_rows):
            row = offset + i
            if ids is None:
                rid: str | None = str(row)
            else:
                rid = ids[i] if isinstance(ids[i], str) else None
            duplicate = rid is not None and rid in seen
            if rid is not None:
                seen.add(rid)
            rows.append((row, rid, prompts[i], id_lists[i], kwargs[i] if kwargs else None,
                         reqs[i] if reqs else None, duplicate))
        offset += batch.num_rows
    parsed: dict[str, list[Any]] = {name: [] for name in _PARSED_SCHEMA.names}
    rejects: dict[str, list[Any]] = {name: [] for name in _REJECTS_SCHEMA.names}
    for row, rid, prompt, id_list, kw, rq, duplicate in rows:
        try:
            if rid is None:
                raise InvalidInstructionError("invalid instruction: missing or non-UTF-8 id")
            if duplicate:
                raise InvalidInstructionError(f"invalid instruction: duplicate id {_rust_debug_str(rid)}")
            if prompt is None:
                raise InvalidInstructionError("invalid instruction: missing prompt (null)")
            if prompt is _INVALID_UTF8:
                raise InvalidInstructionError("invalid instruction: prompt is not valid UTF-8")
            if isinstance(id_list, _RowError):
                raise _invalid(id_list.message)
            for what, cell in (("kwargs", kw), ("requirements", rq)):
                if cell is _INVALID_UTF8:
                    raise _invalid(f"{what} is not valid UTF-8")
            p = _parse_one(prompt, id_list, kw, rq, limits)
        except tuple(_REASON_KIND) as e:
            for name, value in zip(_REJECTS_SCHEMA.names, (row, rid, "parse", _REASON_KIND[type(e)], str(e))):
                rejects[name].append(value)
            continue
        values = (row, rid, prompt, p.base_task, p.script, len(p.requirements),
                  [_requirement_row(r) for r in p.requirements])
        for name, value in zip(_PARSED_SCHEMA.names, values):
            parsed[name].append(value)
    return pa.table(parsed, schema=_PARSED_SCHEMA), pa.table(rejects, schema=_REJECTS_SCHEMA)


def parse_table(
    table: pa.Table, *, limits: ParseLimits = _DEFAULT_LIMITS, threads: int = 0
) -> tuple[pa.Table, pa.Table]:
    """:func:`wrl.requirements.parse_table`, row by row in Python (``threads`` is ignored).

    Returns:
        ``(parsed, rejects)`` with the same schemas and values as the Rust engine's.
    """
    from wrl.requirements import _PARSE_COLUMNS, _as_string_column, _kwargs_as_json

    table = _kwargs_as_json(_as_string_column(table, "id"))
    parsed, rejects = _parse_batch(table, limits)
    extra = [c for c in table.column_names if c not in _PARSE_COLUMNS and c not in parsed.column_names]
    if extra:
        carried = table.select(extra).take(parsed["row"])
        for name in extra:
            parsed = parsed.append_column(table.schema.field(name), carried[name])
    return parsed.drop_columns(["row"]), rejects


def _read_requirements(value: Any, fields: list[str]) -> list[Requirement] | _RowError:
    """`RequirementColumn::get` of one row."""
    if value is None:
        return []
    out = []
    for r in value:
        rid, rtype = r.get("id"), r.get("type")
        if not isinstance(rid, str):
            return _RowError("a requirement has no id")
        if not isinstance(rtype, str):
            return _RowError("a requirement has no type")
        span = []
        for name in ("start", "end"):
            v = r.get(name)
            if v is not None and v < 0:
                return _RowError(f"requirement field {_rust_debug_str(name)} is negative ({v})")
            span.append(v)
        start, end = span
        if start is not None and end is not None and start > end:
            return _RowError(f"requirement {rid} has start {start} after end {end}")
        params: Any = {}
        if isinstance(r.get("params"), str):
            try:
                params = _json_loads(r["params"])
            except ValueError as e:
                return _RowError(f"requirement {rid}: params are not JSON: {e}")
        text = r.get("text")
        source = r.get("source")
        out.append(Requirement(rid, rtype, start, end, text if isinstance(text, str) else "", params,
                               source if isinstance(source, str) else "text"))
    return out


def drop_table(
    parsed: pa.Table, settings: DropSettings = _DEFAULT_DROP, *, threads: int = 0
) -> tuple[pa.Table, pa.Table]:
    """:func:`wrl.requirements.drop_table`, row by row in Python (``threads`` is ignored).

    Returns:
        ``(variants, rejects)`` with the same schemas and values as the Rust engine's.
    """
    _check_settings(settings)
    rows = []
    offset = 0
    for batch in parsed.to_batches():
        ids = _string_cells(batch, "id")
        prompts = _string_cells(batch, "prompt")
        if ids is None or prompts is None:
            raise InvalidConfigError("drop needs the id, prompt and requirements columns written by parse")
        if "requirements" not in batch.schema.names:
            raise InvalidConfigError('missing column "requirements"')
        rt = batch.schema.field("requirements").type
        if not (pa.types.is_list(rt) and pa.types.is_struct(rt.value_type)):
            raise InvalidConfigError(
                f'column "requirements" must be list<struct> as written by parse, not {_arrow_type_name(rt)}'
            )
        fields = [rt.value_type.field(i).name for i in range(rt.value_type.num_fields)]
        for needed in ("id", "type", "start", "end"):
            if needed not in fields:
                raise InvalidConfigError(f'column "requirements" lacks the struct field "{needed}"')
        for i, reqs in enumerate(batch.column("requirements").to_pylist()):
            rows.append((offset + i, ids[i], prompts[i], _read_requirements(reqs, fields)))
        offset += batch.num_rows
    variants: dict[str, list[Any]] = {name: [] for name in _VARIANTS_SCHEMA.names}
    rejects: dict[str, list[Any]] = {name: [] for name in _REJECTS_SCHEMA.names}
    for row, rid, prompt, reqs in rows:
        rid = rid if isinstance(rid, str) else None
        try:
            if rid is None:
                raise InvalidInstructionError("invalid instruction: missing id")
            if not isinstance(prompt, str):
                raise InvalidInstructionError("invalid instruction: missing or non-UTF-8 prompt")
            if isinstance(reqs, _RowError):
                raise _invalid(reqs.message)
            bad = next((q for q in reqs if q.end is not None and q.end > len(prompt)), None)
            if bad is not None:
                raise _invalid(f"requirement {bad.id} ends past the prompt")
            vs = drop(prompt, ParsedInstruction(prompt, "", "", tuple(reqs)), rid, settings)
        except tuple(_REASON_KIND) as e:
            for name, value in zip(_REJECTS_SCHEMA.names, (row, rid, "drop", _REASON_KIND[type(e)], str(e))):
                rejects[name].append(value)
            continue
        types = {}
        for q in reqs:
            types.setdefault(q.id, q.type)
        for v in vs:
            values = (row, rid, v["variant"], f"{rid}:{v['variant']}", settings.strategy, len(reqs),
                      len(v["dropped"]), v["kept"], v["dropped"], [types[d] for d in v["dropped"]], v["prompt"])
            for name, value in zip(_VARIANTS_SCHEMA.names, values):
                variants[name].append(value)
    return pa.table(variants, schema=_VARIANTS_SCHEMA), pa.table(rejects, schema=_REJECTS_SCHEMA)


# ---------------------------------------------------------------------------------------------
# Unicode tables generated from Rust 1.95 (Unicode 17) and regex-syntax 0.8.12; see
# docs/reference-engine.md for the generator. Ranges are comma-separated base-36 'gap.length'
# pairs; the lowercase map is runs of 'start-delta.count.stride.mapping-delta'.
# ---------------------------------------------------------------------------------------------

_ALPHABETIC = (
    "1t.p,6.p,1b,a,4,5.m,1.u,1.cp,4.b,e.4,7,1,2e,t.h,1.1,2.3,1,6,1.2,1,1.j,1.2a,1.3u,8.4l,1.11,2,6.14,13.d,1,1.1,1.1,"
    "1,8.q,4.3,t.a,5.1j,1.6,e.2t,1.7,4.7,4.2,a.2,2,g.1b,d.2s,o.w,9.1,4,5.n,2.i,j.o,7.a,5.n,1.6,7,8.15,a.b,3.6,6.23,1."
    "f,1.2,4.e,d.i,1.7,2.1,2.l,1.6,1,3.3,3.7,2.1,2.1,1,8,4.1,1.4,c.1,a,4.2,1.5,4.1,2.l,1.6,1.1,1.1,1.1,4.4,4.1,2.1,4,"
    "7.3,1,h.5,b.2,1.8,1.2,1.l,1.6,1.1,1.4,3.8,1.2,1.1,3,f.3,l.3,4.2,1.7,2.1,2.l,1.6,1.1,1.4,3.7,2.1,2.1,9.1,4.1,1.4,"
    "d,g.1,1.5,3.2,1.3,3.1,1,1.1,3.1,3.2,3.b,4.4,3.2,1.2,3,6,14.c,1.2,1.m,1.f,3.7,1.2,1.2,8.1,1.2,1.1,2.3,s.3,1.7,1.2"
    ",1.m,1.9,1.4,3.7,1.2,1.2,8.1,5.2,1.3,d.2,c.c,1.2,1.14,2.7,1.2,1.2,1,5.3,7.4,m.5,1.2,1.h,3.n,1.8,1,2.6,8.5,1,1.7,"
    "i.1,d.1l,5.6,6,1f.1,1,1.4,1.n,1,1.i,1.2,2.4,1,6,e.3,w,1r.7,1.z,4.i,4.f,1.z,1v.1i,1,2.4,g.1r,a.3,2.11,1,5,2.16,1."
    "98,1.3,2.6,1,1.3,2.14,1.3,2.w,1.3,2.6,1,1.3,2.e,1.1k,1.3,2.1u,11.f,g.2d,2.5,3.h7,2.g,1.p,5.22,3.a,7.j,b.k,c.j,c."
    "c,1.2,1.1,c.1f,2.i,e,4,1v.2g,7.16,5.1x,a.u,1.b,4.8,n.t,2.4,b.17,4.p,1i.r,4.1q,2.j,1e,n.1,b.2,1d.1f,1.e,1.7,1f.15"
    ",2.3,a.17,1.a,e.1i,m.2,a.z,2.a,5.16,2.2,15.3,1.5,1.1,3,5.5b,j.x,b.7p,2.5,2.11,2.5,2.7,1,1,1,1.u,2.1g,1.6,1,3.2,1"
    ".6,3.3,2.5,4.c,5.2,1.6,38,d,g.c,2t,4,2.9,1,3.4,6,1,1,1.3,1.a,2.3,5.4,4,h.14,ml.1f,1ee.6c,6.3,3.1,c.11,1,5,2.1j,7"
    ",g.m,9.6,1.6,1.6,1.6,1.6,1.6,1.6,1.6,1.v,1b,d1.2,p.8,7.4,2.4,4.2d,6.2,1.2h,1.3,5.16,1.2l,h.v,1c.f,e8.533,1s.h3g,"
    "1v.19,2.7g,3.f,a.1,k.1a,5.7,3.34,13.8,2.2u,2.29,k.k,1.w,o.1f,c.1v,1,18.5,3,1.2,a.w,5.y,d.s,3.1e,1.b,f,g.f,a.4,1."
    "1i,9.d,i.m,3.1w,1,1,o.2,2.f,2.3,b.5,2.5,2.5,9.6,1.6,1.16,1.d,6.3e,l.8mb,c.m,4.1c,6is.a5,2.2x,12.6,c.4,5.b,1.c,1."
    "4,1,1.1,1.1,1.2z,x.a2,i.1r,2.1h,14.b,38.4,1.3q,10.p,6.p,b.2g,3.5,2.5,2.5,2.2,z.b,1.p,1.i,1.1,1.e,2.d,y.3e,1x.1g,"
    "7f.s,3.1c,1b.v,d.t,5.16,5.t,2.z,4.7,1.4,16.4d,i.z,4.z,4.13,8.1f,c.a,1.e,1.6,1.1,1.a,1.e,1.6,1.1,3.1f,c.8m,9.l,a."
    "7,o.5,1.15,1.8,1x.5,2,1.17,1.1,3,2.m,a.m,9.u,1t.i,1.1,a.l,a.p,6.p,12.1j,6.1,1s.3,1.1,5.7,1.2,1.s,16.s,3.s,z.7,1."
    "r,r.1h,a.l,a.i,d.h,32.20,1j.1e,d.1e,d.13,y.r,3,5.m,6y.15,1.1,3.1,g.5,1e.2,3.s,a,8.l,16.h,1a.k,r.m,9.1x,17.4,a.1k"
    ",9,d.o,n.1e,h.3,8.y,3,9.1r,1.3,9.1,a,1,z.h,1.x,2,6.3,1q.6,1,1.3,1.e,1.9,7.1k,n.3,1.7,2.1,2.l,1.6,1.1,1.4,3.7,2.1"
    ",2.1,3,6,5.6,s.9,1,2,1.11,1.9,1,2,1.3,1.1,3,1,18.1t,1.2,1.3,k.2,u.1t,2.1,1,54.1h,2.6,p.5,y.1q,1,3,1n.1h,2,1z.q,2"
    ".d,l.6,55.1k,2v.1r,v.7,2,2.7,1.1,1.t,1.1,2.1,2.3,2l.7,2.19,2.5,1,1.1,r.1e,2.9,h.1z,5,i.20,2v.7,2g.w,v.8,1.18,1.6"
    ",1,1d.t,2.l,1.d,21.6,1.1,1.17,3,1.1,1.2,1,2.1,o.5,1.1,1.10,1.1,1.3,1,n.17,78.m,9.g,1.14,3.2,33,27.pl,2u.32,h.5f,"
    "218.2o,f.tr,h.5,p.32y,5.g6,5a1.1a,1ch.fs,7.u,h.26,h.t,i.1b,g.3,v.k,5.i,c0.18,5v.1r,w.o,2.o,18.22,4.1k,7.g,1s.1,1"
    ",c.6,9.5p1,15.v,2p.36,6pp.3,1.6,1.1,1.82,f,t.2,2,e.3,8.az,1s4.2y,5.c,3.8,7.9,4,4m9.2c,1.1y,1.1,2,2.1,2.3,1.b,1,1"
    ".6,1.1s,1.3,2.7,1.6,1.r,1.3,1.4,1,3.6,1.9f,2.o,1.o,1.u,1.o,1.u,1.o,1.u,1.o,1.u,1.o,1.7,1f8.u,6.5,5x.6,1.g,2.6,1."
    "1,1.4,5.1p,x,34.18,a.6,g,8x.t,i.17,dg.r,6c.t,2,5r.u,1.l,8.1,68.6,1.3,1.1,1.e,1.5g,1n.1v,3,3,xg.3,1.q,1.1,1,2,1.9"
    ",1.3,1,1,6,4,1,1,1.2,1.1,1,2,1,1,1,1,1.1,1,2.3,1.6,1.3,1.3,1,1.9,1.g,5.2,1.4,1.g,hg.p,6.p,6.p,2uu.wyn,w.3dp,2.4g"
    "d,2.5rk,f.h9,1wi.f1,15u.3t6,5.6jt"
)
_NUMERIC = (
    "1c.9,3c.1,5,2.2,141.9,3q.9,5i.9,bg.9,3a.9,4.5,30.9,3a.9,3a.9,2.5,32.c,37.9,8.6,2v.9,2w.6,7.i,31.9,2o.9,3a.9,1y.j"
    ",7g.9,1y.9,jz.j,oh.2,6n.9,6.9,m.9,8c.9,3k.a,4l.9,6.9,52.9,2e.9,3q.9,6.9,t2,3.5,6.9,5i.1e,2.4,k6.1n,26.l,hi.t,12h"
    ",ll,p.8,e.2,9j.3,3u.9,u.7,1.e,w.9,13.e,msg.9,58.9,8w.5,4a.9,12.9,5i.9,m.9,2e.9,ba.9,geu.9,dp.18,c.1k,h.1,9h.q,10"
    ".3,t,8,3q.4,5m.9,q6.7,p.6,13.8,23.4,m.5,4g.1,2.f,2.19,1s.8,1g.1,u.2,23.4,2w.7,o.7,15.6,96.5,1c.9,6.9,7q.u,4e.9,1"
    "6.3,34.6,3q.t,3k.9,1o.9,40.9,7.j,6z.9,9i.9,3a.9,ae.9,2u.9,6.j,24.b,bo.i,2l.9,ie.9,2e.s,6b.9,1y.9,1i.9,9y.9,2u.k,"
    "tn.32,c01.9,1t2.9,2e.9,3q.9,1.6,em.9,7a.m,9p.2,id5.9,152.j,c.j,30.o,ut.1d,1ts.9,bq.9,dy.9,6v.9,jw.8,3k.9,lz.1m,1"
    ".2,1.3,24.18,1.e,qq.c,25f.9"
)
_LOWERCASE = (
    "2p.p,1b,a,4,10.n,1.7,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1.1,1,1,1,1,1,1,1,1.1,1,1,1,1,1,1,1,1"
    ",1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,2,1,1.2,2,1,2,3.1,4,2,3.2,2,2,1,1,2,1.1,1,2,3,1,2.1,2.2,6,2,2,1,1,1,1,1,1,1,1.1,1"
    ",1,1,1,1,1,1,1,1.1,2,1,3,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1.6,2,2.1,1,4,1,1,1,1.1w,2.y,7."
    "1,u.4,2o,17,1,3,2.3,i,r.y,1.1,3.2,1,1,1,1,1,1,1,1,1,1,1,1.4,1,2,2.1,1f.1b,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,9,1,"
    "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,2,1,1,1,1,1,1.1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
    "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1c.14,287.16,1.3,l4.5,1oi.8,1,39.5b,1t,1,1,1,1,1,1,1,1,1,1,1,1"
    ",1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1"
    ",1,1,1,1,1,1.8,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1"
    ".8,8.5,a.7,8.7,8.5,a.7,8.7,8.d,2.7,8.7,8.7,8.4,1.1,6,3.2,1.1,8.3,2.1,8.7,a.2,1.1,3d,d,g.c,31,3.1,3,r,4,4,2.1,8.3"
    ",4,x.f,4,nf.p,1fq.1b,1,3.1,1,1,1,4,1.1,1.7,3,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1"
    ",1,1,1,1,1,1,1,1,1,1,1,1,1,1,1.1,7,1,4,c.11,1,5,nwz,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,j,1,1,1,1,1,1,1,"
    "1,1,1,1,1,1.2,3p,1,1,1,1,1,1.2,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1.9,1,1,2,1,1,1,1,4,1"
    ",2,1.2,1,1,1,1,1,1,1,1,1,1,5,5,1,1,1,1,1,1,1,4,1,2,1,1,1,1,1,1,1,l.3,1,1.2,mt.16,1.d,6.27,fnk.6,c.4,tl.p,y5.13,3"
    "s.z,4b.a,1.e,1.6,1.1,cj,2.2,1.15,1.8,zp.1e,3h.l,27u.v,gw0.v,1n.o,k06.p,q.6,1.h,q.p,q.3,1,1.6,1.a,q.p,q.p,q.p,q.p"
    ",q.p,q.p,q.p,q.p,q.r,s.o,1.5,q.o,1.5,q.o,1.5,q.o,1.5,q.o,1.5,1,1f8.9,1.j,6.5,79.1p,1pw.x"
)
_REGEX_WORD = (
    "1c.9,7.p,4,1.p,1b,a,4,5.m,1.u,1.cp,4.b,e.4,7,1,h.38,1.1,2.3,1,6,1.2,1,1.j,1.2a,1.3u,1.4s,1.11,2,6.14,8.18,1,1.1,"
    "1.1,1,8.q,4.3,t.a,5.21,4.2t,1.7,2.9,1.i,2,g.1m,2.2s,e.1h,4,2,2.19,i.r,4.a,5.n,1.5,8.22,1.3k,2.9,1.i,1.7,2.1,2.l,"
    "1.6,1,3.3,2.8,2.1,2.3,8,4.1,1.4,2.b,a,1,2.2,1.5,4.1,2.l,1.6,1.1,1.1,1.1,2,1.4,4.1,2.2,3,7.3,1,7.f,b.2,1.8,1.2,1."
    "l,1.6,1.1,1.4,2.9,1.2,1.2,2,f.3,2.9,9.6,1.2,1.7,2.1,2.l,1.6,1.1,1.4,2.8,2.1,2.2,7.2,4.1,1.4,2.9,1,g.1,1.5,3.2,1."
    "3,3.1,1,1.1,3.1,3.2,3.b,4.4,3.2,1.3,2,6,e.9,g.c,1.2,1.m,1.f,2.8,1.2,1.3,7.1,1.2,2,2.3,2.9,g.3,1.7,1.2,1.m,1.9,1."
    "4,2.8,1.2,1.3,7.1,6.1,1.3,2.9,1.2,c.c,1.2,1.1e,1.2,1.4,5.3,7.4,2.9,a.5,1.2,1.h,3.n,1.8,1,2.6,3,4.5,1,1.7,6.9,2.1"
    ",d.1l,5.e,1.9,13.1,1,1.4,1.n,1,1.m,2.4,1,1.6,1.9,2.3,w,n.1,6.9,b,1,1,4.9,1.z,4.j,1.h,1.z,9,1l.21,6.25,2.11,1,5,2"
    ".16,1.98,1.3,2.6,1,1.3,2.14,1.3,2.w,1.3,2.6,1,1.3,2.e,1.1k,1.3,2.1u,2.2,w.f,g.2d,2.5,3.h7,2.g,1.p,5.22,3.a,7.l,9"
    ".l,b.j,c.c,1.2,1.1,c.2b,3,4.1,2.9,x.2,1.a,6.2g,7.16,5.1x,a.u,1.b,4.b,a.13,2.4,b.17,4.p,6.9,12.r,4.1q,1.s,2.a,6.9"
    ",d,8.u,1d.24,3.9,h.8,c.37,c.1j,8.9,3.1c,2.a,5.16,2.2,g.2,1.12,5.et,2.5,2.11,2.5,2.7,1,1,1,1.u,2.1g,1.6,1,3.2,1.6"
    ",3.3,2.5,4.c,5.2,1.6,f.1,1d.1,j,s,d,g.c,1f.w,h,4,2.9,1,3.4,6,1,1,1.3,1.a,2.3,5.4,4,h.14,ml.1f,1ee.6c,6.8,c.11,1,"
    "5,2.1j,7,f.n,9.6,1.6,1.6,1.6,1.6,1.6,1.6,1.6,1.v,1b,d1.2,p.e,1.4,2.4,4.2d,2.1,2.2,1.2h,1.3,5.16,1.2l,h.v,1c.f,e8"
    ".533,1s.h3g,1v.19,2.7g,3.r,k.1e,1.9,1.36,11.8,2.2u,2.1u,2.1,1,1.7,l.1h,4,j.1f,c.1x,a.9,6.n,3,1.1c,2.z,c.s,3.1s,e"
    ".a,6.u,1.1i,9.d,2.9,6.m,3.20,o.2,2.f,2.4,a.5,2.5,2.5,9.6,1.6,1.16,1.d,6.3e,1.1,2.9,6.8mb,c.m,4.1c,6is.a5,2.2x,12"
    ".6,c.4,5.b,1.c,1.4,1,1.1,1.1,1.2z,x.a2,i.1r,2.1h,14.b,4.f,g.f,3.1,o.2,w.4,1.3q,j.9,7.p,4,1.p,b.2g,3.5,2.5,2.5,2."
    "2,z.b,1.p,1.i,1.1,1.e,2.d,y.3e,1x.1g,3s,3m.s,3.1c,f,v.v,d.t,5.16,5.t,2.z,4.7,1.4,16.4d,2.9,6.z,4.z,4.13,8.1f,c.a"
    ",1.e,1.6,1.1,1.a,1.e,1.6,1.1,3.1f,c.8m,9.l,a.7,o.5,1.15,1.8,1x.5,2,1.17,1.1,3,2.m,a.m,9.u,1t.i,1.1,a.l,a.p,1y.1j"
    ",6.1,1s.3,1.1,5.7,1.2,1.s,2.2,4,w.s,3.s,z.7,1.t,p.1h,a.l,a.i,d.h,32.20,1j.1e,d.1e,d.13,8.9,6.11,3.4,1.m,6y.15,1."
    "1,3.1,g.2,1j.w,a,8.w,v.l,16.k,r.m,9.1y,v.f,9.1n,7,d.o,7.9,6.1g,1.9,4.3,8.z,2,9.1w,4.3,1.c,1,z.h,1.10,6.3,1q.6,1,"
    "1.3,1.e,1.9,7.1m,5.9,6.3,1.7,2.1,2.l,1.6,1.1,1.4,1.9,2.1,2.2,2,6,5.6,2.6,3.4,b.9,1,2,1.11,1.9,1,2,1.3,1.7,d.1,t."
    "22,5.9,4.3,u.1x,1,8.9,4m.1h,2.8,n.5,y.1s,3,b.9,12.1k,7.9,6.j,s.q,2.e,4.9,6.6,55.1m,2t.21,l.7,2,2.7,1.1,1.t,1.1,2"
    ".8,c.9,1y.7,2.19,2.7,1.1,r.1q,8,8.21,3,i.20,5j.w,f.9,6.8,1.18,1.8,f.9,o.t,2.l,1.d,21.6,1.1,1.17,3,1.1,1.8,8.9,6."
    "5,1.1,1.10,1.1,1.5,7.9,8m.m,9.g,1.14,3.4,d.a,2d,27.pl,2u.32,h.5f,218.2o,f.tr,g.l,a.32y,5.g6,5a1.1l,1c6.fs,7.u,1."
    "9,6.26,1.9,6.t,2.4,b.1i,9.3,c.9,9.k,5.i,c0.18,3.9,5i.1r,3k.22,4.1k,7.g,1s.1,1.1,b.1,e.4qf,8.yd,15.9,6w7.3,1.6,1."
    "1,1.82,f,t.2,2,e.3,8.az,1s4.2y,5.c,3.8,7.9,3.1,381.9,ee.19,2.m,f2.4,3.5,8.7,2.6,u.3,44.2,cb.2c,1.1y,1.1,2,2.1,2."
    "3,1.b,1,1.6,1.1s,1.3,2.7,1.6,1.r,1.3,1.4,1,3.6,1.9f,2.o,1.o,1.u,1.o,1.u,1.o,1.u,1.o,1.u,1.o,1.7,2.1d,e8.1i,4.1d,"
    "8,e,m.4,1.e,uo.u,6.5,5x.6,1.g,2.6,1.1,1.4,5.1p,x,34.18,3.d,2.9,4,8x.u,h.1l,d2.15,5y.16,dh.6,1.3,1.1,1.e,1.5g,b.6"
    ",15.23,4.9,x2.3,1.q,1.1,1,2,1.9,1.3,1,1,6,4,1,1,1.2,1.1,1,2,1,1,1,1,1.1,1,2.3,1.6,1.3,1.3,1,1.9,1.g,5.2,1.4,1.g,"
    "hg.p,6.p,6.p,21y.9,sm.wyn,w.37d,6.65,2.4g1,e.5rk,f.h9,1wi.f1,15u.3t6,5.38f,f9e8.6n"
)
_REGEX_DIGIT = (
    "1c.9,17q.9,3q.9,5i.9,bg.9,3a.9,3a.9,3a.9,3a.9,3a.9,3a.9,3a.9,3a.9,3a.9,2o.9,3a.9,1y.9,7q.9,1y.9,1fq.9,12.9,8c.9,"
    "3k.9,4m.9,6.9,52.9,2e.9,3q.9,6.9,r7q.9,iu.9,12.9,5i.9,m.9,2e.9,ba.9,geu.9,13a.9,1om.9,6.9,m4.9,3k.9,1o.9,40.9,7q"
    ".9,9i.9,3a.9,ae.9,2u.9,6.j,24.9,bq.9,2u.9,ie.9,2e.9,6u.9,1y.9,bq.9,d06.9,1t2.9,2e.9,3q.9,eu.9,iuu.9,250.1d,1ts.9"
    ",bq.9,dy.9,6v.9,np.9,3o6.9"
)
_LOWER_MAP_DATA = (
    "1t.q.1.w,3j.n.1.w,o.7.1.w,14.o.2.1,1e.3.2.1,7.8.2.1,h.n.2.1,1a.1.1.-3d,1.3.2.1,8.1.1.5u,1.2.2.1,4.1.1.5q,1.1.1.1"
    ",2.2.1.5p,2.1.1.1,3.1.1.27,1.1.1.5m,1.1.1.5n,1.1.1.1,2.1.1.5p,1.1.1.5r,2.1.1.5v,1.1.1.5t,1.1.1.1,4.1.1.5v,1.1.1."
    "5x,2.1.1.5y,1.3.2.1,6.1.1.62,1.1.1.1,2.1.1.62,3.1.1.1,2.1.1.62,1.1.1.1,2.2.1.61,2.2.2.1,4.1.1.63,1.2.4.1,c.1.1.2"
    ",1.1.1.1,2.1.1.2,1.1.1.1,2.1.1.2,1.9.2.1,j.9.2.1,j.1.1.2,1.2.2.1,4.1.1.-2p,1.1.1.-1k,1.k.2.1,14.1.1.-3m,2.9.2.1,"
    "o.1.1.8bv,1.1.1.1,2.1.1.-4j,1.1.1.8bs,3.1.1.1,2.1.1.-5f,1.1.1.1x,1.1.1.1z,1.5.2.1,8a.2.2.1,6.1.1.1,9.1.1.38,7.1."
    "1.12,2.3.1.11,4.1.1.1s,2.2.1.1r,3.h.1.w,i.9.1.w,18.1.1.8,9.c.2.1,s.1.1.-1o,3.1.1.1,2.1.1.-7,1.1.1.1,3.3.1.-3m,3."
    "g.1.28,g.w.1.w,28.h.2.1,16.r.2.1,1i.1.1.f,1.7.2.1,f.1c.2.1,2p.12.1.1c,29b.12.1.5ls,13.2.6.5ls,k9.28.1.tzk,28.6.1"
    ".8,1p5.1.1.1,7.17.1.-2bk,19.3.1.-2bk,8z.23.2.1,4e.1.1.-5vj,2.1c.2.1,2w.8.1.-8,g.6.1.-8,g.8.1.-8,g.8.1.-8,g.6.1.-"
    "8,h.4.2.-8,f.8.1.-8,w.8.1.-8,g.8.1.-8,g.8.1.-8,g.2.1.-8,2.2.1.-22,2.1.1.-9,c.4.1.-2e,4.1.1.-9,c.2.1.-8,2.2.1.-2s"
    ",e.2.1.-8,2.2.1.-34,2.1.1.-7,c.2.1.-3k,2.2.1.-3i,2.1.1.-9,8a.1.1.-5st,4.1.1.-6gv,1.1.1.-6di,7.1.1.s,1a.g.1.g,z.1"
    ".1.1,mr.q.1.q,1fu.1c.1.1c,2o.1.1.1,2.1.1.-8af,1.1.1.-2xy,1.1.1.-89z,3.3.2.1,6.1.1.-8bg,1.1.1.-8al,1.1.1.-8bj,1.1"
    ".1.-8bi,2.2.3.1,c.2.1.-8cf,2.1e.2.1,2z.2.2.1,7.2.nym.1,nyo.m.2.1,1q.e.2.1,4i.7.2.1,g.v.2.1,1z.2.2.1,4.1.1.-r9g,1"
    ".5.2.1,d.1.1.1,2.1.1.-wmg,3.2.2.1,6.a.2.1,k.1.1.-wn8,1.1.1.-wnj,1.1.1.-wnf,1.1.1.-wn5,1.1.1.-wn8,2.1.1.-wlu,1.1."
    "1.-wmi,1.1.1.-wlx,1.1.1.ps,1.8.2.1,g.1.1.-1c,1.1.1.-wn7,1.1.1.-raw,1.2.2.1,4.1.1.-wo7,1.8.2.1,g.1.1.-wu9,p.1.1.1"
    ",h7w.q.1.w,yn.14.1.14,4w.10.1.14,5c.b.1.13,c.f.1.13,g.7.1.13,8.2.1.13,1d8.1f.1.1s,5s.m.1.w,28g.w.1.w,gww.w.1.w,2"
    "o.p.1.r,o68.y.1.y"
)


def _decode_lower_map(data: str) -> dict[str, str]:
    out = {"\u0130": "i\u0307"}
    start = 0
    for tok in data.split(","):
        gap, count, stride, delta = tok.split(".")
        start += int(gap, 36)
        d = -int(delta[1:], 36) if delta.startswith("-") else int(delta, 36)
        for i in range(int(count, 36)):
            cp = start + i * int(stride, 36)
            out[chr(cp)] = chr(cp + d)
    return out


_ALPHA = _CharSet(_decode_ranges(_ALPHABETIC))
_ALNUM = _CharSet(_merge(_decode_ranges(_ALPHABETIC) + _decode_ranges(_NUMERIC)))
_LOWER = _CharSet(_decode_ranges(_LOWERCASE))
_LOWER_MAP = _decode_lower_map(_LOWER_MAP_DATA)
_REGEX_WORD_RANGES = _decode_ranges(_REGEX_WORD)
_REGEX_DIGIT_RANGES = _decode_ranges(_REGEX_DIGIT)
_WS_RANGES = _merge((ord(c), ord(c)) for c in _WS_CHARS)
_W_BODY = _class_body(_REGEX_WORD_RANGES)
_D_BODY = _class_body(_REGEX_DIGIT_RANGES)
_S_BODY = _class_body(_WS_RANGES)
# \b is an ASCII word boundary in the lexicon (Rust compiles it as (?-u:\b)).
_B = "(?:(?<![0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<=[0-9A-Za-z_])(?![0-9A-Za-z_]))"
