"""The synthetic instruction generator: the logic; every phrasing and word pool is in this package's YAML.

Data files (read once, at import):

* ``tasks_en.yaml`` / ``tasks_zh.yaml``: base tasks (verbs, genres, subjects) and how requirements join them;
* ``templates_en.yaml`` / ``templates_zh.yaml``: the phrasings of each requirement type;
* ``pools_en.yaml`` / ``pools_zh.yaml``: the values that fill the phrasings (keywords, tones, phrases, ...);
* ``requirements.yaml``: how many requirements, of which types and relations, and which go together.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from importlib import resources
from typing import Any

import pyarrow as pa
import yaml

from wrl._core import InvalidConfigError
from wrl.io import compact_json
from wrl.seeding import stable_hash

CATEGORIES = ("creative", "persuasive", "informative", "technical", "communication")


def _load(name: str) -> dict[str, Any]:
    return yaml.load(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"),
                     Loader=yaml.CSafeLoader)


_Phrasing = tuple[str, tuple[str, ...] | None]


def _phrasings(templates: dict[str, list]) -> dict[str, tuple[_Phrasing, ...]]:
    """Template key -> ((text, relations or None: any relation), ...), in file order."""
    return {key: tuple((e, None) if isinstance(e, str) else (e["text"], tuple(e["relations"])) for e in entries)
            for key, entries in templates.items()}


_TASKS = {"en": _load("tasks_en.yaml"), "zh": _load("tasks_zh.yaml")}
_POOLS = {"en": _load("pools_en.yaml"), "zh": _load("pools_zh.yaml")}
_TEMPLATES = {lang: _phrasings(_load(f"templates_{lang}.yaml")["templates"]) for lang in ("en", "zh")}
_REQUIREMENTS = _load("requirements.yaml")

_EN, _ZH = _POOLS["en"], _POOLS["zh"]
_EN_TASKS, _ZH_TASKS = _TASKS["en"], _TASKS["zh"]
_RELATIONS: dict[str, dict[str, Any]] = _REQUIREMENTS["relations"]
_RELATIONS_ZH: dict[str, list[str]] = _REQUIREMENTS["relations_zh"]
_EMBEDS = _EN_TASKS["embeds"]
_EMBED_WORD_COUNTS = [n for n in _EN["word_counts"] if n <= _EMBEDS["max_words"]]


def _by_relation(templates: dict[str, tuple[_Phrasing, ...]]) -> dict[str, dict[str | None, tuple]]:
    """Template key -> relation -> ((index, text), ...): the phrasings that can say the relation. A relation
    no phrasing names gets the phrasings of any relation (those under ``None``)."""
    out: dict[str, dict[str | None, tuple]] = {}
    for key, entries in templates.items():
        rels: set[str | None] = {None}
        for _, allowed in entries:
            rels.update(allowed or ())
        out[key] = {rel: tuple((i, t) for i, (t, allowed) in enumerate(entries)
                               if allowed is None or rel in allowed)
                    for rel in rels}
    return out


_BY_RELATION = {lang: _by_relation(templates) for lang, templates in _TEMPLATES.items()}

# --------------------------------------------------------------------------------------------
# Which requirement types can go together
# --------------------------------------------------------------------------------------------

_EN_TYPES = tuple(_REQUIREMENTS["types"])
_ZH_TYPES = tuple(t for t in _EN_TYPES if t not in _REQUIREMENTS["not_in_zh"])
_FOREIGN_CONFLICTS = frozenset(_REQUIREMENTS["foreign_conflicts"])
_N_REQUIREMENTS = tuple(_REQUIREMENTS["counts"])


def _conflicts() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {t: {t} for t in _EN_TYPES}
    for a, others in _REQUIREMENTS["conflicts"].items():
        for b in others:
            table[a].add(b)
            table[b].add(a)
    # A constrained answer is a fixed option: nothing else can be asked of it.
    for t in _EN_TYPES:
        table[t].add("constrained_response")
    table["constrained_response"] = set(_EN_TYPES)
    return {t: frozenset(s) for t, s in table.items()}


_CONFLICTS = _conflicts()

# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


class _Row:
    """What one requirement's generator needs to know about its instruction."""

    __slots__ = ("by_relation", "category", "foreign", "json", "keywords", "max_nth", "noun", "pools", "rnd",
                 "units", "zh")

    def __init__(self, rnd: Callable[[], float], zh: bool, category: str, noun: str):
        self.rnd = rnd
        self.zh = zh
        self.pools = _ZH if zh else _EN
        self.by_relation = _BY_RELATION["zh" if zh else "en"]
        self.category = category
        self.noun = noun
        self.foreign = False
        self.json = False
        self.units: list[str] = []
        self.max_nth = 3
        self.keywords: set[str] = set()

    def pick(self, seq):
        return seq[int(self.rnd() * len(seq))]

    def render(self, key: str, rel: str | None, values: dict[str, Any]) -> tuple[str, int]:
        by_rel = self.by_relation[key]
        cands = by_rel.get(rel, by_rel[None])
        i, tpl = cands[int(self.rnd() * len(cands))]
        return tpl.format(**values), i


