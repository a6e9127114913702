#!/usr/bin/env bash
# Set everything up, then run the main job on the embedded default data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
export HF_HUB_OFFLINE=1
mkdir -p data
wrl parse examples/instructions.jsonl data/parsed.parquet
wrl drop data/parsed.parquet data/variants.parquet --rate 0.5 --seed 0
