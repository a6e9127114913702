"""DVC stage ``train_rm``: the paths come from dvc.yaml, the parameters from params.yaml's ``train_rm`` section.

The stage itself is :mod:`wrl.stages.train_rm` (``wrl train_rm`` runs the same function); ``--help`` lists the paths.
"""

from wrl.stage import pipeline_main

if __name__ == "__main__":
    pipeline_main("train_rm")
