"""WEval's report: the Markdown tables, the figure and the plot rows, from a realistic fake summary."""

from __future__ import annotations

import copy
import json
import random

import pytest

from wrl.weval import report
from wrl.weval.report import plot_rows, render_figure, render_markdown

JUDGES = {  # name: (mean tau, coverage)
    "reward_model": (0.55, 1.0), "llm_yes_no": (0.30, 0.97), "verifiers": (0.70, 0.42),
    "length": (0.10, 1.0), "shortness": (-0.10, 1.0), "random": (0.0, 1.0),
}
CATEGORIES = ("communication", "creative", "informative", "persuasive", "technical")
TYPES = ("length", "bullet_points", "json_format", "title", "keywords", "forbidden_words", "lowercase",
         "no_commas", "start_phrase", "postscript", "tone", "content_coverage")
METRICS = ("tau", "rho", "position_consistency", "exact_match")
TOTAL = 400


def _cell(rnd: random.Random, mean: float, n: int, interval: bool = True) -> dict:
    cell: dict = {"n": n}
    for metric in METRICS:
        base = mean if metric in ("tau", "rho") else (0.5 + mean / 2 if metric == "position_consistency" else
                                                      max(mean, 0) / 3)
        value = round(base + rnd.uniform(-0.1, 0.1), 6)
        width = round(rnd.uniform(0.05, 0.2), 6)
        cell[metric] = value
        cell[f"{metric}_low"] = round(value - width, 6) if interval else None
        cell[f"{metric}_high"] = round(value + width, 6) if interval else None
    return cell


