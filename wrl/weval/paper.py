"""Evaluation files in the paper's WEval format, scored by any judge (``wrl weval score``).

The format: one row per response, consecutive groups of ``group_size`` rows, each row with
``chosen`` (the response), ``constraint`` (the full instruction's constraints, the same list on
every row of a group), ``instruction_id_list`` (the ids of the constraints dropped when the
response was written) and ``prompt``. The gold rank of a row is ``group_size`` minus the number
dropped, so a group holds one response per count 0 .. ``group_size`` - 1.

Unlike the paper's scorer, a file whose row count the group size does not divide, or a group
whose members are not one per count, is an error naming the row (a silently dropped or
misaligned group changes every average); ties follow ``--ties`` (``paper`` reproduces the
paper's scorer, tie-breaking toward the gold order included).

Constraints are plain text. The rule verifiers judge those the parser reads as exactly one
verifiable requirement (``wrl.requirements.parse`` on the constraint alone); the others are beyond
them, as for any unverifiable requirement.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from wrl.errors import DatasetError, WrlError
from wrl.io import read_table
from wrl.judges import JudgeItem
from wrl.requirements import Requirement, parse

COLUMNS = ("chosen", "constraint", "instruction_id_list")


@dataclass(frozen=True)
class PaperGroups:
    """A WEval file's groups: the judge items in file order, each row's group and gold rank, and per group
    its category (``category`` or ``domain`` column, else ``all``) and the ids dropped in it."""

    items: list[JudgeItem]
    group: list[int]
    gold: list[int]
    categories: list[str]
    dropped: list[list[str]]

    @property
    def n_groups(self) -> int:
        return len(self.categories)


def _string_list(value: Any, row: int, name: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"{path}: row {row}: {name!r} must be a list of strings, got {str(value)[:80]!r}")
    return value


def _requirement(text: str, j: int) -> Requirement:
    """A constraint as a requirement: the type and params the parser finds when it reads exactly one, else
    ``unknown`` (no rule judges it)."""
    try:
        found = parse(text).requirements
    except WrlError:
        found = ()
    if len(found) == 1:
        return Requirement(f"c{j}", found[0].type, None, None, text, found[0].params)
    return Requirement(f"c{j}", "unknown", None, None, text)


def read_paper_file(path: str | Path, group_size: int) -> PaperGroups:
    """Read and check a WEval-format file (JSONL, Parquet or CSV with JSON lists).

    Raises:
        DatasetError: a missing column, a wrong type, a group size that does not divide the rows, or a group
            that is not one response per number dropped (naming the row).
    """
    path = Path(path)
    if group_size < 2:
        raise DatasetError(f"--group-size must be at least 2, got {group_size}")
    table = read_table(path)
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise DatasetError(f"{path}: no column {missing[0]!r}; the WEval format has {', '.join(COLUMNS)} (and "
                           "prompt)")
    n = table.num_rows
    if n == 0:
        raise DatasetError(f"{path}: no rows")
    if n % group_size:
        raise DatasetError(f"{path}: {n:,} rows are not groups of {group_size}: the last group (from row "
                           f"{n - n % group_size}) has {n % group_size} row(s); is --group-size right?")
    rows = table.to_pylist()
    category_column = next((c for c in ("category", "domain") if c in table.column_names), None)
    parsed: dict[tuple[str, ...], tuple[Requirement, ...]] = {}
    items, group, gold, categories, dropped = [], [], [], [], []
    for g in range(n // group_size):
        first = g * group_size
        constraints = _string_list(rows[first]["constraint"], first, "constraint", path)
        if not constraints:
            raise DatasetError(f"{path}: row {first}: 'constraint' is empty: nothing to judge against")
        seen: dict[int, int] = {}
        for i in range(first, first + group_size):
            row = rows[i]
            if not isinstance(row["chosen"], str):
                raise DatasetError(f"{path}: row {i}: 'chosen' (the response) must be text, got "
                                   f"{type(row['chosen']).__name__}")
            if _string_list(row["constraint"], i, "constraint", path) != constraints:
                raise DatasetError(f"{path}: row {i}: its 'constraint' list differs from row {first}'s, the first "
                                   f"of its group (rows {first}-{first + group_size - 1}): is a member missing?")
            k = len(_string_list(row["instruction_id_list"], i, "instruction_id_list", path))
            if k >= group_size:
                raise DatasetError(f"{path}: row {i}: {k} constraints dropped, but a group of {group_size} holds "
                                   f"0 to {group_size - 1}")
            if k in seen:
                ks = {len(r["instruction_id_list"]) if isinstance(r["instruction_id_list"], list) else -1
                      for r in rows[first:first + group_size]}
                absent = ", ".join(str(d) for d in range(group_size) if d not in ks)
                raise DatasetError(f"{path}: row {i}: a second member with {k} dropped in the group of rows "
                                   f"{first}-{first + group_size - 1} (row {seen[k]} is the first); no member has "
                                   f"{absent} dropped: is a member missing?")
            seen[k] = i
            key = tuple(constraints)
            if key not in parsed:
                parsed[key] = tuple(_requirement(t, j) for j, t in enumerate(constraints))
            items.append(JudgeItem(f"row{i}", str(row.get("prompt") or ""), row["chosen"], parsed[key]))
            group.append(g)
            gold.append(group_size - k)
        last = max(seen.items())[1]
        dropped.append(list(rows[last]["instruction_id_list"]))
        categories.append(str(rows[first].get(category_column) or "unknown") if category_column else "all")
    return PaperGroups(items, group, gold, categories, dropped)


def per_row_table(groups: PaperGroups, judge: str, scores: Sequence[float | None],
                  requirement_scores: Sequence[Sequence[float | None]], failures: Sequence[str | None]) -> pa.Table:
    """``--out``: one row per input row: its group, gold rank and the judge's scores."""
    return pa.table({
        "row": pa.array(range(len(groups.items)), pa.int64()), "group": pa.array(groups.group, pa.int64()),
        "gold": pa.array(groups.gold, pa.int32()), "judge": [judge] * len(groups.items),
        "score": pa.array(scores, pa.float64()),
        "requirement_scores": pa.array([list(s) for s in requirement_scores], pa.list_(pa.float64())),
        "failure": pa.array(failures, pa.string()),
    })


