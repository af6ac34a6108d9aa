// The page's service worker (www/sw.js) as the cold start meets it: for a returning visitor the
// engine, its glue and the model come from Cache Storage, not from the HTTP cache (the glue
// through this worker, the engine and the model read there by the engine's worker itself, as the
// page's does). The product's worker precaches its versioned file list when installed; this one
// stores what the bench page fetches the first time it controls it, which the benchmark does not
// count.
const CACHE = 'food-classifier-bench';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || !/^\/(pkg|dist)\//.test(url.pathname)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(request);
    if (hit) return hit;
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  })());
});
