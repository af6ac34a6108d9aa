// Which build of the engine this browser runs: on several threads where the page is cross-origin
// isolated (shared memory), with relaxed SIMD (fused multiply-add in the network's inner loops)
// where the browser has it, else the plain SIMD build. Decided by validating a few bytes of wasm
// that use the feature: nothing is downloaded or compiled.
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

/** More threads than this gain little on one photo at a time and cost a worker each. */
const MAX_THREADS = 4;

/**
 * The builds, by name: their SIMD level, wasm file and JS bindings (relative to the site's root),
 * and whether they run on several threads.
 */
const ENGINE_BUILDS = {
  threads: { simd: 'relaxed-simd', wasm: 'pkg/threads/food_classifier_bg.wasm', glue: 'pkg/threads/food_classifier.js', threaded: true },
  'relaxed-simd': { simd: 'relaxed-simd', wasm: 'pkg/food_classifier_relaxed_bg.wasm', glue: 'pkg/food_classifier.js' },
  simd128: { simd: 'simd128', wasm: 'pkg/food_classifier_bg.wasm', glue: 'pkg/food_classifier.js' },
};

/**
 * Firefox (ESR 153 on our test machine) now and then stops the engine's worker while it starts
 * the pool (6 page loads of 270: the engine's worker answers nothing after; the page then restarts
 * it on one thread), and with the threaded build running, a second page of the site opened beside
 * it once did not finish loading within 30 s. There the threaded build runs only when asked for
 * by name (`?engine=threads`) until that is understood.
 */
const THREADS_BY_DEFAULT = !/\bFirefox\//.test(self.navigator?.userAgent ?? '');

/** Whether this context may share wasm memory between workers: isolated, with shared memories. */
function canShareMemory() {
  if (!self.crossOriginIsolated) return false;
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/**
 * The build to run: `requested` (a build's name, for comparing builds) when this browser can run
 * it, else the fastest it can run. `isolated`: whether the page can share memory with workers,
 * by default this context's own answer (a service worker may not be isolated itself, and passes
 * what the page's headers say). `{ name, simd, wasm, glue, threads, others }`: `threads` is how
 * many workers compute (1 for a single-thread build), `others` are the other builds' wasm files,
 * which this browser never needs (the service worker leaves them out of its precache).
 */
self.engineBuild = (requested, { isolated = canShareMemory() } = {}) => {
  const relaxed = typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_SIMD_PROBE);
  const cores = Math.min(self.navigator?.hardwareConcurrency || 1, MAX_THREADS);
  const threaded = relaxed && cores > 1 && isolated;
  const runnable = [...(threaded ? ['threads'] : []), ...(relaxed ? ['relaxed-simd'] : []), 'simd128'];
  const fastest = runnable.find((b) => b !== 'threads' || THREADS_BY_DEFAULT);
  const name = runnable.includes(requested) ? requested : fastest;
  const build = ENGINE_BUILDS[name];
  return {
    name,
    simd: build.simd,
    wasm: build.wasm,
    glue: build.glue,
    threads: build.threaded ? cores : 1,
    others: Object.values(ENGINE_BUILDS).map((b) => b.wasm).filter((wasm) => wasm !== build.wasm),
  };
};
