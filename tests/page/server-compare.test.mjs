// Issue 5: the page's live comparison against the real `food-classifier serve` that serves it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { BAD, GOLDEN, classifyWith, openReady, serverAndBrowser, text } from './harness.mjs';

const session = serverAndBrowser();

test('asks the same-origin server only on request and shows its answer beside the browser\'s', async () => {
  const context = await session.browser.newContext();
  const apiCalls = [];
  context.on('request', (request) => {
    if (new URL(request.url()).pathname.startsWith('/api/')) apiCalls.push(request.url());
  });
  const page = await openReady(context, session.server.baseUrl);
  const button = page.getByTestId('server-compare-button');
  assert.equal(await button.isDisabled(), true, 'nothing to compare before a photo');

  await classifyWith(page, () => page.locator('input[type=file]').first().setInputFiles(path.join(GOLDEN, 'rice.jpg')));
  assert.equal(await text(page, 'top-label'), 'Rice');
  assert.deepEqual(apiCalls, [], 'the photo went to the server before the person asked');

  await button.click();
  await page.waitForFunction(() => document.querySelector('[data-testid="server-top-label"]').textContent !== '—'
    || !document.querySelector('[data-testid="server-error"]').hidden, null, { timeout: 60_000 });
  assert.equal(await page.getByTestId('server-error').isVisible(), false, await text(page, 'server-error'));
  assert.match(await text(page, 'server-top-label'), /^Rice \(\d{1,3}\.\d%\)$/);
  assert.ok(Number(await text(page, 'server-inference-ms')) > 0);
  assert.ok(Number(await text(page, 'server-roundtrip-ms')) > 0);
  assert.equal(apiCalls.length, 1);
  assert.equal(new URL(apiCalls[0]).origin, new URL(session.server.baseUrl).origin);
  await context.close();
});

test('a typed server address is remembered, and a refusal is shown as an error', async () => {
  const context = await session.browser.newContext();
  const page = await openReady(context, session.server.baseUrl);
  await classifyWith(page, () => page.locator('input[type=file]').first().setInputFiles(path.join(GOLDEN, 'rice.jpg')));
  // An address where no API lives: the server refuses the POST (405), which the page must report.
  const wrong = new URL('nowhere/', session.server.baseUrl).href;
  await page.getByTestId('server-url').fill(wrong);
  await page.getByTestId('server-compare-button').click();
  await page.getByTestId('server-error').waitFor({ state: 'visible', timeout: 60_000 });
  assert.match(await text(page, 'server-error'), /could not classify/);

  await page.reload();
  await page.locator('[data-testid="status"][data-state="ready"]').waitFor({ timeout: 120_000 });
  assert.equal(await page.getByTestId('server-url').inputValue(), wrong);
  // The page itself still works for the next photo (a corrupt one shows the page's usual error).
  await classifyWith(page, () => page.locator('input[type=file]').first().setInputFiles(path.join(BAD, 'not-an-image.txt')));
  assert.equal(await page.getByTestId('error').isVisible(), true);
  await context.close();
});
