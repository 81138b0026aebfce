// The vectors through the built module's wasm-bindgen glue in Node (plain objects in and out),
// and every answer compared field for field with the raw ABI of the same instance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as policy from '../../www/pkg/scopegate_policy.js';
import { runCheck } from './check_runner.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = process.env.SCOPEGATE_SHARED ?? path.join(root, '../shared');
const wasm = policy.initSync({
  module: fs.readFileSync(path.join(root, 'www/pkg/scopegate_policy_bg.wasm')),
});

function readVectors(name) {
  const at = path.join(root, 'tests/vectors', name);
  const files = fs.existsSync(at) && fs.statSync(at).isDirectory()
    ? fs.readdirSync(at).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(at, f))
    : [`${at}.json`];
  return files.flatMap((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
}

// The raw ABI of the same instance: copy JSON in, read JSON out, free both.
function raw(entry, input) {
  return rawText(entry, JSON.stringify(input));
}

function rawText(entry, text) {
  const bytes = new TextEncoder().encode(text);
  const ptr = bytes.length ? wasm.sg_alloc(bytes.length) : 0;
  new Uint8Array(wasm.memory.buffer, ptr, bytes.length).set(bytes);
  const packed = BigInt.asUintN(64, wasm[entry](ptr, bytes.length));
  const outPtr = Number(packed >> 32n);
  const outLen = Number(packed & 0xffffffffn);
  const answer = new TextDecoder().decode(new Uint8Array(wasm.memory.buffer, outPtr, outLen));
  wasm.sg_free(outPtr, outLen);
  wasm.sg_free(ptr, bytes.length);
  return JSON.parse(answer);
}

function expectFields(vector, actual) {
  for (const [field, value] of Object.entries(vector.expect ?? {})) {
    assert.deepEqual(actual?.[field], value, `${vector.why}: ${field}`);
  }
  if (vector.expect === null) assert.equal(actual, null, vector.why);
}

// A vector whose JSON text carries what a JS value cannot (a key given twice, an integer written
// as a float) gives that text as `input_text`; only the raw ABI can be handed it, as it is. The
// others go through the glue and the raw ABI both. Answers how many went as text.
function runSuite(name, vectors, viaJs, rawEntry, rawInput = (v) => v.input) {
  assert.ok(vectors.length > 0, `${name}: no vectors`);
  let texts = 0;
  for (const vector of vectors) {
    if (typeof vector.input_text === 'string') {
      expectFields(vector, rawText(rawEntry, vector.input_text));
      texts += 1;
      continue;
    }
    const actual = viaJs(vector);
    expectFields(vector, actual);
    if (rawEntry) assert.deepEqual(actual, raw(rawEntry, rawInput(vector)), `${vector.why}: JS and raw ABI differ`);
  }
  console.log(`${name}: ${vectors.length} vectors agree (${texts} given as text, raw ABI only)`);
  return texts;
}

test('abiVersion is 2 on both doors', () => {
  assert.equal(policy.abiVersion(), 2);
  assert.equal(wasm.sg_abi_version(), 2);
});

test('authorize vectors through the glue', () => {
  const vectors = [
    ...JSON.parse(fs.readFileSync(path.join(shared, 'examples/decisions.json'), 'utf8')),
    ...readVectors('authorize'),
  ];
  const texts = runSuite('authorize/node', vectors, (v) => policy.authorize(v.input), 'sg_authorize');
  assert.ok(texts > 0, 'authorize: no vector given as text');
});

test('route vectors through the glue', () => {
  const texts = runSuite('route/node', readVectors('route'),
    (v) => policy.route(v.input.method, v.input.path), 'sg_route');
  assert.ok(texts > 0, 'route: no vector given as text');
});

test('checkIssue vectors through the glue', () => {
  runSuite('check_issue/node', readVectors('check_issue'),
    (v) => policy.checkIssue(v.input.request, v.input.context), 'sg_check_issue');
});

test('minimalToken vectors through the glue', () => {
  runSuite('minimal_token/node', readVectors('minimal_token'), (v) => policy.minimalToken(v.input), 'sg_minimal_token');
});

test('original-request vectors through a check\'s first call', () => {
  // A vector that expects a request gets a well-formed token for its credentials, so that the
  // first call asks for a lookup of that request; a refusal is the first call's answer. (The
  // native suite holds the whole decision of a refusal.)
  const token = 'Bearer sgat_0123456789abcdefghijABCDEFGHIJ01234567894XH9bG';
  const vectors = readVectors('original_request');
  let texts = 0;
  for (const v of vectors) {
    if (typeof v.input_text === 'string' && !('method' in v.expect)) {
      // A repeated key, which no JS object holds: the raw ABI only, as it is.
      const step = rawText('sg_check_request', v.input_text);
      assert.deepEqual([step.status, step.reason], [v.expect.status, v.expect.reason], v.why);
      texts += 1;
      continue;
    }
    const input = v.input ?? JSON.parse(v.input_text);
    const isAuth = (p) => Array.isArray(p) && typeof p[0] === 'string' && p[0].toLowerCase() === 'authorization';
    let given = input.headers;
    if (Array.isArray(given)) {
      given = given.map((p) => (isAuth(p) ? [p[0], token] : p));
      if (!given.some(isAuth)) given.push(['authorization', token]);
    }
    const step = policy.checkRequest(given, input.forwarded_headers);
    assert.deepEqual(step, raw('sg_check_request', { forwarded_headers: input.forwarded_headers, headers: given }), v.why);
    const read = step.lookup ? { method: step.request.method, uri: step.request.path } : { allow: false, status: step.status, reason: step.reason };
    for (const field of ['method', 'uri', 'allow', 'status', 'reason']) {
      if (field in v.expect) assert.deepEqual(read[field], v.expect[field], `${v.why}: ${field}`);
    }
  }
  assert.ok(texts > 0, 'original_request: no vector given as text');
  console.log(`original_request/node: ${vectors.length} vectors agree (${texts} given as text, raw ABI only)`);
  // A fetch Headers object, spread into pairs, joins repeats with ", ": refused all the same.
  const joined = new Headers([['X-Original-Method', 'GET'], ['X-Original-URI', '/a'], ['x-original-uri', '/b']]);
  assert.equal(policy.checkRequest([...joined]).reason, 'bad_input');
  const packed = BigInt.asUintN(64, wasm.sg_check_header_names());
  const [at, len] = [Number(packed >> 32n), Number(packed & 0xffffffffn)];
  const names = JSON.parse(new TextDecoder().decode(new Uint8Array(wasm.memory.buffer, at, len)));
  wasm.sg_free(at, len);
  assert.deepEqual(policy.checkHeaderNames(), names);
  assert.ok(names.includes('x-forwarded-uri') && names.includes('authorization'));
});

test('check vectors through the glue and through the raw ABI', () => {
  const vectors = readVectors('check');
  const rawDoor = {
    checkRequest: (headers, mode) => raw('sg_check_request', { forwarded_headers: mode, headers }),
    checkAnswer: (input) => raw('sg_check_answer', input),
  };
  runSuite('check/node', vectors, (v) => runCheck(policy, v.input), null);
  for (const v of vectors) assert.deepEqual(runCheck(rawDoor, v.input), runCheck(policy, v.input), v.why);
});

test('seal makes §7 secrets from the caller\'s random characters, and refuses others', () => {
  const random = '0123456789abcdefghijABCDEFGHIJ0123456789';
  const sealed = policy.seal('access_token', random);
  assert.match(sealed.secret, /^sgat_[0-9A-Za-z]{46}$/);
  assert.deepEqual(sealed, raw('sg_seal', { kind: 'access_token', random }));
  const digest = crypto.createHash('sha256').update(sealed.secret).digest('hex');
  assert.equal(sealed.sha256, digest);
  assert.match(policy.seal('admin_credential', random).secret, /^sgak_/);
  assert.equal(policy.seal('access_token', 'short').error, 'bad_random');
  assert.equal(policy.seal('password', random).error, 'bad_input');
});

test('introspect describes an active token and answers exactly {active: false} for the rest', () => {
  const claims = {
    kind: 'repository', workspace: 'acme', repository: 'api', scopes: ['pullrequest'],
    expires_at: 2000, revoked: false,
  };
  const stored = { id: 'tok_a', created_at: 100, claims };
  const active = policy.introspect({ now: 1000, token: stored });
  assert.deepEqual(active, {
    active: true, scope: 'pullrequest repository', client_id: 'tok_a', token_type: 'access_token',
    sub: 'repository:acme/api', credential_type: 'repo_access_token', iat: 100, exp: 2000,
  });
  assert.deepEqual(raw('sg_introspect', { now: 1000, token: stored }), active);
  for (const input of [
    { now: 1000, token: null },
    { now: 2000, token: stored },
    { now: 1000, token: { ...stored, claims: { ...claims, revoked: true } } },
  ]) {
    assert.deepEqual(policy.introspect(input), { active: false });
    assert.deepEqual(raw('sg_introspect', input), { active: false });
  }
});

test('scan finds well-formed secrets in bytes, as the raw ABI does', () => {
  const token = policy.seal('access_token', '0123456789abcdefghijABCDEFGHIJ0123456789').secret;
  assert.equal(token, 'sgat_0123456789abcdefghijABCDEFGHIJ01234567894XH9bG');
  const key = policy.seal('admin_credential', 'ZYXWVUTSRQponmlkjihg9876543210ZYXWVUTSRQ').secret;
  const wrong = token.slice(0, 50) + (token[50] === 'A' ? 'B' : 'A');
  const text = `TOKEN=${token}\nOLD=${wrong}\nid=x${token}\nkey: "${key}"\n`;
  const bytes = new TextEncoder().encode(text);
  const expected = {
    secret_len: 51,
    findings: [
      { offset: 6, kind: 'access_token' },
      { offset: text.indexOf(key), kind: 'admin_credential' },
    ],
  };
  assert.deepEqual(policy.scan(bytes), expected);
  // The raw ABI takes the same bytes as they are, not JSON.
  const ptr = wasm.sg_alloc(bytes.length);
  new Uint8Array(wasm.memory.buffer, ptr, bytes.length).set(bytes);
  const packed = BigInt.asUintN(64, wasm.sg_scan(ptr, bytes.length));
  const [outPtr, outLen] = [Number(packed >> 32n), Number(packed & 0xffffffffn)];
  const answer = JSON.parse(new TextDecoder().decode(new Uint8Array(wasm.memory.buffer, outPtr, outLen)));
  wasm.sg_free(outPtr, outLen);
  wasm.sg_free(ptr, bytes.length);
  assert.deepEqual(answer, expected);
  assert.deepEqual(policy.scan(new Uint8Array()), { secret_len: 51, findings: [] });
});

test('operations() is the route table of the contract, row for row', () => {
  const rows = fs.readFileSync(path.join(shared, 'bitbucket/routes.tsv'), 'utf8')
    .trim().split('\n').slice(1).map((line) => line.split('\t'));
  const ops = policy.operations();
  assert.equal(ops.length, rows.length);
  const key = (m, p, s) => `${m} ${p} ${[...s].sort().join(',')}`;
  assert.deepEqual(
    ops.map((o) => key(o.method, o.path, o.required_scopes)).sort(),
    rows.map(([m, p, s]) => key(m, p, s ? s.split(',') : [])).sort(),
  );
  for (const op of ops) {
    assert.ok(['normal', 'public', 'forbidden'].includes(op.class), op.path);
    assert.ok(['repository', 'project', 'workspace', 'global'].includes(op.target_kind), op.path);
  }
});

test('authorize never throws on odd JS values', () => {
  for (const input of [undefined, null, 0, 'nope', [], {}, () => 1, Symbol('x'), 10n, new Map(), { token: new Proxy({}, {}) }]) {
    const decision = policy.authorize(input);
    assert.equal(decision.reason, 'bad_input', String(typeof input));
    assert.equal(decision.status, 403);
  }
});
