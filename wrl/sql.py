"""SQL over every artifact of the pipeline, with DuckDB.

Each stage declares the views over its outputs next to its code (``STAGE.views``, a
:class:`wrl.stage.View` each: a name, the Parquet file or glob it reads relative to the project
root, a description, and optionally the SQL that shapes it). :data:`VIEWS` collects them in
pipeline order; ``wrl sql`` and ``wrl sql --catalog`` pick up whatever a new stage declares.

Example:
    >>> con = connect(".")                                          # doctest: +SKIP
    >>> con.sql("SELECT type, count(*) FROM requirements GROUP BY type").show()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from wrl.errors import DatasetError
from wrl.io import atomic_path
from wrl.stage import View, ident
from wrl.stages import STAGES

# Formats ``wrl sql --out`` writes, by extension, as DuckDB COPY options.
COPY_FORMATS = {".csv": "FORMAT csv, HEADER true", ".parquet": "FORMAT parquet, COMPRESSION zstd",
                ".json": "FORMAT json", ".jsonl": "FORMAT json", ".ndjson": "FORMAT json"}


# The one view across stages: every stage's quarantined rows.
REJECTS = View("rejects", "data/*.rejects.parquet",
               "Quarantined rows of every stage: row (index in that stage's input), id, stage, reason_kind, reason.",
               stage="data")

#: Every artifact's view by name: the stages' views in pipeline order, then ``rejects``.
VIEWS: dict[str, View] = {}
for _view in [v for s in STAGES for v in s.views] + [REJECTS]:
    if _view.name in VIEWS:
        raise ValueError(f"view {_view.name!r} is declared twice")
    VIEWS[_view.name] = _view


def connect(root: str | os.PathLike[str] = ".", database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a view for every artifact that exists under ``root``."""
    con = duckdb.connect(database)
    for view in VIEWS.values():
        query = view.query(root, con)
        if query is not None:
            con.execute(f"CREATE OR REPLACE VIEW {ident(view.name)} AS {query}")
    return con


def available(root: str | os.PathLike[str] = ".") -> dict[str, bool]:
    """Which registered views have their files under ``root``."""
    return {name: bool(view.files(root)) for name, view in VIEWS.items()}


def run_query(con: duckdb.DuckDBPyConnection, query: str,
              root: str | os.PathLike[str] = ".") -> duckdb.DuckDBPyRelation | None:
    """Run ``query``; a reference to an artifact not built yet says which file is missing."""
    try:
        return con.sql(query)
    except duckdb.CatalogException as e:
        match = re.search(r"with name (\w+) does not exist", str(e))
        view = VIEWS.get(match.group(1)) if match else None
        if view is not None and not view.files(root):
            raise DatasetError(f"view {view.name!r} has no data yet: {os.path.join(root, view.path)} does not "
                               f"exist; the {view.stage!r} stage writes it (`dvc repro {view.stage}`, or "
                               f"`dvc pull` from a remote)") from None
        if match and view is None:
            built = ", ".join(name for name, ok in available(root).items() if ok) or "none"
            raise DatasetError(f"{str(e).splitlines()[0]} Views: {built} (`wrl sql --list` describes them)") from None
        raise


def write_result(con: duckdb.DuckDBPyConnection, query: str, path: str | os.PathLike[str]) -> None:
    """Write a query's result to CSV, Parquet (zstd) or JSON lines, atomically."""
    suffix = Path(path).suffix.lower()
    if suffix not in COPY_FORMATS:
        raise DatasetError(f"{path}: unknown output format {suffix!r} (use {', '.join(COPY_FORMATS)})")
    with atomic_path(path) as tmp:
        target = str(tmp).replace("'", "''")
        con.execute(f"COPY ({query.strip().rstrip(';')}) TO '{target}' ({COPY_FORMATS[suffix]})")


def write_catalog(path: str | os.PathLike[str], root: str | os.PathLike[str] = ".") -> list[str]:
    """Write a DuckDB database holding a view per existing artifact, for the duckdb shell and notebooks.

    The views read the Parquet files by absolute path, so the database works from any directory;
    rebuild it after moving the project.

    Returns:
        The names of the views written.
    """
    with atomic_path(path) as tmp:
        tmp.unlink()
        con = connect(root, str(tmp))
        names = [row[0] for row in con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal "
                                           "ORDER BY view_name").fetchall()]
        con.close()
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return names
