"""WEval's report: the Markdown tables, the figure of Kendall tau by requirement type, and the plot data.

Everything here reads the **summary** of :func:`wrl.weval.metrics.summarize` (the dict
``metrics/weval_metrics.json`` holds under ``weval_metrics``) and nothing else, so the report is
rebuilt from the metrics file alone:

- :func:`plot_rows`: one flat row per (judge, category) or (judge, type), for ``dvc plots show``;
- :func:`render_figure`: a PNG of Kendall tau by requirement type, one dot per judge with its
  bootstrap interval as an error bar;
- :func:`render_markdown`: the report (what WEval measures, the tie rule, the main table, paired
  differences with a verdict, breakdowns, exclusions, the figure, optional example groups).

All three are deterministic: the same summary gives the same rows, the same text and the same PNG
bytes (no timestamps, no software version in the PNG, fixed size and resolution). An undefined
value (``None``: no group in a cell, or too few for an interval) is written ``—``.

Example:
    >>> text = render_markdown(summary, figure="weval_tau_by_type.png")  # doctest: +SKIP
    >>> render_figure(summary, "reports/weval_tau_by_type.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from wrl.io import atomic_path

#: The per-group metrics of the summary, in the report's column order, with their names in the tables.
METRICS: dict[str, str] = {"tau": "Kendall tau", "rho": "Spearman rho", "position_consistency": "position consistency",
                           "exact_match": "exact match"}

#: The breakdowns of the summary, by the key ``plot_rows`` takes and the summary's key of each.
BREAKDOWNS: dict[str, str] = {"category": "by_category", "type": "by_type", "family": "by_family",
                              "group_size": "by_group_size"}

#: What each tie rule means, for the report's header.
TIE_RULES: dict[str, str] = {
    "expected": (
        "a tie earns no credit. Kendall tau is tau-b on the judge's scores as they are (a tied pair counts "
        "neither for nor against the judge), and position consistency and exact match are their expected values "
        "when tied scores are put in a random order. A judge that gives every response the same score gets a tau "
        "of about 0; under the paper's rule (`weval.ties: paper`) it would get a perfect 1."
    ),
    "worst": (
        "ties count against the judge: tied scores are put in the order opposite to the gold one, and every "
        "metric is computed on that order. A judge that gives every response the same score gets a tau of -1; "
        "use it to see how much of a judge's figure rests on ties."
    ),
    "paper": (
        "the paper's rule (its released `cal_corr.py`): tied scores are broken **toward the gold order**, so a "
        "tie earns full credit and a judge that gives every response the same score gets a perfect 1 on every "
        "metric. Use it only to compare with published numbers; the default rule (`expected`) gives ties no credit."
    ),
}

DASH = "—"
FIGURE_NAME = "weval_tau_by_type.png"

# The figure: fixed size per requirement type and resolution, so the same summary gives the same pixels.
_DPI = 100
_WIDTH_IN = 10.0
_BAND_IN = 0.75  # vertical space per requirement type
_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "<", ">", "h")


# --- reading the summary ----------------------------------------------------------------------------


def judge_names(summary: Mapping[str, Any], order: Sequence[str] | None = None) -> list[str]:
    """The judges in report order: ``order`` first (those it names that were judged), then the rest as stored."""
    judges = list(summary.get("judges", {}))
    first = [j for j in (order or ()) if j in judges]
    return first + [j for j in judges if j not in first]


def _number(value: Any) -> float | None:
    """A summary value as a float, None where undefined (None, NaN, infinite or not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _cells(summary: Mapping[str, Any], judge: str, by: str) -> Mapping[str, Mapping[str, Any]]:
    return summary["judges"][judge].get(BREAKDOWNS[by], {}) or {}


def _keys(summary: Mapping[str, Any], by: str) -> list[str]:
    """Every key of a breakdown over all judges, in the breakdown's order (group sizes numerically)."""
    keys = {k for judge in summary.get("judges", {}) for k in _cells(summary, judge, by)}
    if by == "group_size":
        return sorted(keys, key=lambda k: (int(k), k) if str(k).isdigit() else (math.inf, str(k)))
    if by == "type":
        return _types_by_family(keys)
    return sorted(keys)


def _family_of(name: str) -> str | None:
    from wrl.requirements import taxonomy

    info = taxonomy().get(name)
    return info.family if info else None


def _types_by_family(types: set[str] | Sequence[str]) -> list[str]:
    """Requirement types in the taxonomy's order (so a family's types stand together), unknown ones last by name."""
    from wrl.requirements import taxonomy

    order = {name: i for i, name in enumerate(taxonomy())}
    return sorted(types, key=lambda t: (order.get(t, len(order)), t))


def _groups_overview(summary: Mapping[str, Any]) -> tuple[int | None, dict[str, int], str | None]:
    """(total groups, groups by size, the judge the sizes were read from when not stored whole).

    The summary may hold ``groups`` and ``group_sizes`` itself; otherwise the total is the largest
    ``groups / coverage`` over the judges and the sizes are those of the judge with the widest coverage
    (exact when that judge judged every group).
    """
    judges = summary.get("judges", {})
    total = summary.get("groups")
    if not isinstance(total, int):
        estimates = [round(j["groups"] / j["coverage"]) for j in judges.values()
                     if _number(j.get("coverage")) and j.get("groups")]
        total = max(estimates) if estimates else None
    if isinstance(summary.get("group_sizes"), Mapping):
        sizes = {str(k): int(v) for k, v in summary["group_sizes"].items()}
        return total, dict(sorted(sizes.items(), key=lambda kv: _size_key(kv[0]))), None
    if not judges:
        return total, {}, None
    widest = max(judges, key=lambda j: (_number(judges[j].get("coverage")) or 0.0, j))
    cells = judges[widest].get("by_group_size", {}) or {}
    sizes = {str(k): int(v.get("n") or 0) for k, v in cells.items()}
    partial = widest if (_number(judges[widest].get("coverage")) or 0.0) < 1.0 else None
    return total, dict(sorted(sizes.items(), key=lambda kv: _size_key(kv[0]))), partial


def _size_key(size: str) -> tuple[float, str]:
    return (int(size), size) if size.isdigit() else (math.inf, size)


# --- plot data --------------------------------------------------------------------------------------


def plot_rows(summary: Mapping[str, Any], by: str = "category") -> list[dict[str, Any]]:
    """Flat rows for ``dvc plots show``: one per (judge, key) of a breakdown, sorted by key then judge.

    Args:
        summary: the summary of :func:`wrl.weval.metrics.summarize`.
        by: ``category`` or ``type`` (also ``family`` or ``group_size``).

    Returns:
        Rows ``{"judge", by, "tau", "tau_low", "tau_high", "n"}``; a judge with no group in a cell has a row
        with ``n`` 0 and ``None`` figures, so every (judge, key) is present.

    Example:
        >>> plot_rows({"judges": {"length": {"by_category": {"creative": {"n": 40, "tau": 0.1, "tau_low": -0.05,
        ...     "tau_high": 0.25}}}}}, by="category")
        [{'category': 'creative', 'judge': 'length', 'n': 40, 'tau': 0.1, 'tau_low': -0.05, 'tau_high': 0.25}]
    """
    if by not in BREAKDOWNS:
        raise ValueError(f"by must be one of {', '.join(BREAKDOWNS)}, got {by!r}")
    keys = _keys(summary, by)
    rows = []
    for key in sorted(keys):
        for judge in sorted(summary.get("judges", {})):
            cell = _cells(summary, judge, by).get(key, {})
            rows.append({by: key, "judge": judge, "n": int(cell.get("n") or 0),
                         **{f: _number(cell.get(f)) for f in ("tau", "tau_low", "tau_high")}})
    return rows


# --- the figure -------------------------------------------------------------------------------------


def render_figure(summary: Mapping[str, Any], path: str | os.PathLike[str], *,
                  order: Sequence[str] | None = None) -> None:
    """Write a PNG of Kendall tau by requirement type, one dot per judge with its interval, atomically.

    Types run top to bottom in the taxonomy's order (a family's types together, the family in the label);
    judges keep one colour and marker each, in :func:`judge_names` order; the x axis is fixed at [-1, 1]
    with a line at 0 (no agreement), so figures of two experiments compare at a glance. A dot without a
    bar has too few groups for an interval; a missing dot, no group at all. The bytes depend on the
    summary only (no timestamp, no software version, fixed size and resolution).

    Args:
        summary: the summary of :func:`wrl.weval.metrics.summarize`.
        path: the PNG to write.
        order: judges to draw first, in this order (default: the summary's order).
    """
    import matplotlib
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    judges = judge_names(summary, order)
    types = _keys(summary, "type")
    confidence = _number(summary.get("confidence")) or 0.95
    with matplotlib.style.context("default"):  # not the user's matplotlibrc
        height = 1.9 + _BAND_IN * max(len(types), 1) + 0.25 * math.ceil(len(judges) / 3)
        fig = Figure(figsize=(_WIDTH_IN, height), dpi=_DPI, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        colors = matplotlib.colormaps["tab10"].colors
        step = 0.8 / max(len(judges), 1)
        for j, judge in enumerate(judges):
            cells = _cells(summary, judge, "type")
            ys, xs, lo, hi, bare_ys, bare_xs = [], [], [], [], [], []
            for i, t in enumerate(types):
                cell = cells.get(t, {})
                tau = _number(cell.get("tau"))
                if tau is None:
                    continue
                y = i + (j - (len(judges) - 1) / 2) * step
                low, high = _number(cell.get("tau_low")), _number(cell.get("tau_high"))
                if low is None or high is None:
                    bare_ys.append(y)
                    bare_xs.append(tau)
                else:
                    ys.append(y)
                    xs.append(tau)
                    lo.append(max(tau - low, 0.0))
                    hi.append(max(high - tau, 0.0))
            color, marker = colors[j % len(colors)], _MARKERS[j % len(_MARKERS)]
            ax.errorbar(xs, ys, xerr=[lo, hi], fmt=marker, color=color, markersize=5, elinewidth=1.2, capsize=2,
                        label=judge)
            if bare_xs:
                ax.plot(bare_xs, bare_ys, marker, color=color, markersize=5, markerfacecolor="white")
        families = [_family_of(t) for t in types]
        shade, start = False, 0
        for i in range(1, len(types) + 1):  # one band per family, shaded every other family
            if i == len(types) or families[i] != families[i - 1]:
                if shade:
                    ax.axhspan(start - 0.5, i - 0.5, color="0.94", zorder=0, linewidth=0)
                shade, start = not shade, i
        ax.axvline(0.0, color="0.4", linewidth=1.0, linestyle="--", zorder=1)
        labels = [t if f in (None, t) else f"{t} ({f})" for t, f in zip(types, families, strict=True)]
        ax.set_yticks(range(len(types)), labels)
        ax.set_ylim(len(types) - 0.5 if types else 0.5, -0.5)
        ax.set_xlim(-1.05, 1.05)
        ax.set_xlabel("Kendall tau per group, macro average (−1: reversed, 0: no agreement, 1: the gold order)\n"
                      "hollow marker: too few groups for an interval; no marker: no group")
        if not types:
            ax.text(0.0, 0.0, "no requirement type has a judged group", ha="center", va="center")
        ax.set_title(f"WEval: Kendall tau by type of the dropped requirements, {confidence:.0%} bootstrap intervals"
                     f"\n{_tie_title(summary.get('ties'))}", fontsize=10)
        if judges:
            fig.legend(loc="outside lower center", ncol=min(len(judges), 3), frameon=False)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=_DPI, metadata={"Software": None})


def _tie_title(ties: Any) -> str:
    if ties == "paper":
        return "ties: paper (ties broken toward the gold order: a constant judge scores 1)"
    if ties == "worst":
        return "ties: worst (ties broken against the gold order: a constant judge scores -1)"
    if ties in TIE_RULES:
        return f"ties: {ties} (no credit for ties: a constant judge scores about 0)"
    return f"ties: {ties}"


# --- Markdown ---------------------------------------------------------------------------------------

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~&])")


