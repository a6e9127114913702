"""The rule verifiers against IFEval's own checkers: how many instructions get the same verdict.

IFEval's verdicts on its GPT-4 responses were computed once by ``benchmarks/ifeval_gold.py`` (IFEval's
checks with nltk's punkt and langdetect) and frozen in ``tests/fixtures/ifeval_dev_gold.jsonl``; this
script runs wrl's verifiers on the same responses and compares, strict and loose, by IFEval id, and
lists every instruction whose verdict differs.

    python benchmarks/ifeval_verify_agreement.py ../shared/data/ifeval_dev.jsonl \\
        ../shared/data/ifeval_dev_gpt4_responses.jsonl tests/fixtures/ifeval_dev_gold.jsonl
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any

import pyarrow as pa

from wrl.verify import verify_table


def agreement(prompts_path: str, responses_path: str, gold_path: str) -> dict[str, Any]:
    """Compare wrl's strict and loose verdicts with IFEval's frozen ones.

    Returns:
        ``{"instructions", "strict_agree", "loose_agree", "by_id": {id: [n, strict_agree]},
        "differences": [{key, instruction_id, rule, ifeval, wrl, reason}]}``.
    """
    with open(prompts_path, encoding="utf-8") as f:
        prompts = [json.loads(line) for line in f]
    with open(responses_path, encoding="utf-8") as f:
        responses = {r["prompt"]: r["response"] for r in map(json.loads, f)}
    with open(gold_path, encoding="utf-8") as f:
        gold = {g["key"]: g for g in map(json.loads, f)}
    table = pa.table({
        "id": [str(p["key"]) for p in prompts],
        "response": [responses[p["prompt"]] for p in prompts],
        "instruction_id_list": [p["instruction_id_list"] for p in prompts],
        "kwargs": [json.dumps(p["kwargs"]) for p in prompts],
    })
    results, rejects = verify_table(table)
    by_id: dict[str, list[int]] = {}
    agree: Counter = Counter()
    differences = []
    for r in rejects.to_pylist():  # a rejected row agrees on nothing
        p = prompts[r["row"]]
        for iid in p["instruction_id_list"]:
            by_id.setdefault(iid, [0, 0])[0] += 1
            for rule in ("strict", "loose"):
                differences.append({"key": p["key"], "instruction_id": iid, "rule": rule, "ifeval": None,
                                    "wrl": None, "reason": f"row rejected: {r['reason']}"})
    position: Counter = Counter()
    for r in results.to_pylist():
        key = int(r["id"])
        k = position[key]
        position[key] += 1
        g = gold[key]
        n = by_id.setdefault(r["instruction_id"], [0, 0])
        n[0] += 1
        for rule in ("strict", "loose"):
            same = r[rule] == g[rule][k]
            agree[rule] += same
            if rule == "strict":
                n[1] += same
            if not same:
                differences.append({"key": key, "instruction_id": r["instruction_id"], "rule": rule,
                                    "ifeval": g[rule][k], "wrl": r[rule], "reason": r["reason"]})
    total = sum(n for n, _ in by_id.values())
    return {"instructions": total, "strict_agree": agree["strict"], "loose_agree": agree["loose"],
            "by_id": dict(sorted(by_id.items())), "differences": differences}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prompts")
    ap.add_argument("responses")
    ap.add_argument("gold")
    args = ap.parse_args()
    a = agreement(args.prompts, args.responses, args.gold)
    n = a["instructions"]
    print(f"{n} instructions: strict {a['strict_agree']}/{n} ({100 * a['strict_agree'] / n:.1f}%), "
          f"loose {a['loose_agree']}/{n} ({100 * a['loose_agree'] / n:.1f}%)")
    for iid, (k, same) in a["by_id"].items():
        if same != k:
            print(f"  {iid:<48} {same}/{k}")
    for d in a["differences"]:
        print(f"  key {d['key']} {d['instruction_id']} ({d['rule']}): IFEval {d['ifeval']}, wrl {d['wrl']} "
              f"({d['reason']})")


if __name__ == "__main__":
    main()
