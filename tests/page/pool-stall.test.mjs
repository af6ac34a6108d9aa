// A threaded engine whose pool start stops the engine's worker, as Firefox's now and then does
// (README): the page must restart the engine on one thread, say so, and answer the photo asked
// for meanwhile. The stall is made by serving a copy of the site whose pool script never returns
// from its start, so the worker's own limit on the start cannot fire either, as in the real one.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GOLDEN, ROOT, classifyWith, openReady, serverAndBrowser, text } from './harness.mjs';

const site = mkdtempSync(path.join(tmpdir(), 'stalled-pool-'));
cpSync(path.join(ROOT, 'dist'), site, { recursive: true });
const snippets = path.join(site, 'pkg/threads/snippets');
const poolScript = readdirSync(snippets, { recursive: true }).map((file) => path.join(snippets, file))
  .find((file) => /workerHelpers[^/]*\.js$/.test(file));
const START = 'export async function startWorkers(module, memory, builder) {';
const original = readFileSync(poolScript, 'utf8');
assert.ok(original.includes(START), `${poolScript} no longer starts its pool with ${START}`);
writeFileSync(poolScript, original.replace(START, `${START}\n  for (;;) {}`));
// Without its compressed copies, `serve` sends the changed script itself.
rmSync(`${poolScript}.br`, { force: true });
rmSync(`${poolScript}.gz`, { force: true });
after(() => rmSync(site, { recursive: true, force: true }));

const session = serverAndBrowser({ dir: site });

test('an engine worker stopped by its pool start is restarted on one thread and answers the photo', async () => {
  const context = await session.browser.newContext();
  try {
    // Asked for by name: Firefox runs the threaded build only then.
    const page = await openReady(context, `${session.server.baseUrl}?engine=threads`);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    assert.ok(cores > 1, 'the threaded build needs a machine with more than one core');
    assert.match(await text(page, 'engine'), /^wasm relaxed-simd, 1 thread \(\d starting\)$/);
    // Asked for at once, while the worker is stopped: answered by its replacement.
    await classifyWith(page, () => page.locator('[data-sample="rice.jpg"]').click());
    assert.equal(await text(page, 'top-label'), 'Rice');
    assert.equal(await text(page, 'pool-ms'), 'could not start (no answer within 8 s, so the engine restarted on one thread)');
    assert.equal(await text(page, 'engine'), 'wasm relaxed-simd, 1 thread');
    await classifyWith(page, () => page.locator('input[type=file]').first().setInputFiles(path.join(GOLDEN, 'soup.jpg')));
    assert.equal(await text(page, 'top-label'), 'Soup');
  } finally {
    await context.close();
  }
});
