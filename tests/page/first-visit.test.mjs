// The site's download budget: a first visit, as `serve` sends it to a browser that accepts brotli,
// stays within 5 MB, everything the service worker keeps for offline use included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BROWSER, serverAndBrowser } from './harness.mjs';
import { measureFirstVisit } from './first-visit.mjs';

const session = serverAndBrowser();
const BUDGET_BYTES = 5_000_000;

test('a first visit downloads at most 5 MB, offline copy included', async (t) => {
  const context = await session.browser.newContext();
  try {
    const visit = await measureFirstVisit(context, session.server.baseUrl);
    const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;
    const largest = visit.total.files.slice(0, 3).map((f) => `${f.path} ${mb(f.bytes)} (${f.encoding})`).join(', ');
    t.diagnostic(`${BROWSER}: before ready ${mb(visit.before_ready.bytes)} in ${visit.before_ready.files.length} files; `
      + `with the offline copy ${mb(visit.total.bytes)} in ${visit.total.files.length} files; largest ${largest}`);
    // The engine and the model are what make the budget; both must arrive compressed.
    for (const file of visit.total.files.filter((f) => /\.(wasm|onnx)$/.test(f.path))) {
      assert.equal(file.encoding, 'br', `${file.path} sent as ${file.encoding}`);
    }
    assert.equal(visit.total.files.filter((f) => f.path.endsWith('.wasm')).length, 1,
      `one engine build downloaded: ${visit.total.files.map((f) => f.path).join(', ')}`);
    assert.ok(visit.total.bytes <= BUDGET_BYTES, `first visit ${mb(visit.total.bytes)} is over 5 MB`);
  } finally {
    await context.close();
  }
});
