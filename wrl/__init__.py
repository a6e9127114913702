"""wrl: fine-grained, requirement-level reward models for writing.

The fast engine lives in the Rust extension ``wrl._core``; this package wraps it with typed
Python objects, a pure-Python reference engine, the data pipeline and the command-line tool.
"""

from wrl._core import (
    InternalError,
    InvalidConfigError,
    InvalidInstructionError,
    InvalidRequirementsError,
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
    "InternalError",
    "InvalidConfigError",
    "InvalidInstructionError",
    "InvalidRequirementsError",
    "DropSettings",
    "ParseLimits",
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
