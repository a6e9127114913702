"""SQL over every artifact of the pipeline, with DuckDB.

One registry, :data:`VIEWS`, names each artifact a stage writes: a view name, the Parquet file or
glob it reads (relative to the project root, as in ``dvc.yaml``), a description, and optionally the
SQL that shapes it (``requirements`` unnests the parsed instructions). A stage that adds an
artifact adds one :func:`register` call below; ``wrl sql`` and ``wrl sql --catalog`` pick it up.

Example:
    >>> con = connect(".")                                          # doctest: +SKIP
    >>> con.sql("SELECT type, count(*) FROM requirements GROUP BY type").show()  # doctest: +SKIP
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from wrl.io import DatasetError, atomic_path

# Formats ``wrl sql --out`` writes, by extension, as DuckDB COPY options.
COPY_FORMATS = {".csv": "FORMAT csv, HEADER true", ".parquet": "FORMAT parquet, COMPRESSION zstd",
                ".json": "FORMAT json", ".jsonl": "FORMAT json", ".ndjson": "FORMAT json"}


@dataclass(frozen=True)
class View:
    """An artifact exposed as a SQL view.

    Attributes:
        name: the view name.
        path: the Parquet file or glob it reads, relative to the project root.
        description: what one row is, for ``wrl sql --list`` and the docs.
        sql: the view's query: ``{source}`` is the ``read_parquet(...)`` of ``path`` and ``{rest}``
            the file's columns except those in ``hide``. Default: every column.
        hide: columns left out of ``{rest}``.
        stage: the DVC stage that writes ``path`` (named when the artifact is missing).
    """

    name: str
    path: str
    description: str
    sql: str = "SELECT * FROM {source}"
    hide: tuple[str, ...] = ()
    stage: str = ""

    def files(self, root: str | os.PathLike[str]) -> list[str]:
        """The files of this artifact under ``root``, sorted (empty if not built yet)."""
        return sorted(glob.glob(os.path.join(root, self.path)))

    def query(self, root: str | os.PathLike[str], con: duckdb.DuckDBPyConnection) -> str | None:
        """The view's SQL over the absolute file paths, or None if the artifact does not exist."""
        files = [os.path.abspath(f) for f in self.files(root)]
        if not files:
            return None
        quoted = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        source = f"read_parquet([{quoted}], union_by_name = true)"
        rest = ""
        if "{rest}" in self.sql:
            columns = [row[0] for row in con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()]
            rest = ", ".join(_ident(c) for c in columns if c not in self.hide)
        return self.sql.replace("{source}", source).replace("{rest}", rest)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


VIEWS: dict[str, View] = {}


def register(name: str, path: str, description: str, *, stage: str, sql: str = "SELECT * FROM {source}",
             hide: tuple[str, ...] = ()) -> View:
    """Add an artifact to the registry (one call per artifact, next to the others below)."""
    if name in VIEWS:
        raise ValueError(f"view {name!r} is registered twice")
    VIEWS[name] = View(name, path, description, sql, hide, stage)
    return VIEWS[name]


# --- The registry: one entry per artifact, in pipeline order. -------------------------------------
register("instructions", "data/parsed.parquet",
         "Parsed instructions, one row each: id, prompt, split, source metadata (category, topic, language), "
         "base_task, script, n_requirements, requirements (list of structs), gold_requirements (JSON, synth).",
         stage="parse")
register("requirements", "data/parsed.parquet",
         "One row per parsed requirement: instruction_id, the instruction's metadata, requirement_id, type, "
         "family, start/end (character span), text, params (JSON), verifiable, requirement_source.",
         sql="SELECT id AS instruction_id, {rest}, r.id AS requirement_id, r.type, r.family, r.\"start\", r.\"end\", "
             "r.text, r.params::JSON AS params, r.verifiable, r.source AS requirement_source "
             "FROM (SELECT *, UNNEST(requirements) AS r FROM {source})",
         hide=("id", "prompt", "base_task", "script", "requirements", "gold_requirements", "r"), stage="parse")
register("variants", "data/variants.parquet",
         "Requirement-dropped variants, one row each: id, variant (0 = full), variant_id, strategy, split, "
         "n_requirements, n_dropped, kept_ids, dropped_ids, dropped_types, prompt (rewritten), metadata.",
         stage="drop")
register("rejects", "data/*.rejects.parquet",
         "Quarantined rows of every stage: row (index in that stage's input), id, stage, reason_kind, reason.",
         stage="data")


def connect(root: str | os.PathLike[str] = ".", database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a view for every artifact that exists under ``root``."""
    con = duckdb.connect(database)
    for view in VIEWS.values():
        query = view.query(root, con)
        if query is not None:
            con.execute(f"CREATE OR REPLACE VIEW {_ident(view.name)} AS {query}")
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
