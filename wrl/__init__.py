"""wrl: fine-grained, requirement-level reward models for writing.

The fast engine lives in the Rust extension ``wrl._core``; this package wraps it with typed
Python objects, a pure-Python reference engine, the data pipeline and the command-line tool.
"""

from wrl._core import (
    InvalidConfigError,
    InvalidInstructionError,
    InvalidRequirementsError,
    UnknownInstructionIdError,
    WrlError,
)
from wrl.requirements import ParsedInstruction, Requirement, drop_table, parse, parse_table, rewrite

__version__ = "0.1.0"

__all__ = [
    "InvalidConfigError",
    "InvalidInstructionError",
    "InvalidRequirementsError",
    "ParsedInstruction",
    "Requirement",
    "UnknownInstructionIdError",
    "WrlError",
    "drop_table",
    "parse",
    "parse_table",
    "rewrite",
]
