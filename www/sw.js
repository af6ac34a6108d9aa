// Versioned precache: `cargo xtask web` replaces the PRECACHE line with the built site's file list
// and a content hash, so any change to the site installs a fresh cache and the old one is deleted.
const PRECACHE = { version: 'dev', files: ['./', 'index.html'] };
const CACHE = `food-classifier-${PRECACHE.version}`;
importScripts('js/engine-build.js');

self.addEventListener('install', (event) => {
  // Only the engine build this browser will run: the other is never downloaded.
  const unused = new Set(self.engineBuild().others);
  const files = PRECACHE.files.filter((file) => !unused.has(file.split('?')[0]));
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(files)).then(() => self.skipWaiting()));
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
