// The lab's server figures (data/server-models.json) in a table and a bar chart,
// with this browser's own measured times placed beside them.

const SVG = 'http://www.w3.org/2000/svg';
let data = null;
// The project's own server under the lab's load test (scripts/loadtest.py), when it has been run.
let loadtest = null;
let browser = { inferenceMs: null, totalMs: null, accuracy: null, modelMb: null };

const fmt = (value, digits = 2) => (value == null ? '—' : Number(value).toFixed(digits));
const pct = (value) => (value == null ? '—' : `${(value * 100).toFixed(1)}%`);
// The lab's accuracies are on Food-11's evaluation split; ours is on this project's own test
// photos, so the cell itself says so rather than only a footnote.
const ownAccuracy = () => (browser.accuracy == null ? '—' : `${pct(browser.accuracy)} (own test photos, not Food-11)`);

export async function setupServerPanel() {
  try {
    const [servers, model, sweep] = await Promise.all([
      fetch('data/server-models.json').then((r) => r.json()),
      fetch('models/model.json').then((r) => r.json()),
      fetch('data/loadtest.json').then((r) => (r.ok ? r.json() : null)).catch(() => null),
    ]);
    data = servers;
    loadtest = sweep;
    browser.accuracy = model.metrics?.test_accuracy ?? null;
    document.getElementById('server-source').textContent =
      'Source: the lab reports (A and B), transcribed in data/server-models.json. Response time = mean HTTP response under siege load; '
      + '"autoscaled" = the HPA run of report B. This project\'s server: scripts/loadtest.py (siege, loopback) on the machine in data/loadtest.json. This browser: the model\'s accuracy on this project\'s own test photos (not Food-11, so not comparable one-to-one with the lab\'s), and times measured just now on this device.';
    render();
  } catch {
    document.getElementById('server-source').textContent = 'The lab figures could not be loaded.';
  }
}

/** Called after every classification and once the model is in, so the browser row stays current. */
export function updateBrowserFigures(figures) {
  browser = { ...browser, ...figures };
  if (data) render();
}

function render() {
  renderTable();
  renderChart();
}

function cell(row, text, header = false) {
  const el = document.createElement(header ? 'th' : 'td');
  el.textContent = text;
  if (header) el.scope = 'col';
  row.append(el);
}

function renderTable() {
  const table = document.getElementById('server-table');
  const head = document.createElement('thead');
  const hr = head.insertRow();
  for (const h of ['Model', 'Base', 'Accuracy', 'Disk (MB)', 'Memory (MB)', 'Response, 1 pod (s)', 'tx/s, 1 pod',
    'Response, autoscaled (s)', 'tx/s, autoscaled']) cell(hr, h, true);
  const body = document.createElement('tbody');
  for (const m of data.models) {
    const r = body.insertRow();
    cell(r, `${m.name} (report ${m.report})`);
    cell(r, m.base ?? '—');
    cell(r, pct(m.eval_accuracy));
    cell(r, fmt(m.disk_mb, 1));
    cell(r, m.memory_loaded_mb ?? '—');
    cell(r, fmt(m.single_replica?.response_time_s));
    cell(r, fmt(m.single_replica?.transaction_rate));
    cell(r, fmt(m.hpa?.response_time_s));
    cell(r, fmt(m.hpa?.transaction_rate));
  }
  for (const level of loadtestLevels()) {
    const r = body.insertRow();
    r.className = 'project-server-row';
    cell(r, `food-classifier serve, ${clients(level)} (this project, ${loadtest.machine.cpus} cores)`);
    cell(r, 'MobileNetV2');
    cell(r, ownAccuracy());
    cell(r, '—');
    cell(r, level.server?.peak_rss_mb == null ? '—' : Math.round(level.server.peak_rss_mb));
    cell(r, fmt(level.response_time_s, 3));
    cell(r, fmt(level.transaction_rate, 1));
    cell(r, '—');
    cell(r, '—');
  }
  const r = body.insertRow();
  r.className = 'browser-row';
  cell(r, 'This browser (WebAssembly)');
  cell(r, 'MobileNetV2');
  cell(r, ownAccuracy());
  cell(r, fmt(browser.modelMb, 1));
  cell(r, '—');
  cell(r, browser.totalMs == null ? 'try a photo' : fmt(browser.totalMs / 1000, 3));
  cell(r, browser.totalMs == null ? '—' : fmt(1000 / browser.totalMs, 1));
  cell(r, '—');
  cell(r, '—');
  table.replaceChildren(head, body);
}

/** The sweep's levels worth a row: one client and the lab's busiest load we hold (16), if measured. */
function loadtestLevels() {
  return (loadtest?.levels ?? []).filter((level) => level.concurrency === 1 || level.concurrency === 16);
}

const clients = (level) => `${level.concurrency} client${level.concurrency === 1 ? '' : 's'}`;

function svg(name, attrs, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text != null) el.textContent = text;
  return el;
}

function renderChart() {
  const rows = [];
  for (const m of data.models.filter((x) => x.single_replica)) {
    const name = `${m.name.replace(/ \(.*\)$/, '')}${m.base ? ` (${m.base})` : ''}`;
    rows.push({ label: `${name}, 1 pod`, ms: m.single_replica.response_time_s * 1000, kind: 'server' });
    rows.push({ label: `${name}, autoscaled`, ms: m.hpa.response_time_s * 1000, kind: 'server' });
  }
  for (const level of loadtestLevels()) {
    rows.push({ label: `This project's server, ${clients(level)}`,
      ms: level.response_time_s * 1000, kind: 'project' });
  }
  if (browser.totalMs != null) rows.push({ label: 'This browser: photo to answer', ms: browser.totalMs, kind: 'browser' });
  if (browser.inferenceMs != null) rows.push({ label: 'This browser: inference', ms: browser.inferenceMs, kind: 'browser' });

  const labelW = 290;
  const barW = 420;
  const rowH = 26;
  const width = labelW + barW + 80;
  const height = rows.length * rowH + 30;
  const max = Math.max(...rows.map((r) => r.ms));
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': 'Response time in milliseconds: lab servers versus this browser' });
  chart.append(svg('title', {}, 'Response time (ms), lab servers and this browser'));
  rows.forEach((row, i) => {
    const y = i * rowH + 4;
    const w = Math.max(2, (row.ms / max) * barW);
    chart.append(
      svg('text', { x: labelW - 8, y: y + 14, 'text-anchor': 'end' }, row.label),
      svg('rect', { x: labelW, y, width: w, height: rowH - 8, rx: 3, class: `bar-${row.kind}` }),
      svg('text', { x: labelW + w + 6, y: y + 14, class: 'value' }, `${Math.round(row.ms)} ms`),
    );
  });
  const axisY = rows.length * rowH + 6;
  chart.append(
    svg('line', { x1: labelW, x2: labelW + barW, y1: axisY, y2: axisY, class: 'axis' }),
    svg('text', { x: labelW, y: axisY + 16, class: 'value' }, '0'),
    svg('text', { x: labelW + barW, y: axisY + 16, class: 'value', 'text-anchor': 'end' }, `${Math.round(max)} ms`),
  );
  document.getElementById('server-chart').replaceChildren(chart);
}
