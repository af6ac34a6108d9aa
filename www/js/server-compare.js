// "Compare with a server": only when the person asks, sends the photo just classified in the
// browser to a `food-classifier serve` (this page's own origin, or a URL they typed, remembered in
// localStorage) and shows the server's top class (or that it judged the photo not food), its
// inference time and the round-trip time.

const STORAGE_KEY = 'food-classifier.server-url';
const ms = (value) => (value < 10 ? value.toFixed(1) : Math.round(value).toString());

function element(tag, attrs = {}, text = '') {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  if (text) el.textContent = text;
  return el;
}

function figure(label, testid) {
  const value = element('span', { 'data-testid': testid }, '—');
  const row = element('div');
  row.append(element('dt', {}, label), element('dd'));
  row.lastChild.append(value);
  return { row, value };
}

const percent = (p) => `${(p * 100).toFixed(1)}%`;

/** The server's verdict in the browser's terms: its top class, or that the photo is not food. */
function serverSays(answer) {
  const [top] = answer.predictions;
  return answer.not_food === true
    ? `Not food (score ${percent(answer.not_food_score)}; closest: ${top.label})`
    : `${top.label} (${percent(top.probability)})`;
}

/** The API base URL: what the person typed, else this page's own origin. */
function serverBase(typed) {
  const text = typed.trim();
  return new URL(text || './', text ? undefined : location.href);
}

export function setupServerCompare(root = document.getElementById('server-compare')) {
  if (!root) return;
  const heading = element('h3', { id: 'server-compare-title' }, 'Compare with a server');
  const hint = element('p', { class: 'muted small' },
    'Sends this photo to a food-classifier server only when you press the button: this page\'s own server, '
    + 'or the address you type (for example http://127.0.0.1:8080).');
  const input = element('input', {
    type: 'url', id: 'server-url', 'data-testid': 'server-url', placeholder: 'this page\'s server',
    'aria-label': 'Server address',
  });
  input.value = localStorage.getItem(STORAGE_KEY) ?? '';
  const button = element('button', { type: 'button', class: 'button', 'data-testid': 'server-compare-button', disabled: '' },
    'Ask the server too');
  const label = figure('Server says', 'server-top-label');
  const inference = figure('Server inference (ms)', 'server-inference-ms');
  const roundTrip = figure('Round trip (ms)', 'server-roundtrip-ms');
  const list = element('dl');
  list.append(label.row, inference.row, roundTrip.row);
  const error = element('p', { class: 'error', role: 'alert', 'data-testid': 'server-error', hidden: '' });
  const controls = element('div', { class: 'server-compare-controls' });
  controls.append(input, button);
  root.setAttribute('aria-labelledby', heading.id);
  root.replaceChildren(heading, hint, controls, list, error);

  let photo = null;
  document.addEventListener('food:classified', ({ detail }) => {
    photo = detail.file;
    button.disabled = false;
    for (const f of [label, inference, roundTrip]) f.value.textContent = '—';
  });

  button.addEventListener('click', async () => {
    if (!photo) return;
    error.hidden = true;
    button.disabled = true;
    root.setAttribute('aria-busy', 'true');
    try {
      const base = serverBase(input.value);
      if (input.value.trim()) localStorage.setItem(STORAGE_KEY, input.value.trim());
      else localStorage.removeItem(STORAGE_KEY);
      const form = new FormData();
      form.append('file', photo, photo.name || 'photo.jpg');
      const t0 = performance.now();
      const reply = await fetch(new URL('api/classify?top=1', base), { method: 'POST', body: form });
      const answer = await reply.json().catch(() => ({ error: `${reply.status} ${reply.statusText}` }));
      const roundTripMs = performance.now() - t0;
      if (!reply.ok) throw new Error(answer.error || `the server answered ${reply.status}`);
      label.value.textContent = serverSays(answer);
      inference.value.textContent = ms(answer.timings.inference_ms);
      roundTrip.value.textContent = ms(roundTripMs);
    } catch (failure) {
      error.textContent = `The server could not classify the photo: ${failure.message}`;
      error.hidden = false;
    } finally {
      root.removeAttribute('aria-busy');
      button.disabled = false;
    }
  });
}
