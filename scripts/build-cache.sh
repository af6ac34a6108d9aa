#!/usr/bin/env bash
# Points ./target at a build cache outside the clone, so a fresh clone on a machine that built the
# project before reuses its compiled dependencies instead of rebuilding tract from nothing.
#
#   bash scripts/build-cache.sh        # from anywhere; prints the cache folder it linked
#
# The cache folder is keyed on the Rust toolchain (`rustc -vV`) and Cargo.lock, so a different
# compiler or dependency set never shares artefacts. A new key starts as a copy of the newest
# older folder: cargo's own fingerprints then rebuild exactly what changed, so the copy can only
# save time. The two newest folders are kept. An existing real ./target folder (a developer's own
# build) is left alone, and so is everything when the cache root cannot be created: the build then
# simply runs cold. FOOD_CLASSIFIER_CACHE overrides the cache root; FOOD_CLASSIFIER_CACHE=off
# disables the cache.
set -euo pipefail
cd "$(dirname "$0")/.."

root=${FOOD_CLASSIFIER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/food-classifier}
if [ "$root" = off ]; then
  echo "build cache: off" >&2
  exit 0
fi
if [ -e target ] && [ ! -L target ]; then
  echo "build cache: ./target is a real folder here; using it as it is" >&2
  exit 0
fi
if ! mkdir -p "$root" 2>/dev/null; then
  echo "build cache: cannot create $root; building without it" >&2
  exit 0
fi

key=$( { rustc -vV; cat Cargo.lock; } | sha256sum | cut -c1-16)
dir="$root/target-$key"
if [ ! -d "$dir" ]; then
  newest=$(ls -1dt "$root"/target-* 2>/dev/null | head -n 1 || true)
  if [ -n "$newest" ]; then
    echo "build cache: new key $key, seeding from $(basename "$newest")" >&2
    cp -a --reflink=auto "$newest" "$dir.partial"
    mv "$dir.partial" "$dir"
  else
    mkdir -p "$dir"
  fi
fi
touch "$dir"
ln -sfn "$dir" target
# Keep the two most recently used folders; a half-made copy from an interrupted run goes too.
rm -rf "$root"/target-*.partial
ls -1dt "$root"/target-* | tail -n +3 | xargs -r rm -rf
echo "$dir"
