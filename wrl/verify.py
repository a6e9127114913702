"""Verify responses against their requirements with rule verifiers, and compute IFEval's figures.

The verifiers run in the Rust core (``wrl._core``); they follow IFEval's semantics for its 25
instruction ids (see ``docs/verify.md`` for the few differences). Each verifiable requirement
gets a strict and a loose verdict and a short reason; requirement types that no rule can decide
(tone, audience, ...) are reported as ``not_verifiable``, never guessed.

Example:
    >>> [v.reason for v in verify("Hello, world.", [{"type": "no_commas"}])]
    ['1 comma']
    >>> verify("one two three", instruction_id_list=["length_constraints:number_words"],
    ...        kwargs=[{"num_words": 3, "relation": "less than"}])[0].strict
    False
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from wrl import _core
from wrl.requirements import ParsedInstruction, Requirement, _as_string_column, _kwargs_as_json

#: Responses longer than this (in bytes) are rejected rather than verified.
MAX_RESPONSE_BYTES = 1 << 20

#: The four IFEval figures, in IFEval's order.
FIGURES = ("prompt_strict", "instruction_strict", "prompt_loose", "instruction_loose")


@dataclass(frozen=True)
class Verdict:
    """Whether a response follows one requirement.

    ``status`` is ``followed`` or ``violated`` by the strict rule, ``not_verifiable``, or ``invalid``
    (a malformed requirement, in a dataset row); ``strict`` and ``loose`` are None unless a rule
    decided. ``loose_variant`` names the first loose variant that passed (``original``,
    ``no_asterisks``, ``without_first_line``, ...).
    """

    requirement_id: str
    type: str
    params: dict[str, Any]
    status: str
    strict: bool | None
    loose: bool | None
    loose_variant: str | None
    reason: str
    instruction_id: str | None = None

    @property
    def verifiable(self) -> bool:
        return self.status in ("followed", "violated")


def _requirements_json(requirements: ParsedInstruction | Iterable[Requirement | dict[str, Any]]) -> str:
    if isinstance(requirements, ParsedInstruction):
        requirements = requirements.requirements
    items = []
    for r in requirements:
        if isinstance(r, Requirement):
            items.append({"id": r.id, "type": r.type, "params": r.params})
        else:
            items.append(dict(r))
    return json.dumps(items)


def verify(
    response: str,
    requirements: ParsedInstruction | Iterable[Requirement | dict[str, Any]] | None = None,
    *,
    instruction_id_list: Sequence[str] | None = None,
    kwargs: Sequence[dict[str, Any] | None] | None = None,
    prompt: str | None = None,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> list[Verdict]:
    """Verify one response (for notebooks; use :func:`verify_table` for datasets).

    Args:
        response: the response text.
        requirements: a parsed instruction, its requirements, or dicts ``{"type", "params"}``.
        instruction_id_list, kwargs: IFEval ids and kwargs instead of ``requirements``.
        prompt: parsed for its requirements when neither of the above is given.
        max_bytes: longer responses raise :class:`wrl.InvalidInstructionError`.

    Returns:
        One :class:`Verdict` per requirement, in order.

    Raises:
        WrlError: a subclass naming the problem (unknown IFEval id, missing or absurd parameter).
    """
    payload = _core.verify_json(
        response,
        requirements=_requirements_json(requirements) if requirements is not None else None,
        instruction_id_list=list(instruction_id_list) if instruction_id_list is not None else None,
        kwargs=json.dumps([{k: v for k, v in (kw or {}).items() if v is not None} for kw in kwargs])
        if kwargs is not None else None,
        prompt=prompt,
        max_bytes=max_bytes,
    )
    return [
        Verdict(
            requirement_id=v["id"],
            type=v["type"],
            params=v["params"],
            status=v["status"],
            strict=v["strict"],
            loose=v["loose"],
            loose_variant=v["loose_variant"],
            reason=v["reason"],
            instruction_id=v["instruction_id"],
        )
        for v in json.loads(payload)
    ]


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the text's language (whatlang, deterministic), or None if no letters."""
    return _core.detect_language(text)


def _prepare(table: pa.Table) -> pa.Table:
    if "id" not in table.column_names and "key" in table.column_names:
        table = table.append_column("id", table["key"])
    return _kwargs_as_json(_as_string_column(table, "id"))


def verify_table(
    table: pa.Table, *, response_column: str = "response", max_bytes: int = MAX_RESPONSE_BYTES, threads: int = 0
) -> tuple[pa.Table, pa.Table]:
    """Verify every row of ``table``: a ``response`` plus requirements from one of ``instruction_id_list``
    with ``kwargs`` (IFEval), ``requirements`` (from ``wrl parse``, or a JSON list) or ``prompt``.

    IFEval's ``key`` column is used as the id when there is no ``id`` column.

    Returns:
        ``(results, rejects)``: one ``results`` row per (input row, requirement) with ``strict``,
        ``loose``, ``status`` and ``reason``; ``row`` in both indexes the input, so every input row
        is in one of them.
    """
    from wrl.batching import worker_threads

    return _core.verify_batch(_prepare(table), response_column=response_column, max_bytes=max_bytes,
                              threads=worker_threads(threads))


