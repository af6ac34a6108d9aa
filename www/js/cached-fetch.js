// A returning visitor's large files, read straight from Cache Storage.

/**
 * `url`'s response, from Cache Storage when a cache there holds this exact URL and it names one
 * content (`?v=`, as the site build versions the engine and the model), else fetched. Read here,
 * a file the service worker precached skips its fetch handler, which passes every chunk on to
 * this thread: the threaded engine (19 MB) arrived and compiled in two thirds of the time. Only
 * versioned URLs: any cache that holds one holds its right bytes, old caches included.
 */
export async function cachedFetch(url) {
  if (new URL(url).searchParams.has('v') && self.caches) {
    const hit = await caches.match(url).catch(() => undefined);
    if (hit) return hit;
  }
  return fetch(url);
}
