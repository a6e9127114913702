"""WEval's ranking metrics pinned to hand-computed values, scipy, brute force over tie-breakings, and the summary."""

from __future__ import annotations

import itertools
import json
import math
import warnings

import numpy as np
import pyarrow as pa
import pytest
from scipy.stats import bootstrap, kendalltau, spearmanr

from wrl.rm_metrics import _rng
from wrl.weval.metrics import (
    METRICS,
    MIN_INTERVAL_GROUPS,
    TIES,
    mean_with_interval,
    paired_difference,
    ragged_rank_metrics,
    rank_metrics,
    summarize,
)


def one(gold, scores, ties="expected") -> dict[str, float]:
    return {k: float(v[0]) for k, v in rank_metrics([gold], [scores], ties).items()}


def approx(d: dict[str, float]) -> dict[str, float]:
    return {k: pytest.approx(v, abs=1e-12) for k, v in d.items()}


@pytest.mark.parametrize("n", [2, 3, 4, 5, 9])
@pytest.mark.parametrize("ties", TIES)
def test_perfect_judge_scores_one(n, ties):
    gold = list(range(n, 0, -1))
    assert one(gold, [0.1 * g for g in gold], ties) == approx(dict.fromkeys(METRICS, 1.0))


# Reversed judge: predicted positions n-1, ..., 0 against gold positions 0, ..., n-1.
#   n = 3: |d| = 2, 0, 2 -> mean 4/3, / (n - 1) = 2/3 -> position consistency 1/3
#   n = 4: |d| = 3, 1, 1, 3 -> mean 2, / 3 -> 1/3
#   n = 5: |d| = 4, 2, 0, 2, 4 -> mean 12/5, / 4 = 3/5 -> 2/5
@pytest.mark.parametrize(("n", "pc"), [(3, 1 / 3), (4, 1 / 3), (5, 2 / 5)])
@pytest.mark.parametrize("ties", TIES)
def test_reversed_judge(n, pc, ties):
    gold = list(range(n))
    assert one(gold, [-g for g in gold], ties) == approx(
        {"tau": -1.0, "rho": -1.0, "position_consistency": pc, "exact_match": 0.0})


# Constant judge: by default no credit and no penalty (tau, rho 0; exact match 1/n!; position consistency that of
# a random order, (2n - 1) / (3n): 5/9, 7/12, 9/15 for n = 3, 4, 5); the paper's tie-breaking gives it 1
# everywhere; the worst case ranks it exactly reversed.
@pytest.mark.parametrize("n", [3, 4, 5])
def test_constant_judge(n):
    gold = list(range(n))
    assert one(gold, [0.7] * n) == approx(
        {"tau": 0.0, "rho": 0.0, "position_consistency": (2 * n - 1) / (3 * n), "exact_match": 1 / math.factorial(n)})
    assert one(gold, [0.7] * n, "paper") == approx(dict.fromkeys(METRICS, 1.0))
    worst = one(gold, [0.7] * n, "worst")
    assert worst == approx(one(gold, [-g for g in gold]))
    assert worst["tau"] == -1.0 and worst["exact_match"] == 0.0


def test_worked_example_with_ties():
    # gold [3, 2, 1, 0] (positions 0, 1, 2, 3), scores [0.9, 0.5, 0.5, 0.1]: responses 1 and 2 tie.
    # tau-b: of the 6 pairs, 5 concordant, 0 discordant, 1 tied in the scores only (n2 = 1, n1 = 0):
    #   (5 - 0) / sqrt((6 - 0) * (6 - 1)) = 5 / sqrt(30) = 0.912871
    # rho: gold ranks 4, 3, 2, 1 and average score ranks 4, 2.5, 2.5, 1; centred: 1.5, .5, -.5, -1.5 and
    #   1.5, 0, 0, -1.5: sum of products 4.5, sums of squares 5 and 4.5: 4.5 / sqrt(22.5) = 0.948683
    # position consistency (expected): responses 1 and 2 each sit at position 1 or 2 with probability 1/2, so
    #   E|d| = 0, 1/2, 1/2, 0 -> mean 1/4, / (n - 1) = 1/12 -> 11/12 = 0.916667
    # exact match (expected): no discordant pair, one tie block of 2 in the right place half the time: 1/2
    assert one([3, 2, 1, 0], [0.9, 0.5, 0.5, 0.1]) == approx(
        {"tau": 5 / math.sqrt(30), "rho": 4.5 / math.sqrt(22.5), "position_consistency": 11 / 12,
         "exact_match": 0.5})
    # worst: the tie broken against gold, predicted positions 0, 2, 1, 3: one discordant pair of 6,
    #   tau (5 - 1) / 6 = 2/3; rho 1 - 6 * (1 + 1) / (4 * 15) = 0.8; PC 1 - (2/4) / 3 = 5/6; no exact match
    assert one([3, 2, 1, 0], [0.9, 0.5, 0.5, 0.1], "worst") == approx(
        {"tau": 2 / 3, "rho": 0.8, "position_consistency": 5 / 6, "exact_match": 0.0})
    # paper: the tie broken toward gold, the gold order itself
    assert one([3, 2, 1, 0], [0.9, 0.5, 0.5, 0.1], "paper") == approx(dict.fromkeys(METRICS, 1.0))


