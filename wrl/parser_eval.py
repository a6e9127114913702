"""Parser accuracy: parsed requirements scored against gold ones (the synthetic data's, or a file's).

Example:
    >>> from wrl.requirements import parse_dataset
    >>> from wrl.synth import synthesize
    >>> parsed, _ = parse_dataset(synthesize(1000, seed=0), progress=False)
    >>> parser_accuracy(parsed)["overall"]["recall"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import pyarrow as pa

from wrl.errors import DatasetError
from wrl.requirements import requirement_params

__all__ = ["CASELESS_PARAMS", "DERIVED_PARAMS", "ParserAccuracy", "comparable", "match_instruction", "parser_accuracy"]


def _scores(tp: int, predicted: int, support: int, exact: int) -> dict[str, Any]:
    precision = tp / predicted if predicted else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": support,
            "predicted": predicted, "matched": tp, "params_exact": round(exact / tp, 4) if tp else 0.0}


#: Params the parser derives from the whole instruction rather than reads from the requirement's
#: text (the request a ``repeat_prompt`` repeats). Scored where the gold has them (IFEval's kwargs
#: do), left out where it has none (the synthetic data's).
DERIVED_PARAMS = {"repeat_prompt": ("prompt",)}

#: Params compared without case (the verifiers match keywords, forbidden words and first words
#: case-insensitively, as IFEval's checkers do); word lists are also compared without order.
CASELESS_PARAMS = ("keywords", "words", "keyword", "first_word")


def _canonical(params: dict) -> dict:
    """``params`` as scoring compares them: case-folded words, word lists sorted, whitespace of a repeated
    prompt collapsed."""
    out = dict(params)
    for key in CASELESS_PARAMS:
        value = out.get(key)
        if isinstance(value, str):
            out[key] = value.casefold()
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[key] = sorted(v.casefold() for v in value)
    if isinstance(out.get("prompt"), str):
        out["prompt"] = " ".join(out["prompt"].split())
    return out


def _bound(params: dict) -> tuple[str, int] | None:
    """``("lo", n)`` for ``n ≤ count``, ``("hi", n)`` for ``count ≤ n``, on whole-number counts."""
    value, relation = params.get("value"), params.get("relation")
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return {"at_least": ("lo", value), "more_than": ("lo", value + 1),
            "at_most": ("hi", value), "less_than": ("hi", value - 1)}.get(relation)


def comparable(params_list: list[Any]) -> list[Any]:
    """One instruction's requirements of one type in the form scoring compares.

    Counts are whole numbers, so ``at_most 200`` and ``less_than 201`` (IFEval's "200 words or less")
    are one requirement, as are ``more_than 4`` and ``at_least 5``: bounds are spelled ``at_least``
    and ``less_than``. A lower and an upper bound on the same count (IFEval lists "20 to 30
    sentences" as two ``number_sentences`` entries) are one range, ``relation: between`` with
    ``min`` and ``max`` (both included), as the parser reads it; a range of one value is ``exactly``.

    Args:
        params_list: normalized params (:func:`wrl.requirements.requirement_params`) of the
            requirements of one type in one instruction.

    Returns:
        The same requirements, bounds paired into ranges and spelled one way.

    Example:
        >>> comparable([{"unit": "sentences", "relation": "at_least", "value": 20},
        ...             {"unit": "sentences", "relation": "less_than", "value": 31}])
        [{'unit': 'sentences', 'relation': 'between', 'min': 20, 'max': 30}]
    """
    out: list[Any] = []
    open_bounds: list[tuple[str, int, dict, int]] = []  # (side, n, the other params, index in out)
    for params in params_list:
        bound = _bound(params) if isinstance(params, dict) else None
        if bound is None:
            out.append(params)
            continue
        side, n = bound
        rest = {k: v for k, v in params.items() if k not in ("relation", "value")}
        partner = next((b for b in open_bounds if b[0] != side and b[2] == rest), None)
        if partner is not None:
            lo, hi = (n, partner[1]) if side == "lo" else (partner[1], n)
            if lo <= hi:
                open_bounds.remove(partner)
                out[partner[3]] = ({**rest, "relation": "exactly", "value": lo} if lo == hi
                                   else {**rest, "relation": "between", "min": lo, "max": hi})
                continue
        open_bounds.append((side, n, rest, len(out)))
        out.append({**rest, "relation": "at_least", "value": n} if side == "lo"
                   else {**rest, "relation": "less_than", "value": n + 1})
    return out


def _one_form(rtype: str, params: dict) -> tuple[str, dict]:
    """Two spellings of one requirement scored as one: a keyword that must appear at least once is
    ``keywords``, one that must appear less than once is ``forbidden_words``."""
    if rtype == "keyword_frequency" and isinstance(params.get("keyword"), str) \
            and set(params) == {"keyword", "relation", "value"}:
        bound = _bound(params)
        if bound == ("lo", 1):
            return "keywords", {"keywords": [params["keyword"]]}
        if bound == ("hi", 0):
            return "forbidden_words", {"words": [params["keyword"]]}
    return rtype, params


def implied(requirement: dict) -> list[dict]:
    """Requirements a gold requirement holds in its params, as optional gold (credited when found, no miss
    when not): IFEval's first-word check also fixes the number of paragraphs, which the prompt states and
    the parser reads as a ``length``."""
    params = requirement_params(requirement.get("params"))
    if requirement.get("type") == "paragraph_first_word" and isinstance(params.get("num_paragraphs"), int):
        return [{"type": "length", "optional": True,
                 "params": {"unit": "paragraphs", "relation": "exactly", "value": params["num_paragraphs"]}}]
    return []


def _by_type(requirements: list[dict] | None) -> dict[str, list]:
    by: dict[str, list] = defaultdict(list)
    for r in requirements or ():
        rtype, params = _one_form(r["type"], _canonical(requirement_params(r.get("params"))))
        by[rtype].append(params)
    return by


def match_instruction(found: list[dict] | None, gold: list[dict]) -> list[tuple[str, str, Any, Any]]:
    """One instruction's parsed requirements against its gold ones, type by type.

    Returns ``(kind, type, gold_params, found_params)`` per requirement: ``matched`` (params equal in the
    form of :func:`comparable`, after case-folding the words of :data:`CASELESS_PARAMS`),
    ``wrong_params`` (the type matched, the params not), ``missed`` (gold, not found) and ``spurious``
    (found, not in the gold). A gold requirement marked ``"optional": true`` (one the source implies
    without its text saying so, or one of :func:`implied`) counts when found and is no miss when not;
    :func:`_one_form` scores two spellings of one requirement as one.
    """
    gold = [*gold, *(extra for g in gold for extra in implied(g))]
    gold_by = _by_type([g for g in gold if not g.get("optional")])
    optional_by = _by_type([g for g in gold if g.get("optional")])
    found_by = _by_type(found)
    out: list[tuple[str, str, Any, Any]] = []
    for rtype in sorted(gold_by.keys() | found_by.keys()):
        golds = comparable(gold_by.get(rtype, []))
        optional = comparable(optional_by.get(rtype, []))
        has = {k for g in golds + optional if isinstance(g, dict) for k in g}
        left_out = [k for k in DERIVED_PARAMS.get(rtype, ()) if k not in has]
        founds = comparable([{k: v for k, v in f.items() if k not in left_out} for f in found_by.get(rtype, [])])
        unmatched = []
        for g in golds:
            if g in founds:
                founds.remove(g)
                out.append(("matched", rtype, g, g))
            else:
                unmatched.append(g)
        paired = min(len(unmatched), len(founds))
        out += [("wrong_params", rtype, g, f) for g, f in zip(unmatched[:paired], founds[:paired], strict=True)]
        out += [("missed", rtype, g, None) for g in unmatched[paired:]]
        for f in founds[paired:]:
            if f in optional:
                optional.remove(f)
                out.append(("matched", rtype, f, f))
            else:
                out.append(("spurious", rtype, None, f))
    return out


class ParserAccuracy:
    """Parser accuracy against gold requirements, accumulated batch by batch (a stage streams its input).

    Per instruction and type, the parser is credited with ``min(parsed, gold)`` matches (a
    multiset intersection of types); precision, recall and F1 are micro-averaged over all
    instructions with gold. For matched pairs, ``params_exact`` is the share whose params equal the
    gold params (:func:`match_instruction`: ``at_most 200`` is ``less_than 201``, two bounds are one
    range, keywords compare without case). ``all_found`` counts the instructions whose every gold
    requirement was found; with ``keep_misses``, :attr:`misses` lists what was not matched.
    """

    def __init__(self, keep_misses: bool = False) -> None:
        self.tp: Counter = Counter()
        self.predicted: Counter = Counter()
        self.support: Counter = Counter()
        self.exact: Counter = Counter()
        self.instructions = 0
        self.all_found = 0
        self.misses: list[dict[str, Any]] | None = [] if keep_misses else None

    def add(self, parsed: pa.Table) -> None:
        """Count a batch of parsed rows; rows whose ``gold_requirements`` is null are skipped.

        Raises:
            DatasetError: ``parsed`` lacks the ``requirements`` or ``gold_requirements`` column.
        """
        for name in ("requirements", "gold_requirements"):
            if name not in parsed.column_names:
                raise DatasetError(f"parser_accuracy needs a {name!r} column; got {parsed.column_names}")
        # A miss names its row; without misses to keep, the prompts need not be read.
        keys = [k for k in ("id", "prompt") if k in parsed.column_names and self.misses is not None]
        rows = parsed.select([*keys, "requirements", "gold_requirements"]).to_pylist()
        for row in rows:
            if row["gold_requirements"] is None:
                continue
            self.instructions += 1
            outcome = match_instruction(row["requirements"], json.loads(row["gold_requirements"]))
            for kind, rtype, g, f in outcome:
                self.support[rtype] += g is not None
                self.predicted[rtype] += f is not None
                self.tp[rtype] += kind in ("matched", "wrong_params")
                self.exact[rtype] += kind == "matched"
                if self.misses is not None and kind != "matched":
                    self.misses.append({**{k: row[k] for k in keys}, "kind": kind, "type": rtype,
                                        "gold_params": g, "found_params": f})
            self.all_found += all(kind != "missed" for kind, *_ in outcome)

    def result(self) -> dict[str, Any]:
        """``{"overall": {precision, recall, f1, support, predicted, matched, params_exact},
        "by_type": {type: {...}}, "instructions": n, "all_found": share}``."""
        types = self.support.keys() | self.predicted.keys()
        by_type = {t: self.scores_of({t}) for t in sorted(types)}
        return {"overall": self.scores_of(types), "by_type": by_type, "instructions": self.instructions,
                "all_found": round(self.all_found / self.instructions, 4) if self.instructions else 0.0}

    def scores_of(self, types: set[str]) -> dict[str, Any]:
        """The overall scores restricted to ``types`` (the rule-verifiable ones, say)."""
        pick = [t for t in self.support.keys() | self.predicted.keys() if t in types]
        return _scores(*(sum(c[t] for t in pick) for c in (self.tp, self.predicted, self.support, self.exact)))


def parser_accuracy(parsed: pa.Table) -> dict[str, Any]:
    """:class:`ParserAccuracy` of one table.

    Args:
        parsed: output of :func:`wrl.parse_dataset` on a table with a ``gold_requirements`` column
            (JSON list of ``{"type", "params"}``); rows whose gold is null are skipped.

    Returns:
        ``{"overall": {precision, recall, f1, support, predicted, matched, params_exact},
        "by_type": {type: {...}}, "instructions": n}``.
    """
    accuracy = ParserAccuracy()
    accuracy.add(parsed)
    return accuracy.result()

