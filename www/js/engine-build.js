// Which build of the engine this browser runs: the relaxed-SIMD build (fused multiply-add in the
// network's inner loops) where the browser has relaxed SIMD, else the plain SIMD build. Decided by
// validating a few bytes of wasm that use the feature: nothing is downloaded or compiled.
// A classic script and a module alike, so the service worker (importScripts) and the inference
// worker (import) make the same choice and only the build that will run is cached for offline.

// (module (func (result v128) (i8x16.relaxed_swizzle (i8x16.splat (i32.const 1)) (i8x16.splat (i32.const 2)))))
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x0f, 0x01, 0x0d, 0x00, // code section: one body, no locals
  0x41, 0x01, 0xfd, 0x0f, 0x41, 0x02, 0xfd, 0x0f, 0xfd, 0x80, 0x02, 0x0b,
]);

/** The builds, by name, and their wasm file relative to the site's root. */
const ENGINE_BUILDS = {
  'relaxed-simd': 'pkg/food_classifier_relaxed_bg.wasm',
  simd128: 'pkg/food_classifier_bg.wasm',
};

/**
 * The build to run: `requested` (a build's name, for comparing builds) when this browser can run
 * it, else the fastest it can run. `{ name, wasm, others }`: `others` are the other builds' wasm
 * files, which this browser never needs (the service worker leaves them out of its precache).
 */
self.engineBuild = (requested) => {
  const relaxed = typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_SIMD_PROBE);
  const runnable = relaxed ? ['relaxed-simd', 'simd128'] : ['simd128'];
  const name = runnable.includes(requested) ? requested : runnable[0];
  return { name, wasm: ENGINE_BUILDS[name], others: Object.keys(ENGINE_BUILDS).filter((b) => b !== name).map((b) => ENGINE_BUILDS[b]) };
};
