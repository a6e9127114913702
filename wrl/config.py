"""Typed configuration: the machinery behind every section of ``params.yaml``.

Each stage declares its own section next to its code (``wrl/stages/<stage>.py``): a frozen
dataclass deriving from :class:`Section`, whose fields are made with :func:`param` and carry their
help text, allowed values and range. That metadata is the one source of truth for what a parameter
means: ``python -m wrl.config --describe`` prints it, the ``wrl`` subcommands take their options and
ranges from it, and values are checked when a section is built, so a stage fails before any work
with an error that names the key and lists the valid keys or values. :class:`Params` (all of
``params.yaml``) is assembled from the stage registry, :data:`wrl.stages.STAGES`.

A section that wraps a training library's arguments (transformers ``TrainingArguments``, TRL
``RewardConfig``) declares a ``dict`` field with ``wraps="module:Class"``: its keys are passed
through and checked against that class only when the stage runs (:func:`wrapped`), so loading
``params.yaml`` never imports torch.

Example:
    >>> p = params_from_dict({"drop": {"rate": 0.3}})
    >>> p.drop.rate, p.drop.strategy
    (0.3, 'independent')
    >>> try:
    ...     params_from_dict({"drop": {"rte": 0.3}})
    ... except ParamsError as e:
    ...     print(e)  # doctest: +NORMALIZE_WHITESPACE
    params.yaml: unknown key 'drop.rte' (did you mean 'drop.rate'?);
    valid keys of 'drop': strategy, rate, k, seed, max_variants, test_max_variants
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import importlib
import math
import os
import sys
import types
import typing
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import yaml

from wrl.errors import ParamsError

if TYPE_CHECKING:
    from wrl.stages import Params

__all__ = ["Params", "ParamsError",  # noqa: F822 - Params is built on first use (__getattr__) "Section", "as_dict", "describe", "load_params", "param", "params_from_dict",
           "wrapped"]


def param(default: Any, help: str, *, choices: tuple[Any, ...] | None = None, min: float | None = None,
          max: float | None = None, wraps: str | None = None) -> Any:
    """A section field with its help text, allowed values, inclusive range and, for a ``dict`` of
    pass-through arguments, the ``"module:Class"`` it wraps, all in ``metadata``."""
    meta = {"help": help, "choices": choices, "min": min, "max": max, "wraps": wraps}
    if dataclasses.is_dataclass(default) or isinstance(default, dict):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


def _type_name(tp: Any) -> str:
    if isinstance(tp, types.UnionType):
        return " or ".join(_type_name(t) for t in typing.get_args(tp))
    tp = typing.get_origin(tp) or tp
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _accepts(tp: Any, value: Any) -> bool:
    """Whether a YAML value fits the annotation: ints are floats, bools are not numbers."""
    if isinstance(tp, types.UnionType):
        return any(_accepts(t, value) for t in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, typing.get_origin(tp) or tp)


class Section:
    """Base of a ``params.yaml`` section: checks every field's type, choices and range after ``__init__``.

    A subclass is a ``@dataclass(frozen=True)`` with ``_key`` set to its place in ``params.yaml``
    (``"drop"``, ``"data.splits"``) and its fields made with :func:`param`; it may override
    :meth:`check` for cross-field rules.
    """

    _key: ClassVar[str]

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value, tp, meta = getattr(self, f.name), hints[f.name], f.metadata
            key = f"{self._key}.{f.name}"
            if dataclasses.is_dataclass(tp):
                continue
            if not _accepts(tp, value):
                raise ParamsError(f"{key} must be {_type_name(tp)}, got {value!r} ({type(value).__name__})")
            if tp is float and not math.isfinite(value):
                raise ParamsError(f"{key} must be a finite number, got {value!r}")
            if meta.get("choices") is not None and value not in meta["choices"]:
                valid = ", ".join(map(str, meta["choices"]))
                raise ParamsError(f"{key} must be one of {valid}; got {value!r}")
            if meta.get("min") is not None and value is not None and value < meta["min"]:
                raise ParamsError(f"{key} must be >= {meta['min']}, got {value!r}")
            if meta.get("max") is not None and value is not None and value > meta["max"]:
                raise ParamsError(f"{key} must be <= {meta['max']}, got {value!r}")
            if tp is float:
                object.__setattr__(self, f.name, float(value))
        self.check()

    def check(self) -> None:
        """Cross-field checks; override in a section."""


def _unknown(key: str, valid: list[str], where: str, source: str) -> ParamsError:
    parent, _, name = key.rpartition(".")
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean '{parent + '.' if parent else ''}{close[0]}'?)" if close else ""
    return ParamsError(f"{source}: unknown key '{key}'{hint}; valid keys of {where}: {', '.join(valid)}")


def _build(cls: type, raw: Any, prefix: str, source: str) -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and recursing into sections."""
    where = f"'{prefix}'" if prefix else "params"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: {where} must be a mapping of keys, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            raise _unknown(f"{prefix}.{key}" if prefix else str(key), list(fields), where, source)
    kwargs = {}
    for name, value in raw.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            value = _build(tp, value, f"{prefix}.{name}" if prefix else name, source)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except ParamsError as e:
        raise ParamsError(f"{source}: {e}") from None


