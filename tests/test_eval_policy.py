"""The eval_policy stage: two policies on the same held-out instructions, IFEval's figures as wrl.verify computes
them, judges through the one judge interface, paired intervals, skips counted with their reason, byte-identical
outputs, and one error for a model that cannot be loaded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from wrl.errors import ModelError, ParamsError
from wrl.policy_eval import EvalItem, PolicyResult, cell_figures, metric_names, verdict
from wrl.sql import connect
from wrl.stage import Context, pipeline_main
from wrl.stages.eval_policy import STAGE, EvalPolicyConfig, pick
from wrl.verify import FIGURES, ifeval_figures, verify_table

TEXTS = {"no_commas": "Do not use any commas.", "lowercase": "Write in all lowercase letters.",
         "tone": "Use a humorous tone.", "length": "Answer in at least 40 words."}
PARAMS = {"length": {"relation": "at_least", "unit": "words", "value": 40}, "tone": {"tone": "humorous"}}
TYPES = [["no_commas", "lowercase"], ["tone"], ["no_commas", "tone", "length"], ["lowercase"]]
SMALL = {"max_new_tokens": 6, "batch_size": 4, "bootstrap_resamples": 200, "examples": 2}


def requirement_struct(rid: str, rtype: str) -> dict:
    return {"id": rid, "type": rtype, "family": "x", "start": None, "end": None, "text": TEXTS[rtype],
            "params": json.dumps(PARAMS.get(rtype, {})), "verifiable": rtype != "tone", "source": "text"}


def write_parsed(tmp: Path, n: int = 12, long_prompt: bool = False) -> Path:
    """``n`` test instructions (types cycling through TYPES, two categories), two train ones, one without any
    requirement; with ``long_prompt`` the first test instruction is longer than the tiny models' context."""
    ids = [f"t{i:02d}" for i in range(n)] + ["train0", "train1", "none"]
    types = [TYPES[i % len(TYPES)] for i in range(n)] + [["tone"], ["tone"], []]
    prompts = [f"write a poem about rain. {' '.join(TEXTS[t] for t in ts)}" for ts in types]
    if long_prompt:
        prompts[0] = "write a poem about " + "the city and the river " * 130 + ". Do not use any commas."
    pq.write_table(pa.table({
        "id": ids, "prompt": prompts,
        "requirements": pa.array([[requirement_struct(f"r{j + 1}", t) for j, t in enumerate(ts)] for ts in types],
                                 pa.list_(pa.struct([("id", pa.string()), ("type", pa.string()),
                                                     ("family", pa.string()), ("start", pa.int64()),
                                                     ("end", pa.int64()), ("text", pa.string()),
                                                     ("params", pa.string()), ("verifiable", pa.bool_()),
                                                     ("source", pa.string())]))),
        "split": ["test"] * n + ["train", "train", "test"],
        "category": [["creative", "technical"][i % 2] for i in range(n)] + ["creative"] * 3,
        "language": ["en"] * (n + 3),
    }), tmp / "parsed.parquet")
    return tmp / "parsed.parquet"


