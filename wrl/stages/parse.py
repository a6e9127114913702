"""Stage ``parse``: split every instruction into its base task and typed requirements.

The input is read, parsed and written one row group at a time (:func:`wrl.io.iter_input`,
:class:`wrl.io.DatasetWriter`), so peak memory does not grow with the input; ids are checked for
duplicates across the whole file (:func:`wrl.requirements.parse_new_ids`), as
:func:`wrl.parse_dataset` does for a table in memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from wrl.batching import worker_threads
from wrl.config import Section, param
from wrl.io import DatasetWriter, input_rows, iter_input, write_json
from wrl.requirements import (
    MAX_BYTES_MAX,
    MAX_REQUIREMENTS_MAX,
    ParseLimits,
    SeenIds,
    by_family,
    parse_new_ids,
    taxonomy,
)
from wrl.stage import (
    Context,
    Paths,
    Port,
    Report,
    Stage,
    View,
    ordered,
    ratio,
    rejects_summary,
    value_counts,
    write_rejects,
)


@dataclass(frozen=True)
class ParseConfig(Section):
    """Parameters of the ``parse`` stage: limits past which an instruction is rejected, not parsed."""

    _key: ClassVar[str] = "parse"

    max_bytes: int = param(ParseLimits.max_bytes, "Reject instructions longer than this many UTF-8 bytes.", min=1,
                           max=MAX_BYTES_MAX)
    max_requirements: int = param(ParseLimits.max_requirements, "Reject instructions with more requirements.",
                                  min=1, max=MAX_REQUIREMENTS_MAX)

    def limits(self) -> ParseLimits:
        return ParseLimits(max_bytes=self.max_bytes, max_requirements=self.max_requirements)


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in sorted(scores.items())}


def run(cfg: ParseConfig, paths: Paths, ctx: Context) -> Report:
    """Parse the instructions; write the parsed rows, the rejected ones, metrics and per-type plots."""
    from wrl.parser_eval import ParserAccuracy

    (source,) = paths.inputs
    (out,) = paths.outputs
    threads = worker_threads(ctx.threads)
    seen = SeenIds()
    accuracy = ParserAccuracy()
    by_type: Counter = Counter()
    rejects: list[pa.Table] = []
    rows_in = without_any = 0
    total = input_rows(source)
    with DatasetWriter(out) as writer, ctx.progress_bar("parse", total) as bar:
        for batch in iter_input(source, stage="parse"):
            table = batch.table
            rows_in += batch.rows_in
            parsed, bad = parse_new_ids(table, seen, limits=cfg.limits(), threads=threads)
            rejects.append(batch.merge(bad))
            writer.write(parsed)
            by_type.update(value_counts(parsed["requirements"].combine_chunks().flatten().field("type")))
            without_any += pc.sum(pc.equal(parsed["n_requirements"], 0)).as_py() or 0
            if "gold_requirements" in parsed.column_names:
                accuracy.add(parsed)
            bar.update(batch.rows_in)
    by_reason = write_rejects(rejects, paths.rejects)
    n_requirements = sum(by_type.values())
    types = taxonomy()
    metrics: dict[str, object] = {
        "rows_in": rows_in,
        "rows": writer.rows,
        "rejects": rejects_summary(by_reason),
        "requirements": {
            "total": n_requirements,
            "per_instruction": ratio(n_requirements, writer.rows),
            "without_any": without_any,
            "by_family": by_family(by_type),
        },
    }
    parser_rows = []
    if accuracy.instructions:
        scores = accuracy.result()
        metrics["parser"] = _rounded(scores["overall"])
        parser_rows = [{"type": t, **_rounded(scores["by_type"][t])} for t in ordered(scores["by_type"], types)]
    if paths.metrics is not None:
        write_json({"parse": metrics}, paths.metrics)
    if paths.plots:
        write_json([{"type": t, "family": types[t].family if t in types else "", "count": n}
                    for t, n in ordered(by_type, types).items()], paths.plots[0])
        write_json(parser_rows, paths.plots[1])
    lines = [f"requirements: {n_requirements:,}"]
    if accuracy.instructions:
        o = metrics["parser"]
        lines.append(f"parser vs gold: precision {o['precision']:.3f}, recall {o['recall']:.3f}, "  # type: ignore
                     f"params exact {o['params_exact']:.3f}")  # type: ignore[index]
    return Report("parse", rows_in, writer.rows, by_reason, paths.outputs, paths.rejects, lines=lines,
                  counts=[("requirements by type", by_type)])


VIEWS = (
    View("instructions", "data/parsed.parquet",
         "Parsed instructions, one row each: id, prompt, split, source metadata (category, topic, language), "
         "base_task, script, n_requirements, requirements (list of structs), gold_requirements (JSON, synth).",
         stage="parse"),
    View("requirements", "data/parsed.parquet",
         "One row per parsed requirement: instruction_id, the instruction's metadata, requirement_id, type, "
         "family, start/end (character span), text, params (JSON), verifiable, requirement_source.",
         sql="SELECT id AS instruction_id, {rest}, r.id AS requirement_id, r.type, r.family, r.\"start\", r.\"end\", "
             "r.text, r.params::JSON AS params, r.verifiable, r.source AS requirement_source "
             "FROM (SELECT *, UNNEST(requirements) AS r FROM {source})",
         hide=("id", "prompt", "base_task", "script", "requirements", "gold_requirements", "r"), stage="parse"),
)

STAGE = Stage(
    name="parse",
    config=ParseConfig,
    run=run,
    inputs=(Port("instructions", "Instructions: Parquet, JSONL or CSV with a prompt column (optional id, IFEval "
                 "instruction_id_list + kwargs, or a requirements list)."),),
    outputs=(Port("parsed", "Parsed instructions (every input column carried through, plus base_task, script, "
                  "n_requirements, requirements)."),),
    plots=(Port("requirement_types", "requirements per type"),
           Port("parser_by_type", "parser precision and recall per type against gold")),
    views=VIEWS,
)
