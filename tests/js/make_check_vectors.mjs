// Writes tests/vectors/check.json: a check's headers in, the store's contents for the lookups,
// the whole answer out. Each case states by hand the status, the reason and the lookups it
// must come to (generation fails when the module disagrees); the headers and the body are the
// module's wording at generation time, reviewed when this runs, and pinned so that every
// runtime (native, wasmtime, Node, Chromium) is held to the same bytes.
//
// `node tests/js/make_check_vectors.mjs` after `cargo xtask wasm`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as policy from '../../www/pkg/scopegate_policy.js';
import { runCheck } from './check_runner.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
policy.initSync({ module: fs.readFileSync(path.join(root, 'www/pkg/scopegate_policy_bg.wasm')) });

const NOW = 1764300000;
const sealed = (random) => policy.seal('access_token', random);
const repoTok = sealed('R'.repeat(20) + '0123456789abcdefghij');
const projTok = sealed('P'.repeat(20) + '0123456789abcdefghij');
const wsTok = sealed('W'.repeat(20) + '0123456789abcdefghij');
const revokedTok = sealed('V'.repeat(20) + '0123456789abcdefghij');
const expiredTok = sealed('E'.repeat(20) + '0123456789abcdefghij');
const brokenTok = sealed('B'.repeat(20) + '0123456789abcdefghij');
const unknownTok = sealed('U'.repeat(20) + '0123456789abcdefghij');
const badIdTok = sealed('I'.repeat(20) + '0123456789abcdefghij');

const claims = {
  repo: { kind: 'repository', workspace: 'acme', repository: 'api', scopes: ['pullrequest'], expires_at: null, revoked: false },
  proj: { kind: 'project', workspace: 'acme', project: 'PROJ', scopes: ['repository:write'], expires_at: null, revoked: false },
  ws: { kind: 'workspace', workspace: 'acme', scopes: ['project'], expires_at: null, revoked: false },
};
const tokens = {
  [repoTok.sha256]: { id: 'tok_repo', claims: claims.repo },
  [projTok.sha256]: { id: 'tok_proj', claims: claims.proj },
  [wsTok.sha256]: { id: 'tok_ws', claims: claims.ws },
  [revokedTok.sha256]: { id: 'tok_revoked', claims: { ...claims.repo, revoked: true } },
  [expiredTok.sha256]: { id: 'tok_expired', claims: { ...claims.repo, expires_at: NOW } },
  [brokenTok.sha256]: { id: 'tok_broken', claims: { ...claims.repo, scopes: ['admin'] } },
  [badIdTok.sha256]: { id: 'tok bad\r\nx-evil: 1', claims: claims.repo },
};
const store = { tokens, repositories: { 'acme/api': 'PROJ', 'acme/tools': 'OTHER' } };

const bearer = (t) => `Bearer ${t.secret}`;
const basic = (user, pass) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const original = (method, uri, auth, more = []) => {
  const h = [['x-original-method', method], ['x-original-uri', uri]];
  if (auth !== undefined) h.push(['authorization', auth]);
  return [...h, ...more];
};
const API = '/2.0/repositories/acme/api';
const lookupOf = (t, repository = null) => ({ sha256: t.sha256, repository });
const apiRepo = { workspace: 'acme', slug: 'api' };

