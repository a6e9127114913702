"""Reading and writing datasets: one reader per format, per-row checks, atomic deterministic writes.

Reading: :func:`read_rows` is the one reader of user files (Parquet, JSONL, CSV). A row that
cannot be read (invalid UTF-8, invalid JSON, a line that is not an object) is kept as a rejected
row with its reason, never dropped or passed on; a file that cannot be read as a whole (missing,
truncated, corrupt, unknown format) raises :class:`DatasetError`. :func:`read_input` adds the
checks a stage needs (text columns hold text, ids are text or integers) and gives the table of
good rows together with the rejects, so that rows in = rows out + rows rejected.

Writing: every artifact is written to a temporary file beside its destination and renamed into
place, so an interrupted stage never leaves a half-written file for DVC to cache; temporary files
of killed runs are removed by the next successful write. Parquet is written with zstd, a fixed
row-group size and no timestamps, so the same table gives the same bytes. Outputs are checked
before any work (:func:`check_output`), so a bad path fails in a second, not after the work.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from wrl.errors import DatasetError

ROW_GROUP_SIZE = 65_536

REJECTS_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("id", pa.string()),
        ("stage", pa.string()),
        ("reason_kind", pa.string()),
        ("reason", pa.string()),
    ]
)

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
            ".csv": "csv"}


def file_format(path: str | os.PathLike[str]) -> str:
    """The format of a dataset path from its extension: parquet, jsonl or csv."""
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise DatasetError(f"{path}: unknown dataset format {suffix!r} (use .parquet, .jsonl or .csv)")
    return _FORMATS[suffix]


def rejects_table(rows: Sequence[int] | pa.Array, ids: Sequence[str | None] | pa.Array, stage: str,
                  kinds: Sequence[str] | str, reasons: Sequence[str] | str) -> pa.Table:
    """The rejects table (``REJECTS_SCHEMA``); a single ``kinds``/``reasons`` string applies to every row."""
    n = len(rows)
    kinds = [kinds] * n if isinstance(kinds, str) else kinds
    reasons = [reasons] * n if isinstance(reasons, str) else reasons
    return pa.table([pa.array(rows, pa.int64()) if not isinstance(rows, pa.Array) else pc.cast(rows, pa.int64()),
                     pa.array(ids, pa.string()) if not isinstance(ids, pa.Array) else pc.cast(ids, pa.string()),
                     pa.array([stage] * n, pa.string()), pa.array(kinds, pa.string()),
                     pa.array(reasons, pa.string())], schema=REJECTS_SCHEMA)


def rejects_from(bad: Mapping[int, tuple[str, str]], ids: Sequence[str | None] | None, stage: str) -> pa.Table:
    """The rejects table of the rows in ``bad`` (row -> ``(reason_kind, reason)``), in row order.

    ``ids[row]`` is a row's id where known; ``ids=None``: none is.
    """
    rows = sorted(bad)
    reject_ids = [None] * len(rows) if ids is None else [ids[i] for i in rows]
    return rejects_table(rows, reject_ids, stage, [bad[i][0] for i in rows], [bad[i][1] for i in rows])


def _not_json(value: Any) -> Any:
    raise TypeError(f"a {type(value).__name__} value is not JSON")


def _compact_encoder() -> Callable[[Any], str]:
    """The C encoder of ``json`` called directly where it exists: twice as fast as ``json.dumps``."""
    from json import encoder

    if encoder.c_make_encoder is not None:
        enc = encoder.c_make_encoder(None, _not_json, encoder.encode_basestring, None, ":", ",", True, False, True)
        return lambda obj: "".join(enc(obj, 0))
    return json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_not_json).encode


#: Compact, key-sorted JSON text with non-ASCII characters as they are: the form of the JSON cells
#: a dataset holds (gold requirements, IFEval kwargs, requirement lists). A value JSON cannot hold
#: (bytes from a Parquet binary field, say) raises ``TypeError``.
compact_json = _compact_encoder()


# --- reading --------------------------------------------------------------------------------------


class RawRows:
    """An input file as rows: column values by name, and the rows already found unreadable.

    ``bad`` maps a row number to ``(reason_kind, reason)``. Columns come from an Arrow table
    (Parquet, CSV) or from Python values (JSONL, where rows need not agree on types).
    """

    def __init__(self, path: Path, n: int, names: list[str], bad: dict[int, tuple[str, str]],
                 columns: dict[str, list] | None = None, table: pa.Table | None = None):
        self.path = path
        self.n = n
        self.names = names
        self.bad = bad
        self._columns = columns if columns is not None else {}
        self._table = table

    def has(self, name: str) -> bool:
        return name in self.names

    def is_text(self, name: str) -> bool:
        """Whether the column is an Arrow string column (every cell text or null, no check needed)."""
        return self._table is not None and name in self._table.column_names and \
            pa.types.is_string(self._table.schema.field(name).type) and name not in self._columns

    def values(self, name: str) -> list:
        """The column as Python values (None where absent or on an unreadable row)."""
        if name not in self._columns:
            if self._table is None or name not in self._table.column_names:
                self._columns[name] = [None] * self.n
            else:
                self._columns[name] = _column_values(self._table[name], name, self.bad)
        return self._columns[name]

    def table(self) -> pa.Table:
        """Every row and column as one Arrow table (the file's own, where it has one)."""
        if self._table is not None:
            return self._table
        return pa.Table.from_arrays([a for _, a in self.carry(self.names, list(range(self.n)))], names=self.names)

    def carry(self, names: list[str], keep: list[int]) -> list[tuple[str, pa.Array | pa.ChunkedArray]]:
        """Columns ``names`` restricted to the rows ``keep``, with their Arrow types where known.

        A JSONL column of objects, or whose rows disagree on type, is JSON text (strings stay as
        they are): the engine reads ``kwargs`` and ``requirements`` as JSON text.
        """
        out = []
        index = pa.array(keep, pa.int64())
        for name in names:
            if self._table is not None and name in self._table.column_names and \
                    not pa.types.is_binary(self._table.schema.field(name).type):
                out.append((name, self._table[name].take(index)))
                continue
            values = self.values(name)
            picked = [values[i] for i in keep]
            try:
                if any(isinstance(v, dict) or (isinstance(v, list) and any(isinstance(x, dict) for x in v))
                       for v in picked):
                    raise pa.ArrowTypeError("objects are kept as JSON text")
                out.append((name, pa.array(picked)))
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # objects, or mixed types across JSON lines
                out.append((name, pa.array([v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                                            for v in picked], pa.string())))
        return out


def _column_values(col: pa.ChunkedArray, name: str, bad: dict[int, tuple[str, str]]) -> list:
    """Python values of a column; binary or invalid UTF-8 text is decoded row by row."""
    typ = col.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        try:
            col.validate(full=True)
            return col.to_pylist()
        except pa.ArrowInvalid:
            col = col.cast(pa.large_binary()) if pa.types.is_large_string(typ) else col.cast(pa.binary())
            typ = col.type
    if not (pa.types.is_binary(typ) or pa.types.is_large_binary(typ)):
        return col.to_pylist()
    values = []
    for i, raw in enumerate(col.to_pylist()):
        if raw is None:
            values.append(None)
            continue
        try:
            values.append(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            values.append(None)
            bad.setdefault(i, ("invalid_utf8", f"column {name!r}: invalid UTF-8 at byte {e.start}"))
    return values


def _read_jsonl(path: Path) -> RawRows:
    """JSON lines, one row per non-blank line; a bad line is a rejected row, a cut-off file an error."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read: {e.strerror or e}") from e
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    rows: list[dict | None] = []
    bad: dict[int, tuple[str, str]] = {}
    parsed_any = False
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row = len(rows)
        rows.append(None)
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            bad[row] = ("invalid_utf8", f"line {lineno}: invalid UTF-8 at byte {e.start}")
            continue
        try:
            obj = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as e:
            if lineno - 1 == last and not data.endswith(b"\n"):
                raise DatasetError(f"{path}:{lineno}: truncated file: the last line is not complete JSON ({e})") from e
            bad[row] = ("invalid_json", f"line {lineno}: invalid JSON: {e}")
            continue
        parsed_any = True
        if not isinstance(obj, dict):
            bad[row] = ("wrong_type", f"line {lineno}: a JSONL row must be an object, got {type(obj).__name__}")
            continue
        rows[row] = obj
    if rows and not parsed_any and all(kind == "invalid_json" for kind, _ in bad.values()):
        raise DatasetError(f"{path}: not a JSONL file: no line parses as JSON")
    names: list[str] = []
    seen: set[str] = set()
    for obj in rows:
        if obj:
            for key in obj:
                if key not in seen:
                    seen.add(key)
                    names.append(key)
    columns = {name: [None if obj is None else obj.get(name) for obj in rows] for name in names}
    return RawRows(path, len(rows), names, bad, columns=columns)


_CSV_PARSE = pacsv.ParseOptions(newlines_in_values=True)  # prompts with list items span lines


def _read_csv(path: Path) -> RawRows:
    """CSV with every column read as text (a CSV has no types); bad UTF-8 rejects only its row."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            header = next(csv.reader(f), [])
    except (OSError, csv.Error) as e:
        raise DatasetError(f"{path}: cannot read: {e}") from e
    if not header:
        raise DatasetError(f"{path}: empty CSV file (no header row)")
    if len(set(header)) != len(header):
        raise DatasetError(f"{path}: duplicate column names in the CSV header: {header}")
    bad: dict[int, tuple[str, str]] = {}
    try:
        table = pacsv.read_csv(path, parse_options=_CSV_PARSE, convert_options=pacsv.ConvertOptions(
            column_types={h: pa.string() for h in header}))
    except pa.ArrowInvalid as e:
        if "UTF8" not in str(e) and "UTF-8" not in str(e):
            raise DatasetError(f"{path}: cannot read csv: {e}") from e
        try:
            table = pacsv.read_csv(path, parse_options=_CSV_PARSE, convert_options=pacsv.ConvertOptions(
                column_types={h: pa.binary() for h in header}))
        except (pa.ArrowInvalid, OSError) as e2:
            raise DatasetError(f"{path}: cannot read csv: {e2}") from e2
    except OSError as e:
        raise DatasetError(f"{path}: cannot read csv: {e}") from e
    raw = RawRows(path, table.num_rows, table.column_names, bad, table=table)
    for name in table.column_names:  # decode every column now, so any bad byte rejects its row
        raw.values(name)
    return raw


def _read_parquet(path: Path) -> RawRows:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as e:
        raise DatasetError(f"{path}: cannot read parquet: {e}") from e
    return _arrow_rows(path, table)


def _arrow_rows(path: Path, table: pa.Table) -> RawRows:
    """Rows of an Arrow table read from ``path``; rows with invalid UTF-8 are found and marked bad."""
    raw = RawRows(path, table.num_rows, table.column_names, {}, table=table)
    try:
        table.validate(full=True)
    except pa.ArrowInvalid:  # invalid UTF-8 somewhere: find the rows
        for name in table.column_names:
            raw.values(name)
    return raw


def read_rows(path: str | os.PathLike[str]) -> RawRows:
    """Read a Parquet, JSONL or CSV file as rows, unreadable rows kept with their reason."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    if path.is_dir():
        raise DatasetError(f"{path}: is a directory, not a dataset file")
    return {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}[file_format(path)](path)


def read_table(path: str | os.PathLike[str]) -> pa.Table:
    """Read a file that must be readable as a whole (a pipeline artifact), with a clear error naming it."""
    raw = read_rows(path)
    if raw.bad:
        row, (_, reason) = min(raw.bad.items())
        raise DatasetError(f"{path}: {len(raw.bad):,} unreadable row(s); row {row}: {reason}")
    return raw.table()


@dataclass(frozen=True)
class Input:
    """The good rows of an input file, their row numbers in the file, and the rows rejected on reading."""

    table: pa.Table
    rows: pa.Array
    rejects: pa.Table
    rows_in: int

    def renumber(self, table: pa.Table) -> pa.Table:
        """``table`` with its ``row`` column (indexing :attr:`table`) turned into the file's row numbers."""
        i = table.column_names.index("row")
        return table.set_column(i, "row", pc.take(self.rows, table["row"]))

    def merge(self, rejects: pa.Table) -> pa.Table:
        """A stage's rejects, renumbered to the file's rows, together with the rows rejected on reading."""
        return pa.concat_tables([self.rejects, self.renumber(rejects).cast(REJECTS_SCHEMA)]).sort_by("row")

    def shifted(self, offset: int) -> Input:
        """The same rows numbered from ``offset`` (a batch of a larger file)."""
        if offset == 0:
            return self
        shift = pa.scalar(offset, pa.int64())
        return Input(self.table, pc.add(self.rows, shift),
                     self.rejects.set_column(0, "row", pc.add(self.rejects["row"], shift)), self.rows_in)


def _id_cell(value: Any) -> str | None:
    """An id as text: strings as they are, integers in decimal; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def read_input(path: str | os.PathLike[str], *, stage: str, text_columns: Iterable[str] = ("prompt",),
               id_columns: Sequence[str] = ("id",)) -> Input:
    """Read a stage's input file and reject the rows it cannot use, each with its reason.

    A row is rejected when it cannot be read, when a cell of ``text_columns`` holds something other
    than text (a number, a list), or when its id (the first of ``id_columns`` the file has) is
    neither text nor an integer. A file with none of them gets the row numbers as ``id``. Every
    other column is carried through.
    """
    return _checked(read_rows(path), stage, tuple(text_columns), tuple(id_columns))


def iter_input(path: str | os.PathLike[str], *, stage: str, text_columns: Iterable[str] = ("prompt",),
               id_columns: Sequence[str] = ("id",), batch_rows: int = ROW_GROUP_SIZE) -> Iterator[Input]:
    """:func:`read_input` in batches, numbered as rows of the whole file, so a stage's memory does not
    grow with its input.

    Parquet is read ``batch_rows`` rows at a time (a pipeline artifact's row groups); a JSONL or
    CSV file is read whole and yielded as one batch. An empty file yields one empty batch, so a
    stage always sees the columns.
    """
    path = Path(path)
    if not path.is_file() or file_format(path) != "parquet":
        yield read_input(path, stage=stage, text_columns=text_columns, id_columns=id_columns)
        return
    try:
        file = pq.ParquetFile(path)
        batches = file.iter_batches(batch_size=batch_rows)
        first = next(batches, None)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as e:
        raise DatasetError(f"{path}: cannot read parquet: {e}") from e
    if first is None:
        yield _checked(_arrow_rows(path, file.schema_arrow.empty_table()), stage, tuple(text_columns),
                       tuple(id_columns))
        return
    offset = 0
    batch: pa.RecordBatch | None = first
    while batch is not None:
        raw = _arrow_rows(path, pa.Table.from_batches([batch]))
        yield _checked(raw, stage, tuple(text_columns), tuple(id_columns)).shifted(offset)
        offset += batch.num_rows
        try:
            batch = next(batches, None)
        except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as e:
            raise DatasetError(f"{path}: cannot read parquet after row {offset}: {e}") from e


def input_rows(path: str | os.PathLike[str]) -> int | None:
    """The number of rows of a Parquet file from its footer (for progress bars); None for other formats."""
    try:
        return pq.ParquetFile(path).metadata.num_rows if file_format(path) == "parquet" else None
    except (pa.ArrowInvalid, OSError):
        return None


def _checked(raw: RawRows, stage: str, text_columns: tuple[str, ...], id_columns: tuple[str, ...]) -> Input:
    """The checks of :func:`read_input` over rows already read."""
    bad = dict(raw.bad)
    id_column = next((c for c in id_columns if raw.has(c)), None)
    # An Arrow string id column is carried as it is; other ids are checked and converted row by row.
    ids: list[str | None] | None = None
    if id_column is None:
        ids = [str(i) for i in range(raw.n)]
    elif not raw.is_text(id_column):
        ids = []
        for i, value in enumerate(raw.values(id_column)):
            ids.append(_id_cell(value))
            if value is not None and ids[i] is None:
                bad.setdefault(i, ("wrong_type", f"{id_column!r} must be a string or an integer, got "
                                                 f"{type(value).__name__}"))
    for name in text_columns:
        if raw.has(name) and not raw.is_text(name):
            for i, value in enumerate(raw.values(name)):
                if value is not None and not isinstance(value, str):
                    bad.setdefault(i, ("wrong_type", f"{name!r} must be a string, got {type(value).__name__}"))
    keep = [i for i in range(raw.n) if i not in bad]
    columns = dict(raw.carry([n for n in raw.names if n != id_column or ids is None], keep))
    if ids is not None:
        columns[id_column or "id"] = pa.array([ids[i] for i in keep], pa.string())
    table = pa.table({n: columns[n] for n in raw.names + ([] if id_column else ["id"])})
    # Python ids of an Arrow id column only when some row is rejected.
    known = None if id_column is None or not bad else ids if ids is not None else raw.values(id_column)
    return Input(table, pa.array(keep, pa.int64()), rejects_from(bad, known, stage), raw.n)


# --- writing --------------------------------------------------------------------------------------


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # PermissionError: alive, another user's
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _remove_stale_temporaries(path: Path) -> None:
    """Delete temporary files (or directories) of earlier writes of ``path`` whose process is gone (a kill -9)."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.[^.]+\.tmp$")
    for other in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        m = pattern.match(other.name)
        if m is None or (int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1)))):
            if other.is_dir() and not other.is_symlink():
                shutil.rmtree(other, ignore_errors=True)
            else:
                other.unlink(missing_ok=True)


