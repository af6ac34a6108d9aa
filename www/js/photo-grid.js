// Several photos at once: classified one after another in the worker (so the page holds one
// photo's pixels at a time, plus a small thumbnail of each), shown in a grid with the top class
// and its probability, and exportable as CSV. Stop ends the run after the photo in progress.

import { percent } from './bars.js';
import { THUMB_SIDE, download, thumbnail, toCsv } from './files.js';

const $ = (id) => document.getElementById(id);
const CSV_COLUMNS = ['file', 'top_class', 'probability', 'not_food', 'not_food_score', 'inference_ms', 'error'];

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
  const csv = $('grid-csv');
  let run = 0;
  let rows = [];
  let urls = [];

  stop.addEventListener('click', () => { run += 1; });
  csv.addEventListener('click', () => download('food-classifier-photos.csv', toCsv(CSV_COLUMNS, rows), 'text/csv'));

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
    csv.disabled = true;
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
    csv.disabled = rows.length === 0;
    status.textContent = done === files.length
      ? `Classified ${done} photos.`
      : `Stopped after ${done} of ${files.length} photos.`;
  };
}