def test_paper_rounds_scores_to_three_decimals():
    # 0.50001 and 0.5004 are one score after rounding: the tie is broken toward gold
    assert one([1, 0], [0.50001, 0.5004], "paper")["tau"] == 1.0
    assert one([1, 0], [0.50001, 0.5004])["tau"] == -1.0


def random_groups(rng, groups, n, levels=3):
    gold = np.array([rng.permutation(n) for _ in range(groups)], dtype=float)
    return gold, rng.integers(0, levels, size=(groups, n)).astype(float)


@pytest.mark.parametrize("n", [2, 3, 5, 9])
def test_tau_and_rho_match_scipy_on_tied_groups(n):
    gold, scores = random_groups(np.random.default_rng(n), 300, n)
    m = rank_metrics(gold, scores)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # scipy warns on all-tied scores, where its tau is NaN and ours 0
        tau = np.nan_to_num([kendalltau(g, s).statistic for g, s in zip(gold, scores, strict=True)])
        rho = np.nan_to_num([spearmanr(g, s).statistic for g, s in zip(gold, scores, strict=True)])
    np.testing.assert_allclose(m["tau"], tau, atol=1e-12)
    np.testing.assert_allclose(m["rho"], rho, atol=1e-12)


def brute_force(gold, scores):
    """Every tie-breaking of the scores, equally likely: the mean metrics of the strict orders."""
    n = len(gold)
    gold_pos = np.argsort(np.argsort(-np.asarray(gold)))
    pcs, ems = [], []
    blocks = {}
    for i, s in enumerate(scores):
        blocks.setdefault(s, []).append(i)
    for perm in itertools.product(*[itertools.permutations(b) for b in blocks.values()]):
        tiebreak = np.empty(n)
        for block in perm:
            for rank, i in enumerate(block):
                tiebreak[i] = -rank
        order = sorted(range(n), key=lambda i: (-scores[i], -tiebreak[i]))
        pred = np.empty(n, dtype=int)
        pred[order] = np.arange(n)
        pcs.append(1 - np.abs(pred - gold_pos).mean() / (n - 1))
        ems.append(float((pred == gold_pos).all()))
    return np.mean(pcs), np.mean(ems)


@pytest.mark.parametrize("n", [3, 4, 6])
def test_expected_position_consistency_and_exact_match_equal_brute_force(n):
    gold, scores = random_groups(np.random.default_rng(10 + n), 40, n, levels=3)
    scores[0] = 1.0                    # a constant judge among them
    m = rank_metrics(gold, scores)
    for g in range(len(gold)):
        pc, em = brute_force(gold[g].tolist(), scores[g].tolist())
        assert m["position_consistency"][g] == pytest.approx(pc, abs=1e-12)
        assert m["exact_match"][g] == pytest.approx(em, abs=1e-12)


def test_strict_modes_break_ties_by_gold():
    # worst ranks a tie's lower-gold member first, paper its higher-gold member first: the same as nudging the
    # scores by a hair against / toward gold, which leaves no tie (the expected metrics of a strict order)
    gold, scores = random_groups(np.random.default_rng(5), 200, 5)
    for ties, nudge in (("worst", -1e-6), ("paper", 1e-6)):
        m = rank_metrics(gold, scores, ties)
        ref = rank_metrics(gold, scores + nudge * gold, "expected")
        for metric in METRICS:
            np.testing.assert_allclose(m[metric], ref[metric], atol=1e-12)
        # on a strict order tau is scipy's Kendall tau of the gold and the tie-broken scores
        np.testing.assert_allclose(m["tau"], [kendalltau(g, s).statistic for g, s in
                                              zip(gold, scores + nudge * gold, strict=True)], atol=1e-12)


