// A tiny static server for the benchmark: only the folders below, from loopback, cacheable,
// so "cold start with files cached" means what it says. Nothing is fetched from the network.
// Cross-origin isolated, as `serve` is, so both engines may run on several threads.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.jpg': 'image/jpeg',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Serves `mounts` ({'/url/prefix/': '/abs/dir'}) on 127.0.0.1; resolves to the base URL. */
export function serve(mounts) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const prefix = Object.keys(mounts).find((p) => path.startsWith(p));
    const rest = prefix && normalize(path.slice(prefix.length));
    if (!prefix || rest.startsWith('..')) {
      res.writeHead(404).end();
      return;
    }
    const file = join(mounts[prefix], rest.endsWith('/') || rest === '.' ? join(rest, 'index.html') : rest);
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'max-age=3600',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() });
    });
  });
}
