"""The GRPO reward terms (wrl/rewards.py) on fake TRL batches, with the tiny reward model as the judge."""

from __future__ import annotations

import json
import math

import pytest

from wrl.judges import Judge, JudgeSpec, build_judge
from wrl.rewards import (
    RM_UNSCORED,
    TERMS,
    FormatReward,
    GroupError,
    LengthPenalty,
    RequirementReward,
    RewardStats,
    answer_of,
    reward_terms,
)

TONE = {"id": "r1", "type": "tone", "text": "Use a humorous tone.", "params": {"tone": "humorous"}}
COMMAS = {"id": "r2", "type": "no_commas", "text": "Do not use any commas.", "params": {}}


def _batch(groups: list[tuple[str, list[dict], list[str]]], chat: bool = True) -> dict:
    """TRL's call: one (prompt id, requirements, completions) per group, the columns repeated per completion."""
    prompts, completions, ids, reqs, comp_ids = [], [], [], [], []
    for pid, requirements, texts in groups:
        instruction = f"write a poem about rain . {' '.join(r['text'] for r in requirements)}"
        for text in texts:
            prompts.append([{"role": "user", "content": instruction}] if chat else instruction)
            completions.append([{"role": "assistant", "content": text}] if chat else text)
            ids.append(pid)
            reqs.append(json.dumps(requirements))
            comp_ids.append(list(range(len(text.split()))))
    return {"prompts": prompts, "completions": completions, "completion_ids": comp_ids, "prompt_id": ids,
            "requirements": reqs, "trainer_state": None, "log_extra": None, "log_metric": None}


@pytest.fixture(scope="module")
def rm_judge(tiny_reward_model):
    return build_judge("reward", JudgeSpec(kind="reward_model", model=str(tiny_reward_model), device="cpu"))


def test_terms_are_named_ordered_and_weighted(rm_judge):
    terms = reward_terms({"rm": 1.0, "length": 0.1}, judge=rm_judge, num_generations=2, max_completion_length=16)
    assert [f.__name__ for f in terms.functions] == list(TERMS)  # TRL logs rewards/<name>/mean
    assert terms.weights == [1.0, 0.0, 0.0, 0.1]
    without_rm = reward_terms({"verifiers": 1.0}, judge=None, num_generations=2, max_completion_length=16)
    assert [f.__name__ for f in without_rm.functions] == ["verifiers", "format", "length"]
    with pytest.raises(ValueError, match="every reward weight is 0"):
        reward_terms({}, judge=None, num_generations=2, max_completion_length=16)
    with pytest.raises(ValueError, match="unknown reward term 'style'"):
        reward_terms({"style": 1.0}, judge=None, num_generations=2, max_completion_length=16)


def test_rm_term_is_the_judges_aggregate_and_accumulates_by_type(rm_judge):
    stats = RewardStats()
    term = RequirementReward(2, stats, rm_judge)
    batch = _batch([("p1", [TONE, COMMAS], ["a poem , with rain", "the rain and the river"]),
                    ("p2", [COMMAS], ["hello world", "hello , world"])])
    got = term(**batch)
    from wrl.judges import JudgeItem
    from wrl.rewards import parse_requirements

    items = [JudgeItem("k", "x", c[0]["content"], parse_requirements(r))
             for c, r in zip(batch["completions"], batch["requirements"], strict=True)]
    expected = rm_judge.judge(items)
    assert got == pytest.approx([j.score for j in expected])
    assert all(isinstance(v, float) and 0 <= v <= 1 for v in got)
    drained = stats.drain()
    assert sorted(t for t, k, s, n in drained["by_type"] if t == "rm") == ["rm", "rm"]
    by_type = {k: (s, n) for t, k, s, n in drained["by_type"]}
    assert by_type["tone"][1] == 2 and by_type["no_commas"][1] == 4  # requirements scored, by type
    assert by_type["tone"][0] == pytest.approx(expected[0].requirement_scores[0] + expected[1].requirement_scores[0])
    assert drained["scored"] == [["rm", 4]] and drained["unscored"] == []
    assert stats.drain()["by_type"] == []  # drained means reset


def test_completions_out_of_groups_are_a_clear_error(rm_judge):
    term = RequirementReward(2, RewardStats(), rm_judge)
    batch = _batch([("p1", [TONE], ["a", "b", "c"])])
    with pytest.raises(GroupError, match="3 completions do not make whole groups of num_generations=2"):
        term(**batch)
    mixed = _batch([("p1", [TONE], ["a"]), ("p2", [TONE], ["b"])])
    with pytest.raises(GroupError, match=r"completions 0\.\.1 should be one group .* prompts p1, p2"):
        term(**mixed)
    missing = _batch([("p1", [TONE], ["a", "b"])])
    del missing["requirements"]
    with pytest.raises(GroupError, match="dataset column 'requirements'"):
        term(**missing)


