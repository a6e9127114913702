"""Stage ``weval_judge``: WEval's groups from the test split's rollouts, and every judge's scores of them.

This is the expensive half of WEval (models run here); ``weval_metrics`` turns the scores into
rankings and figures, so changing a tie rule or a bootstrap setting re-scores nothing. Every
judge scores every response against the full instruction's requirements; the scores are saved
per requirement and per response, with the judge's settings (model, template, tokenizer, batch
size, generation settings) beside them, so rankings can be recomputed and runs compared without
re-scoring.

A response a judge cannot score keeps its row, with a null score and the reason (``failure``);
``weval_metrics`` leaves that judge's group out and counts it by reason.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from wrl.config import Section, param
from wrl.errors import ParamsError
from wrl.io import write_json, write_table
from wrl.judges import JudgeSpec, Judgment, build_judge
from wrl.rollouts import INPUTS, check_rows, read_parsed, read_rollouts
from wrl.stage import Context, Paths, Port, Report, Stage, View, rejects_summary, value_counts, write_rejects
from wrl.weval.groups import build_groups

STAGE_NAME = "weval_judge"
JUDGE_NAME = re.compile(r"[a-z][a-z0-9_]*")

DEFAULT_JUDGES: dict[str, dict[str, Any]] = {
    "reward_model": {"kind": "reward_model", "model": "models/reward_model"},
    "llm_yes_no": {"kind": "llm", "model": "models/policy", "mode": "yes_no"},
    "verifiers": {"kind": "verifiers"},
    "length": {"kind": "length"},
    "shortness": {"kind": "length", "reverse": True},
    "random": {"kind": "random", "seed": 0},
}

SCORES_SCHEMA = pa.schema([
    ("judge", pa.string()), ("kind", pa.string()), ("group_id", pa.string()), ("member", pa.int32()),
    ("variant_id", pa.string()), ("score", pa.float64()), ("requirement_scores", pa.list_(pa.float64())),
    ("failure", pa.string()), ("detail", pa.string()), ("settings", pa.string()),
])


@dataclass(frozen=True)
class WevalJudgeConfig(Section):
    """Parameters of the ``weval_judge`` stage: which responses form the groups, and which judges score them."""

    _key: ClassVar[str] = "weval_judge"

    group_size: int = param(0, "Responses per group: 0 = every progressive variant of an instruction (sizes vary "
                            "with its requirements); N = the variants with 0 .. N-1 requirements dropped (the "
                            "paper's files hold 5).", min=0, max=64)
    min_requirements: int = param(2, "Instructions with fewer requirements form no group.", min=1, max=64)
    sample: int = param(0, "Which rollout sample of each variant is judged (rollout.n > 1 gives several).", min=0)
    judges: dict = param(DEFAULT_JUDGES, "The judges, by name: each a mapping with its kind (reward_model, llm, "
                         "verifiers, length, random, http) and that kind's settings (wrl/judges/__init__.py: "
                         "JudgeSpec).")

    def check(self) -> None:
        if self.group_size == 1:
            raise ParamsError("weval_judge.group_size must be 0 (every variant) or at least 2, got 1")
        if not self.judges:
            raise ParamsError("weval_judge.judges is empty: name at least one judge")
        self.specs()

    def specs(self) -> dict[str, JudgeSpec]:
        """Each judge's validated spec, in the order given."""
        out = {}
        for name, raw in self.judges.items():
            if not isinstance(name, str) or not JUDGE_NAME.fullmatch(name):
                raise ParamsError(f"weval_judge.judges: judge name {name!r} must be lowercase letters, digits and "
                                  "underscores, starting with a letter")
            out[name] = JudgeSpec.named(name, raw)
        return out


def scores_table(name: str, kind: str, settings: dict[str, Any], groups: pa.Table, judged: list[Judgment]) -> pa.Table:
    """One row per (judge, response): the score, the per-requirement scores, the failure, the settings."""
    n = len(judged)
    described = json.dumps(settings, sort_keys=True, default=str)
    return pa.table({
        "judge": [name] * n, "kind": [kind] * n, "group_id": groups["group_id"],
        "member": groups["member"], "variant_id": groups["variant_id"],
        "score": [None if j.failure else j.score for j in judged],
        "requirement_scores": [list(j.requirement_scores) for j in judged],
        "failure": [j.failure for j in judged], "detail": [j.detail for j in judged], "settings": [described] * n,
    }, schema=SCORES_SCHEMA)


def evaluated_rows(raw: pa.Table, parsed: pa.Table, sample: int) -> tuple[pa.Table, int]:
    """The rollout rows WEval reads: test split (by the rollout or by the instruction), the chosen sample; and how
    many other rows there were."""
    split_of_instruction = pc.take(parsed["split"], pc.index_in(raw["id"], parsed["id"]))
    test = pc.fill_null(pc.or_kleene(pc.equal(raw["split"], "test"), pc.equal(split_of_instruction, "test")), False)
    chosen = pc.and_(test, pc.fill_null(pc.equal(raw["sample"], sample), True))
    return raw.filter(chosen), raw.num_rows - (pc.sum(chosen).as_py() or 0)


