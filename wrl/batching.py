"""Run a table-to-(output, rejects) function over a large table in chunks, with a progress bar.

The engine works on whole Arrow tables; chunking only exists so that long inputs show progress.
Row indices in the outputs are shifted back to the input's numbering, so chunking never changes a
result.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from wrl.errors import InvalidConfigError
from wrl.io import REJECTS_SCHEMA

CHUNK_ROWS = 100_000


def worker_threads(threads: int) -> int:
    """The thread count to run with: 0 means every core; more threads than cores only cost memory
    and start-up (100,000 threads once ran for minutes), so they are capped with a warning."""
    if threads < 0:
        raise InvalidConfigError(f"threads must be 0 (all cores) or more, got {threads}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if threads > cores:
        print(f"warning: {threads} threads asked for, {cores} cores available: using {cores}", file=sys.stderr)
        return cores
    return threads


def run_chunked(
    fn: Callable[[pa.Table], tuple[pa.Table, pa.Table]],
    table: pa.Table,
    *,
    stage: str,
    desc: str,
    row_column: str | None = "row",
    progress: bool = True,
) -> tuple[pa.Table, pa.Table]:
    """Apply ``fn`` chunk by chunk; shift ``row`` columns back to input row numbers.

    Args:
        fn: returns ``(output, rejects)`` for a chunk; both may carry a ``row`` column that
            indexes the chunk.
        row_column: the output's row-index column to shift, or None if it has none.
    """
    outputs, rejects = [], []
    with tqdm(total=table.num_rows, desc=desc, unit="rows", disable=not progress or table.num_rows < CHUNK_ROWS,
              leave=False) as bar:
        for offset in range(0, max(table.num_rows, 1), CHUNK_ROWS):
            chunk = table.slice(offset, CHUNK_ROWS)
            out, rej = fn(chunk)
            if row_column and row_column in out.column_names:
                out = out.set_column(out.column_names.index(row_column), row_column,
                                     pc.add(out[row_column], pa.scalar(offset, pa.int64())))
            rej = rej.set_column(0, "row", pc.add(rej["row"], pa.scalar(offset, pa.int64())))
            outputs.append(out)
            rejects.append(rej.cast(REJECTS_SCHEMA))
            bar.update(chunk.num_rows)
    return pa.concat_tables(outputs), pa.concat_tables(rejects)