def _write_error(path: Path, e: OSError) -> DatasetError:
    return DatasetError(f"{path}: cannot write: {e.strerror or e}")


def _temporary_beside(path: Path) -> str:
    """Create an empty ``.NAME.<pid>.<random>.tmp`` beside ``path`` (and its directory); returns its path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as e:
        raise _write_error(path, e) from None
    return tmp


def check_output(path: str | os.PathLike[str], *, dataset: bool = True, directory: bool = False) -> None:
    """Fail now, before any work, if ``path`` cannot be written (or, for a dataset, has an unknown extension).

    A ``directory`` output (a model, a set of shards) must not be an existing file.
    """
    path = Path(path)
    if directory:
        if path.exists() and not path.is_dir():
            raise DatasetError(f"{path}: cannot write: is a file, not a directory")
    else:
        if dataset:
            file_format(path)
        if path.is_dir():
            raise DatasetError(f"{path}: cannot write: is a directory")
    os.unlink(_temporary_beside(path))


@contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``path``; it replaces ``path`` only if the block succeeds.

    A model directory half-written by a killed run is never taken for a finished one: the old
    directory (if any) stays until the new one is complete, and leftovers of killed runs are
    removed by the next successful write.
    """
    path = Path(path)
    tmp = Path(_temporary_beside(path))
    tmp.unlink()
    tmp.mkdir()
    try:
        yield tmp
        for sub in (tmp, *tmp.rglob("*")):  # the usual permissions, not mkstemp's 0600
            os.chmod(sub, (0o777 if sub.is_dir() else 0o666) & ~_umask())
        if path.exists():
            old = Path(_temporary_beside(path))
            old.unlink()
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise _write_error(path, e) from None
        raise
    _remove_stale_temporaries(path)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The file gets the usual permissions (0666 less the umask), not ``mkstemp``'s 0600.
    """
    path = Path(path)
    tmp = _temporary_beside(path)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise _write_error(path, e) from None
        raise
    _remove_stale_temporaries(path)


def _json_text(column: pa.ChunkedArray) -> pa.Array:
    """A nested column (lists, structs) as one JSON text per cell, for CSV, which has no nesting."""
    return pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in column.to_pylist()],
                    pa.string())


def write_table(table: pa.Table, path: str | os.PathLike[str]) -> None:
    """Write a table atomically as Parquet (zstd), JSONL or CSV (nested cells as JSON), chosen by extension."""
    fmt = file_format(path)
    with atomic_path(path) as tmp:
        _write_to(table, tmp, fmt)


# Parquet writer options of every artifact: zstd, statistics, the Arrow schema, no timestamps.
_PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True, "store_schema": True}


def _write_to(table: pa.Table, tmp: Path, fmt: str) -> None:
    """Write ``table`` to the temporary file ``tmp`` in format ``fmt`` (the options that make the bytes stable)."""
    if fmt == "parquet":
        pq.write_table(table, tmp, row_group_size=ROW_GROUP_SIZE, **_PARQUET_OPTIONS)
    elif fmt == "csv":
        for i, field in enumerate(table.schema):
            if pa.types.is_nested(field.type):
                table = table.set_column(i, field.name, _json_text(table[field.name]))
        pacsv.write_csv(table, tmp)
    else:
        with open(tmp, "w", encoding="utf-8") as f:
            for batch in table.to_batches(max_chunksize=ROW_GROUP_SIZE):
                for row in batch.to_pylist():
                    f.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")


class DatasetWriter:
    """Write a dataset batch by batch, atomically: the file appears, whole, when the block ends.

    Parquet is written with the options of :func:`write_table` in row groups of exactly
    ``ROW_GROUP_SIZE`` rows (batches are buffered up to that size), so streaming a table in any
    batching gives the same bytes as writing it at once; memory holds one row group. JSONL and
    CSV outputs (small, user-facing) are collected and written on close.

    Example:
        >>> with DatasetWriter("out.parquet") as out:  # doctest: +SKIP
        ...     for batch in batches:
        ...         out.write(batch)
    """

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema | None = None):
        self.path = Path(path)
        self.format = file_format(self.path)
        self.schema = schema
        self.rows = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._atomic = atomic_path(self.path)
        self._tmp: Path | None = None

    def __enter__(self) -> DatasetWriter:
        self._tmp = self._atomic.__enter__()
        return self

    def write(self, table: pa.Table) -> None:
        """Append rows; a later batch is cast to the first one's schema."""
        if self.schema is None:
            self.schema = table.schema
        elif table.schema != self.schema:
            table = table.cast(self.schema)
        self.rows += table.num_rows
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self.format == "parquet":
            while self._pending_rows >= ROW_GROUP_SIZE:
                self._flush(ROW_GROUP_SIZE)

    def _flush(self, n: int) -> None:
        """Write the first ``n`` pending rows as one row group."""
        pending = pa.concat_tables(self._pending)
        self._parquet().write_table(pending.slice(0, n), row_group_size=ROW_GROUP_SIZE)
        rest = pending.slice(n)
        self._pending, self._pending_rows = ([rest] if rest.num_rows else []), rest.num_rows

    def _parquet(self) -> pq.ParquetWriter:
        """The Parquet writer of the temporary file, opened on first use."""
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, self.schema, **_PARQUET_OPTIONS)
        return self._writer

    def __exit__(self, kind, error, trace) -> bool | None:
        try:
            if kind is None:
                self._finish()
        except BaseException as e:  # the file stays unwritten: the temporary is removed below
            kind, error, trace = type(e), e, e.__traceback__
        finally:
            if self._writer is not None:
                self._writer.close()
        return self._atomic.__exit__(kind, error, trace)

    def _finish(self) -> None:
        """Write what is pending (an empty table writes its schema, as ``write_table`` does)."""
        if self.schema is None:
            raise DatasetError(f"{self.path}: nothing written and no schema given")
        if self.format != "parquet":
            table = pa.concat_tables(self._pending) if self._pending else self.schema.empty_table()
            _write_to(table, self._tmp, self.format)
        elif self._pending_rows:
            self._flush(self._pending_rows)
        elif self.rows == 0:
            self._parquet().write_table(self.schema.empty_table(), row_group_size=ROW_GROUP_SIZE)


def write_json(data: Any, path: str | os.PathLike[str]) -> None:
    """Write JSON atomically with sorted keys, for metrics files."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
