// Run the edge worker under Node as a forward-auth endpoint: `/check` answers like the host's,
// from a snapshot fetched from the host and refreshed on a timer.
//
//   SCOPEGATE_URL=http://127.0.0.1:8080 SCOPEGATE_SNAPSHOT_CREDENTIAL=sgak_… node examples/edge/serve.mjs
//
// Settings (environment):
//   SCOPEGATE_URL                   the host, whose GET /admin/v1/edge/snapshot is read (required)
//   SCOPEGATE_SNAPSHOT_CREDENTIAL   an admin credential with the role snapshot-reader, which can
//                                   read the snapshot and nothing else (required; never printed):
//                                   scopegate credential create --name edge --role snapshot-reader
//   SCOPEGATE_EDGE_LISTEN           address to serve on (default 127.0.0.1:8787; port 0 picks one)
//   SCOPEGATE_EDGE_REFRESH_SECONDS  time between snapshot fetches (default 10)
//   SCOPEGATE_EDGE_MAX_AGE_SECONDS  deny everything when no fetch succeeded for this long (default 300)
//   SCOPEGATE_POLICY                the module (default www/pkg/scopegate_policy_bg.wasm of this repository)
//   SCOPEGATE_EDGE_FORWARDED_HEADERS  the forwarding headers the front sets: original (X-Original-*,
//                                   nginx), forwarded (X-Forwarded-*, Caddy, Traefik) or either
//                                   (default), as `scopegate serve --forwarded-headers`

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createEdge } from './worker.mjs';

function fail(message) {
  console.error(`scopegate edge: ${message}`);
  process.exit(2);
}

function seconds(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) fail(`${name} must be a positive number of seconds, not ${JSON.stringify(raw)}`);
  return n;
}

const hostUrl = process.env.SCOPEGATE_URL;
if (!hostUrl) fail('SCOPEGATE_URL is required (the scopegate host, e.g. http://127.0.0.1:8080)');
let snapshotUrl;
try {
  snapshotUrl = new URL('/admin/v1/edge/snapshot', hostUrl);
} catch {
  fail(`SCOPEGATE_URL ${JSON.stringify(hostUrl)} is not a URL`);
}
const credential = process.env.SCOPEGATE_SNAPSHOT_CREDENTIAL;
if (!credential) {
  fail('SCOPEGATE_SNAPSHOT_CREDENTIAL is required to read the snapshot (a snapshot-reader credential)');
}
const listen = process.env.SCOPEGATE_EDGE_LISTEN || '127.0.0.1:8787';
const colon = listen.lastIndexOf(':');
const listenHost = listen.slice(0, colon);
const listenPort = Number(listen.slice(colon + 1));
if (colon < 0 || !Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65535) {
  fail(`SCOPEGATE_EDGE_LISTEN must be host:port, not ${JSON.stringify(listen)}`);
}
const refreshSeconds = seconds('SCOPEGATE_EDGE_REFRESH_SECONDS', 10);
const maxAgeSeconds = seconds('SCOPEGATE_EDGE_MAX_AGE_SECONDS', 300);
const policyPath =
  process.env.SCOPEGATE_POLICY ||
  fileURLToPath(new URL('../../www/pkg/scopegate_policy_bg.wasm', import.meta.url));

let wasm;
try {
  wasm = readFileSync(policyPath);
} catch (e) {
  fail(`cannot read the policy module ${policyPath}: ${e.code ?? e.message} (build it with \`cargo xtask wasm\`)`);
}
const forwardedHeaders = process.env.SCOPEGATE_EDGE_FORWARDED_HEADERS || 'either';
if (!['original', 'forwarded', 'either'].includes(forwardedHeaders)) {
  fail(`SCOPEGATE_EDGE_FORWARDED_HEADERS must be original, forwarded or either, not ${JSON.stringify(forwardedHeaders)}`);
}
const edge = createEdge({ wasm, maxAgeSeconds, forwardedHeaders });

/// Asks for what changed since the version in force (the host answers a full snapshot when its
/// change log does not reach back that far); a full one at start, or after a delta failed.
let wantFull = true;
async function refresh() {
  const url = new URL(snapshotUrl);
  const held = edge.state()?.version;
  if (!wantFull && held !== undefined) url.searchParams.set('since', String(held));
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${credential}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  try {
    const version = edge.load(await res.json());
    wantFull = false;
    return version;
  } catch (e) {
    wantFull = true;
    throw e;
  }
}

try {
  await refresh();
} catch (e) {
  fail(`cannot load the first snapshot: ${e.message}`);
}

function scheduleRefresh() {
  setTimeout(async () => {
    try {
      await refresh();
    } catch (e) {
      // The previous snapshot stays in force until it is older than the maximum age.
      console.error(`scopegate edge: snapshot refresh failed: ${e.message}`);
    }
    scheduleRefresh();
  }, refreshSeconds * 1000).unref();
}
scheduleRefresh();

const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://edge').pathname;
  if (path === '/check') {
    // Each header line as it arrived (Node holds each byte as a character), repeats apart.
    const headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    // Any method may carry a forwarded check; the worker reads headers only.
    const answer = await edge.answer({ headers });
    res.writeHead(answer.status, answer.headers.flat());
    res.end(answer.body);
  } else if (path === '/snapshot' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(edge.state()));
  } else {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ type: 'error', error: { message: 'the edge serves /check and /snapshot' } }));
  }
});
server.listen(listenPort, listenHost, () => {
  const { port } = server.address();
  console.log(`scopegate edge listening on http://${listenHost}:${port} (snapshot ${edge.state().version})`);
});
