// Loading one engine build and starting it, shared by the page's inference worker and the
// benchmark's.
import { choosePool } from './thread-choice.js';

/** The bindings of the engine build at `glue` (a URL), with its `wasm` instantiated. */
export async function loadEngine(glue, wasm) {
  const bindings = await import(glue);
  await bindings.default({ module_or_path: wasm });
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

/** tract's first run sizes its scratch buffers (about 4x a warm run): pay it before any photo. */
export function warmUp(model) {
  const side = model.resizeShorterSide;
  model.classifyRgba(new Uint8Array(side * side * 4), side, side, 1);
}

/**
 * Once the pool has started, times a run of `model` on it and on one thread and leaves the faster
 * setting on (`choosePool`'s answer). The pool's threads size their own scratch space on their
 * first run, which is not timed.
 */
export function choosePoolFor(bindings, model) {
  warmUp(model);
  return choosePool(() => warmUp(model), (on) => bindings.useThreadPool(on));
}