def _num_en(row: _Row, n: int) -> str:
    """A count as digits, or as a word for small numbers now and then."""
    if n <= 12 and row.rnd() < 0.3:
        return _EN["number_words"][n]
    if n >= 1000 and row.rnd() < 0.5:
        return f"{n:,}"
    return str(n)


def _num_zh(row: _Row, n: int, ordinal: bool = False) -> str:
    """A count as digits or Chinese numerals ("两个" for a count of 2, "第二段" for an ordinal)."""
    if n <= 10 and row.rnd() < 0.3:
        return _ZH["two"] if n == 2 and not ordinal else _ZH["numerals"][n]
    return str(n)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _en_list(row: _Row, items: list[str], quoted: bool, conj: str = "and") -> str:
    if quoted:
        q = row.pick(("'", '"'))
        items = [f"{q}{w}{q}" for w in items]
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} {conj} {items[1]}"
    comma = "," if row.rnd() < 0.5 else ""
    return f"{', '.join(items[:-1])}{comma} {conj} {items[-1]}"


def _zh_quoted(row: _Row, items: list[str]) -> str:
    quoted = [f"“{w}”" for w in items]
    if len(quoted) == 1:
        return quoted[0]
    return "、".join(quoted[:-1]) + row.pick(_ZH["join_last_quoted"]) + quoted[-1]


def _draw(row: _Row, pool: list[str], k: int, avoid: set[str] | frozenset[str] = frozenset()) -> list[str]:
    out: list[str] = []
    while len(out) < k:
        w = pool[int(row.rnd() * len(pool))]
        if w not in out and w not in avoid:
            out.append(w)
    return out


def _relation(row: _Row, key: str) -> str:
    return row.pick(_RELATIONS[key]["draw"])


def _bare(key: str) -> str | None:
    """The relation the parser reads in a bare count of this type (None: a bare count is not read)."""
    return _RELATIONS[key].get("bare")


def _rel_phrase(row: _Row, kind: str, rel: str, default: str | None) -> str:
    phrases = _EN["relation_phrases"][kind][rel]
    if rel == default and row.rnd() < 0.5:
        return ""
    return row.pick(phrases)


