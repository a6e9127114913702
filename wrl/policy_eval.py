"""The policy evaluation's figures, intervals, report and figure: a base and a trained policy on the same prompts.

Each evaluated instruction (an :class:`EvalItem`) has one response per policy, verified by the rule verifiers
(strict and loose, per requirement) and scored by each judge (per requirement, and aggregated). From these,
per source of prompts (the test split, an IFEval file) and per cell (overall, each task category, each
requirement type):

- IFEval's four figures (:data:`wrl.verify.FIGURES`), exactly as :func:`wrl.verify.ifeval_figures` defines
  them: prompt-level, the share of responses that follow every verifiable requirement of theirs;
  instruction-level, the share of verifiable requirements followed (pooled over responses); by type, the
  instruction-level figures over that type's requirements and the prompt-level ones over the responses with a
  requirement of that type;
- each judge's mean score: overall and by category the mean over responses of the aggregated score, by type
  the mean per-requirement score over that type's requirements. A response a judge fails on (for either
  policy) is left out of that judge's figures for both, and counted;
- ``words``, the mean response length in words: the length baseline (a policy that keeps fewer requirements
  may simply write shorter, or longer, responses).

Every figure is a ratio of sums over instructions, ``sum x / sum d`` (``d`` = 1 per response, or the number
of requirements counted). The difference ``trained - base`` and both policies' figures get percentile
bootstrap 95% intervals from one resampling of the instructions per cell (pairs resampled together:
:func:`wrl.rm_metrics.percentile_bootstrap`), given where a cell has at least
:data:`wrl.weval.metrics.MIN_INTERVAL_GROUPS` instructions counting in that figure.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wrl.io import atomic_path
from wrl.verify import FIGURES
from wrl.weval.metrics import MIN_INTERVAL_GROUPS

POLICIES = ("base", "trained")
#: The length baseline's metric name.
WORDS = "words"
#: Metric names a judge may not take.
RESERVED = (*FIGURES, WORDS)
LABELS = {"prompt_strict": "prompt-level strict", "instruction_strict": "instruction-level strict",
          "prompt_loose": "prompt-level loose", "instruction_loose": "instruction-level loose",
          WORDS: "words per response (length baseline)"}
UNKNOWN_CATEGORY = "unknown"
DASH = "—"
FIGURE_METRIC = "instruction_strict"

_DPI = 100
_WIDTH_IN = 10.0
_BAND_IN = 0.42


@dataclass(frozen=True)
class PolicyResult:
    """One policy's response to one instruction, verified and judged.

    Attributes:
        response, finish_reason, words: the response, why it ended, its length in words.
        strict, loose: per requirement, the verifiers' verdict (None: no rule decides it).
        scores: judge -> the response's aggregated score, None where the judge failed.
        requirement_scores: judge -> per requirement scores (None where the judge has no view).
    """

    response: str
    finish_reason: str
    words: int
    strict: tuple[bool | None, ...]
    loose: tuple[bool | None, ...]
    scores: Mapping[str, float | None] = field(default_factory=dict)
    requirement_scores: Mapping[str, tuple[float | None, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class EvalItem:
    """One instruction both policies answered: where it comes from, its requirements, and each policy's result."""

    source: str
    id: str
    category: str | None
    prompt: str
    types: tuple[str, ...]
    texts: tuple[str, ...]
    results: Mapping[str, PolicyResult]


def metric_names(judges: Sequence[str]) -> list[str]:
    """The metrics in report order: IFEval's four figures, one per judge, then the length baseline."""
    return [*FIGURES, *judges, WORDS]


def _round(x: Any) -> float | None:
    x = float(x)
    return round(x, 6) + 0.0 if math.isfinite(x) else None  # + 0.0: no -0.0 in the metrics


# --- per-cell arrays ---------------------------------------------------------------------------------------------


