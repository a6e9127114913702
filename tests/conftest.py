"""Shared fixtures: a throw-away OpenSSH server, small DVC projects built from this checkout, and the
``--update-golden`` option of the golden snapshot tests."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

# Paths of this checkout that a test project does not copy: build state and outputs.
NOT_COPIED = ("dvc.lock", ".dvc/tmp", ".dvc/cache", "data/", "metrics/", "plots/", "dvc_plots/", "tests/",
              "benchmarks/", "docs/", "wrl.duckdb")


# --- golden snapshots ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/*.jsonl from the engine's current output (review with git diff)")


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    return request.config.getoption("--update-golden")


# --- sshd ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SSHServer:
    """A running sshd on 127.0.0.1 that accepts ``user`` with the private key ``keyfile``."""

    host: str
    port: int
    user: str
    keyfile: Path
    root: Path

    def url(self, path: str | os.PathLike[str]) -> str:
        return f"ssh://{self.user}@{self.host}:{self.port}{Path(path).resolve()}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sshd_binary() -> str | None:
    found = shutil.which("sshd") or "/usr/sbin/sshd"
    return found if os.access(found, os.X_OK) else None


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    """Start OpenSSH's sshd on a free loopback port with throw-away host and user keys.

    Skips only when sshd is missing and we are not root (nothing could install it). When CI is set
    or we are root, a missing sshd fails: ``scripts/test.sh`` installs openssh-server.
    """
    binary = _sshd_binary()
    if binary is None:
        msg = "sshd not found (/usr/sbin/sshd); scripts/test.sh installs Debian's openssh-server"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.geteuid() == 0:
            pytest.fail(msg)
        pytest.skip(msg + " (needs root)")
    d = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "wrl-test", "-f", str(d / name)],
                       check=True)
    shutil.copy(d / "user_key.pub", d / "authorized_keys")
    port = _free_port()
    config = d / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {d / 'host_key'}
PidFile {d / 'sshd.pid'}
AuthorizedKeysFile {d / 'authorized_keys'}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
LogLevel ERROR
""")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    log = open(d / "sshd.log", "wb")  # noqa: SIM115 - the server writes to it until the fixture ends
    proc = subprocess.Popen([binary, "-D", "-e", "-f", str(config), "-p", str(port)], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.fail(f"sshd exited with {proc.returncode}: {(d / 'sshd.log').read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-2.0"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"sshd did not accept connections: {(d / 'sshd.log').read_text(errors='replace')}")
            time.sleep(0.1)
        user = getpass.getuser()
        yield SSHServer("127.0.0.1", port, user, d / "user_key", d)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# --- DVC projects -------------------------------------------------------------------------------


def tool_env(tmp: Path) -> dict[str, str]:
    """Environment for dvc/git in a test project: this venv first on PATH, no analytics, no prompts."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(DVC_NO_ANALYTICS="1", DVC_SITE_CACHE_DIR=str(tmp / ".dvc-site"), GIT_TERMINAL_PROMPT="0",
               HF_HUB_OFFLINE="1")
    return env


def run(cmd: list[str], cwd: Path, *, check: bool = True, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    """Run a command in ``cwd``; on failure the assertion shows its output."""
    proc = subprocess.run(cmd, cwd=cwd, env=env or tool_env(cwd.parent), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def dvc(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "dvc", *args], cwd, check=check)


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(["git", *args], cwd, check=check)


def _project_files() -> list[str]:
    """Files of this checkout (tracked and untracked, not ignored) that a pipeline run needs."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                         check=True).stdout.decode()
    return [f for f in out.split("\0") if f and not f.startswith(NOT_COPIED) and (REPO / f).is_file()]


def make_project(dest: Path, *, params: dict | None = None, commit: bool = True) -> Path:
    """A new git + DVC repository at ``dest`` holding this checkout's pipeline and code.

    Args:
        params: overrides merged into ``params.yaml`` by section, e.g. ``{"data": {"n": 300}}``.
        commit: make an initial commit (``dvc exp`` needs one).
    """
    dest.mkdir(parents=True)
    for f in _project_files():
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, dest / f)
    if params:
        merged = yaml.safe_load((dest / "params.yaml").read_text())
        for section, values in params.items():
            merged.setdefault(section, {}).update(values)
        (dest / "params.yaml").write_text(yaml.safe_dump(merged, sort_keys=False))
    git("init", "-q", "-b", "main", cwd=dest)
    git("config", "user.email", "tests@wrl.invalid", cwd=dest)
    git("config", "user.name", "wrl tests", cwd=dest)
    if not (dest / ".dvc" / "config").exists():
        dvc("init", "-q", cwd=dest)
    dvc("config", "core.analytics", "false", cwd=dest)
    if commit:
        git("add", "-A", cwd=dest)
        git("commit", "-q", "-m", "project", cwd=dest)
    return dest


TINY = {"data": {"n": 400}}


@pytest.fixture(scope="session")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small project (400 synthesized instructions) after ``dvc repro drop``, committed.

    Shared by several test files: do not modify it; copy it with :func:`copy_project` first.
    """
    root = make_project(tmp_path_factory.mktemp("built") / "project", params=TINY)
    dvc("repro", "drop", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "repro", cwd=root)
    return root


def copy_project(src: Path, dest: Path) -> Path:
    """A copy of a project (working tree, git history and DVC cache) to modify freely."""
    shutil.copytree(src, dest, symlinks=True)
    return dest


# --- tiny local models ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT directory with a word-level tokenizer (see tests/tiny_models.py)."""
    from tiny_models import build_encoder

    return build_encoder(tmp_path_factory.mktemp("tiny") / "encoder")


@pytest.fixture(scope="session")
def tiny_decoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama directory with a chat template and a pad token distinct from eos."""
    from tiny_models import build_decoder

    return build_decoder(tmp_path_factory.mktemp("tiny") / "decoder")


@pytest.fixture(scope="session")
def tiny_reward_model(tiny_encoder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained-looking pointwise reward model: the tiny encoder with a 2-label head (random, seeded, saved),
    its tokenizer and ``wrl_reward_model.json`` (max_length 64), so it loads and scores deterministically; float64
    weights (loaded as saved, ``dtype="auto"``)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from wrl.reward_model import RewardModelSettings

    out = tmp_path_factory.mktemp("tiny") / "reward_model"
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_encoder, num_labels=2)
    with torch.no_grad():  # a large head centred on the mean text: different texts get clearly different scores
        model.classifier.weight.normal_(0.0, 200.0)
        words = tokenizer(["write a poem about rain", "the city and the river", "hello world"], return_tensors="pt",
                          padding=True)
        model.classifier.bias.copy_(-model.classifier.weight @ model.bert(**words).pooler_output.mean(0))
    # float64, so that scores do not depend on which pairs share a batch (float32 rounding differs with the padded
    # shape, and the large head would magnify it past the tests' 1e-6)
    model.to(torch.float64).save_pretrained(out)
    tokenizer.save_pretrained(out)
    RewardModelSettings(objective="pointwise", max_length=64, backbone=str(tiny_encoder)).save(out)
    return out
