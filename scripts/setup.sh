#!/usr/bin/env bash
# Set up the project-local virtualenv (.venv): Python dependencies and the Rust extension.
# Idempotent and fast when nothing changed: dependencies are reinstalled only when pyproject.toml
# changes, the extension is rebuilt only when the Rust sources change.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

deps_hash=$(hash_of pyproject.toml)
if [ "$(cat .venv/.wrl-deps 2>/dev/null)" != "$deps_hash" ]; then
    echo "setup: installing Python dependencies into .venv"
    pip install -q "maturin>=1.7,<2"
    pip install -q --no-build-isolation -e ".[pipeline,test]"
    echo "$deps_hash" > .venv/.wrl-deps
    hash_of $(find rust_ext -path rust_ext/target -prune -o -type f \( -name '*.rs' -o -name '*.toml' -o -name '*.json' -o -name Cargo.lock \) -print | sort) > .venv/.wrl-rust
fi

rust_hash=$(hash_of $(find rust_ext -path rust_ext/target -prune -o -type f \( -name '*.rs' -o -name '*.toml' -o -name '*.json' -o -name Cargo.lock \) -print | sort))
if [ "$(cat .venv/.wrl-rust 2>/dev/null)" != "$rust_hash" ] || ! python -c "import wrl._core" 2>/dev/null; then
    echo "setup: building the Rust extension (release)"
    maturin develop --release -q
    echo "$rust_hash" > .venv/.wrl-rust
fi
