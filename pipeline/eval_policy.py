"""DVC stage ``eval_policy``: the paths come from dvc.yaml, the parameters from params.yaml's
``eval_policy`` section.

The stage itself is :mod:`wrl.stages.eval_policy` (``wrl eval_policy`` runs the same
function); ``--help`` lists the paths.
"""

from wrl.stage import pipeline_main

if __name__ == "__main__":
    pipeline_main("eval_policy")
