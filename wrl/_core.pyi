"""Type stubs for the Rust extension ``wrl._core`` (rust_ext/py)."""

from typing import Any

import pyarrow as pa

__all__ = [
    "__version__",
    "MAX_VARIANTS",
    "WrlError",
    "InvalidInstructionError",
    "InvalidRequirementsError",
    "UnknownInstructionIdError",
    "InvalidConfigError",
    "InternalError",
    "lexicon_json",
    "taxonomy_json",
    "segment_json",
    "parse_json",
    "rewrite",
    "parse_batch",
    "drop_batch",
    "verify_json",
    "verify_batch",
    "detect_language",
]

__version__: str
MAX_VARIANTS: int

class WrlError(ValueError):
    """Base class of every wrl error."""

class InvalidInstructionError(WrlError):
    """The instruction text is unusable (empty, too long, too many requirements)."""

class InvalidRequirementsError(WrlError):
    """Structured requirements (IFEval kwargs or a requirements list) are malformed."""

class UnknownInstructionIdError(WrlError):
    """An IFEval instruction id that the taxonomy does not know."""

class InvalidConfigError(WrlError):
    """A configuration value or an input column is invalid."""

class InternalError(WrlError):
    """A bug in wrl, not in the input (a caught panic of the core): please report it."""

def lexicon_json() -> str:
    """The compiled lexicon (patterns and word lists, from ``rust_ext/core/lexicon/``) as JSON."""

def taxonomy_json() -> str:
    """Requirement types, families, and the IFEval id and kwargs mapping, as JSON."""

def segment_json(text: str) -> str:
    """Sentences, list items and clauses of ``text`` in byte offsets, as JSON."""

def parse_json(
    text: str,
    *,
    instruction_id_list: list[str] | None = None,
    kwargs: str | None = None,
    requirements: str | None = None,
    max_bytes: int = 65536,
    max_requirements: int = 64,
) -> str:
    """Parse one instruction; returns JSON of ``{base_task, script, requirements}``."""

def rewrite(text: str, requirements: str, dropped: list[str]) -> str:
    """``text`` without the spans of the requirements (JSON list) whose ids are in ``dropped``."""

def parse_batch(
    table: Any,
    *,
    prompt_column: str = "prompt",
    id_column: str = "id",
    max_bytes: int = 65536,
    max_requirements: int = 64,
    threads: int = 0,
    batch_bytes: int = ...,  # 1 GiB of text per output batch (Arrow strings hold 2 GiB)
) -> tuple[pa.Table, pa.Table]:
    """Parse an Arrow table of instructions; returns ``(parsed, rejects)``."""

def drop_batch(
    table: Any,
    *,
    strategy: str = "independent",
    rate: float = 0.5,
    k: int = 1,
    seed: int = 0,
    max_variants: int = 4,
    threads: int = 0,
    batch_bytes: int = ...,  # 1 GiB of text per output batch (Arrow strings hold 2 GiB)
) -> tuple[pa.Table, pa.Table]:
    """Draw requirement-dropped variants of a parsed table; returns ``(variants, rejects)``."""

def verify_json(
    response: str,
    *,
    requirements: str | None = None,
    instruction_id_list: list[str] | None = None,
    kwargs: str | None = None,
    prompt: str | None = None,
    max_bytes: int = ...,  # 1 MiB
) -> str:
    """Verify one response against requirements (JSON list of ``{type, params}``), IFEval ids + kwargs
    (JSON list), or a prompt parsed on the fly; returns a JSON list of per-requirement verdicts."""

def verify_batch(
    table: Any,
    *,
    response_column: str = "response",
    prompt_column: str = "prompt",
    id_column: str = "id",
    max_bytes: int = ...,  # 1 MiB
    threads: int = 0,
) -> tuple[pa.Table, pa.Table]:
    """Verify an Arrow table of responses and their requirements; returns ``(results, rejects)``."""

def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language (whatlang), or None when it has no letters."""
