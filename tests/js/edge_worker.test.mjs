// The edge worker's snapshots: a full one replaces what it holds, a delta (`since`) applies onto
// the version it names and nothing else, and a snapshot it can't read leaves the one in force.
// Answers come from the real module, as in `examples/edge/serve.mjs`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { seal } from '../../www/pkg/scopegate_policy.js';
import { createEdge } from '../../examples/edge/worker.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const wasm = fs.readFileSync(path.join(root, 'www/pkg/scopegate_policy_bg.wasm'));
const NOW = 1_800_000_000;

function token(id, claims) {
  const random = crypto.randomBytes(32).toString('base64').replace(/[^0-9A-Za-z]/g, '').slice(0, 40).padEnd(40, 'a');
  const { secret } = seal('access_token', random);
  const key = crypto.createHash('sha256').update(secret).digest('base64url');
  return { secret, entry: (over = {}) => [key, id, { ...claims, ...over }] };
}

const repoClaims = { kind: 'repository', workspace: 'acme', repository: 'api', scopes: ['repository'], expires_at: null, revoked: false };
const projClaims = { kind: 'project', workspace: 'acme', project: 'PROJ', scopes: ['repository'], expires_at: null, revoked: false };

function snapshot(version, tokens, repositories, since) {
  return { format: 3, version, ...(since === undefined ? {} : { since }), generated_at: '2027-01-15T08:00:00Z', generated_at_unix: NOW, tokens, repositories };
}

async function ask(edge, secret, uri) {
  const answer = await edge.answer({
    headers: [['X-Original-Method', 'GET'], ['X-Original-URI', uri], ['Authorization', `Bearer ${secret}`]],
  });
  const version = answer.headers.find(([n]) => n === 'x-scopegate-snapshot')?.[1];
  const body = JSON.parse(answer.body);
  return { status: answer.status, reason: body.reason ?? body.error.detail.reason, version };
}

test('deltas apply onto the version they name: tokens replaced, repositories moved or gone', async () => {
  const edge = createEdge({ wasm, now: () => NOW });
  const repo = token('tok_repo', repoClaims);
  const proj = token('tok_proj', projClaims);
  edge.load(snapshot(7, [repo.entry(), proj.entry()], { 'acme/api': 'PROJ' }));
  assert.deepEqual(await ask(edge, repo.secret, '/2.0/repositories/acme/api'), { status: 200, reason: 'allowed', version: '7' });
  assert.equal((await ask(edge, proj.secret, '/2.0/repositories/acme/api')).status, 200);

  // A delta from another version is refused whole; the snapshot in force stays.
  assert.throws(() => edge.load(snapshot(9, [repo.entry({ revoked: true })], {}, 8)), /since 8.*in force is 7/);
  assert.equal((await ask(edge, repo.secret, '/2.0/repositories/acme/api')).status, 200);

  // Revoked, a new token, the repository moved out of the project.
  const fresh = token('tok_new', { ...repoClaims, repository: 'web' });
  assert.equal(edge.load(snapshot(9, [repo.entry({ revoked: true }), fresh.entry()], { 'acme/api': 'OTHER', 'acme/web': 'PROJ' }, 7)), 9);
  assert.deepEqual(await ask(edge, repo.secret, '/2.0/repositories/acme/api'), { status: 401, reason: 'token_revoked', version: '9' });
  assert.equal((await ask(edge, proj.secret, '/2.0/repositories/acme/api')).reason, 'outside_resource');
  assert.equal((await ask(edge, proj.secret, '/2.0/repositories/acme/web')).status, 200);
  assert.equal((await ask(edge, fresh.secret, '/2.0/repositories/acme/web')).status, 200);
  assert.equal(edge.state().tokens, 3);

  // A repository deleted: `null` takes it out of the map.
  edge.load(snapshot(10, [], { 'acme/web': null }, 9));
  assert.equal((await ask(edge, proj.secret, '/2.0/repositories/acme/web')).reason, 'unresolved_repository');
  assert.equal(edge.state().repositories, 1);

  // A full snapshot replaces everything, whatever was held.
  edge.load(snapshot(3, [repo.entry()], { 'acme/api': 'PROJ' }));
  assert.deepEqual(await ask(edge, repo.secret, '/2.0/repositories/acme/api'), { status: 200, reason: 'allowed', version: '3' });
  assert.equal((await ask(edge, fresh.secret, '/2.0/repositories/acme/web')).reason, 'token_unknown');
});

test('snapshots it cannot read are refused and change nothing', async () => {
  const edge = createEdge({ wasm, now: () => NOW });
  const repo = token('tok_repo', repoClaims);
  assert.throws(() => edge.load(snapshot(1, [], {}, 0)), /none/, 'a delta with nothing held');
  edge.load(snapshot(1, [repo.entry()], { 'acme/api': 'PROJ' }));
  const refused = [
    { ...snapshot(2, [repo.entry({ revoked: true })], {}), format: 2 },
    snapshot(2, [{ sha256: repo.entry()[0], id: 'tok_repo', claims: repoClaims }], {}),
    snapshot(2, [[repo.entry()[0], 'tok_repo']], {}),
    snapshot(2, [repo.entry({ revoked: true })], { 'acme/api': null }),
    snapshot(2, [repo.entry({ revoked: true })], { 'acme/api': 7 }, 1),
    snapshot(2, [repo.entry({ revoked: true })], {}, '1'),
  ];
  for (const s of refused) assert.throws(() => edge.load(s), /unusable snapshot/, JSON.stringify(s));
  assert.deepEqual(await ask(edge, repo.secret, '/2.0/repositories/acme/api'), { status: 200, reason: 'allowed', version: '1' });
});
