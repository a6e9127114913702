"""What the training stages share: checkpoints that resume only under the same fingerprint, and dvclive curves.

Resume: a stage checkpoints into its ``checkpoints`` output (``persist: true`` in dvc.yaml) beside a
fingerprint of everything that shapes training (params, the inputs' and models' bytes, world size,
library versions). A re-run after a kill resumes from the last *complete* checkpoint when the
fingerprint matches, and starts over (removing the stale checkpoints) when it does not: a directory
left by another model or another run's config is never resumed, and a checkpoint a kill cut short is
never taken for a finished one.

Curves: :func:`curves_callback` logs chosen entries of the Trainer's logs, at the Trainer's global step,
into dvclive's plot files (``DIR/plots/metrics/<name>.tsv``), replaying the history a resumed run
restored from its checkpoint, so a killed and resumed run writes the same curves as an uninterrupted one.

Example:
    >>> fp = fingerprint({"lr": 1e-5}, inputs=(), models={}, world_size=1)    # doctest: +SKIP
    >>> resume = resume_point(Path("checkpoints/grpo"), fp)                   # doctest: +SKIP
    >>> train_from(trainer, resume)                                           # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from wrl.errors import DatasetError
from wrl.launch import rank
from wrl.models import resolve

FINGERPRINT_FILE = "wrl_fingerprint.json"
#: The file the Trainer writes last into a checkpoint: a checkpoint without it was cut short.
TRAINER_STATE = "trainer_state.json"
#: Model files hashed in full below this size; larger ones (weights of hundreds of MB) by size alone.
HASH_BELOW = 1 << 24


def file_md5(path: Path) -> str:
    """The MD5 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_files(reference: str) -> dict[str, Any]:
    """What identifies a model for a fingerprint: its reference and, for a local directory, each file's hash (size
    alone for files of 16 MiB or more)."""
    source = resolve(reference)
    out: dict[str, Any] = {"reference": reference}
    if source.local:
        root = Path(source.location)
        out["files"] = {str(p.relative_to(root)): (file_md5(p) if p.stat().st_size < HASH_BELOW else p.stat().st_size)
                        for p in sorted(root.rglob("*")) if p.is_file()}
    return out


