// The page audited by axe-core (npm, injected into the page) in each state a person meets it in,
// and used with the keyboard alone: no serious or critical violation anywhere, lesser ones printed;
// every control reached with Tab and showing a focus ring; a photo chosen by keyboard announced in
// the live region.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BAD, BROWSER, GOLDEN, ROOT, classifyWith, labelledFolders, openReady, serverAndBrowser } from './harness.mjs';

const AXE = path.join(ROOT, 'node_modules/axe-core/axe.min.js');
const session = serverAndBrowser();

/** Runs axe on the page as it is now; fails on serious or critical violations, prints the rest. */
async function audit(page, state) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const { violations } = await window.axe.run(document, { resultTypes: ['violations'] });
    return violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  for (const v of violations) console.log(`# axe (${state}): ${v.impact} ${v.id}: ${v.help} at ${v.targets.join(', ')}`);
  const severe = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(severe, [], `${state}: serious or critical axe violations`);
}

const choose = (page, file) => classifyWith(page, () => page.locator('#file-input').setInputFiles(file));

describe('accessibility', () => {
  test('axe finds nothing serious or critical while loading, ready, with a result, an error, the server answer, a grid and a folder evaluation', async () => {
    // The page's CSP allows its own scripts only; axe is injected by the test, so CSP is set aside here.
    const context = await session.browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await page.goto(session.server.baseUrl, { waitUntil: 'domcontentloaded' });
    await audit(page, 'loading');
    await page.locator('[data-testid="status"][data-state="ready"]').waitFor({ timeout: 120_000 });
    await audit(page, 'ready');

    await choose(page, path.join(GOLDEN, 'rice.jpg'));
    await audit(page, 'a result');

    await choose(page, path.join(BAD, 'corrupt.jpg'));
    await audit(page, 'an error');

    await choose(page, path.join(GOLDEN, 'rice.jpg'));
    await page.getByTestId('server-compare-button').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="server-top-label"]').textContent.includes('Rice'),
      null, { timeout: 60_000 });
    await audit(page, 'the server answer');

    await page.locator('#file-input').setInputFiles([path.join(GOLDEN, 'egg.jpg'), path.join(BAD, 'corrupt.jpg')]);
    await page.waitForFunction(() => /^Classified 2 photos/.test(document.getElementById('grid-status').textContent),
      null, { timeout: 60_000 });
    await audit(page, 'a grid of several photos');

    // Firefox's driver cannot hand a folder to the folder picker (see folder-eval.test.mjs).
    if (BROWSER !== 'firefox') {
      const scratch = mkdtempSync(path.join(tmpdir(), 'a11y-'));
      await page.locator('#folder-input').setInputFiles(labelledFolders(scratch).classes);
      await page.waitForFunction(() => document.querySelector('[data-testid="eval-done"]'), null, { timeout: 120_000 });
      await page.locator('#eval-confusion tbody button').first().click();
      await page.waitForFunction(() => !document.getElementById('eval-cell').hidden);
      await audit(page, 'a folder evaluation');
      rmSync(scratch, { recursive: true, force: true });
    }
    await context.close();
  });

  test('every control is reached with Tab, shows a focus ring, and a photo picked by keyboard is announced', async () => {
    const context = await session.browser.newContext();
    const page = await openReady(context, session.server.baseUrl);
    // Every visible control a person can operate, by a name that identifies it.
    const controls = await page.evaluate(() => [...document.querySelectorAll('a[href], button, input, [tabindex="0"]')]
      .filter((el) => !el.disabled && el.getAttribute('tabindex') !== '-1')
      .filter((el) => {
        const shown = el.matches('input.visually-hidden') ? document.querySelector(`label[for="${el.id}"]`) : el;
        // The content of a closed <details> is skipped by Tab until the person opens it (its
        // summary is not). checkVisibility alone said such content was visible in one Chromium run.
        const closed = el.closest('details:not([open])') && !el.closest('summary');
        return shown && !closed && shown.checkVisibility({ visibilityProperty: true });
      })
      .map((el) => el.id || el.dataset.testid || el.getAttribute('aria-label') || el.textContent.trim()));
    assert.ok(controls.length >= 5, `too few controls found: ${controls}`);

    const reached = new Set();
    for (let i = 0; i < controls.length + 20; i += 1) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const el = document.activeElement;
        // Past the last control Tab moves into the browser's own UI; headless Firefox then keeps
        // moving document.activeElement but the document never has focus again (nor a ring).
        if (!el || el === document.body || !el.matches(':focus')) return null;
        // A hidden file input shows its focus on the label that stands in for it.
        const shown = el.matches('input.visually-hidden') ? document.querySelector(`label[for="${el.id}"]`) : el;
        const style = getComputedStyle(shown);
        const rect = shown.getBoundingClientRect();
        return {
          name: el.id || el.dataset.testid || el.getAttribute('aria-label') || el.textContent.trim(),
          ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
          visible: rect.width > 0 && rect.height > 0,
        };
      });
      if (!focused) continue;
      assert.ok(focused.visible, `Tab landed on something invisible: ${focused.name}`);
      assert.ok(focused.ring, `no visible focus ring on ${focused.name}`);
      reached.add(focused.name);
    }
    for (const control of controls) assert.ok(reached.has(control), `${control} is never reached with Tab (reached: ${[...reached]})`);

    // A sample photo chosen with the keyboard, on a fresh page (past the last control Tab went into
    // the browser's UI, and headless Firefox keeps the document unfocused after that): Tab to it,
    // press Enter, and the live region says what it is.
    const fresh = await openReady(context, session.server.baseUrl);
    const onSample = () => fresh.evaluate(() => document.activeElement?.matches('#samples button:focus') ?? false);
    for (let i = 0; i < controls.length && !(await onSample()); i += 1) await fresh.keyboard.press('Tab');
    assert.ok(await onSample(), 'Tab never reached a sample photo');
    await classifyWith(fresh, () => fresh.keyboard.press('Enter'));
    const live = await fresh.locator('[aria-live]').evaluateAll((regions) => regions.map((r) => r.textContent).join(' '));
    const top = await fresh.getByTestId('top-label').textContent();
    assert.ok(top && top !== '—', 'no class shown');
    assert.ok(live.includes(top), `the live regions do not announce ${top}: ${live}`);
    await context.close();
  });
});