# Each generator returns (params, text, template key, template index).
def _g_length(row: _Row) -> tuple[dict, str, str, int]:
    if row.zh:
        choices = [u for u in ("chars", "chars", "paragraphs", "sentences") if u not in row.units]
        if row.units:  # a second length never bounds characters against sentences or paragraphs twice
            choices = [u for u in choices if u != "chars"] if "chars" in row.units else ["chars"]
        if row.json:
            choices = ["chars"] if "chars" not in row.units else []
        unit = row.pick(choices)
        row.units.append(unit)
        key = "length/" + unit
        if unit == "chars":
            rel = row.pick(_RELATIONS_ZH[key])
            n = row.pick(_ZH["char_counts"])
            text, i = row.render(key, rel, {"n": n})
        elif unit == "paragraphs":  # every Chinese paragraph phrasing is an exact count
            rel, n = "exactly", 2 + int(row.rnd() * 5)
            row.max_nth = min(row.max_nth, n)
            text, i = row.render(key, rel, {"n": _num_zh(row, n)})
        else:
            rel = row.pick(_RELATIONS_ZH[key])
            n = 3 + int(row.rnd() * 8)
            text, i = row.render(key, rel, {"n": _num_zh(row, n)})
        return {"unit": unit, "relation": rel, "value": n}, text, key, i
    if row.units:
        unit = "words" if row.units[0] != "words" else row.pick(("sentences", "paragraphs"))
    elif row.json:
        unit = "words"
    else:
        unit = row.pick(("words", "words", "sentences", "paragraphs"))
    row.units.append(unit)
    key = "length/" + unit
    rel = _relation(row, key)
    if unit == "words":
        n = row.pick(_EN["word_counts"])
        if len(row.units) == 2 and rel in ("at_most", "less_than", "exactly"):
            n = max(n, 300)
        kind = "words"
    elif unit == "sentences":
        n = 3 + int(row.rnd() * 10)
        kind = "count"
    else:
        n = 2 + int(row.rnd() * 5)
        kind = "count"
        row.max_nth = min(row.max_nth, n - 1 if rel == "less_than" else n)
    values = {"n": _num_en(row, n) if unit != "words" else (f"{n:,}" if n >= 1000 and row.rnd() < 0.5 else str(n)),
              "rel": _rel_phrase(row, kind, rel, _bare(key)), "noun": row.noun}
    text, i = row.render(key, rel, values)
    return {"unit": unit, "relation": rel, "value": n}, text, key, i


def _g_counted(name: str, lo: int, hi: int) -> Callable[[_Row], tuple[dict, str, str, int]]:
    def gen(row: _Row) -> tuple[dict, str, str, int]:
        n = lo + int(row.rnd() * (hi - lo + 1))
        if row.zh:  # the Chinese phrasings of counted types all say the bare relation
            rel = _bare(name)
            text, i = row.render(name, None, {"n": _num_zh(row, n)})
            return {"relation": rel, "value": n}, text, name, i
        rel = _relation(row, name)
        values = {"n": _num_en(row, n), "rel": _rel_phrase(row, "count", rel, _bare(name))}
        text, i = row.render(name, rel, values)
        return {"relation": rel, "value": n}, text, name, i
    return gen


def _g_sections(row: _Row) -> tuple[dict, str, str, int]:
    n = 2 + int(row.rnd() * 4)
    if row.zh or row.rnd() < 0.3:
        key = "sections/plain"
        text, i = row.render(key, None, {"n": _num_zh(row, n) if row.zh else _num_en(row, n)})
        return {"value": n}, text, key, i
    sp = row.pick(_EN["splitters"])
    key = "sections/splitter"
    text, i = row.render(key, None, {"n": _num_en(row, n), "sp": sp})
    return {"splitter": sp, "value": n}, text, key, i


def _g_paragraph_first_word(row: _Row) -> tuple[dict, str, str, int]:
    nth = 1 + int(row.rnd() * row.max_nth)
    w = row.pick(row.pools["first_words"])
    if row.zh:
        text, i = row.render("paragraph_first_word", None, {"nth": _num_zh(row, nth, ordinal=True), "w": w})
    else:
        text, i = row.render("paragraph_first_word", None, {"nth": nth, "ord": _EN["ordinals"][nth - 1], "w": w})
    return {"first_word": w, "nth": nth}, text, "paragraph_first_word", i


def _g_fixed(name: str) -> Callable[[_Row], tuple[dict, str, str, int]]:
    def gen(row: _Row) -> tuple[dict, str, str, int]:
        # A title is drawn for every fixed type (only a title phrasing shows it): the draw is part of the stream.
        text, i = row.render(name, None, {"t": row.pick(_EN["titles"])})
        return {}, text, name, i
    return gen


