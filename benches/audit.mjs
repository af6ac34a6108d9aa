// The page judged by outside auditors: Lighthouse (npm, pinned) in Debian's Chromium against the
// real `food-classifier serve`, mobile and desktop presets, and Chromium's own installability
// check (the one that decides whether the browser offers "Install app"). Run by
// `cargo xtask audit`, which builds first. Scores are recorded, not asserted: performance is a
// timing, and this machine is shared.
//
// usage: node benches/audit.mjs [--out FILE]
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { ROOT, startServer } from '../tests/page/harness.mjs';

const { values: opt } = parseArgs({ options: { out: { type: 'string', default: 'benches/results/audit.json' } } });
const CHROME = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const LIGHTHOUSE = path.join(ROOT, 'node_modules/lighthouse/cli/index.js');
const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'];
const REPORTS = path.join(ROOT, 'target/audit');

/** One Lighthouse run; returns the scores, the layout shift and every audit that did not pass. */
async function lighthouse(url, preset) {
  const output = path.join(REPORTS, `lighthouse-${preset}.json`);
  const args = [LIGHTHOUSE, url, `--only-categories=${CATEGORIES.join(',')}`, '--output=json',
    `--output-path=${output}`, '--quiet', '--chrome-flags=--headless=new --no-sandbox --disable-gpu'];
  if (preset === 'desktop') args.push('--preset=desktop');
  await promisify(execFile)(process.execPath, args, { env: { ...process.env, CHROME_PATH: CHROME }, maxBuffer: 64 << 20 });
  const lhr = JSON.parse(readFileSync(output, 'utf8'));
  const scores = Object.fromEntries(CATEGORIES.map((c) => [c, Math.round(lhr.categories[c].score * 100)]));
  const audited = new Set(CATEGORIES.flatMap((c) => lhr.categories[c].auditRefs.map((r) => r.id)));
  const failing = Object.values(lhr.audits)
    .filter((a) => audited.has(a.id) && a.score !== null && a.score < 1 && a.scoreDisplayMode !== 'informative'
      && a.scoreDisplayMode !== 'manual' && a.scoreDisplayMode !== 'notApplicable')
    .map((a) => `${a.id}: ${a.title}${a.displayValue ? ` (${a.displayValue})` : ''}`);
  const metric = (id) => lhr.audits[id]?.numericValue;
  return {
    lighthouse: lhr.lighthouseVersion,
    scores,
    cumulative_layout_shift: Number(metric('cumulative-layout-shift')?.toFixed(3)),
    largest_contentful_paint_ms: Math.round(metric('largest-contentful-paint')),
    total_blocking_time_ms: Math.round(metric('total-blocking-time')),
    transferred_bytes: metric('total-byte-weight'),
    not_passing: failing,
  };
}

/** Chromium's installability verdict for the page and the manifest it read. */
async function installability(url) {
  // A profile on disk: Chromium never offers to install an app from an incognito (in-memory) one.
  const profile = mkdtempSync(path.join(tmpdir(), 'audit-profile-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROME, headless: true, args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 120_000 });
    const cdp = await browser.newCDPSession(page);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    const { url: manifestUrl, errors } = await cdp.send('Page.getAppManifest');
    return {
      installable: installabilityErrors.length === 0 && errors.length === 0,
      errors: [...installabilityErrors.map((e) => e.errorId), ...errors.map((e) => e.message)],
      manifest: manifestUrl,
    };
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

mkdirSync(REPORTS, { recursive: true });
const server = await startServer();
try {
  const results = { machine: `${cpus().length} x ${cpus()[0].model}`, chromium: CHROME, date: new Date().toISOString() };
  for (const preset of ['mobile', 'desktop']) {
    console.error(`lighthouse ${preset} ...`);
    results[preset] = await lighthouse(server.baseUrl, preset);
  }
  results.installability = await installability(server.baseUrl);
  const out = path.resolve(ROOT, opt.out);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 1)}\n`);

  console.log(`\nLighthouse ${results.mobile.lighthouse}, ${results.machine}`);
  console.log('preset   performance  accessibility  best-practices  seo  layout shift');
  for (const preset of ['mobile', 'desktop']) {
    const r = results[preset];
    const s = r.scores;
    console.log(`${preset.padEnd(8)} ${String(s.performance).padStart(11)}  ${String(s.accessibility).padStart(13)}  `
      + `${String(s['best-practices']).padStart(14)}  ${String(s.seo).padStart(3)}  ${String(r.cumulative_layout_shift).padStart(12)}`);
    for (const line of r.not_passing) console.log(`         not passing: ${line}`);
  }
  const install = results.installability;
  console.log(`installable: ${install.installable ? 'yes' : `no (${install.errors.join(', ')})`}`);
  console.log(`saved ${path.relative(ROOT, out)}; full reports in ${path.relative(ROOT, REPORTS)}/`);
} finally {
  await server.stop();
}