def fingerprint(params: Mapping[str, Any], *, inputs: Iterable[Path], models: Mapping[str, str], world_size: int,
                libraries: Iterable[str] = ()) -> str:
    """A hash of everything that shapes training. A checkpoint is resumed only under the same fingerprint.

    Args:
        params: the stage's parameters that change what is trained (leave out those that only change how it is
            reported).
        inputs: data files, hashed byte for byte.
        models: model references by role (``{"backbone": "models/reward_backbone"}``), hashed with
            :func:`model_files`.
        world_size: processes training (a checkpoint's optimizer and RNG states are per process).
        libraries: modules whose versions matter besides torch and transformers (``trl``).
    """
    import importlib

    import torch
    import transformers

    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    for name in libraries:
        versions[name] = getattr(importlib.import_module(name), "__version__", "unknown")
    data = {"params": dict(params), "inputs": [file_md5(Path(p)) for p in inputs],
            "world_size": world_size, "versions": versions}
    data |= {role: model_files(ref) for role, ref in models.items()}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def complete_checkpoints(directory: Path, needs: tuple[str, ...] = ()) -> list[Path]:
    """The checkpoints under ``directory`` whose trainer state was written (the Trainer writes it last), and the
    files ``needs`` too, oldest first."""
    found = []
    for path in directory.glob("checkpoint-*"):
        step = path.name.removeprefix("checkpoint-")
        if not step.isdigit():
            continue
        try:
            json.loads((path / TRAINER_STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if all((path / name).is_file() for name in needs):
            found.append((int(step), path))
    return [p for _, p in sorted(found)]


def prepare_checkpoints(directory: Path, fp: str, *, main: bool, needs: tuple[str, ...] = ()) -> Path | None:
    """The checkpoint to resume from, if ``directory`` holds one made under fingerprint ``fp``.

    On the main process, a directory made under another fingerprint is emptied (its checkpoints
    cannot be resumed with these settings), incomplete checkpoints (a kill mid-save) are removed, and
    the fingerprint is written.
    """
    marker = directory / FINGERPRINT_FILE
    try:
        same = json.loads(marker.read_text(encoding="utf-8")).get("fingerprint") == fp
    except (OSError, ValueError, AttributeError):
        same = False
    complete = complete_checkpoints(directory, needs) if same else []
    resume = complete[-1] if complete else None
    if main:
        if directory.exists() and not same:
            shutil.rmtree(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for path in directory.glob("checkpoint-*"):
            if path not in complete:
                shutil.rmtree(path, ignore_errors=True)
        marker.write_text(json.dumps({"fingerprint": fp}) + "\n", encoding="utf-8")
    return resume


def distributed_state() -> Any:
    """accelerate's ``PartialState`` (the process group, set up by the training arguments)."""
    from accelerate import PartialState

    return PartialState()


def resume_point(directory: Path, fp: str, needs: tuple[str, ...] = ()) -> Path | None:
    """:func:`prepare_checkpoints` on every process: each reads the directory before the main process cleans it."""
    state = distributed_state()
    resume = prepare_checkpoints(directory, fp, main=False, needs=needs)
    state.wait_for_everyone()
    if rank() == 0:
        prepare_checkpoints(directory, fp, main=True, needs=needs)
    state.wait_for_everyone()
    return resume


def checkpoint_step(checkpoint: Path | None) -> int:
    """The global step a checkpoint was saved at (0 for none)."""
    return int(checkpoint.name.split("-")[1]) if checkpoint else 0


class _Finished(Exception):
    """Raised at the start of training when the resumed checkpoint is already at the last step."""


def train_from(trainer: Any, resume: Path | None) -> None:
    """``trainer.train()``, resuming from ``resume``. A checkpoint already at ``max_steps`` is restored (weights,
    state, log history) without training: when ``max_steps`` ends inside an epoch, transformers would otherwise
    skip to that batch and train one step past the end."""
    from transformers import TrainerCallback

    class StopIfFinished(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if 0 < state.max_steps <= state.global_step:  # the checkpoint's weights and state are loaded by now
                raise _Finished

    stop = StopIfFinished()
    trainer.add_callback(stop)
    try:
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    except _Finished:
        pass
    finally:
        trainer.remove_callback(stop)


def curves_callback(plots: Mapping[str, Path], *, value_of: Mapping[str, str] | None = None) -> Any:
    """A Trainer callback that writes chosen log entries by global step into dvclive's plot files.

    Args:
        plots: dvclive metric name (``train/loss``) -> its plot file, which must be
            ``DIR/plots/metrics/<name>.tsv`` for one ``DIR`` shared by all.
        value_of: dvclive metric name -> the key of the Trainer's logs it reads (default: the name's last part).

    Raises:
        DatasetError: a plot path that is not in dvclive's layout.
    """
    from dvclive import Live
    from dvclive.huggingface import DVCLiveCallback

    value_of = dict(value_of or {})
    keys = {name: value_of.get(name, name.rsplit("/", 1)[-1]) for name in plots}
    first_name, first = next(iter(plots.items()))
    depth = len(Path(first_name).parts) + 2  # plots/metrics/<name parts>.tsv
    live_dir = first.parents[depth - 1]
    for name, path in plots.items():
        expected = live_dir / "plots" / "metrics" / f"{name}.tsv"
        if path != expected:
            layout = ", ".join(f"DIR/plots/metrics/{n}.tsv" for n in plots)
            got = ", ".join(map(str, plots.values()))
            raise DatasetError(f"the plots must be {layout} (dvclive's layout, one DIR); got {got}")

    class Curves(DVCLiveCallback):
        """Logs only the chosen entries, at the trainer's global step (not dvclive's own counter), and replays the
        history a resumed run restored from its checkpoint; writes no summary or params file."""

        KEYS: ClassVar[dict[str, str]] = keys

        def __init__(self) -> None:
            import logging

            logging.getLogger("dvclive").setLevel(logging.ERROR)  # the callback's deprecation notice
            super().__init__(live=Live(dir=str(live_dir), save_dvc_exp=False, dvcyaml=None, report=None))
            self.replayed = False

        def _log(self, step: int, logs: dict[str, Any]) -> None:
            for name, key in self.KEYS.items():
                value = logs.get(key)
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:  # not NaN
                    self.live.step = step
                    self.live.log_metric(name, round(float(value), 6))

        def _replay(self, state: Any) -> None:
            if not self.replayed:
                self.replayed = True
                for entry in state.log_history:
                    self._log(int(entry.get("step", 0)), entry)

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            pass  # the parameters are in params.yaml

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._replay(state)

        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._replay(state)
            self._log(state.global_step, kwargs.get("logs", {}))

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._replay(state)
            for name, path in plots.items():
                if not path.exists():  # nothing logged: an empty curve, so DVC finds the file
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(f"step\t{Path(name).name}\n", encoding="utf-8")

    return Curves()
