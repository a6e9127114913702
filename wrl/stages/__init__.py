"""The pipeline's stages, in order: one module each, declared by its ``STAGE``.

``dvc.yaml`` runs them as ``python pipeline/<name>.py``; ``wrl <name>`` runs the same function;
``params.yaml`` has one section per stage (:data:`Params`); ``wrl sql`` shows their views. Adding a
stage: its module here (section, ``run``, schemas, views, ``STAGE``), an entry in :data:`STAGES`,
its ``params.yaml`` section, its ``dvc.yaml`` entry and its tests.
"""

from __future__ import annotations

from wrl.config import params_class
from wrl.stage import Stage
from wrl.stages import (
    data,
    drop,
    eval_policy,
    grpo,
    models,
    parse,
    rm_data,
    rollout,
    train_rm,
    weval_judge,
    weval_metrics,
)

#: Every stage, in pipeline order.
STAGES: tuple[Stage, ...] = (data.STAGE, parse.STAGE, drop.STAGE, models.STAGE, rollout.STAGE, rm_data.STAGE,
                             train_rm.STAGE, weval_judge.STAGE, weval_metrics.STAGE, grpo.STAGE, eval_policy.STAGE)

#: All of ``params.yaml``: one field per stage section.
Params = params_class({s.name: s.config for s in STAGES})


def stage(name: str) -> Stage:
    """The stage called ``name``."""
    for s in STAGES:
        if s.name == name:
            return s
    raise KeyError(f"no stage {name!r}; stages: {', '.join(s.name for s in STAGES)}")
