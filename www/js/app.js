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

const $ = (id) => document.getElementById(id);
// `?engine=relaxed-simd` or `?engine=simd128` runs that single-thread build where a faster one
// would be picked, to compare them.
const client = new ClassifierClient(new URL('./worker.js', import.meta.url), {
  engine: new URLSearchParams(location.search).get('engine'),
});
const status = $('status');

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

client.addEventListener('engine', ({ detail }) => showThreadPool(detail));

client.ready.then((info) => {
  const readyMs = performance.now(); // Since navigation start: page open to ready.
  setStatus('ready', 'Ready: give it a photo.');
  $('model-progress').closest('.load').dataset.done = '';
  $('progress-text').textContent = `Model ${(info.modelBytes / 1e6).toFixed(1)} MB, ${info.labels.length} classes.`;
  showColdStart(info.cold, readyMs, info.engine);
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
// they come from that cache. It waits for a threaded build's pool too: in Firefox, a worker that
// replaced a stalled one did not start while the service worker installed and claimed the page.
if ('serviceWorker' in navigator) {
  client.settled.catch(() => {}).then(() => navigator.serviceWorker.register('sw.js'))
    .then(() => navigator.serviceWorker.ready).then(() => {
      $('offline-state').textContent = 'Saved for offline use.';
    }).catch(() => {
      $('offline-state').textContent = 'Offline use is not available in this browser.';
    });
}
