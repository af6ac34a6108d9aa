// Loading one engine build, shared by the page's inference worker and the benchmark's.

/**
 * The bindings of the engine build at `glue` (a URL) with its `wasm` instantiated, and what
 * `prepare(bindings)` made of them (the model, loaded), as `{ bindings, prepared }`.
 *
 * A threaded build starts its pool of `threads` workers only after `prepare`: model set-up runs
 * on this thread alone, while the pool's workers starting beside it would compete with it for
 * the cores, and the pool's start-up handshake has to wait for this thread anyway.
 */
export async function loadEngine(glue, wasm, threads, prepare) {
  const bindings = await import(glue);
  await bindings.default({ module_or_path: wasm });
  const prepared = await prepare(bindings);
  if (threads > 1) {
    await bindings.initThreadPool(threads);
    bindings.useThreadPool();
  }
  return { bindings, prepared };
}
