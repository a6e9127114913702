"""The rollouts artifact as the stages after ``rollout`` read it: every shard's rows with their types checked,
the parsed instructions they answer, and the rows that cannot be used rejected with their reason.

``rm_data`` (reward-model examples) and ``weval_judge`` (WEval groups) read rollouts the same way, so
a row one of them rejects the other rejects for the same reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from wrl.errors import DatasetError
from wrl.io import read_input, read_table, rejects_table
from wrl.requirements import SeenIds
from wrl.stage import Port

SPLITS = ("train", "dev", "test")
#: Columns every rollout row needs (a null cell rejects the row, an absent column is an error).
ROLLOUT_COLUMNS = ("id", "variant_id", "sample", "prompt", "kept_ids", "dropped_ids", "response", "finish_reason")
#: Columns of the parsed instructions the later stages take (category and language may be absent).
PARSED_COLUMNS = ("id", "prompt", "requirements", "split")
REQUIREMENT_FIELDS = ("id", "type", "family", "text", "verifiable")
#: The inputs of the stages that read rollouts against their instructions (rm_data, weval_judge).
INPUTS = (Port("rollouts", "Rollouts: a directory of Parquet shards (the rollout stage's output).", directory=True),
          Port("parsed", "Parsed instructions (the parse stage's output)."))


def _string_lists(column: pa.ChunkedArray, name: str, source: Path) -> pa.ChunkedArray:
    typ = column.type
    if (pa.types.is_list(typ) or pa.types.is_large_list(typ)) and (
            pa.types.is_string(typ.value_type) or pa.types.is_large_string(typ.value_type)
            or pa.types.is_null(typ.value_type)):
        return column.cast(pa.list_(pa.string()))
    if pa.types.is_null(typ):
        return column.cast(pa.list_(pa.string()))
    raise DatasetError(f"{source}: column {name!r} must be a list of strings, got {typ}")


def _shard_columns(table: pa.Table, source: Path) -> pa.Table:
    """The columns the stage reads from a rollout shard, with their types checked and made uniform."""
    missing = [c for c in ROLLOUT_COLUMNS if c not in table.column_names]
    if missing:
        raise DatasetError(f"{source}: not a rollout shard: no column {missing[0]!r} (rollout columns: "
                           f"{', '.join(ROLLOUT_COLUMNS)})")
    out = {}
    for name in ROLLOUT_COLUMNS + ("split",):
        if name not in table.column_names:
            out[name] = pa.nulls(table.num_rows, pa.string())
            continue
        column = table[name]
        if name in ("kept_ids", "dropped_ids"):
            column = _string_lists(column, name, source)
        elif name == "sample":
            if not (pa.types.is_integer(column.type) or pa.types.is_null(column.type)):
                raise DatasetError(f"{source}: column 'sample' must be an integer, got {column.type}")
            try:
                column = column.cast(pa.int32())
            except pa.ArrowInvalid as e:
                raise DatasetError(f"{source}: column 'sample' does not fit int32: {e}") from None
        elif not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
                  or pa.types.is_null(column.type)):
            raise DatasetError(f"{source}: column {name!r} must be text, got {column.type}")
        else:
            column = column.cast(pa.string())
        out[name] = column
    return pa.table(out)


def rollout_shards(directory: Path) -> list[Path]:
    """The rollout shards of ``directory``: its ``*.parquet`` files in name order (markers and hidden
    temporaries of an unfinished write are not shards)."""
    if not directory.exists():
        raise DatasetError(f"{directory}: no such rollouts directory (the rollout stage writes it)")
    if not directory.is_dir():
        raise DatasetError(f"{directory}: not a directory: the rollouts are a directory of Parquet shards")
    shards = sorted(p for p in directory.glob("*.parquet") if not p.name.startswith(".") and p.is_file())
    if not shards:
        raise DatasetError(f"{directory}: no rollout shards (*.parquet) in the directory")
    return shards


def read_rollouts(directory: Path, stage: str) -> tuple[pa.Table, list[pa.Table], int]:
    """Every rollout row of every shard, numbered in file order.

    Returns:
        ``(rows, rejects, rows_in)``: the readable rows with a ``row`` column (the row's number
        across the shards in name order), the rows that could not be read, and the row count.
    """
    parts, rejects, offset = [], [], 0
    for shard in rollout_shards(directory):
        batch = read_input(shard, stage=stage, text_columns=("variant_id", "prompt", "response",
                                                                  "finish_reason", "split"))
        batch = batch.shifted(offset)
        table = _shard_columns(batch.table, shard)
        parts.append(table.add_column(0, "row", batch.rows))
        rejects.append(batch.rejects)
        offset += batch.rows_in
    return pa.concat_tables(parts), rejects, offset


def read_parsed(path: Path) -> pa.Table:
    """The parsed instructions the examples need: id, prompt, requirements, split, category, language."""
    table = read_table(path)
    missing = [c for c in PARSED_COLUMNS if c not in table.column_names]
    if missing:
        raise DatasetError(f"{path}: not parse output: no column {missing[0]!r}")
    reqs = table.schema.field("requirements").type
    if not (pa.types.is_list(reqs) and pa.types.is_struct(reqs.value_type)):
        raise DatasetError(f"{path}: column 'requirements' must be a list of structs (parse output), got {reqs}")
    fields = {reqs.value_type.field(i).name for i in range(reqs.value_type.num_fields)}
    absent = [f for f in (*REQUIREMENT_FIELDS, "params") if f not in fields]
    if absent:
        raise DatasetError(f"{path}: column 'requirements' has no field {absent[0]!r} (parse output has "
                           f"{', '.join((*REQUIREMENT_FIELDS, 'params'))})")
    ids = pc.cast(table["id"], pa.string())
    if pc.count_distinct(ids).as_py() != table.num_rows:
        raise DatasetError(f"{path}: duplicate instruction ids (parse output has one row per id)")
    columns = {"id": ids, "instruction": pc.cast(table["prompt"], pa.string()),
               "requirements": table["requirements"], "split": pc.cast(table["split"], pa.string())}
    for name in ("category", "language"):
        columns[name] = pc.cast(table[name], pa.string()) if name in table.column_names \
            else pa.nulls(table.num_rows, pa.string())
    return pa.table(columns)


# --- checking rows --------------------------------------------------------------------------------


class _Rows:
    """The rollout rows still in play, and the ones rejected so far with their reasons."""

    def __init__(self, table: pa.Table, stage: str):
        self.table, self.stage = table, stage
        self.rejects: list[pa.Table] = []

    def reject(self, mask: pa.Array, kind: str, reason: Any) -> None:
        """Reject the rows where ``mask`` is true; ``reason`` is a sentence or a function of the rejected rows."""
        mask = pc.fill_null(mask, False)
        bad = self.table.filter(mask)
        if bad.num_rows:
            reasons = reason(bad) if callable(reason) else reason
            self.rejects.append(rejects_table(bad["row"], bad["id"], self.stage, kind, reasons))
            self.table = self.table.filter(pc.invert(mask))


def row_keys(*columns: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One text key per row from several columns (joins on more than one column)."""
    parts = [pc.cast(c, pa.string()) for c in columns]
    return pc.binary_join_element_wise(*parts, "\x1f")


