// Downloads a file while reporting bytes received of the total, so the page can show a progress bar.
import { cachedFetch } from './cached-fetch.js';

/**
 * `size`, when known, is the file's own size: the body is counted as it arrives decoded, so a
 * compressed response's `Content-Length` is not its total. Without either the total is 0 (unknown).
 */
export async function fetchWithProgress(url, onProgress, size) {
  const response = await cachedFetch(url);
  if (!response.ok) throw new Error(`Could not download ${url} (HTTP ${response.status}).`);
  const encoded = response.headers.get('Content-Encoding');
  const total = size || (encoded ? 0 : Number(response.headers.get('Content-Length')) || 0);
  if (!response.body) {
    const buffer = new Uint8Array(await response.arrayBuffer());
    onProgress(buffer.length, buffer.length);
    return buffer;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
