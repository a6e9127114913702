"""Stage ``rm_data``: requirement-level reward-model examples from the rollouts.

Every response was written for one variant of an instruction: the full instruction, or one with
some requirements dropped. For each requirement ``r`` of the instruction, the response is a
positive example of ``r`` (label 1) if its variant kept ``r``, a negative one (label 0) if its
variant dropped it. That is the pointwise table. The pairwise table pairs, for each instruction
and requirement, a response to a variant that kept ``r`` (chosen) with a response to a variant
that dropped it (rejected).

The labels are a guess about the policy: a response to a prompt that asks for no commas should
have none, and one to a prompt that does not ask probably has some. Where a rule decides the
requirement (``verifiable`` types), the Rust verifiers check the guess on the response itself
(the strict verdict): examples they contradict are removed and counted by type, and the same
counts measure how often the policy follows each type when asked (``P(followed | kept)``) and
when not (``P(followed | dropped)``). Then each (split, type) is balanced by label, downsampling
the majority with a seeded hash of the example id.

Order (so re-runs give the same bytes): splits in the order train, dev, test; within a split,
rollout rows in file order (shards by name), each row's requirements in the instruction's order.
Pairs follow the order of their first example.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from wrl.config import Section, param
from wrl.io import write_json, write_table
from wrl.requirements import SEED_MAX, taxonomy
from wrl.rollouts import INPUTS, SPLITS, check_rows, flat_lists, read_parsed, read_rollouts, row_keys
from wrl.seeding import stable_hash
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
    write_rejects,
)
from wrl.verify import verify_dataset

STAGE_NAME = "rm_data"
MAX_PAIRS_MAX = 1 << 20

POINTWISE_SCHEMA = pa.schema([
    ("example_id", pa.string()),
    ("id", pa.string()),
    ("variant_id", pa.string()),
    ("sample", pa.int32()),
    ("split", pa.string()),
    ("category", pa.string()),
    ("language", pa.string()),
    ("requirement_id", pa.string()),
    ("type", pa.string()),
    ("family", pa.string()),
    ("verifiable", pa.bool_()),
    ("requirement", pa.string()),
    ("instruction", pa.string()),
    ("prompt", pa.string()),
    ("response", pa.string()),
    ("label", pa.int8()),
    ("verifier", pa.string()),
    ("finish_reason", pa.string()),
    ("response_chars", pa.int32()),
])

PAIRWISE_SCHEMA = pa.schema([
    ("pair_id", pa.string()),
    ("id", pa.string()),
    ("split", pa.string()),
    ("category", pa.string()),
    ("language", pa.string()),
    ("requirement_id", pa.string()),
    ("type", pa.string()),
    ("family", pa.string()),
    ("verifiable", pa.bool_()),
    ("requirement", pa.string()),
    ("instruction", pa.string()),
    ("chosen", pa.string()),
    ("rejected", pa.string()),
    ("chosen_variant_id", pa.string()),
    ("rejected_variant_id", pa.string()),
    ("chosen_example_id", pa.string()),
    ("rejected_example_id", pa.string()),
])


@dataclass(frozen=True)
class RmDataConfig(Section):
    """Parameters of the ``rm_data`` stage: label checking, balancing and pairs."""

    _key: ClassVar[str] = "rm_data"

    verify_labels: bool = param(True, "Remove the examples that the rule verifiers contradict (label 1 but the "
                                "response violates the requirement, label 0 but it follows it). The verdicts "
                                "are recorded and counted either way.")
    balance: bool = param(True, "Downsample the majority label to the minority count within each (split, type); "
                          "a type with one label only in a split loses its examples there.")
    seed: int = param(0, "Seed of the hash that picks which majority examples balancing keeps, and the order in "
                      "which responses are paired.", min=0, max=SEED_MAX)
    pairwise: bool = param(True, "Write chosen/rejected pairs (otherwise the pairwise file is empty).")
    max_pairs_per_requirement: int = param(4, "Most pairs per (instruction, requirement).", min=1,
                                           max=MAX_PAIRS_MAX)


# --- reading --------------------------------------------------------------------------------------


# --- examples -------------------------------------------------------------------------------------


def pointwise_examples(rows: pa.Table, parsed: pa.Table, index: pa.Array) -> pa.Table:
    """One example per (response, requirement of its instruction), label 1 if its variant kept it, 0 if dropped;
    ``verifier`` is filled in later. Ordered by split, then row, then requirement."""
    reqs = pc.take(parsed["requirements"], index)
    flat, parent = flat_lists(reqs)
    rid = pc.struct_field(flat, "id")
    kept, kept_row = flat_lists(rows["kept_ids"])
    label = pc.cast(pc.is_in(row_keys(parent, rid), value_set=row_keys(kept_row, kept)), pa.int8())
    at = pc.take(index, parent)
    take = rows.take(parent)
    response = take["response"]
    examples = pa.table({
        "example_id": pc.binary_join_element_wise(take["variant_id"], pc.cast(take["sample"], pa.string()), rid, ":"),
        "id": take["id"],
        "variant_id": take["variant_id"],
        "sample": take["sample"],
        "split": pc.take(parsed["split"], at),
        "category": pc.take(parsed["category"], at),
        "language": pc.take(parsed["language"], at),
        "requirement_id": rid,
        "type": pc.struct_field(flat, "type"),
        "family": pc.struct_field(flat, "family"),
        "verifiable": pc.struct_field(flat, "verifiable"),
        "requirement": pc.struct_field(flat, "text"),
        "instruction": pc.take(parsed["instruction"], at),
        "prompt": take["prompt"],
        "response": response,
        "label": label,
        "verifier": pa.nulls(len(flat), pa.string()),
        "finish_reason": take["finish_reason"],
        "response_chars": pc.cast(pc.utf8_length(response), pa.int32()),
    })
    rank = pc.index_in(examples["split"], pa.array(SPLITS))
    order = pc.sort_indices(pa.table({"rank": rank, "pos": pa.array(range(len(flat)), pa.int64())}),
                            sort_keys=[("rank", "ascending"), ("pos", "ascending")])
    return examples.take(order).cast(POINTWISE_SCHEMA)


def verify_examples(examples: pa.Table, rows: pa.Table, parsed: pa.Table, index: pa.Array,
                    ctx: Context) -> tuple[pa.Table, Counter]:
    """Fill ``verifier`` with the strict verdict (``followed``/``violated``) where a rule decides.

    Each response is verified once against all its instruction's requirements. A response the
    verifiers refuse (over their size limit) leaves its examples unchecked; the refusals are
    returned counted by reason.
    """
    table = pa.table({"id": rows["variant_id"], "response": rows["response"],
                      "requirements": pc.take(parsed["requirements"], index)})
    results, refused = verify_dataset(table, threads=ctx.threads, progress=ctx.progress)
    decided = pc.is_in(results["status"], pa.array(["followed", "violated"]))
    results = results.filter(decided)
    # results.row indexes ``rows``; an example is keyed by its variant, sample and requirement.
    result_keys = row_keys(pc.take(rows["variant_id"], results["row"]), pc.take(rows["sample"], results["row"]),
                        results["requirement_id"])
    where = pc.index_in(row_keys(examples["variant_id"], examples["sample"], examples["requirement_id"]),
                        value_set=result_keys)
    verdict = pc.take(results["status"], where)
    examples = examples.set_column(examples.column_names.index("verifier"), "verifier", verdict)
    return examples, Counter(refused["reason_kind"].to_pylist())


def seeded_order(indices: list[int], example_ids: list[str], seed: int, salt: str) -> list[int]:
    """``indices`` ordered by a seeded hash of their example id (ties by id): a sample that does not depend on
    row order."""
    return sorted(indices, key=lambda i: (stable_hash(seed, salt, example_ids[i], sep="\x1f"), example_ids[i]))


def contradicted(examples: pa.Table) -> pa.Array:
    """Examples whose verifier verdict contradicts the label: kept but violated, dropped but followed."""
    kept = pc.equal(examples["label"], 1)
    return pc.fill_null(pc.or_(pc.and_(kept, pc.equal(examples["verifier"], "violated")),
                               pc.and_(pc.invert(kept), pc.equal(examples["verifier"], "followed"))), False)


def balance(examples: pa.Table, seed: int) -> tuple[pa.Array, Counter, Counter]:
    """Which examples balancing keeps: within each (split, type), the minority label whole and as many of the
    majority, those with the smallest seeded hash of their ``example_id``.

    Returns:
        ``(keep, downsampled, single_label)``: a mask, and the examples removed by type, for
        downsampling and for being the only label of their type in a split.
    """
    cols = examples.select(["example_id", "split", "type", "label"]).to_pydict()
    groups: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
    for i, (split, typ, label) in enumerate(zip(cols["split"], cols["type"], cols["label"], strict=True)):
        groups.setdefault((split, typ), ([], []))[label].append(i)
    keep = [True] * examples.num_rows
    downsampled: Counter = Counter()
    single_label: Counter = Counter()
    for (_, typ), (negatives, positives) in groups.items():
        if not negatives or not positives:
            for i in negatives + positives:
                keep[i] = False
            single_label[typ] += len(negatives) + len(positives)
            continue
        minority, majority = sorted((negatives, positives), key=len)
        ranked = seeded_order(majority, cols["example_id"], seed, "balance")
        for i in ranked[len(minority):]:
            keep[i] = False
        downsampled[typ] += len(majority) - len(minority)
    return pa.array(keep, pa.bool_()), downsampled, single_label


def _pair_count(n_chosen: int, n_rejected: int, cap: int) -> int:
    return min(max(n_chosen, n_rejected), cap) if n_chosen and n_rejected else 0


def pairwise_examples(examples: pa.Table, unfiltered: pa.Table, cfg: RmDataConfig) -> tuple[pa.Table, Counter]:
    """Chosen/rejected pairs per (instruction, requirement) from the verifier-checked examples.

    Rule: the responses that kept the requirement (chosen) and those that dropped it (rejected)
    are each ordered by a seeded hash of their example id; pair ``i`` takes chosen ``i mod
    n_chosen`` and rejected ``i mod n_rejected``, for ``i`` below ``min(max(n_chosen,
    n_rejected), max_pairs_per_requirement)``. So no response is used twice for a requirement
    unless one side has fewer responses than pairs are made, and then the smaller side is reused
    in turn.

    Returns:
        ``(pairs, removed)``: the pairs, and by type how many pairs the verifier filter cost
        (pairs the unfiltered examples would have given, less those made).
    """
    def sides(table: pa.Table) -> dict[tuple[str, str], tuple[list[int], list[int]]]:
        cols = table.select(["id", "requirement_id", "label"]).to_pydict()
        out: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
        for i, (iid, rid, label) in enumerate(zip(cols["id"], cols["requirement_id"], cols["label"], strict=True)):
            out.setdefault((iid, rid), ([], []))[1 - label].append(i)  # (chosen, rejected)
        return out

    cap = cfg.max_pairs_per_requirement
    groups = sides(examples)
    example_ids = examples["example_id"].to_pylist()
    types = examples["type"].to_pylist()
    chosen, rejected, pair_ids = [], [], []
    made: Counter = Counter()
    for (iid, rid), (pos, neg) in groups.items():
        n = _pair_count(len(pos), len(neg), cap)
        if not n:
            continue
        pos, neg = (seeded_order(side, example_ids, cfg.seed, "pair") for side in (pos, neg))
        for k in range(n):
            chosen.append(pos[k % len(pos)])
            rejected.append(neg[k % len(neg)])
            pair_ids.append(f"{iid}:{rid}:{k}")
        made[types[pos[0]]] += n
    removed: Counter = Counter()
    unfiltered_types = unfiltered["type"].to_pylist()
    for key, (pos, neg) in sides(unfiltered).items():
        have = groups.get(key, ([], []))
        lost = _pair_count(len(pos), len(neg), cap) - _pair_count(len(have[0]), len(have[1]), cap)
        if lost:
            removed[unfiltered_types[(pos or neg)[0]]] += lost
    c = examples.take(pa.array(chosen, pa.int64()))
    r = examples.take(pa.array(rejected, pa.int64()))
    pairs = pa.table({
        "pair_id": pa.array(pair_ids, pa.string()),
        **{name: c[name] for name in ("id", "split", "category", "language", "requirement_id", "type", "family",
                                      "verifiable", "requirement", "instruction")},
        "chosen": c["response"],
        "rejected": r["response"],
        "chosen_variant_id": c["variant_id"],
        "rejected_variant_id": r["variant_id"],
        "chosen_example_id": c["example_id"],
        "rejected_example_id": r["example_id"],
    })
    return pairs.cast(PAIRWISE_SCHEMA), removed


# --- metrics --------------------------------------------------------------------------------------


def _counts(table: pa.Table, keys: list[str]) -> dict[tuple, int]:
    if table.num_rows == 0:
        return {}
    grouped = table.group_by(keys).aggregate([([], "count_all")])
    return {tuple(row[k] for k in keys): row["count_all"] for row in grouped.to_pylist()}


def verifier_by_type(examples: pa.Table, removed: bool) -> dict[str, dict[str, Any]]:
    """Per verifiable type: labels checked, contradicted, and the policy's follow rate when the requirement
    was kept and when it was dropped."""
    counts = _counts(examples.filter(examples["verifiable"]), ["type", "label", "verifier"])
    out: dict[str, dict[str, Any]] = {}
    for typ in ordered(Counter({k[0]: 1 for k in counts}), taxonomy()):
        def n(label: int, verdict: str | None, typ: str = typ) -> int:
            return counts.get((typ, label, verdict), 0)
        kept_followed, kept_violated = n(1, "followed"), n(1, "violated")
        dropped_followed, dropped_violated = n(0, "followed"), n(0, "violated")
        checked_kept, checked_dropped = kept_followed + kept_violated, dropped_followed + dropped_violated
        contradictions = kept_violated + dropped_followed
        out[typ] = {
            "examples": sum(v for k, v in counts.items() if k[0] == typ),
            "checked": checked_kept + checked_dropped,
            "checked_kept": checked_kept,
            "checked_dropped": checked_dropped,
            "kept_violated": kept_violated,
            "dropped_followed": dropped_followed,
            "contradicted": contradictions,
            "removed": contradictions if removed else 0,
            "follow_rate_kept": ratio(kept_followed, checked_kept),
            "follow_rate_dropped": ratio(dropped_followed, checked_dropped),
        }
    return out


def _by_label(table: pa.Table, key: str) -> dict[str, dict[str, Any]]:
    counts = _counts(table, [key, "label"])
    out: dict[str, dict[str, Any]] = {}
    for (value, label), n in counts.items():
        entry = out.setdefault(value, {"examples": 0, "label_0": 0, "label_1": 0})
        entry[f"label_{label}"] = n
        entry["examples"] += n
    for entry in out.values():
        entry["positive_rate"] = ratio(entry["label_1"], entry["examples"])
    return out


# --- the stage ------------------------------------------------------------------------------------


def run(cfg: RmDataConfig, paths: Paths, ctx: Context) -> Report:
    """Write requirement-level reward-model examples (pointwise and pairwise) from the rollouts."""
    rollouts_dir, parsed_path = paths.inputs
    pointwise_out, pairwise_out = paths.outputs
    parsed = read_parsed(Path(parsed_path))
    raw, rejects, rows_in = read_rollouts(Path(rollouts_dir), STAGE_NAME)
    rows, bad, index = check_rows(raw, parsed, STAGE_NAME)
    rejects += bad

    generated = pointwise_examples(rows, parsed, index)
    generated, refused = verify_examples(generated, rows, parsed, index, ctx)
    wrong = contradicted(generated)
    checked = generated.filter(pc.invert(wrong)) if cfg.verify_labels else generated
    if cfg.balance:
        keep, downsampled, single_label = balance(checked, cfg.seed)
        pointwise = checked.filter(keep)
    else:
        pointwise, downsampled, single_label = checked, Counter(), Counter()
    if cfg.pairwise:
        pairs, pairs_removed = pairwise_examples(checked, generated, cfg)
    else:
        pairs, pairs_removed = PAIRWISE_SCHEMA.empty_table(), Counter()
    made = Counter(pairs["type"].to_pylist())
    write_table(pointwise, pointwise_out)
    write_table(pairs, pairwise_out)
    by_reason = write_rejects(rejects, paths.rejects)

    checks = verifier_by_type(generated, cfg.verify_labels)
    n_wrong = pc.sum(wrong).as_py() or 0
    n_checked = sum(t["checked"] for t in checks.values())
    removed_by_verifier = n_wrong if cfg.verify_labels else 0
    removed_by_balance = sum(downsampled.values()) + sum(single_label.values())
    types = taxonomy()
    # Per type, the metrics keep the headline figures (dvc metrics show gets one column per key);
    # the plot file has every count behind them.
    metrics = {
        "responses": {
            "rows_in": rows_in,
            "used": rows.num_rows,
            "truncated": pc.sum(pc.equal(rows["finish_reason"], "length")).as_py() or 0,
            "without_requirements": pc.sum(pc.equal(pc.list_value_length(pc.take(parsed["requirements"], index)),
                                                    0)).as_py() or 0,
        },
        "rejects": rejects_summary(by_reason),
        "examples": {
            "generated": generated.num_rows,
            "removed_by_verifier": removed_by_verifier,
            "removed_by_balance": removed_by_balance,
            "total": pointwise.num_rows,
            "truncated": pc.sum(pc.equal(pointwise["finish_reason"], "length")).as_py() or 0,
            "by_label": {str(k[0]): v for k, v in sorted(_counts(pointwise, ["label"]).items())},
            "by_split": ordered(_by_label(pointwise, "split"), SPLITS),
        },
        "by_type": {t: {"examples": v["examples"], "positive_rate": v["positive_rate"]}
                    for t, v in ordered(_by_label(pointwise, "type"), types).items()},
        "verifier": {
            "verify_labels": cfg.verify_labels,
            "checked": n_checked,
            "contradicted": n_wrong,
            "removed": removed_by_verifier,
            "unchecked": (pc.sum(generated["verifiable"]).as_py() or 0) - n_checked,
            "responses_refused": dict(sorted(refused.items())),
            "by_type": {t: {k: v[k] for k in ("checked", "contradicted", "follow_rate_kept", "follow_rate_dropped")}
                        for t, v in checks.items()},
        },
        "balance": {
            "balance": cfg.balance,
            "removed": removed_by_balance,
            "by_type": {t: {"downsampled": downsampled.get(t, 0), "single_label": single_label.get(t, 0)}
                        for t in ordered(downsampled + single_label, types)},
        },
        "pairs": {
            "pairwise": cfg.pairwise,
            "total": pairs.num_rows,
            "by_split": ordered(Counter(pairs["split"].to_pylist()), SPLITS),
            "removed_by_verifier": sum(pairs_removed.values()),
        },
    }
    if paths.metrics is not None:
        write_json({STAGE_NAME: metrics}, paths.metrics)
    if paths.plots:
        write_json([{"type": t, **v, "pairs": made.get(t, 0), "pairs_removed_by_verifier": pairs_removed.get(t, 0)}
                    for t, v in checks.items()], paths.plots[0])
    return Report(
        STAGE_NAME, rows_in, rows.num_rows, by_reason, paths.outputs, paths.rejects,
        lines=[f"pointwise examples: {pointwise.num_rows:,} of {generated.num_rows:,} (verifier "
               f"{'removed' if cfg.verify_labels else 'contradicted, kept'} {n_wrong:,}; balancing removed "
               f"{removed_by_balance:,}); pairs: {pairs.num_rows:,}; truncated responses: "
               f"{metrics['responses']['truncated']:,}"],
        counts=[("verifier contradictions by type", Counter({t: v["contradicted"] for t, v in checks.items()
                                                             if v["contradicted"]}))],
    )


STAGE = Stage(
    name=STAGE_NAME,
    config=RmDataConfig,
    run=run,
    inputs=INPUTS,
    outputs=(Port("pointwise", "One example per (response, requirement): label 1 if the response's variant kept "
                  "the requirement, 0 if it dropped it."),
             Port("pairwise", "Chosen/rejected pairs per (instruction, requirement).")),
    plots=(Port("follow_rate", "the policy's follow rate by verifiable type, kept and dropped"),),
    views=(View("rm_examples", "data/rm/pointwise.parquet",
                "Reward-model examples, one per (response, requirement): example_id, id, variant_id, sample, split, "
                "requirement_id, type, family, verifiable, requirement, instruction, prompt, response, label, "
                "verifier (strict verdict or null), finish_reason, response_chars.", stage=STAGE_NAME),
           View("rm_pairs", "data/rm/pairwise.parquet",
                "Reward-model pairs, one per (instruction, requirement, k): chosen kept the requirement, rejected "
                "dropped it; pair_id, id, split, requirement_id, type, requirement, instruction, chosen, rejected, "
                "their variant and example ids.", stage=STAGE_NAME)),
)
