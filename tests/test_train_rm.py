"""The train_rm stage on tiny local models: both objectives, encoder and decoder backbones, the saved model
re-loaded, metrics next to the baselines, bad input, resume after a kill, and two CPU processes over gloo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import rm_tables
import yaml
from conftest import REPO

from wrl.config import ParamsError, params_from_dict
from wrl.errors import DatasetError
from wrl.reward_model import ADDED_PAD_TOKEN, RewardModel, RewardModelSettings
from wrl.rm_metrics import accuracy, best_threshold, ece, pair_accuracy, roc_auc, scorer_metrics
from wrl.stage import Context
from wrl.stages.train_rm import FINGERPRINT_FILE, STAGE, TrainRMConfig, run

TRAINER = {"num_train_epochs": 1, "per_device_train_batch_size": 8, "learning_rate": 1e-3, "save_steps": 5,
           "eval_steps": 5, "logging_steps": 2}


def _paths(root: Path):
    live = root / "dvclive/train_rm/plots/metrics"
    return STAGE.paths((root / "data/rm/pointwise.parquet", root / "data/rm/pairwise.parquet"),
                       (root / "data/rm/test_scores.parquet", root / "models/reward_model",
                        root / "checkpoints/train_rm"),
                       root / "data/train_rm.rejects.parquet", root / "metrics/train_rm.json",
                       (live / "train/loss.tsv", live / "eval/loss.tsv"))


def _config(backbone: Path, **kw) -> TrainRMConfig:
    return TrainRMConfig(backbone=str(backbone), max_length=64, bootstrap_resamples=200,
                         trainer=kw.pop("trainer", TRAINER), **kw)


def _train(root: Path, cfg: TrainRMConfig, n: int = 40, tables: tuple[pa.Table, pa.Table] | None = None,
           write: bool = True):
    if not write:
        pass
    elif tables is None:
        rm_tables.write(root / "data/rm", n)
    else:
        (root / "data/rm").mkdir(parents=True, exist_ok=True)
        pq.write_table(tables[0], root / "data/rm/pointwise.parquet")
        pq.write_table(tables[1], root / "data/rm/pairwise.parquet")
    paths = _paths(root)
    paths.check_outputs()
    return run(cfg, paths, Context(threads=1)), paths


def _metrics(root: Path) -> dict:
    return json.loads((root / "metrics/train_rm.json").read_text())["train_rm"]


@pytest.fixture(scope="module")
def pointwise_run(tiny_encoder, tmp_path_factory):
    root = tmp_path_factory.mktemp("pointwise")
    report, paths = _train(root, _config(tiny_encoder))
    return root, report, paths


# --- the pointwise objective on an encoder --------------------------------------------------------


def test_pointwise_encoder_writes_model_scores_metrics_and_curves(pointwise_run):
    root, report, paths = pointwise_run
    points = pq.read_table(root / "data/rm/pointwise.parquet")
    test = points.filter(pc.equal(points["split"], "test"))
    scores = pq.read_table(root / "data/rm/test_scores.parquet")
    assert scores.num_rows == test.num_rows > 0
    assert scores["example_id"].to_pylist() == test["example_id"].to_pylist()
    assert {"score", "verifier", "length", "random", "model", "template", "tokenizer", "max_length",
            "batch_size"} <= set(scores.column_names)
    assert set(scores["model"].to_pylist()) == {str(root / "models/reward_model")}
    assert set(scores["max_length"].to_pylist()) == {64}
    # The verifier scores verifiable types only.
    assert [v is not None for v in scores["verifier"].to_pylist()] == scores["verifiable"].to_pylist()

    model_dir = root / "models/reward_model"
    settings = RewardModelSettings.read(model_dir)
    assert settings.objective == "pointwise" and settings.max_length == 64
    assert not (model_dir / "training_args.bin").exists()
    rm = RewardModel.load(model_dir, device="cpu")
    assert rm.model.config.num_labels == 2
    again = rm.score_pairs(test["requirement"].to_pylist(), test["response"].to_pylist())
    np.testing.assert_allclose(again, scores["score"].to_numpy(), atol=1e-5)

    m = _metrics(root)
    assert m["rows"] == {"in": points.num_rows + pq.read_metadata(root / "data/rm/pairwise.parquet").num_rows,
                         "used": report.rows_out}
    assert m["examples"]["trained_on"] == m["examples"]["pointwise"]["train"]
    overall = m["test"]["overall"]
    assert overall["n"] == test.num_rows
    for scorer in ("rm", "verifier", "length", "random"):
        assert {"n", "auc", "auc_low", "auc_high"} <= set(overall[scorer])
    assert "ece" in overall["rm"] and "ece" not in overall["length"]
    assert overall["verifier"]["n"] == sum(scores["verifiable"].to_pylist())
    assert set(m["test"]["by_type"]) == set(test["type"].to_pylist())
    assert set(m["test"]["by_family"]) == set(test["family"].to_pylist())
    assert m["training"]["steps"] > 0 and m["training"]["world_size"] == 1
    assert m["training"]["train_loss_final"] is not None and m["training"]["eval_loss_final"] is not None
    assert m["test_pairs"]["n"] > 0 and "accuracy" in m["test_pairs"]["rm"]
    text = json.dumps(m)
    assert "runtime" not in text and "per_second" not in text  # nothing time-dependent in metrics

    train_curve = paths.plots[0].read_text().splitlines()
    eval_curve = paths.plots[1].read_text().splitlines()
    assert train_curve[0] == eval_curve[0] == "step\tloss"
    steps = [int(line.split("\t")[0]) for line in train_curve[1:]]
    assert steps == sorted(steps) and steps[-1] <= m["training"]["steps"]
    assert int(eval_curve[-1].split("\t")[0]) == m["training"]["steps"]  # the eval curve ends at the last step
    assert not list((root / "dvclive/train_rm").glob("*.json"))  # no dvclive summary fighting our metrics

    rendered = report.render()
    assert "world size 1" in rendered and "re-load check" in rendered
    for scorer in ("rm", "verifier", "length", "random"):
        assert f"    {scorer} " in rendered
    assert "examples/s" in rendered


def test_same_seed_same_bytes(pointwise_run, tiny_encoder, tmp_path):
    root, _, _ = pointwise_run
    _train(tmp_path, _config(tiny_encoder))
    for name in ("model.safetensors", "config.json", "tokenizer.json", "wrl_reward_model.json"):
        assert (tmp_path / "models/reward_model" / name).read_bytes() == \
            (root / "models/reward_model" / name).read_bytes(), name
    a, b = _metrics(root), _metrics(tmp_path)
    assert a == b


def test_rerun_resumes_from_the_finished_checkpoint_and_stale_ones_are_removed(pointwise_run, tiny_encoder,
                                                                                 tmp_path):
    import shutil

    root = tmp_path / "p"
    shutil.copytree(pointwise_run[0], root)
    def artifact() -> dict[str, bytes]:  # every file of the model directory, config.json included
        return {f.name: f.read_bytes() for f in sorted((root / "models/reward_model").iterdir())}

    before = artifact()
    report, _ = _train(root, _config(tiny_encoder), write=False)
    assert "resumed from checkpoint-" in report.render() and "(0 in this run" in report.render()
    assert artifact() == before
    # Other settings: the old checkpoints cannot be resumed and are removed; a half-written one too.
    ckpt = root / "checkpoints/train_rm"
    (ckpt / "checkpoint-999").mkdir()
    report, _ = _train(root, _config(tiny_encoder, seed=1), write=False)
    assert "resumed" not in report.render()
    assert not (ckpt / "checkpoint-999").exists()
    assert (ckpt / FINGERPRINT_FILE).exists()


# --- the pairwise objective, and a decoder backbone ------------------------------------------------


def test_pairwise_trains_a_one_label_model_through_trl(tiny_encoder, tmp_path):
    report, _ = _train(tmp_path, _config(tiny_encoder, objective="pairwise", center_rewards_coefficient=0.01,
                                         max_train_examples=10))
    rm = RewardModel.load(tmp_path / "models/reward_model", device="cpu")
    assert rm.model.config.num_labels == 1 and rm.settings.objective == "pairwise"
    m = _metrics(tmp_path)
    assert m["objective"] == "pairwise" and m["examples"]["trained_on"] == 10
    assert m["examples"]["train_available"] == m["examples"]["pairwise"]["train"] > 10
    assert "10 train pairs (drawn from" in report.render()
    scores = pq.read_table(tmp_path / "data/rm/test_scores.parquet")
    assert np.all((scores["score"].to_numpy() > 0) & (scores["score"].to_numpy() < 1))


def test_pair_collator_keeps_token_types_and_pads_right():
    from wrl.stages.train_rm import PairCollator

    batch = PairCollator(0)([{"chosen_ids": [5, 6, 7], "rejected_ids": [5, 8], "chosen_token_type_ids": [0, 1, 1],
                              "rejected_token_type_ids": [0, 1]}])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, 8, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["token_type_ids"].tolist() == [[0, 1, 1], [0, 1, 0]]


def test_decoder_whose_pad_is_eos_gets_its_own_pad_token(tiny_decoder, tmp_path):
    import shutil

    from transformers import AutoTokenizer

    backbone = tmp_path / "decoder"
    shutil.copytree(tiny_decoder, backbone)
    tok = AutoTokenizer.from_pretrained(backbone)
    tok.pad_token = tok.eos_token  # as many causal LMs ship
    tok.save_pretrained(backbone)
    vocab = len(tok)
    _train(tmp_path / "p", _config(backbone))
    out = tmp_path / "p/models/reward_model"
    rm = RewardModel.load(out, device="cpu")
    assert rm.tokenizer.pad_token == ADDED_PAD_TOKEN and rm.tokenizer.pad_token_id != rm.tokenizer.eos_token_id
    assert rm.model.config.pad_token_id == rm.tokenizer.pad_token_id
    assert rm.model.get_input_embeddings().weight.shape[0] == vocab + 1
    assert RewardModelSettings.read(out).extra["pad_token_added"] is True
    scores = pq.read_table(tmp_path / "p/data/rm/test_scores.parquet")
    assert scores.num_rows > 0


# --- baselines and statistics ---------------------------------------------------------------------


def test_length_baseline_sign_is_chosen_on_train(tiny_encoder, tmp_path):
    """Label-1 responses made much shorter: the length baseline turns to 'shorter is better' and wins."""
    pointwise, pairwise = rm_tables.tables(40)
    responses = [r if label == 1 else r + " one two three four five six seven eight nine ten" * 6
                 for r, label in zip(pointwise["response"].to_pylist(), pointwise["label"].to_pylist(), strict=True)]
    pointwise = pointwise.set_column(pointwise.column_names.index("response"), "response", pa.array(responses))
    pointwise = pointwise.drop_columns(["response_chars"])  # measured from the text when absent
    _train(tmp_path, _config(tiny_encoder, trainer={**TRAINER, "max_steps": 2}), tables=(pointwise, pairwise))
    m = _metrics(tmp_path)
    assert m["length_baseline"]["direction"] == "shorter" and m["length_baseline"]["train_auc"] == 1.0
    assert m["test"]["overall"]["length"]["auc"] == 1.0 and m["test"]["overall"]["length"]["accuracy"] == 1.0


def test_statistics_against_brute_force():
    rng = np.random.default_rng(1)
    y = (rng.random(200) < 0.4).astype(float)
    s = np.round(y * 0.3 + rng.random(200), 1)  # with ties
    pos, neg = s[y == 1], s[y == 0]
    brute = np.mean([(p > q) + 0.5 * (p == q) for p in pos for q in neg])
    assert roc_auc(y, s) == pytest.approx(brute)
    assert np.isnan(roc_auc(np.ones(5), np.arange(5.0)))
    assert accuracy(np.array([1, 0, 1]), np.array([0.7, 0.2, 0.4])) == pytest.approx(2 / 3)
    assert ece(np.array([1, 0]), np.array([1.0, 0.0])) == 0
    assert ece(np.array([0, 0]), np.array([0.95, 0.95])) == pytest.approx(0.95)
    assert pair_accuracy(np.array([2.0, 1.0, 3.0]), np.array([1.0, 1.0, 4.0])) == pytest.approx(0.5)
    assert best_threshold(np.array([0, 0, 1, 1]), np.array([1.0, 2.0, 3.0, 4.0])) == 3.0
    a = scorer_metrics(y, s, seed=0, name="x", calibration=False, resamples=200)
    assert a == scorer_metrics(y, s, seed=0, name="x", calibration=False, resamples=200)  # seeded
    assert a["auc_low"] < a["auc"] < a["auc_high"]
    small = scorer_metrics(y[:10], s[:10], seed=0, name="x", resamples=200)
    assert small["n"] == 10 and small["auc_low"] is None  # too few for an interval: n and the value only


# --- bad input and params -------------------------------------------------------------------------


def test_bad_labels_are_rejected_with_their_reason(tiny_encoder, tmp_path):
    pointwise, pairwise = rm_tables.tables(40)
    labels = pointwise["label"].cast(pa.int64()).to_pylist()
    labels[0], labels[3] = 2, None
    pointwise = pointwise.set_column(pointwise.column_names.index("label"), "label", pa.array(labels, pa.int64()))
    splits = pointwise["split"].to_pylist()
    splits[5] = "validation"
    pointwise = pointwise.set_column(pointwise.column_names.index("split"), "split", pa.array(splits))
    report, paths = _train(tmp_path, _config(tiny_encoder, trainer={**TRAINER, "max_steps": 1}),
                           tables=(pointwise, pairwise))
    rejects = pq.read_table(paths.rejects).to_pylist()
    assert [(r["row"], r["reason_kind"]) for r in rejects] == [(0, "bad_label"), (3, "bad_label"), (5, "bad_split")]
    assert rejects[0]["reason"] == "pointwise.parquet: label must be 0 or 1, got 2"
    assert report.rows_in == report.rows_out + 3
    assert _metrics(tmp_path)["rejects"]["by_reason"] == {"bad_label": 2, "bad_split": 1}


def test_missing_label_column_and_empty_train_split_are_clear_errors(tiny_encoder, tmp_path):
    pointwise, pairwise = rm_tables.tables(20)
    with pytest.raises(DatasetError, match=r"pointwise\.parquet: no 'label' column"):
        _train(tmp_path / "a", _config(tiny_encoder), tables=(pointwise.drop_columns(["label"]), pairwise))
    no_train = pointwise.filter(pc.not_equal(pointwise["split"], "train"))
    with pytest.raises(DatasetError, match="the train split is empty"):
        _train(tmp_path / "b", _config(tiny_encoder), tables=(no_train, pairwise))
    assert not (tmp_path / "b/models/reward_model").exists()


def test_params_are_checked_before_any_work():
    with pytest.raises(ParamsError, match=r"train_rm\.trainer\.output_dir is set by the stage"):
        TrainRMConfig(trainer={"output_dir": "x"})
    with pytest.raises(ParamsError, match="center_rewards_coefficient applies to objective pairwise"):
        TrainRMConfig(center_rewards_coefficient=0.01)
    with pytest.raises(ParamsError, match=r"train_rm\.launch\.processes must be >= 1"):
        params_from_dict({"train_rm": {"launch": {"processes": 0}}})
    with pytest.raises(ParamsError, match=r"before \{response\}"):
        TrainRMConfig(template="{response} {requirement}")
    from wrl.config import wrapped

    with pytest.raises(ParamsError, match=r"unknown key 'train_rm\.trainer\.learnin_rate' \(did you mean "
                                          r"'train_rm\.trainer\.learning_rate'"):
        wrapped(TrainRMConfig(trainer={"learnin_rate": 1.0}), "trainer", output_dir="x")


# --- the DVC script: errors, resume after a kill, two processes ------------------------------------


def _script(root: Path, params: dict, *extra: str) -> list[str]:
    (root / "params.yaml").write_text(yaml.safe_dump({"train_rm": params}))
    p = _paths(root)
    return [sys.executable, str(REPO / "pipeline/train_rm.py"), *map(str, (*p.inputs, *p.outputs)),
            "--rejects", str(p.rejects), "--metrics", str(p.metrics), "--plots", *map(str, p.plots),
            "--params", str(root / "params.yaml"), "--threads", "1", *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}


def test_script_error_is_one_line(tiny_encoder, tmp_path):
    pointwise, pairwise = rm_tables.tables(10)
    (tmp_path / "data/rm").mkdir(parents=True)
    pq.write_table(pointwise.drop_columns(["label"]), tmp_path / "data/rm/pointwise.parquet")
    pq.write_table(pairwise, tmp_path / "data/rm/pairwise.parquet")
    proc = subprocess.run(_script(tmp_path, {"backbone": str(tiny_encoder)}), cwd=tmp_path, env=_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "train_rm: error: " in proc.stderr and "no 'label' column" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_killed_run_resumes_to_the_same_model(tiny_encoder, tmp_path):
    """Killed (SIGKILL) after its first checkpoint, a re-run resumes there and ends with the weights of an
    uninterrupted run, byte for byte."""
    params = {"backbone": str(tiny_encoder), "max_length": 64, "bootstrap_resamples": 100,
              "trainer": {"num_train_epochs": 3, "per_device_train_batch_size": 2, "save_steps": 10,
                          "eval_steps": 100, "logging_steps": 10}}
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    for root in (whole, killed):
        rm_tables.write(root / "data/rm", 40)
    subprocess.run(_script(whole, params), cwd=whole, env=_env(), check=True, capture_output=True)

    proc = subprocess.Popen(_script(killed, params), cwd=killed, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ckpt = killed / "checkpoints/train_rm"
    deadline = time.monotonic() + 120
    while not list(ckpt.glob("checkpoint-*/trainer_state.json")) and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (killed / "models/reward_model").exists()

    out = subprocess.run(_script(killed, params), cwd=killed, env=_env(), check=True, capture_output=True,
                         text=True).stdout
    assert "resumed from checkpoint-" in out
    for name in ("model.safetensors", "config.json", "wrl_reward_model.json"):
        assert (killed / "models/reward_model" / name).read_bytes() == \
            (whole / "models/reward_model" / name).read_bytes(), name
    assert _metrics(killed) == _metrics(whole)
    for a, b in zip(_paths(killed).plots, _paths(whole).plots, strict=True):
        assert a.read_text() == b.read_text()  # the curves too: the history before the kill is replayed


def test_two_cpu_processes_over_gloo(tiny_encoder, tmp_path):
    rm_tables.write(tmp_path / "data/rm", 30)
    params = {"backbone": str(tiny_encoder), "max_length": 64, "bootstrap_resamples": 100, "eval_examples": 16,
              "trainer": {**TRAINER, "save_steps": 100}, "launch": {"processes": 2}}
    proc = subprocess.run(_script(tmp_path, params), cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "launching 2 processes: accelerate launch" in proc.stdout
    assert "rank 1 of world size 2: trained" in proc.stdout  # the second rank trained and said so
    assert ", world size 2, final train loss" in proc.stdout  # rank 0's report
    assert _metrics(tmp_path)["training"]["world_size"] == 2
    rm = RewardModel.load(tmp_path / "models/reward_model", device="cpu")
    assert len(rm.score_pairs(["include the word bird"], ["a bird ."])) == 1


def test_wrl_cli_runs_the_stage(tiny_encoder, tmp_path):
    """``wrl train_rm`` takes the same paths, the section's fields as options, and writes no curves unless asked."""
    rm_tables.write(tmp_path / "data/rm", 20)
    p = _paths(tmp_path)
    proc = subprocess.run([sys.executable, "-c", "from wrl.cli import main; main()", "train_rm",
                           *map(str, (*p.inputs, *p.outputs)), "--backbone", str(tiny_encoder), "--max-length", "64",
                           "--bootstrap-resamples", "100", "--threads", "1"], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "train_rm: rows in" in proc.stdout
    assert (tmp_path / "data/rm/test_scores.rejects.parquet").exists()  # the CLI's default rejects path
    assert RewardModelSettings.read(tmp_path / "models/reward_model").max_length == 64
    assert not (tmp_path / "dvclive").exists()
