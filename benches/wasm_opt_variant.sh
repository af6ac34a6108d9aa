#!/bin/sh
# Makes a wasm-opt'ed copy of a wasm-bindgen output folder, to measure the wasm-opt lever with
# `node benches/bench.mjs --pkg OUT`. Uses npm's binaryen (package-lock.json), not Debian's.
#
# usage: benches/wasm_opt_variant.sh IN_PKG OUT_PKG [wasm-opt flags, default -O3]
set -eu
in=$1 out=$2
shift 2
[ $# -gt 0 ] || set -- -O3
mkdir -p "$out"
cp "$in/food_classifier.js" "$out/"
node_modules/.bin/wasm-opt "$@" \
  --enable-simd --enable-relaxed-simd --enable-bulk-memory --enable-bulk-memory-opt \
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  --enable-reference-types --enable-multivalue \
  "$in/food_classifier_bg.wasm" -o "$out/food_classifier_bg.wasm"
ls -l "$in/food_classifier_bg.wasm" "$out/food_classifier_bg.wasm"