def _terms(item: EvalItem, metrics: Sequence[str], rtype: str | None, policy: str) -> list[tuple[float, float]]:
    """``(x, d)`` of each metric for one response (its share of the cell's ``sum x / sum d``); a metric other than
    IFEval's figures and ``words`` is a judge's."""
    r = item.results[policy]
    scope = [j for j, t in enumerate(item.types) if rtype is None or t == rtype]
    verifiable = [j for j in range(len(item.types)) if r.strict[j] is not None]
    out = []
    for m in metrics:
        if m in ("prompt_strict", "prompt_loose"):
            verdicts = r.strict if m == "prompt_strict" else r.loose
            out.append((float(all(verdicts[j] for j in verifiable)), 1.0) if verifiable else (0.0, 0.0))
        elif m in ("instruction_strict", "instruction_loose"):
            verdicts = r.strict if m == "instruction_strict" else r.loose
            decided = [bool(verdicts[j]) for j in scope if r.strict[j] is not None]
            out.append((float(sum(decided)), float(len(decided))))
        elif m == WORDS:
            out.append((float(r.words), 1.0))
        elif any(item.results[p].scores.get(m) is None for p in POLICIES):
            out.append((0.0, 0.0))  # failed for one policy: out of both
        elif rtype is None:
            out.append((float(r.scores[m]), 1.0))
        else:
            values = [r.requirement_scores[m][j] for j in scope if r.requirement_scores[m][j] is not None]
            out.append((float(sum(values)), float(len(values))))
    return out


def cell_arrays(items: Sequence[EvalItem], metrics: Sequence[str], rtype: str | None = None) -> tuple[Any, ...]:
    """``(x_base, d_base, x_trained, d_trained)``, each (metrics, items): the numerators and denominators."""
    import numpy as np

    out = []
    for policy in POLICIES:
        terms = np.array([_terms(item, metrics, rtype, policy) for item in items],
                         dtype=np.float64).reshape(len(items), len(metrics), 2)
        out += [terms[:, :, 0].T.copy(), terms[:, :, 1].T.copy()]
    return tuple(out)


def _statistic(xb: Any, db: Any, xt: Any, dt: Any, axis: int = -1) -> Any:
    """Base figures, trained figures and their differences (3 x metrics values) from resampled sums."""
    import numpy as np

    with np.errstate(invalid="ignore", divide="ignore"):
        base = np.sum(xb, axis=axis) / np.sum(db, axis=axis)
        trained = np.sum(xt, axis=axis) / np.sum(dt, axis=axis)
    return np.concatenate([base, trained, trained - base], axis=0)


def cell_figures(items: Sequence[EvalItem], metrics: Sequence[str], *, rtype: str | None, seed: int, name: str,
                 resamples: int) -> dict[str, Any]:
    """One cell's figures: ``{"n", "counted": {metric: instructions}, "base", "trained", "difference"}``, each
    policy and the difference flat as ``{m, m_low, m_high}`` (None where undefined or too few instructions)."""
    import numpy as np

    from wrl.rm_metrics import percentile_bootstrap

    k = len(metrics)
    data = cell_arrays(items, metrics, rtype)
    counted = ((data[1] > 0) & (data[3] > 0)).sum(axis=1) if items else np.zeros(k, dtype=np.int64)
    value = _statistic(*data) if items else np.full(3 * k, np.nan)
    low, high = np.full(3 * k, np.nan), np.full(3 * k, np.nan)
    eligible = np.tile(counted >= MIN_INTERVAL_GROUPS, 3)
    if eligible.any():
        with warnings.catch_warnings():
            # A resample that draws no instruction counting in a figure leaves it NaN: out of the quantiles (scipy's
            # own interval, NaN then, is not used).
            warnings.simplefilter("ignore", RuntimeWarning)
            res = percentile_bootstrap(_statistic, data, seed=seed, name=name, resamples=resamples)
            dist = np.asarray(res.bootstrap_distribution).reshape(3 * k, -1)
            bounds = np.nanquantile(dist, [0.025, 0.975], axis=-1)
        low, high = np.where(eligible, bounds[0], np.nan), np.where(eligible, bounds[1], np.nan)
    out: dict[str, Any] = {"n": len(items), "counted": {m: int(c) for m, c in zip(metrics, counted, strict=True)}}
    for b, part in enumerate((*POLICIES, "difference")):
        cell: dict[str, float | None] = {}
        for i, m in enumerate(metrics):
            at = b * k + i
            cell |= {m: _round(value[at]), f"{m}_low": _round(low[at]), f"{m}_high": _round(high[at])}
        out[part] = cell
    return out


