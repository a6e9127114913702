"""Requirements: the typed model, the taxonomy, and the fast parse/drop engine (``wrl._core``).

A writing instruction becomes its base task plus an ordered list of requirements, each with a
type from the taxonomy, a character span in the original text, its surface text and normalized
parameters. Dropping requirements rewrites the instruction without their spans.

Example:
    >>> p = parse("Write a poem about rain. Use at least 50 words and do not use any commas.")
    >>> [r.type for r in p.requirements]
    ['length', 'no_commas']
    >>> p.drop(["r2"])
    'Write a poem about rain. Use at least 50 words.'
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from wrl import _core

# Columns that parse_table consumes or writes; every other input column is carried through.
_PARSE_COLUMNS = ("prompt", "id", "kwargs", "requirements", "instruction_id_list")


@dataclass(frozen=True)
class TypeInfo:
    """One requirement type of the taxonomy."""

    name: str
    family: str
    verifiable: bool
    params: tuple[str, ...]
    description: str


@cache
def taxonomy() -> dict[str, TypeInfo]:
    """Every requirement type by name, in taxonomy order."""
    raw = json.loads(_core.taxonomy_json())
    return {
        t["name"]: TypeInfo(t["name"], t["family"], t["verifiable"], tuple(t["params"]), t["description"])
        for t in raw["types"]
    }


@cache
def ifeval_mapping() -> dict[str, str]:
    """IFEval instruction id → requirement type."""
    return {ifeval_id: rtype for ifeval_id, rtype, _ in json.loads(_core.taxonomy_json())["ifeval"]}


def requirement_params(value: Any) -> Any:
    """A requirement's params as a Python object: they arrive as JSON text (engine output, files) or as a
    mapping; text that is not JSON stays text, for the caller to reject, and null is no params."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value if value is not None else {}


@dataclass(frozen=True)
class Requirement:
    """A requirement of an instruction. ``start``/``end`` are character offsets (None if unlocated)."""

    id: str
    type: str
    start: int | None
    end: int | None
    text: str
    params: dict[str, Any] = field(default_factory=dict)
    source: str = "text"

    @property
    def family(self) -> str:
        return taxonomy()[self.type].family

    @property
    def verifiable(self) -> bool:
        return taxonomy()[self.type].verifiable

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "params": self.params,
            "source": self.source,
        }


@dataclass(frozen=True)
class ParsedInstruction:
    """An instruction split into its base task and requirements."""

    text: str
    base_task: str
    script: str
    requirements: tuple[Requirement, ...]

    def drop(self, ids: Iterable[str]) -> str:
        """The instruction rewritten without the requirements whose ids are given."""
        return rewrite(self.text, self.requirements, ids)


#: Bounds of the engine's integer settings (its seeds are 64-bit; larger limits are mistakes).
SEED_MAX = 2**64 - 1
MAX_BYTES_MAX = 1 << 30
MAX_REQUIREMENTS_MAX = 1 << 20
MAX_VARIANTS_MAX = _core.MAX_VARIANTS


