"""``wrl eval parser``: the parser on any file with gold requirements (IFEval ids + kwargs, or a
``gold_requirements`` column), scored by :class:`wrl.parser_eval.ParserAccuracy`.

It lives apart from :mod:`wrl.parser_eval`, which the ``parse`` stage runs, so that the stage does not
depend on the importers.

Example:
    >>> report, misses, rejects = evaluate_parser("ifeval_dev.jsonl")  # doctest: +SKIP
    >>> print(format_parser_report(report))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import pyarrow as pa

from wrl.errors import DatasetError
from wrl.parser_eval import ParserAccuracy

__all__ = ["MISSES_SCHEMA", "evaluate_parser", "format_parser_report"]


#: The per-prompt misses written by ``wrl eval parser --out``.
MISSES_SCHEMA = pa.schema([("id", pa.string()), ("prompt", pa.string()), ("kind", pa.string()),
                           ("type", pa.string()), ("gold_params", pa.string()), ("found_params", pa.string())])


#: What an IFEval id implies beyond its type: the checkers of the case ids also require English. A prompt
#: may say so ("Your entire response should be in English, and in all capital letters") or not, so the
#: requirement is optional gold: credited when the parser finds it, no miss when the text is silent.
IMPLIED_BY_IFEVAL_ID = {
    "change_case:english_capital": {"type": "response_language", "params": {"language": "en"}, "optional": True},
    "change_case:english_lowercase": {"type": "response_language", "params": {"language": "en"}, "optional": True},
}


def _implied(ids: list[str] | None) -> list[dict[str, Any]]:
    """The optional gold :data:`IMPLIED_BY_IFEVAL_ID` adds for ``ids`` (a requirement the row's gold also
    states is matched there first, so an optional twin costs nothing)."""
    return [IMPLIED_BY_IFEVAL_ID[i] for i in ids or () if i in IMPLIED_BY_IFEVAL_ID]


def _gold_table(path: str | os.PathLike[str]) -> tuple[pa.Table, pa.Table, int]:
    """Read ``path`` into ``(id, prompt, gold_requirements)`` rows, the rejected rows, and the rows read.

    A file with ``gold_requirements`` (the project's own Parquet, a JSON list of ``{type, params}`` per
    row) is read as it is; a file with IFEval's ``instruction_id_list`` + ``kwargs`` is imported and its
    gold is what ``wrl parse`` makes of them.

    Raises:
        DatasetError: unreadable file, or neither gold column.
    """
    from wrl.importers import import_generic, import_ifeval
    from wrl.io import REJECTS_SCHEMA, read_rows
    from wrl.requirements import parse_dataset

    raw = read_rows(path)
    if raw.has("gold_requirements"):
        if not raw.has("prompt"):
            raise DatasetError(f"{raw.path}: no 'prompt' column (columns: {', '.join(raw.names)})")
        table, rejects = import_generic(path)
        if "gold_requirements" not in table.column_names:
            table = table.append_column("gold_requirements", pa.array([None] * table.num_rows, pa.string()))
        gold = [g if isinstance(g, str) or g is None else json.dumps(g)
                for g in table["gold_requirements"].to_pylist()]
        out = pa.table({"id": table["id"], "prompt": table["prompt"],
                        "gold_requirements": pa.array(gold, pa.string())})
        return out, rejects, raw.n
    if not raw.has("instruction_id_list"):
        raise DatasetError(f"{raw.path}: no gold requirements: needs 'instruction_id_list' + 'kwargs' (IFEval) or "
                           f"'gold_requirements' (columns: {', '.join(raw.names) or 'none'})")
    table, rejects = import_ifeval(path) if raw.has("key") else import_generic(path)
    structured, parse_rejects = parse_dataset(table.select(["id", "prompt", "instruction_id_list", "kwargs"]),
                                              progress=False)
    id_lists = dict(zip(table["id"].to_pylist(), table["instruction_id_list"].to_pylist(), strict=True))
    gold = {row["id"]: json.dumps([{"type": r["type"], "params": json.loads(r["params"])}
                                   for r in row["requirements"]] + _implied(id_lists[row["id"]]))
            for row in structured.select(["id", "requirements"]).to_pylist()}
    ids = table["id"].to_pylist()
    keep = pa.array([i in gold for i in ids], pa.bool_())
    out = table.select(["id", "prompt"]).filter(keep)
    out = out.append_column("gold_requirements", pa.array([gold[i] for i in out["id"].to_pylist()], pa.string()))
    if parse_rejects.num_rows:
        # Rows whose gold cannot be had (bad kwargs): rejected, numbered as rows of the file.
        row_of = {i: k for k, i in enumerate(ids)}
        src_rows = [row_of.get(i) for i in parse_rejects["id"].to_pylist()]
        numbered = parse_rejects.set_column(parse_rejects.schema.get_field_index("row"), "row",
                                            pa.array(src_rows, parse_rejects.schema.field("row").type))
        rejects = pa.concat_tables([rejects, numbered.cast(REJECTS_SCHEMA)])
    return out, rejects, raw.n


def evaluate_parser(path: str | os.PathLike[str], *, threads: int = 0) -> tuple[dict[str, Any], pa.Table, pa.Table]:
    """Parse the prompt TEXT of every row of ``path`` and score it against the row's gold requirements.

    ``path``: any IFEval-format file (JSONL, CSV or Parquet with ``instruction_id_list`` + ``kwargs``,
    and ``key`` or ``id``), or a file with a ``gold_requirements`` column (JSON list of ``{type,
    params}``). Rows without a usable prompt or gold are rejected, counted by reason.

    Returns:
        ``(report, misses, rejects)``: ``report`` holds ``overall`` and ``by_type`` (precision, recall,
        f1, support, predicted, matched, params_exact), ``verifiable`` (the same over rule-verifiable
        types only), ``all_found`` (share of prompts whose every gold requirement was found), and the
        row counts ``rows``, ``scored``, ``rejected``; ``misses`` has one row per missed, spurious
        (verifiable types, or a type of the gold) or wrong-params requirement (:data:`MISSES_SCHEMA`);
        ``rejects`` the rejected rows (``wrl.io.REJECTS_SCHEMA``).

    Raises:
        DatasetError: unreadable file, or no gold column.
    """
    from wrl.requirements import parse_dataset, taxonomy

    gold, rejects, n_rows = _gold_table(path)
    parsed, parse_rejects = parse_dataset(gold, threads=threads, progress=False)
    if parse_rejects.num_rows:
        rejects = pa.concat_tables([rejects, parse_rejects.cast(rejects.schema)])
    accuracy = ParserAccuracy(keep_misses=True)
    accuracy.add(parsed)
    report = accuracy.result()
    report.update(rows=n_rows, scored=report["instructions"], rejected=rejects.num_rows,
                  rejected_by_reason=dict(Counter(rejects["reason_kind"].to_pylist())))
    verifiable = {name for name, t in taxonomy().items() if t.verifiable}
    report["verifiable"] = accuracy.scores_of(verifiable)
    # Spurious finds of types the file never has gold for (tone, audience in IFEval) are not misses.
    misses = [m for m in accuracy.misses or ()
              if m["kind"] != "spurious" or m["type"] in verifiable or accuracy.support[m["type"]]]
    misses_table = pa.Table.from_pylist(
        [{**m, "gold_params": None if m["gold_params"] is None else json.dumps(m["gold_params"], sort_keys=True),
          "found_params": None if m["found_params"] is None else json.dumps(m["found_params"], sort_keys=True)}
         for m in misses], schema=MISSES_SCHEMA)
    return report, misses_table, rejects


def format_parser_report(report: dict[str, Any]) -> str:
    """The report of :func:`evaluate_parser` as plain text: one line per type (by recall), then the totals."""
    lines = [f"{report['rows']} rows: {report['scored']} scored, {report['rejected']} rejected"
             + (f" ({', '.join(f'{k} {v}' for k, v in sorted(report['rejected_by_reason'].items()))})"
                if report["rejected"] else ""),
             f"{'type':<24} {'precision':>9} {'recall':>7} {'support':>8} {'found':>6} {'params exact':>13}"]
    scored = {t: v for t, v in report["by_type"].items() if v["support"] > 0}
    for t, v in sorted(scored.items(), key=lambda kv: (kv[1]["recall"], kv[0])):
        lines.append(f"{t:<24} {v['precision']:>9.2f} {v['recall']:>7.2f} {v['support']:>8} {v['predicted']:>6} "
                     f"{v['params_exact']:>13.2f}")
    for name, s in (("all", report["overall"]), ("verifiable types", report["verifiable"])):
        lines.append(f"{name:<24} {s['precision']:>9.2f} {s['recall']:>7.2f} {s['support']:>8} {s['predicted']:>6} "
                     f"{s['params_exact']:>13.2f}")
    lines.append(f"all requirements found in {100 * report['all_found']:.1f}% of prompts")
    return "\n".join(lines)