def build_section(cls: type, raw: Any, key: str, source: str = "params.yaml") -> Any:
    """Build section ``cls`` from the mapping at ``key`` of ``source`` (a section held in a ``dict`` field, such
    as one judge of ``weval_judge.judges``), with the errors :func:`load_params` gives."""
    return _build(cls, raw, key, source)


def params_class(sections: dict[str, type]) -> type:
    """The dataclass of all of ``params.yaml``: one field per stage section, in pipeline order."""
    fields = [(name, cls, field(default_factory=cls, metadata={"help": f"The {name} stage."}))
              for name, cls in sections.items()]
    return dataclasses.make_dataclass("Params", fields, frozen=True)


def __getattr__(name: str) -> Any:
    # ``Params`` depends on the stage registry, which imports this module: build it on first use.
    if name == "Params":
        from wrl.stages import Params

        return Params
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def wrapped(section: Section, name: str, **fixed: Any) -> Any:
    """Build the upstream arguments object a pass-through field wraps (imports its library now).

    Args:
        section: the section holding the field.
        name: the ``dict`` field declared with ``param(..., wraps="module:Class")``.
        fixed: arguments the stage sets itself (an output directory, a seed); a key given in both
            places is an error.

    Raises:
        ParamsError: an unknown or invalid key, named as ``section.field.key``.
    """
    meta = next(f.metadata for f in dataclasses.fields(section) if f.name == name)  # type: ignore[arg-type]
    module, _, cls_name = meta["wraps"].partition(":")
    cls = getattr(importlib.import_module(module), cls_name)
    given = getattr(section, name)
    key = f"{section._key}.{name}"
    clash = sorted(set(given) & set(fixed))
    if clash:
        raise ParamsError(f"{key}.{clash[0]} is set by the stage itself; remove it from params.yaml")
    valid = [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else None
    for arg in given:
        if valid is not None and arg not in valid:
            raise _unknown(f"{key}.{arg}", valid, f"'{key}' ({cls_name})", "params.yaml")
    try:
        return cls(**fixed, **given)
    except (TypeError, ValueError) as e:
        raise ParamsError(f"{key}: {cls_name} rejects the arguments: {e}") from None


def params_from_dict(raw: dict[str, Any] | None, *, source: str = "params.yaml") -> Params:
    """Validate a parsed ``params.yaml``; missing keys take their defaults.

    Raises:
        ParamsError: an unknown section or key, a value of the wrong type or out of range.
    """
    from wrl.stages import Params

    return _build(Params, raw, "", source)


def load_params(path: str | os.PathLike[str] = "params.yaml") -> Params:
    """Read and validate ``params.yaml``. Call it before any work, so a bad key fails fast.

    Args:
        path: the params file.

    Returns:
        The validated :class:`Params`.

    Raises:
        ParamsError: the file is missing or not YAML, or a key or value is invalid (the message
            names the key and the valid keys or values).
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such params file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ParamsError(f"{path}: not valid YAML: {e}") from None
    return params_from_dict(raw, source=str(path))


def as_dict(cfg: Any) -> dict[str, Any]:
    """A config as plain nested dicts (for metrics and logs)."""
    return dataclasses.asdict(cfg)


def describe(cls: type | None = None, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """Every parameter as ``(key, type, default, help)``, with choices and ranges in the help."""
    if cls is None:
        from wrl.stages import Params

        cls = Params
    rows = []
    hints = typing.get_type_hints(cls)
    default = cls()
    for f in dataclasses.fields(cls):
        key, tp = f"{prefix}{f.name}", hints[f.name]
        if dataclasses.is_dataclass(tp):
            rows.extend(describe(tp, f"{key}."))
            continue
        help_text = f.metadata.get("help", "")
        if f.metadata.get("choices"):
            help_text += f" One of: {', '.join(f.metadata['choices'])}."
        lo, hi = f.metadata.get("min"), f.metadata.get("max")
        if lo is not None or hi is not None:
            help_text += f" Range: [{'' if lo is None else lo}, {'' if hi is None else hi}]."
        rows.append((key, _type_name(tp), getattr(default, f.name), help_text))
    return rows


def main(argv: list[str] | None = None) -> int:
    """``python -m wrl.config [params.yaml] [--describe]``: validate a params file, or list every key."""
    args = sys.argv[1:] if argv is None else argv
    if "--describe" in args:
        print("| key | type | default | meaning |\n|---|---|---|---|")
        for key, tp, default, help_text in describe():
            print(f"| `{key}` | {tp} | `{default}` | {help_text} |")
        return 0
    path = args[0] if args else "params.yaml"
    try:
        params = load_params(path)
    except ParamsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(yaml.safe_dump(as_dict(params), sort_keys=False), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
