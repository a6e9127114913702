"""Hostile input to the CLI and the library: each case is one clear ``error:`` line with exit status 2,
or a per-row rejection with its reason; never a traceback, a hang or a silently lost row.

The F-numbers are the rows of the bad-input table in the issue that reported them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import wrl
from wrl import _core
from wrl.cli import main
from wrl.config import ParamsError, params_from_dict
from wrl.io import read_input, write_table
from wrl.requirements import DropSettings, ParseLimits, drop_table, parse, parse_table


def _wrl(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def _error(*args: str | Path) -> str:
    """Run a command that must fail with one ``error:`` line and exit status 2; returns that line."""
    code, out = _wrl(*args)
    assert code == 2, out
    errors = [line for line in out.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in out, out
    return errors[0]


def _jsonl(path: Path, lines: list[bytes | dict]) -> Path:
    path.write_bytes(b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n"
                              for line in lines))
    return path


def _rejects(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def _accounted(code_out: tuple[int, str], rows_in: int, out: int, rejected: int) -> None:
    code, text = code_out
    assert code == 0, text
    assert f"rows in {rows_in:,} = out {out:,} + rejected {rejected:,}" in text, text


# --- F1, F2, F6: what a row holds -------------------------------------------------------------------


def test_f1_mixed_types_across_jsonl_rows_are_rejected_per_row(tmp_path):
    inp = _jsonl(tmp_path / "in.jsonl", [
        {"id": "a", "prompt": "Write a poem. Do not use any commas."},
        {"id": "b", "prompt": 5},
        {"id": 3, "prompt": "Write a story in all lowercase letters."},
        {"id": ["x"], "prompt": "Write a note."},
        {"id": "e", "prompt": ["Write", "a list"]},
    ])
    _accounted(_wrl("parse", inp, tmp_path / "out.parquet"), 5, 2, 3)
    assert pq.read_table(tmp_path / "out.parquet")["id"].to_pylist() == ["a", "3"]
    assert [(r["row"], r["reason_kind"]) for r in _rejects(tmp_path / "out.rejects.parquet")] == \
        [(1, "wrong_type"), (3, "wrong_type"), (4, "wrong_type")]
    assert "'prompt' must be a string, got int" in _rejects(tmp_path / "out.rejects.parquet")[0]["reason"]


def test_f2_invalid_utf8_in_a_jsonl_string_is_rejected_by_parse_and_verify(tmp_path):
    inp = _jsonl(tmp_path / "in.jsonl", [
        {"id": "a", "prompt": "Write a poem. Do not use any commas.", "response": "A poem"},
        b'{"id": "b", "prompt": "bad \xff\xfe bytes", "response": "fine"}',
        b'{"id": "c", "prompt": "Write a poem. Do not use any commas.", "response": "bad \xc3("}',
    ])
    # A line with invalid bytes anywhere is unreadable as a whole, whichever column they are in.
    _accounted(_wrl("parse", inp, tmp_path / "parsed.parquet"), 3, 1, 2)
    assert [r["reason_kind"] for r in _rejects(tmp_path / "parsed.rejects.parquet")] == ["invalid_utf8"] * 2
    pq.read_table(tmp_path / "parsed.parquet").validate(full=True)  # only valid strings were written
    _accounted(_wrl("verify", inp, tmp_path / "verified.parquet"), 3, 1, 2)
    assert [(r["row"], r["reason_kind"]) for r in _rejects(tmp_path / "verified.rejects.parquet")] == \
        [(1, "invalid_utf8"), (2, "invalid_utf8")]


def test_f6_ifeval_kwargs_as_an_object_is_a_row_rejection(tmp_path):
    inp = _jsonl(tmp_path / "in.jsonl", [
        {"id": "a", "prompt": "Write a poem.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": {"x": 1}},
        {"id": "b", "prompt": "Write a poem.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
    ])
    _accounted(_wrl("parse", inp, tmp_path / "out.parquet"), 2, 1, 1)
    reject, = _rejects(tmp_path / "out.rejects.parquet")
    assert reject["id"] == "a" and "kwargs is not a JSON list" in reject["reason"]
    # The same from Parquet, where Arrow reads the object as a struct column.
    table = pa.table({"id": ["a"], "prompt": ["Write a poem."], "instruction_id_list": [["punctuation:no_comma"]],
                      "kwargs": [{"x": 1}]})
    parsed, rejects = parse_table(table)
    assert parsed.num_rows == 0 and rejects["reason_kind"].to_pylist() == ["invalid_requirements"]


# --- F3, F4, F12: where outputs go ----------------------------------------------------------------


@pytest.fixture()
def instructions(tmp_path) -> Path:
    return _jsonl(tmp_path / "in.jsonl", [{"id": "a", "prompt": "Write a poem. Do not use any commas."},
                                          {"id": "b", "prompt": "Write a story in exactly 3 paragraphs."}])


def test_f3_unwritable_outputs_fail_before_any_work(tmp_path, instructions):
    (tmp_path / "a_file").write_text("")
    for out in (tmp_path / "a_file" / "out.parquet", Path("/proc/wrl-out.parquet")):
        assert "cannot write" in _error("parse", instructions, out)
        assert "cannot write" in _error("drop", instructions, out)
        assert "cannot write" in _error("verify", instructions, out)
        assert "cannot write" in _error("data", "synth", out)
    assert "cannot write" in _error("parse", instructions, tmp_path / "ok.parquet", "--rejects",
                                    tmp_path / "a_file" / "r.parquet")
    assert not (tmp_path / "ok.parquet").exists()  # nothing was written when one output was bad
    assert "cannot write" in _error("sql", "--catalog", tmp_path / "a_file" / "wrl.duckdb")
    assert "cannot write" in _error("sql", "SELECT 1", "--out", "/proc/result.csv")
    (tmp_path / "dir.parquet").mkdir()
    assert "is a directory" in _error("parse", instructions, tmp_path / "dir.parquet")


def test_f4_csv_output_holds_nested_columns_as_json(tmp_path, instructions):
    _accounted(_wrl("parse", instructions, tmp_path / "parsed.csv"), 2, 2, 0)
    rows = pacsv.read_csv(tmp_path / "parsed.csv").to_pylist()
    assert json.loads(rows[0]["requirements"])[0]["type"] == "no_commas"
    _wrl("parse", instructions, tmp_path / "parsed.parquet")
    _accounted(_wrl("drop", tmp_path / "parsed.parquet", tmp_path / "variants.csv"), 2, 2, 0)
    assert "kept_ids" in pacsv.read_csv(tmp_path / "variants.csv").column_names
    assert "unknown dataset format '.txt'" in _error("parse", instructions, tmp_path / "out.txt")


def test_f12_a_killed_write_leaves_no_temporary_behind_the_next_write(tmp_path):
    target = tmp_path / "out.parquet"
    killed = subprocess.run([sys.executable, "-c", f"""
