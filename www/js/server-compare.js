// "Compare with a server": only when the person asks, sends the photo just classified in the
// browser to a `food-classifier serve` (this page's own origin, or a URL they typed, remembered in
// localStorage) and shows the server's top class (or that it judged the photo not food), its
// inference time and the round-trip time.

import { percent } from './bars.js';

const STORAGE_KEY = 'food-classifier.server-url';
const ms = (value) => (value < 10 ? value.toFixed(1) : Math.round(value).toString());

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
  const find = (testid) => root.querySelector(`[data-testid="${testid}"]`);
  const input = find('server-url');
  const button = find('server-compare-button');
  const error = find('server-error');
  const figures = ['server-top-label', 'server-inference-ms', 'server-roundtrip-ms'].map(find);
  const [label, inference, roundTrip] = figures;
  input.value = localStorage.getItem(STORAGE_KEY) ?? '';

  let photo = null;
  document.addEventListener('food:classified', ({ detail }) => {
    photo = detail.file;
    button.disabled = false;
    for (const f of figures) f.textContent = '—';
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
      label.textContent = serverSays(answer);
      inference.textContent = ms(answer.timings.inference_ms);
      roundTrip.textContent = ms(roundTripMs);
    } catch (failure) {
      error.textContent = `The server could not classify the photo: ${failure.message}`;
      error.hidden = false;
    } finally {
      root.removeAttribute('aria-busy');
      button.disabled = false;
    }
  });
}