def run(cfg: WevalJudgeConfig, paths: Paths, ctx: Context) -> Report:
    """Build the WEval groups from the test split's rollouts and score every response with every judge."""
    rollouts_dir, parsed_path = paths.inputs
    groups_out, scores_out = paths.outputs
    specs = cfg.specs()
    parsed = read_parsed(Path(parsed_path))
    raw, rejects, _ = read_rollouts(Path(rollouts_dir), STAGE_NAME)
    selected, skipped = evaluated_rows(raw, parsed, cfg.sample)
    unreadable = sum(t.num_rows for t in rejects)
    rows, bad, index = check_rows(selected, parsed, STAGE_NAME)
    rejects += bad
    groups = build_groups(rows, parsed, index, group_size=cfg.group_size, min_requirements=cfg.min_requirements,
                          stage=STAGE_NAME)
    rejects.append(groups.rejects)
    table = groups.table

    parts, judges_metrics, lines = [], {}, []
    for name, spec in specs.items():
        judge = build_judge(name, spec)
        try:
            started = time.monotonic()
            judged = judge.judge_all(groups.items, progress=ctx.progress)
            seconds = time.monotonic() - started
            counters, settings = judge.counters, judge.settings
        finally:
            judge.close()
        parts.append(scores_table(name, spec.kind, settings, table, judged))
        failures = Counter(j.failure for j in judged if j.failure)
        judges_metrics[name] = {"kind": spec.kind, "responses": len(judged),
                                "scored": len(judged) - sum(failures.values()),
                                "failed": dict(sorted(failures.items())),
                                **({"counters": counters} if counters else {})}
        n_groups = len(set(table["group_id"].to_pylist())) or 1
        lines.append(f"judge {name} ({spec.kind}): {len(judged):,} responses in {seconds:.1f} s "
                     f"({1000 * seconds / n_groups:.1f} s per 1,000 groups)"
                     + (f"; failed: {dict(failures)}" if failures else ""))
    scores = pa.concat_tables(parts) if parts else SCORES_SCHEMA.empty_table()
    write_table(table, groups_out)
    write_table(scores, scores_out)
    by_reason = write_rejects(rejects, paths.rejects)

    group_rows = table.filter(pc.equal(table["member"], 0))
    verified = group_rows["verified_order"]
    metrics = {
        "responses": {"rows_in": selected.num_rows + unreadable, "grouped": table.num_rows,
                      "other_splits_or_samples": skipped},
        "rejects": rejects_summary(by_reason),
        "groups": {
            "total": group_rows.num_rows,
            "by_size": {str(k): v for k, v in sorted(value_counts(group_rows["group_size"]).items())},
            "by_category": value_counts(pc.fill_null(group_rows["category"], "unknown")),
            "verifiable": pc.sum(pc.is_valid(verified)).as_py() or 0,
            "verified_order": pc.sum(pc.fill_null(verified, False)).as_py() or 0,
        },
        "judges": judges_metrics,
    }
    if paths.metrics is not None:
        write_json({STAGE_NAME: metrics}, paths.metrics)
    g = metrics["groups"]
    lines.insert(0, f"groups: {g['total']:,} (sizes {g['by_size']}); all dropped requirements verifiable in "
                    f"{g['verifiable']:,}, verifier counts agree with the gold order in {g['verified_order']:,}")
    return Report(STAGE_NAME, selected.num_rows + unreadable, table.num_rows, by_reason, paths.outputs,
                  paths.rejects, lines=lines)


STAGE = Stage(
    name=STAGE_NAME,
    config=WevalJudgeConfig,
    run=run,
    inputs=INPUTS,
    outputs=(Port("groups", "WEval groups, one row per member (response), members in gold order."),
             Port("scores", "Every judge's scores, one row per (judge, response), per-requirement scores and "
                  "settings beside them.")),
    views=(View("weval_groups", "data/weval/groups.parquet",
                "WEval group members, one per (group, response): group_id, category, group_size, member, gold "
                "(requirements kept), n_dropped, dropped_ids, group_dropped_types, requirement_ids, "
                "requirement_types, prompt, variant_prompt, response, verifier_followed, verified_order.",
                stage=STAGE_NAME),
           View("weval_scores", "data/weval/scores.parquet",
                "Judge scores, one per (judge, response): judge, kind, group_id, member, variant_id, score (null "
                "when the judge failed), requirement_scores (in requirement_ids order), failure, detail, settings "
                "(JSON).", stage=STAGE_NAME)),
)
