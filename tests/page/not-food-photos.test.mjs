// The shipped model on real photos of things that are not food (tests/fixtures/notfood/*.jpg):
// each must be answered "This doesn't look like food", and a food photo must still get its class.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { GOLDEN, ROOT, classifyWith, openReady, serverAndBrowser } from './harness.mjs';

const NOT_FOOD = path.join(ROOT, 'tests/fixtures/notfood');
const metadata = JSON.parse(readFileSync(path.join(ROOT, 'models/model.json'), 'utf8'));
const photos = existsSync(NOT_FOOD) ? readdirSync(NOT_FOOD).filter((f) => /\.jpe?g$/i.test(f)).sort() : [];
// A model without a not-food head can only ever answer a food class: then there is nothing to test.
const skip = metadata.not_food ? false
  : 'the shipped models/model.json has no not_food section, so the shipped model never flags a photo';
const session = skip ? null : serverAndBrowser();

test('the shipped model says real not-food photos do not look like food', { skip }, async () => {
  assert.ok(photos.length > 0, `${NOT_FOOD} holds no .jpg photos, but the shipped model has a not-food head`);
  const context = await session.browser.newContext();
  const page = await openReady(context, session.server.baseUrl);
  const input = page.locator('input[type=file]').first();
  for (const photo of photos) {
    await classifyWith(page, () => input.setInputFiles(path.join(NOT_FOOD, photo)));
    assert.equal(await page.getByTestId('not-food').count(), 1, `${photo} was not flagged`);
    assert.equal(await page.getByTestId('top-label').textContent(), '—', photo);
  }
  await classifyWith(page, () => input.setInputFiles(path.join(GOLDEN, 'rice.jpg')));
  assert.equal(await page.getByTestId('not-food').count(), 0, 'rice.jpg was flagged');
  assert.equal(await page.getByTestId('top-label').textContent(), 'Rice');
  await context.close();
});
