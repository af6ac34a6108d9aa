// "Your own model" as a person uses it: an ONNX model with its model.json loads beside ours,
// answers for the same photo (chosen or dropped), survives a reload offline and can be forgotten; without model.json
// the form describes it; a broken file and an operator the engine lacks get plain errors; a folder
// evaluation shows both models' figures.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BAD, BROWSER, GOLDEN, ROOT, classifyWith, labelledFolders, openReady, serverAndBrowser } from './harness.mjs';

const session = serverAndBrowser();
let scratch;
let relabelled;
let bare;

before(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'own-model-'));
  // The shipped network under other names: its answers are ours with "Own " in front.
  relabelled = path.join(scratch, 'relabelled');
  const meta = JSON.parse(readFileSync(path.join(ROOT, 'models/model.json'), 'utf8'));
  meta.name = 'relabelled';
  meta.labels = meta.labels.map((l) => `Own ${l}`);
  writeFileSync(path.join(scratch, 'model.json'), JSON.stringify(meta));
  copyFileSync(path.join(ROOT, 'models/food11-mobilenetv2.onnx'), path.join(scratch, 'relabelled.onnx'));
  // The same network with no model.json: the form's defaults (our labels, 224, NCHW, centre, torchvision).
  bare = path.join(scratch, 'bare.onnx');
  copyFileSync(path.join(ROOT, 'models/food11-mobilenetv2.onnx'), bare);
  copyFileSync(path.join(BAD, 'not-an-image.txt'), path.join(scratch, 'broken.onnx'));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

const ownStatus = (page) => page.getByTestId('own-status').textContent();

async function loadOwn(page, files, pattern = /classes, loaded in \d+ ms/) {
  await page.getByTestId('model-input').setInputFiles(files);
  await page.waitForFunction(() => !/^Loading/.test(document.querySelector('[data-testid="own-status"]').textContent)
    && document.querySelector('[data-testid="own-status"]').textContent !== '', null, { timeout: 120_000 });
  const status = await ownStatus(page);
  assert.match(status, pattern, status);
  return status;
}

test('a model of yours answers beside ours, comes back after a reload offline, and can be forgotten', async () => {
  const context = await session.browser.newContext();
  const page = await openReady(context, session.server.baseUrl);
  assert.equal(await page.locator('#own-answer').isVisible(), false);
  await loadOwn(page, [path.join(scratch, 'relabelled.onnx'), path.join(scratch, 'model.json')]);
  await classifyWith(page, () => page.locator('#file-input').setInputFiles(path.join(GOLDEN, 'rice.jpg')));
  assert.equal(await page.getByTestId('top-label').textContent(), 'Rice');
  assert.match(await page.getByTestId('own-top-label').textContent(), /^Own Rice \d+\.\d%$/);

  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 120_000 });
  await context.setOffline(true);
  await page.reload();
  await page.locator('[data-testid="status"][data-state="ready"]').waitFor({ timeout: 120_000 });
  await page.waitForFunction(() => /from this browser/.test(document.querySelector('[data-testid="own-status"]').textContent)
    && !/^Loading/.test(document.querySelector('[data-testid="own-status"]').textContent), null, { timeout: 120_000 });
  assert.match(await ownStatus(page), /^relabelled\.onnx: 11 classes, loaded in \d+ ms from this browser/);
  await classifyWith(page, () => page.locator('#file-input').setInputFiles(path.join(GOLDEN, 'soup.jpg')));
  assert.match(await page.getByTestId('own-top-label').textContent(), /^Own Soup /);

  await page.locator('#own-forget').click();
  await page.waitForFunction(() => /^Forgotten/.test(document.querySelector('[data-testid="own-status"]').textContent));
  await classifyWith(page, () => page.locator('#file-input').setInputFiles(path.join(GOLDEN, 'egg.jpg')));
  assert.equal(await page.locator('#own-answer').isVisible(), false, 'a forgotten model still answered');
  await page.reload();
  await page.locator('[data-testid="status"][data-state="ready"]').waitFor({ timeout: 120_000 });
  assert.equal(await ownStatus(page), '', 'the forgotten model came back after a reload');
  await context.close();
});

test('without model.json the form describes the model; a broken file and an unsupported operator are named', async () => {
  const context = await session.browser.newContext();
  const page = await openReady(context, session.server.baseUrl);
  await loadOwn(page, [bare]);
  await classifyWith(page, () => page.locator('#file-input').setInputFiles(path.join(GOLDEN, 'egg.jpg')));
  const ours = await page.getByTestId('top-label').textContent();
  assert.equal((await page.getByTestId('own-top-label').textContent()).split(' ').slice(0, -1).join(' '), ours,
    'the same network under the form\'s defaults answers as ours does');

  await loadOwn(page, [path.join(scratch, 'broken.onnx')], /^Could not load broken\.onnx: the model could not be loaded/);
  assert.equal(await page.getByTestId('own-status').getAttribute('role'), 'alert');
  await loadOwn(page, [path.join(ROOT, 'tests/fixtures/unsupported-op.onnx')],
    /^Could not load unsupported-op\.onnx: the model uses the ONNX operator Det \(node "y"\), which this engine cannot run/);
  // A failed load leaves no model answering.
  await classifyWith(page, () => page.locator('#file-input').setInputFiles(path.join(GOLDEN, 'rice.jpg')));
  assert.equal(await page.locator('#own-answer').isVisible(), false);
  await context.close();
});

test('a model dropped on the page with its model.json loads as if chosen', async () => {
  const context = await session.browser.newContext();
  const page = await openReady(context, session.server.baseUrl);
  const metadata = readFileSync(path.join(scratch, 'model.json'), 'utf8');
  // The drop a person makes, built in the page: the site's own ONNX under another name, and the
  // relabelled model.json.
  await page.evaluate(async (json) => {
    const onnx = await (await fetch('models/food11-mobilenetv2.onnx')).blob();
    const data = new DataTransfer();
    data.items.add(new File([onnx], 'dropped.onnx'));
    data.items.add(new File([json], 'model.json', { type: 'application/json' }));
    document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  }, metadata);
  await page.waitForFunction(() => /^dropped\.onnx: 11 classes/.test(document.querySelector('[data-testid="own-status"]').textContent),
    null, { timeout: 120_000 });
  assert.equal(await page.getByTestId('error').isVisible(), false, 'the drop was taken for a photo');
  await classifyWith(page, () => page.locator('#file-input').setInputFiles(path.join(GOLDEN, 'bread.jpg')));
  assert.match(await page.getByTestId('own-top-label').textContent(), /^Own Bread /);
  await context.close();
});

const skip = BROWSER === 'firefox' && 'Firefox over WebDriver BiDi cannot hand a folder to a webkitdirectory input';
test('a folder evaluation shows both models, each by its own labels', { skip }, async () => {
  const context = await session.browser.newContext();
  const page = await openReady(context, session.server.baseUrl);
  await loadOwn(page, [bare]);
  await page.locator('#folder-input').setInputFiles(labelledFolders(scratch).classes);
  await page.waitForFunction(() => document.querySelector('[data-testid="eval-done"]'), null, { timeout: 180_000 });
  assert.equal(await page.locator('#eval-own').isVisible(), true);
  assert.equal(await page.getByTestId('eval-own-accuracy').textContent(), await page.getByTestId('eval-accuracy').textContent());
  assert.equal(await page.locator('#eval-own-confusion tbody tr').count(), 11);
  await context.close();
});
