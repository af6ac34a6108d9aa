// End to end in the real page (dist/index.html): file selection to the answer on screen.
// t0: the file input's `input`/`change` event (captured before the page's own handlers);
// t1: the page writes the inference time, i.e. the result is shown. Both on the page's clock.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { summary } from './stats.mjs';

const INPUT = 'input[type=file]:not([capture])';

export function hasRealPage(root) {
  const index = join(root, 'dist/index.html');
  if (!existsSync(index) || !existsSync(join(root, 'dist/js'))) return false;
  const html = readFileSync(index, 'utf8');
  return html.includes('type="file"') && html.includes('data-testid="inference-ms"');
}

function armTimer() {
  const ms = document.querySelector('[data-testid="inference-ms"]');
  ms.textContent = '';
  window.__benchT0 = undefined;
  window.__benchDone = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      const error = document.querySelector('[data-testid="error"]');
      if (error && !error.hidden && error.textContent.trim()) {
        observer.disconnect();
        resolve({ error: error.textContent.trim() });
        return;
      }
      const text = ms.textContent.trim();
      if (text && text !== '—') {
        observer.disconnect();
        resolve({
          totalMs: performance.now() - window.__benchT0,
          inferenceMs: Number(text),
          pageTotalMs: Number(document.querySelector('[data-testid="total-ms"]')?.textContent),
          label: document.querySelector('[data-testid="top-label"]').textContent.trim(),
        });
      }
    });
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

export async function e2eInPage(context, url, photo, runs) {
  const page = await context.newPage();
  await page.addInitScript(() => {
    const mark = (e) => {
      if (e.target instanceof HTMLInputElement && e.target.type === 'file' && window.__benchT0 === undefined) {
        window.__benchT0 = performance.now();
      }
    };
    window.addEventListener('input', mark, true);
    window.addEventListener('change', mark, true);
  });
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.dataset.state === 'ready', null, {
    timeout: 60_000,
  });
  // A threaded build times its pool against one thread after ready, and again a few seconds later;
  // photos wait for its second choice (a one-thread build says so at once).
  await page.waitForFunction(() => /^not measured|measured again/.test(document.querySelector('[data-testid="thread-choice"]').textContent),
    null, { timeout: 60_000 });
  const engine = {
    engine: await page.locator('[data-testid="engine"]').textContent(),
    thread_choice: await page.locator('[data-testid="thread-choice"]').textContent(),
  };
  const samples = [];
  for (let i = 0; i <= runs; i++) {
    await page.evaluate(armTimer);
    await page.setInputFiles(INPUT, photo);
    const r = await page.evaluate(() => window.__benchDone);
    if (r.error) throw new Error(`the page answered with an error: ${r.error}`);
    if (i > 0) samples.push(r); // the first photo warms the worker's paths
  }
  await page.close();
  return {
    total: summary(samples.map((r) => r.totalMs)),
    inference: summary(samples.map((r) => r.inferenceMs)),
    page_total: summary(samples.map((r) => r.pageTotalMs)), // the page's own "photo to answer"
    label: samples[0].label,
    ...engine,
  };
}