def check_range(name: str, value: int, low: int, high: int) -> None:
    """Raise ``InvalidConfigError`` unless ``low <= value <= high`` (an int, not a bool)."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _core.InvalidConfigError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


@dataclass(frozen=True)
class ParseLimits:
    """Limits past which an instruction is rejected rather than parsed."""

    max_bytes: int = 65_536
    max_requirements: int = 64

    def __post_init__(self) -> None:
        check_range("parse.max_bytes", self.max_bytes, 1, MAX_BYTES_MAX)
        check_range("parse.max_requirements", self.max_requirements, 1, MAX_REQUIREMENTS_MAX)


def _from_json(text: str, payload: str) -> ParsedInstruction:
    raw = json.loads(payload)
    reqs = tuple(Requirement(**r) for r in raw["requirements"])
    return ParsedInstruction(text=text, base_task=raw["base_task"], script=raw["script"], requirements=reqs)


def parse(
    text: str,
    *,
    instruction_id_list: Sequence[str] | None = None,
    kwargs: Sequence[dict[str, Any] | None] | None = None,
    requirements: Sequence[dict[str, Any]] | None = None,
    limits: ParseLimits = ParseLimits(),
) -> ParsedInstruction:
    """Parse one instruction (for notebooks; use :func:`parse_table` for datasets).

    Args:
        text: the instruction.
        instruction_id_list, kwargs: IFEval structured requirements.
        requirements: explicit ``[{"type", "params", "text"}]`` requirements.
        limits: rejection limits.

    Raises:
        WrlError: a subclass naming what is wrong (empty text, unknown IFEval id, ...).
    """
    payload = _core.parse_json(
        text,
        instruction_id_list=list(instruction_id_list) if instruction_id_list is not None else None,
        kwargs=json.dumps(list(kwargs)) if kwargs is not None else None,
        requirements=json.dumps(list(requirements)) if requirements is not None else None,
        max_bytes=limits.max_bytes,
        max_requirements=limits.max_requirements,
    )
    return _from_json(text, payload)


def rewrite(text: str, requirements: Iterable[Requirement], dropped: Iterable[str]) -> str:
    """``text`` without the spans of the requirements whose ids are in ``dropped``."""
    reqs = json.dumps([r.to_dict() for r in requirements])
    return _core.rewrite(text, reqs, list(dropped))


def _as_string_column(table: pa.Table, name: str) -> pa.Table:
    """Cast an integer id column (or similar) to strings, so ids compare as text everywhere."""
    if name in table.column_names and not pa.types.is_string(table.schema.field(name).type):
        col = table[name]
        if pa.types.is_integer(col.type) or pa.types.is_large_string(col.type) or pa.types.is_string_view(col.type):
            table = table.set_column(table.column_names.index(name), name, pc.cast(col, pa.string()))
    return table


def _json_cell(value: Any) -> str | None:
    """One cell as JSON text; IFEval kwargs lists lose their null keys (Parquet fills absent keys)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(d, dict) for d in value):
        value = [{k: x for k, x in d.items() if x is not None} for d in value]
    return json.dumps(value, ensure_ascii=False)


def _kwargs_as_json(table: pa.Table) -> pa.Table:
    """The engine reads IFEval ``kwargs`` as one JSON string per row; Parquet and JSON readers give
    lists of structs (or, from a malformed file, anything): encode them, and let the engine reject
    a row whose kwargs are not a list of objects."""
    if "kwargs" not in table.column_names or pa.types.is_string(table.schema.field("kwargs").type):
        return table
    values = [_json_cell(v) for v in table["kwargs"].to_pylist()]
    return table.set_column(table.column_names.index("kwargs"), "kwargs", pa.array(values, pa.string()))


def parse_table(
    table: pa.Table, *, limits: ParseLimits = ParseLimits(), threads: int = 0
) -> tuple[pa.Table, pa.Table]:
    """Parse every row of ``table`` (columns: ``prompt``; optional ``id``, IFEval or requirements).

    Returns:
        ``(parsed, rejects)``. ``parsed`` carries every other input column through; each input row
        is in exactly one of the two tables (``rejects.row`` is its index in the input).
    """
    from wrl.batching import worker_threads

    table = _kwargs_as_json(_as_string_column(table, "id"))
    parsed, rejects = _core.parse_batch(
        table, max_bytes=limits.max_bytes, max_requirements=limits.max_requirements, threads=worker_threads(threads)
    )
    extra = [c for c in table.column_names if c not in _PARSE_COLUMNS and c not in parsed.column_names]
    if extra:
        carried = table.select(extra).take(parsed["row"])
        for name in extra:
            parsed = parsed.append_column(table.schema.field(name), carried[name])
    return parsed.drop_columns(["row"]), rejects


@dataclass(frozen=True)
class DropSettings:
    """How variants are drawn: see ``drop_table``."""

    strategy: str = "independent"
    rate: float = 0.5
    k: int = 1
    seed: int = 0
    max_variants: int = 4

    def __post_init__(self) -> None:
        check_range("drop.k", self.k, 1, MAX_REQUIREMENTS_MAX)
        check_range("drop.seed", self.seed, 0, SEED_MAX)
        check_range("drop.max_variants", self.max_variants, 1, MAX_VARIANTS_MAX)


def drop_table(
    parsed: pa.Table, settings: DropSettings = DropSettings(), *, threads: int = 0
) -> tuple[pa.Table, pa.Table]:
    """Draw requirement-dropped variants of every parsed instruction.

    Variant 0 of each instruction is the full instruction; the others drop requirements according
    to ``settings`` and rewrite the prompt without them. Instructions with no requirements yield
    variant 0 only.

    Returns:
        ``(variants, rejects)``; ``variants.row`` and ``rejects.row`` index ``parsed``.
    """
    from wrl.batching import worker_threads

    return _core.drop_batch(
        parsed,
        strategy=settings.strategy,
        rate=settings.rate,
        k=settings.k,
        seed=settings.seed,
        max_variants=settings.max_variants,
        threads=worker_threads(threads),
    )