// [why, headers, reason, status, lookup (undefined: answered at once), options]
const cases = [
  // Host-level reasons, and both challenge orders.
  ['no credentials on an API request: Bearer is challenged first', original('GET', API), 'token_missing', 401],
  ['no credentials on git smart HTTP: Basic is challenged first, the only scheme git answers',
    original('GET', '/acme/api.git/info/refs?service=git-upload-pack'), 'token_missing', 401],
  ['a blank Authorization is no credentials', original('GET', API, '   '), 'token_missing', 401],
  ['a POST to info/refs is no git operation: Bearer first', original('POST', '/acme/api.git/info/refs', 'Bearer x'), 'token_malformed', 401],
  ['a push without credentials challenges Basic first', original('POST', '/acme/api/git-receive-pack'), 'token_missing', 401],
  ['a Bearer token that is not of the §7 shape', original('GET', API, 'Bearer sgat_nope'), 'token_malformed', 401],
  ['a checksum that does not match', original('GET', API, `Bearer ${repoTok.secret.slice(0, 50)}${repoTok.secret[50] === '0' ? '1' : '0'}`), 'token_malformed', 401],
  ['an admin credential is no access token', original('GET', API, `Bearer ${policy.seal('admin_credential', 'A'.repeat(40)).secret}`), 'token_malformed', 401],
  ['Basic with a user other than x-token-auth', original('GET', API, basic('git', repoTok.secret)), 'token_malformed', 401],
  ['Basic with the wrong user on git: Basic first still', original('GET', '/acme/api.git/info/refs?service=git-upload-pack', basic('someone', repoTok.secret)), 'token_malformed', 401],
  ['Basic that is not base64', original('GET', API, 'Basic !!!'), 'token_malformed', 401],
  ['Basic without a password', original('GET', API, `Basic ${Buffer.from('x-token-auth').toString('base64')}`), 'token_malformed', 401],
  ['an unknown scheme', original('GET', API, `Token ${repoTok.secret}`), 'token_malformed', 401],
  ['a well-formed token with nothing stored under its hash', original('GET', API, bearer(unknownTok)), 'token_unknown', 401, lookupOf(unknownTok, apiRepo)],
  ['an unknown token on git: Basic first', original('GET', '/acme/api.git/info/refs?service=git-upload-pack', basic('x-token-auth', unknownTok.secret)), 'token_unknown', 401, lookupOf(unknownTok, apiRepo)],
  // §5, through the lookups.
  ['a repository token reading its repository\'s pull requests', original('GET', `${API}/pullrequests?state=OPEN`, bearer(repoTok)), 'allowed', 200, lookupOf(repoTok, apiRepo)],
  ['the same through git\'s Basic with x-token-auth', original('GET', `${API}/pullrequests`, basic('x-token-auth', repoTok.secret)), 'allowed', 200, lookupOf(repoTok, apiRepo)],
  ['scheme and spacing are forgiven as HTTP allows', original('GET', `${API}/pullrequests`, `  bEaReR   ${repoTok.secret}  `), 'allowed', 200, lookupOf(repoTok, apiRepo)],
  ['a repository token cloning its repository (pullrequest implies repository)', original('GET', '/acme/api.git/info/refs?service=git-upload-pack', basic('x-token-auth', repoTok.secret)), 'allowed', 200, lookupOf(repoTok, apiRepo)],
  ['a read token pushing', original('POST', '/acme/api/git-receive-pack', basic('x-token-auth', repoTok.secret)), 'scope_missing', 403, lookupOf(repoTok, apiRepo)],
  ['a project token reaches a repository of its project', original('POST', '/acme/api/git-receive-pack', basic('x-token-auth', projTok.secret)), 'allowed', 200, lookupOf(projTok, apiRepo)],
  ['a project token does not reach a repository of another project', original('GET', '/2.0/repositories/acme/tools', bearer(projTok)), 'outside_resource', 403, lookupOf(projTok, { workspace: 'acme', slug: 'tools' })],
  ['a project token and a repository the store does not hold', original('GET', '/2.0/repositories/acme/gone', bearer(projTok)), 'unresolved_repository', 403, lookupOf(projTok, { workspace: 'acme', slug: 'gone' })],
  ['names are looked up in lower case', original('GET', '/2.0/repositories/ACME/Api', bearer(projTok)), 'allowed', 200, lookupOf(projTok, apiRepo)],
  ['a workspace token, no repository to look up', original('GET', '/2.0/workspaces/acme/projects', bearer(wsTok)), 'allowed', 200, lookupOf(wsTok)],
  ['a workspace token without the scope an operation needs', original('GET', '/2.0/repositories/acme/api/pullrequests', bearer(wsTok)), 'scope_missing', 403, lookupOf(wsTok, apiRepo)],
  ['a public operation: any valid token', original('GET', '/2.0/hook_events', bearer(repoTok)), 'allowed', 200, lookupOf(repoTok)],
  ['a repository token outside its repository', original('GET', '/2.0/repositories/acme/tools', bearer(repoTok)), 'outside_resource', 403, lookupOf(repoTok, { workspace: 'acme', slug: 'tools' })],
  ['a repository token and its workspace\'s projects', original('GET', '/2.0/workspaces/acme/projects', bearer(repoTok)), 'outside_resource', 403, lookupOf(repoTok)],
  ['issue scopes are grantable to no access token', original('GET', `${API}/issues`, bearer(repoTok)), 'scope_not_grantable', 403, lookupOf(repoTok, apiRepo)],
  ['the permissions APIs are closed to access tokens', original('GET', '/2.0/user/permissions/workspaces', bearer(repoTok)), 'forbidden_operation', 403, lookupOf(repoTok)],
  ['the website', original('GET', '/account/signin', bearer(repoTok)), 'web_login_forbidden', 403, lookupOf(repoTok)],
  ['no operation matches', original('GET', '/2.0/nothing/here', bearer(repoTok)), 'unknown_operation', 403, lookupOf(repoTok)],
  ['a path with a dot segment', original('GET', `${API}/../tools`, bearer(repoTok)), 'bad_path', 403, lookupOf(repoTok)],
  ['an empty URI', original('GET', '', bearer(repoTok)), 'bad_path', 403, lookupOf(repoTok)],
  ['a revoked token stays stored and is answered so', original('GET', API, bearer(revokedTok)), 'token_revoked', 401, lookupOf(revokedTok, apiRepo)],
  ['an expired token', original('GET', API, bearer(expiredTok)), 'token_expired', 401, lookupOf(expiredTok, apiRepo)],
  ['stored claims that break §2', original('GET', API, bearer(brokenTok)), 'invalid_claims', 401, lookupOf(brokenTok, apiRepo)],
  ['a stored id that cannot be a header value fails closed', original('GET', `${API}/pullrequests`, bearer(badIdTok)), 'bad_input', 403, lookupOf(badIdTok, apiRepo)],
  ['request text in a message is escaped in the body and again in the answer',
    original('GET', '/2.0/nothing/"quoted"\\back', bearer(repoTok)), 'unknown_operation', 403, lookupOf(repoTok)],
  // What the caller could not find out.
  ['the store did not answer', original('GET', API, bearer(repoTok)), 'store_unavailable', 403, lookupOf(repoTok, apiRepo), { failure: 'store_unavailable' }],
  ['an edge without a snapshot', original('GET', API, bearer(repoTok)), 'snapshot_missing', 403, lookupOf(repoTok, apiRepo), { failure: 'snapshot_missing' }],
  ['an edge whose snapshot is too old', original('GET', API, bearer(repoTok)), 'snapshot_stale', 403, lookupOf(repoTok, apiRepo), { failure: 'snapshot_stale' }],
  // The forwarded headers (§9).
  ['X-Forwarded-* as Caddy and Traefik send them', [['x-forwarded-method', 'GET'], ['x-forwarded-uri', `${API}/pullrequests`], ['authorization', bearer(repoTok)]], 'allowed', 200, lookupOf(repoTok, apiRepo)],
  ['both families naming the same request', original('GET', `${API}/pullrequests`, bearer(repoTok), [['x-forwarded-method', 'GET'], ['x-forwarded-uri', `${API}/pullrequests`]]), 'allowed', 200, lookupOf(repoTok, apiRepo)],
  ['both families naming different requests', original('GET', `${API}/pullrequests`, bearer(repoTok), [['x-forwarded-method', 'DELETE'], ['x-forwarded-uri', API]]), 'bad_input', 403],
  ['pinned to original, the client\'s X-Forwarded-* are ignored', original('GET', `${API}/pullrequests`, bearer(repoTok), [['x-forwarded-method', 'DELETE'], ['x-forwarded-uri', API]]), 'allowed', 200, lookupOf(repoTok, apiRepo), { mode: 'original' }],
  ['pinned to forwarded, X-Original-* are ignored and the forwarded ones missing', original('GET', API, bearer(repoTok)), 'bad_input', 403, undefined, { mode: 'forwarded' }],
  ['names in any case', [['X-Original-Method', 'GET'], ['X-ORIGINAL-URI', `${API}/pullrequests`], ['Authorization', bearer(repoTok)]], 'allowed', 200, lookupOf(repoTok, apiRepo)],
  ['no original method or URI', [['authorization', bearer(repoTok)]], 'bad_input', 403],
  ['headers the check does not read are ignored', original('GET', `${API}/pullrequests`, bearer(repoTok), [['host', 'example'], ['x-forwarded-for', '10.0.0.1']]), 'allowed', 200, lookupOf(repoTok, apiRepo)],
  // Hostile header values.
  ['a repeated original URI', original('GET', API, bearer(repoTok), [['x-original-uri', '/2.0/user']]), 'bad_input', 403],
  ['a repeated Authorization', original('GET', API, bearer(repoTok), [['authorization', bearer(wsTok)]]), 'bad_input', 403],
  ['a method override', original('GET', API, bearer(repoTok), [['x-http-method-override', 'DELETE']]), 'bad_input', 403],
  ['a URL override', original('GET', API, bearer(repoTok), [['x-original-url', '/2.0/user']]), 'bad_input', 403],
  ['two methods joined', original('GET, DELETE', API, bearer(repoTok)), 'bad_input', 403],
  ['two URIs joined', original('GET', `${API}, /2.0/user`, bearer(repoTok)), 'bad_input', 403],
  ['a character that is not a byte', original('GET', `${API}/\u0100`, bearer(repoTok)), 'bad_input', 403],
  ['bytes that are not UTF-8', original('GET', `${API}/\u00ff`, bearer(repoTok)), 'bad_path', 403],
  ['a line break in a header value', original('GET', API, `Bearer ${repoTok.secret}\r\nx-evil: 1`), 'token_malformed', 401],
  ['a NUL in the URI', original('GET', `${API}\u0000`, bearer(repoTok)), 'bad_path', 403, lookupOf(repoTok)],
];

const vectors = cases.map(([why, headers, reason, status, lookup, options = {}]) => {
  const input = { forwarded_headers: options.mode ?? 'either', headers, now: NOW, store: { ...store, failure: options.failure ?? null } };
  const answer = runCheck(policy, input);
  const problems = [];
  if (answer.reason !== reason) problems.push(`reason ${answer.reason}, expected ${reason}`);
  if (answer.status !== status) problems.push(`status ${answer.status}, expected ${status}`);
  if (JSON.stringify(answer.lookup ?? null) !== JSON.stringify(lookup ?? null)) {
    problems.push(`lookup ${JSON.stringify(answer.lookup)}, expected ${JSON.stringify(lookup)}`);
  }
  if (problems.length) throw new Error(`${why}: ${problems.join('; ')}\n${JSON.stringify(answer)}`);
  return { why, input, expect: answer };
});
vectors.push({
  why: 'a module that could not be asked: the answer it worded when it was loaded',
  input: { failure: 'policy_failure' },
  expect: runCheck(policy, { failure: 'policy_failure' }),
});
const out = path.join(root, 'tests/vectors/check.json');
fs.writeFileSync(out, `${JSON.stringify(vectors, null, 1)}\n`);
console.log(`${out}: ${vectors.length} vectors`);