def escape(text: Any, limit: int | None = None) -> str:
    """Text made safe for one Markdown table cell (or one line): whitespace runs (newlines included) become
    one space, Markdown's special characters (``|`` above all) are backslash-escaped; cut to ``limit`` chars.

    Example:
        >>> print(escape("a | b" + chr(10) + "*c*"))
        a \\| b \\*c\\*
    """
    text = " ".join(str(text).split())
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    return _SPECIAL.sub(r"\\\1", text)


def _code(name: Any) -> str:
    """A name (judge, type) as inline code, safe in a table cell."""
    text = " ".join(str(name).split())
    if "`" in text:
        return escape(text)
    return "`" + text.replace("|", "\\|") + "`"


def fmt(value: Any, signed: bool = False) -> str:
    """A figure with 3 decimals (``+`` before a positive difference when ``signed``); ``—`` where undefined."""
    number = _number(value)
    if number is None:
        return DASH
    number = round(number, 3) + 0.0  # no "-0.000"
    return f"{number:+.3f}" if signed and number != 0 else f"{number:.3f}"


def interval(cell: Mapping[str, Any], metric: str, signed: bool = False) -> str:
    """``value [low, high]``; ``value [—]`` without an interval; ``—`` when the value is undefined."""
    value = fmt(cell.get(metric), signed)
    if value == DASH:
        return DASH
    low, high = fmt(cell.get(f"{metric}_low"), signed), fmt(cell.get(f"{metric}_high"), signed)
    if DASH in (low, high):
        return f"{value} [{DASH}]"
    return f"{value} [{low}, {high}]"


