"""The grpo stage with the tiny decoder as the policy and the tiny reward model: training, outputs, resume after a
kill, a checkpoint directory from other settings, and bad input stopped before training."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO

from wrl.config import ParamsError, params_from_dict
from wrl.errors import DatasetError, ModelError
from wrl.stage import Context
from wrl.stages.grpo import STAGE, GrpoConfig, run, summarize
from wrl.training import FINGERPRINT_FILE

PROMPTS = [  # (prompt, split): words of the tiny tokenizer's vocabulary, so prompts are short
    ("write a poem about rain . do not use any commas .", "train"),
    ("write a story about the city . your answer must be in all lowercase letters .", "train"),
    ("write a letter to my friend . do not use any commas .", "train"),
    ("write an essay about the river . end your response with \"hello world\" .", "train"),
    ("write a poem about the sun .", "train"),  # no requirement: rejected
    ("write a story about " + "the tree and the bird , " * 20 + ". do not use any commas .", "train"),  # too long
    ("write a poem about home . do not use any commas .", "test"),
]
FAST = {"steps": 4, "prompts_per_step": 2, "num_generations": 2, "max_completion_length": 8,
        "max_prompt_length": 48, "save_steps": 2, "learning_rate": 1e-3, "reward": {"kind": "reward_model",
                                                                                   "device": "cpu"},
        "reward_weights": {"rm": 1.0, "verifiers": 0.5, "format": 0.1, "length": 0.1}}


def write_parsed(path: Path) -> pa.Table:
    from wrl.requirements import parse_table

    table = pa.table({"id": [f"p{i}" for i in range(len(PROMPTS))], "prompt": [p for p, _ in PROMPTS]})
    parsed, rejects = parse_table(table)
    assert rejects.num_rows == 0
    parsed = parsed.append_column("split", pa.array([s for _, s in PROMPTS]))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(parsed, path)
    return parsed


def _paths(root: Path, policy: Path, reward_model: Path):
    live = root / "dvclive/grpo/plots/metrics/train"
    return STAGE.paths((root / "data/parsed.parquet", policy, reward_model),
                       (root / "models/grpo_policy", root / "checkpoints/grpo"), root / "data/grpo.rejects.parquet",
                       root / "metrics/grpo.json",
                       (live / "reward.tsv", live / "kl.tsv", live / "completion_length.tsv"))


def _config(**kw) -> GrpoConfig:
    return params_from_dict({"grpo": {**FAST, **kw}}).grpo


def _train(root: Path, policy: Path, reward_model: Path, cfg: GrpoConfig, write: bool = True):
    if write:
        write_parsed(root / "data/parsed.parquet")
    paths = _paths(root, policy, reward_model)
    paths.check_outputs()
    return run(cfg, paths, Context(threads=1)), paths


def _metrics(root: Path) -> dict:
    return json.loads((root / "metrics/grpo.json").read_text())["grpo"]


@pytest.fixture(scope="module")
def grpo_run(tiny_decoder, tiny_reward_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("grpo")
    report, paths = _train(root, tiny_decoder, tiny_reward_model, _config())
    return root, report, paths


def test_trains_and_writes_the_policy_metrics_curves_and_rejects(grpo_run, tiny_decoder):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root, report, paths = grpo_run
    out = root / "models/grpo_policy"
    assert not (out / "training_args.bin").exists()
    settings = json.loads((out / "wrl_grpo.json").read_text())
    assert settings["base_policy"] == str(tiny_decoder) and settings["steps"] == 4
    assert settings["reward"]["kind"] == "reward_model" and "device" not in settings["reward"]
    model = AutoModelForCausalLM.from_pretrained(out)
    AutoTokenizer.from_pretrained(out)
    assert model.config.vocab_size == AutoModelForCausalLM.from_pretrained(tiny_decoder).config.vocab_size
    before, after = load_file(tiny_decoder / "model.safetensors"), load_file(out / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in before)  # it learned something

    m = _metrics(root)
    assert m["steps"] == 4 and m["world_size"] == 1
    assert m["prompts"]["train"] == 6 and m["prompts"]["usable"] == 4
    assert m["prompts"]["rejects"]["by_reason"] == {"no_requirements": 1, "prompt_too_long": 1}
    assert set(m["terms"]) == {"rm", "verifiers", "format", "length"}
    assert m["reward_weights"] == {"rm": 1.0, "verifiers": 0.5, "format": 0.1, "length": 0.1}
    assert m["reward"]["mean"] is not None and m["kl"]["last"] is not None
    assert 0 < m["completion_length"] <= 8
    assert m["scored"]["rm"] == 4 * 2 * 2  # steps x prompts x completions, every one scored
    assert set(m["by_type"]["rm"]) >= {"no_commas"}
    assert all(0 <= v["mean"] <= 1 and v["n"] > 0 for v in m["by_type"]["rm"].values())
    assert "time" not in json.dumps(m) and "runtime" not in json.dumps(m)

    rejects = pq.read_table(paths.rejects)
    assert sorted(rejects["reason_kind"].to_pylist()) == ["no_requirements", "prompt_too_long"]
    assert rejects["id"].to_pylist() == ["p4", "p5"] and rejects["row"].to_pylist() == [4, 5]
    for path, name in zip(paths.plots, ("reward", "kl", "completion_length"), strict=True):
        lines = path.read_text().splitlines()
        assert lines[0] == f"step\t{name}" and [int(x.split("\t")[0]) for x in lines[1:]] == [1, 2, 3, 4]
    assert not list((root / "dvclive/grpo").glob("*.json"))

    rendered = report.render()
    assert "grpo: rows in 6 = out 4 + rejected 2" in rendered
    assert "4 steps (4 in this run)" in rendered and "rm (weight 1) mean" in rendered


def test_same_seed_same_bytes(grpo_run, tiny_decoder, tiny_reward_model, tmp_path):
    root = grpo_run[0]
    _train(tmp_path, tiny_decoder, tiny_reward_model, _config())
    for name in ("model.safetensors", "config.json", "wrl_grpo.json"):
        assert (tmp_path / "models/grpo_policy" / name).read_bytes() == \
            (root / "models/grpo_policy" / name).read_bytes(), name
    assert _metrics(tmp_path) == _metrics(root)


def test_rerun_resumes_and_other_settings_start_over(grpo_run, tiny_decoder, tiny_reward_model, tmp_path):
    import shutil

    root = tmp_path / "p"
    shutil.copytree(grpo_run[0], root)
    before = (root / "models/grpo_policy/model.safetensors").read_bytes()
    report, _ = _train(root, tiny_decoder, tiny_reward_model, _config(), write=False)
    assert "resumed from checkpoint-4" in report.render() and "(0 in this run" in report.render()
    assert (root / "models/grpo_policy/model.safetensors").read_bytes() == before
    ckpt = root / "checkpoints/grpo"
    (ckpt / "checkpoint-999").mkdir()
    report, _ = _train(root, tiny_decoder, tiny_reward_model, _config(seed=1), write=False)
    assert "resumed" not in report.render() and "(4 in this run" in report.render()
    assert not (ckpt / "checkpoint-999").exists() and (ckpt / FINGERPRINT_FILE).exists()


def test_rerun_of_a_run_that_ended_mid_epoch_trains_no_further_step(tiny_decoder, tiny_reward_model, tmp_path):
    """One step of the two an epoch of 4 prompts holds: a re-run restores checkpoint-1 instead of training step 2
    (transformers skips to the checkpoint's batch and would train one step past max_steps)."""
    cfg = _config(steps=1, save_steps=1)
    _train(tmp_path, tiny_decoder, tiny_reward_model, cfg)
    before, metrics = (tmp_path / "models/grpo_policy/model.safetensors").read_bytes(), _metrics(tmp_path)
    report, _ = _train(tmp_path, tiny_decoder, tiny_reward_model, cfg, write=False)
    assert "1 steps (0 in this run, resumed from checkpoint-1)" in report.render()
    assert (tmp_path / "models/grpo_policy/model.safetensors").read_bytes() == before
    assert _metrics(tmp_path) == metrics and metrics["steps"] == 1


def _script(root: Path, policy: Path, reward_model: Path, params: dict) -> list[str]:
    (root / "params.yaml").write_text(yaml.safe_dump({"grpo": params}))
    p = _paths(root, policy, reward_model)
    return [sys.executable, str(REPO / "pipeline/grpo.py"), *map(str, (*p.inputs, *p.outputs)),
            "--rejects", str(p.rejects), "--metrics", str(p.metrics), "--plots", *map(str, p.plots),
            "--params", str(root / "params.yaml"), "--threads", "1"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}


def test_killed_run_resumes_at_the_right_step_to_the_same_policy(tiny_decoder, tiny_reward_model, tmp_path):
    """Killed (SIGKILL) after a checkpoint, a re-run resumes at its step and ends with the weights, metrics and
    curves of an uninterrupted run."""
    params = {**FAST, "steps": 8, "save_steps": 2}
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    for root in (whole, killed):
        write_parsed(root / "data/parsed.parquet")
    subprocess.run(_script(whole, tiny_decoder, tiny_reward_model, params), cwd=whole, env=_env(), check=True,
                   capture_output=True)

    proc = subprocess.Popen(_script(killed, tiny_decoder, tiny_reward_model, params), cwd=killed, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = killed / "checkpoints/grpo"
    deadline = time.monotonic() + 180
    while not list(ckpt.glob("checkpoint-*/trainer_state.json")) and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (killed / "models/grpo_policy").exists()

    out = subprocess.run(_script(killed, tiny_decoder, tiny_reward_model, params), cwd=killed, env=_env(),
                         check=True, capture_output=True, text=True).stdout
    assert "resumed from checkpoint-" in out
    at = int(out.split("resumed from checkpoint-")[1].split(")")[0])
    assert 0 < at < 8 and f"8 steps ({8 - at} in this run" in out
    assert f"grpo: step {at + 1}/8" in out and f"grpo: step {at}/8" not in out  # not from step 1 again
    for name in ("model.safetensors", "config.json", "wrl_grpo.json"):
        assert (killed / "models/grpo_policy" / name).read_bytes() == \
            (whole / "models/grpo_policy" / name).read_bytes(), name
    assert _metrics(killed) == _metrics(whole)
    for a, b in zip(_paths(killed, tiny_decoder, tiny_reward_model).plots,
                    _paths(whole, tiny_decoder, tiny_reward_model).plots, strict=True):
        assert a.read_text() == b.read_text()


def test_two_cpu_processes_over_gloo(tiny_decoder, tiny_reward_model, tmp_path):
    """Each process generates and rewards whole groups of its own; the reward stats of both reach the metrics."""
    write_parsed(tmp_path / "data/parsed.parquet")
    params = {**FAST, "steps": 2, "save_steps": 2, "launch": {"processes": 2}}
    proc = subprocess.run(_script(tmp_path, tiny_decoder, tiny_reward_model, params), cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "launching 2 processes: accelerate launch" in proc.stdout
    assert "rank 1 of world size 2: trained 2 steps" in proc.stdout
    m = _metrics(tmp_path)
    assert m["world_size"] == 2 and m["steps"] == 2
    assert m["scored"]["rm"] == 2 * 2 * 2  # both processes' completions counted
    assert (tmp_path / "models/grpo_policy/model.safetensors").exists()


# --- bad input: a clear error before training -------------------------------------------------------


def test_reward_model_that_cannot_be_loaded_stops_before_training(tiny_decoder, tmp_path):
    with pytest.raises(ModelError, match="no-such-model"):
        _train(tmp_path, tiny_decoder, tmp_path / "no-such-model", _config())
    assert not (tmp_path / "checkpoints/grpo").exists()


def test_reward_server_that_is_down_stops_before_training(tiny_decoder, tiny_reward_model, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = _config(reward={"kind": "http", "url": f"http://127.0.0.1:{port}", "timeout_s": 0.5, "max_retries": 0})
    with pytest.raises(ModelError, match=f"127.0.0.1:{port}"):
        _train(tmp_path, tiny_decoder, tiny_reward_model, cfg)
    assert not (tmp_path / "checkpoints/grpo").exists()


def test_lora_trains_an_adapter_and_writes_the_merged_policy(tiny_decoder, tiny_reward_model, tmp_path):
    pytest.importorskip("peft")
    import torch
    from safetensors.torch import load_file

    lora = {"r": 4, "target_modules": ["q_proj", "v_proj"]}
    _train(tmp_path, tiny_decoder, tiny_reward_model, _config(lora=lora))
    out = tmp_path / "models/grpo_policy"
    assert not (out / "adapter_config.json").exists()  # a plain directory, loadable without peft
    before, after = load_file(tiny_decoder / "model.safetensors"), load_file(out / "model.safetensors")
    assert set(after) == set(before)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(".q_proj." in k or ".v_proj." in k for k in changed)  # only the adapted layers
    assert json.loads((out / "wrl_grpo.json").read_text())["params"]["lora"] == lora


def test_lora_and_vllm_without_their_packages_say_what_to_install(tiny_decoder, tiny_reward_model, tmp_path):
    import importlib.util

    if importlib.util.find_spec("peft") is None:
        with pytest.raises(ModelError, match="pip install peft"):
            _train(tmp_path, tiny_decoder, tiny_reward_model, _config(lora={"r": 4}))
    if importlib.util.find_spec("vllm") is None:
        with pytest.raises(ModelError, match="pip install vllm"):
            _train(tmp_path, tiny_decoder, tiny_reward_model, _config(use_vllm=True))


def test_no_usable_prompt_is_a_clear_error(tiny_decoder, tiny_reward_model, tmp_path):
    with pytest.raises(DatasetError, match="no usable train-split instruction"):
        _train(tmp_path, tiny_decoder, tiny_reward_model, _config(max_prompt_length=4))


def test_context_too_short_is_a_clear_error(tiny_decoder, tiny_reward_model, tmp_path):
    with pytest.raises(ParamsError, match="exceeds the policy's context of 512 tokens"):
        _train(tmp_path, tiny_decoder, tiny_reward_model, _config(max_prompt_length=500, max_completion_length=64))


@pytest.mark.parametrize(("params", "message"), [
    ({"trainer": {"beta": 0.1}}, "grpo.trainer.beta is set by the stage itself; use grpo.beta"),
    ({"trainer": {"output_dir": "x"}}, "grpo.trainer.output_dir is set by the stage itself"),
    ({"reward": {"kind": "llm", "model": "x"}}, "grpo.reward.kind must be one of reward_model, http"),
    ({"reward": {"kind": "reward_model", "model": "x"}}, "grpo.reward.model: the reward model is the stage's"),
    ({"reward": {"kind": "http"}}, "grpo.reward.url is required"),
    ({"reward": {"kind": "reward_model", "url": "http://x"}}, "grpo.reward.url does not apply"),
    ({"reward_weights": {"rm": 0.0}}, "every weight is 0"),
    ({"reward_weights": {"rm": -1.0}}, "grpo.reward_weights.rm must be >= 0"),
    ({"lora": {"rank": 8}}, "grpo.lora: unknown key 'rank'"),
    ({"steps_per_rollout": 4, "save_steps": 6}, "must be a multiple of grpo.steps_per_rollout"),
    ({"length_target": 64}, "must be below grpo.max_completion_length"),
    ({"loss_type": "ppo"}, "grpo.loss_type must be one of"),
    ({"num_generations": 1}, "grpo.num_generations must be >= 2"),
])
def test_params_are_checked_before_any_work(params, message):
    with pytest.raises(ParamsError, match=message.replace(".", r"\.").replace("(", r"\(")):
        params_from_dict({"grpo": params})


def test_batch_sizes_that_split_groups_across_processes_are_refused():
    from wrl.stages.grpo import _batch_sizes

    assert _batch_sizes(_config(prompts_per_step=2, num_generations=4), 1) == (8, 1)
    assert _batch_sizes(_config(prompts_per_step=4, num_generations=2, gradient_accumulation_steps=2), 2) == (2, 2)
    with pytest.raises(ParamsError, match="multiple of the processes"):
        _batch_sizes(_config(prompts_per_step=3, num_generations=2), 4)
    with pytest.raises(ParamsError, match="not whole groups"):
        _batch_sizes(_config(prompts_per_step=1, num_generations=4), 2)


def test_summary_adds_counts_and_weights_type_means_by_requirements():
    history = [{"reward": 0.5, "rewards/rm/mean": 0.5, "by_type/rm/tone": 0.2, "by_type_n/rm/tone": 1,
                "unscored/rm/non_finite_score": 1, "step": 1},
               {"reward": 0.7, "rewards/rm/mean": None, "by_type/rm/tone": 0.8, "by_type_n/rm/tone": 3,
                "unscored/rm/non_finite_score": 2, "step": 2},
               {"train_runtime": 3.0, "reward": 9.9, "step": 2}]
    s = summarize(history, ["rm"])
    assert s["reward"] == {"first": 0.5, "last": 0.7, "mean": 0.6}
    assert s["terms"]["rm"] == {"first": 0.5, "last": 0.5, "mean": 0.5}  # a step with no score is left out
    assert s["by_type"]["rm"]["tone"] == {"mean": 0.65, "n": 4}
    assert s["unscored"] == {"rm": {"non_finite_score": 3}}


def test_the_paper_preset_is_valid_params():
    raw = yaml.safe_load((REPO / "configs/grpo/paper.yaml").read_text())
    cfg = params_from_dict(raw).grpo
    assert (cfg.num_generations, cfg.learning_rate, cfg.beta, cfg.epsilon, cfg.loss_type, cfg.scale_rewards) == \
        (5, 1e-6, 0.01, 0.2, "bnpo", "group")
    assert cfg.format_gate and cfg.prompts_per_step * cfg.steps_per_rollout == 384


def test_gpu_check_smoke_runs_on_cpu():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks/gpu_check_grpo.py"), "--smoke"], env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for key in ("step time", "generation tokens/s", "training tokens/s", "peak GPU memory"):
        assert key in proc.stdout, key
