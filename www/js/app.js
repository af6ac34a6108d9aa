// Wires the page together: inputs → worker → results, the load status, the server panel, offline.
import { ClassifierClient } from './classifier-client.js';
import { setupInputs } from './inputs.js';
import { setupCamera } from './camera.js';
import { showBusy, showColdStart, showError, showPreview, showResult, showThreadPool } from './results.js';
import { setupServerPanel, updateBrowserFigures } from './server-panel.js';
import { setupServerCompare } from './server-compare.js';
import { setupPhotoGrid } from './photo-grid.js';
import { setupFolderEvaluation } from './folder-eval.js';
import { setupOwnModel } from './own-model.js';
import { ASSET_VERSIONS } from './asset-versions.js';
import { recallPoolVerdict, rememberPoolVerdict } from './pool-verdict.js';
import './engine-build.js';

const $ = (id) => document.getElementById(id);
// The threaded build this browser could run, and what an earlier visit measured of its pool.
const threaded = self.engineBuild('threads');
const verdictFor = { version: ASSET_VERSIONS[self.THREADED_ENGINE_WASM]?.version ?? 'unversioned', threads: threaded.threads };
const earlier = threaded.name === 'threads' ? recallPoolVerdict(verdictFor) : null;
// `?engine=relaxed-simd` or `?engine=simd128` runs that single-thread build where a faster one
// would be picked, to compare them.
const client = new ClassifierClient(new URL('./worker.js', import.meta.url), {
  engine: new URLSearchParams(location.search).get('engine'),
  poolSlower: earlier?.pool === false,
});
const status = $('status');
/** The one-thread build that a device whose pool is no faster loads from its next visit on. */
const oneThreadWasm = self.engineBuild(undefined, { poolSlower: true }).wasm;

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

client.addEventListener('progress', ({ detail: { loaded, total } }) => {
  const mb = (n) => (n / 1e6).toFixed(1);
  const bar = $('model-progress');
  if (total) {
    bar.max = total;
    bar.value = loaded;
    $('progress-text').textContent = `Model: ${mb(loaded)} of ${mb(total)} MB`;
  } else {
    bar.removeAttribute('value'); // Unknown size: an indeterminate bar.
    $('progress-text').textContent = `Model: ${mb(loaded)} MB`;
  }
});

client.addEventListener('engine', ({ detail }) => {
  showThreadPool(detail);
  if (!detail.choice) return;
  const pool = detail.engine.threads > 1;
  const remember = () => rememberPoolVerdict({ pool, pool_ms: detail.choice.pool_ms, one_ms: detail.choice.one_ms }, verdictFor);
  // A verdict that sends the next visit to the one-thread build is kept once that build is saved
  // for offline use, so an offline visit never asks for a build the cache lacks.
  if (pool) remember();
  else keepForOffline(oneThreadWasm).then(remember, () => {});
});

client.ready.then((info) => {
  const readyMs = performance.now(); // Since navigation start: page open to ready.
  setStatus('ready', 'Ready: give it a photo.');
  $('model-progress').closest('.load').dataset.done = '';
  $('progress-text').textContent = `Model ${(info.modelBytes / 1e6).toFixed(1)} MB, ${info.labels.length} classes.`;
  showColdStart(info.cold, readyMs, info.engine, info.engine.pool_skipped ? earlier : null);
  if (info.engine.pool_skipped) keepForOffline(oneThreadWasm).catch(() => {});
  updateBrowserFigures({ modelMb: info.modelBytes / 1e6 });
}, (error) => {
  setStatus('failed', 'The classifier could not start.');
  showError(`The model could not be loaded: ${error.message} Reload the page to try again.`);
});

// One photo at a time; a newer photo replaces an older one still waiting.
let latest = 0;
async function classify(file) {
  const ticket = ++latest;
  const name = file.name || 'pasted photo';
  const t0 = performance.now();
  showPreview(file, name);
  showBusy(name);
  try {
    const result = await client.classify(file);
    if (ticket !== latest) return;
    const totalMs = performance.now() - t0;
    showResult(result, totalMs, name);
    updateBrowserFigures({ inferenceMs: result.timings.inference_ms, totalMs });
    document.dispatchEvent(new CustomEvent('food:classified', { detail: { file, result, totalMs } }));
  } catch (error) {
    if (ticket === latest) showError(error.message, name);
  }
}

setupInputs({
  onPhoto: classify,
  onPhotos: setupPhotoGrid(client),
  onFolder: setupFolderEvaluation(client),
  onModel: setupOwnModel(client),
  onError: showError,
});
setupCamera({
  button: $('camera-button'), panel: $('camera'), video: $('camera-video'),
  snap: $('camera-snap'), close: $('camera-close'), onPhoto: classify, onError: showError,
});
setupServerPanel();
setupServerCompare();

// The service worker is registered once the classifier has started, never beside it: its precache
// would otherwise download the wasm and the model while the worker streams the same URLs, and
// Chromium fails both downloads when such a shared HTTP cache entry cannot be written (seen in
// fresh private contexts with the 15 MB uncompressed wasm of a plain static host). After the start
// they come from that cache. Resolves to the active registration, or null without offline use.
const offline = 'serviceWorker' in navigator
  ? client.ready.catch(() => {}).then(() => navigator.serviceWorker.register('sw.js'))
    .then(() => navigator.serviceWorker.ready).catch(() => null)
  : Promise.resolve(null);
offline.then((registration) => {
  $('offline-state').textContent = registration ? 'Saved for offline use.' : 'Offline use is not available in this browser.';
});

/**
 * Asks the service worker to save a site file it left out of its precache (`path` from the site's
 * root): the one-thread build, once this device is known to load it instead of the threaded one.
 * Resolves once it is saved, or at once where there is no offline use.
 */
function keepForOffline(path) {
  return offline.then((registration) => registration && new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = ({ data }) => (data.ok ? resolve() : reject(new Error(data.error)));
    registration.active.postMessage({ type: 'keep', paths: [path] }, [channel.port2]);
  }));
}
