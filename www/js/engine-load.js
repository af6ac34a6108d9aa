// Loading one engine build, shared by the page's inference worker and the benchmark's.

/**
 * The bindings of the engine build at `glue` (a URL) with its `wasm` instantiated, and its pool of
 * `threads` workers started when it is the threaded build (more than one thread).
 */
export async function loadEngine(glue, wasm, threads) {
  const bindings = await import(glue);
  await bindings.default({ module_or_path: wasm });
  if (threads > 1) {
    await bindings.initThreadPool(threads);
    bindings.useThreadPool();
  }
  return bindings;
}
