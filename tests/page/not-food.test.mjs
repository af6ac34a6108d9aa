// The page's "not food" answer, with a model that has a not-food head: the shipped model plus the
// test-only head from tests/fixtures/make_not_food_model.py (it flags soup.jpg and not rice.jpg),
// on a copy of the built site, and `serve --model` running the same model for the comparison.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BAD, GOLDEN, ROOT, classifyWith, openReady, serverAndBrowser, text } from './harness.mjs';

const site = mkdtempSync(path.join(tmpdir(), 'food-classifier-not-food-'));
const onnx = path.join(site, 'models/food11-mobilenetv2.onnx');

before(() => {
  const dist = path.join(ROOT, 'dist');
  if (!existsSync(path.join(dist, 'index.html'))) throw new Error(`${dist} is missing: run \`cargo xtask web\` first`);
  cpSync(dist, site, { recursive: true });
  // Concatenated protobuf messages merge: the shipped model plus the patch is the two-output model.
  writeFileSync(onnx, Buffer.concat([
    readFileSync(path.join(ROOT, 'models/food11-mobilenetv2.onnx')),
    readFileSync(path.join(ROOT, 'tests/fixtures/not-food-head.pb')),
  ]));
  const metadata = JSON.parse(readFileSync(path.join(ROOT, 'models/model.json'), 'utf8'));
  metadata.not_food = { output: 'test_not_food', activation: 'sigmoid', threshold: 0.5 };
  writeFileSync(path.join(site, 'models/model.json'), JSON.stringify(metadata));
});
const session = serverAndBrowser({ dir: site, model: onnx });
after(() => rmSync(site, { recursive: true, force: true }));

const choose = (page, file) => classifyWith(page, () => page.locator('input[type=file]').first().setInputFiles(file));

describe('a photo that does not look like food', () => {
  test('is said to be not food instead of getting a class, and the next food photo is a class again', async () => {
    const context = await session.browser.newContext();
    const page = await openReady(context, session.server.baseUrl);

    await choose(page, path.join(GOLDEN, 'soup.jpg'));
    const notFood = page.getByTestId('not-food');
    assert.equal(await notFood.count(), 1);
    assert.ok(await notFood.isVisible());
    assert.match(await notFood.textContent(), /^This doesn't look like food/);
    assert.match(await notFood.textContent(), /Not-food score \d{1,3}\.\d%/);
    // No class is claimed: the top line is gone and the closest classes are dimmed.
    assert.equal(await page.getByTestId('top-label').isVisible(), false);
    assert.equal(await text(page, 'top-label'), '—');
    assert.equal(await page.locator('#predictions.dimmed li').count(), 5);
    assert.match(await page.locator('#predictions li').first().textContent(), /^Soup/);
    // What the live region announces says the same.
    assert.match(await page.locator('#preview-caption').textContent(),
      /^soup\.jpg: doesn't look like food \(not-food score \d{1,3}\.\d%\)$/);
    assert.ok(Number(await text(page, 'inference-ms')) > 0);

    await choose(page, path.join(GOLDEN, 'rice.jpg'));
    assert.equal(await page.getByTestId('not-food').count(), 0);
    assert.equal(await text(page, 'top-label'), 'Rice');
    assert.ok(await page.getByTestId('top-label').isVisible());
    assert.equal(await page.locator('#predictions.dimmed').count(), 0);
    assert.match(await page.locator('#preview-caption').textContent(), /^rice\.jpg: Rice, /);

    // An error after a not-food answer leaves no notice behind either.
    await choose(page, path.join(GOLDEN, 'soup.jpg'));
    assert.equal(await page.getByTestId('not-food').count(), 1);
    await choose(page, path.join(BAD, 'not-an-image.txt'));
    assert.equal(await page.getByTestId('not-food').count(), 0);
    assert.ok(await page.getByTestId('error').isVisible());
    await context.close();
  });

  test('the server comparison shows the server\'s not-food answer', async () => {
    const context = await session.browser.newContext();
    const page = await openReady(context, session.server.baseUrl);
    await choose(page, path.join(GOLDEN, 'soup.jpg'));
    await page.getByTestId('server-compare-button').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="server-top-label"]').textContent !== '—'
      || !document.querySelector('[data-testid="server-error"]').hidden, null, { timeout: 60_000 });
    assert.equal(await page.getByTestId('server-error').isVisible(), false, await text(page, 'server-error'));
    assert.match(await text(page, 'server-top-label'), /^Not food \(score \d{1,3}\.\d%; closest: Soup\)$/);

    await choose(page, path.join(GOLDEN, 'rice.jpg'));
    await page.getByTestId('server-compare-button').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="server-top-label"]').textContent !== '—',
      null, { timeout: 60_000 });
    assert.match(await text(page, 'server-top-label'), /^Rice \(\d{1,3}\.\d%\)$/);
    await context.close();
  });
});
