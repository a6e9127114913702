"""Test-split metrics of a requirement-level scorer, with bootstrap 95% intervals: accuracy, ROC AUC,
calibration (ECE) and pairwise accuracy, NaN-safe and deterministic for a seed.

Every statistic takes ``axis`` and works on a batch of resamples at once, so
``scipy.stats.bootstrap(..., vectorized=True)`` runs 1,000 resamples in one numpy call.

Rules, stated once:

- ROC AUC is the Mann-Whitney probability that a positive outscores a negative, ties counting one
  half; NaN when a group has one class only.
- Accuracy thresholds a score: 0.5 for probabilities, a threshold fixed on the train split for the
  length baseline.
- ECE: 10 equal-width bins of P(label 1), ``sum_b |mean p - mean y| * n_b / n``.
- Pairwise accuracy: chosen above rejected counts 1, a tie one half.
- An interval is given only where a group has at least :data:`MIN_INTERVAL_N` examples and
  :data:`MIN_CLASS_N` of each label (otherwise resamples with one class make it meaningless); the
  value and ``n`` are always given.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

MIN_INTERVAL_N = 20
MIN_CLASS_N = 5
ECE_BINS = 10
RESAMPLES = 1000


def accuracy(y: np.ndarray, s: np.ndarray, threshold: float = 0.5, axis: int = -1) -> np.ndarray:
    """Share of examples whose thresholded score (``s >= threshold``) equals the label."""
    return np.mean((s >= threshold) == (y > 0.5), axis=axis)


def roc_auc(y: np.ndarray, s: np.ndarray, axis: int = -1) -> np.ndarray | float:
    """ROC AUC by ranks (average ranks for ties); NaN where one class is absent."""
    from scipy.stats import rankdata

    y = np.moveaxis(np.asarray(y, dtype=np.float64), axis, -1)
    s = np.moveaxis(np.asarray(s, dtype=np.float64), axis, -1)
    ranks = rankdata(s, axis=-1)
    n_pos = (y > 0.5).sum(-1)
    n_neg = y.shape[-1] - n_pos
    pos_ranks = np.where(y > 0.5, ranks, 0.0).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos_ranks - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def ece(y: np.ndarray, p: np.ndarray, axis: int = -1, bins: int = ECE_BINS) -> np.ndarray:
    """Expected calibration error of probabilities ``p`` over ``bins`` equal-width bins."""
    y = np.moveaxis(np.asarray(y, dtype=np.float64), axis, -1)
    p = np.moveaxis(np.asarray(p, dtype=np.float64), axis, -1)
    which = np.clip((p * bins).astype(np.int64), 0, bins - 1)
    total = np.zeros(p.shape[:-1])
    for b in range(bins):
        mask = which == b
        n_b = mask.sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = np.abs(np.where(mask, p, 0).sum(-1) - np.where(mask, y, 0).sum(-1))
        total = total + np.where(n_b > 0, gap, 0.0)
    return total / p.shape[-1]


def pair_accuracy(chosen: np.ndarray, rejected: np.ndarray, axis: int = -1) -> np.ndarray:
    """Share of pairs where the chosen response scores higher (a tie counts one half)."""
    return np.mean((chosen > rejected) + 0.5 * (chosen == rejected), axis=axis)


def _round(x: Any) -> float | None:
    x = float(x)
    return None if not math.isfinite(x) else round(x, 6)


def _rng(seed: int, name: str) -> np.random.Generator:
    """A generator for one group's bootstrap: the seed and the group's name fix it."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def percentile_bootstrap(statistic: Callable[..., Any], data: tuple[np.ndarray, ...], *, seed: int, name: str,
                         resamples: int = RESAMPLES, batch: int | None = None) -> Any:
    """``scipy.stats.bootstrap``'s result for ``statistic`` over ``data`` resampled along the last axis (the
    arrays of ``data`` resampled together), percentile method, 95%, its generator fixed by ``seed`` and ``name``.

    ``batch`` resamples go to ``statistic`` at a time (None: all at once), which bounds memory at
    ``batch * len(data[0])`` elements per array; the resamples drawn depend on it, so keep it a function of
    the data's size only. A statistic returning several values (one per leading row of the data) gets one
    interval per value from the same resamples; ``bootstrap_distribution`` holds the resampled values.
    """
    from scipy.stats import bootstrap

    with np.errstate(all="ignore"):
        # One array needs no pairing (scipy would then resample its indices and index it a second time).
        return bootstrap(data, statistic, paired=len(data) > 1, vectorized=True, n_resamples=resamples, batch=batch,
                         axis=-1, confidence_level=0.95, method="percentile", rng=_rng(seed, name))


