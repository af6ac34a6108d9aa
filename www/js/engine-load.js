// Loading one engine build, shared by the page's inference worker and the benchmark's.
import { cachedFetch } from './cached-fetch.js';

/** The bindings of the engine build at `glue` (a URL), with its `wasm` (a URL) instantiated. */
export async function loadEngine(glue, wasm) {
  const bindings = await import(glue);
  await bindings.default({ module_or_path: cachedFetch(wasm) });
  return bindings;
}

/**
 * Starts a threaded build's pool of `threads` workers and hands the engine's work to it; until it
 * resolves, every inference runs on the calling thread alone, so a page can answer photos while
 * its pool starts. Called once the model is loaded and warmed up: the pool's workers starting
 * beside the model's set-up would only compete with it for the cores.
 */
export async function startPool(bindings, threads) {
  await bindings.initThreadPool(threads);
  bindings.useThreadPool(true);
}