def test_ragged_equals_per_size():
    rng = np.random.default_rng(1)
    sizes = rng.integers(2, 10, size=200)
    gold = np.concatenate([rng.permutation(n) for n in sizes]).astype(float)
    scores = rng.integers(0, 4, size=len(gold)).astype(float)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for ties in TIES:
        ragged = ragged_rank_metrics(sizes, gold, scores, ties)
        for g in range(len(sizes)):
            part = slice(starts[g], starts[g] + sizes[g])
            expected = one(gold[part], scores[part], ties)
            assert {m: ragged[m][g] for m in METRICS} == approx(expected)


def test_non_finite_scores_raise():
    with pytest.raises(ValueError, match="finite"):
        rank_metrics([[1, 0]], [[0.5, np.nan]])
    with pytest.raises(ValueError, match=r"groups \[1\]"):
        ragged_rank_metrics([2, 3], [1, 0, 2, 1, 0], [0.1, 0.2, 0.3, np.inf, 0.1])
    with pytest.raises(ValueError, match="distinct"):
        rank_metrics([[1, 1]], [[0.5, 0.4]])
    with pytest.raises(ValueError, match="ties"):
        rank_metrics([[1, 0]], [[0.5, 0.4]], "lenient")
    with pytest.raises(ValueError, match="at least 2"):
        ragged_rank_metrics([1, 2], [0, 1, 0], [0.1, 0.2, 0.3])


def test_bootstrap_is_deterministic_and_contains_the_value():
    values = np.random.default_rng(2).random((4, 300))
    a = mean_with_interval(values, seed=3, name="judge")
    assert a == mean_with_interval(values, seed=3, name="judge")
    assert a != mean_with_interval(values, seed=4, name="judge")
    for stat, row in zip(a, values, strict=True):
        assert stat["low"] < stat["value"] < stat["high"]
        assert stat["value"] == round(row.mean(), 6)
    # the interval is scipy's percentile bootstrap of the mean, from the same generator
    ref = bootstrap((values[0],), np.mean, vectorized=True, n_resamples=1000, method="percentile",
                    rng=_rng(3, "judge"))
    assert a[0]["low"] == pytest.approx(ref.confidence_interval.low, abs=1e-6)
    assert a[0]["high"] == pytest.approx(ref.confidence_interval.high, abs=1e-6)
    single = mean_with_interval(values[0], seed=3, name="judge")
    assert single == a[0]


def test_no_interval_under_the_minimum_groups():
    few = mean_with_interval(np.ones(MIN_INTERVAL_GROUPS - 1), seed=0, name="x")
    assert few == {"value": 1.0, "low": None, "high": None}
    assert mean_with_interval(np.zeros(0), seed=0, name="x") == {"value": None, "low": None, "high": None}


def test_paired_difference_of_a_judge_with_itself_is_zero():
    values = np.random.default_rng(4).random((4, 50))
    for stat in paired_difference(values, values, seed=0, name="a - a"):
        assert stat == {"value": 0.0, "low": 0.0, "high": 0.0, "a_better": 0.0}
    better = paired_difference(values[0] + 0.1, values[0], seed=0, name="b - a")
    assert better["value"] == pytest.approx(0.1) and better["a_better"] == 1.0


def per_group_table(rows):
    columns = {"judge": [], "group_id": [], "category": [], "group_size": [], "dropped_types": [],
               "dropped_families": []} | {m: [] for m in METRICS}
    for row in rows:
        for k, v in row.items():
            columns[k].append(v)
    return pa.table(columns)


