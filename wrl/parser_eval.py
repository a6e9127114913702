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

__all__ = ["DERIVED_PARAMS", "ParserAccuracy", "comparable", "parser_accuracy"]


def _scores(tp: int, predicted: int, support: int, exact: int) -> dict[str, Any]:
    precision = tp / predicted if predicted else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": support,
            "predicted": predicted, "matched": tp, "params_exact": round(exact / tp, 4) if tp else 0.0}


#: Params the parser derives from the whole instruction rather than reads from the requirement's
#: text (the request a ``repeat_prompt`` repeats); the gold has none, accuracy leaves them out.
DERIVED_PARAMS = {"repeat_prompt": ("prompt",)}


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


class ParserAccuracy:
    """Parser accuracy against gold requirements, accumulated batch by batch (a stage streams its input).

    Per instruction and type, the parser is credited with ``min(parsed, gold)`` matches (a
    multiset intersection of types); precision, recall and F1 are micro-averaged over all
    instructions with gold. For matched pairs, ``params_exact`` is the share whose normalized
    params equal the gold params exactly (pairs are matched equal-params first), compared in the
    form of :func:`comparable` (``at_most 200`` is ``less_than 201``; two bounds are one range).
    """

    def __init__(self) -> None:
        self.tp: Counter = Counter()
        self.predicted: Counter = Counter()
        self.support: Counter = Counter()
        self.exact: Counter = Counter()
        self.instructions = 0

    def add(self, parsed: pa.Table) -> None:
        """Count a batch of parsed rows; rows whose ``gold_requirements`` is null are skipped.

        Raises:
            DatasetError: ``parsed`` lacks the ``requirements`` or ``gold_requirements`` column.
        """
        for name in ("requirements", "gold_requirements"):
            if name not in parsed.column_names:
                raise DatasetError(f"parser_accuracy needs a {name!r} column; got {parsed.column_names}")
        for found, gold_json in zip(parsed["requirements"].to_pylist(), parsed["gold_requirements"].to_pylist(),
                                    strict=True):
            if gold_json is None:
                continue
            self.instructions += 1
            gold_by: dict[str, list] = defaultdict(list)
            for g in json.loads(gold_json):
                gold_by[g["type"]].append(requirement_params(g.get("params")))
            found_by: dict[str, list] = defaultdict(list)
            for r in found or ():
                params = requirement_params(r.get("params"))
                derived = DERIVED_PARAMS.get(r["type"], ())
                found_by[r["type"]].append({k: v for k, v in params.items() if k not in derived})
            gold_by = defaultdict(list, {t: comparable(ps) for t, ps in gold_by.items()})
            found_by = defaultdict(list, {t: comparable(ps) for t, ps in found_by.items()})
            for rtype in gold_by.keys() | found_by.keys():
                golds, founds = gold_by.get(rtype, []), list(found_by.get(rtype, []))
                self.support[rtype] += len(golds)
                self.predicted[rtype] += len(founds)
                self.tp[rtype] += min(len(golds), len(founds))
                hits = 0
                for g in golds:
                    if g in founds:
                        founds.remove(g)
                        hits += 1
                self.exact[rtype] += min(hits, len(golds), len(found_by.get(rtype, [])))

    def result(self) -> dict[str, Any]:
        """``{"overall": {precision, recall, f1, support, predicted, matched, params_exact},
        "by_type": {type: {...}}, "instructions": n}``."""
        tp, predicted, support, exact = self.tp, self.predicted, self.support, self.exact
        by_type = {t: _scores(tp[t], predicted[t], support[t], exact[t])
                   for t in sorted(support.keys() | predicted.keys())}
        overall = _scores(sum(tp.values()), sum(predicted.values()), sum(support.values()), sum(exact.values()))
        return {"overall": overall, "by_type": by_type, "instructions": self.instructions}


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

