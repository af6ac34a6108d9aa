// The rule that keeps a threaded build's pool or leaves photos on one thread (no browser needed:
// the run times here come from a clock the test moves).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choosePool, keepPool } from '../../www/js/thread-choice.js';

test('the pool is kept only when its median run beats one thread by 5 %', () => {
  assert.equal(keepPool([20, 21, 90], [30, 31, 29]), true, 'one slow pool run does not decide');
  assert.equal(keepPool([29, 29, 29], [30, 30, 30]), false, 'a gain within 5 % is not worth the cores');
  assert.equal(keepPool([52, 50, 51], [31, 30, 32]), false);
});

/** A clock that each run moves on by the pool's or one thread's time, as `usePool` last set. */
function machine(poolMs, oneMs) {
  let clock = 0;
  let on = false;
  const settings = [];
  return {
    settings,
    now: () => clock,
    run: () => { clock += on ? poolMs : oneMs; },
    usePool: (value) => { on = value; settings.push(value); },
  };
}

test('both settings are timed in turn and the faster is left on', async () => {
  for (const [poolMs, oneMs, kept] of [[18, 30, true], [50, 31, false]]) {
    const m = machine(poolMs, oneMs);
    const choice = await choosePool(m.run, m.usePool, { now: m.now, pauseMs: 0 });
    assert.deepEqual(choice, { pool: kept, pool_ms: poolMs, one_ms: oneMs });
    assert.deepEqual(m.settings.slice(0, 6), [true, false, true, false, true, false]);
    assert.equal(m.settings.at(-1), kept, 'the setting left on is the one chosen');
  }
});
