"""Importers: IFEval, WritingBench and any file with a prompt column, into one schema.

Every input row ends up in exactly one of ``(table, rejects)``: a malformed row is quarantined with a
reason (missing_prompt, wrong_type, missing_id, duplicate_id, invalid_utf8, invalid_json,
invalid_kwargs, unknown_instruction_id, invalid_requirements), never dropped. Files are read by
:func:`wrl.io.read_rows`; a file that cannot be read as a whole (truncated, corrupt, unknown format)
raises :class:`wrl.io.DatasetError`.

Example:
    >>> table, rejects = import_ifeval("input_data.jsonl")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from typing import Any

import pyarrow as pa

from wrl._core import InvalidConfigError
from wrl.io import REJECTS_SCHEMA, DatasetError, RawRows, compact_json, read_rows, rejects_from
from wrl.requirements import ifeval_mapping, requirement_params, taxonomy
from wrl.synth import synthesize

__all__ = ["SOURCES", "import_generic", "import_ifeval", "import_writingbench", "load_dataset"]

SOURCES = ("synth", "ifeval", "writingbench", "generic")

_STAGE = "data"

#: Rows rejected so far: row number -> (reason_kind, reason).
_Bad = dict[int, tuple[str, str]]


def _id_text(value: Any) -> str | None:
    """An id as text: strings as they are, integers (and integral floats) in decimal."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value.strip():
        return value
    return None


def _check_id(value: Any, column: str) -> tuple[str | None, tuple[str, str] | None]:
    """A row's id as text, or why it has none."""
    rid = _id_text(value)
    if rid is None:
        kind = "missing_id" if value is None else "wrong_type"
        return None, (kind, f"{column!r} must be an integer or a non-empty string, got {value!r}")
    return rid, None


def _check_prompt(value: Any, column: str) -> tuple[str, str] | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "missing_prompt", f"{column!r} is missing or empty"
    if not isinstance(value, str):
        return "wrong_type", f"{column!r} must be a string, got {type(value).__name__}"
    return None


def _optional_text(value: Any, column: str) -> tuple[str | None, tuple[str, str] | None]:
    """An optional text field; empty text (a blank CSV cell) is null."""
    if value is None or isinstance(value, str):
        return (value if value and value.strip() else None), None
    return None, ("wrong_type", f"{column!r} must be a string or null, got {type(value).__name__}")


def _ifeval_fields(ids: Any, kwargs: Any) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
    """Validate IFEval ``instruction_id_list`` and ``kwargs``; kwargs become a JSON list of objects."""
    if isinstance(ids, str):  # a CSV cell holding a JSON list
        try:
            ids = json.loads(ids)
        except json.JSONDecodeError:
            pass
    if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
        return None, ("wrong_type", f"'instruction_id_list' must be a list of strings, got {type(ids).__name__}")
    if isinstance(kwargs, str):
        try:
            kwargs = json.loads(kwargs)
        except json.JSONDecodeError as e:
            return None, ("invalid_kwargs", f"'kwargs' is not valid JSON: {e}")
    if kwargs is None:
        kwargs = [None] * len(ids)
    if not isinstance(kwargs, list) or not all(k is None or isinstance(k, dict) for k in kwargs):
        return None, ("invalid_kwargs", "'kwargs' must be a list of objects (one per instruction id)")
    if len(kwargs) != len(ids):
        return None, ("invalid_kwargs", f"'kwargs' has {len(kwargs)} entries for {len(ids)} instruction ids")
    known = ifeval_mapping()
    unknown = [x for x in ids if x not in known]
    if unknown:
        return None, ("unknown_instruction_id", f"unknown IFEval instruction id(s): {', '.join(unknown)}")
    cleaned = [{k: v for k, v in (kw or {}).items() if v is not None} for kw in kwargs]
    try:
        return {"instruction_id_list": ids, "kwargs": compact_json(cleaned)}, None
    except TypeError as e:
        return None, ("invalid_kwargs", f"'kwargs' holds {e}")


