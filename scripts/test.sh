#!/usr/bin/env bash
# Set everything up, then run all tests: the Rust core's own tests and the Python suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
export HF_HUB_OFFLINE=1
cargo test --release --quiet --manifest-path rust_ext/Cargo.toml -p wrl-core
python -m pytest "$@"
