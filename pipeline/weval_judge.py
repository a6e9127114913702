"""DVC stage ``weval_judge``: the paths come from dvc.yaml, the parameters from params.yaml's
``weval_judge`` section.

The stage itself is :mod:`wrl.stages.weval_judge` (``wrl weval_judge`` runs the same
function); ``--help`` lists the paths.
"""

from wrl.stage import pipeline_main

if __name__ == "__main__":
    pipeline_main("weval_judge")