@pytest.fixture(scope="module")
def other_decoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny decoder with other random weights (seed 1): a 'trained' policy that answers differently."""
    from tiny_models import build_decoder

    return build_decoder(tmp_path_factory.mktemp("tiny") / "decoder_seed1", seed=1)


def judges(reward_model: Path) -> dict:
    return {"reward_model": {"kind": "reward_model", "model": str(reward_model)}, "verifiers": {"kind": "verifiers"}}


def run_stage(tmp: Path, base: Path, trained: Path, out: str = "out", **cfg: object) -> dict:
    d = tmp / out
    paths = STAGE.paths((tmp / "parsed.parquet", base, trained), (d / "responses.parquet", d / "report"),
                        d / "rejects.parquet", d / "metrics.json")
    settings = {"ifeval": None, "ifeval_instructions": 0, **SMALL, **cfg}
    report = STAGE.run(EvalPolicyConfig(**settings), paths, Context(progress=False))
    return {"report": report, "responses": pq.read_table(d / "responses.parquet"),
            "rejects": pq.read_table(d / "rejects.parquet"),
            "metrics": json.loads((d / "metrics.json").read_text())["eval_policy"],
            "summary": json.loads((d / "report" / "summary.json").read_text()), "dir": d}


def test_two_policies_figures_match_ifeval_and_outputs_are_byte_identical(
        tmp_path: Path, tiny_decoder: Path, other_decoder: Path, tiny_reward_model: Path) -> None:
    write_parsed(tmp_path)
    sampled = {"temperature": 1.0, "judges": judges(tiny_reward_model)}  # seeded: greedy tiny models only repeat
    a = run_stage(tmp_path, tiny_decoder, other_decoder, **sampled)
    responses, summary, metrics = a["responses"], a["summary"], a["metrics"]
    # every picked test instruction (12, not train, not the one without requirements), answered by both policies
    assert responses.num_rows == 24 and a["rejects"].num_rows == 0
    assert a["report"].rows_in == a["report"].rows_out == 12
    assert responses["policy"].to_pylist() == ["base"] * 12 + ["trained"] * 12
    assert set(responses["id"].to_pylist()) == {f"t{i:02d}" for i in range(12)}
    assert responses["model"].to_pylist() == [str(tiny_decoder)] * 12 + [str(other_decoder)] * 12
    base_rows, trained_rows = responses.slice(0, 12).to_pylist(), responses.slice(12).to_pylist()
    assert [r["response"] for r in base_rows] != [r["response"] for r in trained_rows]

    # IFEval's figures as wrl.verify computes them, overall and by type, for each policy
    for policy, rows in (("base", base_rows), ("trained", trained_rows)):
        table = pa.table({"id": [r["id"] for r in rows], "response": [r["response"] for r in rows],
                          "requirements": [json.dumps([{"type": t, "params": PARAMS.get(t, {})}
                                                       for t in r["requirement_types"]]) for r in rows]})
        expected = ifeval_figures(verify_table(table)[0])
        cells = summary["sources"]["test"]
        for f in FIGURES:
            assert cells["overall"][policy][f] == pytest.approx(expected["overall"][f], abs=1e-6)
            for t, fig in expected["by_type"].items():
                want = fig[f]
                assert cells["by_type"][t][policy][f] == (None if want is None else pytest.approx(want, abs=1e-6))
        assert metrics["test"][policy]["reward_model"] == pytest.approx(
            sum(r["score_reward_model"] for r in rows) / 12, abs=1e-6)
        assert metrics["test"][policy]["words"] == pytest.approx(sum(r["words"] for r in rows) / 12, abs=1e-6)

    # the verifiers judge has no view of tone-only instructions: out of its figures for both policies, counted
    assert metrics["judge_failures"]["verifiers"] == {"nothing_judged": 6}
    assert summary["sources"]["test"]["overall"]["counted"]["verifiers"] == 9
    assert summary["sources"]["test"]["overall"]["counted"]["reward_model"] == 12
    diff = metrics["test"]["difference"]
    for m in metric_names(["reward_model", "verifiers"]):
        value = metrics["test"]["trained"][m] - metrics["test"]["base"][m]
        assert diff[m] == pytest.approx(value, abs=2e-6)
    assert diff["reward_model_low"] <= diff["reward_model"] <= diff["reward_model_high"]
    assert set(summary["sources"]["test"]["by_category"]) == {"creative", "technical"}

    report = (a["dir"] / "report" / "eval_policy.md").read_text()
    assert "| figure | base | trained | Δ trained − base | verdict |" in report
    assert report.count("| | base | trained |") == 2  # examples: 2, side by side
    assert (a["dir"] / "report" / "eval_policy_accuracy_by_type.png").read_bytes()[:4] == b"\x89PNG"

    # the SQL view, and the documented query's shape
    (tmp_path / "data" / "eval_policy").mkdir(parents=True)
    shutil.copy(a["dir"] / "responses.parquet", tmp_path / "data" / "eval_policy" / "responses.parquet")
    con = connect(tmp_path)
    assert con.sql("SELECT policy, count(*), avg(score_reward_model) FROM policy_eval GROUP BY ALL ORDER BY 1"
                   ).fetchall() == [("base", 12, pytest.approx(metrics["test"]["base"]["reward_model"], abs=1e-6)),
                                    ("trained", 12, pytest.approx(metrics["test"]["trained"]["reward_model"],
                                                                  abs=1e-6))]

    b = run_stage(tmp_path, tiny_decoder, other_decoder, out="again", **sampled)
    for name in ("responses.parquet", "rejects.parquet", "metrics.json", "report/eval_policy.md",
                 "report/summary.json", "report/eval_policy_accuracy_by_type.png"):
        assert (a["dir"] / name).read_bytes() == (b["dir"] / name).read_bytes(), name


def test_the_same_policy_twice_differs_by_exactly_zero(tmp_path: Path, tiny_decoder: Path,
                                                       tiny_reward_model: Path) -> None:
    write_parsed(tmp_path, n=16)  # 12 with a verifiable requirement: enough for intervals
    r = run_stage(tmp_path, tiny_decoder, tiny_decoder, temperature=1.0, judges=judges(tiny_reward_model))
    diff = r["metrics"]["test"]["difference"]
    for m in ("prompt_strict", "instruction_strict", "reward_model", "words"):
        assert diff[m] == 0.0 and diff[f"{m}_low"] == 0.0 and diff[f"{m}_high"] == 0.0
    assert "no clear difference" in (r["dir"] / "report" / "eval_policy.md").read_text()


def test_a_prompt_too_long_is_a_counted_skip_for_both_policies(tmp_path: Path, tiny_decoder: Path,
                                                                 other_decoder: Path) -> None:
    write_parsed(tmp_path, long_prompt=True)
    r = run_stage(tmp_path, tiny_decoder, other_decoder, judges={})
    assert r["rejects"].to_pylist() == [{
        "row": 0, "id": "t00", "stage": "eval_policy", "reason_kind": "prompt_too_long",
        "reason": r["rejects"]["reason"][0].as_py()}]
    assert "exceeds its context of 512 tokens" in r["rejects"]["reason"][0].as_py()
    assert r["responses"].num_rows == 22 and "t00" not in r["responses"]["id"].to_pylist()
    assert r["report"].rows_in == 12 and r["report"].rows_out == 11
    assert r["metrics"]["instructions"]["skipped"] == {"prompt_too_long": 1}
    assert r["metrics"]["rejects"] == {"total": 1, "by_reason": {"prompt_too_long": 1}}


def test_ifeval_file_prompts_are_parsed_with_their_requirements_and_bad_rows_rejected(
        tmp_path: Path, tiny_decoder: Path, other_decoder: Path) -> None:
    write_parsed(tmp_path, n=2)
    rows = [{"key": 7, "prompt": "Write a poem about rain. Do not use any commas.",
             "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
            {"key": 8, "prompt": "Write a letter. Answer in all lowercase letters.",
             "instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]},
            {"key": 9, "prompt": "Write.", "instruction_id_list": ["no:such_id"], "kwargs": [{}]}]
    (tmp_path / "ifeval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = run_stage(tmp_path, tiny_decoder, other_decoder, judges={}, ifeval=str(tmp_path / "ifeval.jsonl"),
                  ifeval_instructions=10)
    responses = r["responses"]
    ifeval = responses.filter(pc.equal(responses["source"], "ifeval"))
    assert sorted(set(ifeval["id"].to_pylist())) == ["7", "8"]
    assert sorted(t for ts in ifeval["requirement_types"].to_pylist()[:2] for t in ts) == ["lowercase", "no_commas"]
    assert r["rejects"].select(["row", "id", "reason_kind"]).to_pylist() == [
        {"row": 2, "id": "ifeval:9", "reason_kind": "unknown_instruction_id"}]
    assert set(r["metrics"]) >= {"test", "ifeval"} and r["metrics"]["ifeval"]["n"] == 2
    assert r["report"].rows_in == 2 + 2 + 1 and r["report"].rows_out == 4


def test_a_policy_that_cannot_be_loaded_is_one_error_before_any_output(
        tmp_path: Path, tiny_decoder: Path, capsys: pytest.CaptureFixture) -> None:
    write_parsed(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(tiny_decoder, broken)
    (broken / "model.safetensors").unlink()  # the weights are missing
    with pytest.raises(ModelError, match="cannot load the model"):
        run_stage(tmp_path, tiny_decoder, broken, judges={})
    assert not (tmp_path / "out" / "responses.parquet").exists()
    capsys.readouterr()
    (tmp_path / "params.yaml").write_text(json.dumps({"eval_policy": {"ifeval_instructions": 0, "judges": {}}}))
    with pytest.raises(SystemExit) as exit_info:
        pipeline_main("eval_policy", [str(tmp_path / "parsed.parquet"), str(tiny_decoder), str(tmp_path / "nowhere"),
                                      str(tmp_path / "r.parquet"), str(tmp_path / "report"), "--rejects",
                                      str(tmp_path / "rej.parquet"), "--metrics", str(tmp_path / "m.json"),
                                      "--params", str(tmp_path / "params.yaml")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"eval_policy: error: {tmp_path / 'nowhere'}: no such model directory or file"]


def test_bad_params_are_named() -> None:
    with pytest.raises(ParamsError, match="eval_policy.judges.words: 'words' is the name of a figure"):
        EvalPolicyConfig(judges={"words": {"kind": "length"}})
    with pytest.raises(ParamsError, match="eval_policy.judges.rm.seed does not apply to a judge of kind"):
        EvalPolicyConfig(judges={"rm": {"kind": "reward_model", "model": "m", "seed": 3}})
    with pytest.raises(ParamsError, match="unknown key 'eval_policy.judges.rm.modle'"):
        EvalPolicyConfig(judges={"rm": {"kind": "reward_model", "modle": "m"}})
    with pytest.raises(ParamsError, match="eval_policy.ifeval_instructions is set"):
        EvalPolicyConfig(ifeval=None, ifeval_instructions=3)


def test_picks_are_rollouts_picks() -> None:
    """The rollout stage's order (the lowest BLAKE2b of "seed\\0id"), so the same seed picks the same test ids."""
    import hashlib

    def rank(seed: int, i: str) -> int:
        return int.from_bytes(hashlib.blake2b(f"{seed}\0{i}".encode(), digest_size=8).digest(), "big")

    ids = [f"i{k}" for k in range(50)]
    assert pick(ids, 7, 3) == set(sorted(ids, key=lambda i: (rank(3, i), i))[:7])


