// The in-browser half of the benchmark: our wasm builds and onnxruntime-web, side by side, one thread.
// benches/bench.mjs calls these through window.bench and does the statistics.

import { decodeToRgba } from '/dist/js/decode.js';
import '/dist/js/engine-build.js';

/** Our builds this browser can run, name -> wasm file, and the one the real page picks. */
const fileName = (path) => path.split('/').pop();
const pageBuild = self.engineBuild();
const runnableBuilds = Object.fromEntries(['simd128', 'relaxed-simd'].map((want) => self.engineBuild(want))
  .map((b) => [b.name, fileName(b.wasm)]));

const now = () => performance.now();
const state = {};

/**
 * Loads one build of our engine (`wasm`, a file in `pkg`, the site's wasm-bindgen folder) and the
 * model; times each step. Each build gets its own instance of the glue module (the query string),
 * so both builds can run side by side in one page.
 */
async function loadOurs(pkg, wasm, modelUrl, metaUrl) {
  const t0 = now();
  const [mod, model, meta] = await Promise.all([
    import(`${pkg}/food_classifier.js?${wasm}`).then(async (m) => {
      await m.default({ module_or_path: `${pkg}/${wasm}` });
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

/** Cold start of the build the page picks: wasm fetch+compile, model fetch+load, first inference. Call on a fresh page. */
async function coldStart(pkg, modelUrl, metaUrl, photoUrl) {
  const ours = await loadOurs(pkg, fileName(pageBuild.wasm), modelUrl, metaUrl);
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

/** Loads every build of ours this browser runs and onnxruntime-web on the same model, with the same input. */
async function setup({ pkg, modelUrl, metaUrl, photoUrl, ortUrl }) {
  state.ours = {};
  let ours;
  for (const [name, wasm] of Object.entries(runnableBuilds)) {
    ours = await loadOurs(pkg, wasm, modelUrl, metaUrl);
    state.ours[name] = ours.classifier;
  }
  const input = ours.meta.input;
  const side = input.shape[3];
  state.photoEngine = state.ours[pageBuild.name];
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
  return { ortLoadMs, ortVersion: state.ortVersion, crossOriginIsolated: self.crossOriginIsolated, pageBuild: pageBuild.name };
}

async function runOurs(name) {
  const t0 = now();
  const r = state.ours[name].classifyRgba(state.rgba, state.side, state.side, 1);
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

/**
 * `runs` rounds after `warmup`; each round runs every engine once, starting at a different one
 * each round, to cancel drift. Returns each engine's runs by name (our builds, then `ort`).
 */
async function warm(runs, warmup) {
  const engines = [...Object.keys(state.ours).map((name) => [name, () => runOurs(name)]), ['ort', runOrt]];
  const times = Object.fromEntries(engines.map(([name]) => [name, []]));
  for (let i = 0; i < warmup + runs; i++) {
    for (let k = 0; k < engines.length; k++) {
      const [name, run] = engines[(i + k) % engines.length];
      const r = await run();
      if (i >= warmup) times[name].push(r);
    }
  }
  return times;
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
  const r = state.photoEngine.classifyRgba(decoded.rgba, decoded.width, decoded.height, 1);
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
