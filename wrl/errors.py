"""The one family of errors wrl raises to its users: every one derives from :class:`WrlError`.

:class:`WrlError` is a ``ValueError`` (as pydantic-core's ``ValidationError`` is), so code that
catches ``ValueError`` keeps working. The engine's errors are created in the Rust bindings
(``wrl._core``) under the same root; the Python-side ones are declared here. The CLI and the stages
catch :class:`WrlError` alone and print it as one ``error:`` line (exit status 2).

- :class:`InvalidInstructionError`: an instruction text is unusable (empty, too long, ...).
- :class:`InvalidRequirementsError`: structured requirements (IFEval kwargs, a list) are malformed.
- :class:`UnknownInstructionIdError`: an IFEval instruction id the taxonomy does not know.
- :class:`InvalidConfigError`: a setting is out of range; :class:`ParamsError` names the
  ``params.yaml`` key.
- :class:`DatasetError`: a file is missing, truncated, corrupt, unwritable or of an unknown format.
- :class:`ModelError`: a model cannot be found or loaded, a backend is not installed, a model
  server refuses or answers garbage.
- :class:`InternalError`: a bug in wrl (a caught engine panic); the message asks for a report.
"""

from __future__ import annotations

from wrl._core import (
    InternalError,
    InvalidConfigError,
    InvalidInstructionError,
    InvalidRequirementsError,
    UnknownInstructionIdError,
    WrlError,
)

__all__ = [
    "DatasetError",
    "InternalError",
    "InvalidConfigError",
    "InvalidInstructionError",
    "InvalidRequirementsError",
    "ModelError",
    "ParamsError",
    "UnknownInstructionIdError",
    "WrlError",
]


class DatasetError(WrlError):
    """A dataset file is missing, truncated, corrupt, unwritable or of an unknown format, or a table lacks a
    column it needs. Names the file or the column."""


class ParamsError(InvalidConfigError):
    """A key or value of ``params.yaml`` is invalid. The message names the key and what is valid."""


class ModelError(WrlError):
    """A model path or id cannot be found or loaded, an optional backend is not installed, or a model server
    times out, refuses or answers something that is not what was asked. Names the model or the server."""