def _g_constrained(row: _Row) -> tuple[dict, str, str, int]:
    options = list(row.pick(row.pools["option_sets"]))
    if row.zh:
        values = {"paren": "（" + "、".join(f"“{o}”" for o in options) + "）",
                  "plain": _zh_quoted(row, options)}
    else:
        values = {"paren": "(" + ", ".join(f"'{o}'" for o in options) + ")",
                  "bracket": "[" + ", ".join(f'"{o}"' for o in options) + "]",
                  "plain": _en_list(row, options, True, "or")}
    text, i = row.render("constrained_response", None, values)
    return {"options": options}, text, "constrained_response", i


def _g_keywords(row: _Row) -> tuple[dict, str, str, int]:
    k = row.pick((1, 2, 2, 2, 3))
    words = _draw(row, row.pools["keywords"], k)
    row.keywords.update(words)
    if row.zh:
        values = {"q": _zh_quoted(row, words), "these": _ZH["these_keywords"][k > 1]}
    else:
        values = {"q": _en_list(row, words, True), "u": _en_list(row, words, False), "s": "s" if k > 1 else ""}
    text, i = row.render("keywords", None, values)
    return {"keywords": words}, text, "keywords", i


def _g_keyword_frequency(row: _Row) -> tuple[dict, str, str, int]:
    k = _draw(row, row.pools["keywords"], 1, row.keywords)[0]
    n = 2 + int(row.rnd() * 4)
    if row.zh:
        rel = row.pick(_RELATIONS_ZH["keyword_frequency"])
        text, i = row.render("keyword_frequency", rel, {"k": k, "n": _num_zh(row, n)})
        return {"keyword": k, "relation": rel, "value": n}, text, "keyword_frequency", i
    rel = _relation(row, "keyword_frequency")
    if n == 2 and row.rnd() < 0.25:
        times = _EN["twice"]
    else:
        times = _EN["times"].format(n=_num_en(row, n))
    q = row.pick(("'", '"'))
    values = {"k": k, "kq": f"{q}{k}{q}", "rel": _rel_phrase(row, "count", rel, None), "times": times}
    text, i = row.render("keyword_frequency", rel, values)
    return {"keyword": k, "relation": rel, "value": n}, text, "keyword_frequency", i


def _g_forbidden(row: _Row) -> tuple[dict, str, str, int]:
    k = row.pick((1, 1, 2, 2, 3))
    words = _draw(row, row.pools["forbidden_words"], k)
    if row.zh:
        values = {"q": _zh_quoted(row, words), "these": _ZH["these_forbidden"][k > 1]}
    else:
        values = {"q": _en_list(row, words, True), "qor": _en_list(row, words, True, "or"),
                  "u": _en_list(row, words, False), "s": "s" if k > 1 else ""}
    text, i = row.render("forbidden_words", None, values)
    return {"words": words}, text, "forbidden_words", i


def _g_letter(row: _Row) -> tuple[dict, str, str, int]:
    rel = _relation(row, "letter_frequency")
    if rel == "at_least":
        letter, n = row.pick(_EN["common_letters"]), 5 + int(row.rnd() * 16)
    else:
        letter, n = row.pick(_EN["rare_letters"]), 2 + int(row.rnd() * 5)
    values = {"l": letter, "n": _num_en(row, n), "rel": _rel_phrase(row, "count", rel, None)}
    text, i = row.render("letter_frequency", rel, values)
    return {"letter": letter, "relation": rel, "value": n}, text, "letter_frequency", i


def _g_language(row: _Row) -> tuple[dict, str, str, int]:
    name, code = row.pick(row.pools["languages"]) if row.foreign else row.pools["own_language"]
    text, i = row.render("response_language", None, {"L": name})
    return {"language": code}, text, "response_language", i


def _g_phrase(name: str) -> Callable[[_Row], tuple[dict, str, str, int]]:
    pool = "start_phrases" if name == "start_phrase" else "end_phrases"

    def gen(row: _Row) -> tuple[dict, str, str, int]:
        if name == "end_phrase" and not row.zh and row.rnd() < 0.15:
            key = "end_phrase/question"
            text, i = row.render(key, None, {})
            return {"phrase": "?"}, text, key, i
        p = row.pick(row.pools[pool])
        text, i = row.render(name, None, {"p": p, "noun": row.noun})
        return {"phrase": p}, text, name, i
    return gen


