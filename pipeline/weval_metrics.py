"""DVC stage ``weval_metrics``: the paths come from dvc.yaml, the parameters from params.yaml's
``weval_metrics`` section.

The stage itself is :mod:`wrl.stages.weval_metrics` (``wrl weval_metrics`` runs the same
function); ``--help`` lists the paths.
"""

from wrl.stage import pipeline_main

if __name__ == "__main__":
    pipeline_main("weval_metrics")
