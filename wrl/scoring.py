"""``wrl score``: score a file of responses with a reward model, one output row per (response, requirement).

Input (Parquet, JSONL or CSV): a response column and, per row, either ``requirements`` (a list of
requirement texts, a parse-stage list of requirement structs with ``text``, or the JSON text of
either) or ``requirement`` (one requirement per row, as in ``data/rm/pointwise.parquet``).

Output (Parquet): one row per (input row, requirement) with the file's ``row`` and ``id``, the
requirement's index, id and type (from a parse-stage struct, else null) and text, its ``score``
and the input row's ``aggregate_score`` (repeated on each of its requirements, so one table
answers both per-requirement and per-response questions), then the scoring settings as constant
columns (model, objective, template, tokenizer, max_length, batch_size, aggregate).

Rows that cannot be scored go to the rejects file with their reason: a missing or empty response,
requirements that are not a non-empty list of strings, a requirement too long for the model's
``max_length``. Rows in = rows scored + rows rejected.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from wrl.errors import DatasetError
from wrl.io import DatasetWriter, iter_input, rejects_table, write_table
from wrl.stage import Report

STAGE = "score"
#: Rows per model call (and per progress-bar step).
CHUNK_ROWS = 1024


def output_schema(keep: Sequence[tuple[str, pa.DataType]] = ()) -> pa.Schema:
    """The columns of ``wrl score``'s output (``keep``: input columns carried, with their types)."""
    return pa.schema([
        ("row", pa.int64()), ("id", pa.string()), ("requirement_index", pa.int32()),
        ("requirement_id", pa.string()), ("requirement_type", pa.string()), ("requirement", pa.string()),
        ("score", pa.float64()), ("aggregate_score", pa.float64()), *keep,
        ("model", pa.string()), ("objective", pa.string()), ("template", pa.string()), ("tokenizer", pa.string()),
        ("max_length", pa.int32()), ("batch_size", pa.int32()), ("aggregate", pa.string()),
    ])


def _requirements_cell(value: Any) -> tuple[list[tuple[str, str | None, str | None]] | None, tuple[str, str] | None]:
    """``[(text, id, type)]`` of a ``requirements`` cell, or ``(None, (reason_kind, reason))``."""
    if value is None:
        return None, ("missing_requirements", "'requirements' is null")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None, ("invalid_json", "'requirements' is text that is not a JSON list")
    if not isinstance(value, list):
        return None, ("wrong_type", f"'requirements' must be a list of strings, got {type(value).__name__}")
    if not value:
        return None, ("no_requirements", "'requirements' is empty: nothing to score against")
    out = []
    for j, r in enumerate(value):
        if isinstance(r, dict):
            text, rid, rtype = r.get("text"), r.get("id"), r.get("type")
        else:
            text, rid, rtype = r, None, None
        if not isinstance(text, str):
            return None, ("wrong_type", f"requirement {j} must be a string (or a struct with a 'text'), got "
                                        f"{type(text).__name__}")
        if not text.strip():
            return None, ("empty_requirement", f"requirement {j} is empty")
        out.append((text, rid if isinstance(rid, str) else None, rtype if isinstance(rtype, str) else None))
    return out, None


