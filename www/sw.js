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
    // Only the engine build this browser will run: the others are never downloaded.
    const unused = new Set(self.engineBuild(undefined, { isolated: await pageIsolated() }).others);
    const files = PRECACHE.files.filter((file) => !unused.has(file.split('?')[0]));
    await (await caches.open(CACHE)).addAll(files);
    await self.skipWaiting();
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
