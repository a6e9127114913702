"""The ``rm_data`` stage: requirement-level labels from hand-built rollouts, checked by the verifiers.

The rollouts are written by hand here (the rollout stage is not needed): each response is made to
agree with its variant (no commas when "no commas" was kept, a comma when it was dropped; all
lowercase when "lowercase" was kept, a capital when it was dropped), and a test that needs the
verifiers to disagree swaps in a response that breaks the rule.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO

from wrl.requirements import parse, parse_table
from wrl.stage import Context
from wrl.stages.rm_data import PAIRWISE_SCHEMA, POINTWISE_SCHEMA, STAGE, RmDataConfig

PROMPTS = {
    # id: (prompt, split)
    "a": ("Write a poem about rain. Do not use any commas. Your answer must be in all lowercase letters.", "train"),
    "b": ("Write a haiku about snow. Do not use any commas. Your answer must be in all lowercase letters.", "dev"),
    "c": ("Write a story about a cat. The tone should be friendly. Do not use any commas.", "test"),
}
# Every variant of a two-requirement instruction: the dropped ids.
ALL_VARIANTS = ((), ("r1",), ("r2",), ("r1", "r2"))


def make_parsed() -> pa.Table:
    table = pa.table({"id": list(PROMPTS), "prompt": [p for p, _ in PROMPTS.values()],
                      "split": [s for _, s in PROMPTS.values()], "category": ["creative"] * len(PROMPTS),
                      "language": ["en"] * len(PROMPTS)})
    parsed, rejects = parse_table(table)
    assert rejects.num_rows == 0
    return parsed


def agreeing(types: dict[str, str], kept: set[str], sample: int) -> str:
    """A response that does what its variant asked and, for what was dropped, the opposite."""
    text = ["the rain falls soft and slow on the roof", "a quiet grey morning and the street is wet"][sample % 2]
    by_type = {t: rid for rid, t in types.items()}
    if "no_commas" in by_type and by_type["no_commas"] not in kept:
        text = text.replace(" and ", ", and ", 1)
    if "lowercase" in by_type and by_type["lowercase"] not in kept:
        text = text[0].upper() + text[1:]
    return text


def rollout_rows(variants: dict[str, tuple[tuple[str, ...], ...]] | None = None, samples: int = 2,
                 responses: dict[tuple[str, int, int], str] | None = None) -> list[dict]:
    """Rollout rows in the rollout stage's schema; ``responses[(id, variant, sample)]`` overrides one response."""
    rows = []
    for iid, (prompt, split) in PROMPTS.items():
        parsed = parse(prompt)
        types = {r.id: r.type for r in parsed.requirements}
        ids = [r.id for r in parsed.requirements]
        for v, dropped in enumerate((variants or {}).get(iid, ALL_VARIANTS)):
            kept = [r for r in ids if r not in dropped]
            for s in range(samples):
                response = (responses or {}).get((iid, v, s), agreeing(types, set(kept), s))
                rows.append({
                    "id": iid, "variant": v, "variant_id": f"{iid}:{v}", "sample": s, "split": split,
                    "category": "creative", "language": "en", "prompt": parsed.drop(dropped),
                    "kept_ids": kept, "dropped_ids": list(dropped), "n_requirements": len(ids),
                    "n_dropped": len(dropped), "response": response, "finish_reason": "length" if s == 1 else "stop",
                    "prompt_tokens": 20, "completion_tokens": 12, "model": "tiny", "backend": "transformers",
                    "temperature": 0.7, "top_p": 0.95, "max_new_tokens": 12, "seed": 0,
                })
    return rows


ROLLOUT_TYPES = {"variant": pa.int32(), "sample": pa.int32(), "n_requirements": pa.int32(), "n_dropped": pa.int32(),
                 "prompt_tokens": pa.int32(), "completion_tokens": pa.int32(), "kept_ids": pa.list_(pa.string()),
                 "dropped_ids": pa.list_(pa.string()), "split": pa.string(), "response": pa.string()}


