// The check vectors (tests/vectors/check.json) in Chromium: the module and the runner loaded by
// the page as any web page would load them, every answer compared with the vector's.
//
//   node --test tests/browser/check_vectors.test.mjs
//
// Needs /usr/bin/chromium and the built module in www/pkg (cargo xtask wasm).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const VECTORS = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/vectors/check.json'), 'utf8'));

let server, browser;

before(async () => {
  server = await startServer(path.join(ROOT, 'www'), { mounts: { '/tests/js/': path.join(ROOT, 'tests/js') } });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('check vectors in Chromium', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}pkg/scopegate_policy.d.ts`);
  const answers = await page.evaluate(async (inputs) => {
    const policy = await import('/pkg/scopegate_policy.js');
    await policy.default({ module_or_path: '/pkg/scopegate_policy_bg.wasm' });
    const { runCheck } = await import('/tests/js/check_runner.mjs');
    return inputs.map((input) => runCheck(policy, input));
  }, VECTORS.map((v) => v.input));
  assert.equal(answers.length, VECTORS.length);
  VECTORS.forEach((v, i) => assert.deepEqual(answers[i], v.expect, v.why));
  console.log(`check/chromium: ${VECTORS.length} vectors agree`);
});
