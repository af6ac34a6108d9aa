// Several photos at once: a grid of answers (the same as one photo at a time gives), a plain
// failure for a broken file among them, a CSV of the run, and Stop ending a run early.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BAD, GOLDEN, ROOT, openReady, serverAndBrowser } from './harness.mjs';

const session = serverAndBrowser();
const golden = JSON.parse(readFileSync(path.join(ROOT, 'tests/fixtures/golden.json'), 'utf8'));
const { threshold } = JSON.parse(readFileSync(path.join(ROOT, 'models/model.json'), 'utf8')).not_food;
// What the engine answers for a golden photo: its top class, or "not food" when it is flagged.
const expected = (file) => {
  const g = golden.find((entry) => entry.file === `golden/${file}`);
  return g.not_food_score >= threshold ? 'not food' : g.top5[0][0];
};

/** Captures every Blob the page turns into a URL (the CSV download is one). */
async function captureBlobs(page) {
  await page.evaluate(() => {
    const original = URL.createObjectURL;
    window.capturedBlobs = [];
    URL.createObjectURL = (blob) => { window.capturedBlobs.push(blob); return original(blob); };
  });
}

test('several photos chosen at once fill a grid with the answers one photo at a time gives, and a CSV', async () => {
  const context = await session.browser.newContext();
  const page = await openReady(context, session.server.baseUrl);
  const photos = ['rice.jpg', 'soup.jpg', 'egg.jpg', 'bread.jpg'];
  await page.locator('#file-input').setInputFiles([...photos.map((f) => path.join(GOLDEN, f)), path.join(BAD, 'corrupt.jpg')]);
  await page.waitForFunction(() => /^Classified 5 photos/.test(document.getElementById('grid-status').textContent),
    null, { timeout: 120_000 });
  const labels = await page.locator('[data-testid="grid-item"]').evaluateAll((items) => items.map((li) => li.dataset.label));
  assert.deepEqual(labels, [...photos.map(expected), 'error']);
  // Thumbnails were drawn for the photos the browser can read.
  const drawn = await page.locator('[data-testid="grid-item"] img').evaluateAll((imgs) => imgs.map((img) => img.complete && img.naturalWidth > 0));
  assert.deepEqual(drawn.slice(0, 4), [true, true, true, true]);
  // The single-photo answer stays as it was: a batch does not pose as one photo's result.
  assert.equal(await page.getByTestId('top-label').textContent(), '—');

  await captureBlobs(page);
  await page.getByTestId('grid-csv').click();
  const csv = await page.waitForFunction(() => window.capturedBlobs.at(-1)?.text(), null, { timeout: 10_000 })
    .then(() => page.evaluate(() => window.capturedBlobs.at(-1).text()));
  const [header, ...rows] = csv.trim().split('\r\n').map((line) => line.split(','));
  assert.deepEqual(header, ['file', 'top_class', 'probability', 'not_food', 'not_food_score', 'inference_ms', 'error']);
  assert.equal(rows.length, 5);
  assert.deepEqual(rows.map((r) => r[0]), [...photos, 'corrupt.jpg']);
  assert.equal(rows[0][1], 'Rice');
  assert.ok(Number(rows[0][2]) > 0.5 && Number(rows[0][5]) > 0, rows[0].join(','));
  assert.match(rows[4][6], /truncated or corrupt|damaged|corrupt/i);
  await context.close();
});

test('Stop ends a run after the photo in progress, and says how far it got', async () => {
  const context = await session.browser.newContext();
  const page = await openReady(context, session.server.baseUrl);
  const all = golden.map((g) => path.join(ROOT, 'tests/fixtures', g.file));
  await page.locator('#file-input').setInputFiles([...all, ...all, ...all]);
  await page.waitForFunction(() => document.querySelector('#grid-list li:not([aria-busy])'), null, { timeout: 60_000 });
  await page.locator('#grid-stop').click();
  await page.waitForFunction(() => /^Stopped after \d+ of 33 photos/.test(document.getElementById('grid-status').textContent),
    null, { timeout: 60_000 });
  const status = await page.locator('#grid-status').textContent();
  const done = Number(status.match(/after (\d+)/)[1]);
  assert.ok(done >= 1 && done < 33, status);
  const untouched = await page.locator('#grid-list li').evaluateAll((items) => items.filter((li) => !li.dataset.label).length);
  assert.equal(untouched, 33 - done);
  assert.equal(await page.getByTestId('grid-csv').isDisabled(), false);
  await context.close();
});
