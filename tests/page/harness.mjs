// Shared set-up for the page tests: the real `food-classifier serve` on a free port and a headless
// browser: Debian's Chromium (Playwright), or Firefox ESR with PAGE_BROWSER=firefox (./firefox.mjs).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { launchFirefox } from './firefox.mjs';

export const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const GOLDEN = path.join(ROOT, 'tests/fixtures/golden');
export const BAD = path.join(ROOT, 'tests/fixtures/bad');
export const SERVER = path.join(ROOT, 'target/release/food-classifier');

/** The browser these tests drive: 'chromium' (the default) or 'firefox'. */
export const BROWSER = process.env.PAGE_BROWSER || 'chromium';
if (!['chromium', 'firefox'].includes(BROWSER)) throw new Error(`PAGE_BROWSER=${BROWSER}: use chromium or firefox`);

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, child, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serve exited early with code ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`serve did not answer on ${url}`);
}

/**
 * Starts `food-classifier serve --dir <dir>` on a free port (the built site and the built-in model
 * unless told otherwise; `model` is an ONNX file with its model.json beside it); returns {baseUrl, stop}.
 */
export async function startServer({ dir = path.join(ROOT, 'dist'), model } = {}) {
  for (const needed of [SERVER, path.join(dir, 'index.html'), path.join(dir, 'pkg/food_classifier_bg.wasm')]) {
    if (!existsSync(needed)) throw new Error(`${needed} is missing: run \`cargo xtask web\` and \`cargo build --release\` first`);
  }
  const port = await freePort();
  const args = ['serve', '--dir', dir, '--port', String(port), ...(model ? ['--model', model] : [])];
  const child = spawn(SERVER, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const baseUrl = `http://127.0.0.1:${port}/`;
  try {
    await waitForHttp(baseUrl, child);
  } catch (error) {
    child.kill();
    throw error;
  }
  return {
    baseUrl,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    }),
  };
}

export function launchBrowser() {
  if (BROWSER === 'firefox') return launchFirefox();
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Opens the page in `context` and waits until the model is loaded. */
export async function openReady(context, baseUrl) {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  await page.goto(baseUrl);
  await page.locator('[data-testid="status"][data-state="ready"]').waitFor({ timeout: 120_000 });
  return page;
}

/** The text of the element with `data-testid="id"` on `page`. */
export const text = (page, id) => page.getByTestId(id).textContent();

/** Runs `action` and waits until the page has finished with that photo (an answer or an error). */
export async function classifyWith(page, action) {
  const count = () => Number(document.getElementById('results').dataset.count || 0);
  const before = await page.evaluate(count);
  await action();
  await page.waitForFunction((n) => Number(document.getElementById('results').dataset.count || 0) > n, before,
    { timeout: 60_000 });
}

/**
 * Registers hooks that start `serve` (with startServer's `options`) and the browser before a test
 * file and stop them after it.
 */
export function serverAndBrowser(options) {
  const session = {};
  before(async () => {
    session.server = await startServer(options);
    session.browser = await launchBrowser();
  });
  after(async () => {
    await session.browser?.close();
    await session.server?.stop();
  });
  return session;
}

/** Folders built from the committed golden photos: class folders (with a damaged photo and files
 * that name no class) and Food-11's `evaluation/<class number>_<n>.jpg`, `copies` of each photo, in
 * a new folder under `scratch`. */
export function labelledFolders(scratch, copies = 1) {
  const golden = JSON.parse(readFileSync(path.join(ROOT, 'tests/fixtures/golden.json'), 'utf8'));
  const labels = JSON.parse(readFileSync(path.join(ROOT, 'models/model.json'), 'utf8')).labels;
  const root = mkdtempSync(path.join(scratch, 'eval-'));
  const classes = path.join(root, 'test');
  const food11 = path.join(root, 'evaluation');
  mkdirSync(food11, { recursive: true });
  for (const g of golden) {
    const folder = path.join(classes, g.label.replace('/', '-'));
    mkdirSync(folder, { recursive: true });
    for (let n = 0; n < copies; n += 1) {
      copyFileSync(path.join(ROOT, 'tests/fixtures', g.file), path.join(folder, `${n}-${path.basename(g.file)}`));
      copyFileSync(path.join(ROOT, 'tests/fixtures', g.file), path.join(food11, `${labels.indexOf(g.label)}_${n}.jpg`));
    }
  }
  copyFileSync(path.join(BAD, 'corrupt.jpg'), path.join(classes, 'Rice', 'corrupt.jpg'));
  mkdirSync(path.join(classes, 'notes'));
  writeFileSync(path.join(classes, 'notes', 'todo.txt'), 'not a class\n');
  writeFileSync(path.join(food11, 'README.txt'), 'not a photo\n');
  return { classes, food11 };
}