def score_file(rm: Any, inp: Path, out: Path, rejects_path: Path, *, response_column: str = "response",
               keep: Sequence[str] = (), progress: bool | None = None) -> Report:
    """Score every (row, requirement) of ``inp`` with ``rm`` (a :class:`~wrl.reward_model.RewardModel`).

    Args:
        keep: input columns to carry into the output (repeated on each requirement of their row).
        progress: show a progress bar (None: when stderr is a terminal).

    Raises:
        DatasetError: the file lacks the response column or a requirements column, or a ``keep`` column.
    """
    from tqdm import tqdm

    settings = rm.describe()
    truncated_before, started = rm.truncated, time.monotonic()
    rejects: list[pa.Table] = []
    rows_in = rows_scored = pairs = 0
    kind_counts: Counter = Counter()
    mode = None
    with DatasetWriter(out) as writer, \
            tqdm(desc="scoring", unit="pair", disable=None if progress is None else not progress) as bar:
        for source in iter_input(inp, stage=STAGE, text_columns=(response_column, "requirement")):
            table = source.table
            rows_in += source.rows_in
            if mode is None:
                if response_column not in table.column_names:
                    raise DatasetError(f"{inp}: no {response_column!r} column (the responses; set --response-column)")
                mode = "requirements" if "requirements" in table.column_names else \
                    "requirement" if "requirement" in table.column_names else None
                if mode is None:
                    raise DatasetError(f"{inp}: no 'requirements' column (a list per row) and no 'requirement' "
                                       "column (one per row): nothing to score against")
                missing = [c for c in keep if c not in table.column_names]
                if missing:
                    raise DatasetError(f"{inp}: no column {', '.join(map(repr, missing))} to keep")
                keep_fields = [(c, table.schema.field(c).type) for c in keep]
                writer.schema = output_schema(keep_fields)
            responses = table[response_column].to_pylist()
            cells = table[mode].to_pylist()
            ids = table["id"].to_pylist()
            bad: dict[int, tuple[str, str]] = {}
            reqs: dict[int, list[tuple[str, str | None, str | None]]] = {}
            for i, (response, cell) in enumerate(zip(responses, cells, strict=True)):
                if response is None:
                    bad[i] = ("missing_response", f"{response_column!r} is null")
                elif not response.strip():
                    bad[i] = ("empty_response", f"{response_column!r} is empty")
                elif mode == "requirement":
                    if cell is None or not cell.strip():
                        bad[i] = ("empty_requirement", "'requirement' is null or empty")
                    else:
                        reqs[i] = [(cell, None, None)]
                else:
                    parsed, why = _requirements_cell(cell)
                    if why is not None:
                        bad[i] = why
                    else:
                        reqs[i] = parsed
            flat = [(i, j, r[0]) for i in sorted(reqs) for j, r in enumerate(reqs[i])]
            for (i, j, _), long in zip(flat, rm.too_long([text for _, _, text in flat]) if flat else [],
                                       strict=True):
                if long and i not in bad:
                    bad[i] = ("requirement_too_long", f"requirement {j} leaves no room for the response in "
                                                      f"max_length={rm.format.max_length} tokens")
            good = [i for i in sorted(reqs) if i not in bad]
            scores: dict[int, Any] = {}
            for start in range(0, len(good), CHUNK_ROWS):
                rows = good[start:start + CHUNK_ROWS]
                for i, s in zip(rows, rm.score([responses[i] for i in rows], [[r[0] for r in reqs[i]] for i in rows]),
                                strict=True):
                    scores[i] = s
                bar.update(sum(len(reqs[i]) for i in rows))
            at = [i for i in good for _ in reqs[i]]
            index = pa.array(at, pa.int64())
            columns: dict[str, Any] = {
                "row": source.rows.take(index), "id": pa.array([ids[i] for i in at], pa.string()),
                "requirement_index": pa.array([j for i in good for j in range(len(reqs[i]))], pa.int32()),
                "requirement_id": pa.array([r[1] for i in good for r in reqs[i]], pa.string()),
                "requirement_type": pa.array([r[2] for i in good for r in reqs[i]], pa.string()),
                "requirement": pa.array([r[0] for i in good for r in reqs[i]], pa.string()),
                "score": pa.array([p for i in good for p in scores[i].requirements], pa.float64()),
                "aggregate_score": pa.array([scores[i].score for i in at], pa.float64()),
            }
            for name in keep:
                columns[name] = table[name].take(index)
            n = len(at)
            for name in ("model", "objective", "template", "tokenizer", "aggregate"):
                columns[name] = pa.array([str(settings[name])] * n, pa.string())
            for name in ("max_length", "batch_size"):
                columns[name] = pa.array([int(settings[name])] * n, pa.int32())
            writer.write(pa.table(columns, schema=writer.schema))
            rows_scored += len(good)
            pairs += n
            local = rejects_table(sorted(bad), [ids[i] for i in sorted(bad)], STAGE,
                                  [bad[i][0] for i in sorted(bad)], [bad[i][1] for i in sorted(bad)])
            merged = source.merge(local)
            kind_counts.update(merged["reason_kind"].to_pylist())
            rejects.append(merged)
        write_table(pa.concat_tables(rejects) if rejects else rejects_table([], [], STAGE, [], []), rejects_path)
    seconds = time.monotonic() - started
    lines = [f"input: {inp}", f"model: {settings['model']} ({settings['objective']}, max_length "
             f"{settings['max_length']}, batch size {settings['batch_size']}, aggregate {settings['aggregate']})",
             f"pairs scored: {pairs:,} in {seconds:.1f} s ({pairs / seconds if seconds else 0:.1f} pairs/s)",
             f"responses cut to fit max_length: {rm.truncated - truncated_before:,} of {pairs:,} pairs"]
    return Report(STAGE, rows_in, rows_scored, kind_counts, (out,), rejects_path, lines=lines)
