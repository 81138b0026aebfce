// scopegate's /check at the edge: the same policy module the host runs, fed from a snapshot of
// the host's store (token hashes → claims, repository → project).
//
// Only web-platform APIs (fetch's Request/Response, WebAssembly), so the same code runs in Node 20,
// Deno and Workers-style runtimes. The module reads the request, the credentials and the token's
// shape, hashes it, decides and words the whole answer (SPEC §10); this file only hands it the
// headers, looks up what it asks for in the snapshot, and writes its answer out.

import { initSync, checkAnswer, checkRequest } from '../../www/pkg/scopegate_policy.js';

/// The snapshot format this worker understands (`format` in GET /admin/v1/edge/snapshot).
export const SNAPSHOT_FORMAT = 2;

class SnapshotError extends Error {
  constructor(message) {
    super(`unusable snapshot: ${message}`);
    this.code = 'snapshot_invalid';
  }
}

/// Check a snapshot's shape once, when it is loaded, so that answering never meets a surprise.
/// (The claims themselves are the module's to judge, on every check.)
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
    if (typeof t?.sha256 !== 'string' || typeof t.id !== 'string' || typeof t.claims !== 'object') {
      throw new SnapshotError(`tokens[${i}] lacks sha256, id or claims`);
    }
    tokens.set(t.sha256, { id: t.id, claims: t.claims });
  }
  return {
    version: snapshot.version,
    generatedAt: snapshot.generated_at,
    tokens,
    repositories: new Map(Object.entries(repositories)),
  };
}

/// A request's headers as `[name, value]` pairs: a list given as such (Node's rawHeaders, which
/// keeps repeats apart), or a fetch `Headers`, which joins repeats with ", ".
function headerPairs(request) {
  return Array.isArray(request.headers) ? request.headers : [...request.headers];
}

/// `maxAgeSeconds`: how long a snapshot may go unrefreshed before every lookup is a denial, so
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
  // Asked now, while the module answers: the denial for when it later can't.
  const policyFailure = checkAnswer({ failure: 'policy_failure' });
  let snapshot = null;
  let loadedAt = null;

  /// What the module's lookups find in `snap`, the one snapshot the whole answer comes from.
  function lookups(step, snap) {
    if (!snap) return { failure: 'snapshot_missing' };
    if (Date.now() - loadedAt > maxAgeSeconds * 1000) return { failure: 'snapshot_stale' };
    const token = snap.tokens.get(step.lookup.sha256) ?? null;
    const repository = step.lookup.repository;
    const project = token && repository ? snap.repositories.get(`${repository.workspace}/${repository.slug}`) : null;
    return { request: step.request, now: now(), token, repository_project: project ?? null };
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

    /// Answer one forwarded request as `/check` does: `{status, headers, body}`, the headers a
    /// list of pairs (a fetch Response would fold the two WWW-Authenticate challenges into one
    /// line). The request is a fetch Request, or `{headers: [[name, value], …]}` with each
    /// header as it arrived.
    async answer(request) {
      const snap = snapshot;
      let out;
      try {
        const step = checkRequest(headerPairs(request), forwardedHeaders);
        out = step.lookup ? checkAnswer(lookups(step, snap)) : step;
      } catch (e) {
        // A module failure denies, as on the host; the request itself is not logged.
        console.error(`scopegate edge: check failed: ${e?.message ?? e}`);
        out = policyFailure;
      }
      const headers = [...out.headers];
      if (snap) headers.push(['x-scopegate-snapshot', String(snap.version)]);
      return { status: out.status, headers, body: out.body };
    },

    /// `answer` as a fetch Response, for runtimes whose handlers return one.
    async check(request) {
      const { status, headers, body } = await this.answer(request);
      return new Response(body, { status, headers });
    },
  };
}