def verdict(a: str, b: str, cell: Mapping[str, Any], metric: str = "tau") -> str:
    """Plain words for a paired difference ``a - b``: a judge is better only when the interval excludes 0."""
    low, high = _number(cell.get(f"{metric}_low")), _number(cell.get(f"{metric}_high"))
    if low is None or high is None:
        return "too few common groups to tell"
    if low > 0:
        return f"{_code(a)} better"
    if high < 0:
        return f"{_code(b)} better"
    return "no clear difference"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: Sequence[str] | None = None) -> list[str]:
    align = align or ["l"] + ["r"] * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |",
            *("| " + " | ".join(row) + " |" for row in rows)]


def _share(value: Any) -> str:
    number = _number(value)
    return DASH if number is None else f"{number:.1%}"


def _header(summary: Mapping[str, Any]) -> list[str]:
    ties = summary.get("ties")
    resamples, confidence = summary.get("resamples"), _number(summary.get("confidence")) or 0.95
    total, sizes, partial = _groups_overview(summary)
    rule = TIE_RULES.get(ties, "see the documentation of `weval.ties`.")
    size_text = ", ".join(f"{n:,} of size {s}" for s, n in sizes.items()) or DASH
    where = f" (sizes among the groups {_code(partial)} judged)" if partial else ""
    return [
        "# WEval: which judge ranks writing best",
        "",
        "Each group holds the responses to one instruction written under progressively fewer of its requirements "
        "(the test split's progressive variants: 0, 1, 2, … requirements dropped). The gold ranking puts the "
        "response that kept the most requirements first. Every judge scores every response against the full "
        "instruction's requirements; WEval compares the ranking its scores give with the gold ranking in each "
        "group and averages over groups. A judge that cannot score a group (a failure, a requirement it cannot "
        "verify) is not averaged over it: its coverage and exclusions are reported.",
        "",
        "- **Kendall tau** and **Spearman rho**: from −1 (the reverse of the gold order) through 0 (no "
        "agreement) to 1 (the gold order).",
        "- **Position consistency**: 1 − mean |predicted rank − gold rank| / (n − 1); 1 is the gold order.",
        "- **Exact match**: the share of groups ranked exactly in the gold order.",
        "",
        f"Figures are macro averages over groups with {confidence:.0%} bootstrap intervals "
        f"({resamples if resamples is not None else DASH} resamples); `{DASH}` marks a figure that is undefined "
        "(no group) or an interval left out (too few groups).",
        "",
        f"**Ties: `{ties}`**: {rule}",
        "",
        f"**Groups**: {total:,} in all; {size_text}{where}." if total is not None else f"**Groups**: {size_text}.",
    ]


