// Starting a threaded build's pool (no browser needed: the bindings here are stand-ins whose pool
// starts, fails or never answers, as a browser's can).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPool } from '../../www/js/engine-load.js';

/** Bindings whose `initThreadPool` settles as `start` does; `pool` records `useThreadPool` calls. */
function bindings(start) {
  const pool = [];
  return { pool, initThreadPool: () => start, useThreadPool: (on) => pool.push(on) };
}

test('a pool that starts takes the engine\'s work', async () => {
  const engine = bindings(Promise.resolve());
  await startPool(engine, 2, 1_000);
  assert.deepEqual(engine.pool, [true]);
});

test('a pool that fails to start leaves the engine on its own thread, with the reason', async () => {
  const engine = bindings(Promise.reject(new Error('no SharedArrayBuffer')));
  await assert.rejects(startPool(engine, 2, 1_000), /no SharedArrayBuffer/);
  assert.deepEqual(engine.pool, []);
});

test('a pool that never starts is given up after the limit, and a late start changes nothing', { timeout: 5_000 }, async () => {
  let late;
  const engine = bindings(new Promise((resolve) => { late = resolve; }));
  const t0 = performance.now();
  await assert.rejects(startPool(engine, 2, 50), /the pool did not start within 0.05 s/);
  assert.ok(performance.now() - t0 >= 45, 'gave up before the limit');
  late();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(engine.pool, []);
});
