// Regenerates docs/screenshot.png for the README: the page after classifying a sample photo.
// Run after `cargo xtask web` and `cargo build --release`: node tests/page/screenshot.mjs
// (`--dark` for docs/screenshot-dark.png, `--phone` for docs/screenshot-phone.png at Pixel 7 size).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { devices } from 'playwright-core';
import { ROOT, classifyWith, launchBrowser, openReady, startServer } from './harness.mjs';

const server = await startServer();
const browser = await launchBrowser();
try {
  const colorScheme = process.argv.includes('--dark') ? 'dark' : 'light';
  const phone = process.argv.includes('--phone');
  const { defaultBrowserType, ...pixel7 } = devices['Pixel 7'];
  const context = await browser.newContext(phone
    ? { ...pixel7, deviceScaleFactor: 1, colorScheme }
    : { viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, colorScheme });
  const page = await openReady(context, server.baseUrl);
  await classifyWith(page, () => page.locator('[data-sample="ramen.jpg"]').click());
  await page.waitForTimeout(400); // Let the bars finish their short transition.
  mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
  const name = phone ? 'screenshot-phone.png' : colorScheme === 'dark' ? 'screenshot-dark.png' : 'screenshot.png';
  const file = path.join(ROOT, 'docs', name);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`saved ${path.relative(ROOT, file)}`);
} finally {
  await browser.close();
  await server.stop();
}