def synthetic_rows(judges, groups, rng):
    rows = []
    for g in range(groups):
        n = int(rng.integers(2, 6))
        types = [f"t{int(t)}" for t in rng.integers(0, 4, size=n - 1)]
        for judge, skill in judges.items():
            if judge == "weak" and g % 10 == 0:
                continue                   # excluded groups
            rows.append({"judge": judge, "group_id": f"g{g:03d}", "category": f"c{g % 3}", "group_size": n,
                         "dropped_types": types, "dropped_families": [f"f{t[-1] > '1'}" for t in types],
                         "tau": skill + 0.1 * rng.standard_normal(), "rho": skill, "position_consistency": skill,
                         "exact_match": float(rng.random() < skill)})
    return rows


def test_summarize_structure_and_coverage():
    rng = np.random.default_rng(6)
    table = per_group_table(synthetic_rows({"strong": 0.8, "weak": 0.3}, 60, rng))
    summary = summarize(table, ties="expected", seed=1, resamples=200, compare=[("strong", "weak")],
                        excluded={"weak": {"nan_score": 6}, "absent": {"judge_failed": 60}})
    assert summary["ties"] == "expected" and summary["resamples"] == 200 and summary["confidence"] == 0.95
    assert list(summary["judges"]) == ["absent", "strong", "weak"]
    strong, weak, absent = (summary["judges"][j] for j in ("strong", "weak", "absent"))
    assert (strong["groups"], strong["coverage"], strong["excluded"]) == (60, 1.0, {})
    assert (weak["groups"], weak["coverage"], weak["excluded"]) == (54, 0.9, {"nan_score": 6})
    assert absent["groups"] == 0 and absent["coverage"] == 0.0 and absent["overall"]["tau"] is None
    assert absent["by_type"] == {}
    keys = {"n"} | {f"{m}{s}" for m in METRICS for s in ("", "_low", "_high")}
    assert set(strong["overall"]) == keys and strong["overall"]["n"] == 60
    assert list(strong["by_category"]) == ["c0", "c1", "c2"]
    assert sum(c["n"] for c in strong["by_category"].values()) == 60
    assert sum(c["n"] for c in strong["by_group_size"].values()) == 60
    assert list(strong["by_group_size"]) == sorted(strong["by_group_size"], key=int)
    # a group counts once per distinct dropped type
    distinct = sum(len(set(t)) for t in table.filter(pa.compute.equal(table["judge"], "strong"))
                   ["dropped_types"].to_pylist())
    assert sum(c["n"] for c in strong["by_type"].values()) == distinct
    assert list(strong["by_type"]) == sorted(strong["by_type"])
    o = strong["overall"]
    assert o["tau_low"] <= o["tau"] <= o["tau_high"] and o["rho"] == pytest.approx(0.8)
    for cell in strong["by_group_size"].values():
        assert (cell["tau_low"] is None) == (cell["n"] < MIN_INTERVAL_GROUPS)
    diff = summary["differences"]["strong - weak"]
    assert (diff["a"], diff["b"], diff["n"]) == ("strong", "weak", 54)
    assert diff["rho"] == pytest.approx(0.5) and diff["rho_a_better"] == 1.0
    assert diff["tau_low"] <= diff["tau"] <= diff["tau_high"]
    # deterministic, JSON-ready, and rounded
    again = summarize(table, ties="expected", seed=1, resamples=200, compare=[("strong", "weak")],
                      excluded={"weak": {"nan_score": 6}, "absent": {"judge_failed": 60}})
    assert json.dumps(summary, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert all(round(v, 6) == v for v in _floats(summary))


def _floats(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _floats(v)
    elif isinstance(obj, float):
        yield obj


def test_summarize_self_difference_and_bad_input():
    table = per_group_table(synthetic_rows({"j": 0.5}, 20, np.random.default_rng(7)))
    diff = summarize(table, seed=0, resamples=100, compare=[("j", "j")])["differences"]["j - j"]
    assert all(diff[k] == 0.0 for k in diff if k.startswith(METRICS) and not k.endswith("a_better"))
    with pytest.raises(ValueError, match="nobody|not among"):
        summarize(table, compare=[("j", "nobody")])
    with pytest.raises(ValueError, match="more than once"):
        summarize(pa.concat_tables([table, table.slice(0, 1)]))
    with pytest.raises(ValueError, match="lacks column"):
        summarize(table.drop_columns(["category"]))
    with pytest.raises(ValueError, match="finite"):
        summarize(table.set_column(table.schema.get_field_index("tau"), "tau",
                                   pa.array([np.nan] * len(table))))
