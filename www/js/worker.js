// The inference worker: owns the wasm engine and the models so the page never blocks: ours, and
// the person's own when they gave one, which then answers beside ours everywhere.
// Messages in: {type:'classify', id, blob}, {type:'evaluate', id, entries: [{file, path}]},
// {type:'cancel', id}, {type:'own-load', id, model, metadata}, {type:'own-forget'}.
// Out: progress, ready, engine (after ready: a threaded build's pool started and was timed
// against one thread, then timed again a few seconds later; or it could not start),
// failed, result, error, evaluation-start, evaluation-photo (one per photo), evaluation-done (the
// reports), own-ready.
import './engine-build.js';
import { loadEngine, startPool } from './engine-load.js';
import { ASSET_VERSIONS } from './asset-versions.js';
import { decodeToRgba, sniffDimensions } from './decode.js';
import { fetchWithProgress } from './model-fetch.js';
import { choosePool, untilMeasureAgain } from './thread-choice.js';

const TOP_K = 5;
const MODEL = 'models/food11-mobilenetv2.onnx';
// Above this many pixels the browser's full-size bitmap (4 bytes a pixel) would cost a tab more
// than the engine's whole memory budget, so such photos go straight to the wasm decoder, which
// decodes JPEGs at 1/8 scale (108 and 200 MP phone photos) and refuses others naming its limit.
const MAX_PIXELS = 50_000_000;
let engine = null; // The engine build's JS bindings, once loaded.
let classifier = null;
let own = null;

/** A site file's URL (`path` from the site's root), versioned when the build gave it a version. */
function asset(path) {
  const version = ASSET_VERSIONS[path]?.version;
  return new URL(`../${path}${version ? `?v=${version}` : ''}`, import.meta.url);
}

/** tract's first run sizes its scratch buffers (about 4x a warm run): pay it before any photo. */
function warmUp(model) {
  const side = model.resizeShorterSide;
  model.classifyRgba(new Uint8Array(side * side * 4), side, side, 1);
}

async function start() {
  const t0 = performance.now();
  // The page may ask for a build by name (its `?engine=simd128`, in this worker's name) to compare
  // them; the browser decides whether it can run it.
  const build = self.engineBuild(/\bengine=(\S+)/.exec(self.name)?.[1]);
  // `pool=off`: a threaded build stays on this thread (the page restarted the engine after its
  // pool start never answered).
  const pool = build.threads > 1 && !/\bpool=off\b/.test(self.name);
  // The model downloads while the engine compiles.
  const files = Promise.all([
    fetchWithProgress(asset(MODEL), (loaded, total) => postMessage({ type: 'progress', loaded, total }),
      ASSET_VERSIONS[MODEL]?.bytes),
    fetch(asset('models/model.json')).then((r) => {
      if (!r.ok) throw new Error(`Could not download model.json (HTTP ${r.status}).`);
      return r.text();
    }),
  ]);
  files.catch(() => {}); // awaited below; until then a failed download must not go unhandled
  engine = await loadEngine(asset(build.glue), asset(build.wasm));
  const t1 = performance.now();
  const [model, metadata] = await files;
  const t2 = performance.now();
  classifier = new engine.FoodClassifier(model, metadata);
  const t3 = performance.now();
  warmUp(classifier);
  const t4 = performance.now();
  postMessage({
    type: 'ready',
    labels: classifier.labels,
    modelBytes: model.length,
    engine: { name: build.name, build: build.simd, threads: 1, starting: pool ? build.threads : 0 },
    cold: { wasm_ms: t1 - t0, fetch_ms: t2 - t1, model_ms: t3 - t2, warmup_ms: t4 - t3, total_ms: t4 - t0 },
  });
  if (pool) startThreads(build);
}

/**
 * A threaded build's pool, started once the page is ready: photos until then run on this thread.
 * Then one photo's time on the pool and on this thread alone are measured, and the faster kept;
 * measured again a few seconds later, once the browser has settled. The page hears how many
 * threads run a photo and why after each measurement, or that the pool could not start (one
 * thread stays).
 */
async function startThreads(build) {
  const t0 = performance.now();
  try {
    await startPool(engine, build.threads);
    const poolMs = performance.now() - t0;
    warmUp(classifier); // the pool's threads size their own scratch space on their first run
    const measure = async (again) => {
      const choice = await choosePool(() => warmUp(classifier), (on) => engine.useThreadPool(on));
      postMessage({
        type: 'engine',
        engine: { build: build.simd, threads: choice.pool ? build.threads : 1 },
        pool_ms: poolMs,
        choice: { threads: build.threads, pool_ms: choice.pool_ms, one_ms: choice.one_ms, again },
      });
    };
    await measure(false);
    await untilMeasureAgain();
    await measure(true);
  } catch (error) {
    engine.useThreadPool(false);
    postMessage({ type: 'engine', engine: { build: build.simd, threads: 1 }, pool_error: error?.message || String(error) });
  }
}

/**
 * The person's own model (a File or Blob, refused by size before it is read), replacing an
 * earlier one; a model that fails to load leaves none.
 */
async function loadOwn({ id, model, metadata }) {
  own?.free();
  own = null;
  engine.checkModelSize(model.size);
  const t0 = performance.now();
  const loaded = new engine.FoodClassifier(new Uint8Array(await model.arrayBuffer()), metadata);
  warmUp(loaded);
  own = loaded;
  postMessage({ type: 'own-ready', id, labels: own.labels, load_ms: performance.now() - t0 });
}