def _main_table(summary: Mapping[str, Any], judges: Sequence[str]) -> list[str]:
    rows = []
    for judge in judges:
        entry = summary["judges"][judge]
        overall = entry.get("overall", {}) or {}
        rows.append([_code(judge), f"{int(entry.get('groups') or 0):,} ({_share(entry.get('coverage'))})",
                     *(interval(overall, m) for m in METRICS)])
    return ["## Judges", "", *_table(["judge", "groups judged (coverage)", *METRICS.values()], rows)]


def _differences(summary: Mapping[str, Any]) -> list[str]:
    differences = summary.get("differences") or {}
    lines = ["## Paired differences", ""]
    if not differences:
        return lines + ["No pair of judges shares a judged group."]
    lines += ["Each line compares two judges on the groups both judged (a paired bootstrap over those groups): "
              "a positive difference favours the first. The verdict reads the Kendall tau interval: a judge is "
              "called better only when the interval excludes 0.", ""]
    rows = []
    for name in sorted(differences):
        cell = differences[name]
        a, b = cell.get("a"), cell.get("b")
        if a is None or b is None:
            a, _, b = name.partition(" - ")
        rows.append([f"{_code(a)} − {_code(b)}", f"{int(cell.get('n') or 0):,}", interval(cell, "tau", True),
                     verdict(a, b, cell), *(interval(cell, m, True) for m in list(METRICS)[1:])])
    header = ["a − b", "common groups", "Kendall tau", "verdict (tau)", *list(METRICS.values())[1:]]
    return lines + _table(header, rows, ["l", "r", "r", "l", "r", "r", "r"])


