// Several photos at once: classified one after another in the worker (so the page holds one
// photo's pixels at a time, plus a small thumbnail of each), shown in a grid with the top class
// and its probability, and exportable as CSV. Stop ends the run after the photo in progress.

const $ = (id) => document.getElementById(id);
const percent = (p) => `${(p * 100).toFixed(1)}%`;
const THUMB_SIDE = 160;

/** A small JPEG of the photo for the grid, or null where the browser cannot draw it (HEIC). */
async function thumbnail(file) {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = THUMB_SIDE / Math.min(bitmap.width, bitmap.height);
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.8));
    return blob ? URL.createObjectURL(blob) : null;
  } catch {
    return null;
  }
}

/** One CSV field, quoted when it holds a comma, a quote or a line break. */
function csvField(value) {
  const text = value == null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const CSV_COLUMNS = ['file', 'top_class', 'probability', 'not_food', 'not_food_score', 'inference_ms', 'error'];

/** The rows as a CSV document (header first), one line per photo. */
export function toCsv(rows) {
  return [CSV_COLUMNS, ...rows.map((r) => CSV_COLUMNS.map((c) => r[c]))]
    .map((fields) => fields.map(csvField).join(','))
    .join('\r\n') + '\r\n';
}

function tile(file) {
  const li = document.createElement('li');
  li.dataset.testid = 'grid-item';
  li.setAttribute('aria-busy', 'true');
  const img = document.createElement('img');
  img.alt = '';
  img.width = THUMB_SIDE;
  img.height = THUMB_SIDE;
  const name = document.createElement('span');
  name.className = 'grid-name';
  name.textContent = file.name;
  const answer = document.createElement('span');
  answer.className = 'grid-answer';
  answer.textContent = 'Waiting…';
  li.append(img, name, answer);
  return { li, img, answer };
}

export function setupPhotoGrid(client) {
  const root = $('photo-grid');
  const list = $('grid-list');
  const status = $('grid-status');
  const bar = $('grid-progress');
  const stop = $('grid-stop');
  const download = $('grid-csv');
  let run = 0;
  let rows = [];
  let urls = [];

  stop.addEventListener('click', () => { run += 1; });
  download.addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([toCsv(rows)], { type: 'text/csv' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'food-classifier-photos.csv';
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  });

  /** Classifies every file in turn into the grid, replacing an earlier grid. */
  return async function classifyAll(files) {
    if (files.length === 0) return;
    const mine = ++run;
    for (const url of urls) URL.revokeObjectURL(url);
    urls = [];
    rows = [];
    const tiles = files.map(tile);
    list.replaceChildren(...tiles.map((t) => t.li));
    root.hidden = false;
    bar.max = files.length;
    bar.value = 0;
    stop.hidden = false;
    download.disabled = true;
    root.setAttribute('aria-busy', 'true');
    status.textContent = `Classifying ${files.length} photos…`;
    let done = 0;
    for (const [i, file] of files.entries()) {
      if (mine !== run) break;
      const { li, img, answer } = tiles[i];
      const thumb = await thumbnail(file);
      if (thumb) {
        urls.push(thumb);
        img.src = thumb;
      }
      const row = { file: file.webkitRelativePath || file.name };
      try {
        const result = await client.classify(file);
        const [top] = result.predictions;
        Object.assign(row, {
          top_class: top.label, probability: top.probability.toFixed(4), not_food: result.not_food === true,
          not_food_score: result.not_food_score?.toFixed(4), inference_ms: result.timings.inference_ms.toFixed(1),
        });
        answer.textContent = result.not_food ? 'Not food' : `${top.label} ${percent(top.probability)}`;
        li.dataset.label = result.not_food ? 'not food' : top.label;
      } catch (error) {
        row.error = error.message;
        answer.textContent = 'Could not be read';
        li.dataset.label = 'error';
        li.title = error.message;
      }
      li.removeAttribute('aria-busy');
      rows.push(row);
      done += 1;
      if (mine === run) bar.value = done;
    }
    if (!list.contains(tiles[0].li)) return; // A newer run owns the grid now.
    for (const t of tiles.slice(done)) {
      t.li.removeAttribute('aria-busy');
      t.answer.textContent = 'Not classified';
    }
    root.removeAttribute('aria-busy');
    stop.hidden = true;
    download.disabled = rows.length === 0;
    status.textContent = done === files.length
      ? `Classified ${done} photos.`
      : `Stopped after ${done} of ${files.length} photos.`;
  };
}