def _g_postscript(row: _Row) -> tuple[dict, str, str, int]:
    marker = "P.S." if row.zh or row.rnd() < 0.75 else "P.P.S"
    text, i = row.render("postscript", marker, {"m": marker})
    return {"marker": marker}, text, "postscript", i


def _g_tone(row: _Row) -> tuple[dict, str, str, int]:
    t = row.pick(row.pools["tones"])
    text, i = row.render("tone", None, {"t": t, "a": _article(t)})
    return {"tone": t}, text, "tone", i


def _g_audience(row: _Row) -> tuple[dict, str, str, int]:
    x = row.pick(row.pools["audiences"])
    text, i = row.render("audience", None, {"x": x})
    return {"audience": x}, text, "audience", i


def _g_persona(row: _Row) -> tuple[dict, str, str, int]:
    x = row.pick(row.pools["personas"])
    text, i = row.render("persona", None, {"x": x, "a": _article(x)})
    return {"persona": x}, text, "persona", i


def _g_style(row: _Row) -> tuple[dict, str, str, int]:
    if row.zh:
        if row.rnd() < 0.5:
            x = gold = row.pick(_ZH["styles"])
            key = "style/adjective"
        else:
            x = gold = row.pick(_ZH["rhetoric"])
            key = "style/device"
    else:
        u = row.rnd()
        if u < 0.6:
            x, gold = row.pick(_EN["styles"])
            key = "style/device"
        elif u < 0.85:
            x = gold = row.pick(_EN["authors"])
            key = "style/author"
        else:
            x = gold = row.pick(_EN["style_adjectives"])
            key = "style/adjective"
    text, i = row.render(key, None, {"x": x})
    return {"style": gold}, text, key, i


def _g_coverage(row: _Row) -> tuple[dict, str, str, int]:
    k = row.pick((1, 2, 2, 2, 3))
    if row.zh:
        topics = _draw(row, _ZH["topics"], k)
        joined = topics[0] if k == 1 else "、".join(topics[:-1]) + row.pick(_ZH["join_last_topic"]) + topics[-1]
        text, i = row.render("content_coverage", None, {"x": joined})
        return {"topics": topics}, text, "content_coverage", i
    topics = _draw(row, _EN["topics"][row.category], k)
    values = {"x": _en_list(row, topics, False), "xw": _EN["as_well_as"].join(topics)}
    text, i = row.render("content_coverage", None, values)
    return {"topics": [t.removeprefix("the ") for t in topics]}, text, "content_coverage", i


_GENERATORS: dict[str, Callable[[_Row], tuple[dict, str, str, int]]] = {
    "length": _g_length,
    "bullet_points": _g_counted("bullet_points", 2, 7),
    "highlighted_sections": _g_counted("highlighted_sections", 2, 5),
    "sections": _g_sections,
    "paragraph_first_word": _g_paragraph_first_word,
    "json_format": _g_fixed("json_format"),
    "title": _g_fixed("title"),
    "constrained_response": _g_constrained,
    "two_responses": _g_fixed("two_responses"),
    "keywords": _g_keywords,
    "keyword_frequency": _g_keyword_frequency,
    "forbidden_words": _g_forbidden,
    "letter_frequency": _g_letter,
    "lowercase": _g_fixed("lowercase"),
    "uppercase": _g_fixed("uppercase"),
    "capital_word_frequency": _g_counted("capital_word_frequency", 2, 10),
    "no_commas": _g_fixed("no_commas"),
    "quotation": _g_fixed("quotation"),
    "response_language": _g_language,
    "start_phrase": _g_phrase("start_phrase"),
    "end_phrase": _g_phrase("end_phrase"),
    "postscript": _g_postscript,
    "placeholders": _g_counted("placeholders", 2, 6),
    "repeat_prompt": _g_fixed("repeat_prompt"),
    "tone": _g_tone,
    "audience": _g_audience,
    "persona": _g_persona,
    "style": _g_style,
    "content_coverage": _g_coverage,
}


