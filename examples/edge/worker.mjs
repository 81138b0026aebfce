// scopegate's /check at the edge: the same policy module the host runs, fed from a snapshot of
// the host's store (token hashes → claims, repository → project).
//
// Only web-platform APIs (fetch's Request/Response, WebAssembly), so the same code runs in Node 20,
// Deno and Workers-style runtimes. The module reads the request, the credentials and the token's
// shape, hashes it, decides and words the whole answer (SPEC §10); this file only hands it the
// headers, looks up what it asks for in the snapshot, and writes its answer out.

import { initSync, checkAnswer, checkRequest } from '../../www/pkg/scopegate_policy.js';

/// The snapshot format this worker understands (`format` in GET /admin/v1/edge/snapshot).
export const SNAPSHOT_FORMAT = 3;

class SnapshotError extends Error {
  constructor(message) {
    super(`unusable snapshot: ${message}`);
    this.code = 'snapshot_invalid';
  }
}

/// Check a snapshot's (or a delta's) shape once, when it is loaded, so that answering never
/// meets a surprise. (The claims themselves are the module's to judge, on every check.)
/// A delta has `since` and repositories whose project may be `null` (gone).
export function readSnapshot(snapshot) {
  if (snapshot === null || typeof snapshot !== 'object') throw new SnapshotError('not a JSON object');
  if (snapshot.format !== SNAPSHOT_FORMAT) {
    throw new SnapshotError(`format ${JSON.stringify(snapshot.format)}, this worker reads ${SNAPSHOT_FORMAT}`);
  }
  if (!Number.isInteger(snapshot.version)) throw new SnapshotError('version is not an integer');
  const delta = snapshot.since !== undefined;
  if (delta && !Number.isInteger(snapshot.since)) throw new SnapshotError('since is not an integer');
  if (!Array.isArray(snapshot.tokens)) throw new SnapshotError('tokens is not an array');
  const repositories = snapshot.repositories;
  if (repositories === null || typeof repositories !== 'object' || Array.isArray(repositories)) {
    throw new SnapshotError('repositories is not an object');
  }
  const tokens = new Map();
  for (const [i, t] of snapshot.tokens.entries()) {
    if (!Array.isArray(t) || t.length !== 3 || typeof t[0] !== 'string' || typeof t[1] !== 'string'
        || t[2] === null || typeof t[2] !== 'object') {
      throw new SnapshotError(`tokens[${i}] is not [hash, id, claims]`);
    }
    tokens.set(t[0], { id: t[1], claims: t[2] });
  }
  for (const [key, project] of Object.entries(repositories)) {
    if (typeof project !== 'string' && !(delta && project === null)) {
      throw new SnapshotError(`repositories[${JSON.stringify(key)}] is not a project key`);
    }
  }
  return {
    version: snapshot.version,
    since: delta ? snapshot.since : null,
    generatedAt: snapshot.generated_at,
    tokens,
    repositories: new Map(Object.entries(repositories)),
  };
}

/// The module names a token's hash in hex; a snapshot keys it in unpadded base64url.
function hashKey(hex) {
  let bytes = '';
  for (let i = 0; i < hex.length; i += 2) bytes += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return btoa(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
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
    const token = snap.tokens.get(hashKey(step.lookup.sha256)) ?? null;
    const repository = step.lookup.repository;
    const project = token && repository ? snap.repositories.get(`${repository.workspace}/${repository.slug}`) : null;
    return { request: step.request, now: now(), token, repository_project: project ?? null };
  }

  return {
    /// Replace the snapshot, or apply a delta (`since`) to the one in force; throws (keeping
    /// the previous one) when it is unusable, or a delta from another version than the one held.
    load(raw) {
      const next = readSnapshot(raw);
      if (next.since !== null) {
        if (!snapshot || next.since !== snapshot.version) {
          throw new SnapshotError(`a delta since ${next.since}, but the snapshot in force is ${snapshot?.version ?? 'none'}`);
        }
        // In place: an answer runs from start to end without yielding, so none sees half of it.
        for (const [hash, token] of next.tokens) snapshot.tokens.set(hash, token);
        for (const [key, project] of next.repositories) {
          if (project === null) snapshot.repositories.delete(key);
          else snapshot.repositories.set(key, project);
        }
        snapshot.version = next.version;
        snapshot.generatedAt = next.generatedAt;
      } else {
        snapshot = next;
      }
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
