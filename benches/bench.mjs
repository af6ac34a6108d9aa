// The benchmark: native tract, our wasm builds, onnxruntime-web and TF.js's wasm backend (one
// thread and several) in one headless Chromium on a cross-origin isolated page, the 12 MP photo
// end to end, and download sizes. Run by `cargo xtask bench`, which builds first.
//
// usage: node benches/bench.mjs [--runs N] [--settle MS] [--pkg DIR] [--out FILE]
//   --settle  idle time before each timed run of the warm rounds (default 50 ms; 0 before run 7)
//   --pkg   wasm-bindgen output to measure (default dist/pkg), e.g. a variant built for a lever
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

import { launchOptions } from './chromium.mjs';
import { serve } from './server.mjs';
import { sizes } from './sizes.mjs';
import { summary } from './stats.mjs';
import { e2eInPage, hasRealPage } from './e2e_page.mjs';
import { report } from './report.mjs';
import { startServer } from '../tests/page/harness.mjs';
import { measureFirstVisit } from '../tests/page/first-visit.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '40' },
    cold: { type: 'string', default: '7' },
    settle: { type: 'string', default: '50' },
    e2e: { type: 'string', default: '10' },
    pkg: { type: 'string', default: 'dist/pkg' },
    out: { type: 'string', default: 'benches/results/latest.json' },
  },
});
const runs = Number(opt.runs);
/** Which runtime a row of the warm rounds belongs to: ours, onnxruntime-web's or TF.js's. */
const runtimeOf = (engine) => (engine.startsWith('ort') ? 'ort' : engine.startsWith('tfjs') ? 'tfjs' : 'ours');
const rowsOf = (warm, runtime) => Object.entries(warm).filter(([name]) => runtimeOf(name) === runtime);
const pkgDir = resolve(root, opt.pkg);
const photo = join(root, 'target/bench/photo-12mp.jpg');
const modelPath = join(root, 'dist/models/food11-mobilenetv2.onnx');
// The same model laid out for TF.js by benches/tfjs_export.py (`cargo xtask bench` writes it).
const tfjsNetwork = join(root, 'target/bench/tfjs');
const wasmFiles = {
  simd128: 'food_classifier_bg.wasm',
  'relaxed-simd': 'food_classifier_relaxed_bg.wasm',
  threads: 'threads/food_classifier_bg.wasm',
};
for (const need of [...Object.values(wasmFiles).map((f) => join(pkgDir, f)), modelPath, photo, join(tfjsNetwork, 'network.json')]) {
  if (!existsSync(need)) throw new Error(`${need} is missing: run \`cargo xtask bench\`, which builds it`);
}
/**
 * A file's content version: the page asks for the engine and the model by theirs (`?v=`), and so
 * does the benchmark, so that they come back as a returning visitor's do.
 */
const contentVersion = (file) => createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
const versions = {
  ...Object.fromEntries(Object.values(wasmFiles).map((f) => [f, contentVersion(join(pkgDir, f))])),
  model: contentVersion(modelPath),
};

const loadBefore = loadavg()[0];
console.error(`native tract: ${runs} runs ...`);
const native = JSON.parse(
  execFileSync(join(root, 'target/release/food-classifier'), ['bench', '--json', '--runs', String(runs)], {
    encoding: 'utf8',
  }),
);

