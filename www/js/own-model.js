// "Your own model": an ONNX file of the person's, with its model.json or a short description of
// its input, loaded into the same worker and engine as ours so that every photo and folder
// evaluation answers with both. It is kept in this browser (IndexedDB) so it survives a reload and
// works offline, until the person forgets it.

const $ = (id) => document.getElementById(id);
const DATABASE = 'food-classifier';
const STORE = 'own-model';
const KEY = 'current';

/** Pixel value conventions: what a byte becomes before the network sees it. */
const PRESETS = {
  torchvision: { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  'keras-mobilenet': { scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }, // x / 127.5 - 1
  'keras-01': { scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
};

function database() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Runs `action` on the store in one transaction; resolves with its request's result. */
async function withStore(mode, action) {
  const db = await database();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = action(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

/** model.json for a model described by the form (the file had none beside it). */
function describedMetadata(name, form) {
  const size = form.size;
  const labels = form.labels.split('\n').map((l) => l.trim()).filter(Boolean);
  return JSON.stringify({
    name,
    labels,
    input: {
      shape: form.layout === 'NHWC' ? [1, size, size, 3] : [1, 3, size, size],
      layout: form.layout,
      crop: form.crop,
      // torchvision's recipe: resize to 256 for a 224 crop, the same ratio at other sizes.
      resize_shorter_side: form.crop === 'center' ? Math.round((size * 256) / 224) : size,
      ...PRESETS[form.preset],
    },
  });
}

export function setupOwnModel(client) {
  const input = $('own-input');
  const status = $('own-status');
  const forget = $('own-forget');
  const labels = $('own-labels');

  function say(text, failed = false) {
    status.textContent = text;
    status.classList.toggle('error', failed);
    status.setAttribute('role', failed ? 'alert' : 'status');
  }

  function loaded(name, info, from) {
    for (const el of document.querySelectorAll('[data-own-name]')) el.textContent = name;
    say(`${name}: ${info.labels.length} classes, loaded in ${Math.round(info.load_ms)} ms ${from}. `
      + 'It answers beside ours for every photo and folder.');
    forget.hidden = false;
  }

  function cleared() {
    forget.hidden = true;
  }

  async function load(model, metadata, name) {
    say(`Loading ${name}…`);
    try {
      const info = await client.loadOwn(model, metadata);
      let where = 'and kept in this browser';
      try {
        await withStore('readwrite', (store) => store.put({ name, model, metadata }, KEY));
      } catch {
        where = '(this browser would not keep it: it will be gone after a reload)';
      }
      loaded(name, info, where);
    } catch (error) {
      cleared();
      say(`Could not load ${name}: ${error.message}`, true);
    }
  }

  /** Loads the .onnx among `files`, with the model.json among them or the form's description. */
  async function loadFiles(files) {
    const onnx = files.find((f) => /\.onnx$/i.test(f.name)) ?? files.find((f) => !/\.json$/i.test(f.name));
    const json = files.find((f) => /\.json$/i.test(f.name));
    if (!onnx) {
      say('Choose the .onnx file (and its model.json, if it has one).', true);
      return;
    }
    const metadata = json ? await json.text() : describedMetadata(onnx.name, {
      labels: labels.value, size: Number($('own-size').value), layout: $('own-layout').value,
      crop: $('own-crop').value, preset: $('own-preset').value,
    });
    await load(onnx, metadata, onnx.name);
  }

  input.addEventListener('change', () => {
    const files = [...input.files];
    input.value = '';
    loadFiles(files);
  });

  forget.addEventListener('click', async () => {
    client.forgetOwn();
    cleared();
    try {
      await withStore('readwrite', (store) => store.delete(KEY));
      say('Forgotten: only our model answers now.');
    } catch (error) {
      say(`Could not remove the stored model: ${error.message}`, true);
    }
  });

  // The form's labels start as ours; once ready, bring back a model kept from an earlier visit.
  client.ready.then(async (info) => {
    if (!labels.value) labels.value = info.labels.join('\n');
    const kept = await withStore('readonly', (store) => store.get(KEY)).catch(() => null);
    if (!kept) return;
    say(`Loading ${kept.name} from this browser…`);
    try {
      loaded(kept.name, await client.loadOwn(kept.model, kept.metadata), 'from this browser');
    } catch (error) {
      say(`The model kept in this browser (${kept.name}) could not be loaded: ${error.message}`, true);
    }
  }, () => {});
  return loadFiles;
}
