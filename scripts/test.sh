#!/usr/bin/env bash
# Set everything up, then run all tests: the Rust core's own tests and the Python suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
export HF_HUB_OFFLINE=1
cargo test --release --quiet --manifest-path rust_ext/Cargo.toml -p wrl-core
ruff check .   # isort and the rule set in pyproject.toml
# The SSH remote tests start a real OpenSSH server (tests/conftest.py): install Debian's when missing.
if [ ! -x /usr/sbin/sshd ] && command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
    echo "test: installing openssh-server for the SSH remote tests"
    # policy-rc.d keeps the package from starting a system sshd on port 22.
    NEW_POLICY=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d \
            && NEW_POLICY=1
    fi
    APT_LOG=$(mktemp)
    if ! { $SUDO apt-get update -qq \
        && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server; } \
        >"$APT_LOG" 2>&1; then
        cat "$APT_LOG" >&2
        echo "test: could not install openssh-server (the SSH remote test skips, or fails under CI)" >&2
    fi
    rm -f "$APT_LOG"
    [ -z "$NEW_POLICY" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi
python -m pytest "$@"
