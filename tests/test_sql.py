"""``wrl sql``: a DuckDB view per artifact, query output formats, the catalog, and the documented queries."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO

from wrl import sql as wsql
from wrl.cli import main


def _sql(*args: str):
    return CliRunner().invoke(main, ["sql", *args], catch_exceptions=False)


def _documented_queries() -> list[str]:
    text = (REPO / "docs/pipeline.md").read_text()
    return [q.strip() for q in re.findall(r"```sql\n(.*?)```", text, flags=re.S)]


def test_every_view_reads_an_output_of_dvc_yaml():
    outs = []
    for stage in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].values():
        outs += [next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs", [])]
    for view in wsql.VIEWS.values():
        # A file output, or files inside a directory output (the rollouts' shards).
        assert any(fnmatch.fnmatch(o, view.path) or view.path.startswith(f"{o}/") for o in outs), \
            f"{view.name}: {view.path} is no output of dvc.yaml"
    assert {"instructions", "requirements", "variants", "rejects"} <= set(wsql.VIEWS)


def test_views_over_the_built_pipeline(built_project):
    con = wsql.connect(built_project)
    built = {"data", "parse", "drop"}  # built_project runs `dvc repro drop`
    assert all(ok for name, ok in wsql.available(built_project).items() if wsql.VIEWS[name].stage in built)
    n_instructions, n_reqs = con.sql("SELECT count(*), sum(n_requirements) FROM instructions").fetchall()[0]
    assert n_instructions == pq.read_metadata(built_project / "data/parsed.parquet").num_rows
    assert con.sql("SELECT count(*) FROM requirements").fetchall()[0][0] == n_reqs
    cols = [c[0] for c in con.sql("DESCRIBE requirements").fetchall()]
    assert cols[0] == "instruction_id" and {"requirement_id", "type", "params", "split", "category"} <= set(cols)
    # params is JSON: its fields can be queried
    assert con.sql("SELECT count(*) FROM requirements WHERE type = 'length' AND params->>'$.unit' IS NOT NULL"
                   ).fetchall()[0][0] > 0
    assert con.sql("SELECT count(*) FROM variants").fetchall()[0][0] == pq.read_metadata(
        built_project / "data/variants.parquet").num_rows
    stages = {r[0] for r in con.sql("SELECT DISTINCT stage FROM rejects").fetchall()}
    assert stages <= {"data", "parse", "drop"}


def test_cli_prints_a_table(built_project):
    result = _sql("SELECT split, count(*) AS n FROM instructions GROUP BY split ORDER BY split", "--root",
                  str(built_project))
    assert result.exit_code == 0, result.output
    assert "split" in result.output and "train" in result.output and "│" in result.output


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_cli_writes_csv_parquet_json(built_project, tmp_path, suffix):
    out = tmp_path / f"result{suffix}"
    query = "SELECT id, variant, dropped_types FROM variants WHERE split = 'test' ORDER BY id, variant"
    result = _sql(query, "--root", str(built_project), "--out", str(out))
    assert result.exit_code == 0, result.output
    expected = duckdb.connect().sql(query.replace("variants", f"'{built_project}/data/variants.parquet'")).fetchall()
    if suffix == ".parquet":
        table = pq.read_table(out)
        assert table.num_rows == len(expected)
        assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == "ZSTD"
    elif suffix == ".csv":
        assert pacsv.read_csv(out).num_rows == len(expected)
    else:
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [(r["id"], r["variant"], r["dropped_types"]) for r in rows] == [tuple(e) for e in expected]
    assert not list(tmp_path.glob(".*.tmp"))


def test_catalog_opens_in_duckdb_from_anywhere(built_project, tmp_path):
    catalog = tmp_path / "wrl.duckdb"
    result = _sql("--catalog", str(catalog), "--root", str(built_project))
    assert result.exit_code == 0, result.output
    assert "instructions" in result.output
    script = ("import duckdb; con = duckdb.connect('wrl.duckdb', read_only=True); "
              "print(con.sql('SELECT count(*) FROM requirements').fetchall()[0][0])")
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert int(out.stdout) > 0


def test_missing_artifact_and_bad_sql_are_clear_errors(tmp_path):
    result = CliRunner().invoke(main, ["sql", "SELECT * FROM variants", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert "data/variants.parquet does not exist" in result.output and "dvc repro" in result.output
    result = CliRunner().invoke(main, ["sql", "SELEC 1", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "syntax error" in result.output
    result = CliRunner().invoke(main, ["sql", "SELECT 1", "--root", str(tmp_path), "--out", str(tmp_path / "x.txt")])
    assert result.exit_code == 2 and "unknown output format" in result.output


def test_list_shows_every_view(built_project):
    result = _sql("--list", "--root", str(built_project))
    for name in wsql.VIEWS:
        assert name in result.output


def test_documented_queries_run(built_project):
    queries = _documented_queries()
    assert len(queries) >= 5
    con = wsql.connect(built_project)
    for query in queries:
        con.sql(query).fetchall()