def flat_lists(lists: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """A list column's values and, for each value, the index of its row."""
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    return pc.list_flatten(lists), pc.cast(pc.list_parent_indices(lists), pa.int64())


def check_rows(rows: pa.Table, parsed: pa.Table, stage: str) -> tuple[pa.Table, list[pa.Table], pa.Array]:
    """Reject the rollout rows the stage cannot label; returns the rest, the rejects and each kept row's
    index in ``parsed``.

    In order: a null in a needed column (``missing_value``), a second response with the same
    variant and sample (``duplicate_response``), an instruction id that parse does not have
    (``unknown_instruction``), an instruction without a train/dev/test split (``no_split``) or in
    another split than the rollout says (``split_mismatch``), kept and dropped ids that are not
    the instruction's requirements (``requirements_mismatch``), an empty or whitespace-only
    response (``empty_response``).
    """
    state = _Rows(rows, stage)
    for name in ROLLOUT_COLUMNS:
        state.reject(pc.is_null(state.table[name]), "missing_value", f"column {name!r} is null")
    state.reject(SeenIds().repeated(row_keys(state.table["variant_id"], state.table["sample"])), "duplicate_response",
                 "duplicate response: an earlier row has the same variant_id and sample")
    state.reject(pc.is_null(pc.index_in(state.table["id"], parsed["id"])), "unknown_instruction",
                 "instruction id not in the parsed instructions")

    def split_of(table: pa.Table) -> pa.Array:
        return pc.take(parsed["split"], pc.index_in(table["id"], parsed["id"]))

    state.reject(pc.invert(pc.is_in(split_of(state.table), pa.array(SPLITS))), "no_split",
                 lambda bad: [f"the instruction's split is {s!r}, not one of {', '.join(SPLITS)}"
                              for s in split_of(bad).to_pylist()])
    state.reject(pc.and_(pc.is_valid(state.table["split"]), pc.not_equal(state.table["split"], split_of(state.table))),
                 "split_mismatch", lambda bad: [f"the rollout says split {s!r}, the instruction is in {t!r}" for s, t
                                                in zip(bad["split"].to_pylist(), split_of(bad).to_pylist(),
                                                       strict=True)])
    state.reject(pc.invert(_requirements_match(state.table, parsed)), "requirements_mismatch",
                 "a requirement list that does not match the instruction: kept_ids and dropped_ids together must be "
                 "the instruction's requirement ids, each once")
    state.reject(pc.equal(pc.utf8_trim_whitespace(state.table["response"]), ""), "empty_response",
                 "empty or whitespace-only response")
    return state.table, state.rejects, pc.index_in(state.table["id"], parsed["id"])


def _requirements_match(rows: pa.Table, parsed: pa.Table) -> pa.Array:
    """Per row: kept_ids + dropped_ids is exactly the instruction's requirement ids, each once."""
    reqs = pc.take(parsed["requirements"], pc.index_in(rows["id"], parsed["id"]))
    flat, req_row = flat_lists(reqs)
    kept, kept_row = flat_lists(rows["kept_ids"])
    dropped, dropped_row = flat_lists(rows["dropped_ids"])
    named = pa.concat_arrays([row_keys(kept_row, kept), row_keys(dropped_row, dropped)])
    unnamed = pc.invert(pc.is_in(row_keys(req_row, pc.struct_field(flat, "id")), value_set=named))
    # The same number of ids and every requirement named: the lists hold the requirement ids, each once
    # (parse's ids are unique within an instruction).
    n_named = pc.add(pc.list_value_length(rows["kept_ids"]), pc.list_value_length(rows["dropped_ids"]))
    incomplete = pc.is_in(pa.array(range(rows.num_rows), pa.int64()), value_set=pc.filter(req_row, unnamed))
    return pc.and_(pc.equal(n_named, pc.list_value_length(reqs)), pc.invert(incomplete))
