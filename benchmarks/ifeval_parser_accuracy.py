"""Parser accuracy on IFEval prompts: a thin call of ``wrl eval parser`` (:func:`wrl.parser_report.evaluate_parser`).

The requirements the parser finds in the prompt text are scored against the requirements of the
prompt's own ``instruction_id_list`` + ``kwargs`` (the gold). IFEval lists only rule-checkable
instructions, so style and content requirements the parser finds (tone, audience, ...) count against
precision overall; the "verifiable types" line scores the rule-verifiable types alone.

    python benchmarks/ifeval_parser_accuracy.py input_data.jsonl [--json]
"""

from __future__ import annotations

import sys

from wrl.cli import main

if __name__ == "__main__":
    main(["eval", "parser", *sys.argv[1:]])