def _choose_types(row: _Row, pool: tuple[str, ...], k: int) -> list[str]:
    """Draw up to ``k`` compatible requirement types (length may come twice, on different units)."""
    rnd = row.rnd
    chosen: list[str] = []
    blocked: set[str] = set()
    for _ in range(3 * k + 3):
        if len(chosen) >= k:
            break
        t = pool[int(rnd() * len(pool))]
        if t in blocked:
            if t == "length" and chosen.count("length") == 1 and not row.json and rnd() < 0.3:
                chosen.append(t)
            continue
        if t == "response_language":
            row.foreign = rnd() < 0.75 and not _FOREIGN_CONFLICTS.intersection(chosen)
            if row.foreign:
                blocked |= _FOREIGN_CONFLICTS
        elif t == "json_format":
            if chosen.count("length") > 1:
                continue
            row.json = True
        chosen.append(t)
        blocked |= _CONFLICTS[t]
        if t == "constrained_response":
            break
    return chosen


def _lc_first(s: str) -> str:
    """Lowercase the first letter of a clause joined to another, unless it starts an acronym."""
    return s[0].lower() + s[1:] if len(s) > 1 and s[1].islower() else s


def _end(s: str) -> str:
    return s if s[-1] in ".?!" else s + "."


# A length or language written into the task: (text, whether it goes before the genre noun).
_Embed = tuple[str, bool]


def _en_task(row: _Row, category: str, genre: list[str], subject: str, embed: _Embed | None,
             question: bool) -> str:
    art, noun = genre
    prep = _EN_TASKS["prepositions"][category]
    head = f"{art} {noun}" if art else noun
    if question:
        return _EN_TASKS["question"].format(head=head, prep=prep, subject=subject)
    verb = row.pick(_EN_TASKS["verbs"])
    if embed is not None and embed[1]:  # "a 300-word poem"
        head = f"{embed[0]} {noun}"
        embed = None
    task = f"{verb} {head}{prep}{subject}"
    if embed:
        task += " " + embed[0]
    return task + ("?" if verb in _EN_TASKS["question_verbs"] else "")


def _embed_length(row: _Row) -> tuple[dict, _Embed]:
    n = row.pick(_EMBED_WORD_COUNTS)
    if row.rnd() < 0.5:
        article = "an" if str(n)[0] == "8" else "a"  # an 80-word, an 800-word
        return {"unit": "words", "relation": "about", "value": n}, \
            (_EMBEDS["length_adjective"].format(article=article, n=n), True)
    rel = row.pick(_EMBEDS["relations"])
    phrase = row.pick(_EN["relation_phrases"]["words"][rel])
    return {"unit": "words", "relation": rel, "value": n}, (_EMBEDS["length_bound"].format(rel=phrase, n=n), False)


