// Two builds of our engine side by side, for deciding a lever: each in its own dedicated worker
// (benches/engine-worker.js, as the benchmark and the page run it), runs alternating A/B and B/A
// in one headless Chromium page, each after the benchmark's 50 ms settle. Differences of a few
// per cent drift between page loads on a shared machine, so it repeats the whole comparison and
// prints each repeat's medians: a lever is real when B - A keeps its sign in every repeat.
//
// usage: node benches/ab.mjs --a WASM --b WASM [--rounds 100] [--repeat 5] [--threads N]
//   WASM: a wasm-bindgen output file, with its `food_classifier.js` beside it (for example
//   dist/pkg/food_classifier_relaxed_bg.wasm against a variant built into another folder).
//   --threads: two threaded builds (dist/pkg/threads/...), each run on its pool of N threads. Run
//   both orders (--a X --b Y, then --a Y --b X): with two pools alive, the build loaded second
//   won in both orders of one comparison (README, lever table).
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

import { launchOptions } from './chromium.mjs';
import { serve } from './server.mjs';
import { summary } from './stats.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const { values: opt } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    rounds: { type: 'string', default: '100' },
    repeat: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1' },
  },
});
if (!opt.a || !opt.b) throw new Error('usage: node benches/ab.mjs --a WASM --b WASM [--rounds N] [--repeat N] [--threads N]');
const builds = { a: resolve(opt.a), b: resolve(opt.b) };

const server = await serve({
  '/a/': dirname(builds.a),
  '/b/': dirname(builds.b),
  '/dist/': join(root, 'dist'),
  '/bench/': join(root, 'benches'),
});
const browser = await chromium.launch(launchOptions);
try {
  console.log('repeat   A wall   A tract   B wall   B tract   B - A wall');
  for (let repeat = 1; repeat <= Number(opt.repeat); repeat++) {
    const page = await browser.newPage();
    await page.goto(`${server.url}/bench/page.html`);
    const runs = await page.evaluate(compare, {
      base: server.url, wasm: { a: basename(builds.a), b: basename(builds.b) }, rounds: Number(opt.rounds),
      threads: Number(opt.threads),
    });
    const median = (name, field) => summary(runs[name].map((r) => r[field])).median_ms;
    const m = Object.fromEntries(['a', 'b'].map((name) => [name, { wall: median(name, 'wallMs'), tract: median(name, 'inferenceMs') }]));
    const ms = (v) => v.toFixed(2).padStart(9);
    console.log(`${String(repeat).padStart(6)}${ms(m.a.wall)}${ms(m.a.tract)}${ms(m.b.wall)}${ms(m.b.tract)}${ms(m.b.wall - m.a.wall).padStart(13)}`);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}

/**
 * In the page: both builds loaded with the shipped model (and on a pool of `threads` threads when
 * more than one), then `rounds` interleaved runs each; returns each build's runs (the engine
 * worker's `{ wallMs, inferenceMs }`).
 */
async function compare({ base, wasm, rounds, threads }) {
  const worker = async (name) => {
    const w = new Worker(`${base}/bench/engine-worker.js`, { type: 'module' });
    const call = (type, data = {}) => new Promise((res, rej) => {
      w.onmessage = ({ data: reply }) => (reply.error ? rej(new Error(reply.error)) : res(reply.ok));
      w.postMessage({ type, ...data });
    });
    await call('load', {
      glue: `${base}/${name}/food_classifier.js`,
      wasm: `${base}/${name}/${wasm[name]}`,
      modelUrl: `${base}/dist/models/food11-mobilenetv2.onnx`,
      metaUrl: `${base}/dist/models/model.json`,
    });
    if (threads > 1) await call('pool', { threads });
    return call;
  };
  const engines = { a: await worker('a'), b: await worker('b') };
  const side = 224;
  const rgba = new Uint8Array(side * side * 4).map((_, i) => (i * 37) % 251);
  const runs = { a: [], b: [] };
  const warmup = 5;
  for (let i = 0; i < warmup + rounds; i++) {
    for (const name of i % 2 ? ['a', 'b'] : ['b', 'a']) {
      await new Promise((r) => setTimeout(r, 50));
      const r = await engines[name]('run', { rgba: rgba.slice(), width: side, height: side });
      if (i >= warmup) runs[name].push(r);
    }
  }
  return runs;
}
