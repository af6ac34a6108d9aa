// The page at phone sizes, with touch (playwright-core's Pixel 7 and iPhone 14 descriptors, run in
// Chromium): nothing wider than the screen, every control at least 44 px, and the camera offered
// the way the browser allows: the live camera where getUserMedia exists, the file input's
// `capture` ("Take a photo") always.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { devices } from 'playwright-core';
import { BROWSER, GOLDEN, classifyWith, openReady, serverAndBrowser } from './harness.mjs';

// Touch and a coarse pointer are emulated by Chromium's driver only; Firefox runs the page at
// desktop size in the other tests.
const skip = BROWSER === 'firefox' && 'phone emulation (touch, coarse pointer) needs Chromium\'s driver';
const session = skip ? null : serverAndBrowser();
const PHONES = ['Pixel 7', 'iPhone 14'];
const MIN_TARGET = 44;

/** Controls a finger must hit, as shown on screen (a hidden file input by its label). */
function visibleControls() {
  return [...document.querySelectorAll('a[href], button, label.button, input:not(.visually-hidden)')]
    .filter((el) => !el.disabled)
    .map((el) => ({ el, rect: el.getBoundingClientRect(), style: getComputedStyle(el) }))
    .filter(({ rect, style }) => rect.width > 0 && rect.height > 0 && style.visibility !== 'hidden'
      && rect.right > 0 && rect.bottom > 0 && rect.left < innerWidth)
    .map(({ el, rect }) => ({
      name: el.id || el.dataset.testid || el.getAttribute('aria-label') || el.textContent.trim().slice(0, 30),
      width: Math.round(rect.width),
      height: Math.round(rect.height),
    }));
}

async function assertFitsTheScreen(page, phone, state) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `${phone}, ${state}: the page is ${scrollWidth} px wide on a ${innerWidth} px screen`);
  const small = (await page.evaluate(visibleControls)).filter((c) => c.width < MIN_TARGET || c.height < MIN_TARGET);
  assert.deepEqual(small, [], `${phone}, ${state}: controls smaller than ${MIN_TARGET} px`);
}

describe('on a phone', { skip }, () => {
  for (const phone of PHONES) {
    test(`${phone}: fits the screen with finger-sized controls, ready and with a result`, async () => {
      const { defaultBrowserType, ...descriptor } = devices[phone];
      const context = await session.browser.newContext(descriptor);
      const page = await openReady(context, session.server.baseUrl);
      await assertFitsTheScreen(page, phone, 'ready');
      await classifyWith(page, () => page.locator('#file-input').setInputFiles(path.join(GOLDEN, 'rice.jpg')));
      assert.equal(await page.getByTestId('top-label').textContent(), 'Rice');
      await assertFitsTheScreen(page, phone, 'a result');
      // The camera: the photo input with `capture` is offered on touch screens; the live camera
      // button too, because this browser has getUserMedia.
      assert.ok(await page.locator('label[for="capture-input"]').isVisible());
      assert.equal(await page.locator('#capture-input').getAttribute('capture'), 'environment');
      assert.ok(await page.locator('#camera-button').isVisible());
      await context.close();
    });
  }

  test('without getUserMedia the camera is the file input with capture alone', async () => {
    const { defaultBrowserType, ...descriptor } = devices['Pixel 7'];
    const context = await session.browser.newContext(descriptor);
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'mediaDevices', { get: () => undefined, configurable: true });
    });
    const page = await openReady(context, session.server.baseUrl);
    assert.equal(await page.locator('#camera-button').isVisible(), false);
    assert.ok(await page.locator('label[for="capture-input"]').isVisible());
    await classifyWith(page, () => page.locator('#capture-input').setInputFiles(path.join(GOLDEN, 'rice.jpg')));
    assert.equal(await page.getByTestId('top-label').textContent(), 'Rice');
    await context.close();
  });
});
