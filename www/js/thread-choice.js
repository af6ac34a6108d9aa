// Whether a threaded build's pool makes photos faster on this machine, measured once it has
// started. On some machines two threads finish a photo in well under the time of one; on others
// (two cores shared with the browser and the system, or a browser still busy optimising the
// engine's code) the second thread gains nothing or loses. Only timing both tells.

/** The quiet before each timed run: a person's photos never come back to back. */
const PAUSE_MS = 50;
/** Timed runs on each setting, alternated so a passing slowdown hits both alike. */
const ROUNDS = 3;
/** The pool is kept only when it is at least this much faster: otherwise it would only use cores. */
const GAIN_NEEDED = 0.95;
/**
 * The choice is measured once more this long after the first. In a fresh browser profile's first
 * visits the first measurement comes while the browser is probably still optimising the engine's
 * code beside it, and the pool measured slower than one thread there (32-36 ms against 28-32 on
 * a 2-core machine, where later visits measured 20-22 against 28-36); three seconds after ready
 * the pool was the faster in each of six visits measured (three in each of two fresh profiles).
 */
const MEASURE_AGAIN_AFTER_MS = 5000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once it is time to measure the choice again. */
export const untilMeasureAgain = () => sleep(MEASURE_AGAIN_AFTER_MS);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Whether to keep the pool, from the run times (ms) measured on it and on one thread: its median
 * must beat one thread's by the margin.
 */
export function keepPool(poolMs, oneMs) {
  return median(poolMs) <= GAIN_NEEDED * median(oneMs);
}

/**
 * Times `run` with the pool on and off (`usePool(on)` switches), each after a pause, and leaves
 * the faster setting on: `{ pool: boolean, pool_ms, one_ms }`, the medians in ms. `now` and
 * `pauseMs` are for tests.
 */
export async function choosePool(run, usePool, { now = () => performance.now(), pauseMs = PAUSE_MS } = {}) {
  const times = { pool: [], one: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const on of [true, false]) {
      usePool(on);
      await sleep(pauseMs);
      const t0 = now();
      run();
      times[on ? 'pool' : 'one'].push(now() - t0);
    }
  }
  const pool = keepPool(times.pool, times.one);
  usePool(pool);
  return { pool, pool_ms: median(times.pool), one_ms: median(times.one) };
}