def _breakdown(summary: Mapping[str, Any], judges: Sequence[str], by: str, title: str, label: str) -> list[str]:
    keys = _keys(summary, by)
    lines = [f"## {title}", ""]
    if by in ("type", "family"):
        lines += [f"A group counts once for each distinct {by} among its dropped requirements, so the groups of "
                  "this table add up to more than the number of groups.", ""]
    if not keys:
        return lines + ["No group to break down."]
    rows = []
    for key in keys:
        cells = [_cells(summary, judge, by).get(key) or {} for judge in judges]
        ns = [int(c.get("n") or 0) for c in cells]
        n = max(ns)
        shown = [interval(c, "tau") + ("" if k in (n, 0) else f" (n={k:,})") for c, k in zip(cells, ns, strict=True)]
        first = [_code(key)] if by == "type" else [escape(key)]
        if by == "type":
            first.append(escape(_family_of(key) or DASH))
        rows.append([*first, f"{n:,}", *shown])
    header = [label, *(["family"] if by == "type" else []), "groups", *(_code(j) for j in judges)]
    align = ["l", *(["l"] if by == "type" else []), "r", *(["r"] * len(judges))]
    return lines + _table(header, rows, align)


def _exclusions(summary: Mapping[str, Any], judges: Sequence[str]) -> list[str]:
    reasons = sorted({r for j in judges for r in (summary["judges"][j].get("excluded") or {})})
    lines = ["## Exclusions", ""]
    if not reasons:
        return lines + ["Every judge scored every group."]
    lines += ["Groups a judge could not rank, by reason (never averaged in).", ""]
    rows = []
    for judge in judges:
        excluded = summary["judges"][judge].get("excluded") or {}
        rows.append([_code(judge), *(f"{int(excluded.get(r, 0)):,}" for r in reasons),
                     f"{sum(int(v) for v in excluded.values()):,}"])
    return lines + _table(["judge", *(_code(r) for r in reasons), "total"], rows)