def evaluate(path: str | Path, group_size: int, judge: Any, *, ties: str = "expected", seed: int = 0,
             resamples: int = 1000, out: str | Path | None = None) -> dict[str, Any]:
    """Score a WEval-format file with ``judge`` (a built :class:`~wrl.judges.Judge`) and rank its groups.

    Returns:
        The summary of :func:`wrl.weval.metrics.summarize` for this one judge (``judges[judge.name]``), with
        ``groups`` (the file's group count) added.

    Raises:
        DatasetError: the file is not in the format (see :func:`read_paper_file`).
    """
    import numpy as np

    from wrl.io import write_table
    from wrl.weval.metrics import METRICS, ragged_rank_metrics, summarize

    groups = read_paper_file(path, group_size)
    judged = judge.judge(groups.items)
    if out is not None:
        write_table(per_row_table(groups, judge.name, [None if j.failure else j.score for j in judged],
                                  [j.requirement_scores for j in judged], [j.failure for j in judged]), out)
    failed: dict[int, str] = {}
    for g, j in zip(groups.group, judged, strict=True):
        if j.failure and g not in failed:
            failed[g] = j.failure
    kept = [g for g in range(groups.n_groups) if g not in failed]
    rows = [i for i, g in enumerate(groups.group) if g not in failed]
    per = ragged_rank_metrics(np.full(len(kept), group_size, dtype=np.int64),
                              np.array([groups.gold[i] for i in rows], dtype=np.float64),
                              np.array([judged[i].score for i in rows], dtype=np.float64), ties) if kept else \
        {m: np.empty(0) for m in METRICS}
    per_group = pa.table({
        "judge": [judge.name] * len(kept), "group_id": [str(g) for g in kept],
        "category": [groups.categories[g] for g in kept], "group_size": pa.array([group_size] * len(kept), pa.int32()),
        "dropped_types": [sorted(set(groups.dropped[g])) for g in kept],
        "dropped_families": pa.array([[] for _ in kept], pa.list_(pa.string())),
        **{m: pa.array(per[m], pa.float64()) for m in METRICS},
    })
    excluded = {judge.name: dict(sorted(Counter(failed.values()).items()))}
    summary = summarize(per_group, excluded=excluded, total_groups=groups.n_groups, ties=ties, seed=seed,
                        resamples=resamples, compare=[])
    summary["groups"] = {"total": groups.n_groups, "counted": len(kept), "verified_only": False}
    return summary
