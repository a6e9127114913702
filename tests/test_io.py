"""Dataset IO: format detection, clear errors naming the file, atomic and deterministic writes."""

from __future__ import annotations

import pyarrow as pa
import pytest

from wrl.io import DatasetError, atomic_path, read_table, write_table

TABLE = pa.table({"id": ["a", "b"], "prompt": ["Write:\n1. Use a formal tone.\n2. Avoid jargon.", "写一首诗。"]})


@pytest.mark.parametrize("ext", ["parquet", "jsonl", "csv"])
def test_round_trip_keeps_multiline_and_unicode_prompts(tmp_path, ext):
    path = tmp_path / f"t.{ext}"
    write_table(TABLE, path)
    assert read_table(path).select(["id", "prompt"]).to_pylist() == TABLE.to_pylist()


def test_parquet_output_is_byte_identical(tmp_path):
    write_table(TABLE, tmp_path / "a.parquet")
    write_table(TABLE, tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "out.parquet"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half an artifact")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_errors_name_the_file(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        read_table(tmp_path / "missing.parquet")
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(DatasetError, match="unknown dataset format"):
        read_table(tmp_path / "data.xlsx")
    broken = tmp_path / "broken.parquet"
    write_table(TABLE, broken)
    broken.write_bytes(broken.read_bytes()[:-20])
    with pytest.raises(DatasetError, match="broken.parquet"):
        read_table(broken)
