// End-to-end tests of the page, in each browser harness.mjs drives, against the real `food-classifier serve`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { BAD, BROWSER, GOLDEN, ROOT, classifyWith, openReady, serverAndBrowser, text } from './harness.mjs';

const session = serverAndBrowser();
const requests = [];

async function newContext(options = {}) {
  const context = await session.browser.newContext(options);
  context.on('request', (request) => requests.push(request.url()));
  return context;
}

async function expectTop(page, label) {
  assert.equal(await text(page, 'top-label'), label);
  assert.match(await text(page, 'top-probability'), /^\d{1,3}\.\d%$/);
  const ms = await text(page, 'inference-ms');
  assert.match(ms, /^\d+(\.\d+)?$/);
  assert.ok(Number(ms) > 0, `inference-ms is ${ms}`);
  assert.equal(await page.getByTestId('error').isVisible(), false);
}

/** Hands the page a file the way a drop or paste does: a DataTransfer built inside the page. */
function dispatchWithFile(page, kind, file) {
  const bytes = [...readFileSync(file)];
  return page.evaluate(({ kind, name, bytes }) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], name, { type: 'image/jpeg' }));
    const event = kind === 'drop'
      ? new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })
      : new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
    (kind === 'drop' ? document.getElementById('drop-zone') : document.body).dispatchEvent(event);
  }, { kind, name: path.basename(file), bytes });
}


