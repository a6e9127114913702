"""The shipped stub wrl/_core.pyi matches the built extension, checked by mypy.stubtest (as
pydantic-core checks its stub): names, signatures, defaults, classes and ``__all__``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_stub_matches_the_extension():
    proc = subprocess.run([sys.executable, "-m", "mypy.stubtest", "wrl._core", "--mypy-config-file",
                           str(REPO / "pyproject.toml")], cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found in 1 module" in proc.stdout