const server = await serve({
  '/pkg/': pkgDir,
  '/dist/': join(root, 'dist'),
  '/ort/': join(root, 'node_modules/onnxruntime-web/dist'),
  '/bench/': join(root, 'benches'),
  '/tfjs/core/': join(root, 'node_modules/@tensorflow/tfjs-core/dist'),
  '/tfjs/wasm/': join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'),
  '/tfjs/network/': tfjsNetwork,
});
const browser = await chromium.launch(launchOptions);
// A returning visitor's browser keeps a profile on disk, and with it Chromium's code cache: the
// engine's optimised functions from earlier visits. A context of `browser.newContext()` is like a
// private window and keeps no code cache, so both are measured.
const profileDir = mkdtempSync(join(tmpdir(), 'food-classifier-bench-'));
const returning = await chromium.launchPersistentContext(profileDir, launchOptions);
try {
  const urls = {
    pkg: `${server.url}/pkg`,
    modelUrl: `${server.url}/dist/models/food11-mobilenetv2.onnx`,
    metaUrl: `${server.url}/dist/models/model.json`,
    photoUrl: `${server.url}/dist/samples/rice.jpg`,
    versions,
    ortUrl: `${server.url}/ort`,
    tfjsUrl: `${server.url}/tfjs`,
    tfjsNetworkUrl: `${server.url}/tfjs/network/network.json`,
    tfjsWeightsUrl: `${server.url}/tfjs/network/weights.bin`,
  };
  const context = await browser.newContext();
  const page = reportErrors(await context.newPage());

  console.error('cold start: a returning visitor, then a private window ...');
  const cold = await coldStarts(returning, urls, Number(opt.cold));
  const coldPrivate = await coldStarts(context, urls, Number(opt.cold));

  console.error(`warm: ours vs onnxruntime-web and TF.js, one thread and several, ${runs} interleaved rounds ...`);
  await page.goto(`${server.url}/bench/page.html`);
  const info = await page.evaluate((u) => window.bench.setup(u), urls);
  const warm = await page.evaluate(([n, w, settle]) => window.bench.warm(n, w, settle), [runs, 5, Number(opt.settle)]);

  console.error('12 MP photo end to end ...');
  await page.evaluate(() => window.bench.armPhotoInput());
  const e2eBench = [];
  for (let i = 0; i <= Number(opt.e2e); i++) {
    await page.setInputFiles('#photo', photo);
    await page.waitForFunction(() => window.bench.e2eDone());
    const r = await page.evaluate(() => window.bench.takeE2e());
    if (r.error) throw new Error(`the bench page could not classify the 12 MP photo: ${r.error}`);
    if (i > 0) e2eBench.push(r);
  }
  // The real page runs alone, as a person's tab does: the bench page's engines (ours,
  // onnxruntime-web's and TF.js's, with their thread pools) close first.
  await page.close();
  let e2ePage = null;
  if (hasRealPage(root)) {
    try {
      e2ePage = await e2eInPage(context, `${server.url}/dist/index.html`, photo, Number(opt.e2e));
    } catch (e) {
      console.error(`the real page could not be timed (${e.message.split('\n')[0]}); reporting the bench page's e2e`);
    }
  }

  console.error('first visit, as `serve` sends it ...');
  const firstVisit = await firstVisitThroughServe(browser);

  const results = {
    machine: {
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      load_1min_before: loadBefore,
      load_1min_after: loadavg()[0],
      chromium: browser.version(),
      onnxruntime_web: info.ortVersion,
      tfjs: Object.values(info.tfjs)[0]?.version,
      cross_origin_isolated: info.crossOriginIsolated,
      settle_ms: Number(opt.settle),
      date: new Date().toISOString(),
    },
    native,
    // Our builds by name (simd128, relaxed-simd and threads where Chromium runs them); the page
    // runs `page_build`; `threads` is how many threads each computes on.
    ours: Object.fromEntries(rowsOf(warm, 'ours').map(([name, rounds]) => [name, {
      wall: summary(rounds.map((r) => r.wallMs)),
      inference: summary(rounds.map((r) => r.inferenceMs)),
      label: rounds[0].label,
    }])),
    page_build: info.pageBuild,
    threads: info.threads,
    // onnxruntime-web on one thread (`ort`) and on as many as our threaded build (`ort_N_threads`).
    ort: Object.fromEntries(rowsOf(warm, 'ort').map(([name, rounds]) => [name, {
      wall: summary(rounds.map((r) => r.wallMs)),
      session_create_ms: info.ortLoadMs[name],
      label: rounds[0].label,
    }])),
    // TF.js's wasm backend on one thread (`tfjs`, its SIMD build) and on as many as ours
    // (`tfjs_N_threads`, its threaded SIMD build); max_logit_difference is against onnxruntime-web.
    tfjs: Object.fromEntries(rowsOf(warm, 'tfjs').map(([name, rounds]) => [name, {
      wall: summary(rounds.map((r) => r.wallMs)),
      load_ms: info.tfjs[name].loadMs,
      threads: info.tfjs[name].threads,
      reported_threads: info.tfjs[name].reportedThreads,
      wasm_file: info.tfjs[name].wasmFile,
      simd: info.tfjs[name].simd,
      max_logit_difference: info.tfjs[name].maxLogitDifference,
      label: rounds[0].label,
    }])),
    // A returning visitor (a profile on disk: files and compiled code cached), and a private
    // window (files cached, code compiled afresh each time).
    cold: coldSummary(cold),
    cold_private: coldSummary(coldPrivate),
    e2e_bench_page: { total: summary(e2eBench.map((r) => r.totalMs)), decode_resize: summary(e2eBench.map((r) => r.decodeResizeMs)), label: e2eBench[0].label },
    e2e_real_page: e2ePage,
    // Bytes `serve` sends a fresh browser that accepts brotli: until ready, and with the offline copy.
    first_visit: firstVisit,
    sizes: {
      wasm: sizes(join(pkgDir, wasmFiles.simd128)),
      wasm_relaxed: sizes(join(pkgDir, wasmFiles['relaxed-simd'])),
      wasm_threads: sizes(join(pkgDir, wasmFiles.threads)),
      js_glue: sizes(join(pkgDir, 'food_classifier.js')),
      model: sizes(modelPath),
    },
  };
  const out = resolve(root, opt.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report(results), null, 2) + '\n');
  console.error(`wrote ${out}`);
} finally {
  await returning.close();
  await browser.close();
  rmSync(profileDir, { recursive: true, force: true });
  server.close();
}