def write_rollouts(directory: Path, rows: list[dict], shards: int = 2) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows)
    table = table.cast(pa.schema([pa.field(f.name, ROLLOUT_TYPES.get(f.name, f.type)) for f in table.schema]))
    size = -(-table.num_rows // shards)
    for k in range(shards):
        pq.write_table(table.slice(k * size, size), directory / f"shard-{k:05d}.parquet")
        (directory / f"shard-{k:05d}.done").write_text("")


class Run:
    """One run of the stage in ``root``: its outputs read back."""

    def __init__(self, root: Path, report):
        self.root, self.report = root, report
        self.pointwise = pq.read_table(root / "data/rm/pointwise.parquet")
        self.pairwise = pq.read_table(root / "data/rm/pairwise.parquet")
        self.rejects = pq.read_table(root / "data/rm.rejects.parquet")
        self.metrics = json.loads((root / "metrics/rm_data.json").read_text())["rm_data"]
        self.plot = json.loads((root / "plots/rm_follow_rate.json").read_text())

    def examples(self) -> list[dict]:
        return self.pointwise.to_pylist()


def run_stage(root: Path, rows: list[dict] | None = None, parsed: pa.Table | None = None, **cfg) -> Run:
    if rows is not None or not (root / "data/rollouts").exists():
        write_rollouts(root / "data/rollouts", rollout_rows() if rows is None else rows)
    pq.write_table(make_parsed() if parsed is None else parsed, root / "data/parsed.parquet")
    paths = STAGE.paths((root / "data/rollouts", root / "data/parsed.parquet"),
                        (root / "data/rm/pointwise.parquet", root / "data/rm/pairwise.parquet"),
                        root / "data/rm.rejects.parquet", root / "metrics/rm_data.json",
                        (root / "plots/rm_follow_rate.json",))
    paths.check_outputs()
    report = STAGE.run(RmDataConfig(**cfg), paths, Context(progress=False))
    return Run(root, report)


# --- labels ---------------------------------------------------------------------------------------


def test_labels_are_one_for_kept_and_zero_for_dropped_requirements(tmp_path):
    rows = rollout_rows()
    out = run_stage(tmp_path, rows, verify_labels=False, balance=False)
    assert out.pointwise.schema == POINTWISE_SCHEMA
    examples = out.examples()
    assert len(examples) == sum(r["n_requirements"] for r in rows) == 48
    by_response = {(r["variant_id"], r["sample"]): r for r in rows}
    for ex in examples:
        row = by_response[(ex["variant_id"], ex["sample"])]
        assert ex["label"] == (1 if ex["requirement_id"] in row["kept_ids"] else 0)
        assert ex["example_id"] == f"{ex['variant_id']}:{ex['sample']}:{ex['requirement_id']}"
        assert ex["response"] == row["response"] and ex["prompt"] == row["prompt"]
        assert ex["instruction"] == PROMPTS[ex["id"]][0] and ex["split"] == PROMPTS[ex["id"]][1]
        assert ex["response_chars"] == len(row["response"]) and ex["finish_reason"] == row["finish_reason"]
        assert ex["requirement"] == next(r.text for r in parse(ex["instruction"]).requirements
                                         if r.id == ex["requirement_id"])
    # the verifiers agree with every label here, and say nothing of the tone
    for ex in examples:
        expected = None if ex["type"] == "tone" else ("followed" if ex["label"] else "violated")
        assert ex["verifier"] == expected, ex
        assert ex["verifiable"] == (ex["type"] != "tone")
    # train, then dev, then test; within a split, rollout order then requirement order
    assert [ex["split"] for ex in examples] == ["train"] * 16 + ["dev"] * 16 + ["test"] * 16
    assert [ex["example_id"] for ex in examples[:4]] == ["a:0:0:r1", "a:0:0:r2", "a:0:1:r1", "a:0:1:r2"]
    m = out.metrics
    assert m["responses"] == {"rows_in": 24, "used": 24, "truncated": 12, "without_requirements": 0}
    assert m["examples"]["generated"] == m["examples"]["total"] == 48
    assert m["examples"]["by_label"] == {"0": 24, "1": 24}
    assert m["examples"]["truncated"] == 24  # sample 1 of every variant stopped at max_new_tokens: labeled, counted
    assert m["verifier"]["contradicted"] == 0 and m["verifier"]["checked"] == 40


def test_verifier_contradictions_are_removed_and_counted_by_type(tmp_path):
    # a:0 kept both requirements; sample 0 uses a comma and a capital anyway.
    # a:3 dropped both; sample 1 follows both anyway. c:1 dropped the tone (r1): nothing can check it.
    overrides = {("a", 0, 0): "The rain, it falls", ("a", 3, 1): "the rain falls soft and slow",
                 ("c", 1, 0): "a grumpy cat sat"}
    out = run_stage(tmp_path, rollout_rows(responses=overrides), balance=False)
    removed = {"a:0:0:r1", "a:0:0:r2", "a:3:1:r1", "a:3:1:r2"}
    ids = set(out.pointwise["example_id"].to_pylist())
    assert not ids & removed and len(ids) == 48 - 4
    assert "c:1:0:r1" in ids and "c:1:0:r2" in ids  # the tone example stays; no_commas agreed
    v = out.metrics["verifier"]
    assert v["contradicted"] == v["removed"] == 4 and out.metrics["examples"]["removed_by_verifier"] == 4
    plot = {r["type"]: r for r in out.plot}  # every count behind the metrics' follow rates
    assert set(plot) == set(v["by_type"]) == {"no_commas", "lowercase"}  # nothing checks the tone
    nc, lc = plot["no_commas"], plot["lowercase"]
    assert (nc["kept_violated"], nc["dropped_followed"], lc["kept_violated"], lc["dropped_followed"]) == (1, 1, 1, 1)
    # no_commas: a, b and c each have 8 responses; kept in half of them
    assert (nc["checked"], nc["checked_kept"], nc["checked_dropped"]) == (24, 12, 12)
    assert nc["follow_rate_kept"] == round(11 / 12, 6) and nc["follow_rate_dropped"] == round(1 / 12, 6)
    assert v["by_type"]["lowercase"] == {"checked": 16, "contradicted": 2, "follow_rate_kept": 0.875,
                                         "follow_rate_dropped": 0.125}
    assert {k: lc[k] for k in ("checked_kept", "checked_dropped", "removed")} == \
        {"checked_kept": 8, "checked_dropped": 8, "removed": 2}
    # verify_labels: false keeps them (and still counts them)
    kept = run_stage(tmp_path / "keep", rollout_rows(responses=overrides), balance=False, verify_labels=False)
    assert removed <= set(kept.pointwise["example_id"].to_pylist())
    assert kept.metrics["verifier"]["contradicted"] == 4 and kept.metrics["verifier"]["removed"] == 0


# --- balance --------------------------------------------------------------------------------------


def test_balance_downsamples_the_majority_within_each_split_and_type(tmp_path):
    # a: variants keep r1 in 2 of 3 (4 responses to 2); b: nothing is ever dropped (one label only).
    variants = {"a": ((), ("r1",), ("r2",)), "b": ((),)}
    unbalanced = run_stage(tmp_path / "u", rollout_rows(variants), balance=False)
    out = run_stage(tmp_path / "b", rollout_rows(variants), seed=7)
    examples = out.examples()
    counts: dict[tuple[str, str], list[int]] = {}
    for ex in examples:
        counts.setdefault((ex["split"], ex["type"]), [0, 0])[ex["label"]] += 1
    assert all(n0 == n1 > 0 for n0, n1 in counts.values()), counts
    assert ("dev", "no_commas") not in counts and ("dev", "lowercase") not in counts  # b lost its examples
    assert counts[("train", "no_commas")] == [2, 2] and counts[("train", "lowercase")] == [2, 2]
    # the minority is kept whole; the majority's survivors are a subset of the unbalanced examples
    assert set(out.pointwise["example_id"].to_pylist()) <= set(unbalanced.pointwise["example_id"].to_pylist())
    b = out.metrics["balance"]
    assert b["by_type"]["no_commas"] == {"downsampled": 2, "single_label": 2}
    assert b["by_type"]["lowercase"] == {"downsampled": 2, "single_label": 2}
    assert b["removed"] == out.metrics["examples"]["removed_by_balance"] == 8
    assert out.metrics["examples"]["total"] == unbalanced.metrics["examples"]["total"] - 8
    for typ, entry in out.metrics["by_type"].items():
        assert entry["positive_rate"] == 0.5, typ
    assert out.metrics["by_type"]["no_commas"]["examples"] == 4 + 8  # train (a) and test (c), over the splits
    # which majority examples survive depends on the seed, and only on it
    picks = {seed: set(run_stage(tmp_path / f"s{seed}", rollout_rows(variants), seed=seed)
                       .pointwise["example_id"].to_pylist()) for seed in range(6)}
    assert picks[7 % 6] == set(run_stage(tmp_path / "again", rollout_rows(variants), seed=7 % 6)
                               .pointwise["example_id"].to_pylist())
    assert len({frozenset(p) for p in picks.values()}) > 1


# --- pairs ----------------------------------------------------------------------------------------


def test_pairs_take_chosen_from_a_variant_that_kept_the_requirement(tmp_path):
    rows = rollout_rows()
    out = run_stage(tmp_path, rows, max_pairs_per_requirement=2)
    assert out.pairwise.schema == PAIRWISE_SCHEMA
    pairs = out.pairwise.to_pylist()
    by_variant = {r["variant_id"]: r for r in rows}
    by_example = {(r["variant_id"], r["sample"]): r["response"] for r in rows}
    for p in pairs:
        chosen, rejected = by_variant[p["chosen_variant_id"]], by_variant[p["rejected_variant_id"]]
        assert chosen["id"] == rejected["id"] == p["id"]
        assert p["requirement_id"] in chosen["kept_ids"] and p["requirement_id"] in rejected["dropped_ids"]
        for side in ("chosen", "rejected"):
            variant_id, sample, rid = p[f"{side}_example_id"].rsplit(":", 2)
            assert rid == p["requirement_id"] and p[f"{side}_variant_id"] == variant_id
            assert by_example[(variant_id, int(sample))] == p[side]
        assert p["instruction"] == PROMPTS[p["id"]][0] and p["split"] == PROMPTS[p["id"]][1]
    # 3 instructions x 2 requirements, 4 responses on each side, at most 2 pairs each: nobody used twice
    assert len(pairs) == 12 and len({p["pair_id"] for p in pairs}) == 12
    for side in ("chosen_example_id", "rejected_example_id"):
        assert len({p[side] for p in pairs}) == 12
    assert out.metrics["pairs"]["by_split"] == {"train": 4, "dev": 4, "test": 4}
    # without a cap below both sides, each response is used once: 4 pairs per requirement
    full = run_stage(tmp_path / "full", rows, max_pairs_per_requirement=100)
    assert full.pairwise.num_rows == 24
    assert len(set(full.pairwise["chosen_example_id"].to_pylist())) == 24
    # an uneven split reuses the smaller side in turn: r1 of a kept by 4 responses, dropped by 2
    uneven = run_stage(tmp_path / "uneven", rollout_rows({"a": ((), ("r1",), ("r2",))}), max_pairs_per_requirement=100)
    a_r1 = [p for p in uneven.pairwise.to_pylist() if p["id"] == "a" and p["requirement_id"] == "r1"]
    assert len(a_r1) == 4 and len({p["chosen_example_id"] for p in a_r1}) == 4
    assert sorted(p["rejected_example_id"] for p in a_r1) == ["a:1:0:r1", "a:1:0:r1", "a:1:1:r1", "a:1:1:r1"]
    off = run_stage(tmp_path / "off", rows, pairwise=False)
    assert off.pairwise.num_rows == 0 and off.pairwise.schema == PAIRWISE_SCHEMA


def test_pairs_follow_the_verifier_filter(tmp_path):
    # every response that kept no_commas in a uses a comma anyway: no_commas of a has no chosen left
    overrides = {("a", v, s): "the rain, falls" for v in (0, 2) for s in range(2)}
    out = run_stage(tmp_path, rollout_rows(responses=overrides), max_pairs_per_requirement=100)
    a = [p for p in out.pairwise.to_pylist() if p["id"] == "a"]
    assert {p["requirement_id"] for p in a} == {"r2"}  # lowercase still pairs: the overrides are lowercase
    no_commas = next(r for r in out.plot if r["type"] == "no_commas")
    assert (no_commas["pairs"], no_commas["pairs_removed_by_verifier"]) == (8, 4)
    assert out.metrics["pairs"]["removed_by_verifier"] == 4
    assert all("," not in p["chosen"] for p in out.pairwise.to_pylist() if p["type"] == "no_commas")


# --- rejects --------------------------------------------------------------------------------------


def test_bad_rows_are_rejected_with_their_reason(tmp_path):
    rows = rollout_rows()
    good = len(rows)
    template = rows[0]
    rows += [
        dict(template, id="nope", variant_id="nope:0"),                               # 24
        dict(template, variant_id="a:8", kept_ids=["r1"], dropped_ids=[]),             # 25: r2 missing
        dict(template, variant_id="a:9", kept_ids=["r1", "r2"], dropped_ids=["r2"]),  # 26: r2 twice
        dict(template, variant_id="a:10", kept_ids=["r1", "r7"], dropped_ids=[]),      # 27: r7 is not a's
        dict(template, variant_id="a:11", response=" \n\t"),                           # 28
        dict(template, variant_id="a:12", response=None),                              # 29
        dict(template),                                                                 # 30: a:0 sample 0 again
        dict(template, variant_id="a:13", split="test"),                               # 31: a is a train instruction
    ]
    out = run_stage(tmp_path, rows)
    reasons = {r["row"]: (r["reason_kind"], r["id"]) for r in out.rejects.to_pylist()}
    assert reasons == {24: ("unknown_instruction", "nope"), 25: ("requirements_mismatch", "a"),
                       26: ("requirements_mismatch", "a"), 27: ("requirements_mismatch", "a"),
                       28: ("empty_response", "a"), 29: ("missing_value", "a"), 30: ("duplicate_response", "a"),
                       31: ("split_mismatch", "a")}
    messages = {r["row"]: r["reason"] for r in out.rejects.to_pylist()}
    assert "does not match the instruction" in messages[25] and "'response' is null" in messages[29]
    assert messages[31] == "the rollout says split 'test', the instruction is in 'train'"
    assert set(out.rejects["stage"].to_pylist()) == {"rm_data"}
    # rows in = rows used + rows rejected, and the report says so
    m = out.metrics
    assert m["responses"]["rows_in"] == len(rows) == m["responses"]["used"] + m["rejects"]["total"]
    assert m["responses"]["used"] == good and out.report.rows_in == len(rows) and out.report.rows_out == good
    assert m["rejects"]["by_reason"] == {"duplicate_response": 1, "empty_response": 1, "missing_value": 1,
                                         "requirements_mismatch": 3, "split_mismatch": 1, "unknown_instruction": 1}
    assert not {"a:8", "a:9", "a:10", "a:11", "a:12", "a:13"} & set(out.pointwise["variant_id"].to_pylist())


def test_an_instruction_without_a_split_rejects_its_responses(tmp_path):
    parsed = make_parsed()
    parsed = parsed.set_column(parsed.column_names.index("split"), "split", pa.array([None, "dev", "holdout"]))
    rows = [dict(r, split=None) for r in rollout_rows()]
    out = run_stage(tmp_path, rows, parsed=parsed)
    kinds = {r["id"]: r["reason_kind"] for r in out.rejects.to_pylist()}
    assert kinds == {"a": "no_split", "c": "no_split"}
    assert set(out.pointwise["split"].to_pylist()) == {"dev"}


# --- splits and determinism -----------------------------------------------------------------------


def test_no_instruction_is_in_two_splits(tmp_path):
    out = run_stage(tmp_path, max_pairs_per_requirement=100)
    for table in (out.pointwise, out.pairwise):
        split_of: dict[str, set[str]] = {}
        for iid, split in zip(table["id"].to_pylist(), table["split"].to_pylist(), strict=True):
            split_of.setdefault(iid, set()).add(split)
        assert {iid: s for iid, s in split_of.items()} == {iid: {s} for iid, (_, s) in PROMPTS.items()}
    # a pair never joins responses of two instructions, so never of two splits
    for p in out.pairwise.to_pylist():
        assert p["chosen_variant_id"].split(":")[0] == p["rejected_variant_id"].split(":")[0] == p["id"]


def test_reruns_are_byte_identical(tmp_path):
    rows = rollout_rows(responses={("a", 0, 0): "The rain, it falls"})
    files = ("data/rm/pointwise.parquet", "data/rm/pairwise.parquet", "data/rm.rejects.parquet",
             "metrics/rm_data.json", "plots/rm_follow_rate.json")
    first = run_stage(tmp_path / "one", rows + [dict(rows[0], id="nope")])
    second = run_stage(tmp_path / "two", rows + [dict(rows[0], id="nope")])
    for f in files:
        assert (first.root / f).read_bytes() == (second.root / f).read_bytes(), f
    # the same rows cut into other shards give the same outputs (rows are numbered across shards)
    write_rollouts(tmp_path / "three/data/rollouts", rows + [dict(rows[0], id="nope")], shards=5)
    third = run_stage(tmp_path / "three")
    for f in files:
        assert (first.root / f).read_bytes() == (third.root / f).read_bytes(), f


def test_a_response_the_verifiers_refuse_leaves_its_examples_unchecked(tmp_path):
    huge = "the rain falls " * 80_000  # over the verifiers' 1 MiB
    out = run_stage(tmp_path, rollout_rows(responses={("a", 0, 0): huge}), balance=False)
    refused = [e for e in out.examples() if e["variant_id"] == "a:0" and e["sample"] == 0]
    assert len(refused) == 2 and all(e["verifier"] is None for e in refused)
    assert out.metrics["verifier"]["responses_refused"] == {"invalid_response": 1}
    assert out.metrics["verifier"]["unchecked"] == 2 and out.metrics["rejects"]["total"] == 0


def test_sql_views_and_the_documented_queries(tmp_path):
    import re

    from wrl import sql as wsql

    out = run_stage(tmp_path)
    con = wsql.connect(tmp_path)
    assert con.sql("SELECT count(*) FROM rm_examples").fetchall()[0][0] == out.pointwise.num_rows
    assert con.sql("SELECT count(*) FROM rm_pairs").fetchall()[0][0] == out.pairwise.num_rows
    by_label = dict(con.sql("SELECT label, count(*) FROM rm_examples GROUP BY label").fetchall())
    assert by_label == {0: 24, 1: 24}
    queries = re.findall(r"```sql\n(.*?)```", (REPO / "docs/reward-model-data.md").read_text(), flags=re.S)
    assert len(queries) >= 4
    for query in queries:
        assert con.sql(query).fetchall(), query


# --- through the DVC script -----------------------------------------------------------------------


def _script(root: Path, rollouts: str = "data/rollouts") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, str(REPO / "pipeline/rm_data.py"), rollouts, "data/parsed.parquet",
                           "data/rm/pointwise.parquet", "data/rm/pairwise.parquet", "--rejects",
                           "data/rm.rejects.parquet", "--metrics", "metrics/rm_data.json", "--plots",
                           "plots/rm_follow_rate.json", "--params", str(REPO / "params.yaml")],
                          cwd=root, env=env, capture_output=True, text=True)


