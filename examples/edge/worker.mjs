// scopegate's /check at the edge: the same policy module the host runs, fed from a snapshot of
// the host's store (token hashes → claims, repository → project), answering in /check's shape.
//
// Only web-platform APIs (fetch's Request/Response, WebCrypto, WebAssembly), so the same code runs
// in Node 20, Deno and Workers-style runtimes. Every decision comes from the module; this file
// only finds the claims the host would have fed it and words the answer as the host does.

import { initSync, authorize, originalRequest, route } from '../../www/pkg/scopegate_policy.js';

/// The snapshot format this worker understands (`format` in GET /admin/v1/edge/snapshot).
export const SNAPSHOT_FORMAT = 1;

const TOKEN_PREFIX = 'sgat_';
const TOKEN_RANDOM = 40;
const TOKEN_CHECKSUM = 6;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(text) {
  let c = 0xffffffff;
  for (let i = 0; i < text.length; i++) c = CRC_TABLE[(c ^ text.charCodeAt(i)) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/// SPEC §7: the shape and checksum of a token, checked before any lookup, as the host does.
export function isWellFormed(token) {
  if (token.length !== TOKEN_PREFIX.length + TOKEN_RANDOM + TOKEN_CHECKSUM) return false;
  if (!token.startsWith(TOKEN_PREFIX)) return false;
  if (!/^[0-9A-Za-z]+$/.test(token.slice(TOKEN_PREFIX.length))) return false;
  const bodyEnd = TOKEN_PREFIX.length + TOKEN_RANDOM;
  let n = crc32(token.slice(0, bodyEnd));
  let sum = '';
  for (let i = 0; i < TOKEN_CHECKSUM; i++) {
    sum = BASE62[n % 62] + sum;
    n = Math.floor(n / 62);
  }
  return token.slice(bodyEnd) === sum;
}

/// Names compare ASCII-case-insensitively; toLowerCase would also fold non-ASCII letters (the
/// Kelvin sign becomes `k`), which the host does not.
function asciiLower(s) {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

class SnapshotError extends Error {
  constructor(message) {
    super(`unusable snapshot: ${message}`);
    this.code = 'snapshot_invalid';
  }
}

/// Check a snapshot's shape once, when it is loaded, so that answering never meets a surprise.
export function readSnapshot(snapshot) {
  if (snapshot === null || typeof snapshot !== 'object') throw new SnapshotError('not a JSON object');
  if (snapshot.format !== SNAPSHOT_FORMAT) {
    throw new SnapshotError(`format ${JSON.stringify(snapshot.format)}, this worker reads ${SNAPSHOT_FORMAT}`);
  }
  if (!Number.isInteger(snapshot.version)) throw new SnapshotError('version is not an integer');
  if (!Array.isArray(snapshot.tokens)) throw new SnapshotError('tokens is not an array');
  const repositories = snapshot.repositories;
  if (repositories === null || typeof repositories !== 'object' || Array.isArray(repositories)) {
    throw new SnapshotError('repositories is not an object');
  }
  const tokens = new Map();
  for (const [i, t] of snapshot.tokens.entries()) {
    if (typeof t?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(t.sha256)) {
      throw new SnapshotError(`tokens[${i}].sha256 is not a SHA-256 in hex`);
    }
    if (typeof t.id !== 'string' || typeof t.credential_type !== 'string' || typeof t.claims !== 'object') {
      throw new SnapshotError(`tokens[${i}] lacks id, credential_type or claims`);
    }
    tokens.set(t.sha256, t);
  }
  return {
    version: snapshot.version,
    generatedAt: snapshot.generated_at,
    tokens,
    repositories: new Map(Object.entries(repositories)),
  };
}

/// The host's `Authorization` reading: Bearer, or Basic with the user x-token-auth.
function credentials(header) {
  if (header === null) return { token: null };
  const value = header.trim();
  if (value === '') return { token: null };
  const space = value.indexOf(' ');
  const scheme = (space < 0 ? value : value.slice(0, space)).toLowerCase();
  const rest = space < 0 ? '' : value.slice(space + 1).trim();
  if (scheme === 'bearer') return { token: rest };
  if (scheme === 'basic') {
    let binary;
    try {
      binary = atob(rest);
    } catch {
      binary = null;
    }
    // atob forgives missing padding and stray bits; the host's decoder does not, and the two
    // must agree on which credentials exist at all.
    if (binary === null || btoa(binary) !== rest) return { error: 'Basic credentials are not base64' };
    let decoded;
    try {
      decoded = new TextDecoder('utf-8', { fatal: true }).decode(
        Uint8Array.from(binary, (c) => c.charCodeAt(0)),
      );
    } catch {
      return { error: 'Basic credentials are not UTF-8' };
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) return { error: 'Basic credentials have no password' };
    if (decoded.slice(0, colon) !== 'x-token-auth') {
      return { error: 'Basic credentials must use the user x-token-auth' };
    }
    return { token: decoded.slice(colon + 1) };
  }
  return { error: 'unsupported Authorization scheme (use Bearer or Basic)' };
}

/// The edge cannot decide: deny, as the host does when its store or module fails.
function failure(reason, message) {
  return { status: 403, reason, message, operation: null, required: [], granted: [], token: null };
}

/// A credential refused before the module decides, worded and statused as the host's.
function hostAnswer(reason, message) {
  return { status: 401, reason, message, operation: null, required: [], granted: [], token: null };
}

/// The module's decision as an outcome. As the host: an allow is trusted only as a 200, a 401
/// only as a denial.
function decided(d, token) {
  const status = d?.allow && d.status === 200 ? 200 : !d?.allow && d?.status === 401 ? 401 : 403;
  return {
    status,
    reason: d?.reason ?? 'policy_failure',
    message: d?.message ?? '',
    operation: d?.operation ?? null,
    required: d?.required_scopes ?? [],
    granted: d?.granted_scopes ?? [],
    token,
  };
}

/// A request's headers as `[name, value]` pairs: a list given as such (Node's rawHeaders, which
/// keeps repeats apart), or a fetch `Headers`, which joins repeats with ", ".
function headerPairs(request) {
  return Array.isArray(request.headers) ? request.headers : [...request.headers];
}

/// The /check answer for an outcome, header for header as the host writes it. Headers are a list
/// of pairs: a fetch Response would fold the two WWW-Authenticate challenges into one line.
function respond(out, extra) {
  const headers = [['content-type', 'application/json'], ...Object.entries(extra)];
  if (out.status === 200) {
    if (out.token) {
      headers.push(['x-credential-type', out.token.credential_type], ['x-token-id', out.token.id]);
    }
    headers.push(
      ['x-oauth-scopes', out.granted.join(', ')],
      ['x-accepted-oauth-scopes', out.required.join(', ')],
    );
    const body = JSON.stringify({ allow: true, reason: out.reason, operation: out.operation });
    return { status: 200, headers, body };
  }
  const status = out.status === 401 ? 401 : 403;
  const body = JSON.stringify({
    type: 'error',
    error: {
      message: out.message,
      detail: { reason: out.reason, required: out.required, granted: out.granted },
    },
  });
  if (status === 401) {
    const bearer = [
      'www-authenticate',
      out.reason === 'token_missing'
        ? 'Bearer realm="scopegate"'
        : `Bearer realm="scopegate", error="invalid_token", error_description="${out.reason}"`,
    ];
    const basic = ['www-authenticate', 'Basic realm="scopegate"'];
    // nginx's auth_request passes on only the first challenge, and git answers only Basic.
    headers.push(...(out.git ? [basic, bearer] : [bearer, basic]));
  }
  return { status, headers, body };
}

/// `maxAgeSeconds`: how long a snapshot may go unrefreshed before every answer is a denial, so
/// that an edge cut off from the host stops honouring tokens revoked meanwhile.
/// `forwardedHeaders`: the family of forwarding headers the front sets, `original`
/// (X-Original-*), `forwarded` (X-Forwarded-*) or `either`, as `scopegate serve
/// --forwarded-headers`.
export function createEdge({
  wasm,
  now = () => Math.floor(Date.now() / 1000),
  maxAgeSeconds = 300,
  forwardedHeaders = 'either',
}) {
  initSync({ module: wasm });
  let snapshot = null;
  let loadedAt = null;

  /// `snap`: the snapshot the whole answer comes from, taken before the first await, so that a
  /// refresh meanwhile cannot mix two snapshots into one answer (or label it with the wrong one).
  async function decide(request, snap) {
    const pairs = headerPairs(request);
    // Which headers name the request, and which combinations are refused, is the module's call.
    const read = originalRequest(pairs, forwardedHeaders);
    if (typeof read?.method !== 'string' || typeof read.uri !== 'string') return decided(read, null);
    const { method, uri } = read;
    const out = await decideRequest(method, uri, pairs, snap);
    // A 401 for a git request challenges Basic first: git answers no other.
    if (out.status === 401) out.git = route(method, uri)?.operation?.startsWith('GIT ') ?? false;
    return out;
  }

  async function decideRequest(method, uri, pairs, snap) {
    // The module refused a repeated Authorization; this is the only one.
    const auth = pairs.find(([name]) => name.toLowerCase() === 'authorization');
    const cred = credentials(auth ? auth[1] : null);
    if (cred.error) return hostAnswer('token_malformed', cred.error);
    if (cred.token === null) return hostAnswer('token_missing', 'no access token was presented');
    if (!isWellFormed(cred.token)) return hostAnswer('token_malformed', 'the access token is malformed');
    const entry = snap.tokens.get(await sha256Hex(cred.token));
    if (!entry) return hostAnswer('token_unknown', 'the access token is not known');

    let repositoryProject = null;
    if (entry.claims.kind === 'project') {
      // Only project tokens depend on which project a repository is in.
      const target = route(method, uri)?.target;
      if (target?.kind === 'repository' && target.workspace && target.repository) {
        const key = `${asciiLower(target.workspace)}/${asciiLower(target.repository)}`;
        repositoryProject = snap.repositories.get(key) ?? null;
      }
    }
    const d = authorize({
      token: entry.claims,
      request: { method, path: uri },
      now: now(),
      repository_project: repositoryProject,
    });
    return decided(d, { id: entry.id, credential_type: entry.credential_type });
  }

  return {
    /// Replace the snapshot; throws (keeping the previous one) when it is unusable.
    load(raw) {
      snapshot = readSnapshot(raw);
      loadedAt = Date.now();
      return snapshot.version;
    },

    state() {
      return snapshot && {
        version: snapshot.version,
        generated_at: snapshot.generatedAt,
        loaded_at: new Date(loadedAt).toISOString(),
        tokens: snapshot.tokens.size,
        repositories: snapshot.repositories.size,
      };
    },

    /// Answer one forwarded request as `/check` does: `{status, headers, body}`. The request is
    /// a fetch Request, or `{headers: [[name, value], …]}` with each header as it arrived.
    async answer(request) {
      const snap = snapshot;
      if (!snap) return respond(failure('snapshot_missing', 'no snapshot is loaded yet; denied'), {});
      const extra = { 'x-scopegate-snapshot': String(snap.version) };
      if (Date.now() - loadedAt > maxAgeSeconds * 1000) {
        return respond(
          failure('snapshot_stale', `the snapshot has not been refreshed for over ${maxAgeSeconds} s; denied`),
          extra,
        );
      }
      let out;
      try {
        out = await decide(request, snap);
      } catch (e) {
        // A module failure denies, as on the host; the request itself is not logged.
        console.error(`scopegate edge: check failed: ${e?.message ?? e}`);
        out = failure('policy_failure', 'the request could not be evaluated; denied');
      }
      return respond(out, extra);
    },

    /// `answer` as a fetch Response, for runtimes whose handlers return one.
    async check(request) {
      const { status, headers, body } = await this.answer(request);
      return new Response(body, { status, headers });
    },
  };
}