/**
 * Cold starts of the page's build: fresh loads of the bench page in `context`, each with the
 * files in its service worker's Cache Storage, as the page's returning visitors have them; the
 * loads before that (the worker not yet in control, then storing the files) are not counted.
 * After each load the page stays open a few seconds, as a visitor's does: Chromium writes a
 * module's optimised code to its code cache once no new code has been optimised for 2 s.
 */
async function coldStarts(context, urls, loads) {
  const page = reportErrors(await context.newPage());
  const runs = [];
  // Loads until the service worker controls the page and has stored the files are not counted.
  let storedByWorker = false;
  for (let i = 0; runs.length < loads && i < loads + 4; i++) {
    await page.goto(`${server.url}/bench/page.html`);
    const r = await page.evaluate((u) => window.bench.coldStart(u.pkg, u.modelUrl, u.metaUrl, u.photoUrl, u.versions), urls);
    if (r.controlled && storedByWorker) runs.push(r);
    storedByWorker ||= r.controlled;
    await page.waitForTimeout(3000);
  }
  await page.close();
  if (runs.length < loads) throw new Error(`the service worker served only ${runs.length} of ${loads} cold starts`);
  return runs;
}

/** The site's first visit through the real `serve` (the benchmark's own server sends files as they are). */
async function firstVisitThroughServe(browser) {
  const site = await startServer();
  const context = await browser.newContext();
  try {
    const visit = await measureFirstVisit(context, site.baseUrl);
    const summarise = (part) => ({ bytes: part.bytes, files: part.files.length, largest: part.files.slice(0, 3) });
    return { before_ready: summarise(visit.before_ready), total: summarise(visit.total) };
  } finally {
    await context.close();
    await site.stop();
  }
}

/** `page`, with its errors passed on to the benchmark's output. */
function reportErrors(page) {
  page.on('console', (m) => m.type() === 'error' && console.error(`[page] ${m.text()}`));
  page.on('pageerror', (e) => console.error(`[page] ${e}`));
  return page;
}

function coldSummary(runs) {
  return {
    total: summary(runs.map((r) => r.totalMs)),
    fetch_compile: summary(runs.map((r) => r.fetchCompileMs)),
    model_load: summary(runs.map((r) => r.modelLoadMs)),
    // The engine's own account of model_load, step by step (its SetupTimings).
    model_load_steps: Object.fromEntries(
      Object.keys(runs[0].setupSteps).map((step) => [step, summary(runs.map((r) => r.setupSteps[step]))]),
    ),
    pool_start: summary(runs.map((r) => r.poolStartMs)),
    first_inference: summary(runs.map((r) => r.firstInferenceMs)),
  };
}
