// One build of our engine in a dedicated worker, as the page runs it (a threaded build must: only
// a worker may block while its pool computes). Messages in: {type:'load', glue, wasm, modelUrl,
// metaUrl}, then for a threaded build {type:'pool', threads}, and {type:'run', rgba, width,
// height}; each answers with its timings.
import { cachedFetch } from '/dist/js/cached-fetch.js';
import { loadEngine, startPool } from '/dist/js/engine-load.js';

let engine = null;
let classifier = null;

const handlers = {
  async load({ glue, wasm, modelUrl, metaUrl }) {
    const files = Promise.all([cachedFetch(modelUrl).then((r) => r.arrayBuffer()), fetch(metaUrl).then((r) => r.text())]);
    // From this worker's own start (its clock's origin), as the page's worker times its start-up.
    engine = await loadEngine(glue, wasm);
    const [model, meta] = await files;
    const t1 = performance.now();
    classifier = new engine.FoodClassifier(new Uint8Array(model), meta);
    return { fetchCompileMs: t1, modelLoadMs: performance.now() - t1, setupSteps: classifier.setupTimings() };
  },
  // Once the model is loaded, as the page starts its pool (the page also waits for its first run).
  async pool({ threads }) {
    const t0 = performance.now();
    await startPool(engine, threads);
    return { poolStartMs: performance.now() - t0 };
  },
  run({ rgba, width, height }) {
    const t0 = performance.now();
    const r = classifier.classifyRgba(rgba, width, height, 1);
    return { wallMs: performance.now() - t0, inferenceMs: r.timings.inference_ms, label: r.predictions[0].label };
  },
};

self.onmessage = async ({ data }) => {
  try {
    postMessage({ ok: await handlers[data.type](data) });
  } catch (error) {
    postMessage({ error: String(error?.message ?? error) });
  }
};