def verify_dataset(
    table: pa.Table,
    *,
    response_column: str = "response",
    max_bytes: int = MAX_RESPONSE_BYTES,
    threads: int = 0,
    progress: bool = True,
) -> tuple[pa.Table, pa.Table]:
    """:func:`verify_table` over a whole dataset, chunked with a progress bar."""
    from wrl.batching import run_chunked

    return run_chunked(
        lambda t: verify_table(t, response_column=response_column, max_bytes=max_bytes, threads=threads),
        _prepare(table), stage="verify", desc="verify", progress=progress,
    )


def _mean(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def ifeval_figures(results: pa.Table) -> dict[str, Any]:
    """IFEval's four figures from a ``results`` table of :func:`verify_table`, overall and by type.

    Prompt-level accuracy: the share of responses that follow all their verifiable requirements;
    instruction-level: the share of verifiable requirements followed; each strict and loose.
    ``not_verifiable`` and ``invalid`` (malformed) requirements are counted, not scored. ``by_type``
    gives, per requirement type, the instruction-level figures over that type and the prompt-level
    ones over the responses that have a requirement of that type; ``by_instruction_id`` the same per
    IFEval id.

    Returns:
        ``{"overall": {...}, "by_type": {type: {...}}, "by_instruction_id": {id: {...}}}``; each
        entry holds the four figures, ``prompts``, ``instructions``, ``not_verifiable`` and ``invalid``.
    """
    cols = results.select(["row", "type", "instruction_id", "status", "strict", "loose"]).to_pydict()
    rows: dict[int, list[int]] = {}
    for i, r in enumerate(cols["row"]):
        rows.setdefault(r, []).append(i)

    def figures(indices: list[int], prompt_rows: Iterable[int]) -> dict[str, Any]:
        idx = [i for i in indices if cols["strict"][i] is not None]
        invalid = sum(cols["status"][i] == "invalid" for i in indices)
        unverifiable = len(indices) - len(idx) - invalid
        prompts = [[i for i in rows[r] if cols["strict"][i] is not None] for r in prompt_rows]
        prompts = [p for p in prompts if p]
        return {
            "prompt_strict": _mean([all(cols["strict"][i] for i in p) for p in prompts]),
            "instruction_strict": _mean([cols["strict"][i] for i in idx]),
            "prompt_loose": _mean([all(cols["loose"][i] for i in p) for p in prompts]),
            "instruction_loose": _mean([cols["loose"][i] for i in idx]),
            "prompts": len(prompts),
            "instructions": len(idx),
            "not_verifiable": unverifiable,
            "invalid": invalid,
        }

    def grouped(key: str) -> dict[str, Any]:
        groups: dict[str, list[int]] = {}
        for i, k in enumerate(cols[key]):
            if k is not None:
                groups.setdefault(k, []).append(i)
        return {k: figures(ix, sorted({cols["row"][i] for i in ix})) for k, ix in sorted(groups.items())}

    return {
        "overall": figures(list(range(len(cols["row"]))), sorted(rows)),
        "by_type": grouped("type"),
        "by_instruction_id": grouped("instruction_id"),
    }


def format_figures(figs: dict[str, Any], *, by: str = "by_type") -> str:
    """The figures as a plain-text table: overall first, then one line per type (or IFEval id)."""

    def pct(x: float | None) -> str:
        return "     -" if x is None else f"{100 * x:6.2f}"

    groups = [("overall", figs["overall"])] + list(figs[by].items())
    width = max(len(k) for k, _ in groups)
    lines = [f"{'':<{width}}  {'prompt':>6} {'instr':>6} {'prompt':>6} {'instr':>6}  {'n_prompts':>9} "
             f"{'n_instr':>7} {'n_unverif':>9}",
             f"{'':<{width}}  {'strict':>6} {'strict':>6} {'loose':>6} {'loose':>6}"]
    for name, f in groups:
        lines.append(f"{name:<{width}}  {pct(f['prompt_strict'])} {pct(f['instruction_strict'])} "
                     f"{pct(f['prompt_loose'])} {pct(f['instruction_loose'])}  {f['prompts']:>9,} "
                     f"{f['instructions']:>7,} {f['not_verifiable']:>9,}")
    return "\n".join(lines)


def results_summary(results: pa.Table) -> dict[str, int]:
    """Counts of results by status."""
    counts = pc.value_counts(results["status"]).to_pylist() if results.num_rows else []
    return {c["values"]: c["counts"] for c in counts}
