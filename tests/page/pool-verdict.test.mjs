// What a visit keeps of its pool measurement for the next (no browser needed: the storage here is
// a map, and the clock a number the test sets).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recallPoolVerdict, rememberPoolVerdict } from '../../www/js/pool-verdict.js';

/** The part of `localStorage` the verdict uses. */
function memoryStorage() {
  const items = new Map();
  return { getItem: (key) => items.get(key) ?? null, setItem: (key, value) => items.set(key, String(value)), items };
}

const DAY = 24 * 60 * 60 * 1000;
const slower = { pool: false, pool_ms: 43.2, one_ms: 26.1 };

test('a verdict comes back for the same threaded build and thread count, within a month', () => {
  const storage = memoryStorage();
  const at = 1_800_000_000_000;
  rememberPoolVerdict(slower, { version: 'abc', threads: 2, storage, now: at });
  assert.deepEqual(recallPoolVerdict({ version: 'abc', threads: 2, storage, now: at + 29 * DAY }),
    { version: 'abc', threads: 2, ...slower, at });
  assert.equal(recallPoolVerdict({ version: 'abd', threads: 2, storage, now: at }), null, 'a new engine is measured again');
  assert.equal(recallPoolVerdict({ version: 'abc', threads: 4, storage, now: at }), null, 'another thread count is measured again');
  assert.equal(recallPoolVerdict({ version: 'abc', threads: 2, storage, now: at + 31 * DAY }), null, 'a month on, measured again');
  assert.equal(recallPoolVerdict({ version: 'abc', threads: 2, storage, now: at - 1 }), null, 'a verdict from the future is not trusted');

  rememberPoolVerdict({ pool: true, pool_ms: 18, one_ms: 26 }, { version: 'abc', threads: 2, storage, now: at + DAY });
  assert.equal(recallPoolVerdict({ version: 'abc', threads: 2, storage, now: at + DAY }).pool, true, 'the latest measurement wins');
});

test('no storage, a refusing storage or a damaged entry only mean no verdict', () => {
  const key = { version: 'abc', threads: 2, now: 1 };
  assert.equal(recallPoolVerdict({ ...key, storage: null }), null);
  assert.doesNotThrow(() => rememberPoolVerdict(slower, { ...key, storage: null }));
  const refusing = { getItem: () => { throw new Error('SecurityError'); }, setItem: () => { throw new Error('QuotaExceededError'); } };
  assert.doesNotThrow(() => rememberPoolVerdict(slower, { ...key, storage: refusing }));
  assert.equal(recallPoolVerdict({ ...key, storage: refusing }), null);
  const storage = memoryStorage();
  for (const damaged of ['{', '42', '"slower"', '{"version":"abc","threads":2,"pool":"no","at":0}', '{"version":"abc","threads":2,"pool":false}']) {
    storage.setItem('food-classifier.pool-verdict', damaged);
    assert.equal(recallPoolVerdict({ ...key, storage }), null, damaged);
  }
  // Without a storage argument the module reads the global one: none in Node.
  assert.equal(recallPoolVerdict({ version: 'abc', threads: 2 }), null);
});
