"""Running a stage on several processes (GPUs, or CPU processes over gloo) through ``accelerate launch``.

A training stage with ``launch.processes > 1`` that is not already under a launcher re-executes
itself: its section is written to a temporary params file and ``accelerate launch`` starts
``python -m wrl.launch STAGE <the same paths> --params TMP`` once per process. Each process runs the
stage as usual (``pipeline_main``), sees ``LOCAL_RANK``/``WORLD_SIZE``, and only rank 0 writes the
artifacts. ``launch.config`` names an accelerate config file (``configs/accelerate/zero3.yaml``) for
DeepSpeed or FSDP; without one, plain DDP (NCCL on GPUs, gloo on CPU).

Example:
    >>> if processes > 1 and not under_launcher():                    # doctest: +SKIP
    ...     return relaunch(STAGE, cfg, paths, ctx, processes=processes, config_file=config)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import yaml

from wrl.batching import worker_threads
from wrl.config import Section, as_dict, param
from wrl.errors import ParamsError, WrlError

if TYPE_CHECKING:
    from wrl.stage import Context, Paths, Stage

#: Set by every launcher we know (torchrun, accelerate, deepspeed): a process already under one.
LAUNCHER_ENV = ("LOCAL_RANK", "WORLD_SIZE")


@dataclass(frozen=True)
class LaunchConfig(Section):
    """How many processes a training stage runs on, and with which accelerate config.

    A stage subclasses it with its own ``_key`` (``train_rm.launch``), so errors name the full key.
    """

    _key: ClassVar[str] = "launch"

    processes: int = param(1, "Processes (GPUs, or CPU processes over gloo) to train on; above 1 the stage "
                           "re-executes itself under `accelerate launch`.", min=1, max=4096)
    config: str | None = param(None, "An accelerate config file (configs/accelerate/zero3.yaml, fsdp.yaml, ...) "
                               "for DeepSpeed or FSDP; null for plain DDP.")


def under_launcher() -> bool:
    """Whether this process was started by a distributed launcher."""
    return any(name in os.environ for name in LAUNCHER_ENV)


def rank() -> int:
    """This process's global rank (0 when not distributed)."""
    return int(os.environ.get("RANK", 0))


def world_size() -> int:
    """Processes in the run (1 when not distributed)."""
    return int(os.environ.get("WORLD_SIZE", 1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stage_argv(spec: Stage, paths: Paths) -> list[str]:
    """The command-line arguments of ``pipeline_main`` that give back ``paths``."""
    argv = [str(p) for p in (*paths.inputs, *paths.outputs)]
    if spec.rejects and paths.rejects is not None:
        argv += ["--rejects", str(paths.rejects)]
    if paths.metrics is not None:
        argv += ["--metrics", str(paths.metrics)]
    if paths.plots:
        argv += ["--plots", *map(str, paths.plots)]
    return argv


def launch_command(spec: Stage, paths: Paths, params_file: Path, *, processes: int, config_file: str | None,
                   threads: int, gpu: bool) -> list[str]:
    """The ``accelerate launch`` command line that runs stage ``spec`` on ``processes`` processes."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes)]
    if config_file:  # it says how many machines, and where the main one listens
        cmd += ["--config_file", config_file]
    else:
        cmd += ["--multi_gpu", "--num_machines", "1", "--main_process_port", str(_free_port()),
                "--mixed_precision", "no", "--dynamo_backend", "no"]
    if not gpu:
        cmd += ["--num_cpu_threads_per_process", str(max(1, threads // processes))]
    cmd += ["-m", "wrl.launch", spec.name, *stage_argv(spec, paths), "--params", str(params_file),
            "--threads", str(max(1, threads // processes) if not gpu else threads)]
    return cmd


def relaunch(spec: Stage, cfg: Section, paths: Paths, ctx: Context, *, processes: int,
             config_file: str | None) -> int:
    """Run stage ``spec`` with section ``cfg`` on ``processes`` processes; returns when all have finished.

    The children read ``cfg`` from a temporary params file (so a section given on the ``wrl``
    command line travels too) and inherit stdout and stderr: each rank prints its report.

    Raises:
        ParamsError: the accelerate config file does not exist.
        WrlError: a process failed (its error is printed above).
    """
    import torch

    if config_file and not Path(config_file).is_file():
        raise ParamsError(f"{cfg._key}.launch.config: no such accelerate config file: {config_file}")
    threads = worker_threads(ctx.threads) or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                              else os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="wrl-launch-") as tmp:
        params_file = Path(tmp) / "params.yaml"
        params_file.write_text(yaml.safe_dump({cfg._key: as_dict(cfg)}, sort_keys=False), encoding="utf-8")
        cmd = launch_command(spec, paths, params_file, processes=processes, config_file=config_file,
                             threads=threads, gpu=torch.cuda.is_available())
        print(f"{spec.name}: launching {processes} processes: accelerate launch {' '.join(cmd[3:])}", flush=True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
        proc = subprocess.run(cmd, env=env, check=False)
    if proc.returncode != 0:
        raise WrlError(f"the {processes}-process run failed (exit status {proc.returncode}); its error is above")
    return processes


if __name__ == "__main__":
    from wrl.stage import pipeline_main

    pipeline_main(sys.argv[1], sys.argv[2:])
