"""Stage ``weval_metrics``: how well each judge ranks the WEval groups, with intervals and every breakdown.

The cheap half of WEval: it reads the groups and the scores ``weval_judge`` saved and computes,
per judge and group, Kendall tau, Spearman rho, position consistency and exact match
(:mod:`wrl.weval.metrics`, ties by ``ties``), then macro averages with bootstrap 95% intervals,
paired differences between the reference judge and every other, and the breakdowns by task
category, type and family of the dropped requirements, and group size. A group in which a judge
failed on any response is left out of that judge's figures and counted by the failure's reason.

Outputs: the per-(judge, group) metrics (SQL view ``weval_group_metrics``), the summary as
metrics for ``dvc metrics show/diff`` and ``dvc exp show``, plot data by category and by type,
and a report directory (``weval.md``, its figure of tau by type per judge, and ``summary.json`` with every
breakdown).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from wrl.config import Section, param
from wrl.errors import DatasetError, ParamsError
from wrl.io import atomic_directory, read_table, write_json, write_table
from wrl.stage import Context, Paths, Port, Report, Stage, View
from wrl.weval import METRICS, TIES

STAGE_NAME = "weval_metrics"
GROUP_COLUMNS = ("group_id", "member", "gold", "group_size", "category", "group_dropped_types",
                 "group_dropped_families", "verified_order", "prompt", "response", "dropped_ids", "requirement_ids",
                 "requirement_types")
SCORE_COLUMNS = ("judge", "group_id", "member", "score", "failure")
REPORT_FILE = "weval.md"
FIGURE_FILE = "weval_tau_by_type.png"
SUMMARY_FILE = "summary.json"

GROUP_METRICS_SCHEMA = pa.schema([
    ("judge", pa.string()), ("group_id", pa.string()), ("category", pa.string()), ("group_size", pa.int32()),
    ("dropped_types", pa.list_(pa.string())), ("dropped_families", pa.list_(pa.string())),
    *((m, pa.float64()) for m in METRICS),
])


@dataclass(frozen=True)
class WevalMetricsConfig(Section):
    """Parameters of the ``weval_metrics`` stage: the tie rule, the groups counted, the intervals, the comparisons."""

    _key: ClassVar[str] = "weval_metrics"

    ties: str = param("expected", "Tied scores: expected (tau-b; position consistency and exact match as the "
                      "expectation over random tie-breaking: no credit for ties), worst (broken against the gold "
                      "order) or paper (rounded to 3 decimals and broken toward the gold order, as the paper's "
                      "scorer does: a constant judge scores 1).", choices=TIES)
    verified_only: bool = param(False, "Count only the groups whose verifier counts agree with the gold order "
                                "(groups whose dropped requirements are all verifiable).")
    reference: str | None = param("reward_model", "The judge compared with every other by a paired bootstrap "
                                  "(null: no comparison).")
    bootstrap_resamples: int = param(1000, "Resamples per 95% interval.", min=100, max=1_000_000)
    seed: int = param(0, "Seeds the bootstrap.", min=0)
    examples: int = param(3, "Groups shown with their responses in the report.", min=0, max=100)


def read_inputs(groups_path: Path, scores_path: Path) -> tuple[pa.Table, pa.Table]:
    groups, scores = read_table(groups_path), read_table(scores_path)
    for path, table, needed in ((groups_path, groups, GROUP_COLUMNS), (scores_path, scores, SCORE_COLUMNS)):
        missing = [c for c in needed if c not in table.column_names]
        if missing:
            raise DatasetError(f"{path}: no column {missing[0]!r} (the weval_judge stage writes it)")
    return groups, scores


def judge_groups(judge: str, groups: pa.Table, scores: pa.Table, ties: str) -> tuple[pa.Table, Counter]:
    """The judge's metrics per group it scored in full, and the groups left out, by reason."""
    import numpy as np

    from wrl.weval.metrics import ragged_rank_metrics

    mine = scores.filter(pc.equal(scores["judge"], judge))
    score_of = {(g, m): (s, f) for g, m, s, f in zip(mine["group_id"].to_pylist(), mine["member"].to_pylist(),
                                                     mine["score"].to_pylist(), mine["failure"].to_pylist(),
                                                     strict=True)}
    cols = {c: groups[c].to_pylist() for c in ("group_id", "member", "gold", "group_size")}
    members: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(cols["group_id"]):
        members[g].append(i)
    excluded: Counter = Counter()
    kept, gold, values, sizes = [], [], [], []
    for g, rows in members.items():
        found = [score_of.get((g, cols["member"][i])) for i in rows]
        if any(f is None for f in found):
            excluded["missing_score"] += 1
            continue
        failed = [f for s, f in found if s is None or not np.isfinite(s)]
        if failed:
            excluded[failed[0] or "non_finite_score"] += 1
            continue
        kept.append(rows[0])
        sizes.append(len(rows))
        gold += [cols["gold"][i] for i in rows]
        values += [s for s, _ in found]
    per_group = ragged_rank_metrics(np.array(sizes, dtype=np.int64), np.array(gold, dtype=np.float64),
                                    np.array(values, dtype=np.float64), ties) if kept else \
        {m: np.empty(0) for m in METRICS}
    index = pa.array(kept, pa.int64())
    table = pa.table({
        "judge": [judge] * len(kept), "group_id": groups["group_id"].take(index),
        "category": pc.fill_null(groups["category"].take(index), "unknown"),
        "group_size": groups["group_size"].take(index),
        "dropped_types": groups["group_dropped_types"].take(index),
        "dropped_families": groups["group_dropped_families"].take(index),
        **{m: pa.array(per_group[m], pa.float64()) for m in METRICS},
    }, schema=GROUP_METRICS_SCHEMA)
    return table, excluded


