// Loading one engine build, shared by the page's inference worker and the benchmark's.
import { cachedFetch } from './cached-fetch.js';

/** The bindings of the engine build at `glue` (a URL), with its `wasm` (a URL) instantiated. */
export async function loadEngine(glue, wasm) {
  const bindings = await import(glue);
  await bindings.default({ module_or_path: cachedFetch(wasm) });
  return bindings;
}

/**
 * How long a pool may take to start before the engine gives up on it: its workers start in 40–60
 * ms on a 2-core machine (Chromium; 70–470 ms in Firefox), but a start whose worker script never
 * loads never ends, and a page must not say "starting" for ever. Shorter than the page's own wait
 * for news of the pool (classifier-client.js), which restarts a worker that says nothing.
 */
const POOL_START_LIMIT_MS = 5_000;

/**
 * Starts a threaded build's pool of `threads` workers and hands the engine's work to it; until it
 * resolves, every inference runs on the calling thread alone, so a page can answer photos while
 * its pool starts. Called once the model is loaded and warmed up: the pool's workers starting
 * beside the model's set-up would only compete with it for the cores. Rejects when the pool has
 * not started within `limitMs`; the engine then stays on the calling thread, even if the pool
 * starts later.
 */
export async function startPool(bindings, threads, limitMs = POOL_START_LIMIT_MS) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the pool did not start within ${limitMs / 1000} s`)), limitMs);
  });
  try {
    await Promise.race([bindings.initThreadPool(threads), deadline]);
  } finally {
    clearTimeout(timer);
  }
  bindings.useThreadPool(true);
}