def types_in_order(types: set[str] | Sequence[str]) -> list[str]:
    """Requirement types in the taxonomy's order (a family's types together), unknown ones last by name."""
    from wrl.requirements import taxonomy

    order = {name: i for i, name in enumerate(taxonomy())}
    return sorted(set(types), key=lambda t: (order.get(t, len(order)), t))


def summarize(items: Sequence[EvalItem], judges: Sequence[str], *, seed: int, resamples: int) -> dict[str, Any]:
    """Every source's figures: overall, by task category and by requirement type (see the module docstring).

    Returns:
        ``{"metrics": [...], "judges": [...], "confidence": 0.95, "resamples": n, "sources": {source:
        {"overall": cell, "by_category": {category: cell}, "by_type": {type: cell}}}}`` with the cells of
        :func:`cell_figures`; sources in the order their items come.
    """
    metrics = metric_names(judges)
    sources: dict[str, Any] = {}
    for source in dict.fromkeys(item.source for item in items):
        mine = [item for item in items if item.source == source]

        def cell(subset: list[EvalItem], name: str, rtype: str | None = None, _source: str = source) -> dict:
            return cell_figures(subset, metrics, rtype=rtype, seed=seed, name=f"{_source}/{name}",
                                resamples=resamples)

        categories = sorted({item.category or UNKNOWN_CATEGORY for item in mine})
        types = types_in_order({t for item in mine for t in item.types})
        sources[source] = {
            "overall": cell(mine, "overall"),
            "by_category": {c: cell([i for i in mine if (i.category or UNKNOWN_CATEGORY) == c], f"category/{c}")
                            for c in categories},
            "by_type": {t: cell([i for i in mine if t in i.types], f"type/{t}", t) for t in types},
        }
    return {"metrics": metrics, "judges": list(judges), "confidence": 0.95, "resamples": resamples,
            "sources": sources}


def headline(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Per source, what ``dvc metrics show`` and ``dvc exp show`` get: the instructions counted, both policies'
    overall figures and the difference with its interval (the breakdowns are in the report's summary.json)."""
    out = {}
    for source, cells in summary["sources"].items():
        o = cells["overall"]
        out[source] = {"n": o["n"],
                       **{p: {m: o[p][m] for m in summary["metrics"]} for p in POLICIES},
                       "difference": o["difference"]}
    return out


# --- the report --------------------------------------------------------------------------------------------------


def fmt(value: Any, signed: bool = False, digits: int = 3) -> str:
    """A figure with ``digits`` decimals (``+`` before a positive difference when ``signed``); ``—`` if undefined."""
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        return DASH
    number = round(float(value), digits) + 0.0
    return f"{number:+.{digits}f}" if signed and number != 0 else f"{number:.{digits}f}"


def with_ci(cell: Mapping[str, Any], metric: str, signed: bool = False) -> str:
    """``value [low, high]``; ``value`` alone without an interval; ``—`` when undefined."""
    digits = 1 if metric == WORDS else 3
    value = fmt(cell.get(metric), signed, digits)
    if value == DASH:
        return DASH
    low, high = cell.get(f"{metric}_low"), cell.get(f"{metric}_high")
    if low is None or high is None:
        return value
    return f"{value} [{fmt(low, signed, digits)}, {fmt(high, signed, digits)}]"


def verdict(cell: Mapping[str, Any], metric: str) -> str:
    """Plain words for the difference: called only when its 95% interval excludes 0."""
    low, high = cell.get(f"{metric}_low"), cell.get(f"{metric}_high")
    if cell.get(metric) is None:
        return DASH
    if low is None or high is None:
        return "too few instructions to tell"
    more, less = ("trained longer", "trained shorter") if metric == WORDS else ("trained better", "base better")
    if low > 0:
        return more
    if high < 0:
        return less
    return "no clear difference"


def _label(metric: str, judges: Sequence[str]) -> str:
    return f"judge `{metric}`: mean score" if metric in judges else LABELS.get(metric, metric)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: Sequence[int] = (0,)) -> list[str]:
    rule = ["---" if i in left else "---:" for i in range(len(header))]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |",
            *("| " + " | ".join(row) + " |" for row in rows)]


