"""The weval_metrics stage and ``wrl weval score``: judges of known quality give their known figures, failures
are counted and never averaged in, the tie rule is the user's, and the paper's format is read strictly."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from wrl.cli import main
from wrl.errors import DatasetError, ParamsError
from wrl.judges import JudgeSpec, build_judge
from wrl.stage import Context
from wrl.stages.weval_judge import SCORES_SCHEMA
from wrl.stages.weval_metrics import STAGE, WevalMetricsConfig
from wrl.weval.groups import GROUPS_SCHEMA
from wrl.weval.paper import evaluate, read_paper_file

SIZES = [3, 4, 5] * 4  # 12 groups: enough for intervals (10)
CATEGORIES = ["creative", "technical"]


def write_groups_and_scores(tmp: Path, judges: dict, verified: bool | None = None) -> None:
    """12 groups; ``judges`` maps a name to ``f(group, member, gold) -> score | None`` (None: a failure)."""
    groups, scores = [], []
    for g, size in enumerate(SIZES):
        for member in range(size):
            gold = size - 1 - member
            groups.append({
                "group_id": f"g{g:02d}", "id": f"g{g:02d}", "category": CATEGORIES[g % 2], "language": "en",
                "group_size": size, "member": member, "gold": gold, "n_requirements": size - 1, "n_dropped": member,
                "variant_id": f"g{g:02d}/v{member}", "sample": 0, "dropped_ids": [f"r{j + 1}" for j in range(member)],
                "group_dropped_types": ["no_commas", "tone"][: 1 + g % 2],
                "group_dropped_families": ["mechanics", "style"][: 1 + g % 2],
                "requirement_ids": [f"r{j + 1}" for j in range(size - 1)],
                "requirement_types": ["no_commas" if j == 0 else "tone" for j in range(size - 1)],
                "prompt": f"prompt {g}", "variant_prompt": "p", "response": f"response {g}.{member}",
                "finish_reason": "stop", "verifier_followed": None,
                "verified_order": verified if verified is not None else g < 6,
            })
            for name, fn in judges.items():
                score = fn(g, member, gold)
                scores.append({"judge": name, "kind": "length", "group_id": f"g{g:02d}", "member": member,
                               "variant_id": f"g{g:02d}/v{member}", "score": score, "requirement_scores": [],
                               "failure": None if score is not None else "nothing_judged", "detail": None,
                               "settings": "{}"})
    pq.write_table(pa.Table.from_pylist(groups, schema=GROUPS_SCHEMA), tmp / "groups.parquet")
    pq.write_table(pa.Table.from_pylist(scores, schema=SCORES_SCHEMA), tmp / "scores.parquet")


JUDGES = {
    "perfect": lambda g, m, gold: float(gold),
    "reversed": lambda g, m, gold: -float(gold),
    "constant": lambda g, m, gold: 0.5,
    "partial": lambda g, m, gold: None if g == 0 else float(gold),  # fails on group 0
}


def run_metrics(tmp: Path, **cfg: object) -> dict:
    paths = STAGE.paths((tmp / "groups.parquet", tmp / "scores.parquet"), (tmp / "gm.parquet", tmp / "report"), None,
                        tmp / "metrics.json", (tmp / "by_category.json", tmp / "by_type.json"))
    STAGE.run(WevalMetricsConfig(**cfg), paths, Context(progress=False))
    return json.loads((tmp / "metrics.json").read_text())["weval_metrics"]


def test_known_judges_get_their_known_figures(tmp_path: Path) -> None:
    write_groups_and_scores(tmp_path, JUDGES)
    m = run_metrics(tmp_path, reference="perfect", bootstrap_resamples=200)
    overall = {j: m["judges"][j]["overall"] for j in JUDGES}
    assert overall["perfect"]["tau"] == overall["perfect"]["exact_match"] == 1.0
    assert overall["perfect"]["tau_low"] == overall["perfect"]["tau_high"] == 1.0
    assert overall["reversed"]["tau"] == -1.0 and overall["reversed"]["exact_match"] == 0.0
    assert overall["constant"]["tau"] == 0.0 and overall["constant"]["rho"] == 0.0
    # exact match of a constant judge = the mean over groups of 1/n! (n = 3, 4, 5)
    assert overall["constant"]["exact_match"] == pytest.approx((1 / 6 + 1 / 24 + 1 / 120) / 3, abs=1e-6)
    assert m["judges"]["partial"]["groups"] == 11 and m["judges"]["partial"]["excluded"] == {"nothing_judged": 1}
    assert m["judges"]["partial"]["coverage"] == pytest.approx(11 / 12, abs=1e-6)
    assert m["differences"]["perfect - constant"]["tau"] == 1.0
    assert m["differences"]["perfect - partial"]["n"] == 11
    assert "by_type" not in m["judges"]["perfect"]  # breakdowns live in the report's summary.json
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["judges"]["perfect"]["by_type"]["tone"]["n"] == 6
    assert summary["judges"]["perfect"]["by_group_size"]["4"]["n"] == 4
    report = (tmp_path / "report" / "weval.md").read_text()
    assert "`perfect` − `constant`" in report and (tmp_path / "report" / "weval_tau_by_type.png").stat().st_size
    rows = json.loads((tmp_path / "by_category.json").read_text())
    assert {(r["judge"], r["category"]) for r in rows} == {(j, c) for j in JUDGES for c in CATEGORIES}


def test_the_tie_rule_is_the_users(tmp_path: Path) -> None:
    write_groups_and_scores(tmp_path, {"constant": JUDGES["constant"]})
    for ties, tau in (("expected", 0.0), ("paper", 1.0), ("worst", -1.0)):
        m = run_metrics(tmp_path, ties=ties, reference=None, bootstrap_resamples=200)
        assert m["ties"] == ties and m["judges"]["constant"]["overall"]["tau"] == tau


def test_verified_only_counts_the_verified_groups(tmp_path: Path) -> None:
    write_groups_and_scores(tmp_path, {"perfect": JUDGES["perfect"]})
    m = run_metrics(tmp_path, verified_only=True, reference=None, bootstrap_resamples=200)
    assert m["groups"] == {"total": 12, "counted": 6, "verified_only": True}
    assert m["judges"]["perfect"]["groups"] == 6


def test_outputs_are_byte_identical_when_rerun(tmp_path: Path) -> None:
    write_groups_and_scores(tmp_path, JUDGES)
    files = ("gm.parquet", "metrics.json", "by_type.json", "report/weval.md", "report/weval_tau_by_type.png",
             "report/summary.json")
    run_metrics(tmp_path, reference="perfect", bootstrap_resamples=200)
    first = [(tmp_path / f).read_bytes() for f in files]
    run_metrics(tmp_path, reference="perfect", bootstrap_resamples=200)
    assert first == [(tmp_path / f).read_bytes() for f in files]


def test_an_unknown_reference_judge_is_named(tmp_path: Path) -> None:
    write_groups_and_scores(tmp_path, {"perfect": JUDGES["perfect"]})
    with pytest.raises(ParamsError, match="no judge 'reward_model'"):
        run_metrics(tmp_path)


# --- the paper's format -----------------------------------------------------------------------------


def paper_rows(groups: int, size: int, response=lambda g, k: "word " * (10 - 2 * k)) -> list[dict]:
    constraints = [f"Constraint {j}." for j in range(size - 1)]
    return [{"prompt": f"instruction {g}", "constraint": constraints, "chosen": response(g, k),
             "instruction_id_list": [f"c{j}" for j in range(k)]} for g in range(groups) for k in range(size)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_paper_file_scored_by_a_judge(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "weval.jsonl", paper_rows(12, 5))
    length = build_judge("length", JudgeSpec(kind="length"))
    summary = evaluate(path, 5, length, resamples=200, out=tmp_path / "rows.parquet")
    assert summary["judges"]["length"]["overall"]["tau"] == 1.0 and summary["groups"]["total"] == 12
    rows = pq.read_table(tmp_path / "rows.parquet")
    assert rows.num_rows == 60 and rows["gold"].to_pylist()[:5] == [5, 4, 3, 2, 1]
    same = write_jsonl(tmp_path / "same.jsonl", paper_rows(12, 5, response=lambda g, k: "same length"))
    assert evaluate(same, 5, length, resamples=200)["judges"]["length"]["overall"]["tau"] == 0.0
    assert evaluate(same, 5, length, ties="paper", resamples=200)["judges"]["length"]["overall"]["tau"] == 1.0


def test_wrl_weval_score_cli(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "weval.jsonl", paper_rows(12, 3))
    result = CliRunner().invoke(main, ["weval", "score", str(path), "--group-size", "3", "--judge", "length",
                                       "--json", "--resamples", "200"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["judge"] == "length" and out["tau"] == 1.0 and out["n"] == 12
    result = CliRunner().invoke(main, ["weval", "score", str(path), "--group-size", "3", "--judge", "shortness",
                                       "--resamples", "200"])
    assert result.exit_code == 0 and "shortness" in result.output and "-1.000" in result.output
    result = CliRunner().invoke(main, ["weval", "score", str(path), "--group-size", "3", "--judge", "nobody"])
    assert result.exit_code == 2 and "no judge 'nobody'" in result.output


@pytest.mark.parametrize(("rows", "size", "message"), [
    (paper_rows(2, 3)[:-1], 3, "5 rows are not groups of 3: the last group \\(from row 3\\) has 2 row"),
    (paper_rows(1, 3)[:1] + paper_rows(1, 3)[:2], 3, "row 1: a second member with 0 dropped .* no member has 2 "
                                                       "dropped: is a member missing"),
    ([{**r, "constraint": ["other"]} if i == 4 else r for i, r in enumerate(paper_rows(2, 3))], 3,
     "row 4: its 'constraint' list differs from row 3's"),
    (paper_rows(1, 4), 3, "rows are not groups of 3"),
    ([{**r, "instruction_id_list": ["a", "b", "c"]} if i == 2 else r for i, r in enumerate(paper_rows(1, 3))], 3,
     "row 2: 3 constraints dropped, but a group of 3 holds 0 to 2"),
    ([{k: v for k, v in r.items() if k != "chosen"} for r in paper_rows(1, 3)], 3, "no column 'chosen'"),
])
def test_paper_file_errors_name_the_row(tmp_path: Path, rows: list[dict], size: int, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        read_paper_file(write_jsonl(tmp_path / "bad.jsonl", rows), size)


def test_paper_constraints_are_typed_for_the_verifiers(tmp_path: Path) -> None:
    members = (("no commas here", []), ("a, b", ["c0"]), ("x, y", ["c0", "c1"]))
    rows = [{"prompt": "p", "constraint": ["Do not use any commas.", "Use a humorous tone."], "chosen": text,
             "instruction_id_list": ids} for text, ids in members]
    groups = read_paper_file(write_jsonl(tmp_path / "v.jsonl", rows), 3)
    assert [r.type for r in groups.items[0].requirements] == ["no_commas", "tone"]


def test_wrl_weval_score_with_a_judge_behind_a_server(tmp_path: Path, tiny_reward_model: Path) -> None:
    from wrl.reward_model import RewardModel
    from wrl.serve import RewardServer, ServerSettings

    path = write_jsonl(tmp_path / "weval.jsonl", paper_rows(4, 3))
    rm = RewardModel.load(tiny_reward_model, device="cpu")
    local = build_judge("local", JudgeSpec(kind="reward_model", model=str(tiny_reward_model), device="cpu"))
    expected = evaluate(path, 3, local, resamples=200)["judges"]["local"]["overall"]
    server = RewardServer(rm, ServerSettings(port=0, max_wait_ms=1)).start()
    try:
        for protocol in ("predict", "native"):
            result = CliRunner().invoke(main, ["weval", "score", str(path), "--group-size", "3", "--url", server.url,
                                               "--protocol", protocol, "--json", "--resamples", "200"])
            assert result.exit_code == 0, result.output
            out = json.loads(result.output)
            assert out["judge"] == "http" and out["tau"] == expected["tau"] and out["n"] == 4
    finally:
        server.close()