def headline(summary: dict[str, Any]) -> dict[str, Any]:
    """What ``dvc metrics show`` and ``dvc exp show`` get: each judge's overall figures and coverage, and the
    paired differences. The breakdowns are in the report's ``summary.json`` and the plot files (one column per
    cell would make ``dvc exp show`` unreadable)."""
    return {**{k: v for k, v in summary.items() if k not in ("judges", "differences")},
            "judges": {j: {k: v for k, v in cell.items() if not k.startswith("by_")}
                       for j, cell in summary["judges"].items()},
            "differences": summary["differences"]}


def examples_of(groups: pa.Table, scores: pa.Table, n: int) -> list[dict[str, Any]]:
    """The report's examples: the first ``n`` groups (by id) of the largest size, with every judge's scores."""
    if n == 0 or groups.num_rows == 0:
        return []
    largest = pc.max(groups["group_size"]).as_py()
    ids = sorted(set(groups.filter(pc.equal(groups["group_size"], largest))["group_id"].to_pylist()))[:n]
    score_of: dict[tuple[str, int], dict[str, float | None]] = defaultdict(dict)
    for j, g, m, s in zip(scores["judge"].to_pylist(), scores["group_id"].to_pylist(), scores["member"].to_pylist(),
                          scores["score"].to_pylist(), strict=True):
        if g in ids:
            score_of[(g, m)][j] = s
    out = []
    for g in ids:
        rows = groups.filter(pc.equal(groups["group_id"], g)).to_pylist()
        out.append({"group": g, "category": rows[0]["category"], "prompt": rows[0]["prompt"],
                    "responses": [{"gold": r["gold"], "response": r["response"],
                                   "dropped": [dict(zip(r["requirement_ids"], r["requirement_types"], strict=True))[x]
                                               for x in r["dropped_ids"]],
                                   "scores": score_of[(g, r["member"])]} for r in rows]})
    return out


