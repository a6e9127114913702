"""WEval groups: one instruction of the test split, one response per progressive variant, ranked by gold.

The ``drop`` stage gives every test instruction with k requirements its progressive variants: 0, 1,
..., k requirements dropped, each dropping one more than the last. The policy answered each one
(``rollout``). Those responses form a group whose gold ranking is the number of requirements kept:
the response to the full instruction first, the one written with every requirement dropped last.

``group_size`` 0 takes every variant of an instruction (group sizes then vary with the number of
requirements, and the metrics break down by size); N takes the first N (0 .. N-1 dropped), as the
paper's evaluation files hold groups of 5.

Every test-split rollout row ends in a group or in the rejects with its reason: an instruction
with fewer than ``min_requirements`` requirements, a variant beyond the group size, a group with a
member missing (named), variants that are not progressive (each dropping the last one's
requirements and one more), or what :func:`wrl.rollouts.check_rows` rejects.

Where every requirement the group drops is verifiable, the rule verifiers count, per response, how
many of them it follows; ``verified_order`` says whether those counts agree with the gold order
(never higher for a response that kept fewer), so an evaluation can be restricted to groups whose
gold order the responses actually show.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from wrl.io import rejects_table
from wrl.judges import JudgeItem
from wrl.requirements import Requirement, requirement_params, taxonomy

GROUPS_SCHEMA = pa.schema([
    ("group_id", pa.string()), ("id", pa.string()), ("category", pa.string()), ("language", pa.string()),
    ("group_size", pa.int32()), ("member", pa.int32()), ("gold", pa.int32()), ("n_requirements", pa.int32()),
    ("n_dropped", pa.int32()), ("variant_id", pa.string()), ("sample", pa.int32()),
    ("dropped_ids", pa.list_(pa.string())), ("group_dropped_types", pa.list_(pa.string())),
    ("group_dropped_families", pa.list_(pa.string())), ("requirement_ids", pa.list_(pa.string())),
    ("requirement_types", pa.list_(pa.string())), ("prompt", pa.string()), ("variant_prompt", pa.string()),
    ("response", pa.string()), ("finish_reason", pa.string()), ("verifier_followed", pa.int32()),
    ("verified_order", pa.bool_()),
])


@dataclass(frozen=True)
class Groups:
    """The groups (one row per member, members in gold order), the judge items of those rows (same order),
    and the rejected rollout rows."""

    table: pa.Table
    items: list[JudgeItem]
    rejects: pa.Table


def requirements_of(cells: Sequence[dict]) -> tuple[Requirement, ...]:
    """Parse-stage requirement structs as :class:`Requirement` objects."""
    return tuple(Requirement(r["id"], r["type"], r.get("start"), r.get("end"), r["text"],
                             requirement_params(r.get("params")), r.get("source") or "text") for r in cells)


def build_groups(rows: pa.Table, parsed: pa.Table, index: pa.Array, *, group_size: int, min_requirements: int,
                 stage: str) -> Groups:
    """Group checked rollout rows (``rows[i]`` answers ``parsed[index[i]]``) into WEval groups."""
    cols = {name: rows[name].to_pylist() for name in ("row", "id", "variant_id", "sample", "prompt", "dropped_ids",
                                                      "response", "finish_reason")}
    where = index.to_pylist()
    instructions = {name: parsed[name].to_pylist() for name in ("id", "instruction", "requirements", "category",
                                                                "language")}
    by_instruction: dict[str, list[int]] = defaultdict(list)
    for i, iid in enumerate(cols["id"]):
        by_instruction[iid].append(i)
    bad: dict[int, tuple[str, str]] = {}
    members_of: list[tuple[str, list[int]]] = []
    for iid in sorted(by_instruction):
        mine = by_instruction[iid]
        reqs = instructions["requirements"][where[mine[0]]]
        if len(reqs) < min_requirements:
            for i in mine:
                bad[i] = ("too_few_requirements", f"the instruction has {len(reqs)} requirement(s); a group needs "
                                                  f"at least {min_requirements} (weval_judge.min_requirements)")
            continue
        by_drops: dict[int, int] = {}
        for i in mine:
            d = len(cols["dropped_ids"][i])
            if d in by_drops:
                bad[i] = ("duplicate_member", f"a second response to the variant with {d} requirement(s) dropped "
                                              f"(the first is {cols['variant_id'][by_drops[d]]})")
            else:
                by_drops[d] = i
        wanted = range(group_size) if group_size else range(max(by_drops) + 1)
        for d, i in by_drops.items():
            if d not in wanted:
                bad[i] = ("beyond_group_size", f"{d} requirement(s) dropped: beyond the group size {group_size}")
        missing = [d for d in wanted if d not in by_drops]
        chain = [set(cols["dropped_ids"][by_drops[d]]) for d in wanted if d in by_drops]
        progressive = all(a < b for a, b in zip(chain, chain[1:], strict=False))
        if missing or not progressive or len(wanted) < 2:
            kind, reason = ("incomplete_group", "the group has no response to the variant(s) with "
                            f"{', '.join(map(str, missing))} requirement(s) dropped") if missing else \
                ("not_progressive", "the variants do not each drop the previous one's requirements and one more") \
                if not progressive else ("incomplete_group", "a group needs at least 2 members")
            for d in wanted:
                if d in by_drops:
                    bad[by_drops[d]] = (kind, f"instruction {iid}: {reason}")
            continue
        members_of.append((iid, [by_drops[d] for d in wanted]))

    types = taxonomy()
    out: dict[str, list] = {f.name: [] for f in GROUPS_SCHEMA}
    items: list[JudgeItem] = []
    for iid, members in members_of:
        p = where[members[0]]
        reqs = requirements_of(instructions["requirements"][p])
        by_id = {r.id: r for r in reqs}
        group_dropped = [by_id[x] for x in cols["dropped_ids"][members[-1]]]
        for member, i in enumerate(members):
            values = {
                "group_id": iid, "id": iid, "category": instructions["category"][p],
                "language": instructions["language"][p], "group_size": len(members), "member": member,
                "gold": len(reqs) - member, "n_requirements": len(reqs), "n_dropped": member,
                "variant_id": cols["variant_id"][i], "sample": cols["sample"][i],
                "dropped_ids": cols["dropped_ids"][i],
                "group_dropped_types": sorted({r.type for r in group_dropped}),
                "group_dropped_families": sorted({types[r.type].family for r in group_dropped if r.type in types}),
                "requirement_ids": [r.id for r in reqs], "requirement_types": [r.type for r in reqs],
                "prompt": instructions["instruction"][p], "variant_prompt": cols["prompt"][i],
                "response": cols["response"][i], "finish_reason": cols["finish_reason"][i],
                "verifier_followed": None, "verified_order": None,
            }
            for name, value in values.items():
                out[name].append(value)
            items.append(JudgeItem(f"{cols['variant_id'][i]}#{cols['sample'][i]}", instructions["instruction"][p],
                                   cols["response"][i], reqs))
    table = pa.table(out, schema=GROUPS_SCHEMA)
    table = _verifier_order(table, members_of, cols, where, instructions)
    ordered_bad = sorted(bad, key=lambda i: cols["row"][i])
    rejects = rejects_table([cols["row"][i] for i in ordered_bad], [cols["id"][i] for i in ordered_bad], stage,
                            [bad[i][0] for i in ordered_bad], [bad[i][1] for i in ordered_bad])
    return Groups(table, items, rejects)


def _verifier_order(table: pa.Table, members_of: list[tuple[str, list[int]]], cols: dict[str, list],
                    where: list[int], instructions: dict[str, list]) -> pa.Table:
    """Fill ``verifier_followed`` and ``verified_order`` where every requirement a group drops is verifiable."""
    from wrl.verify import verify_table

    types = taxonomy()
    checked_rows, payloads, responses, ids = [], [], [], []
    at = 0
    for _, members in members_of:
        reqs = {r["id"]: r for r in instructions["requirements"][where[members[0]]]}
        dropped = [reqs[x] for x in cols["dropped_ids"][members[-1]]]
        if all(r["type"] in types and types[r["type"]].verifiable for r in dropped):
            payload = json.dumps([{"type": r["type"], "params": requirement_params(r["params"])} for r in dropped])
            for k, i in enumerate(members):
                checked_rows.append(at + k)
                payloads.append(payload)
                responses.append(cols["response"][i])
                ids.append(cols["variant_id"][i])
        at += len(members)
    if not checked_rows:
        return table
    results, refused = verify_table(pa.table({"id": ids, "response": responses, "requirements": payloads}))
    followed = Counter(row for row, strict in zip(results["row"].to_pylist(), results["strict"].to_pylist(),
                                                  strict=True) if strict)
    undecided = set(refused["row"].to_pylist()) | {row for row, strict in zip(
        results["row"].to_pylist(), results["strict"].to_pylist(), strict=True) if strict is None}
    counts: list[int | None] = [None] * table.num_rows
    for k, row in enumerate(checked_rows):
        counts[row] = None if k in undecided else followed[k]
    agree: list[bool | None] = [None] * table.num_rows
    at = 0
    for _, members in members_of:
        mine = counts[at:at + len(members)]
        if all(c is not None for c in mine):
            verdict = all(a >= b for a, b in zip(mine, mine[1:], strict=False))
            agree[at:at + len(members)] = [verdict] * len(members)
        at += len(members)
    table = table.set_column(table.column_names.index("verifier_followed"), "verifier_followed",
                             pa.array(counts, pa.int32()))
    return table.set_column(table.column_names.index("verified_order"), "verified_order", pa.array(agree, pa.bool_()))
