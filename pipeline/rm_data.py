"""DVC stage ``rm_data``: the paths come from dvc.yaml, the parameters from params.yaml's ``rm_data`` section.

The stage itself is :mod:`wrl.stages.rm_data` (``wrl rm_data`` runs the same function); ``--help`` lists the paths.
"""

from wrl.stage import pipeline_main

if __name__ == "__main__":
    pipeline_main("rm_data")