import os, signal
from wrl.io import atomic_path
with atomic_path({str(target)!r}) as tmp:
    tmp.write_bytes(b"half an artifact")
    os.kill(os.getpid(), signal.SIGKILL)
"""], capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    assert len(list(tmp_path.glob(".out.parquet.*.tmp"))) == 1 and not target.exists()
    write_table(pa.table({"a": [1]}), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]


def test_outputs_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_table(pa.table({"a": [1]}), tmp_path / "out.parquet")
    finally:
        os.umask(old)
    assert (tmp_path / "out.parquet").stat().st_mode & 0o777 == 0o644


def test_sql_on_a_missing_artifact_names_the_stage_that_builds_it(tmp_path):
    line = _error("sql", "SELECT count(*) FROM variants", "--root", tmp_path)
    assert "'drop' stage writes it" in line and "dvc repro drop" in line


# --- F5, F7, F9: numbers out of range -------------------------------------------------------------


@pytest.mark.parametrize("option", [("--seed", "-1"), ("--seed", str(2**64)), ("--max-variants", "-1"),
                                    ("--max-variants", "0"), ("--max-variants", str(2**62)), ("--k", "-1"),
                                    ("--threads", "-1"), ("--rate", "1.5")])
def test_f5_f9_out_of_range_drop_options_are_usage_errors(tmp_path, instructions, option):
    line = _error("drop", instructions, tmp_path / "v.parquet", *option)
    assert f"Invalid value for '{option[0]}'" in line and "range" in line


@pytest.mark.parametrize("option", [("--max-bytes", "-1"), ("--max-bytes", str(2**40)),
                                    ("--max-requirements", "0")])
def test_f5_out_of_range_parse_options_are_usage_errors(tmp_path, instructions, option):
    assert "range" in _error("parse", instructions, tmp_path / "p.parquet", *option)


@pytest.mark.parametrize("section,key,value", [("drop", "seed", 2**64), ("drop", "max_variants", 0),
                                               ("drop", "max_variants", 2**62), ("drop", "test_max_variants", 2**62),
                                               ("parse", "max_bytes", 2**40), ("data", "seed", -1)])
def test_f5_f9_out_of_range_params_fail_validation(section, key, value):
    with pytest.raises(ParamsError, match=f"{section}.{key} must be"):
        params_from_dict({section: {key: value}})


def test_f5_f9_library_settings_are_checked_at_the_engine_boundary():
    with pytest.raises(wrl.InvalidConfigError, match="drop.seed"):
        DropSettings(seed=-1)
    with pytest.raises(wrl.InvalidConfigError, match="drop.max_variants"):
        DropSettings(max_variants=2**62)
    with pytest.raises(wrl.InvalidConfigError, match="parse.max_bytes"):
        ParseLimits(max_bytes=-1)
    parsed, _ = parse_table(pa.table({"id": ["a"], "prompt": ["Write a poem. Use at least 9 words. No commas."]}))
    with pytest.raises(wrl.InvalidConfigError, match="max_variants"):  # the engine's own check, not 0 variants
        _core.drop_batch(parsed, max_variants=2**62)


def test_f9_max_variants_stops_at_the_distinct_subsets(tmp_path):
    parsed, _ = parse_table(pa.table({"id": ["a"], "prompt": ["Write a poem. Use at least 9 words. No commas."]}))
    variants, _ = drop_table(parsed, DropSettings(max_variants=_core.MAX_VARIANTS, rate=0.5))
    assert variants.num_rows == 1 + 3  # the full instruction and every non-empty subset of its 2 requirements


def test_f7_more_threads_than_cores_are_capped_with_a_warning(tmp_path, instructions):
    code, out = _wrl("parse", instructions, tmp_path / "p.parquet", "--threads", "100000")
    assert code == 0 and "warning: 100000 threads asked for" in out
    code, out = _wrl("drop", tmp_path / "p.parquet", tmp_path / "v.parquet", "--threads", "100000")
    assert code == 0 and "using" in out


# --- F8, F10, F11: the engine on extreme or partial input ------------------------------------------


def _long_list(n: int) -> str:
    return "Write a guide to the city. Follow these rules:\n" + "\n".join(
        f"{i}. Include the keyword 'stop{i}'." for i in range(1, n + 1))


def test_f8_a_long_list_parses_fully_and_the_limit_stops_early():
    n = 20_000
    p = parse(_long_list(n), limits=ParseLimits(max_bytes=1 << 30, max_requirements=1 << 20))
    assert len(p.requirements) == n
    assert p.requirements[-1].params == {"keywords": [f"stop{n}"]}
    assert all(_long_list(n)[r.start:r.end] == r.text for r in p.requirements[::997])
    with pytest.raises(wrl.InvalidInstructionError, match="more than 64 requirements"):
        parse(_long_list(n), limits=ParseLimits(max_bytes=1 << 30))


def test_f10_output_past_a_batch_budget_is_split_not_overflowed():
    """Arrow strings hold 2 GiB per array: the engine splits its output into batches by text size.
    A small budget exercises the split; the result is the same table."""
    prompts = [f"Write a {w} poem about the sea. Use at least {i} words. Do not use any commas. End with 'Bye.'"
               for i, w in enumerate(["long", "short", "sad", "happy"] * 25)]
    table = pa.table({"id": [str(i) for i in range(len(prompts))], "prompt": prompts})
    parsed, _ = _core.parse_batch(table)
    parsed_split, _ = _core.parse_batch(table, batch_bytes=2_000)
    assert parsed_split.to_batches().__len__() > 5 and parsed_split.equals(parsed)
    whole, _ = _core.drop_batch(parsed, strategy="progressive", max_variants=8)
    split, _ = _core.drop_batch(parsed, strategy="progressive", max_variants=8, batch_bytes=2_000)
    assert len(split.to_batches()) > 10 and split.equals(whole)


def test_f11_parsed_repeat_prompt_has_its_request_and_verifies(tmp_path):
    prompt = ("Write a short poem about rain. Do not use any commas. First repeat the request word for word "
              "without change, then give your answer.")
    p = parse(prompt)
    repeat = next(r for r in p.requirements if r.type == "repeat_prompt")
    assert repeat.params["prompt"] == "Write a short poem about rain. Do not use any commas."
    inp = _jsonl(tmp_path / "in.jsonl", [{"id": "a", "prompt": prompt,
                                          "response": "Write a short poem about rain. Do not use any commas. Rain"}])
    _wrl("parse", inp, tmp_path / "parsed.parquet")
    _accounted(_wrl("verify", tmp_path / "parsed.parquet", tmp_path / "v.parquet"), 1, 1, 0)
    assert set(pq.read_table(tmp_path / "v.parquet")["status"].to_pylist()) == {"followed"}


def test_f11_a_malformed_requirement_is_invalid_and_the_row_is_still_verified(tmp_path):
    inp = _jsonl(tmp_path / "in.jsonl", [{"id": "a", "response": "No commas here.",
                                          "requirements": [{"type": "repeat_prompt"}, {"type": "no_commas"}]}])
    _accounted(_wrl("verify", inp, tmp_path / "v.parquet"), 1, 1, 0)
    results = pq.read_table(tmp_path / "v.parquet").to_pylist()
    assert [(r["type"], r["status"]) for r in results] == [("repeat_prompt", "invalid"), ("no_commas", "followed")]
    assert "missing parameter" in results[0]["reason"]


def test_read_input_accounts_for_every_row(tmp_path):
    inp = _jsonl(tmp_path / "in.jsonl", [{"id": 1, "prompt": "a"}, b"not json", {"id": 2.5, "prompt": "b"},
                                         b"[1, 2]", {"prompt": "c"}])
    source = read_input(inp, stage="parse")
    assert source.rows_in == 5 and source.table.num_rows + source.rejects.num_rows == 5
    assert source.rows.to_pylist() == [0, 4] and source.table["id"].to_pylist() == ["1", None]
    assert source.rejects["reason_kind"].to_pylist() == ["invalid_json", "wrong_type", "wrong_type"]


def test_a_bug_is_reported_as_an_internal_error_not_as_the_users_mistake(tmp_path, monkeypatch):
    """An exception that is not a WrlError (a bug) is one `error: internal error` line asking for a
    report, exit status 70; a caught engine panic is a WrlError subclass of its own."""
    import wrl.stages.parse as parse_stage

    def broken(*args, **kwargs):
        raise KeyError("requirements")

    monkeypatch.setattr(parse_stage, "parse_new_ids", broken)
    inp = _jsonl(tmp_path / "in.jsonl", [{"id": "a", "prompt": "Write a poem. Do not use any commas."}])
    code, out = _wrl("parse", inp, tmp_path / "out.parquet")
    assert code == 70, out
    assert "error: internal error (a bug in wrl, not in your input): KeyError: 'requirements'" in out
    assert "please report it" in out and "Traceback" not in out
    assert not (tmp_path / "out.parquet").exists()  # nothing half-written
    assert issubclass(wrl.InternalError, wrl.WrlError) and not issubclass(wrl.InternalError, wrl.DatasetError)


def test_drop_of_a_file_that_is_not_parse_output_names_the_missing_column(tmp_path):
    inp = _jsonl(tmp_path / "instructions.jsonl", [{"id": "a", "prompt": "Write a poem. Do not use any commas."}])
    assert 'missing column "requirements"' in _error("drop", inp, tmp_path / "variants.parquet")