def item(strict_b, strict_t, score_b, score_t, types=("no_commas", "tone"), words=(3, 5)) -> EvalItem:
    def result(strict, score, n):
        return PolicyResult("r", "stop", n, tuple(strict), tuple(strict), {"j": score},
                            {"j": tuple(None if score is None else score for _ in types)})
    return EvalItem("test", "x", "c", "p", tuple(types), tuple("t" for _ in types),
                    {"base": result(strict_b, score_b, words[0]), "trained": result(strict_t, score_t, words[1])})


def test_cell_figures_pool_requirements_and_leave_failures_out_of_both_policies() -> None:
    items = [item([True, None], [True, None], 0.2, 0.6),
             item([False, None], [True, None], 0.4, None),   # the judge failed on the trained response
             item([True, False], [False, False], 0.1, 0.3, types=("no_commas", "length"))]
    cell = cell_figures(items, metric_names(["j"]), rtype=None, seed=0, name="t", resamples=100)
    assert cell["base"]["instruction_strict"] == pytest.approx(2 / 4)     # pooled over requirements
    assert cell["trained"]["instruction_strict"] == pytest.approx(2 / 4)
    assert cell["base"]["prompt_strict"] == pytest.approx(1 / 3)
    assert cell["trained"]["prompt_strict"] == pytest.approx(2 / 3)
    assert cell["base"]["j"] == pytest.approx(0.15) and cell["trained"]["j"] == pytest.approx(0.45)
    assert cell["counted"]["j"] == 2
    assert cell["difference"]["words"] == 2.0
    assert cell["difference"]["j_low"] is None  # under 10 instructions: no interval
    by_type = cell_figures(items[2:], metric_names(["j"]), rtype="length", seed=0, name="t", resamples=100)
    assert by_type["n"] == 1 and by_type["base"]["instruction_strict"] == 0.0  # its length requirement only
    assert by_type["base"]["prompt_strict"] == 0.0 and by_type["base"]["j"] == pytest.approx(0.1)


def test_a_difference_is_called_only_when_its_interval_excludes_zero() -> None:
    assert verdict({"j": 0.1, "j_low": 0.02, "j_high": 0.2}, "j") == "trained better"
    assert verdict({"j": -0.1, "j_low": -0.2, "j_high": -0.01}, "j") == "base better"
    assert verdict({"j": 0.1, "j_low": -0.02, "j_high": 0.2}, "j") == "no clear difference"
    assert verdict({"j": 0.1, "j_low": None, "j_high": None}, "j") == "too few instructions to tell"
    assert verdict({"words": 3.0, "words_low": 1.0, "words_high": 5.0}, "words") == "trained longer"
