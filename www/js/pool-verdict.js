// What an earlier visit measured about the threaded build's pool on this device, kept in the
// page's storage. Where the pool was no faster than one thread, the next visit loads the
// one-thread build straight away: it compiles sooner (the threaded wasm carries a rebuilt std and
// shared memory) and runs a photo no slower, so the page is ready sooner. The verdict holds for
// one threaded build (its content version) and thread count, and for a month: a new engine or a
// changed machine is measured again.

const KEY = 'food-classifier.pool-verdict';
const MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;

/** The page's storage, or null where the browser refuses it (storage blocked, a sandbox). */
function pageStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * Keeps the pool's measurement (`choice`: `{ pool, pool_ms, one_ms }`, as `choosePool` gives it)
 * for the threaded build of content `version` on `threads` threads. A storage that refuses the
 * write only means the next visit measures again.
 */
export function rememberPoolVerdict(choice, { version, threads, storage = pageStorage(), now = Date.now() }) {
  const verdict = { version, threads, pool: choice.pool, pool_ms: choice.pool_ms, one_ms: choice.one_ms, at: now };
  try {
    storage?.setItem(KEY, JSON.stringify(verdict));
  } catch {
    // Full or blocked storage: nothing is remembered.
  }
}

/**
 * The verdict an earlier visit kept for this threaded build and thread count
 * (`{ pool, pool_ms, one_ms, at }`), or null when there is none that still holds.
 */
export function recallPoolVerdict({ version, threads, storage = pageStorage(), now = Date.now() }) {
  let verdict;
  try {
    verdict = JSON.parse(storage?.getItem(KEY) ?? 'null');
  } catch {
    return null;
  }
  const holds = verdict !== null && typeof verdict === 'object'
    && verdict.version === version && verdict.threads === threads
    && typeof verdict.pool === 'boolean' && Number.isFinite(verdict.at)
    && verdict.at <= now && now - verdict.at < MAX_AGE_MS;
  return holds ? verdict : null;
}