describe('the food classifier page', () => {
  test('a chosen photo gets the right class and an inference time', async () => {
    const context = await newContext();
    const page = await openReady(context, session.server.baseUrl);
    for (const [file, label] of [['rice.jpg', 'Rice'], ['bread.jpg', 'Bread'], ['noodles-pasta.jpg', 'Noodles/Pasta']]) {
      await classifyWith(page, () => page.locator('input[type=file]').first().setInputFiles(path.join(GOLDEN, file)));
      await expectTop(page, label);
    }
    assert.equal(await page.locator('#predictions li').count(), 5);
    await context.close();
  });

  for (const [kind, file, label] of [['drop', 'dessert.jpg', 'Dessert'], ['paste', 'egg.jpg', 'Egg']]) {
    // Firefox drops the data of a paste event made by a script, so only a real paste could test it there.
    const skip = kind === 'paste' && BROWSER === 'firefox' && 'Firefox ignores clipboardData on a synthetic paste event';
    test(`a photo given by ${kind} is classified`, { skip }, async () => {
      const context = await newContext();
      const page = await openReady(context, session.server.baseUrl);
      await classifyWith(page, () => dispatchWithFile(page, kind, path.join(GOLDEN, file)));
      await expectTop(page, label);
      await context.close();
    });
  }

  test('a sample button classifies its photo', async () => {
    const context = await newContext();
    const page = await openReady(context, session.server.baseUrl);
    await classifyWith(page, () => page.locator('[data-sample="ramen.jpg"]').click());
    await expectTop(page, 'Noodles/Pasta');
    await context.close();
  });

  test('the server panel puts this browser next to the lab\'s servers', async () => {
    const context = await newContext();
    const page = await openReady(context, session.server.baseUrl);
    await classifyWith(page, () => page.locator('[data-sample="rice.jpg"]').click());
    const lab = JSON.parse(readFileSync(path.join(ROOT, 'www/data/server-models.json'), 'utf8'));
    const rows = page.locator('#server-table tbody tr');
    await page.locator('#server-table tr.browser-row').waitFor();
    const browserRow = await page.locator('#server-table tr.browser-row td').allTextContents();
    assert.match(browserRow[5], /^\d+\.\d{3}$/, `browser response time cell: ${browserRow[5]}`);
    const loadtest = path.join(ROOT, 'www/data/loadtest.json');
    const ours = existsSync(loadtest) ? JSON.parse(readFileSync(loadtest, 'utf8')).levels
      .filter((l) => l.concurrency === 1 || l.concurrency === 16).length : 0;
    assert.equal(await rows.count(), lab.models.length + ours + 1);
    assert.equal(await page.locator('#server-table tr.project-server-row').count(), ours);
    assert.ok(await page.locator('#server-chart svg rect.bar-browser').count() >= 1);
    // Nothing sticks out of the card: a table wider than it scrolls inside its own box.
    const fit = await page.evaluate(() => {
      const card = document.getElementById('server-panel');
      const wrap = card.querySelector('.table-wrap');
      return { card: card.scrollWidth - card.clientWidth, scrolls: getComputedStyle(wrap).overflowX };
    });
    assert.equal(fit.card, 0, 'the lab table overflows its card');
    assert.equal(fit.scrolls, 'auto');
    await context.close();
  });

  test('bad files show a plain error and the next photo still works', async () => {
    const context = await newContext();
    const page = await openReady(context, session.server.baseUrl);
    const input = page.locator('input[type=file]').first();
    for (const [file, words] of [
      ['corrupt.jpg', /corrupt/i],
      ['truncated.jpg', /damaged or incomplete/],
      ['empty.jpg', /empty/i],
      ['not-an-image.txt', /not an image/i],
      ['photo.heic', /HEIC images are not supported/],
      ['bomb-30000x30000.png', /too large/i],
    ]) {
      await classifyWith(page, () => input.setInputFiles(path.join(BAD, file)));
      const error = page.getByTestId('error');
      assert.ok(await error.isVisible(), `no error shown for ${file}`);
      assert.match(await error.textContent(), words, file);
      assert.equal(await text(page, 'top-label'), '—');
    }
    await classifyWith(page, () => input.setInputFiles(path.join(GOLDEN, 'fried-food.jpg')));
    await expectTop(page, 'Fried food');
    await context.close();
  });

  test('after one visit the page loads and classifies offline', async () => {
    const context = await newContext();
    // The engine and the model, as the page's worker asks for them, among the requests since `from`.
    const large = (from) => [...new Set(requests.slice(from).filter((url) => /\.(wasm|onnx)\?v=/.test(url))
      .map((url) => new URL(url).pathname))];
    const firstVisit = requests.length;
    const page = await openReady(context, session.server.baseUrl);
    assert.equal(large(firstVisit).length, 2, `the first visit downloads the engine and the model: ${large(firstVisit)}`);
    // The worker precaches everything on install; control means it is active and serving.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 120_000 });
    await context.setOffline(true);
    const returnVisit = requests.length;
    await page.reload();
    await page.locator('[data-testid="status"][data-state="ready"]').waitFor({ timeout: 120_000 });
    // A returning visit reads both straight from the cache: not even the service worker is asked.
    assert.deepEqual(large(returnVisit), []);
    await classifyWith(page, () => page.locator('input[type=file]').first().setInputFiles(path.join(GOLDEN, 'dairy-product.jpg')));
    await expectTop(page, 'Dairy product');
    await classifyWith(page, () => page.locator('[data-sample="rice.jpg"]').click());
    await expectTop(page, 'Rice');
    await context.close();
  });

  test('the page runs the fastest engine build the browser has, caches only that one, and runs the others on request', async () => {
    const context = await newContext();
    const page = await openReady(context, session.server.baseUrl);
    const pick = (requested) => page.evaluate(async (name) => {
      await import('./js/engine-build.js');
      return self.engineBuild(name ?? undefined);
    }, requested ?? null);
    const { isolated, cores } = await page.evaluate(() => ({ isolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency }));
    assert.ok(isolated, 'serve makes the page cross-origin isolated, which threads need');
    const build = await pick();
    // Chromium has had relaxed SIMD since version 114 and wasm threads since 74: on more than one
    // core the threaded build must be the one picked, with a thread per core up to four.
    if (BROWSER === 'chromium') {
      assert.equal(build.name, cores > 1 ? 'threads' : 'relaxed-simd');
      assert.equal(build.threads, cores > 1 ? Math.min(cores, 4) : 1);
    }
    // Firefox runs the threaded build only when asked for it (see engine-build.js).
    if (BROWSER === 'firefox') assert.equal(build.name, 'relaxed-simd');
    const engineText = (simd, threads) => `wasm ${simd}, ${threads} thread${threads === 1 ? '' : 's'}`;
    // A threaded build is ready on one thread and says so; its pool starts after ready and is
    // timed against one thread, and photos then run on the faster, as the page says.
    let threads = build.threads;
    if (build.threads > 1) {
      await page.waitForFunction(() => /ms$/.test(document.querySelector('[data-testid="pool-ms"]').textContent),
        null, { timeout: 60_000 });
      // The pool is timed again a few seconds after the first time; the engine line follows it.
      await page.waitForFunction(() => /measured again/.test(document.querySelector('[data-testid="thread-choice"]').textContent),
        null, { timeout: 60_000 });
      assert.match(await text(page, 'pool-ms'), /^\d+(\.\d)? ms$/);
      const choice = /^(\d+(?:\.\d)?) ms on (\d+) threads, (\d+(?:\.\d)?) ms on one: the pool is (faster|no faster) here/
        .exec(await text(page, 'thread-choice'));
      assert.ok(choice, `the page says what it measured: ${await text(page, 'thread-choice')}`);
      const [poolMs, poolThreads, oneMs, verdict] = [Number(choice[1]), Number(choice[2]), Number(choice[3]), choice[4]];
      assert.equal(poolThreads, build.threads);
      if (verdict === 'faster') assert.ok(poolMs < oneMs, `${poolMs} ms on the pool against ${oneMs} on one`);
      else assert.ok(poolMs > 0.9 * oneMs, `${poolMs} ms on the pool against ${oneMs} on one`);
      threads = verdict === 'faster' ? build.threads : 1;
    }
    assert.equal(await text(page, 'engine'), engineText(build.simd, threads));
    await classifyWith(page, () => page.locator('input[type=file]').first().setInputFiles(path.join(GOLDEN, 'soup.jpg')));
    await expectTop(page, 'Soup');
    const probability = await text(page, 'top-probability');

    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 120_000 });
    const cached = await page.evaluate(async () => {
      const names = [];
      for (const key of await caches.keys()) {
        for (const request of await (await caches.open(key)).keys()) names.push(new URL(request.url).pathname);
      }
      return names.filter((name) => name.endsWith('.wasm'));
    });
    assert.deepEqual(cached, [`/${build.wasm}`], 'only the build this browser runs is saved for offline use');

    // Asked for by name, the single-thread builds answer the same (fused multiply-add and the
    // split of the work over threads only move rounding).
    for (const name of ['relaxed-simd', 'simd128']) {
      const other = await pick(name);
      const single = await openReady(context, `${session.server.baseUrl}?engine=${name}`);
      assert.equal(await text(single, 'engine'), engineText(other.simd, other.threads));
      await classifyWith(single, () => single.locator('input[type=file]').first().setInputFiles(path.join(GOLDEN, 'soup.jpg')));
      await expectTop(single, 'Soup');
      assert.ok(Math.abs(parseFloat(await text(single, 'top-probability')) - parseFloat(probability)) <= 0.2,
        `${other.name} ${await text(single, 'top-probability')} vs ${build.name} ${probability}`);
    }
    await context.close();
  });

  test('the model download counts to the model\'s size, though it arrives compressed', async () => {
    const context = await newContext();
    const page = await openReady(context, session.server.baseUrl);
    const model = path.join(ROOT, 'dist/models/food11-mobilenetv2.onnx');
    assert.ok(existsSync(`${model}.br`), 'the site build made no brotli copy of the model');
    const bar = await page.evaluate(() => {
      const progress = document.getElementById('model-progress');
      return { max: progress.max, value: progress.value };
    });
    assert.deepEqual(bar, { max: statSync(model).size, value: statSync(model).size });
    await context.close();
  });

  test('no request ever left 127.0.0.1', () => {
    assert.ok(requests.length > 20, `only ${requests.length} requests recorded`);
    const origin = new URL(session.server.baseUrl).origin;
    const foreign = requests.filter((url) => !url.startsWith(origin) && !url.startsWith('blob:') && !url.startsWith('data:'));
    assert.deepEqual(foreign, []);
  });
});
