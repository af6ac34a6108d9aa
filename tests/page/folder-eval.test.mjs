// "Evaluate a labelled folder" as a person uses it: a folder chosen with the folder picker, in
// class folders and in Food-11's own naming, gives the report `food-classifier eval --json` gives
// for the same folder (the JSON export is compared whole); a confusion cell lists its photos;
// Cancel stops a run; a timer on the page keeps firing while the worker evaluates.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BROWSER, ROOT, SERVER as CLI, labelledFolders, openReady, serverAndBrowser } from './harness.mjs';

const session = serverAndBrowser();
const LABELS = JSON.parse(readFileSync(path.join(ROOT, 'models/model.json'), 'utf8')).labels;
let scratch;

before(() => { scratch = mkdtempSync(path.join(tmpdir(), 'folder-eval-')); });
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Chooses `dir` with the folder picker and waits for the run to end; returns the status line. */
async function evaluateFolder(page, dir) {
  await page.locator('#folder-input').setInputFiles(dir);
  await page.waitForFunction(() => document.querySelector('[data-testid="eval-done"]'), null, { timeout: 180_000 });
  return page.locator('#eval-status').textContent();
}

/** The JSON the page's export button downloads. */
async function exportedJson(page) {
  await page.evaluate(() => {
    const original = URL.createObjectURL;
    window.capturedBlobs = [];
    URL.createObjectURL = (blob) => { window.capturedBlobs.push(blob); return original(blob); };
  });
  await page.locator('#eval-json').click();
  await page.waitForFunction(() => window.capturedBlobs.length > 0, null, { timeout: 10_000 });
  return JSON.parse(await page.evaluate(() => window.capturedBlobs.at(-1).text()));
}

const skip = BROWSER === 'firefox' && 'Firefox over WebDriver BiDi cannot hand a folder to a webkitdirectory input';

test('a folder in class folders and one in Food-11 naming give the figures the command line gives', { skip }, async () => {
  const { classes, food11 } = labelledFolders(scratch);
  const context = await session.browser.newContext();
  const page = await openReady(context, session.server.baseUrl);
  for (const dir of [classes, food11]) {
    const status = await evaluateFolder(page, dir);
    assert.match(status, /^Evaluated (11|12) photos/, status);
    const fromPage = await exportedJson(page);
    const fromCli = JSON.parse(execFileSync(CLI, ['eval', dir, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    assert.deepEqual(fromPage, fromCli, `page and CLI differ on ${path.basename(dir)}`);
    assert.equal(fromPage.images, 11);
    // The stable hooks: overall accuracy as "90.9 %", the number of photos evaluated.
    assert.equal(await page.getByTestId('eval-accuracy').textContent(), `${(fromCli.accuracy * 100).toFixed(1)} %`);
    assert.equal(await page.getByTestId('eval-images').textContent(), String(fromCli.images));
  }
  // The class-folder run named the damaged photo and left the notes out.
  const classReport = JSON.parse(execFileSync(CLI, ['eval', classes, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  assert.equal(classReport.failed.length, 1);
  assert.match(classReport.failed[0], /^test\/Rice\/corrupt\.jpg: /);

  // seafood.jpg is called Soup: its cell lists that photo.
  const seafood = LABELS.indexOf('Seafood');
  const soup = LABELS.indexOf('Soup');
  await page.locator(`#eval-confusion tbody tr:nth-child(${seafood + 1}) td:nth-child(${soup + 2}) button`).click();
  await page.waitForFunction(() => !document.getElementById('eval-cell').hidden);
  assert.match(await page.locator('#eval-cell-title').textContent(), /^Seafood photos called Soup \(1\)$/);
  assert.equal(await page.locator('#eval-cell-photos li').count(), 1);
  await context.close();
});

test('Cancel stops a run, and the page stays responsive while the worker evaluates', { skip }, async () => {
  const { classes } = labelledFolders(scratch, 3);
  const context = await session.browser.newContext();
  const page = await openReady(context, session.server.baseUrl);
  // A timer on the main thread, and the times the progress line changed.
  await page.evaluate(() => {
    window.ticks = [];
    setInterval(() => window.ticks.push(performance.now()), 50);
    window.progress = [];
    new MutationObserver(() => window.progress.push(performance.now()))
      .observe(document.getElementById('eval-status').parentElement, { childList: true, characterData: true, subtree: true });
  });
  await page.locator('#folder-input').setInputFiles(classes);
  // While it runs the progress hook reads "N of M".
  await page.waitForFunction(() => {
    const [done, total] = document.querySelector('[data-testid="eval-progress"]').textContent.split(' of ').map(Number);
    return total === 34 && done >= 5;
  }, null, { timeout: 120_000 });
  await page.locator('#eval-cancel').click();
  await page.waitForFunction(() => /^Cancelled after \d+ of 34 photos/.test(document.getElementById('eval-status').textContent),
    null, { timeout: 60_000 });
  const status = await page.locator('#eval-status').textContent();
  const done = Number(status.match(/after (\d+)/)[1]);
  assert.ok(done >= 5 && done < 34, status);
  const report = await exportedJson(page);
  assert.equal(report.images + report.failed.length, done, 'the figures are for the photos done');
  const { ticks, progress } = await page.evaluate(() => ({ ticks: window.ticks, progress: window.progress }));
  const during = ticks.filter((t) => t > progress[1] && t < progress.at(-2));
  assert.ok(during.length > 0, 'the page\'s timer never fired while photos were being evaluated');
  await context.close();
});
