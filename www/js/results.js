// Renders predictions, timings and errors into the results card. A photo the engine judged not
// food gets that said instead of a confident top class; its closest classes stay, dimmed.

import { barItem, percent } from './bars.js';

const $ = (id) => document.getElementById(id);
const ms = (value) => (value < 10 ? value.toFixed(1) : Math.round(value).toString());

let previewUrl = null;

// Counts finished photos (answers and errors) so tests and other modules can wait for the next one.
function finished() {
  const results = $('results');
  results.removeAttribute('aria-busy');
  results.dataset.count = String(Number(results.dataset.count || 0) + 1);
}

export function showPreview(blob, caption) {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(blob);
  const img = $('preview');
  img.hidden = false;
  img.alt = caption;
  // Formats the browser cannot show (HEIC on most browsers) just hide the preview.
  img.onerror = () => { img.hidden = true; };
  img.src = previewUrl;
  $('preview-caption').textContent = caption;
}

export function showBusy(name) {
  $('error').hidden = true;
  $('results').setAttribute('aria-busy', 'true');
  $('preview-caption').textContent = `Classifying ${name}…`;
}

/**
 * The "not food" notice in place of the top class, or nothing: it exists only while the shown
 * answer is not food, so its presence alone tells people, tests and screen readers.
 */
function showNotFood(result) {
  $('not-food')?.remove();
  const notFood = result?.not_food === true;
  document.querySelector('.top-line').hidden = notFood;
  const list = $('predictions');
  list.classList.toggle('dimmed', notFood);
  list.setAttribute('aria-label', notFood ? 'Closest food classes, if it is food' : 'Top five classes');
  if (!notFood) return;
  const box = document.createElement('div');
  box.id = 'not-food';
  box.className = 'not-food';
  box.dataset.testid = 'not-food';
  const title = document.createElement('p');
  title.className = 'not-food-title';
  title.textContent = 'This doesn\'t look like food';
  const detail = document.createElement('p');
  detail.className = 'muted small';
  detail.textContent = `Not-food score ${percent(result.not_food_score)}. If it is food, the closest classes are:`;
  box.append(title, detail);
  list.before(box);
}

/** The person's own model's answer beside ours, when one is loaded. */
function showOwn(result) {
  const box = $('own-answer');
  box.hidden = !result?.own && !result?.own_error;
  if (box.hidden) return;
  if (result.own_error) {
    $('own-top-label').textContent = 'could not classify it';
    $('own-detail').textContent = result.own_error;
    return;
  }
  const [top] = result.own.predictions;
  $('own-top-label').textContent = result.own.not_food ? 'not food' : `${top.label} ${percent(top.probability)}`;
  $('own-detail').textContent = `inference ${ms(result.own.timings.inference_ms)} ms`;
}

export function showResult(result, totalMs, name) {
  $('error').hidden = true;
  showOwn(result);
  const [top] = result.predictions;
  showNotFood(result);
  // No class is claimed for a photo that is not food, on screen or in the live announcement.
  $('top-label').textContent = result.not_food ? '—' : top.label;
  $('top-probability').textContent = result.not_food ? '' : percent(top.probability);
  const list = $('predictions');
  list.replaceChildren(...result.predictions.map((p) => barItem(p.label, p.probability)));
  const t = result.timings;
  $('decode-ms').textContent = ms(t.decode_ms);
  $('preprocess-ms').textContent = ms(t.preprocess_ms);
  $('inference-ms').textContent = ms(t.inference_ms);
  $('total-ms').textContent = ms(totalMs);
  $('decode-path').textContent = result.path === 'browser'
    ? `${result.width}×${result.height} photo, decoded and downscaled by the browser.`
    : `Decoded by the WebAssembly fallback to ${result.width}×${result.height} pixels.`;
  $('preview-caption').textContent = result.not_food
    ? `${name}: doesn't look like food (not-food score ${percent(result.not_food_score)})`
    : `${name}: ${top.label}, ${percent(top.probability)}`;
  finished();
}

// The engine's messages, said for people; anything else is shown as the engine words it.
const PLAIN = [
  [/^the image is truncated or corrupt/i, 'The file is damaged or incomplete (corrupt), so it cannot be read as a photo.'],
  [/^the file is empty/i, 'The file is empty.'],
  [/^this is not an image/i, 'This file is not an image. Choose a JPEG, PNG, WebP or GIF photo.'],
];

export function showError(message, name) {
  const box = $('error');
  const plain = PLAIN.find(([pattern]) => pattern.test(message))?.[1]
    // Engine messages start in lower case ("the image is too large: …"); make a sentence of them.
    ?? message.charAt(0).toUpperCase() + message.slice(1);
  const sentence = /[.!?]$/.test(plain) ? plain : `${plain}.`;
  box.textContent = name ? `Could not classify ${name}. ${sentence} Try another photo.` : sentence;
  for (const id of ['decode-ms', 'preprocess-ms', 'inference-ms', 'total-ms']) $(id).textContent = '—';
  $('decode-path').textContent = '';
  box.hidden = false;
  showNotFood(null);
  showOwn(null);
  $('top-label').textContent = '—';
  $('top-probability').textContent = '';
  $('predictions').replaceChildren();
  $('preview-caption').textContent = 'That photo could not be classified. Try another one.';
  finished();
}

/** The engine line: its build and how many threads run a photo (and how many are starting). */
export function showEngine({ build, threads, starting }) {
  const count = (n) => `${n} thread${n === 1 ? '' : 's'}`;
  $('engine').textContent = `wasm ${build}, ${count(threads)}${starting ? ` (${starting} starting)` : ''}`;
}

export function showColdStart(cold, readyMs, engine) {
  showEngine(engine);
  $('wasm-ms').textContent = ms(cold.wasm_ms);
  $('fetch-ms').textContent = ms(cold.fetch_ms);
  $('model-ms').textContent = ms(cold.model_ms);
  $('pool-ms').textContent = engine.starting ? 'starting' : 'none: one thread';
  $('thread-choice').textContent = engine.starting ? 'measured once the pool starts' : 'not measured: one thread';
  $('warmup-ms').textContent = ms(cold.warmup_ms);
  $('ready-ms').textContent = ms(readyMs);
}

/**
 * A threaded build's pool, started after ready and timed against one thread (or not started: the
 * engine stays on one thread).
 */
export function showThreadPool({ engine, pool_ms: poolMs, pool_error: poolError, choice }) {
  showEngine(engine);
  $('pool-ms').textContent = poolError ? `could not start (${poolError})` : `${ms(poolMs)} ms`;
  $('thread-choice').textContent = choice
    ? `${ms(choice.pool_ms)} ms on ${choice.threads} threads, ${ms(choice.one_ms)} ms on one: `
      + (engine.threads > 1 ? 'the pool is faster here, so photos run on it'
        : 'the pool is no faster here, so photos run on one thread')
      + (choice.again ? ' (measured again once the page had settled)' : '')
    : 'not measured: one thread';
}