def _breakdown(cells: Mapping[str, Any], metrics: Sequence[str], title: str, what: str) -> list[str]:
    if not cells:
        return []
    header = [what, "n"] + [f"{m} base → trained (Δ)" for m in metrics]
    rows = []
    for key, cell in cells.items():
        row = [f"`{key}`", str(cell["n"])]
        for m in metrics:
            digits = 1 if m == WORDS else 3
            row.append(f"{fmt(cell['base'][m], digits=digits)} → {fmt(cell['trained'][m], digits=digits)} "
                       f"({with_ci(cell['difference'], m, signed=True)})")
        rows.append(row)
    return [f"### {title}", "", *_table(header, rows), ""]


def _mark(value: bool | None) -> str:
    return "–" if value is None else ("✓" if value else "✗")


def _examples(items: Sequence[EvalItem], judges: Sequence[str], limit: int) -> list[str]:
    from wrl.weval.report import escape

    out = ["## Responses side by side", "",
           "Verifier verdicts per requirement (strict): ✓ followed, ✗ violated, – no rule decides it.", ""]
    for item in items[:limit]:
        base, trained = item.results["base"], item.results["trained"]
        out += [f"### `{item.source}` / `{item.id}` ({escape(item.category or UNKNOWN_CATEGORY)})", "",
                f"**Instruction.** {escape(item.prompt, 1200)}", ""]
        rows = [[escape(f"{t}: {x}", 160), _mark(base.strict[j]), _mark(trained.strict[j])]
                for j, (t, x) in enumerate(zip(item.types, item.texts, strict=True))]
        for judge in judges:
            rows.append([f"judge `{judge}`", fmt(base.scores.get(judge)), fmt(trained.scores.get(judge))])
        rows.append(["words (finish)", f"{base.words} ({base.finish_reason})",
                     f"{trained.words} ({trained.finish_reason})"])
        rows.append(["response", escape(base.response, 1500), escape(trained.response, 1500)])
        out += ["| | base | trained |", "|---|---|---|", *("| " + " | ".join(r) + " |" for r in rows), ""]
    return out


def render_markdown(summary: Mapping[str, Any], *, about: Mapping[str, Any], items: Sequence[EvalItem],
                    examples: int, figure: str | None) -> str:
    """The report: what was compared and how, per source the headline table with verdicts, the breakdowns by
    category and type, the figure, and ``examples`` instructions with both responses side by side."""
    metrics, judges = summary["metrics"], summary["judges"]
    lines = ["# Policy evaluation: base vs trained", "",
             f"Base policy: `{about['base']}` ({about['base_identity']}). Trained policy: `{about['trained']}` "
             f"({about['trained_identity']}).", "",
             f"Generation: {about['generation']}.", "",
             "Both policies answer the same held-out instructions. IFEval's four figures come from the rule "
             "verifiers (prompt-level: the share of responses following every verifiable requirement; "
             "instruction-level: the share of verifiable requirements followed; loose: also accepting the response "
             "with markdown asterisks or its first or last line removed). Each judge's figure is its mean score "
             "(overall: per response; by type: per requirement of that type). Words are the length baseline: a "
             "policy can gain on a judge by writing longer or shorter. Δ is trained − base; intervals are "
             f"percentile bootstrap {summary['confidence']:.0%} intervals over instructions (paired: both policies' "
             f"responses to an instruction are resampled together, {summary['resamples']:,} resamples), given for "
             f"figures counting at least {MIN_INTERVAL_GROUPS} instructions. A difference is called only when its "
             "interval excludes 0.", ""]
    skipped = about.get("skipped") or {}
    counts = ", ".join(f"{s}: {n:,}" for s, n in about["instructions"].items())
    skips = f"; skipped: {', '.join(f'{k} {v:,}' for k, v in skipped.items())}" if skipped else ""
    lines += [f"Instructions evaluated: {counts}{skips}.", ""]
    for source, cells in summary["sources"].items():
        o = cells["overall"]
        lines += [f"## `{source}`: {o['n']:,} instructions", ""]
        rows = [[_label(m, judges), with_ci(o["base"], m), with_ci(o["trained"], m),
                 with_ci(o["difference"], m, signed=True), verdict(o["difference"], m), f"{o['counted'][m]:,}"]
                for m in metrics]
        lines += _table(["figure", "base", "trained", "Δ trained − base", "verdict", "instructions counted"], rows,
                        left=(0, 4))
        lines.append("")
        lines += _breakdown(cells["by_category"], metrics, "By task category", "category")
        shown = [m for m in metrics if m in ("prompt_strict", "instruction_strict", *judges)]
        lines += _breakdown(cells["by_type"], shown, "By requirement type (instruction-level over the type's "
                            "requirements; prompt-level over the responses with one)", "type")
    if figure:
        lines += ["## Accuracy by requirement type", "", f"![instruction-level strict accuracy by type]({figure})",
                  ""]
    if examples and items:
        lines += _examples(items, judges, examples)
    return "\n".join(lines).rstrip() + "\n"


