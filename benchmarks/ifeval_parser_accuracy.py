"""Parser accuracy on IFEval prompts: the requirements the parser finds in the prompt text, scored
against the requirements of the prompt's own ``instruction_id_list`` + ``kwargs`` (the gold).

IFEval lists only rule-checkable instructions, so style and content requirements the parser finds
(tone, audience, ...) count against precision overall; the last line scores the verifiable types
alone.

    python benchmarks/ifeval_parser_accuracy.py input_data.jsonl
"""

from __future__ import annotations

import argparse
import json

import pyarrow as pa

from wrl.importers import import_ifeval
from wrl.parser_eval import parser_accuracy
from wrl.requirements import parse_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", help="IFEval JSONL (key, prompt, instruction_id_list, kwargs)")
    args = ap.parse_args()

    table, _ = import_ifeval(args.path)
    structured, rejects = parse_dataset(table, progress=False)
    gold = {row["id"]: json.dumps([{"params": json.loads(r["params"]), "type": r["type"]}
                                   for r in row["requirements"]])
            for row in structured.select(["id", "requirements"]).to_pylist()}
    text = table.select(["id", "prompt"]).filter(pa.array([i in gold for i in table["id"].to_pylist()]))
    text = text.append_column("gold_requirements", pa.array([gold[i] for i in text["id"].to_pylist()]))
    parsed, _ = parse_dataset(text, progress=False)
    acc = parser_accuracy(parsed)

    print(f"{table.num_rows} prompts; {rejects.num_rows} rejected as structured input (no gold):")
    for r in rejects.to_pylist():
        print(f"  {r['id']}: {r['reason']}")
    print(f"{'type':<24} {'precision':>9} {'recall':>7} {'support':>8} {'params exact':>13}")
    scored = {t: v for t, v in acc["by_type"].items() if v["support"] > 0}
    for t, v in sorted(scored.items(), key=lambda kv: kv[1]["recall"]):
        print(f"{t:<24} {v['precision']:>9.2f} {v['recall']:>7.2f} {v['support']:>8} {v['params_exact']:>13.2f}")
    o = acc["overall"]
    print(f"{'all':<24} {o['precision']:>9.2f} {o['recall']:>7.2f} {o['support']:>8} {o['params_exact']:>13.2f}")
    matched, predicted = sum(v["matched"] for v in scored.values()), sum(v["predicted"] for v in scored.values())
    print(f"verifiable types only: precision {matched / predicted:.2f} ({matched}/{predicted}); "
          f"{o['predicted'] - predicted} style/content requirements found besides")


if __name__ == "__main__":
    main()
