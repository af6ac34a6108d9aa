// The in-browser half of the benchmark: our wasm and onnxruntime-web, side by side, one thread.
// benches/bench.mjs calls these through window.bench and does the statistics.

import { decodeToRgba } from '/dist/js/decode.js';

const now = () => performance.now();
const state = {};

/** Loads our engine from `pkg` (a wasm-bindgen --target web folder) and the model; times each step. */
async function loadOurs(pkg, modelUrl, metaUrl) {
  const t0 = now();
  const [mod, model, meta] = await Promise.all([
    import(`${pkg}/food_classifier.js`).then(async (m) => {
      await m.default({ module_or_path: `${pkg}/food_classifier_bg.wasm` });
      return m;
    }),
    fetch(modelUrl).then((r) => r.arrayBuffer()),
    fetch(metaUrl).then((r) => r.text()),
  ]);
  const t1 = now();
  const classifier = new mod.FoodClassifier(new Uint8Array(model), meta);
  const t2 = now();
  return { classifier, meta: JSON.parse(meta), fetchCompileMs: t1 - t0, modelLoadMs: t2 - t1, t0 };
}

/** The sample photo resized (shorter side) and centre-cropped to the model's size, as RGBA. */
async function inputPixels(photoUrl, side) {
  const bitmap = await createImageBitmap(await (await fetch(photoUrl)).blob());
  const scale = side / Math.min(bitmap.width, bitmap.height);
  const [w, h] = [Math.round(bitmap.width * scale), Math.round(bitmap.height * scale)];
  const canvas = new OffscreenCanvas(side, side);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, (side - w) / 2, (side - h) / 2, w, h);
  return ctx.getImageData(0, 0, side, side).data;
}

/** RGBA pixels to the NCHW float tensor model.json describes (what our engine computes too). */
function toTensor(rgba, side, input) {
  const plane = side * side;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      out[c * plane + i] = (rgba[i * 4 + c] * input.scale - input.mean[c]) / input.std[c];
    }
  }
  return out;
}

/** Cold start: wasm fetch+compile, model fetch+load, first inference. Call on a fresh page. */
async function coldStart(pkg, modelUrl, metaUrl, photoUrl) {
  const ours = await loadOurs(pkg, modelUrl, metaUrl);
  const side = ours.meta.input.shape[3];
  const rgba = await inputPixels(photoUrl, side);
  const t3 = now();
  const result = ours.classifier.classifyRgba(rgba, side, side, 1);
  const t4 = now();
  return {
    fetchCompileMs: ours.fetchCompileMs,
    modelLoadMs: ours.modelLoadMs,
    firstInferenceMs: t4 - t3,
    // Photo preparation (t3 - load end) is not part of the engine's start-up, so it is left out.
    totalMs: ours.fetchCompileMs + ours.modelLoadMs + (t4 - t3),
    label: result.predictions[0].label,
  };
}

/** Loads both engines on the same model and builds the same input for both. */
async function setup({ pkg, modelUrl, metaUrl, photoUrl, ortUrl }) {
  const ours = await loadOurs(pkg, modelUrl, metaUrl);
  const input = ours.meta.input;
  const side = input.shape[3];
  state.ours = ours.classifier;
  state.side = side;
  state.rgba = await inputPixels(photoUrl, side);

  const ort = await import(`${ortUrl}/ort.wasm.min.mjs`);
  ort.env.wasm.wasmPaths = `${ortUrl}/`;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true; // ignored by newer releases, which always ship SIMD
  ort.env.wasm.proxy = false;
  const t0 = now();
  state.session = await ort.InferenceSession.create(`${modelUrl}`, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const ortLoadMs = now() - t0;
  state.feeds = {
    [state.session.inputNames[0]]: new ort.Tensor('float32', toTensor(state.rgba, side, input), input.shape),
  };
  state.labels = ours.meta.labels;
  state.ortVersion = ort.env.versions?.web ?? 'unknown';
  return { ortLoadMs, ortVersion: state.ortVersion, crossOriginIsolated: self.crossOriginIsolated };
}

async function runOurs() {
  const t0 = now();
  const r = state.ours.classifyRgba(state.rgba, state.side, state.side, 1);
  return { wallMs: now() - t0, inferenceMs: r.timings.inference_ms, label: r.predictions[0].label };
}

async function runOrt() {
  const t0 = now();
  const out = await state.session.run(state.feeds);
  const wallMs = now() - t0;
  const logits = out[state.session.outputNames[0]].data;
  const best = logits.indexOf(Math.max(...logits));
  return { wallMs, label: state.labels[best] };
}

/** `runs` rounds after `warmup`, alternating which engine goes first to cancel drift. */
async function warm(runs, warmup) {
  for (let i = 0; i < warmup; i++) {
    await runOurs();
    await runOrt();
  }
  const ours = [];
  const ort = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      ours.push(await runOurs());
      ort.push(await runOrt());
    } else {
      ort.push(await runOrt());
      ours.push(await runOurs());
    }
  }
  return { ours, ort };
}

/** End to end from the file input: browser decode + resize, then classifyRgba. */
function armPhotoInput() {
  const input = document.getElementById('photo');
  input.addEventListener('change', async () => {
    const t0 = now();
    const file = input.files[0];
    input.value = ''; // The same photo set again must fire `change` again.
    if (!file) return;
    try {
      state.e2e = await photoToResult(file, t0);
    } catch (error) {
      state.e2e = { error: String(error) };
    }
  });
}

/** The page's own decoder (dist/js/decode.js), then our engine: what the real page does per photo. */
async function photoToResult(file, t0) {
  const decoded = await decodeToRgba(file, state.side);
  const t1 = now();
  const r = state.ours.classifyRgba(decoded.rgba, decoded.width, decoded.height, 1);
  const t2 = now();
  return { totalMs: t2 - t0, decodeResizeMs: t1 - t0, inferenceMs: r.timings.inference_ms, label: r.predictions[0].label };
}

const e2eDone = () => state.e2e !== undefined;

function takeE2e() {
  const r = state.e2e;
  state.e2e = undefined;
  return r;
}

window.bench = { coldStart, setup, warm, armPhotoInput, e2eDone, takeE2e };