def render_figure(summary: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """A PNG of instruction-level strict accuracy by requirement type, base and trained with their intervals,
    one panel per source; deterministic bytes (no timestamp or software version, fixed size and resolution)."""
    import matplotlib
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = []
    for source, cells in summary["sources"].items():
        types = [t for t, c in cells["by_type"].items()
                 if c["base"][FIGURE_METRIC] is not None or c["trained"][FIGURE_METRIC] is not None]
        panels.append((source, types, cells["by_type"]))
    panels = panels or [("no source", [], {})]
    sizes = [max(len(types), 1) for _, types, _ in panels]
    with matplotlib.style.context("default"):
        fig = Figure(figsize=(_WIDTH_IN, 1.6 + 0.9 * len(panels) + _BAND_IN * sum(sizes)), dpi=_DPI,
                     layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(len(panels), 1, squeeze=False, height_ratios=sizes)[:, 0]
        styles = {"base": ("0.45", "o", -0.15), "trained": ("tab:blue", "s", 0.15)}
        for ax, (source, types, cells) in zip(axes, panels, strict=True):
            for policy, (color, marker, shift) in styles.items():
                xs, ys, lo, hi = [], [], [], []
                for i, t in enumerate(types):
                    c = cells[t][policy]
                    if c[FIGURE_METRIC] is None:
                        continue
                    v, low, high = c[FIGURE_METRIC], c[f"{FIGURE_METRIC}_low"], c[f"{FIGURE_METRIC}_high"]
                    xs.append(v)
                    ys.append(i + shift)
                    lo.append(max(v - low, 0.0) if low is not None else 0.0)
                    hi.append(max(high - v, 0.0) if high is not None else 0.0)
                ax.errorbar(xs, ys, xerr=[lo, hi], fmt=marker, color=color, markersize=5, elinewidth=1.2, capsize=2,
                            label=policy)
            ax.set_yticks(range(len(types)), [f"{t} (n={cells[t]['counted'][FIGURE_METRIC]})" for t in types])
            ax.set_ylim(len(types) - 0.5 if types else 0.5, -0.5)
            ax.set_xlim(-0.03, 1.03)
            ax.grid(axis="x", color="0.9")
            ax.set_title(f"{source}", fontsize=10, loc="left")
            if not types:
                ax.text(0.5, 0.0, "no verifiable requirement", ha="center", va="center")
        axes[-1].set_xlabel("instruction-level strict accuracy (share of the type's verifiable requirements "
                            "followed)\nbars: 95% bootstrap intervals over instructions (none under "
                            f"{MIN_INTERVAL_GROUPS} instructions)")
        fig.suptitle("Accuracy by requirement type: base vs trained policy", fontsize=11)
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=_DPI, metadata={"Software": None})