def _examples(examples: Sequence[Mapping[str, Any]], judges: Sequence[str], limit: int) -> list[str]:
    lines = ["## Examples", "",
             "A few groups, their responses in gold order (most requirements kept first) with each judge's score "
             "(higher is better; excerpts).", ""]
    for example in examples:
        title = " · ".join(escape(part) for part in (example.get("group"), example.get("category")) if part)
        lines += [f"### Group {title}" if title else "### Group", ""]
        if example.get("prompt"):
            lines += [f"> {escape(example['prompt'], 2 * limit)}", ""]
        responses = sorted(example.get("responses", ()), key=lambda r: -(_number(r.get("gold")) or 0.0))
        shown = [j for j in judges if any(j in (r.get("scores") or {}) for r in responses)]
        shown += sorted({j for r in responses for j in (r.get("scores") or {})} - set(shown))
        rows = []
        for r in responses:
            dropped = r.get("dropped") or ()
            scores = r.get("scores") or {}
            gold = _number(r.get("gold"))
            rows.append([DASH if gold is None else f"{gold:g}",
                         ", ".join(_code(d) for d in dropped) or "none", escape(r.get("response", ""), limit),
                         *(fmt(scores.get(j)) for j in shown)])
        lines += _table(["gold", "dropped", "response", *(_code(j) for j in shown)], rows,
                        ["r", "l", "l", *(["r"] * len(shown))])
        lines.append("")
    return lines[:-1]


def text_table(summary: Mapping[str, Any], order: Sequence[str] | None = None) -> str:
    """The judges' figures, then Kendall tau by type of the dropped requirements, as aligned plain text (for
    ``wrl weval score``)."""
    from wrl.weval import METRICS

    judges = judge_names(summary, order)
    rows = [["judge", "groups", *METRICS]]
    for judge in judges:
        cell = summary["judges"][judge]
        rows.append([judge, f"{cell.get('groups', 0):,} ({_share(cell.get('coverage'))})",
                     *(interval(cell.get("overall", {}), m) for m in METRICS)])
    lines = [_tie_title(summary.get("ties")), "", *_aligned(rows)]
    types = _keys(summary, "type")
    if types:
        rows = [["dropped type", *judges]]
        for key in types:
            rows.append([key, *(interval(_cells(summary, j, "type").get(key, {}), "tau") for j in judges)])
        lines += ["", "Kendall tau by type of the dropped requirements:", *_aligned(rows)]
    return "\n".join(lines)


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths,
                                                                                                  strict=True)))
            for row in rows]


def render_markdown(summary: Mapping[str, Any], *, figure: str | None,
                    examples: Sequence[Mapping[str, Any]] | None = None, order: Sequence[str] | None = None,
                    excerpt_chars: int = 160) -> str:
    """The WEval report as Markdown: deterministic text from the summary (and the examples) alone.

    Args:
        summary: the summary of :func:`wrl.weval.metrics.summarize`.
        figure: the figure's path relative to the report (e.g. ``weval_tau_by_type.png``), or None for none.
        examples: groups to show, each ``{"group": id, "category": str, "prompt": str, "responses": [{"gold":
            requirements kept, "dropped": [type, ...], "response": str, "scores": {judge: score}}]}``.
        order: judges to list first, in this order (default: the summary's order).
        excerpt_chars: characters kept of each response (the prompt gets twice as many).

    Returns:
        The report, ending with a newline.
    """
    judges = judge_names(summary, order)
    parts = [_header(summary), _main_table(summary, judges), _differences(summary),
             _breakdown(summary, judges, "category", "Kendall tau by task category", "category"),
             _breakdown(summary, judges, "type", "Kendall tau by type of the dropped requirements", "type"),
             _breakdown(summary, judges, "family", "Kendall tau by family of the dropped requirements", "family"),
             _breakdown(summary, judges, "group_size", "Kendall tau by group size", "group size")]
    if figure:
        parts.append(["## Figure", "", f"![Kendall tau by requirement type per judge, with "
                      f"{_number(summary.get('confidence')) or 0.95:.0%} intervals]({figure})"])
    parts.append(_exclusions(summary, judges))
    if examples:
        parts.append(_examples(examples, judges, excerpt_chars))
    return "\n\n".join("\n".join(p) for p in parts) + "\n"