def _requirements_field(value: Any) -> tuple[str | None, tuple[str, str] | None]:
    """Validate an explicit requirements list (JSON text or a list); returns compact JSON."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            return None, ("invalid_requirements", f"'requirements' is not valid JSON: {e}")
    if not isinstance(value, list):
        return None, ("invalid_requirements", "'requirements' must be a list of {type, params, text} objects")
    types = taxonomy()
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            return None, ("invalid_requirements", f"requirement {item!r} is not an object with a 'type'")
        if item["type"] not in types:
            return None, ("invalid_requirements", f"unknown requirement type {item['type']!r}")
        params = requirement_params(item.get("params"))
        if not isinstance(params, dict):
            return None, ("invalid_requirements", f"{item['type']}: params must be an object, got {params!r}")
        req = {"type": item["type"], "params": params}
        if item.get("text") is not None:
            if not isinstance(item["text"], str):
                return None, ("invalid_requirements", f"{item['type']}: text must be a string")
            req["text"] = item["text"]
        out.append(req)
    try:
        return compact_json(out), None
    except TypeError as e:
        return None, ("invalid_requirements", f"'requirements' holds {e}")


def _finish(raw: RawRows, accepted: dict[int, dict[str, Any]], bad: _Bad, ids: list[str | None],
            fields: list[tuple[str, pa.DataType]], carry: tuple[str, ...] = ()) -> tuple[pa.Table, pa.Table]:
    """Reject duplicate ids (the first occurrence is kept), then build the table of the accepted rows
    (``fields``, then the input columns ``carry``) and the rejects."""
    first: dict[str, int] = {}
    kept: list[int] = []
    for row, values in accepted.items():
        rid = values["id"]
        if rid in first:
            bad[row] = ("duplicate_id", f"duplicate id {rid!r}: row {first[rid]} has the same id")
        else:
            first[rid] = row
            kept.append(row)
    arrays = [pa.array([accepted[row].get(name) for row in kept], typ) for name, typ in fields]
    names = [name for name, _ in fields]
    taken = set(names)
    for name, array in raw.carry(list(carry), kept):
        out_name = name if name not in taken else f"input_{name}"
        arrays.append(array)
        names.append(out_name)
        taken.add(out_name)
    return pa.Table.from_arrays(arrays, names=names), rejects_from(bad, ids, _STAGE)


_IFEVAL_FIELDS = [("id", pa.string()), ("prompt", pa.string()), ("category", pa.string()), ("source", pa.string()),
                  ("instruction_id_list", pa.list_(pa.string())), ("kwargs", pa.string())]


def import_ifeval(path: str | os.PathLike[str]) -> tuple[pa.Table, pa.Table]:
    """Import an IFEval-format file: JSONL or Parquet with ``key``, ``prompt``,
    ``instruction_id_list`` and ``kwargs``.

    ``kwargs`` may be a list of objects (JSONL) or a list<struct> whose absent keys are nulls
    (Parquet); null-valued keys are dropped either way.

    Returns:
        ``(table, rejects)``: ``table`` has ``id`` (``str(key)``), ``prompt``, ``category``
        (null), ``source`` ("ifeval"), ``instruction_id_list`` and ``kwargs`` (JSON list of
        objects); ``rejects`` has the schema ``wrl.io.REJECTS_SCHEMA``.

    Raises:
        DatasetError: the file is missing, truncated or corrupt.
    """
    raw = read_rows(path)
    bad: _Bad = dict(raw.bad)
    ids: list[str | None] = []
    accepted: dict[int, dict[str, Any]] = {}
    keys, prompts = raw.values("key"), raw.values("prompt")
    id_lists, kwargs = raw.values("instruction_id_list"), raw.values("kwargs")
    for i in range(raw.n):
        rid, problem = _check_id(keys[i], "key")
        ids.append(rid)
        if i in bad:
            continue
        problem = problem or _check_prompt(prompts[i], "prompt")
        structured, problem = (None, problem) if problem else _ifeval_fields(id_lists[i], kwargs[i])
        if problem:
            bad[i] = problem
            continue
        accepted[i] = {"id": rid, "prompt": prompts[i], "category": None, "source": "ifeval", **structured}
    return _finish(raw, accepted, bad, ids, _IFEVAL_FIELDS)


_WRITINGBENCH_FIELDS = [("id", pa.string()), ("prompt", pa.string()), ("category", pa.string()),
                        ("source", pa.string()), ("subcategory", pa.string()), ("language", pa.string()),
                        ("checklist", pa.string())]


def import_writingbench(path: str | os.PathLike[str]) -> tuple[pa.Table, pa.Table]:
    """Import a WritingBench-format file (``index``, ``domain1``, ``domain2``, ``query``,
    ``checklist``, optionally ``lang``).

    The query becomes the prompt, ``domain1`` the category and ``domain2`` the subcategory. The
    checklist items are rubric criteria, not requirements of our taxonomy: they are kept as a JSON
    string column ``checklist``, and the parser finds requirements in the query text.

    Returns:
        ``(table, rejects)`` with columns ``id``, ``prompt``, ``category``, ``source``
        ("writingbench"), ``subcategory``, ``language`` (from ``lang``; null if absent) and
        ``checklist``.

    Raises:
        DatasetError: the file is missing, truncated or corrupt.
    """
    raw = read_rows(path)
    bad: _Bad = dict(raw.bad)
    ids: list[str | None] = []
    accepted: dict[int, dict[str, Any]] = {}
    index, queries = raw.values("index"), raw.values("query")
    domain1, domain2, langs, checklists = (raw.values(c) for c in ("domain1", "domain2", "lang", "checklist"))
    for i in range(raw.n):
        rid, problem = _check_id(index[i], "index")
        ids.append(rid)
        if i in bad:
            continue
        if problem:
            bad[i] = problem
            continue
        problem = _check_prompt(queries[i], "query")
        texts = {}
        for column, out_name, value in (("domain1", "category", domain1[i]), ("domain2", "subcategory", domain2[i]),
                                        ("lang", "language", langs[i])):
            texts[out_name], p = _optional_text(value, column)
            problem = problem or p
        checklist = checklists[i]
        if checklist is not None and not isinstance(checklist, (list, dict, str)):
            problem = problem or ("wrong_type", f"'checklist' must be a list, got {type(checklist).__name__}")
        if problem:
            bad[i] = problem
            continue
        if checklist is not None and not isinstance(checklist, str):
            try:
                checklist = json.dumps(checklist, ensure_ascii=False, separators=(",", ":"))
            except TypeError as e:
                bad[i] = ("wrong_type", f"'checklist' holds a value JSON cannot hold: {e}")
                continue
        accepted[i] = {"id": rid, "prompt": queries[i], "category": texts["category"], "source": "writingbench",
                       "subcategory": texts["subcategory"], "language": texts["language"], "checklist": checklist}
    return _finish(raw, accepted, bad, ids, _WRITINGBENCH_FIELDS)


_GENERIC_FIELDS = [("id", pa.string()), ("prompt", pa.string()), ("category", pa.string()), ("source", pa.string()),
                   ("instruction_id_list", pa.list_(pa.string())), ("kwargs", pa.string()),
                   ("requirements", pa.string())]


def import_generic(path: str | os.PathLike[str], *, prompt_column: str = "prompt", id_column: str = "id",
                   category_column: str = "category") -> tuple[pa.Table, pa.Table]:
    """Import any JSONL, CSV or Parquet file with a prompt column.

    Optional columns: ``id_column`` (ids are the row numbers, "0", "1", ..., when the column is
    absent), ``category_column``, ``requirements`` (a JSON list of ``{type, params, text}``),
    IFEval ``instruction_id_list`` with ``kwargs``, and ``source`` (default "generic"). Every
    other column is carried through unchanged (renamed ``input_<name>`` if it would clash).

    Returns:
        ``(table, rejects)`` with ``id``, ``prompt``, ``category``, ``source``, the structured
        columns present in the input, then the carried columns.

    Raises:
        DatasetError: the file is missing, truncated, corrupt, or has no ``prompt_column``.
    """
    raw = read_rows(path)
    if raw.n and not raw.has(prompt_column):
        raise DatasetError(f"{raw.path}: no {prompt_column!r} column (columns: {', '.join(raw.names)}); "
                           "pass prompt_column=...")
    bad: _Bad = dict(raw.bad)
    ids: list[str | None] = []
    accepted: dict[int, dict[str, Any]] = {}
    has_id = raw.has(id_column)
    id_values, prompts = raw.values(id_column), raw.values(prompt_column)
    categories, sources = raw.values(category_column), raw.values("source")
    has_ifeval = raw.has("instruction_id_list")
    id_lists, kwargs = raw.values("instruction_id_list"), raw.values("kwargs")
    has_reqs = raw.has("requirements")
    reqs = raw.values("requirements")
    for i in range(raw.n):
        rid, problem = _check_id(id_values[i], id_column) if has_id else (str(i), None)
        ids.append(rid)
        if i in bad:
            continue
        if problem:
            bad[i] = problem
            continue
        problem = _check_prompt(prompts[i], prompt_column)
        category, p = _optional_text(categories[i], category_column)
        problem = problem or p
        source, p = _optional_text(sources[i], "source")
        problem = problem or p
        values: dict[str, Any] = {}
        if has_ifeval and not problem:
            if id_lists[i] is None and kwargs[i] is None:
                values.update(instruction_id_list=None, kwargs=None)
            else:
                structured, problem = _ifeval_fields(id_lists[i], kwargs[i])
                values.update(structured or {})
        if has_reqs and not problem:
            values["requirements"], problem = _requirements_field(reqs[i])
        if problem:
            bad[i] = problem
            continue
        accepted[i] = {"id": rid, "prompt": prompts[i], "category": category, "source": source or "generic",
                       **values}
    used = {id_column, prompt_column, category_column, "source", "requirements", "instruction_id_list", "kwargs"}
    fields = [f for f in _GENERIC_FIELDS if f[0] in ("id", "prompt", "category", "source")
              or (has_ifeval and f[0] in ("instruction_id_list", "kwargs")) or (has_reqs and f[0] == "requirements")]
    return _finish(raw, accepted, bad, ids, fields, carry=tuple(n for n in raw.names if n not in used))


def load_dataset(source: str, *, path: str | os.PathLike[str] | None = None, n: int = 1000, seed: int = 0,
                 zh_share: float = 0.15, prompt_column: str = "prompt", id_column: str = "id",
                 category_column: str = "category") -> tuple[pa.Table, pa.Table]:
    """Load instructions from a named source.

    Args:
        source: "synth" (generated, needs no ``path``), "ifeval", "writingbench" or "generic".
        path: the input file, for every source except "synth".
        n, seed, zh_share: size, seed and Chinese share of the synthetic dataset.
        prompt_column, id_column, category_column: the columns of a generic file.

    Returns:
        ``(table, rejects)``; ``rejects`` is empty for "synth".

    Raises:
        InvalidConfigError: unknown source, or a file source without ``path``.
        DatasetError: the file is missing, truncated or corrupt.
    """
    if source == "synth":
        return synthesize(n, seed=seed, zh_share=zh_share), REJECTS_SCHEMA.empty_table()
    if source not in SOURCES:
        raise InvalidConfigError(f"unknown data source {source!r}: use one of {', '.join(SOURCES)}")
    if path is None:
        raise InvalidConfigError(f"data source {source!r} reads a file: pass path=... "
                                 "(a .jsonl, .csv or .parquet file)")
    if source == "ifeval":
        return import_ifeval(path)
    if source == "writingbench":
        return import_writingbench(path)
    return import_generic(path, prompt_column=prompt_column, id_column=id_column, category_column=category_column)