/** One model's answer for the decoded photo, or for its bytes when the browser could not decode it. */
function answer(model, decoded, bytes) {
  if (!decoded) return { ...model.classifyImage(bytes, TOP_K), path: 'wasm' };
  const result = model.classifyRgba(decoded.rgba, decoded.width, decoded.height, TOP_K);
  result.width = decoded.originalWidth;
  result.height = decoded.originalHeight;
  return { ...result, path: 'browser' };
}

/**
 * Ours, plus `own` (or `own_error`) when the person's model is loaded. `browserDecode: false`
 * leaves decoding and resizing to the engine, as the command line does, pixel for pixel.
 */
async function classify(blob, { browserDecode = true } = {}) {
  const shorter = Math.max(classifier.resizeShorterSide, own?.resizeShorterSide ?? 0);
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let decoded = null;
  const t0 = performance.now();
  if (browserDecode && bytes.length > 0) {
    const dims = sniffDimensions(bytes);
    const tooBig = dims && dims.width * dims.height > MAX_PIXELS;
    // A file cut short goes to the engine, which names the fault, never to a browser that might
    // paint the missing half grey and let it be classified.
    if (!tooBig && !engine.isCutShort(bytes)) {
      try {
        decoded = await decodeToRgba(blob, shorter);
      } catch {
        decoded = null; // The browser could not read it: let the wasm decoder try, and explain.
      }
    }
  }
  const browserDecodeMs = performance.now() - t0;
  const result = answer(classifier, decoded, bytes);
  if (decoded) result.timings.decode_ms = browserDecodeMs;
  if (own) {
    try {
      result.own = answer(own, decoded, bytes);
    } catch (error) {
      result.own_error = error?.message || String(error);
    }
  }
  return result;
}

const ready = start().catch((error) => {
  postMessage({ type: 'failed', message: error?.message || String(error) });
  throw error;
});

// Folder evaluations asked to stop; checked between photos.
const cancelled = new Set();

/**
 * Classifies every photo of a picked folder whose path names a class, one at a time (one photo's
 * pixels in memory), tallying in the engine by the command line's rules; reports each photo as it
 * is done and the report at the end.
 */
async function evaluate({ id, entries }) {
  const evaluation = classifier.startEvaluation();
  // The person's model is tallied by its own labels, on the photos whose path names one of them.
  const ownModel = own;
  const ownEvaluation = ownModel?.startEvaluation();
  const photos = [];
  for (const [index, entry] of entries.entries()) {
    const truth = classifier.classOfPath(entry.path);
    if (truth !== undefined) photos.push({ ...entry, index, truth });
  }
  postMessage({ type: 'evaluation-start', id, total: photos.length, skipped: entries.length - photos.length });
  try {
    for (const photo of photos) {
      if (cancelled.has(id)) break;
      const t0 = performance.now();
      const record = { type: 'evaluation-photo', id, index: photo.index, path: photo.path, truth: photo.truth };
      try {
        // The engine decodes, as `eval` does: the figures must be the command line's.
        const result = await classify(photo.file, { browserDecode: false });
        const [top] = result.predictions;
        const notFood = result.not_food === true;
        evaluation.add(photo.truth, top.index, notFood);
        Object.assign(record, { predicted: top.index, probability: top.probability, not_food: notFood });
        const ownTruth = ownModel?.classOfPath(photo.path);
        if (ownTruth !== undefined && result.own && ownModel === own) {
          const [ownTop] = result.own.predictions;
          ownEvaluation.add(ownTruth, ownTop.index, result.own.not_food === true);
          Object.assign(record, { own_truth: ownTruth, own_predicted: ownTop.index, own_probability: ownTop.probability,
            own_not_food: result.own.not_food === true });
        } else if (ownTruth !== undefined && result.own_error) {
          ownEvaluation.addFailure(photo.path, result.own_error);
        }
      } catch (error) {
        const message = error?.message || String(error);
        evaluation.addFailure(photo.path, message);
        if (ownModel?.classOfPath(photo.path) !== undefined) ownEvaluation.addFailure(photo.path, message);
        record.error = message;
      }
      record.ms = performance.now() - t0;
      postMessage(record);
    }
    postMessage({
      type: 'evaluation-done', id, report: evaluation.report(), own_report: ownEvaluation?.report(), cancelled: cancelled.has(id),
    });
  } finally {
    cancelled.delete(id);
    evaluation.free();
    ownEvaluation?.free();
  }
}

// The person's model changes in the order the page asked for the changes, and a photo or folder
// sent after a change is answered by the model as it stands after it (a page that restarts this
// worker sends the model and the waiting photos together).
let ownChanges = Promise.resolve();
function changeOwn(change) {
  const done = ownChanges.then(change);
  ownChanges = done.catch(() => {});
  return done;
}

self.onmessage = async ({ data }) => {
  if (data.type === 'cancel') {
    cancelled.add(data.id);
    return;
  }
  if (data.type === 'own-forget') {
    changeOwn(() => {
      own?.free();
      own = null;
    });
    return;
  }
  try {
    await ready;
    if (data.type === 'own-load') {
      await changeOwn(() => loadOwn(data));
      return;
    }
    await ownChanges;
    if (data.type === 'evaluate') {
      await evaluate(data);
      return;
    }
    if (data.type !== 'classify') return;
    const t0 = performance.now();
    const result = await classify(data.blob);
    postMessage({ type: 'result', id: data.id, result, worker_ms: performance.now() - t0 });
  } catch (error) {
    postMessage({ type: 'error', id: data.id, message: error?.message || String(error) });
  }
};