def test_the_dvc_script_runs_the_stage(tmp_path):
    (tmp_path / "data").mkdir()
    write_rollouts(tmp_path / "data/rollouts", rollout_rows())
    pq.write_table(make_parsed(), tmp_path / "data/parsed.parquet")
    proc = _script(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "rm_data: rows in 24 = out 24 + rejected 0" in proc.stdout
    assert pq.read_table(tmp_path / "data/rm/pointwise.parquet").num_rows == 48
    assert json.loads((tmp_path / "metrics/rm_data.json").read_text())["rm_data"]["pairs"]["total"] == 24


@pytest.mark.parametrize("case", ["missing", "a_file", "not_parquet", "no_shards", "not_rollouts"])
def test_bad_rollouts_are_one_error_line_and_exit_2(tmp_path, case):
    (tmp_path / "data").mkdir()
    pq.write_table(make_parsed(), tmp_path / "data/parsed.parquet")
    rollouts = tmp_path / "data/rollouts"
    if case == "a_file":
        rollouts.write_text("not a directory")
    elif case != "missing":
        rollouts.mkdir()
    if case == "not_parquet":
        write_rollouts(rollouts, rollout_rows())
        (rollouts / "shard-00001.parquet").write_bytes(b"this is not parquet\n")
    elif case == "no_shards":
        (rollouts / "shard-00000.done").write_text("")
    elif case == "not_rollouts":
        pq.write_table(pa.table({"id": ["a"], "prompt": ["x"]}), rollouts / "shard-00000.parquet")
    proc = _script(tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rm_data: error: "), proc.stderr
    assert "data/rollouts" in lines[0] and "Traceback" not in proc.stderr
    expected = {"missing": "no such rollouts directory", "a_file": "not a directory", "not_parquet":
                "shard-00001.parquet: cannot read parquet", "no_shards": "no rollout shards",
                "not_rollouts": "no column 'variant_id'"}[case]
    assert expected in lines[0]
    for out in ("data/rm/pointwise.parquet", "data/rm/pairwise.parquet", "data/rm.rejects.parquet",
                "metrics/rm_data.json"):
        assert not (tmp_path / out).exists(), out
