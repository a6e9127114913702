"""The shared remote: push from one clone, pull into a fresh clone, and nothing left to recompute.

The SSH test runs against a real OpenSSH server on a loopback port (the ``sshd`` fixture); in CI it
never skips. A plain local directory is the single-machine remote.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from conftest import copy_project, dvc, git

OUTS = ("data/instructions.parquet", "data/parsed.parquet", "data/variants.parquet", "data/parsed.rejects.parquet")


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _push_then_pull(origin: Path, tmp_path: Path, configure) -> Path:
    """Configure the remote in ``origin``, push, clone afresh, pull; return the clone."""
    configure(origin)
    git("add", ".dvc/config", cwd=origin)
    git("commit", "-q", "-m", "remote", cwd=origin)
    pushed = dvc("push", "-j", "4", cwd=origin).stdout
    assert "pushed" in pushed, pushed
    assert "in sync" in dvc("status", "--cloud", cwd=origin).stdout

    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    git("config", "user.email", "tests@wrl.invalid", cwd=clone)
    git("config", "user.name", "wrl tests", cwd=clone)
    assert not (clone / "data/variants.parquet").exists()
    configure(clone, local_only=True)
    dvc("pull", "-j", "4", "--with-deps", "drop", cwd=clone)  # what the project built
    for out in OUTS:
        assert _md5(clone / out) == _md5(origin / out), out

    status = dvc("status", "drop", "--with-deps", cwd=clone).stdout
    assert "up to date" in status, status
    repro = dvc("repro", "drop", cwd=clone).stdout
    assert "Running stage" not in repro, repro
    assert git("status", "--porcelain", cwd=clone).stdout == ""
    return clone


def test_local_directory_remote(built_project, tmp_path):
    origin = copy_project(built_project, tmp_path / "origin")
    store = tmp_path / "store"

    def configure(repo: Path, local_only: bool = False) -> None:
        if not local_only:
            dvc("remote", "add", "-d", "shared", str(store), cwd=repo)

    _push_then_pull(origin, tmp_path, configure)
    assert any(store.rglob("*"))


def test_ssh_remote_push_and_pull(built_project, sshd, tmp_path):
    origin = copy_project(built_project, tmp_path / "origin")
    store = tmp_path / "ssh-store"

    def configure(repo: Path, local_only: bool = False) -> None:
        if not local_only:  # the URL is shared through git ...
            dvc("remote", "add", "-d", "shared", sshd.url(store), cwd=repo)
            dvc("remote", "modify", "shared", "timeout", "60", cwd=repo)
        # ... each machine's credentials stay in its own .dvc/config.local
        dvc("remote", "modify", "--local", "shared", "keyfile", str(sshd.keyfile), cwd=repo)
        dvc("remote", "modify", "--local", "shared", "allow_agent", "false", cwd=repo)

    clone = _push_then_pull(origin, tmp_path, configure)
    assert any(p.is_file() for p in store.rglob("*")), "nothing reached the SSH remote"
    assert "keyfile" not in (clone / ".dvc/config").read_text()
    # a verified pull re-hashes what it downloads
    dvc("remote", "modify", "--local", "shared", "verify", "true", cwd=clone)
    (clone / "data/variants.parquet").unlink()
    shutil.rmtree(clone / ".dvc/cache")
    dvc("pull", "drop", cwd=clone)
    assert _md5(clone / "data/variants.parquet") == _md5(origin / "data/variants.parquet")
