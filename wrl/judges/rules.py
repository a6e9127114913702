"""The rule verifiers as a judge: 1 for a requirement followed (strict), 0 for one violated, no view of the
requirements no rule can decide (tone, audience, ...). A response whose requirements are all beyond the
rules is not judged (``nothing_judged``), so the share of groups the verifiers can rank is reported."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa

from wrl.judges import Judge, JudgeItem, Judgment, judgment
from wrl.requirements import taxonomy


class VerifierJudge(Judge):
    kind = "verifiers"

    def judge(self, items: Sequence[JudgeItem]) -> list[Judgment]:
        from wrl.verify import verify_table

        types = taxonomy()
        checkable = [[j for j, r in enumerate(item.requirements) if r.type in types and types[r.type].verifiable]
                     for item in items]
        table = pa.table({
            "id": [item.key for item in items],
            "response": [item.response for item in items],
            "requirements": [json.dumps([{"type": item.requirements[j].type,
                                          "params": item.requirements[j].params} for j in js])
                             for item, js in zip(items, checkable, strict=True)],
        })
        results, refused = verify_table(table)
        scores: list[list[float | None]] = [[None] * len(item.requirements) for item in items]
        seen = [0] * len(items)  # a row's results come in the order its requirements were given
        for row, strict in zip(results["row"].to_pylist(), results["strict"].to_pylist(), strict=True):
            j = checkable[row][seen[row]]
            seen[row] += 1
            if strict is not None:
                scores[row][j] = float(strict)
        why = {row: (kind, reason) for row, kind, reason in zip(refused["row"].to_pylist(),
                                                                refused["reason_kind"].to_pylist(),
                                                                refused["reason"].to_pylist(), strict=True)}
        out = []
        for i, item in enumerate(items):
            if i in why and why[i][0] != "no_requirements":
                out.append(Judgment.failed(len(item.requirements), f"verifier_{why[i][0]}", why[i][1]))
            else:
                out.append(judgment(scores[i], self.spec.aggregate))
        return out
