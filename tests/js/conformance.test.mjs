// The vectors through the built module's wasm-bindgen glue in Node (plain objects in and out),
// and every answer compared field for field with the raw ABI of the same instance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as policy from '../../www/pkg/scopegate_policy.js';

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
    assert.deepEqual(actual, raw(rawEntry, rawInput(vector)), `${vector.why}: JS and raw ABI differ`);
  }
  console.log(`${name}: ${vectors.length} vectors agree (${texts} given as text, raw ABI only)`);
  return texts;
}

test('abiVersion is 1 on both doors', () => {
  assert.equal(policy.abiVersion(), 1);
  assert.equal(wasm.sg_abi_version(), 1);
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

test('originalRequest vectors through the glue', () => {
  const texts = runSuite('original_request/node', readVectors('original_request'),
    (v) => policy.originalRequest(v.input.headers, v.input.forwarded_headers), 'sg_original_request');
  assert.ok(texts > 0, 'original_request: no vector given as text');
  // A fetch Headers object, spread into pairs, joins repeats with ", ": refused all the same.
  const joined = new Headers([['X-Original-Method', 'GET'], ['X-Original-URI', '/a'], ['x-original-uri', '/b']]);
  assert.equal(policy.originalRequest([...joined]).reason, 'bad_input');
  const packed = BigInt.asUintN(64, wasm.sg_check_header_names());
  const [at, len] = [Number(packed >> 32n), Number(packed & 0xffffffffn)];
  const names = JSON.parse(new TextDecoder().decode(new Uint8Array(wasm.memory.buffer, at, len)));
  wasm.sg_free(at, len);
  assert.deepEqual(policy.checkHeaderNames(), names);
  assert.ok(names.includes('x-forwarded-uri') && names.includes('authorization'));
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