def _render_en(row: _Row, category: str, genre: list[str], subject: str,
               reqs: list[tuple[str, dict, str]]) -> tuple[str, list[tuple[str, dict]]]:
    """Assemble one English instruction; returns the prompt and the gold in text order."""
    rnd = row.rnd
    question = bool(reqs) and reqs[0][0] == "constrained_response"
    embed: _Embed | None = None
    gold: list[tuple[str, dict]] = []
    if not question and rnd() < 0.25:
        for j, (t, params, _) in enumerate(reqs):
            if t == "length" and params["unit"] == "words" and len(row.units) == 1:
                params, embed = _embed_length(row)
                if genre[0] == "" and embed[1]:  # no article to put the length after: "release notes of 300 words"
                    embed = (_EMBEDS["length_after"].format(n=params["value"]), False)
                    params = dict(params, relation="about")
                reqs = reqs[:j] + reqs[j + 1:]
                gold.append(("length", params))
                break
            if t == "response_language":
                name, code = row.pick(_EN["languages"]) if row.foreign else _EN["own_language"]
                embed = (_EMBEDS["language"].format(language=name), False)
                reqs = reqs[:j] + reqs[j + 1:]
                gold.append(("response_language", {"language": code}))
                break
    task = _en_task(row, category, genre, subject, embed, question)
    gold.extend((t, p) for t, p, _ in reqs)
    texts = [s for _, _, s in reqs]
    if not texts:
        return _end(task), gold
    u = rnd()
    if len(texts) == 1 or u < 0.45:
        if u < 0.15 and not task.endswith("?"):
            return (task + _EN_TASKS["join_task"] + _lc_first(_end(texts[0]))
                    + "".join(" " + _end(s) for s in texts[1:])), gold
        return _end(task) + "".join(" " + _end(s) for s in texts), gold
    if u < 0.75:
        parts = [texts[:3], texts[3:]] if len(texts) > 3 else [texts]
        sentences = []
        for group in parts:
            if not group:
                continue
            head = [group[0]] + [_lc_first(s) for s in group[1:]]
            if len(head) == 1:
                sentences.append(_end(head[0]))
            elif len(head) == 2:
                sentences.append(_end(head[0] + row.pick(_EN_TASKS["join_pair"]) + head[1]))
            else:
                sentences.append(_end(", ".join(head[:-1]) + row.pick(_EN_TASKS["join_last"]) + head[-1]))
        return _end(task) + " " + " ".join(sentences), gold
    forms = _EN_TASKS["lists"]
    form = forms[int(rnd() * len(forms))]
    if "{task}" in form["intro"] and task.endswith("?"):  # a question cannot be continued: the last form
        form = forms[-1]
    body = "\n".join(form["item"].format(i=i, text=_end(s)) for i, s in enumerate(texts, 1))
    return form["intro"].format(task=task, sentence=_end(task)) + "\n" + body, gold


def _render_zh(row: _Row, category: str, genre: list[str], subject: str,
               reqs: list[tuple[str, dict, str]]) -> tuple[str, list[tuple[str, dict]]]:
    measure, noun = genre
    gold = [(t, p) for t, p, _ in reqs]
    texts = [s for _, _, s in reqs]
    if reqs and reqs[0][0] == "constrained_response":
        return _ZH_TASKS["question"].format(measure=measure, subject=subject, noun=noun) + texts[0] + "。", gold
    verb = row.pick(_ZH_TASKS["verbs"])
    task = _ZH_TASKS["tasks"][category].format(verb=verb, measure=measure, subject=subject, noun=noun)
    if not texts:
        return task + "。", gold
    u = row.rnd()
    if len(texts) == 1 or u < 0.4:
        return task + "。" + "".join(s + "。" for s in texts), gold
    if u < 0.75:
        return task + "，" + "，".join(texts) + "。", gold
    intro = row.pick(_ZH_TASKS["list_intros"])
    return task + intro + "\n".join(_ZH_TASKS["list_item"].format(i=i, text=s) for i, s in enumerate(texts, 1)), gold


def _base_seed(seed: int) -> int:
    """A 64-bit stream seed from the user's seed (any int, negative included)."""
    return stable_hash(int(seed))


# Rows are drawn in blocks: one random.Random per block, seeded from (seed, block number).
# Seeding a Mersenne Twister costs as much as drawing a whole row, so per-row seeding would
# double the run time; a chunk starting inside a block replays the block's earlier rows.
SYNTH_BLOCK = 256


