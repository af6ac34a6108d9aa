// "Evaluate a labelled folder": every photo of a picked or dropped folder classified in the worker,
// tallied by the engine with the command line's `eval` rules (so the figures are the same), with
// progress, photos per second, an ETA and Cancel; then accuracy per class, the confusion matrix
// (a cell lists its photos), latency beside the lab's servers, and CSV and JSON exports.
// The page keeps File handles and one small record per photo, never the decoded photos.

import { barItem, percent } from './bars.js';
import { THUMB_SIDE, download, thumbnail, toCsv } from './files.js';

const $ = (id) => document.getElementById(id);
// The folder's overall figures, as the command line's readers expect them: "90.7 %".
const spacedPercent = (p) => `${(p * 100).toFixed(1)} %`;
const CSV_COLUMNS = ['file', 'true_class', 'predicted_class', 'probability', 'not_food', 'ms', 'error'];
// Photos listed for one confusion cell (thumbnails are made when the cell is opened).
const CELL_PHOTOS = 60;

/** Every file under the dropped directories, with its path from the dropped folder's name. */
async function filesFromDrop(entries) {
  const out = [];
  async function walk(entry, prefix) {
    const path = `${prefix}${entry.name}`;
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path });
      return;
    }
    const reader = entry.createReader();
    // readEntries hands over a directory in batches until it returns an empty one.
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) break;
      for (const child of batch) await walk(child, `${path}/`);
    }
  }
  for (const entry of entries) await walk(entry, '');
  return out;
}