def fake_summary(seed: int = 0) -> dict:
    """6 judges, 5 categories, 12 types; verifiers judge 42% of groups; cells with few groups lack intervals."""
    rnd = random.Random(seed)
    judges = {}
    for name, (mean, coverage) in JUDGES.items():
        groups = round(TOTAL * coverage)
        excluded = {}
        if name == "llm_yes_no":
            excluded = {"critic_unparsed": 8, "non_finite_score": 4}
        elif name == "verifiers":
            excluded = {"not_verifiable": TOTAL - groups}
        by_type = {}
        for i, t in enumerate(TYPES):
            if name == "verifiers" and t in ("tone", "content_coverage"):
                continue  # the verifiers have no view of style or content requirements
            n = 6 + 7 * i if name != "verifiers" else 3 + 2 * i
            by_type[t] = _cell(rnd, mean, n, interval=n >= 10)
        judges[name] = {
            "groups": groups, "coverage": round(coverage, 6), "excluded": excluded,
            "overall": _cell(rnd, mean, groups),
            "by_category": {c: _cell(rnd, mean, groups // 5) for c in CATEGORIES},
            "by_type": by_type,
            "by_family": {f: _cell(rnd, mean, groups // 3) for f in ("format", "length", "lexical")},
            "by_group_size": {"3": _cell(rnd, mean, groups // 4), "5": _cell(rnd, mean, groups - groups // 4)},
        }
    differences = {}
    for a, b in (("reward_model", "llm_yes_no"), ("reward_model", "length"), ("llm_yes_no", "random"),
                 ("length", "shortness")):
        differences[f"{a} - {b}"] = {"a": a, "b": b, "n": min(judges[a]["groups"], judges[b]["groups"]),
                                     **{k: v for k, v in _cell(rnd, 0.0, 0).items() if k != "n"}}
    # Pinned verdicts: clearly better, clearly worse, overlapping 0, no interval.
    differences["reward_model - llm_yes_no"].update(tau=0.25, tau_low=0.12, tau_high=0.38)
    differences["reward_model - length"].update(tau=-0.2, tau_low=-0.31, tau_high=-0.05)
    differences["llm_yes_no - random"].update(tau=0.04, tau_low=-0.03, tau_high=0.11)
    differences["length - shortness"].update(tau=0.5, tau_low=None, tau_high=None)
    return {"ties": "expected", "resamples": 1000, "confidence": 0.95, "judges": judges, "differences": differences}


@pytest.fixture
def summary() -> dict:
    return fake_summary()


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_report_structure_and_key_numbers(summary):
    text = render_markdown(summary, figure="weval_tau_by_type.png")
    for title in ("Judges", "Paired differences", "Kendall tau by task category",
                  "Kendall tau by type of the dropped requirements", "Kendall tau by group size", "Exclusions",
                  "Figure"):
        assert f"\n## {title}\n" in text
    assert text.startswith("# WEval")
    assert "**Ties: `expected`**" in text and "about 0" in text and "`weval.ties: paper`" in text
    assert "**Groups**: 400 in all; 100 of size 3, 300 of size 5." in text
    assert "1000 resamples" in text and "95% bootstrap intervals" in text
    main = _section(text, "Judges")
    rm = summary["judges"]["reward_model"]["overall"]
    assert (f"| `reward_model` | 400 (100.0%) | {rm['tau']:.3f} [{rm['tau_low']:.3f}, {rm['tau_high']:.3f}] | "
            f"{rm['rho']:.3f} [{rm['rho_low']:.3f}, {rm['rho_high']:.3f}] |") in main
    assert "| `verifiers` | 168 (42.0%) |" in main
    assert [line.split(" | ")[0] for line in main.splitlines() if line.startswith("| `")] == [
        f"| `{j}`" for j in JUDGES]  # the summary's order
    assert "![Kendall tau by requirement type per judge, with 95% intervals](weval_tau_by_type.png)" in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_breakdowns_have_every_key_judges_as_columns_and_dashes(summary):
    text = render_markdown(summary, figure=None)
    assert "## Figure" not in text and "![" not in text
    by_category = _section(text, "Kendall tau by task category")
    assert by_category.splitlines()[2] == ("| category | groups | `reward_model` | `llm_yes_no` | `verifiers` | "
                                           "`length` | `shortness` | `random` |")
    for category in report._keys(summary, "category"):
        assert f"\n| {category} | 80 |" in by_category
    by_type = _section(text, "Kendall tau by type of the dropped requirements")
    rows = [line for line in by_type.splitlines() if line.startswith("| `")]
    assert [row.split(" | ")[0][2:] for row in rows] == [f"`{t}`" for t in TYPES]  # taxonomy order
    tone = next(row for row in rows if row.startswith("| `tone`"))
    assert tone.split(" | ")[1] == "style"
    assert tone.rstrip(" |").split(" | ")[5] == "—"  # the verifiers have no tone group
    # a cell with too few groups for an interval: value, no interval, its own n where it differs
    cell = summary["judges"]["verifiers"]["by_type"]["length"]
    assert f"{cell['tau']:.3f} [—] (n=3)" in by_type
    assert "(n=" not in _section(text, "Kendall tau by task category").split("`verifiers`")[0]


def test_none_renders_as_dash(summary):
    summary["judges"]["random"]["overall"].update(rho=None, rho_low=None, rho_high=None, tau_low=None)
    text = render_markdown(summary, figure=None)
    row = next(line for line in _section(text, "Judges").splitlines() if line.startswith("| `random`"))
    cells = row.strip("|").split(" | ")
    tau = summary["judges"]["random"]["overall"]["tau"]
    assert cells[2].strip() == f"{tau:.3f} [—]" and cells[3].strip() == "—"
    assert report.fmt(None) == report.fmt(float("nan")) == report.fmt(float("inf")) == "—"
    assert report.fmt(-0.0001) == "0.000" and report.fmt(0.12345) == "0.123"
    assert report.fmt(0.2, signed=True) == "+0.200" and report.fmt(-0.0001, signed=True) == "0.000"


def test_verdicts_only_when_the_interval_excludes_zero(summary):
    table = _section(render_markdown(summary, figure=None), "Paired differences")
    lines = {line.split(" | ")[0]: line for line in table.splitlines() if line.startswith("| `")}
    assert "| +0.250 [+0.120, +0.380] | `reward_model` better |" in lines["| `reward_model` − `llm_yes_no`"]
    assert "| -0.200 [-0.310, -0.050] | `length` better |" in lines["| `reward_model` − `length`"]
    assert "| +0.040 [-0.030, +0.110] | no clear difference |" in lines["| `llm_yes_no` − `random`"]
    assert "| +0.500 [—] | too few common groups to tell |" in lines["| `length` − `shortness`"]
    assert "| `length` − `shortness` | 400 |" in table
    # an interval touching 0 is not a difference
    assert report.verdict("a", "b", {"tau_low": 0.0, "tau_high": 0.3}) == "no clear difference"


def test_paper_rule_is_explained_and_exclusions_listed(summary):
    summary["ties"] = "paper"
    text = render_markdown(summary, figure=None)
    assert "**Ties: `paper`**" in text and "toward the gold order" in text and "perfect 1" in text
    exclusions = _section(text, "Exclusions")
    assert "| judge | `critic_unparsed` | `non_finite_score` | `not_verifiable` | total |" in exclusions
    assert "| `llm_yes_no` | 8 | 4 | 0 | 12 |" in exclusions
    assert "| `verifiers` | 0 | 0 | 232 | 232 |" in exclusions
    assert "| `random` | 0 | 0 | 0 | 0 |" in exclusions


def test_markdown_is_deterministic_and_independent_of_json_round_trip_order(summary):
    order = list(JUDGES)
    stored = json.loads(json.dumps(summary, sort_keys=True))  # as metrics/weval_metrics.json gives it back
    assert render_markdown(summary, figure="f.png") == render_markdown(copy.deepcopy(summary), figure="f.png")
    assert render_markdown(stored, figure="f.png", order=order) == render_markdown(summary, figure="f.png")


def test_examples_are_escaped_for_tables(summary):
    examples = [{
        "group": "g7", "category": "creative", "prompt": "Write a poem | with *stars*\nand no commas.",
        "responses": [
            {"gold": 1, "dropped": ["no_commas", "length"], "response": "short | one\nsecond line",
             "scores": {"reward_model": 0.2, "length": 12.0}},
            {"gold": 3, "dropped": [], "response": "A poem <b>bold</b> with a pipe | and\r\nCRLF " + "x" * 300,
             "scores": {"reward_model": 0.9, "length": 40.0, "llm_yes_no": None}},
        ],
    }]
    text = render_markdown(summary, figure=None, examples=examples, excerpt_chars=60)
    section = _section(text, "Examples")
    assert "### Group g7 · creative" in section
    assert "> Write a poem \\| with \\*stars\\* and no commas." in section
    table = [line for line in section.splitlines() if line.startswith("| ")]
    assert table[0] == "| gold | dropped | response | `reward_model` | `llm_yes_no` | `length` |"
    assert table[2].startswith("| 3 | none | A poem \\<b\\>bold\\</b\\> with a pipe \\| and CRLF x")
    assert table[2].endswith("… | 0.900 | — | 40.000 |")
    assert table[3] == "| 1 | `no_commas`, `length` | short \\| one second line | 0.200 | — | 12.000 |"
    for line in table:  # every row has exactly the header's cells: no raw pipe or newline got through
        assert len(line.replace("\\|", "").split("|")) == len(table[0].split("|"))
    assert report.escape("a\u2028b\tc") == "a b c"


def test_plot_rows_sorted_and_complete(summary):
    rows = plot_rows(summary, by="type")
    assert len(rows) == len(TYPES) * len(JUDGES)  # every (judge, type), the verifiers' missing ones included
    assert rows == sorted(rows, key=lambda r: (r["type"], r["judge"]))
    assert set(rows[0]) == {"judge", "type", "tau", "tau_low", "tau_high", "n"}
    tone = next(r for r in rows if r["judge"] == "verifiers" and r["type"] == "tone")
    assert tone == {"type": "tone", "judge": "verifiers", "n": 0, "tau": None, "tau_low": None, "tau_high": None}
    cell = summary["judges"]["llm_yes_no"]["by_type"]["keywords"]
    assert {"type": "keywords", "judge": "llm_yes_no", "n": cell["n"], "tau": cell["tau"],
            "tau_low": cell["tau_low"], "tau_high": cell["tau_high"]} in rows
    by_category = plot_rows(summary, by="category")
    assert [(r["category"], r["judge"]) for r in by_category] == [
        (c, j) for c in CATEGORIES for j in sorted(JUDGES)]
    assert plot_rows(json.loads(json.dumps(summary, sort_keys=True)), by="category") == by_category
    with pytest.raises(ValueError, match="by must be one of"):
        plot_rows(summary, by="judge")


def test_figure_is_a_deterministic_png_written_atomically(summary, tmp_path):
    first, second = tmp_path / "a" / "weval_tau_by_type.png", tmp_path / "b.png"
    render_figure(summary, first)
    render_figure(copy.deepcopy(summary), second)
    data = first.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data == second.read_bytes()
    assert b"Software" not in data and b"matplotlib" not in data.lower()
    assert sorted(p.name for p in first.parent.iterdir()) == ["weval_tau_by_type.png"]  # no temporary left
    changed = copy.deepcopy(summary)
    changed["judges"]["reward_model"]["by_type"]["title"]["tau"] = -0.9
    render_figure(changed, second)
    assert second.read_bytes() != data


def test_figure_of_an_empty_summary(tmp_path):
    render_figure({"ties": "expected", "judges": {}, "differences": {}}, tmp_path / "empty.png")
    assert (tmp_path / "empty.png").read_bytes()[:4] == b"\x89PNG"
    text = render_markdown({"ties": "expected", "judges": {}, "differences": {}}, figure=None)
    assert "No pair of judges shares a judged group." in text and "Every judge scored every group." in text


def test_figure_ignores_the_users_matplotlib_settings(summary, tmp_path):
    import matplotlib

    render_figure(summary, tmp_path / "plain.png")
    with matplotlib.rc_context({"font.size": 22, "lines.linewidth": 5, "figure.dpi": 300}):
        render_figure(summary, tmp_path / "styled.png")
    assert (tmp_path / "plain.png").read_bytes() == (tmp_path / "styled.png").read_bytes()