def _generate(n: int, seed: int, zh_share: float, start: int, trace: list | None = None) -> dict[str, list]:
    """The synth columns for rows ``start .. start+n``; row ``i`` depends only on ``seed`` and ``i``.

    ``trace`` (when given) gets ``(row, type, template key, template index, language)`` per requirement.
    """
    base = _base_seed(seed) << 40
    rng = random.Random()
    rnd = rng.random
    prompts: list[str] = []
    categories: list[str] = []
    topics: list[str] = []
    languages: list[str] = []
    golds: list[str] = []
    n_cat = len(CATEGORIES)
    first = start - start % SYNTH_BLOCK
    for index in range(first, start + n):
        if index % SYNTH_BLOCK == 0:
            rng.seed(base | (index // SYNTH_BLOCK))
        zh = rnd() < zh_share
        category = CATEGORIES[int(rnd() * n_cat)]
        tasks = _ZH_TASKS if zh else _EN_TASKS
        genres = tasks["genres"][category]
        genre = genres[int(rnd() * len(genres))]
        subjects = tasks["subjects"][category]
        subject = subjects[int(rnd() * len(subjects))]
        row = _Row(rnd, zh, category, genre[1])
        k = _N_REQUIREMENTS[int(rnd() * len(_N_REQUIREMENTS))]
        chosen = _choose_types(row, _ZH_TYPES if zh else _EN_TYPES, k)
        # Lengths first: a paragraph count bounds which paragraph can be asked to start with a word.
        if "length" in chosen and chosen[0] != "length":
            order = [j for j, t in enumerate(chosen) if t == "length"] + [j for j, t in enumerate(chosen)
                                                                            if t != "length"]
        else:
            order = range(len(chosen))
        made: list[Any] = [None] * len(chosen)
        for j in order:
            params, text, key, tpl = _GENERATORS[chosen[j]](row)
            made[j] = (chosen[j], params, text)
            if trace is not None and index >= start:
                trace.append((index, chosen[j], key, tpl, "zh" if zh else "en"))
        if zh:
            prompt, gold = _render_zh(row, category, genre, subject, made)
        else:
            prompt, gold = _render_en(row, category, genre, subject, made)
        if index < start:
            continue
        prompts.append(prompt)
        categories.append(category)
        topics.append(subject)
        languages.append("zh" if zh else "en")
        golds.append(compact_json([{"type": t, "params": p} for t, p in gold]))
    return {"prompt": prompts, "category": categories, "topic": topics, "language": languages, "gold": golds}


SYNTH_SCHEMA = pa.schema([
    ("id", pa.string()), ("prompt", pa.string()), ("category", pa.string()), ("topic", pa.string()),
    ("language", pa.string()), ("gold_requirements", pa.string()), ("source", pa.string()),
])


def synthesize(n: int, *, seed: int = 0, zh_share: float = 0.15, start: int = 0) -> pa.Table:
    """Synthesize ``n`` writing instructions with gold requirements; no download needed.

    Row ``i`` depends only on ``seed`` and its index, so ``synthesize(n, start=s)`` is exactly rows
    ``s .. s+n`` of a larger run: generation can be chunked or spread over processes. Randomness
    comes from one ``random.Random`` per block of ``SYNTH_BLOCK`` rows, seeded from the seed and
    the block number (Python's Mersenne Twister: the same on every platform).

    Args:
        n: number of instructions.
        seed: any integer; the same seed gives the same table on every machine.
        zh_share: expected share of Chinese instructions, from 0 to 1.
        start: index of the first row (ids count from ``start + 1``).

    Returns:
        A table with columns ``id`` ("syn-0000001"), ``prompt``, ``category``, ``topic``,
        ``language`` ("en"/"zh"), ``gold_requirements`` (compact JSON list of ``{"params", "type"}``
        with params normalized as the parser writes them) and ``source`` ("synth").

    Raises:
        InvalidConfigError: ``n`` or ``start`` negative, ``zh_share`` outside [0, 1].

    Example:
        >>> synthesize(2, seed=1).column_names
        ['id', 'prompt', 'category', 'topic', 'language', 'gold_requirements', 'source']
    """
    if n < 0:
        raise InvalidConfigError(f"n must be >= 0, got {n}")
    if start < 0:
        raise InvalidConfigError(f"start must be >= 0, got {start}")
    if not 0.0 <= zh_share <= 1.0:
        raise InvalidConfigError(f"zh_share must be between 0 and 1, got {zh_share}")
    cols = _generate(n, seed, zh_share, start)
    ids = [f"syn-{i:07d}" for i in range(start + 1, start + n + 1)]
    return pa.table([ids, cols["prompt"], cols["category"], cols["topic"], cols["language"], cols["gold"],
                     pa.repeat(pa.scalar("synth"), n) if n else pa.array([], pa.string())], schema=SYNTH_SCHEMA)
