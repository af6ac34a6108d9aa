// One build of our engine in a dedicated worker, as the page runs it (a threaded build must: only
// a worker may block while its pool computes). Messages in: {type:'load', glue, wasm, threads,
// modelUrl, metaUrl} then {type:'run', rgba, width, height}; each answers with its timings.
import { loadEngine } from '/dist/js/engine-load.js';

let classifier = null;

const handlers = {
  async load({ glue, wasm, threads, modelUrl, metaUrl }) {
    const files = Promise.all([fetch(modelUrl).then((r) => r.arrayBuffer()), fetch(metaUrl).then((r) => r.text())]);
    // From this worker's own start (its clock's origin), as the page's worker times its start-up.
    const { prepared } = await loadEngine(glue, wasm, threads, async (engine) => {
      const [model, meta] = await files;
      const t1 = performance.now();
      classifier = new engine.FoodClassifier(new Uint8Array(model), meta);
      return { fetchCompileMs: t1, modelLoadMs: performance.now() - t1 };
    });
    // A threaded build starts its pool after the model is loaded.
    return { ...prepared, poolStartMs: performance.now() - prepared.fetchCompileMs - prepared.modelLoadMs };
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
