"""WEval's groups and judges: every test-split rollout row grouped or rejected with its reason, every judge on the
same items, settings saved, bad judges refused before any work."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wrl.config import params_from_dict
from wrl.errors import ModelError, ParamsError
from wrl.judges import JudgeItem, JudgeSpec, build_judge, judgment
from wrl.requirements import Requirement
from wrl.stage import Context
from wrl.stages.weval_judge import STAGE, WevalJudgeConfig

TEXTS = {"no_commas": "Do not use any commas.", "lowercase": "Write in all lowercase letters.",
         "tone": "Use a humorous tone.", "word_count": "Answer in at least 40 words."}
PARAMS = {"word_count": {"relation": "at least", "num_words": 40}}


def requirement_struct(rid: str, rtype: str) -> dict:
    return {"id": rid, "type": rtype, "family": "x", "start": None, "end": None, "text": TEXTS[rtype],
            "params": json.dumps(PARAMS.get(rtype, {})), "verifiable": rtype != "tone", "source": "text"}


def write_inputs(tmp: Path, instructions: dict[str, list[str]], rollouts: list[dict], split: str = "test") -> Path:
    """parsed.parquet from ``{id: [type, ...]}`` and one rollout shard from ``rollouts``."""
    parsed = pa.table({
        "id": list(instructions), "prompt": [f"Write about {i}. " + " ".join(TEXTS[t] for t in ts)
                                              for i, ts in instructions.items()],
        "requirements": [[requirement_struct(f"r{j + 1}", t) for j, t in enumerate(ts)]
                         for ts in instructions.values()],
        "split": [split] * len(instructions), "category": ["creative"] * len(instructions),
        "language": ["en"] * len(instructions),
    })
    pq.write_table(parsed, tmp / "parsed.parquet")
    (tmp / "rollouts").mkdir()
    rows = [{"split": split, "sample": 0, "finish_reason": "stop", **r} for r in rollouts]
    for r in rows:
        r.setdefault("prompt", "variant prompt")
        r.setdefault("kept_ids", [])
    pq.write_table(pa.Table.from_pylist(rows), tmp / "rollouts" / "shard-00000.parquet")
    return tmp


def progressive(iid: str, n: int, responses: list[str], drops: list[int] | None = None) -> list[dict]:
    """Rollout rows of the progressive variants of an instruction with ``n`` requirements."""
    ids = [f"r{j + 1}" for j in range(n)]
    return [{"id": iid, "variant_id": f"{iid}/v{d}", "dropped_ids": ids[:d], "kept_ids": ids[d:],
             "response": responses[k]} for k, d in enumerate(drops if drops is not None else range(n + 1))]


def run_stage(tmp: Path, **cfg: object):
    paths = STAGE.paths((tmp / "rollouts", tmp / "parsed.parquet"), (tmp / "groups.parquet", tmp / "scores.parquet"),
                        tmp / "rejects.parquet", tmp / "metrics.json")
    report = STAGE.run(WevalJudgeConfig(**cfg), paths, Context(progress=False))
    return report, pq.read_table(tmp / "groups.parquet"), pq.read_table(tmp / "scores.parquet"), \
        pq.read_table(tmp / "rejects.parquet"), json.loads((tmp / "metrics.json").read_text())["weval_judge"]


BASELINES = {"verifiers": {"kind": "verifiers"}, "length": {"kind": "length"},
             "shortness": {"kind": "length", "reverse": True}, "random": {"kind": "random", "seed": 3}}


def test_groups_every_row_grouped_or_rejected_with_its_reason(tmp_path: Path) -> None:
    rollouts = (progressive("a", 2, ["no commas here", "one, comma", "a, b, c"])
                + progressive("b", 1, ["x", "y"])                                   # too few requirements
                + progressive("c", 2, ["p", "q"], drops=[0, 2])                     # member with 1 dropped missing
                + progressive("d", 3, ["s", "t", "u", "v"])
                + [{"id": "d", "variant_id": "d/dup", "dropped_ids": ["r1"], "kept_ids": ["r2", "r3"],
                    "response": "again"}]                                           # second response to d's v1
                + [{"id": "zzz", "variant_id": "zzz/v0", "dropped_ids": [], "kept_ids": ["r1"], "response": "?"}])
    write_inputs(tmp_path, {"a": ["no_commas", "lowercase"], "b": ["tone"], "c": ["no_commas", "tone"],
                            "d": ["tone", "no_commas", "lowercase"]}, rollouts)
    report, groups, scores, rejects, metrics = run_stage(tmp_path, judges=BASELINES)
    assert report.rows_in == len(rollouts) == groups.num_rows + rejects.num_rows
    assert sorted(rejects["reason_kind"].to_pylist()) == sorted(["too_few_requirements"] * 2 + ["incomplete_group"] * 2
                                                      + ["duplicate_member", "unknown_instruction"])
    missing = [r for r in rejects.to_pylist() if r["reason_kind"] == "incomplete_group"]
    assert all("1 requirement(s) dropped" in r["reason"] for r in missing)
    assert groups["group_id"].to_pylist() == ["a"] * 3 + ["d"] * 4
    assert groups["gold"].to_pylist() == [2, 1, 0, 3, 2, 1, 0]
    assert groups["member"].to_pylist() == [0, 1, 2, 0, 1, 2, 3]
    assert groups.filter(pa.compute.equal(groups["group_id"], "d"))["group_dropped_types"][0].as_py() == \
        ["lowercase", "no_commas", "tone"]
    assert metrics["groups"]["total"] == 2 and metrics["groups"]["by_size"] == {"3": 1, "4": 1}
    assert scores.num_rows == 4 * groups.num_rows
    assert set(scores["judge"].to_pylist()) == set(BASELINES)


def test_group_size_takes_the_first_variants(tmp_path: Path) -> None:
    write_inputs(tmp_path, {"d": ["tone", "no_commas", "lowercase"]}, progressive("d", 3, ["s", "t", "u", "v"]))
    _, groups, _, rejects, _ = run_stage(tmp_path, group_size=3, judges=BASELINES)
    assert groups["n_dropped"].to_pylist() == [0, 1, 2]
    assert rejects["reason_kind"].to_pylist() == ["beyond_group_size"]


def test_variants_that_are_not_progressive_are_rejected(tmp_path: Path) -> None:
    rows = progressive("a", 2, ["x", "y", "z"])
    rows[1]["dropped_ids"], rows[1]["kept_ids"] = ["r2"], ["r1"]  # any order of drops, as long as each adds one
    ok_dir = tmp_path / "ok"
    ok_dir.mkdir()
    write_inputs(ok_dir, {"a": ["no_commas", "lowercase"]}, rows)
    _, groups, _, rejects, _ = run_stage(ok_dir, judges=BASELINES)
    assert groups.num_rows == 3  # {r2} is inside {r1, r2}: still progressive
    bad = progressive("a", 3, ["x", "y", "z", "w"])
    bad[2]["dropped_ids"], bad[2]["kept_ids"] = ["r2", "r3"], ["r1"]  # does not contain v1's r1
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    write_inputs(bad_dir, {"a": ["no_commas", "lowercase", "tone"]}, bad)
    _, groups, _, rejects, _ = run_stage(bad_dir, judges=BASELINES)
    assert groups.num_rows == 0 and set(rejects["reason_kind"].to_pylist()) == {"not_progressive"}


def test_other_splits_are_not_read(tmp_path: Path) -> None:
    write_inputs(tmp_path, {"a": ["no_commas", "lowercase"]}, progressive("a", 2, ["x", "y", "z"]), split="train")
    report, groups, _, rejects, metrics = run_stage(tmp_path, judges=BASELINES)
    assert (report.rows_in, groups.num_rows, rejects.num_rows) == (0, 0, 0)
    assert metrics["responses"]["other_splits_or_samples"] == 3


def test_verifier_order_where_every_dropped_requirement_is_verifiable(tmp_path: Path) -> None:
    write_inputs(tmp_path, {"good": ["no_commas", "lowercase"], "bad": ["no_commas", "lowercase"],
                            "tone": ["tone", "no_commas"]},
                 progressive("good", 2, ["all lowercase no commas", "has, a comma", "Has, Comma"])
                 + progressive("bad", 2, ["Has, Comma", "lowercase", "all lowercase"])
                 + progressive("tone", 2, ["a", "b", "c"]))
    _, groups, scores, _, metrics = run_stage(tmp_path, judges=BASELINES)
    by_group = {g: (f, v) for g, f, v in zip(groups["group_id"].to_pylist(), groups["verifier_followed"].to_pylist(),
                                            groups["verified_order"].to_pylist(), strict=True)}
    assert by_group["good"] == (0, True) and by_group["bad"] == (2, False) and by_group["tone"] == (None, None)
    assert groups.filter(pa.compute.equal(groups["group_id"], "good"))["verifier_followed"].to_pylist() == [2, 1, 0]
    assert metrics["groups"]["verifiable"] == 2 and metrics["groups"]["verified_order"] == 1


def test_baseline_judges(tmp_path: Path) -> None:
    write_inputs(tmp_path, {"a": ["tone", "no_commas"], "t": ["tone", "tone"]},
                 progressive("a", 2, ["a long response here", "short, one", "x"])
                 + progressive("t", 2, ["a", "b", "c"]))
    _, groups, scores, _, metrics = run_stage(tmp_path, judges=BASELINES)
    rows = {(r["judge"], r["group_id"], r["member"]): r for r in scores.to_pylist()}
    assert [rows[("length", "a", m)]["score"] for m in range(3)] == [17.0, 9.0, 1.0]
    assert [rows[("shortness", "a", m)]["score"] for m in range(3)] == [-17.0, -9.0, -1.0]
    assert rows[("verifiers", "a", 0)]["requirement_scores"] == [None, 1.0]
    assert rows[("verifiers", "a", 1)]["score"] == 0.0
    assert rows[("verifiers", "t", 0)]["score"] is None and rows[("verifiers", "t", 0)]["failure"] == "nothing_judged"
    assert metrics["judges"]["verifiers"]["failed"] == {"nothing_judged": 3}
    random = [rows[("random", g, m)]["score"] for g in "at" for m in range(3)]
    assert all(0 <= s < 1 for s in random) and len(set(random)) == 6
    assert json.loads(rows[("random", "a", 0)]["settings"]) == {"kind": "random", "aggregate": "mean", "seed": 3}


def test_outputs_are_byte_identical_when_rerun(tmp_path: Path) -> None:
    write_inputs(tmp_path, {"a": ["no_commas", "lowercase"]}, progressive("a", 2, ["x y", "x, y", "X, Y"]))
    run_stage(tmp_path, judges=BASELINES)
    first = [(tmp_path / f).read_bytes() for f in ("groups.parquet", "scores.parquet", "metrics.json")]
    run_stage(tmp_path, judges=BASELINES)
    assert first == [(tmp_path / f).read_bytes() for f in ("groups.parquet", "scores.parquet", "metrics.json")]


ITEMS = [JudgeItem("k1", "Write a poem about rain.", "a poem about rain", (
    Requirement("r1", "tone", None, None, "Use a humorous tone."),
    Requirement("r2", "no_commas", None, None, "Do not use any commas."))),
    JudgeItem("k2", "Write a poem about rain.", "the city, the river", (
        Requirement("r1", "tone", None, None, "Use a humorous tone."),))]


def test_reward_model_judge_scores_as_the_reward_model(tiny_reward_model: Path) -> None:
    from wrl.reward_model import RewardModel

    judge = build_judge("rm", JudgeSpec(kind="reward_model", model=str(tiny_reward_model), device="cpu"))
    judged = judge.judge(ITEMS)
    rm = RewardModel.load(tiny_reward_model, device="cpu")
    expected = rm.score([i.response for i in ITEMS], [[r.text for r in i.requirements] for i in ITEMS])
    assert [s for j in judged for s in j.requirement_scores] == pytest.approx([s for e in expected
                                                                                for s in e.requirements])
    assert [j.score for j in judged] == pytest.approx([e.score for e in expected])
    assert judge.settings["template"] == rm.settings.template and judge.settings["kind"] == "reward_model"


def test_http_judges_native_and_predict_agree_with_the_model(tiny_reward_model: Path) -> None:
    from wrl.reward_model import RewardModel
    from wrl.serve import RewardServer, ServerSettings

    rm = RewardModel.load(tiny_reward_model, device="cpu")
    expected = [s.score for s in rm.score([i.response for i in ITEMS], [[r.text for r in i.requirements]
                                                                          for i in ITEMS])]
    server = RewardServer(rm, ServerSettings(port=0, max_wait_ms=1)).start()
    url = server.url
    try:
        for protocol in ("native", "predict"):
            judge = build_judge("remote", JudgeSpec(kind="http", url=url, protocol=protocol, concurrency=2))
            assert [j.score for j in judge.judge(ITEMS)] == pytest.approx(expected, abs=1e-9)
    finally:
        server.close()
    with pytest.raises(ModelError, match="no answer after 1 try"):
        build_judge("down", JudgeSpec(kind="http", url=url, max_retries=0, timeout_s=2))
    judge = build_judge("down", JudgeSpec(kind="http", url=url, protocol="predict", max_retries=0))
    with pytest.raises(ModelError, match="/predict"):
        judge.judge(ITEMS)


def test_judgment_never_averages_a_non_finite_score() -> None:
    assert judgment([0.5, None, 1.0]).score == 0.75
    bad = judgment([0.5, math.nan])
    assert math.isnan(bad.score) and bad.failure == "non_finite_score"
    assert judgment([None, None]).failure == "nothing_judged"
    assert judgment([0.2, 0.8], "min").score == 0.2


@pytest.mark.parametrize(("raw", "message"), [
    ({"x": {"kind": "length", "seed": 4}}, "weval_judge.judges.x.seed does not apply to a judge of kind 'length'"),
    ({"x": {"kind": "llm"}}, "weval_judge.judges.x.model is required"),
    ({"x": {"kind": "http"}}, "weval_judge.judges.x.url is required"),
    ({"x": {"kind": "oracle"}}, "weval_judge.judges.x.kind must be one of"),
    ({"x": {"kind": "random", "sed": 1}}, "unknown key 'weval_judge.judges.x.sed' \\(did you mean"),
    ({"Bad Name": {"kind": "random"}}, "judge name 'Bad Name'"),
    ({}, "weval_judge.judges is empty"),
])
def test_bad_judges_are_named_before_any_work(raw: dict, message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        params_from_dict({"weval_judge": {"judges": raw}})


def test_missing_reward_model_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        build_judge("rm", JudgeSpec(kind="reward_model", model=str(tmp_path / "nothing")))
