// The in-browser half of the benchmark: our wasm builds, onnxruntime-web and TF.js's wasm
// backend, side by side, on one thread and (where the page is cross-origin isolated) on several.
// benches/bench.mjs calls these through window.bench and does the statistics.

import { decodeToRgba } from '/dist/js/decode.js';
import '/dist/js/engine-build.js';

/** Our builds this browser can run, by name (`engineBuild`'s answers), and the one the real page picks. */
const pageBuild = self.engineBuild();
const runnableBuilds = Object.fromEntries(['simd128', 'relaxed-simd', 'threads'].map((want) => self.engineBuild(want))
  .map((b) => [b.name, b]));
/** A build's file in `pkg`, the site's wasm-bindgen folder (engineBuild names them from the site's root). */
const inPkg = (path) => path.replace(/^pkg\//, '');
/** `url` by its content `version`, as the page asks for the engine and the model. */
const versioned = (url, version) => (version ? `${url.href}?v=${version}` : url.href);

const now = () => performance.now();
const state = {};

/** Messages to a worker that answers each with `{ok}` or `{error}`, one at a time. */
function callerOf(worker) {
  return (type, data = {}, transfer = []) => new Promise((resolve, reject) => {
    worker.onmessage = ({ data: reply }) => (reply.error ? reject(new Error(reply.error)) : resolve(reply.ok));
    worker.postMessage({ type, ...data }, transfer);
  });
}

/**
 * One build of our engine (`build`, from engineBuild) in its own dedicated worker, as the page
 * runs it, with the model loaded: `{ call(type, data), meta, fetchCompileMs, modelLoadMs }`.
 * `call` resolves to the worker's answer; timings are taken inside the worker, so the messages'
 * own cost is not counted. A threaded build's pool is not started yet (`startPoolOf`).
 */
async function loadOurs(pkg, build, modelUrl, metaUrl, versions) {
  const call = callerOf(new Worker(new URL('./engine-worker.js', import.meta.url), { type: 'module' }));
  const base = new URL(`${pkg}/`, location.href);
  const loaded = await call('load', {
    glue: new URL(inPkg(build.glue), base).href,
    wasm: versioned(new URL(inPkg(build.wasm), base), versions[inPkg(build.wasm)]),
    modelUrl: versioned(new URL(modelUrl, location.href), versions.model),
    metaUrl: new URL(metaUrl, location.href).href,
  });
  const meta = await (await fetch(metaUrl)).json();
  return { call, meta, ...loaded };
}

/** Starts a threaded build's pool (`{ poolStartMs }`; nothing to start for a one-thread build). */
const startPoolOf = (engine, build) => (build.threads > 1 ? engine.call('pool', { threads: build.threads }) : { poolStartMs: 0 });

/** Our build `engine` classifies `rgba` (width x height). */
const classifyIn = (engine, rgba, width, height) => engine.call('run', { rgba, width, height });

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

/**
 * Registers benches/cache-worker.js, the page's service worker as a returning visitor has it, and
 * says whether it already controls this page (then its files come from Cache Storage).
 */
async function cachedByServiceWorker() {
  await navigator.serviceWorker.register('cache-worker.js');
  await navigator.serviceWorker.ready;
  return navigator.serviceWorker.controller !== null;
}

/**
 * Cold start of the build the page picks, as the page counts it to "ready": wasm fetch+compile,
 * model load, first inference (on one thread: a threaded build starts its pool after ready, timed
 * here on its own and not counted). Call on a fresh page; `controlled` says whether the service
 * worker served its files.
 */
async function coldStart(pkg, modelUrl, metaUrl, photoUrl, versions) {
  const controlled = await cachedByServiceWorker();
  const ours = await loadOurs(pkg, pageBuild, modelUrl, metaUrl, versions);
  const side = ours.meta.input.shape[3];
  const rgba = await inputPixels(photoUrl, side);
  const first = await classifyIn(ours, rgba, side, side);
  const { poolStartMs } = await startPoolOf(ours, pageBuild);
  return {
    fetchCompileMs: ours.fetchCompileMs,
    modelLoadMs: ours.modelLoadMs,
    setupSteps: ours.setupSteps,
    poolStartMs,
    firstInferenceMs: first.wallMs,
    // Photo preparation is not part of the engine's start-up, so it is left out.
    totalMs: ours.fetchCompileMs + ours.modelLoadMs + first.wallMs,
    label: first.label,
    controlled,
  };
}

/**
 * onnxruntime-web on `threads` threads, with the same input. Its thread count is fixed when its
 * wasm starts, so each count gets its own instance of the library (the query string).
 */
async function loadOrt(ortUrl, threads, modelUrl, tensor, shape) {
  const ort = await import(`${ortUrl}/ort.wasm.min.mjs?threads=${threads}`);
  ort.env.wasm.wasmPaths = `${ortUrl}/`;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  const t0 = now();
  const session = await ort.InferenceSession.create(`${modelUrl}`, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  return {
    session,
    feeds: { [session.inputNames[0]]: new ort.Tensor('float32', tensor, shape) },
    loadMs: now() - t0,
    version: ort.env.versions?.web ?? 'unknown',
  };
}

/**
 * TF.js's wasm backend on `threads` threads in its own worker, running the network
 * tfjs_export.py wrote from the same model, on the same input tensor.
 */
async function loadTfjs(tfjsUrl, networkUrl, weightsUrl, threads, tensor, shape) {
  const call = callerOf(new Worker(new URL('./tfjs-worker.js', import.meta.url)));
  const t0 = now();
  const info = await call('load', { tfjsUrl, networkUrl, weightsUrl, threads, tensor, shape });
  return { call, loadMs: now() - t0, threads, ...info };
}

/** The largest difference between two engines' logits on the same input. */
const maxDifference = (a, b) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));

