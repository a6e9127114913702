"""wrl: fine-grained, requirement-level reward models for writing.

The fast engine lives in the Rust extension ``wrl._core``; this package wraps it with typed
Python objects (:mod:`wrl.requirements`, :mod:`wrl.verify`), the pipeline's stages
(:mod:`wrl.stages`, one module each) and the command-line tool (:mod:`wrl.cli`). Every error it
raises derives from :class:`WrlError` (:mod:`wrl.errors`).
"""

from wrl.errors import (
    DatasetError,
    InternalError,
    InvalidConfigError,
    InvalidInstructionError,
    InvalidRequirementsError,
    ModelError,
    ParamsError,
    UnknownInstructionIdError,
    WrlError,
)
from wrl.requirements import (
    DropSettings,
    ParsedInstruction,
    ParseLimits,
    Requirement,
    drop_dataset,
    drop_table,
    parse,
    parse_dataset,
    parse_table,
    rewrite,
    taxonomy,
)

__version__ = "0.1.0"

__all__ = [
    "DatasetError",
    "InternalError",
    "InvalidConfigError",
    "InvalidInstructionError",
    "InvalidRequirementsError",
    "ModelError",
    "DropSettings",
    "ParseLimits",
    "ParamsError",
    "ParsedInstruction",
    "Requirement",
    "UnknownInstructionIdError",
    "WrlError",
    "drop_dataset",
    "drop_table",
    "parse",
    "parse_dataset",
    "parse_table",
    "rewrite",
    "taxonomy",
]
