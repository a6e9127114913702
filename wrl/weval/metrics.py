"""WEval's ranking metrics: how well a judge's scores order a group of responses, ties handled explicitly.

A *group* is ``n`` responses (2 <= n, in practice at most about 9) to one instruction, written under
progressively fewer requirements. ``gold`` is higher for a better response (the number of requirements
kept; distinct within a group) and ``scores`` are the judge's (higher is better; ties possible). Positions
count from 0 (the best response) in descending order.

Per group (:func:`rank_metrics`, :func:`ragged_rank_metrics`), all vectorized over groups of one size:

- ``tau``: Kendall's tau between gold and scores; ``rho``: Spearman's rank correlation;
- ``position_consistency``: ``1 - mean_i |predicted position_i - gold position_i| / (n - 1)``;
- ``exact_match``: 1 when the predicted order is the gold order, else 0.

How ties in the scores count (``ties``, one of :data:`TIES`):

- ``expected`` (the default): ``tau`` is tau-b (as ``scipy.stats.kendalltau`` computes it), ``rho``
  Spearman on average ranks, both 0 for a group whose scores are all tied (the judge expressed no order);
  ``position_consistency`` and ``exact_match`` are their exact expectations over uniformly random
  tie-breaking, in closed form. A tie neither helps nor hurts relative to a coin: a constant judge gets
  tau 0, rho 0, exact match ``1/n!`` and the position consistency of a random order, ``(2n - 1) / (3n)``.
- ``worst``: ties broken against the gold order, then all four metrics on that strict order (a constant
  judge gets tau -1 and exact match 0).
- ``paper``: the paper's released scorer (``cal_corr.py``): scores rounded to 3 decimals, ties broken
  toward the gold order, the four metrics on that strict order. A constant judge gets 1 everywhere; use it
  only to compare with published numbers.

Aggregates (:func:`mean_with_interval`, :func:`paired_difference`, :func:`summarize`): the macro average
over groups with a percentile bootstrap 95% interval over groups (``scipy.stats.bootstrap`` through
:func:`wrl.rm_metrics.percentile_bootstrap`, the generator fixed by the seed and a name), the paired
bootstrap of the mean per-group difference between two judges on their common groups, and breakdowns by
category, requirement type and family of the dropped requirements, and group size. One bootstrap per judge
resamples all its groups and recomputes every cell of its table (overall and every breakdown) on each
resample, so 100,000 groups with 39 cells cost one resampling, not 39. An interval is given only for cells
of at least :data:`MIN_INTERVAL_GROUPS` groups.

Example:
    >>> m = rank_metrics([[3, 2, 1, 0]], [[0.9, 0.5, 0.5, 0.1]])
    >>> {k: round(float(v[0]), 6) for k, v in m.items()}
    {'tau': 0.912871, 'rho': 0.948683, 'position_consistency': 0.916667, 'exact_match': 0.5}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from wrl.rm_metrics import RESAMPLES, _round, flat, percentile_bootstrap
from wrl.weval import METRICS, TIES

if TYPE_CHECKING:
    import pyarrow as pa


#: Fewest groups a cell needs for a bootstrap interval. A percentile bootstrap interval of a mean behaves like
#: ``mean +- 1.96 * s * sqrt((n - 1) / n) / sqrt(n)``, too narrow for small ``n``: with normal per-group values its
#: real coverage of a nominal 95% is about 90% at 10 groups, 85% at 5 and 75% at 3. Below 10 groups the mean
#: and ``n`` are given, the interval is None, rather than an interval that claims more than it knows.
MIN_INTERVAL_GROUPS = 10

#: Decimals the paper's scorer rounds scores to before ranking (``ties: paper``).
PAPER_DECIMALS = 3

#: Resampled index elements per call of the bootstrap statistic: ``batch = BATCH_ELEMENTS // groups`` resamples
#: at a time (41 for 100,000 groups: about 34 MB per array instead of 800 MB for all 1,000 at once). It
#: depends on the number of groups only, so the work is the same on every machine.
BATCH_ELEMENTS = 1 << 22

_FACTORIAL = np.array([math.factorial(k) for k in range(21)], dtype=np.float64)


def _check_ties(ties: str) -> None:
    if ties not in TIES:
        raise ValueError(f"ties must be one of {', '.join(TIES)}, got {ties!r}")


def _check_groups(gold: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    gold = np.asarray(gold, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if gold.ndim != 2 or gold.shape != scores.shape:
        raise ValueError(f"gold and scores must be (groups, n) arrays of one shape, got {gold.shape} and "
                         f"{scores.shape}")
    if gold.shape[1] < 2:
        raise ValueError(f"a group needs at least 2 responses, got {gold.shape[1]}")
    bad = ~np.isfinite(scores).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(f"scores must be finite: {len(rows)} group(s) with NaN or infinite scores (rows "
                         f"{rows[:5].tolist()}); exclude them with a reason before computing metrics")
    ordered = np.sort(gold, axis=1)
    bad = ~np.isfinite(gold).all(axis=1) | (np.diff(ordered, axis=1) == 0).any(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(f"gold must be finite and distinct within a group: {len(rows)} group(s) are not (rows "
                         f"{rows[:5].tolist()})")
    return gold, scores


def _sign(x: np.ndarray) -> np.ndarray:
    """``sign(x_i - x_j)`` as an int8 (groups, n, n) tensor."""
    return np.sign(x[:, :, None] - x[:, None, :]).astype(np.int8)


def _sum_abs(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``sum_{k=lo}^{hi} |k|`` for integer arrays ``lo <= hi``, in closed form."""
    def tri(x: np.ndarray) -> np.ndarray:
        x = np.maximum(x, 0)
        return x * (x + 1) // 2

    return tri(hi) + tri(-lo) - tri(lo - 1) - tri(-hi - 1)