/**
 * Loads every build of ours this browser runs and onnxruntime-web on the same model, with the
 * same input: on one thread, and on as many as our threaded build uses when the page can share
 * memory with workers.
 */
async function setup({ pkg, modelUrl, metaUrl, photoUrl, versions, ortUrl, tfjsUrl, tfjsNetworkUrl, tfjsWeightsUrl }) {
  state.ours = {};
  let ours;
  for (const [name, build] of Object.entries(runnableBuilds)) {
    ours = await loadOurs(pkg, build, modelUrl, metaUrl, versions);
    await startPoolOf(ours, build);
    state.ours[name] = ours;
  }
  const input = ours.meta.input;
  const side = input.shape[3];
  state.photoEngine = state.ours[pageBuild.name];
  state.side = side;
  state.rgba = await inputPixels(photoUrl, side);
  state.labels = ours.meta.labels;
  const tensor = toTensor(state.rgba, side, input);
  const threads = runnableBuilds.threads?.threads;
  state.ort = { ort: await loadOrt(ortUrl, 1, modelUrl, tensor, input.shape) };
  if (threads) state.ort[`ort_${threads}_threads`] = await loadOrt(ortUrl, threads, modelUrl, tensor, input.shape);
  state.tfjs = {};
  for (const n of threads ? [1, threads] : [1]) {
    state.tfjs[n === 1 ? 'tfjs' : `tfjs_${n}_threads`] = await loadTfjs(tfjsUrl, tfjsNetworkUrl, tfjsWeightsUrl, n, tensor, input.shape);
  }
  // The same network must give the same answer: TF.js's logits against onnxruntime-web's.
  const reference = await ortOutput('ort');
  const tfjsDifference = {};
  for (const name of Object.keys(state.tfjs)) {
    tfjsDifference[name] = maxDifference((await state.tfjs[name].call('run')).logits, reference.logits);
  }
  return {
    ortLoadMs: Object.fromEntries(Object.entries(state.ort).map(([name, o]) => [name, o.loadMs])),
    ortVersion: state.ort.ort.version,
    // Everything loadTfjs learnt about each instance but its message function.
    tfjs: Object.fromEntries(Object.entries(state.tfjs).map(([name, { call, ...about }]) => [name, {
      ...about, maxLogitDifference: tfjsDifference[name],
    }])),
    crossOriginIsolated: self.crossOriginIsolated,
    pageBuild: pageBuild.name,
    threads: Object.fromEntries(Object.entries(runnableBuilds).map(([name, b]) => [name, b.threads])),
  };
}

const runOurs = (name) => classifyIn(state.ours[name], state.rgba, state.side, state.side);

/** onnxruntime-web's `name` instance on the input: its time and food logits. */
async function ortOutput(name) {
  const { session, feeds } = state.ort[name];
  const t0 = now();
  const out = await session.run(feeds);
  return { wallMs: now() - t0, logits: out[session.outputNames[0]].data };
}

async function runOrt(name) {
  const { wallMs, logits } = await ortOutput(name);
  return { wallMs, label: topLabel(logits) };
}

/** The label of the largest logit. */
const topLabel = (logits) => state.labels[logits.indexOf(Math.max(...logits))];

async function runTfjs(name) {
  const { wallMs, logits } = await state.tfjs[name].call('run');
  return { wallMs, label: topLabel(logits) };
}

/**
 * `runs` rounds after `warmup`; each round runs every engine once, starting at a different one
 * each round, to cancel drift. Before each run the page waits `settleMs`, as between a person's
 * photos: a runtime's pool threads may go on spinning for a while after its own run, and on a
 * machine with few cores that would take the next engine's cores. Returns each
 * engine's runs by name (our builds, then onnxruntime-web's: `ort` and `ort_N_threads`, then
 * TF.js's: `tfjs` and `tfjs_N_threads`).
 */
async function warm(runs, warmup, settleMs) {
  const engines = [
    ...Object.keys(state.ours).map((name) => [name, () => runOurs(name)]),
    ...Object.keys(state.ort).map((name) => [name, () => runOrt(name)]),
    ...Object.keys(state.tfjs).map((name) => [name, () => runTfjs(name)]),
  ];
  const times = Object.fromEntries(engines.map(([name]) => [name, []]));
  for (let i = 0; i < warmup + runs; i++) {
    for (let k = 0; k < engines.length; k++) {
      const [name, run] = engines[(i + k) % engines.length];
      if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
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
  const r = await classifyIn(state.photoEngine, decoded.rgba, decoded.width, decoded.height);
  const t2 = now();
  return { totalMs: t2 - t0, decodeResizeMs: t1 - t0, inferenceMs: r.inferenceMs, label: r.label };
}

const e2eDone = () => state.e2e !== undefined;

function takeE2e() {
  const r = state.e2e;
  state.e2e = undefined;
  return r;
}

window.bench = { coldStart, setup, warm, armPhotoInput, e2eDone, takeE2e };
