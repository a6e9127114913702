"""The params machinery (wrl.config): sections declared beside their stage, and pass-through arguments
of a training library, checked only when the stage runs."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

import wrl.stages
from wrl.config import ParamsError, Section, describe, param, params_from_dict, wrapped

HEAVY = '''
from dataclasses import dataclass

@dataclass
class TrainingArgs:
    output_dir: str
    learning_rate: float = 5e-5
    num_train_epochs: int = 3

    def __post_init__(self):
        if self.learning_rate <= 0:
            raise ValueError("learning_rate must be positive")
'''


@pytest.fixture()
def heavy_module(tmp_path, monkeypatch):
    """A stand-in for transformers: a module that must not be imported until a stage needs it."""
    (tmp_path / "heavy_trainer_lib.py").write_text(HEAVY)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("heavy_trainer_lib", None)
    yield "heavy_trainer_lib"
    sys.modules.pop("heavy_trainer_lib", None)


@dataclass(frozen=True)
class TrainConfig(Section):
    _key: ClassVar[str] = "train"

    epochs: int = param(1, "Epochs.", min=1)
    trainer: dict[str, Any] = param({}, "Passed to TrainingArgs.", wraps="heavy_trainer_lib:TrainingArgs")


def test_wrapped_arguments_are_checked_only_when_built(heavy_module):
    cfg = TrainConfig(trainer={"learning_rate": 1e-4})
    assert heavy_module not in sys.modules  # building the section imports nothing
    args = wrapped(cfg, "trainer", output_dir="out")
    assert heavy_module in sys.modules
    assert (args.output_dir, args.learning_rate, args.num_train_epochs) == ("out", 1e-4, 3)
    with pytest.raises(ParamsError, match=r"unknown key 'train\.trainer\.learning_rat' \(did you mean "
                                          r"'train\.trainer\.learning_rate'\?\)"):
        wrapped(TrainConfig(trainer={"learning_rat": 1e-4}), "trainer", output_dir="out")
    with pytest.raises(ParamsError, match=r"train\.trainer\.output_dir is set by the stage itself"):
        wrapped(TrainConfig(trainer={"output_dir": "x"}), "trainer", output_dir="out")
    with pytest.raises(ParamsError, match=r"train\.trainer: TrainingArgs rejects the arguments: learning_rate must"):
        wrapped(TrainConfig(trainer={"learning_rate": -1.0}), "trainer", output_dir="out")
    with pytest.raises(ParamsError, match=r"train\.trainer must be dict"):
        TrainConfig(trainer=[1])  # type: ignore[arg-type]


def test_pass_through_defaults_are_not_shared():
    a, b = TrainConfig(), TrainConfig()
    assert a.trainer == {} and a.trainer is not b.trainer


def test_params_has_one_section_per_stage_in_pipeline_order():
    fields = [f.name for f in dataclasses.fields(wrl.stages.Params)]
    dvc_stages = list(yaml.safe_load((Path(__file__).parents[1] / "dvc.yaml").read_text())["stages"])
    assert fields == [s.name for s in wrl.stages.STAGES] == dvc_stages
    for s in wrl.stages.STAGES:
        assert s.config._key == s.name
        assert s.config.__module__ == f"wrl.stages.{s.name}"  # the section lives beside its stage
    keys = [key for key, *_ in describe()]
    assert "drop.test_max_variants" in keys and "data.splits.seed" in keys
    assert params_from_dict({}).parse.max_bytes == 65536