def with_interval(statistic: Callable[..., Any], data: tuple[np.ndarray, ...], *, seed: int, name: str,
                  interval: bool, resamples: int = RESAMPLES, batch: int | None = None) -> dict[str, float | None]:
    """``{"value", "low", "high"}``: the statistic and its percentile bootstrap 95% interval (pairs resampled
    together, ``batch`` resamples at a time as in :func:`percentile_bootstrap`); ``low``/``high`` are None
    where ``interval`` is false or the interval is undefined."""
    value = _round(statistic(*data, axis=-1))
    low = high = None
    if interval and value is not None:
        res = percentile_bootstrap(statistic, data, seed=seed, name=name, resamples=resamples, batch=batch)
        low, high = _round(res.confidence_interval.low), _round(res.confidence_interval.high)
    return {"value": value, "low": low, "high": high}


def enough_for_interval(y: np.ndarray) -> bool:
    """Whether a group is large enough, in both labels, for a bootstrap interval."""
    n_pos = int((y > 0.5).sum())
    return len(y) >= MIN_INTERVAL_N and n_pos >= MIN_CLASS_N and len(y) - n_pos >= MIN_CLASS_N


def flat(name: str, stat: dict[str, float | None]) -> dict[str, float | None]:
    """``{"auc": v, "auc_low": l, "auc_high": h}``: flat keys, as ``dvc metrics show`` prints columns."""
    return {name: stat["value"], f"{name}_low": stat["low"], f"{name}_high": stat["high"]}


def scorer_metrics(y: np.ndarray, s: np.ndarray, *, seed: int, name: str, threshold: float | None = 0.5,
                   calibration: bool = False, resamples: int = RESAMPLES) -> dict[str, Any]:
    """n, accuracy (where ``threshold`` is given), ROC AUC and, for probabilities, ECE, each with its interval."""
    y = np.asarray(y, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    out: dict[str, Any] = {"n": int(len(y))}
    if len(y) == 0:
        return out
    interval = enough_for_interval(y)
    if threshold is not None:
        out |= flat("accuracy", with_interval(lambda a, b, axis=-1: accuracy(a, b, threshold, axis), (y, s),
                                              seed=seed, name=f"{name}/accuracy", interval=interval,
                                              resamples=resamples))
    out |= flat("auc", with_interval(roc_auc, (y, s), seed=seed, name=f"{name}/auc", interval=interval,
                                     resamples=resamples))
    if calibration:
        out |= flat("ece", with_interval(ece, (y, s), seed=seed, name=f"{name}/ece", interval=interval,
                                         resamples=resamples))
    return out


def best_threshold(y: np.ndarray, s: np.ndarray) -> float:
    """The threshold on ``s`` with the highest accuracy of ``s >= t`` (the smallest such, for determinism)."""
    y = np.asarray(y) > 0.5
    if len(s) == 0:
        return 0.0
    order = np.argsort(s, kind="stable")
    s_sorted, y_sorted = np.asarray(s, dtype=np.float64)[order], y[order]
    # Threshold at s_sorted[i]: rows before i are predicted 0, rows from i on predicted 1.
    neg_before = np.concatenate([[0], np.cumsum(~y_sorted)])
    pos_from = np.concatenate([np.cumsum(y_sorted[::-1])[::-1], [0]])
    correct = neg_before + pos_from
    first = np.concatenate([[True], s_sorted[1:] != s_sorted[:-1]])  # a threshold splits between distinct values
    candidates = np.flatnonzero(np.concatenate([first, [True]]))
    best = candidates[np.argmax(correct[candidates])]
    return float(s_sorted[best]) if best < len(s_sorted) else float(s_sorted[-1] + 1)
