"""Reading and writing datasets: Parquet, JSONL and CSV in, atomic and deterministic writes out.

Every artifact is written to a temporary file beside its destination and renamed into place, so
an interrupted stage never leaves a half-written file for DVC to cache. Parquet is written with
zstd, fixed row-group size and no creation timestamps, so the same table gives the same bytes.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

ROW_GROUP_SIZE = 65_536


class DatasetError(ValueError):
    """A dataset file is missing, truncated, corrupt or of an unknown format. Names the file."""


def file_format(path: str | os.PathLike[str]) -> str:
    """The format of a dataset path from its extension: parquet, jsonl or csv."""
    suffix = Path(path).suffix.lower()
    formats = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
               ".csv": "csv"}
    if suffix not in formats:
        raise DatasetError(f"{path}: unknown dataset format {suffix!r} (use .parquet, .jsonl or .csv)")
    return formats[suffix]


def read_table(path: str | os.PathLike[str]) -> pa.Table:
    """Read a Parquet, JSONL or CSV file into an Arrow table, with a clear error naming the file."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    fmt = file_format(path)
    try:
        if fmt == "parquet":
            return pq.read_table(path)
        if fmt == "csv":
            # Prompts often hold numbered lists: quoted fields may span lines.
            return pacsv.read_csv(path, parse_options=pacsv.ParseOptions(newlines_in_values=True))
        return _read_jsonl(path)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"{path}: cannot read {fmt}: {e}") from e


def _read_jsonl(path: Path) -> pa.Table:
    """JSONL through Arrow's reader; heterogeneous rows (IFEval kwargs) fall back to Python."""
    try:
        return pajson.read_json(path)
    except pa.ArrowInvalid:
        rows = []
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise DatasetError(f"{path}:{lineno}: invalid JSON: {e}") from e
        return rows_to_table(rows)


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Build a table from Python rows, storing dict/list-of-dict cells as JSON strings."""
    if not rows:
        return pa.table({})
    names: list[str] = []
    for row in rows:
        names.extend(k for k in row if k not in names)
    columns = {}
    for name in names:
        values = [row.get(name) for row in rows]
        if any(isinstance(v, dict) or (isinstance(v, list) and v and isinstance(v[0], dict)) for v in values):
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
        columns[name] = values
    return pa.table(columns)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(table: pa.Table, path: str | os.PathLike[str]) -> None:
    """Write a table atomically as Parquet (zstd), JSONL or CSV, chosen by extension."""
    fmt = file_format(path)
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_SIZE, write_statistics=True,
                           store_schema=True)
        elif fmt == "csv":
            pacsv.write_csv(table, tmp)
        else:
            with open(tmp, "w", encoding="utf-8") as f:
                for batch in table.to_batches(max_chunksize=ROW_GROUP_SIZE):
                    for row in batch.to_pylist():
                        f.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")


def write_json(data: Any, path: str | os.PathLike[str]) -> None:
    """Write JSON atomically with sorted keys, for metrics files."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