def _expected(gold_sign: np.ndarray, score_sign: np.ndarray, gold_pos: np.ndarray) -> dict[str, np.ndarray]:
    """The four metrics with ties counted as their expectation over random tie-breaking (tau-b, average ranks)."""
    n = gold_sign.shape[1]
    pairs = n * (n - 1)                                    # ordered pairs i != j
    tied = score_sign == 0                                 # includes the diagonal
    ties_n = tied.sum(axis=(1, 2), dtype=np.int64)         # each member ties with itself: n of them
    concord = np.einsum("gij,gij->g", gold_sign, score_sign, dtype=np.int64)  # 2 * (concordant - discordant)
    # tau-b = (C - D) / sqrt(n0 (n0 - n2)) with n0 = n(n-1)/2 pairs and n2 tied in the scores (none in gold).
    denom = np.sqrt(pairs * (pairs - (ties_n - n)).astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.where(denom > 0, concord / denom, 0.0)

    # Spearman: Pearson correlation of average ranks (1 = lowest), read off the sign tensors.
    gold_rank = 1.0 + (gold_sign > 0).sum(axis=2)
    score_rank = 1.0 + (score_sign > 0).sum(axis=2) + 0.5 * (tied.sum(axis=2) - 1)
    g = gold_rank - gold_rank.mean(axis=1, keepdims=True)
    s = score_rank - score_rank.mean(axis=1, keepdims=True)
    ss = (s * s).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(ss > 0, (g * s).sum(axis=1) / np.sqrt((g * g).sum(axis=1) * ss), 0.0)

    # A member of a tie block of size c with a members above it sits uniformly at positions a .. a + c - 1.
    above = (score_sign < 0).sum(axis=2, dtype=np.int64)
    block = tied.sum(axis=2, dtype=np.int64)
    expected_gap = _sum_abs(above - gold_pos, above + block - 1 - gold_pos) / block
    position_consistency = 1.0 - expected_gap.mean(axis=1) / (n - 1)

    # Exact match: impossible once a pair is discordant; else each tie block must fall in gold order, 1/c!.
    discordant = ((gold_sign * score_sign) < 0).any(axis=(1, 2))
    earlier = np.tril(np.ones((n, n), dtype=bool), k=-1)   # j < i
    leader = ~(tied & earlier).any(axis=2)                 # first member of its tie block
    ways = np.where(leader, _FACTORIAL[block], 1.0).prod(axis=1)
    exact_match = np.where(discordant, 0.0, 1.0 / ways)
    return {"tau": tau, "rho": rho, "position_consistency": position_consistency, "exact_match": exact_match}


def _strict(pred_pos: np.ndarray, gold_pos: np.ndarray) -> dict[str, np.ndarray]:
    """The four metrics of a strict predicted order (positions are permutations of 0..n-1)."""
    n = pred_pos.shape[1]
    d = pred_pos - gold_pos
    concord = np.einsum("gij,gij->g", _sign(pred_pos), _sign(gold_pos), dtype=np.int64)
    return {"tau": concord / (n * (n - 1)),
            "rho": 1.0 - 6.0 * (d * d).sum(axis=1) / (n * (n * n - 1)),
            "position_consistency": 1.0 - np.abs(d).mean(axis=1) / (n - 1),
            "exact_match": (d == 0).all(axis=1).astype(np.float64)}


def rank_metrics(gold: Any, scores: Any, ties: str = "expected") -> dict[str, np.ndarray]:
    """The four ranking metrics of each group of one size.

    Args:
        gold: (groups, n) gold values, higher is better, distinct within a group (requirements kept).
        scores: (groups, n) judge scores, higher is better; ties allowed; all finite.
        ties: how ties in the scores count, one of :data:`TIES` (see the module docstring).

    Returns:
        ``{metric: (groups,) float64 array}`` for each of :data:`METRICS`.

    Raises:
        ValueError: a non-finite score, gold values that are not distinct within a group, shapes that do not
            match, groups of fewer than 2 responses, an unknown ``ties``.

    Example:
        >>> rank_metrics([[2, 1, 0]], [[0.5, 0.5, 0.5]], ties="paper")["tau"]
        array([1.])
    """
    _check_ties(ties)
    gold, scores = _check_groups(gold, scores)
    if len(gold) == 0:
        return {m: np.zeros(0) for m in METRICS}
    if ties == "paper":
        scores = np.round(scores, PAPER_DECIMALS)
    gold_sign, score_sign = _sign(gold), _sign(scores)
    gold_pos = (gold_sign < 0).sum(axis=2, dtype=np.int64)     # members above i in gold
    if ties == "expected":
        return _expected(gold_sign, score_sign, gold_pos)
    above = (score_sign < 0).sum(axis=2, dtype=np.int64)
    # Within a tie block: worst puts the members with lower gold first, paper those with higher gold.
    first = gold_sign > 0 if ties == "worst" else gold_sign < 0
    pred_pos = above + ((score_sign == 0) & first).sum(axis=2, dtype=np.int64)
    return _strict(pred_pos, gold_pos)


def ragged_rank_metrics(sizes: Any, gold: Any, scores: Any, ties: str = "expected") -> dict[str, np.ndarray]:
    """:func:`rank_metrics` for groups of different sizes, given flat.

    Args:
        sizes: (groups,) the number of responses of each group.
        gold, scores: (sum(sizes),) the members of group ``g`` contiguous, after those of group ``g - 1``.
        ties: one of :data:`TIES`.

    Returns:
        ``{metric: (groups,) array}`` in group order.

    Example:
        >>> ragged_rank_metrics([2, 3], [1, 0, 2, 1, 0], [0.1, 0.9, 3, 2, 1])["tau"]
        array([-1.,  1.])
    """
    _check_ties(ties)
    sizes = np.asarray(sizes, dtype=np.int64)
    gold = np.asarray(gold, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if sizes.ndim != 1 or gold.ndim != 1 or scores.ndim != 1:
        raise ValueError("sizes, gold and scores must be 1-D arrays")
    if len(gold) != len(scores) or len(gold) != int(sizes.sum()):
        raise ValueError(f"gold and scores must hold sum(sizes) = {int(sizes.sum())} members, got {len(gold)} "
                         f"and {len(scores)}")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    if (sizes < 2).any():
        raise ValueError(f"a group needs at least 2 responses: group {int(np.flatnonzero(sizes < 2)[0])} has "
                         f"{int(sizes[sizes < 2][0])}")
    bad = ~np.isfinite(scores)
    if bad.any():
        groups = np.unique(np.searchsorted(starts, np.flatnonzero(bad), side="right") - 1)
        raise ValueError(f"scores must be finite: {len(groups)} group(s) with NaN or infinite scores (groups "
                         f"{groups[:5].tolist()}); exclude them with a reason before computing metrics")
    out = {m: np.empty(len(sizes)) for m in METRICS}
    for n in np.unique(sizes):
        idx = np.flatnonzero(sizes == n)
        members = starts[idx, None] + np.arange(n)
        try:
            part = rank_metrics(gold[members], scores[members], ties)
        except ValueError as e:
            raise ValueError(f"groups of size {n}: {e}") from None
        for m in METRICS:
            out[m][idx] = part[m]
    return out


# ---------------------------------------------------------------------------------------------------- aggregates


def _cell_statistic(weights: np.ndarray, cells: int, k: int) -> Callable[..., np.ndarray]:
    """The bootstrap statistic of :func:`_bootstrap_cells`: resampled group indices -> every cell's k means.

    ``weights`` is (groups, cells * k + cells): column ``c * k + m`` holds metric m of the groups in cell c (0
    elsewhere), column ``cells * k + c`` is 1 for the groups in cell c. The statistic counts how often each
    group is drawn and multiplies the counts by ``weights`` (one matrix product for every cell and metric,
    rather than one gather per cell and metric), then divides each cell's sums by its drawn groups. It takes
    (..., groups) index arrays, as ``scipy.stats.bootstrap`` resamples them from ``arange(groups)``, and
    returns (cells * k, ...) means, NaN for a cell none of whose groups was drawn.
    """
    n = len(weights)

    def statistic(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        idx = np.moveaxis(np.asarray(idx), axis, -1)
        rows = idx.reshape(-1, n)
        counts = np.empty((len(rows), n))
        for r, row in enumerate(rows):
            counts[r] = np.bincount(row, minlength=n)
        sums = counts @ weights                             # (resamples, cells * k + cells)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums[:, : cells * k].reshape(-1, cells, k) / sums[:, cells * k :, None]
        return np.moveaxis(means.reshape(len(rows), cells * k), 0, -1).reshape(cells * k, *idx.shape[:-1])

    return statistic


def _bootstrap_cells(values: np.ndarray, cells: Sequence[np.ndarray], *, seed: int, name: str, resamples: int,
                     better: bool = False) -> list[list[dict[str, float | None]]]:
    """Each cell's mean of each row of (k, groups) ``values``, with percentile bootstrap 95% intervals.

    ``cells`` are arrays of group (column) indices, a group at most once per cell. ONE ``scipy.stats.bootstrap``
    call (through :func:`wrl.rm_metrics.percentile_bootstrap`, generator fixed by ``seed`` and ``name``) resamples
    all the groups and recomputes every cell on each resample: the bootstrap of the whole set of groups, each cell
    of a table drawn from the same resampled sets. A cell gets an interval when it has at least
    :data:`MIN_INTERVAL_GROUPS` groups (resamples that happen to draw none of its groups are left out of its
    quantiles). ``better`` adds ``a_better``, the share of resamples whose mean is above 0.

    Returns:
        ``[cell][row] -> {"value", "low", "high"[, "a_better"]}``, floats rounded to 6 digits or None.
    """
    k, n = values.shape
    value = np.full((len(cells), k), np.nan)
    low, high, share = value.copy(), value.copy(), value.copy()
    for c, rows in enumerate(cells):
        if len(rows):
            value[c] = values[:, rows].mean(axis=1)
    eligible = [c for c, rows in enumerate(cells) if len(rows) >= MIN_INTERVAL_GROUPS]
    if eligible:
        e = len(eligible)
        weights = np.zeros((n, e * k + e))
        for i, c in enumerate(eligible):
            weights[cells[c], i * k : (i + 1) * k] = values[:, cells[c]].T
            weights[cells[c], e * k + i] = 1.0
        batch = max(1, min(resamples, BATCH_ELEMENTS // n))
        res = percentile_bootstrap(_cell_statistic(weights, e, k), (np.arange(n),), seed=seed, name=name,
                                   resamples=resamples, batch=batch)
        dist = np.asarray(res.bootstrap_distribution).reshape(e, k, resamples)
        with np.errstate(invalid="ignore"):
            # scipy's percentile interval is its ``quantile(..., method="linear")``, numpy's default too.
            bounds = np.nanquantile(dist, [0.025, 0.975], axis=-1)
            above = (dist > 0).sum(axis=-1) / (~np.isnan(dist)).sum(axis=-1)
        low[eligible], high[eligible], share[eligible] = bounds[0], bounds[1], above
    out = []
    for c in range(len(cells)):
        row = []
        for m in range(k):
            stat = {"value": _round(value[c, m]), "low": _round(low[c, m]), "high": _round(high[c, m])}
            if better:
                stat["a_better"] = _round(share[c, m])
            row.append(stat)
        out.append(row)
    return out


def _as_rows(values: Any) -> tuple[np.ndarray, bool]:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim not in (1, 2):
        raise ValueError(f"values must be (groups,) or (k, groups), got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError("values must be finite")
    return np.atleast_2d(v), v.ndim == 1


def mean_with_interval(values: Any, *, seed: int, name: str,
                       resamples: int = RESAMPLES) -> dict[str, float | None] | list[dict[str, float | None]]:
    """The macro average over groups and its percentile bootstrap 95% interval.

    Args:
        values: (groups,) per-group values, or (k, groups) for k metrics of the same groups: all k share one
            bootstrap call (the same resampled groups).
        seed, name: fix the resamples (the same seed and name give the same interval).
        resamples: bootstrap resamples.

    Returns:
        ``{"value", "low", "high"}`` (floats rounded to 6 digits), a list of k of them for (k, groups) values;
        ``low``/``high`` are None under :data:`MIN_INTERVAL_GROUPS` groups, ``value`` is None with no group.

    Example:
        >>> mean_with_interval([1.0] * 12, seed=0, name="x")
        {'value': 1.0, 'low': 1.0, 'high': 1.0}
    """
    rows, single = _as_rows(values)
    out = _bootstrap_cells(rows, [np.arange(rows.shape[1])], seed=seed, name=name, resamples=resamples)[0]
    return out[0] if single else out


def paired_difference(a: Any, b: Any, *, seed: int, name: str,
                      resamples: int = RESAMPLES) -> dict[str, float | None] | list[dict[str, float | None]]:
    """The mean per-group difference ``a - b`` of two judges on the same groups, with its paired bootstrap interval.

    Args:
        a, b: (groups,) or (k, groups) per-group values of the two judges, column ``g`` the same group in both.
        seed, name, resamples: as in :func:`mean_with_interval`.

    Returns:
        ``{"value", "low", "high", "a_better"}`` (a list of k for (k, groups) input): ``a_better`` is the share
        of resamples whose mean difference is above 0 (None where the interval is).

    Example:
        >>> paired_difference([0.5] * 10, [0.5] * 10, seed=0, name="a - a")
        {'value': 0.0, 'low': 0.0, 'high': 0.0, 'a_better': 0.0}
    """
    rows_a, single = _as_rows(a)
    rows_b, _ = _as_rows(b)
    if rows_a.shape != rows_b.shape:
        raise ValueError(f"a and b must have one shape, got {np.shape(a)} and {np.shape(b)}")
    diff = rows_a - rows_b
    out = _bootstrap_cells(diff, [np.arange(diff.shape[1])], seed=seed, name=name, resamples=resamples,
                           better=True)[0]
    return out[0] if single else out


def _flat_cell(n: int, stats: Sequence[dict[str, float | None]]) -> dict[str, Any]:
    """``{"n", "tau", "tau_low", "tau_high", ...}`` (and ``tau_a_better`` ... for a difference)."""
    out: dict[str, Any] = {"n": int(n)}
    for metric, stat in zip(METRICS, stats, strict=True):
        out |= flat(metric, stat)
        if "a_better" in stat:
            out[f"{metric}_a_better"] = stat["a_better"]
    return out


# ---------------------------------------------------------------------------------------------------- summary

#: Columns :func:`summarize` reads from its per-group table.
SUMMARY_COLUMNS = ("judge", "group_id", "category", "group_size", "dropped_types", "dropped_families") + METRICS
BREAKDOWNS = ("by_category", "by_type", "by_family", "by_group_size")


def _combined(column: Any) -> Any:
    import pyarrow as pa

    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _codes(column: Any, what: str) -> tuple[np.ndarray, list[Any]]:
    """Integer codes of a column and its distinct values (codes index them)."""
    import pyarrow.compute as pc

    column = _combined(column)
    if column.null_count:
        raise ValueError(f"{what} has nulls")
    encoded = pc.dictionary_encode(column)
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, sorted (``np.unique`` by a sort, faster here than its hashing)."""
    keys = np.sort(keys)
    return keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if len(keys) else keys


def _split(codes: np.ndarray, rows: np.ndarray, names: Sequence[Any]) -> dict[Any, np.ndarray]:
    """``{names[c]: the rows whose code is c}``, keys sorted, rows ascending, each (code, row) once."""
    if len(codes) == 0:
        return {}
    base = int(rows.max()) + 1
    pairs = _distinct(codes * base + rows)
    codes, rows = pairs // base, pairs % base
    bounds = np.flatnonzero(np.diff(codes)) + 1
    cells = {names[int(part[0])]: part_rows for part, part_rows in zip(np.split(codes, bounds),
                                                                        np.split(rows, bounds), strict=True)}
    return dict(sorted(cells.items()))


def _list_split(column: Any, what: str) -> dict[str, np.ndarray]:
    """For a list<str> column: each distinct value and the rows holding it (a row once per value), sorted."""
    import pyarrow.compute as pc

    column = _combined(column)
    values = pc.list_flatten(column)
    if len(values) == 0:
        return {}
    parents = pc.list_parent_indices(column).to_numpy(zero_copy_only=False).astype(np.int64)
    codes, names = _codes(values, f"{what} (an element)")
    return _split(codes, parents, names)


def summarize(per_group: pa.Table, *, ties: str = "expected", seed: int = 0, resamples: int = RESAMPLES,
              compare: Iterable[tuple[str, str]] = (), excluded: dict[str, dict[str, int]] | None = None,
              total_groups: int | None = None) -> dict[str, Any]:
    """WEval's summary: each judge's macro averages with intervals, its breakdowns, and paired differences.

    Args:
        per_group: one row per (judge, group) judged, columns :data:`SUMMARY_COLUMNS` (``judge``, ``group_id``,
            ``category`` str; ``group_size`` int; ``dropped_types``, ``dropped_families`` list<str>; the four
            metrics, as :func:`ragged_rank_metrics` computed them under ``ties``).
        ties: the tie rule the metrics were computed under (recorded in the summary).
        seed: seeds the bootstraps: one per judge (named by the judge: its overall cell and every breakdown
            cell are computed on the same resampled groups) and one per difference (named ``"a - b"``).
        resamples: bootstrap resamples.
        compare: (a, b) judge pairs: the paired difference ``a - b`` on the groups both judged.
        excluded: ``{judge: {reason: groups}}``, the groups a judge could not rank (a judge that ranked none
            appears with ``groups`` 0).
        total_groups: the groups WEval has (the denominator of ``coverage``); default: the distinct
            ``group_id`` values of ``per_group``.

    Returns:
        ``{"ties", "resamples", "confidence", "judges": {judge: {"groups", "coverage", "excluded", "overall",
        "by_category", "by_type", "by_family", "by_group_size"}}, "differences": {"a - b": {...}}}``; a cell is
        ``{"n", "tau", "tau_low", "tau_high", "rho", ...}``, a difference adds ``a``, ``b`` and
        ``<metric>_a_better``. A group counts once in ``by_type``/``by_family`` for each distinct type/family
        among its dropped requirements. Floats are rounded to 6 digits, None where undefined; keys are sorted.

    Raises:
        ValueError: a missing column, a null or non-finite value, a (judge, group) twice, a judge in ``compare``
            that is nowhere in the table or ``excluded``, an unknown ``ties``.
    """
    _check_ties(ties)
    missing = [c for c in SUMMARY_COLUMNS if c not in per_group.column_names]
    if missing:
        raise ValueError(f"per-group table lacks column(s) {', '.join(missing)}")
    excluded = excluded or {}
    compare = list(compare)
    rows = np.arange(len(per_group))
    judge_codes, judge_names = _codes(per_group["judge"], "column judge")
    group_codes, group_names = _codes(per_group["group_id"], "column group_id")
    if len(_distinct(judge_codes * max(len(group_names), 1) + group_codes)) != len(per_group):
        raise ValueError("per-group table holds a (judge, group_id) pair more than once")
    values = np.empty((len(METRICS), len(per_group)))
    for i, metric in enumerate(METRICS):
        if per_group[metric].null_count:
            raise ValueError(f"column {metric} has nulls")
        values[i] = per_group[metric].to_numpy()
    if not np.isfinite(values).all():
        raise ValueError("metric columns must be finite")
    total = len(group_names) if total_groups is None else int(total_groups)

    judges = sorted(set(judge_names) | set(excluded))
    for pair in compare:
        for j in pair:
            if j not in judges:
                raise ValueError(f"compare names judge {j!r}, which is not among the judges ({', '.join(judges)})")

    rows_of = _split(judge_codes, rows, judge_names)
    none = np.zeros(0, dtype=np.int64)
    summary: dict[str, Any] = {}
    for judge in judges:
        mine = rows_of.get(judge, none)
        summary[judge] = {"groups": int(len(mine)), "coverage": _round(len(mine) / total) if total else None,
                          "excluded": {str(r): int(v) for r, v in sorted(excluded.get(judge, {}).items())}}
        summary[judge] |= _judge_cells(per_group.take(mine), values[:, mine], seed=seed, name=judge,
                                       resamples=resamples)

    differences: dict[str, Any] = {}
    for a, b in compare:
        rows_a, rows_b = rows_of.get(a, none), rows_of.get(b, none)
        _, ia, ib = np.intersect1d(group_codes[rows_a], group_codes[rows_b], assume_unique=True,
                                   return_indices=True)
        name = f"{a} - {b}"
        diff = values[:, rows_a[ia]] - values[:, rows_b[ib]]
        stats = _bootstrap_cells(diff, [np.arange(len(ia))], seed=seed, name=name, resamples=resamples,
                                 better=True)[0]
        differences[name] = {"a": a, "b": b} | _flat_cell(len(ia), stats)
    return {"ties": ties, "resamples": int(resamples), "confidence": 0.95, "judges": summary,
            "differences": dict(sorted(differences.items()))}


def _judge_cells(table: pa.Table, values: np.ndarray, *, seed: int, name: str, resamples: int) -> dict[str, Any]:
    """One judge's overall cell and breakdowns, every cell from one bootstrap of the judge's groups."""
    n = len(table)
    rows = np.arange(n)
    if n:
        size_codes, sizes = _codes(table["group_size"], "column group_size")
        category_codes, categories = _codes(table["category"], "column category")
        splits = {"by_category": _split(category_codes, rows, categories),
                  "by_type": _list_split(table["dropped_types"], "column dropped_types"),
                  "by_family": _list_split(table["dropped_families"], "column dropped_families"),
                  "by_group_size": _split(size_codes, rows, [int(s) for s in sizes])}
    else:
        splits = {kind: {} for kind in BREAKDOWNS}
    cells = [rows] + [part for kind in BREAKDOWNS for part in splits[kind].values()]
    stats = iter(_bootstrap_cells(values, cells, seed=seed, name=name, resamples=resamples))
    out: dict[str, Any] = {"overall": _flat_cell(n, next(stats))}
    for kind in BREAKDOWNS:
        out[kind] = {str(key): _flat_cell(len(part), next(stats)) for key, part in splits[kind].items()}
    return out
