// Regenerates docs/screenshot.png for the README: the page after classifying a sample photo.
// Run after `cargo xtask web` and `cargo build --release`: node tests/page/screenshot.mjs
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT, classifyWith, launchBrowser, openReady, startServer } from './harness.mjs';

const server = await startServer();
const browser = await launchBrowser();
try {
  const colorScheme = process.argv.includes('--dark') ? 'dark' : 'light';
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, colorScheme });
  const page = await openReady(context, server.baseUrl);
  await classifyWith(page, () => page.locator('[data-sample="ramen.jpg"]').click());
  await page.waitForTimeout(400); // Let the bars finish their short transition.
  mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
  const file = path.join(ROOT, 'docs', colorScheme === 'dark' ? 'screenshot-dark.png' : 'screenshot.png');
  await page.screenshot({ path: file, fullPage: true });
  console.log(`saved ${path.relative(ROOT, file)}`);
} finally {
  await browser.close();
  await server.stop();
}
