// A minimal static file server for the demo: what "any static server" means, nothing more.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.ts': 'text/plain; charset=utf-8',
};

// `mounts` maps a URL prefix to another directory (e.g. to serve a module built elsewhere).
export function startServer(root, { mounts = {} } = {}) {
  const cache = new Map();
  const server = http.createServer((req, res) => {
    let url;
    try { url = decodeURIComponent(new URL(req.url, 'http://x').pathname); } catch { res.writeHead(400).end(); return; }
    if (url.endsWith('/')) url += 'index.html';
    let base = root, rel = url;
    for (const [prefix, dir] of Object.entries(mounts)) {
      if (url.startsWith(prefix)) { base = dir; rel = url.slice(prefix.length - 1); }
    }
    const file = path.join(base, path.normalize(rel));
    if (!file.startsWith(path.resolve(base))) { res.writeHead(403).end(); return; }
    // Held in memory after the first read so that load timings measure the page, not the disk.
    const send = (body) => {
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (cache.has(file)) { send(cache.get(file)); return; }
    fs.readFile(file, (err, body) => {
      if (err) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return; }
      cache.set(file, body);
      send(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    resolve({ url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(r)) });
  }));
}