def run(cfg: WevalMetricsConfig, paths: Paths, ctx: Context) -> Report:
    """Rank every WEval group with every judge's scores: metrics with intervals, breakdowns, comparisons, report."""
    from wrl.weval.metrics import summarize
    from wrl.weval.report import plot_rows, render_figure, render_markdown

    groups_path, scores_path = paths.inputs
    metrics_out, report_dir = paths.outputs
    groups, scores = read_inputs(Path(groups_path), Path(scores_path))
    n_all = len(set(groups["group_id"].to_pylist()))
    if cfg.verified_only:
        groups = groups.filter(pc.fill_null(groups["verified_order"], False))
    judges = list(dict.fromkeys(scores["judge"].to_pylist()))
    if cfg.reference is not None and cfg.reference not in judges:
        raise ParamsError(f"weval_metrics.reference: no judge {cfg.reference!r} in {scores_path} (judges: "
                          f"{', '.join(judges) or 'none'}); set it to one of them or to null")
    parts, excluded = [], {}
    for judge in judges:
        table, excluded[judge] = judge_groups(judge, groups, scores, cfg.ties)
        parts.append(table)
    per_group = pa.concat_tables(parts) if parts else GROUP_METRICS_SCHEMA.empty_table()
    n_groups = len(set(groups["group_id"].to_pylist()))
    compare = [(cfg.reference, j) for j in judges if j != cfg.reference] if cfg.reference else []
    summary = summarize(per_group, excluded=excluded, total_groups=n_groups, ties=cfg.ties, seed=cfg.seed,
                        resamples=cfg.bootstrap_resamples, compare=compare)
    summary["groups"] = {"total": n_all, "counted": n_groups, "verified_only": cfg.verified_only}
    write_table(per_group, metrics_out)
    if paths.metrics is not None:
        write_json({STAGE_NAME: headline(summary)}, paths.metrics)
    if paths.plots:
        write_json(plot_rows(summary, by="category"), paths.plots[0])
        write_json(plot_rows(summary, by="type"), paths.plots[1])
    with atomic_directory(report_dir) as tmp:
        write_json(summary, tmp / SUMMARY_FILE)
        render_figure(summary, tmp / FIGURE_FILE, order=judges)
        (tmp / REPORT_FILE).write_text(render_markdown(summary, figure=FIGURE_FILE, order=judges, examples=examples_of(
            groups, scores, cfg.examples)), encoding="utf-8")
    lines = [f"groups: {n_groups:,} of {n_all:,}" + (" (verified order only)" if cfg.verified_only else "")
             + f"; ties: {cfg.ties}"]
    for judge in judges:
        o = summary["judges"][judge]["overall"]
        tau = "n/a" if o.get("tau") is None else f"{o['tau']:+.3f}"
        ci = "" if o.get("tau_low") is None else f" [{o['tau_low']:+.3f}, {o['tau_high']:+.3f}]"
        lines.append(f"{judge:<16} tau {tau}{ci} over {o.get('n', 0):,} groups"
                     + (f"; excluded {dict(excluded[judge])}" if excluded[judge] else ""))
    return Report(STAGE_NAME, per_group.num_rows, per_group.num_rows, Counter(), paths.outputs, None, lines=lines)


STAGE = Stage(
    name=STAGE_NAME,
    config=WevalMetricsConfig,
    run=run,
    inputs=(Port("groups", "WEval groups (the weval_judge stage's output)."),
            Port("scores", "Judge scores (the weval_judge stage's output).")),
    outputs=(Port("group_metrics", "Per (judge, group): Kendall tau, Spearman rho, position consistency, exact "
                  "match."),
             Port("report", "The report directory: weval.md, its figure of tau by type per judge, and "
                  "summary.json (every breakdown).",
                  directory=True)),
    plots=(Port("by_category", "Kendall tau by task category, per judge"),
           Port("by_type", "Kendall tau by type of the dropped requirements, per judge")),
    rejects=False,
    views=(View("weval_group_metrics", "data/weval/group_metrics.parquet",
                "WEval metrics, one per (judge, group): judge, group_id, category, group_size, dropped_types, "
                "dropped_families, tau, rho, position_consistency, exact_match.", stage=STAGE_NAME),),
)
