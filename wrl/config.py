"""Typed configuration of the pipeline: one dataclass per section of ``params.yaml``.

Each section of ``params.yaml`` (``data``, ``parse``, ``drop``, ...) is a frozen dataclass whose
fields carry their help text, allowed values and range in ``metadata``; that metadata is the one
source of truth for what a parameter means (``python -m wrl.config --describe`` prints it). Values
are checked when a config is built, so a stage that calls :func:`load_params` first fails before
doing any work, with an error that names the key and lists the valid keys or values.

Adding a stage: write its ``@dataclass(frozen=True)`` section here with ``_key`` set, add it as
a field of :class:`Params`, and add the section to ``params.yaml``.

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

import dataclasses
import difflib
import math
import os
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from wrl._core import InvalidConfigError
from wrl.requirements import (
    MAX_BYTES_MAX,
    MAX_REQUIREMENTS_MAX,
    MAX_VARIANTS_MAX,
    SEED_MAX,
    DropSettings,
    ParseLimits,
)

DATA_SOURCES = ("synth", "ifeval", "writingbench", "generic")
DROP_STRATEGIES = ("independent", "exact_k", "progressive")


class ParamsError(InvalidConfigError):
    """A key or value of ``params.yaml`` is invalid. The message names the key and what is valid."""


def _field(default: Any, help: str, *, choices: tuple[Any, ...] | None = None, min: float | None = None,
           max: float | None = None) -> Any:
    """A dataclass field with its help text, allowed values and inclusive range in ``metadata``."""
    meta = {"help": help, "choices": choices, "min": min, "max": max}
    if dataclasses.is_dataclass(default):
        return field(default_factory=lambda: default, metadata=meta)
    return field(default=default, metadata=meta)


def _type_name(tp: Any) -> str:
    if isinstance(tp, types.UnionType):
        return " or ".join(_type_name(t) for t in typing.get_args(tp))
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
    return isinstance(value, tp)


class _Section:
    """Mixin: checks every field's type, choices and range after ``__init__``."""

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


@dataclass(frozen=True)
class SplitConfig(_Section):
    """Shares of the train/dev/test splits. Assignment hashes each id, so it is stable as data grows."""

    _key: ClassVar[str] = "data.splits"

    train: float = _field(0.8, "Share of instructions in the train split.", min=0.0, max=1.0)
    dev: float = _field(0.1, "Share of instructions in the dev split.", min=0.0, max=1.0)
    test: float = _field(0.1, "Share in the test split (progressive variants for WEval).", min=0.0, max=1.0)
    seed: int = _field(0, "Seed of the split assignment.", min=0, max=SEED_MAX)

    def check(self) -> None:
        total = self.train + self.dev + self.test
        if abs(total - 1.0) > 1e-6:
            raise ParamsError(f"data.splits.train + dev + test must sum to 1, got {self.train} + {self.dev} + "
                              f"{self.test} = {total:g}")


@dataclass(frozen=True)
class DataConfig(_Section):
    """Parameters of the ``data`` stage: where instructions come from and how they are split."""

    _key: ClassVar[str] = "data"

    source: str = _field("synth", "Instruction source: synth (generated, with gold requirements), ifeval, "
                         "writingbench or generic (any file with a prompt column).", choices=DATA_SOURCES)
    path: str = _field("examples/instructions.jsonl", "Input file for ifeval/writingbench/generic (Parquet, JSONL "
                       "or CSV). A dependency of the data stage; synth ignores it.")
    n: int = _field(20_000, "Instructions to synthesize (synth), or the most rows to read (other sources).", min=1)
    seed: int = _field(0, "Seed of synthesis and sampling.", min=0, max=SEED_MAX)
    zh_share: float = _field(0.1, "Share of Chinese instructions (synth).", min=0.0, max=1.0)
    prompt_column: str = _field("prompt", "Column holding the instruction text (generic).")
    splits: SplitConfig = _field(SplitConfig(), "Split shares and seed.")

    def check(self) -> None:
        if not self.prompt_column:
            raise ParamsError("data.prompt_column must be a non-empty column name")
        if self.source != "synth" and not self.path:
            raise ParamsError(f"data.path must name an input file when data.source is {self.source!r}")


@dataclass(frozen=True)
class ParseConfig(_Section):
    """Parameters of the ``parse`` stage: limits past which an instruction is rejected, not parsed."""

    _key: ClassVar[str] = "parse"

    max_bytes: int = _field(ParseLimits.max_bytes, "Reject instructions longer than this many UTF-8 bytes.", min=1,
                            max=MAX_BYTES_MAX)
    max_requirements: int = _field(ParseLimits.max_requirements, "Reject instructions with more requirements.",
                                   min=1, max=MAX_REQUIREMENTS_MAX)

    def limits(self) -> ParseLimits:
        return ParseLimits(max_bytes=self.max_bytes, max_requirements=self.max_requirements)


@dataclass(frozen=True)
class DropConfig(_Section):
    """Parameters of the ``drop`` stage.

    Train and dev instructions get training variants drawn with ``strategy``/``rate``/``k``; test
    instructions get progressive variants (variant j drops j requirements, nested), which WEval
    ranks.
    """

    _key: ClassVar[str] = "drop"

    strategy: str = _field("independent", "How train/dev variants drop requirements: independent (each with "
                           "probability rate), exact_k (exactly k) or progressive (nested 1..n).",
                           choices=DROP_STRATEGIES)
    rate: float = _field(0.5, "Drop probability per requirement (independent).", min=0.0, max=1.0)
    k: int = _field(1, "Requirements dropped per variant (exact_k).", min=1, max=MAX_REQUIREMENTS_MAX)
    seed: int = _field(0, "Seed of the draw; with each instruction id it fixes that instruction's variants.", min=0,
                       max=SEED_MAX)
    max_variants: int = _field(4, "Most dropped variants per train/dev instruction (variant 0, nothing dropped, is "
                               "always kept).", min=1, max=MAX_VARIANTS_MAX)
    test_max_variants: int = _field(8, "Most progressive variants per test instruction (drops 0..k).", min=1,
                                    max=MAX_VARIANTS_MAX)

    def train_settings(self) -> DropSettings:
        """Settings for the train and dev splits."""
        return DropSettings(strategy=self.strategy, rate=self.rate, k=self.k, seed=self.seed,
                            max_variants=self.max_variants)

    def test_settings(self) -> DropSettings:
        """Settings for the test split: progressive drops for WEval."""
        return DropSettings(strategy="progressive", rate=self.rate, k=self.k, seed=self.seed,
                            max_variants=self.test_max_variants)


@dataclass(frozen=True)
class Params:
    """All of ``params.yaml``, one field per section."""

    data: DataConfig = field(default_factory=DataConfig, metadata={"help": "The data stage."})
    parse: ParseConfig = field(default_factory=ParseConfig, metadata={"help": "The parse stage."})
    drop: DropConfig = field(default_factory=DropConfig, metadata={"help": "The drop stage."})


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


def params_from_dict(raw: dict[str, Any] | None, *, source: str = "params.yaml") -> Params:
    """Validate a parsed ``params.yaml``; missing keys take their defaults.

    Raises:
        ParamsError: an unknown section or key, a value of the wrong type or out of range.
    """
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


def describe(cls: type = Params, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """Every parameter as ``(key, type, default, help)``, with choices and ranges in the help."""
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