function quantile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function clock(seconds) {
  if (!Number.isFinite(seconds)) return '…';
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

export function setupFolderEvaluation(client) {
  const input = $('folder-input');
  const run = $('eval-run');
  const status = $('eval-status');
  const count = $('eval-count');
  const bar = $('eval-progress');
  const cancelButton = $('eval-cancel');
  const results = $('eval-results');
  let records = [];
  let report = null;
  let ownReport = null;
  let cancel = null;
  let labFigures = null;
  fetch('data/server-models.json').then((r) => r.json()).then((data) => {
    const times = data.models.map((m) => m.single_replica?.response_time_s).filter((t) => t != null);
    if (times.length) labFigures = { min: Math.min(...times), max: Math.max(...times) };
  }).catch(() => {});

  function showSummary() {
    const ms = records.filter((r) => r.ms != null && !r.error).map((r) => r.ms).sort((a, b) => a - b);
    $('eval-accuracy').textContent = spacedPercent(report.accuracy);
    $('eval-images').textContent = String(report.images);
    const parts = [];
    if (report.not_food_threshold != null) parts.push(`${report.not_food} judged not food (counted wrong)`);
    if (report.failed.length) parts.push(`${report.failed.length} could not be read`);
    $('eval-summary').textContent = parts.map((p) => `· ${p}`).join(' ');
    const lab = labFigures
      ? ` The lab's servers took ${labFigures.min.toFixed(2)}–${labFigures.max.toFixed(2)} s per request under load (one pod), whole HTTP round trips.`
      : '';
    $('eval-latency').textContent = ms.length
      ? `Per photo in this browser (decode and inference): median ${Math.round(quantile(ms, 0.5))} ms, p90 ${Math.round(quantile(ms, 0.9))} ms.${lab}`
      : '';
  }

  /** Accuracy per class of `report` as bars in `list`. */
  function showClasses(report, list) {
    list.replaceChildren(...report.labels.filter((l) => l in report.per_class)
      .map((label) => barItem(label, report.per_class[label])));
  }

  /** Lists the photos of one confusion cell of `report` (`key`: '' for ours, 'own_' for theirs). */
  async function showCell(report, key, truth, predicted) {
    const box = $('eval-cell');
    const names = report.labels;
    const notFoodColumn = predicted === names.length;
    const photos = records.filter((r) => !r.error && r[`${key}truth`] === truth && r[`${key}predicted`] !== undefined
      && (notFoodColumn ? r[`${key}not_food`] : r[`${key}predicted`] === predicted));
    const whose = key ? 'Your model: ' : '';
    $('eval-cell-title').textContent = notFoodColumn
      ? `${whose}${names[truth]} photos judged not food (${photos.length})`
      : `${whose}${names[truth]} photos called ${names[predicted]} (${photos.length})`;
    const list = $('eval-cell-photos');
    for (const img of list.querySelectorAll('img[src]')) URL.revokeObjectURL(img.src);
    const items = photos.slice(0, CELL_PHOTOS).map((r) => {
      const li = document.createElement('li');
      const img = document.createElement('img');
      img.alt = r.path;
      img.width = THUMB_SIDE;
      img.height = THUMB_SIDE;
      const caption = document.createElement('span');
      caption.className = 'grid-name';
      caption.textContent = `${r.path.split('/').pop()} · ${percent(r[`${key}probability`])}`;
      li.append(img, caption);
      return { li, img, r };
    });
    list.replaceChildren(...items.map((i) => i.li));
    box.hidden = false;
    for (const { img, r } of items) {
      const url = await thumbnail(r.file);
      if (url) img.src = url;
    }
  }

  /** The confusion heat map of `report` in `table`; its cells open their photos. */
  function showConfusion(report, key, table) {
    const labels = report.labels;
    const head = table.createTHead();
    head.replaceChildren();
    const hr = head.insertRow();
    const corner = document.createElement('th');
    corner.textContent = 'true \\ top class';
    hr.append(corner);
    const columns = [...labels, ...(report.not_food_threshold != null ? ['not food'] : [])];
    for (const label of columns) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = label;
      hr.append(th);
    }
    const body = document.createElement('tbody');
    report.confusion.forEach((row, truth) => {
      const total = row.reduce((a, b) => a + b, 0);
      if (!total) return;
      const tr = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = labels[truth];
      tr.append(th);
      const cells = report.not_food_threshold != null ? [...row, report.not_food_by_class[truth]] : row;
      cells.forEach((count, predicted) => {
        const td = tr.insertCell();
        // The heat: the cell's share of its row, on the diagonal in green, elsewhere in red, as a
        // tint of at most 45 % so the number on it keeps its contrast.
        td.className = predicted === truth ? 'hit' : 'miss';
        td.style.setProperty('--share', `${Math.round((count / total) * 45)}%`);
        if (!count) {
          td.textContent = '0';
          return;
        }
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = String(count);
        button.setAttribute('aria-label', `${count} ${labels[truth]} photos: ${columns[predicted]}`);
        button.addEventListener('click', () => showCell(report, key, truth, predicted));
        td.append(button);
      });
    });
    table.querySelector('tbody')?.remove();
    table.append(body);
  }

  function finish(message) {
    cancel = null;
    cancelButton.hidden = true;
    run.removeAttribute('aria-busy');
    status.textContent = message;
    count.textContent = '';
    results.dataset.testid = 'eval-done';
    if (!report) return;
    showSummary();
    showClasses(report, $('eval-classes'));
    showConfusion(report, '', $('eval-confusion'));
    $('eval-own').hidden = !ownReport;
    if (ownReport) {
      $('eval-own-accuracy').textContent = spacedPercent(ownReport.accuracy);
      $('eval-own-summary').textContent = `right on ${ownReport.images} photos named by its labels`
        + (ownReport.failed.length ? ` · ${ownReport.failed.length} could not be read` : '');
      showClasses(ownReport, $('eval-own-classes'));
      showConfusion(ownReport, 'own_', $('eval-own-confusion'));
    }
    $('eval-cell').hidden = true;
    results.hidden = false;
  }

  async function evaluate(entries) {
    cancel?.();
    records = [];
    report = null;
    ownReport = null;
    results.hidden = true;
    delete results.dataset.testid;
    run.hidden = false;
    run.setAttribute('aria-busy', 'true');
    cancelButton.hidden = false;
    bar.value = 0;
    status.textContent = `Reading ${entries.length} files…`;
    let total = 0;
    let skipped = 0;
    let started = 0;
    const stop = client.evaluate(entries, (message) => {
      if (cancel !== stop) return; // A newer run replaced this one.
      if (message.type === 'evaluation-start') {
        ({ total, skipped } = message);
        bar.max = Math.max(1, total);
        started = performance.now();
        if (!total) {
          report = null;
          finish(`No photos in class folders (or Food-11's training/validation/evaluation folders) among ${entries.length} files.`);
        }
      } else if (message.type === 'evaluation-photo') {
        records.push({ ...message, file: entries[message.index].file });
        const done = records.length;
        bar.value = done;
        const rate = done / ((performance.now() - started) / 1000);
        count.textContent = `${done} of ${total}`;
        status.textContent = `photos · ${rate.toFixed(1)} photos/s · about ${clock((total - done) / rate)} left`;
      } else if (message.type === 'evaluation-done') {
        report = message.report;
        ownReport = message.own_report ?? null;
        const rate = records.length / ((performance.now() - started) / 1000);
        const note = skipped ? ` ${skipped} other files were left out.` : '';
        finish(message.cancelled
          ? `Cancelled after ${records.length} of ${total} photos; the figures are for those.${note}`
          : `Evaluated ${records.length} photos at ${rate.toFixed(1)} photos/s.${note}`);
      } else if (message.type === 'error') {
        finish(`The evaluation could not run: ${message.message}`);
      }
    });
    cancel = stop;
  }

  cancelButton.addEventListener('click', () => cancel?.());
  input.addEventListener('change', () => {
    const entries = [...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
    input.value = '';
    if (entries.length) evaluate(entries);
  });
  $('eval-csv').addEventListener('click', () => {
    const names = report.labels;
    const rows = records.map((r) => ({
      file: r.path, true_class: names[r.truth], predicted_class: r.error ? '' : names[r.predicted],
      probability: r.error ? '' : r.probability.toFixed(4), not_food: r.error ? '' : r.not_food,
      ms: r.ms.toFixed(1), error: r.error ?? '',
      own_predicted_class: ownReport?.labels[r.own_predicted] ?? '', own_probability: r.own_probability?.toFixed(4) ?? '',
    }));
    const columns = ownReport ? [...CSV_COLUMNS, 'own_predicted_class', 'own_probability'] : CSV_COLUMNS;
    download('food-classifier-eval.csv', toCsv(columns, rows), 'text/csv');
  });
  $('eval-json').addEventListener('click', () => {
    download('food-classifier-eval.json', `${JSON.stringify(report, null, 2)}\n`, 'application/json');
  });

  /** Evaluates dropped directories (their entries, taken while the drop event lasts). */
  return async function evaluateDropped(directoryEntries) {
    status.textContent = 'Reading the folder…';
    run.hidden = false;
    try {
      evaluate(await filesFromDrop(directoryEntries));
    } catch (error) {
      finish(`The folder could not be read: ${error.message}`);
    }
  };
}
