// Versioned precache: `cargo xtask web` replaces the PRECACHE line with the built site's file list
// and a content hash, so any change to the site installs a fresh cache and the old one is deleted.
const PRECACHE = { version: 'dev', files: ['./', 'index.html'] };
const CACHE = `food-classifier-${PRECACHE.version}`;
importScripts('js/engine-build.js');

/**
 * Whether the page will be cross-origin isolated (and so run the threaded engine): this worker's
 * own state where the browser isolates service workers, else what the page's headers ask for.
 */
async function pageIsolated() {
  if (self.crossOriginIsolated) return true;
  const shell = await fetch('./', { cache: 'no-store' });
  return shell.headers.get('cross-origin-opener-policy') === 'same-origin'
    && shell.headers.get('cross-origin-embedder-policy') === 'require-corp';
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    // Only the engine build this browser will run, and a build an earlier version saved on request
    // (the one-thread build where the pool was no faster): the others are never downloaded.
    const unused = new Set(self.engineBuild(undefined, { isolated: await pageIsolated() }).others);
    for (const path of await savedEarlier()) unused.delete(path);
    const files = PRECACHE.files.filter((file) => !unused.has(file.split('?')[0]));
    await (await caches.open(CACHE)).addAll(files);
    await self.skipWaiting();
  })());
});

/** The site files (paths from the site's root, no version) that earlier versions' caches hold. */
async function savedEarlier() {
  const paths = [];
  for (const key of await caches.keys()) {
    if (!key.startsWith('food-classifier-') || key === CACHE) continue;
    for (const request of await (await caches.open(key)).keys()) {
      paths.push(new URL(request.url).pathname.slice(new URL(self.registration.scope).pathname.length));
    }
  }
  return paths;
}

// A page may ask for a precache file that install left out (`{type: 'keep', paths}`, paths from
// the site's root without the version, and a port for the answer `{ok}` or `{ok: false, error}`):
// the one-thread engine build, once the page has found that the threaded build's pool is no
// faster on this device and loads that build from then on. Only files of the precache list are
// taken; one already saved is not downloaded again.
self.addEventListener('message', (event) => {
  if (event.data?.type !== 'keep' || !Array.isArray(event.data.paths)) return;
  const wanted = new Set(event.data.paths);
  const files = PRECACHE.files.filter((file) => wanted.has(file.split('?')[0]));
  const [reply] = event.ports;
  event.waitUntil((async () => {
    try {
      if (files.length < wanted.size) throw new Error(`not site files: ${[...wanted].join(', ')}`);
      const cache = await caches.open(CACHE);
      for (const file of files) {
        if (!(await cache.match(file))) await cache.add(file);
      }
      reply?.postMessage({ ok: true });
    } catch (error) {
      reply?.postMessage({ ok: false, error: error?.message || String(error) });
    }
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('food-classifier-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // Precached files never change within a version: cache first, network for anything else.
    const hit = await cache.match(request, { ignoreSearch: true });
    if (hit) return hit;
    try {
      return await fetch(request);
    } catch (error) {
      if (request.mode === 'navigate') {
        const page = await cache.match('index.html');
        if (page) return page;
      }
      throw error;
    }
  })());
});
