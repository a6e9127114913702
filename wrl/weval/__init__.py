"""WEval: how well a judge ranks a group of responses written under progressively fewer requirements.

- :mod:`wrl.weval.groups`: the groups (one instruction, one response per progressive variant, gold rank =
  requirements kept) from the test split's rollouts;
- :mod:`wrl.weval.metrics`: Kendall tau, Spearman rho, position consistency and exact match per group, with
  ties handled explicitly, macro averages with bootstrap intervals, paired differences and breakdowns;
- :mod:`wrl.weval.report`: the Markdown report, its figure and the plot data;
- :mod:`wrl.weval.paper`: files in the paper's WEval format (``wrl weval score``).

The judges themselves are in :mod:`wrl.judges`; the stages are ``weval_judge`` and ``weval_metrics``.
"""

#: How tied scores are ranked (see :mod:`wrl.weval.metrics`): ``expected`` (the default: no credit for ties),
#: ``worst`` (broken against the gold order), ``paper`` (the paper's scorer: rounded, broken toward gold).
TIES = ("expected", "worst", "paper")
#: The per-group metrics, in report order.
METRICS = ("tau", "rho", "position_consistency", "exact_match")
