// What a first visit costs in bytes as `serve` sends it: every file the browser asked for until the
// page said ready, then every file the service worker keeps for offline use, each counted as `serve`
// sends it to a browser that accepts brotli (the compressed body, headers left out). Shared by the
// page test that holds the site to its budget and by the benchmark, which records it.
import http from 'node:http';
import { openReady } from './harness.mjs';

/** Bytes of the body `serve` sends for `url` to a browser that accepts brotli, as sent. */
function bytesSent(url) {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { 'Accept-Encoding': 'br, gzip' } }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`${url}: HTTP ${response.statusCode}`));
        return;
      }
      let bytes = 0;
      response.on('data', (chunk) => { bytes += chunk.length; });
      response.on('end', () => resolve({ bytes, encoding: response.headers['content-encoding'] ?? 'identity' }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** The total of `urls` and the files behind it, largest first, from each URL's `sent` entry. */
function tally(urls, sent) {
  const files = [...urls].map((url) => ({ path: new URL(url).pathname, ...sent.get(url) }));
  files.sort((a, b) => b.bytes - a.bytes);
  return { bytes: files.reduce((sum, f) => sum + f.bytes, 0), files };
}

/**
 * Opens the site at `baseUrl` in `context` (a fresh one: nothing cached) and measures its first
 * visit: `before_ready` (the files asked for until the page said ready) and `total` (those and
 * everything the service worker stored for offline use).
 */
export async function measureFirstVisit(context, baseUrl) {
  const origin = new URL(baseUrl).origin;
  // The site's own files: not other hosts, nor the blob: URLs the page makes of what it already has.
  const fromSite = (url) => url.startsWith(`${origin}/`);
  const asked = new Set();
  context.on('request', (request) => {
    if (fromSite(request.url())) asked.add(request.url());
  });
  const page = await openReady(context, baseUrl);
  const beforeReady = new Set(asked);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 120_000 });
  const stored = await page.evaluate(async () => {
    const urls = [];
    for (const name of await caches.keys()) {
      for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
    }
    return urls;
  });
  const all = new Set([...beforeReady, ...stored.filter(fromSite)]);
  // Each file asked of `serve` once, whichever part of the visit it belongs to.
  const sent = new Map(await Promise.all([...all].map(async (url) => [url, await bytesSent(url)])));
  return { before_ready: tally(beforeReady, sent), total: tally(all, sent) };
}