class _NaNJudge(Judge):
    """Scores the first completion of each call NaN, the others 0.5."""

    kind = "reward_model"

    def judge(self, items):
        from wrl.judges import judgment

        return [judgment([math.nan if i == 0 else 0.5] * len(item.requirements)) for i, item in enumerate(items)]


def test_unscorable_completions_get_none_from_every_term_and_are_counted():
    terms = reward_terms({"rm": 1.0, "verifiers": 1.0, "format": 1.0, "length": 1.0},
                         judge=_NaNJudge("nan", JudgeSpec(kind="reward_model", model="x")), num_generations=2,
                         max_completion_length=16)
    batch = _batch([("p1", [COMMAS], ["a , b", "a b"])])
    out = [f(**batch) for f in terms.functions]
    assert out[0] == [None, 0.5]  # never NaN: TRL turns None into a value it leaves out of the means
    assert [o[0] for o in out] == [None] * 4  # every term skips it: its advantage is 0, not its format's
    assert out[1][1] == 1.0 and out[2][1] == 0.0 and out[3][1] < 0
    logs = RewardStats.log_entries([terms.stats.drain()])
    assert logs["unscored/rm/non_finite_score"] == 1
    assert logs[f"unscored/verifiers/{RM_UNSCORED}"] == logs[f"unscored/length/{RM_UNSCORED}"] == 1
    assert logs["scored/rm"] == 1 and logs["scored/format"] == 1


def test_requirement_too_long_for_the_reward_model_is_skipped_with_its_reason(rm_judge):
    stats = RewardStats()
    long = {"id": "r1", "type": "tone", "text": " ".join(["rain"] * 80), "params": {}}
    out = RequirementReward(2, stats, rm_judge)(**_batch([("p1", [long], ["a", "b"])]))
    assert out == [None, None]
    assert RewardStats.log_entries([stats.drain()]) == {"unscored/rm/requirement_too_long": 2, "scored/rm": 0}


def test_verifiers_score_verifiable_requirements_only():
    terms = reward_terms({"verifiers": 1.0}, judge=None, num_generations=2, max_completion_length=16)
    verifiers = terms.functions[0]
    out = verifiers(**_batch([("p1", [TONE, COMMAS], ["a , b", "a b"]), ("p2", [TONE], ["x", "y"])]))
    assert out == [0.0, 1.0, None, None]  # tone is beyond the rules: no view of p2
    logs = RewardStats.log_entries([terms.stats.drain()])
    assert logs["unscored/verifiers/nothing_judged"] == 2
    assert logs["by_type/verifiers/no_commas"] == 0.5 and logs["by_type_n/verifiers/no_commas"] == 2


def test_format_and_the_paper_gate(rm_judge):
    good = "<think>rain is wet</think>\n<answer>a poem about rain</answer>"
    assert answer_of(good) == "a poem about rain"
    assert answer_of("<answer>x</answer>") is None and answer_of(good + " more") is None
    stats = RewardStats()
    batch = _batch([("p1", [TONE], [good, "a poem about rain"])], chat=False)
    assert FormatReward(2, stats)(**batch) == [1.0, 0.0]
    gated = RequirementReward(2, stats, rm_judge, format_gate=True)(**batch)
    ungated = RequirementReward(2, stats, rm_judge)(**_batch([("p1", [TONE], ["a poem about rain"] * 2)]))
    assert gated == [pytest.approx(ungated[0]), 0.0]  # the answer alone is scored; out of format is 0


def test_length_penalty():
    term = LengthPenalty(2, RewardStats(), max_completion_length=10, target=4)
    batch = _batch([("p1", [TONE], ["one two", " ".join(["w"] * 7)]), ("p2", [TONE], [" ".join(["w"] * 10)] * 2)])
    assert term(**batch) == [0.0, pytest.approx(-0.5), -1.0, -1.0]
    with pytest.raises(ValueError, match="must be below max_completion_length"):
        LengthPenalty(2, RewardStats(), max_completion_length=10, target=10)


def test_stats_of_several_processes_merge_exactly():
    a, b = RewardStats(), RewardStats()
    a.add("rm", "tone", 0.2)
    a.add("rm", "tone", 0.4)
    b.add("rm", "tone", 0.9)
    a.unscored[("rm", "non_finite_score")] += 1
    b.unscored[("rm", "non_finite_score")] += 2
    logs = RewardStats.log_entries([a.drain(), b.drain()])
    assert logs["by_type/rm/tone"] == pytest.approx(0.5) and logs["by_type_n/rm/tone"] == 3
    assert logs["unscored/rm/non_finite_score"] == 3


def test_http_judge_that_is_down_fails_before_any_reward():
    import socket

    from wrl.errors import ModelError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ModelError):
        build_judge("reward", JudgeSpec(kind="http", url=f"http://127.0.0.1:{port}", timeout_s=0.5, max_retries=0))