class SeenIds:
    """The ids met so far, across the tables of one dataset: a later row with the same id is a duplicate."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def repeated(self, ids: pa.Array | pa.ChunkedArray) -> pa.Array:
        """True at every id seen before (in an earlier table or earlier in this one)."""
        mask = []
        for i in ids.to_pylist():
            mask.append(i in self._seen)
            self._seen.add(i)
        return pa.array(mask, pa.bool_())


def parse_new_ids(
    table: pa.Table, seen: SeenIds, *, limits: ParseLimits = ParseLimits(), threads: int = 0
) -> tuple[pa.Table, pa.Table]:
    """:func:`parse_table` on the rows whose id ``seen`` has not met yet; the others are rejected as
    duplicates. ``table`` needs an ``id`` column; ``rejects.row`` indexes it, in row order."""
    from wrl.io import REJECTS_SCHEMA, rejects_table

    index = pa.array(range(table.num_rows), pa.int64())
    dup = seen.repeated(table["id"])
    dup_rejects = rejects_table(index.filter(dup), table["id"].filter(dup), "parse", "duplicate_id",
                                "duplicate id: an earlier row has the same id")
    keep = pc.invert(dup)
    parsed, rejects = parse_table(table.filter(keep), limits=limits, threads=threads)
    rejects = rejects.set_column(0, "row", pc.take(index.filter(keep), rejects["row"])).cast(REJECTS_SCHEMA)
    return parsed, pa.concat_tables([dup_rejects, rejects]).sort_by("row")


def parse_dataset(
    table: pa.Table, *, limits: ParseLimits = ParseLimits(), threads: int = 0, progress: bool = True
) -> tuple[pa.Table, pa.Table]:
    """:func:`parse_table` over a whole dataset: chunked with a progress bar, duplicate ids rejected.

    Every input row ends up in exactly one of ``(parsed, rejects)``; ``rejects.row`` indexes the
    input table.
    """
    from wrl.batching import run_chunked

    table = _as_string_column(table, "id")
    if "id" not in table.column_names:
        table = table.append_column("id", pc.cast(pa.array(range(table.num_rows), pa.int64()), pa.string()))
    seen = SeenIds()
    return run_chunked(lambda t: parse_new_ids(t, seen, limits=limits, threads=threads), table, stage="parse",
                       desc="parse", row_column=None, progress=progress)


def drop_dataset(
    parsed: pa.Table, settings: DropSettings = DropSettings(), *, threads: int = 0, progress: bool = True
) -> tuple[pa.Table, pa.Table]:
    """:func:`drop_table` over a whole parsed dataset, chunked with a progress bar.

    Columns of ``parsed`` other than the engine's (``split``, ``category``, ...) are carried
    onto every variant.
    """
    from wrl.batching import run_chunked

    variants, rejects = run_chunked(lambda t: drop_table(t, settings, threads=threads), parsed,
                                    stage="drop", desc="drop", progress=progress)
    carry = [c for c in parsed.column_names
             if c not in variants.column_names and c not in ("requirements", "base_task", "script")]
    if carry:
        carried = parsed.select(carry).take(variants["row"])
        for name in carry:
            variants = variants.append_column(parsed.schema.field(name), carried[name])
    return variants.drop_columns(["row"]), rejects


def taxonomy_markdown() -> str:
    """The taxonomy as a Markdown table (the README embeds it; a test keeps the two equal)."""
    by_type: dict[str, list[str]] = {}
    for ifeval_id, rtype in ifeval_mapping().items():
        by_type.setdefault(rtype, []).append(f"`{ifeval_id}`")
    lines = ["| family | type | rule-verifiable | parameters | IFEval ids | meaning |",
             "|---|---|---|---|---|---|"]
    for t in taxonomy().values():
        params = ", ".join(f"`{p}`" for p in t.params) or "–"
        lines.append(f"| {t.family} | `{t.name}` | {'yes' if t.verifiable else 'no'} | {params} | "
                     f"{'<br>'.join(by_type.get(t.name, [])) or '–'} | {t.description} |")
    return "\n".join(lines)


def by_family(type_counts: Counter | dict[str, int]) -> dict[str, int]:
    """Per-type counts summed per taxonomy family (8 columns in ``dvc metrics show`` instead of 29)."""
    types = taxonomy()
    families: Counter = Counter()
    for t, n in type_counts.items():
        families[types[t].family if t in types else "unknown"] += n
    return dict(sorted(families.items()))
