"""DVC stage ``rollout``: the paths come from dvc.yaml, the parameters from params.yaml's ``rollout`` section.

The stage itself is :mod:`wrl.stages.rollout` (``wrl rollout`` runs the same function); ``--help`` lists the paths.
"""

from wrl.stage import pipeline_main

if __name__ == "__main__":
    pipeline_main("rollout")
