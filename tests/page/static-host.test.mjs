// A first visit to the site from a plain static host, as anyone may publish `dist/`: every file
// sent as it is on disk (uncompressed, so the wasm is 15 MB) and cacheable. Each fresh browser
// context must start the classifier and then save the page for offline use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, launchBrowser } from './harness.mjs';
import { serve } from '../../benches/server.mjs';

// Before the service worker waited for the classifier, Chromium failed 4 of 6 such first visits.
const VISITS = 4;

test(`a first visit from a plain static host starts and saves itself for offline use (${VISITS} fresh visits)`, async () => {
  const host = await serve({ '/': path.join(ROOT, 'dist') });
  const browser = await launchBrowser();
  try {
    for (let visit = 1; visit <= VISITS; visit += 1) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${host.url}/`);
      const status = page.locator('[data-testid="status"]:is([data-state="ready"], [data-state="failed"])');
      await status.waitFor({ timeout: 120_000 });
      assert.equal(await status.getAttribute('data-state'), 'ready',
        `visit ${visit}: ${await page.locator('[data-testid="error"]').textContent()}`);
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 120_000 });
      assert.equal(await page.locator('#offline-state').textContent(), 'Saved for offline use.');
      await context.close();
    }
  } finally {
    await browser.close();
    host.close();
  }
});
