// Browser tests of the console (www/console/): Debian's Chromium driven by playwright-core against a real
// `scopegate serve` on a temporary SQLite store, with credentials of every role made by the CLI and
// resources and tokens seeded through the admin API. The issuing checks the page shows are compared with
// the policy module loaded in Node.
//
//   node --test tests/browser/console.test.mjs
//
// Needs the host binary (SCOPEGATE_BIN, else target/debug/scopegate), /usr/bin/chromium and the built
// module in www/pkg. UPDATE_SCREENSHOT=1 refreshes docs/console-en.png and docs/console-ja.png;
// CONSOLE_BIG_TOKENS sets the size of the large list (default 10000).

import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WWW = path.join(ROOT, 'www');
const PKG = process.env.SCOPEGATE_PKG_DIR ? path.resolve(process.env.SCOPEGATE_PKG_DIR) : path.join(WWW, 'pkg');
const BIN = process.env.SCOPEGATE_BIN ? path.resolve(process.env.SCOPEGATE_BIN) : path.join(ROOT, 'target/debug/scopegate');
const OUT = path.join(ROOT, 'tests/out');
const CHROMIUM = '/usr/bin/chromium';
const AXE = path.join(ROOT, 'node_modules/axe-core/axe.min.js');
const BIG = Number(process.env.CONSOLE_BIG_TOKENS || 10000);

for (const f of [BIN, CHROMIUM, AXE, path.join(PKG, 'scopegate_policy_bg.wasm')]) {
  if (!fs.existsSync(f)) throw new Error(`${f} is missing (the host: cargo build; chromium: apt-get install chromium; axe-core: npm ci)`);
}

const policy = await import(pathToFileURL(path.join(PKG, 'scopegate_policy.js')).href);
policy.initSync({ module: fs.readFileSync(path.join(PKG, 'scopegate_policy_bg.wasm')) });
const en = (await import(pathToFileURL(path.join(WWW, 'js/lang/en.js')).href)).default;
const ja = (await import(pathToFileURL(path.join(WWW, 'js/lang/ja.js')).href)).default;

let dir, host, base, browser, creds = {}, seeded = {};
let problems, contexts, requests = [], logs = [];

// --- the host ---------------------------------------------------------------------------------------

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

function cli(...args) {
  const out = execFileSync(BIN, ['--json', ...args, '--db', path.join(dir, 'store.db'), '--policy', path.join(PKG, 'scopegate_policy_bg.wasm')], { encoding: 'utf8' });
  return JSON.parse(out);
}

async function api(method, p, body, key = creds.owner) {
  const res = await fetch(`${base}admin/v1${p}`, {
    method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const inDays = (d) => new Date(Date.now() + d * 86400e3).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function seed() {
  await api('PUT', '/workspaces/acme', { plan: 'premium', max_lifetime_days: 180, allow_no_expiry: false });
  await api('PUT', '/workspaces/zeta', { plan: 'standard' });
  await api('PUT', '/workspaces/acme/projects/PROJ', {});
  await api('PUT', '/workspaces/acme/projects/OPS', {});
  for (const [slug, project] of [['api', 'PROJ'], ['web', 'PROJ'], ['infra', 'OPS'], ['big', 'OPS']]) {
    await api('PUT', `/workspaces/acme/repositories/${slug}`, { project });
  }
  const mk = (p, name, scopes, days = 30) => api('POST', `${p}/access-tokens`, { name, scopes, expires_at: inDays(days) });
  const repo = '/workspaces/acme/repositories/api';
  seeded.ci = await mk(repo, 'ci-bot', ['pullrequest:write', 'pipeline']);
  seeded.deploy = await mk(repo, 'deploy', ['repository:write'], 120);
  seeded.old = await mk(repo, 'old-reader', ['repository'], 10);
  seeded.gone = await mk(repo, 'retired', ['repository'], 5);
  await api('DELETE', `/access-tokens/${seeded.gone.id}`);
  seeded.proj = await mk('/workspaces/acme/projects/PROJ', 'project-bot', ['project', 'pullrequest']);
  seeded.ws = await mk('/workspaces/acme', 'workspace-admin', ['project:admin', 'account']);
  // A call through /check gives the CI token a last access and an address.
  const check = await fetch(`${base}check`, {
    headers: { authorization: `Bearer ${seeded.ci.token}`, 'x-original-method': 'GET', 'x-original-uri': '/2.0/repositories/acme/api/pullrequests', 'x-forwarded-for': '203.0.113.7' },
  });
  assert.equal(check.status, 200);

  // The large list: BIG tokens on one repository, eight requests at a time.
  const t0 = Date.now();
  let next = 0;
  const names = [];
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < BIG) {
      const i = next++;
      const name = `bulk-${String(i).padStart(5, '0')}`;
      await mk('/workspaces/acme/repositories/big', name, [i % 3 ? 'repository' : 'pipeline'], 20 + (i % 150));
      names.push(name);
    }
  }));
  console.log(`# seeded ${BIG} tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // The secrets of the seed are not for the page; only their ids are used.
  for (const v of Object.values(seeded)) delete v.token;
}

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-console-'));
  creds.owner = cli('credential', 'create', '--name', 'console-owner', '--role', 'owner').credential;
  // The workspace a token-manager is bound to must exist first.
  cli('workspace', 'put', 'acme', '--plan', 'premium');
  creds.manager = cli('credential', 'create', '--name', 'acme-manager', '--role', 'token-manager', '--workspace', 'acme').credential;
  creds.auditor = cli('credential', 'create', '--name', 'auditor', '--role', 'auditor').credential;
  creds.snapshot = cli('credential', 'create', '--name', 'edge', '--role', 'snapshot-reader').credential;
  const port = await freePort();
  base = `http://127.0.0.1:${port}/`;
  host = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--db', path.join(dir, 'store.db'),
    '--policy', path.join(PKG, 'scopegate_policy_bg.wasm'), '--www', WWW], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SCOPEGATE_ADMIN_KEY: '' } });
  let hostLog = '';
  host.stdout.on('data', (d) => { hostLog += d; });
  host.stderr.on('data', (d) => { hostLog += d; });
  host.on('exit', (code) => { if (code) console.log(`# host exited ${code}: ${hostLog.slice(-2000)}`); });
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}admin/v1/openapi.json`)).ok) break; } catch { /* not yet */ }
    if (i > 200) throw new Error(`the host did not start: ${hostLog}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await seed();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  host?.kill('SIGTERM');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => { problems = []; contexts = []; });

afterEach(async () => {
  for (const c of contexts) await c.close();
  assert.deepEqual(problems, [], 'no console errors or warnings, no failed requests');
});

// --- the browser ------------------------------------------------------------------------------------

async function context({ locale = 'en-US', width = 1280, height = 900 } = {}) {
  const c = await browser.newContext({ viewport: { width, height }, locale });
  await c.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base.slice(0, -1) });
  contexts.push(c);
  // Every request the console makes, for the credential check at the end.
  c.on('request', async (r) => {
    const entry = { url: r.url(), method: r.method(), headers: null, body: r.postData() };
    requests.push(entry);
    try { entry.headers = await r.allHeaders(); } catch { entry.headers = r.headers(); }
  });
  return c;
}

async function page(c, hash = '', { expect = [] } = {}) {
  const p = await c.newPage();
  p.on('console', (m) => {
    logs.push(m.text());
    if ((m.type() === 'error' || m.type() === 'warning') && !expect.some((x) => m.text().includes(x))) problems.push(`console.${m.type()}: ${m.text()}`);
  });
  p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  p.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  p.on('response', (r) => { if (r.status() >= 400 && !expect.some((x) => r.url().includes(x) || String(r.status()) === x)) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  await p.goto(`${base}console/${hash}`);
  await p.waitForSelector('html[data-ready=true]');
  return p;
}

// Each drawn view bumps main's data-shown; waiting for the next one (and its state) avoids reading the
// view that was there before a navigation.
const shownCount = (p) => p.evaluate(() => Number(document.getElementById('main').dataset.shown || 0));
const nextView = (p, n, view) => p.waitForFunction(([n, view]) => {
  const m = document.getElementById('main');
  return Number(m.dataset.shown || 0) > n && m.dataset.state === 'ready' && (!view || m.dataset.view === view) && m.dataset.view !== 'signin';
}, [n, view]);
async function nav(p, action, view = null) {
  const n = await shownCount(p);
  await action();
  await nextView(p, n, view);
}
const go = (p, hash, view = null) => nav(p, () => p.evaluate((h) => { location.hash = h; }, hash), view);
const viewReady = (p, view) => p.waitForSelector(view ? `main[data-state=ready][data-view=${view}]` : 'main[data-state=ready]');
const tokensReady = (p) => p.waitForSelector('section.tokens[data-state=ready]');

async function signIn(p, key, view = null) {
  const n = await shownCount(p);
  await p.fill('#signin-key', key);
  await p.click('#signin-submit');
  if (view !== false) await nextView(p, n, view);
}

async function open(key, hash = '', opts = {}) {
  const c = await context(opts);
  const p = await page(c, hash, opts);
  await signIn(p, key);
  return p;
}

// Everything the page holds that a secret could hide in: the markup and every field's value.
const pageText = (p) => p.evaluate(() => document.documentElement.outerHTML + '\n' +
  [...document.querySelectorAll('input, textarea, select')].map((e) => e.value).join('\n'));

async function assertGone(p, secret) {
  assert.equal((await pageText(p)).includes(secret), false, 'the secret is nowhere in the DOM or a field');
  const stores = await p.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }) + document.cookie);
  assert.equal(stores.includes(secret), false, 'nor in storage or a cookie');
}

const checkOf = (p) => p.evaluate(() => {
  const c = document.getElementById('c-check');
  return { ok: c.dataset.ok === 'true', reason: c.dataset.reason, text: c.textContent };
});

async function axe(p, label) {
  await p.addScriptTag({ path: AXE });
  const res = await p.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of res) console.log(`# axe ${label}: ${v.impact} ${v.id} — ${v.help} (${v.nodes.join(', ')})`);
  assert.deepEqual(bad, [], `${label}: no serious or critical accessibility violation`);
}

// --- tests ------------------------------------------------------------------------------------------

test('interactive within 500 ms of navigation, signed out and signed in', async () => {
  const measure = (p) => p.evaluate(() => performance.getEntriesByName('console:ready')[0].startTime);
  const fresh = [];
  for (let i = 0; i < 5; i++) {
    const c = await context();
    const p = await page(c);
    fresh.push(await measure(p));
    await c.close();
  }
  // Signed in, a reload in the same tab (the session survives it) draws the workspace list from the host.
  const c = await context();
  const p = await page(c);
  await signIn(p, creds.owner, 'w');
  const signed = [];
  for (let i = 0; i < 5; i++) {
    await p.reload();
    await p.waitForSelector('html[data-ready=true]');
    assert.equal(await p.getAttribute('main', 'data-view'), 'w');
    assert.ok(await p.isVisible('a[href="#/w/acme"]'));
    signed.push(await measure(p));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const f = (xs) => xs.map((x) => x.toFixed(0)).join(', ');
  console.log(`# interactive (navigation start to data-ready), fresh load: median ${median(fresh).toFixed(0)} ms (${f(fresh)})`);
  console.log(`# interactive, signed in (whoami + workspace list): median ${median(signed).toFixed(0)} ms (${f(signed)})`);
  assert.ok(median(fresh) < 500, `fresh load interactive after ${median(fresh)} ms`);
  assert.ok(median(signed) < 500, `signed-in load interactive after ${median(signed)} ms`);
});

test('sign in, browse to a repository, see its tokens as the API lists them', async () => {
  const c = await context();
  const p = await page(c, '', { expect: ['401'] });
  // A refused credential says so and keeps nothing.
  await signIn(p, `sgak_${'x'.repeat(46)}`, false);
  await p.waitForSelector('#signin-error .error');
  assert.equal(await p.evaluate(() => sessionStorage.length), 0);

  await signIn(p, creds.owner, 'w');
  assert.match(await p.textContent('#who-text'), /console-owner \(owner\)/);
  await nav(p, () => p.click('a[href="#/w/acme"]'));
  assert.equal(await p.textContent('h1.view-h'), 'Workspace acme');
  assert.deepEqual(await p.$$eval('#projects-list a', (as) => as.map((a) => a.textContent)), ['OPS', 'PROJ']);
  await nav(p, () => p.click('#projects-list a:text("PROJ")'));
  assert.deepEqual(await p.$$eval('#repositories-list a', (as) => as.map((a) => a.textContent)), ['api', 'web']);
  assert.deepEqual(await p.$$eval('.token-list tbody tr .tname', (x) => x.map((e) => e.textContent)), ['project-bot']);
  await nav(p, () => p.click('#repositories-list a:text("api")'));

  const listed = await api('GET', '/workspaces/acme/repositories/api/access-tokens');
  const rows = await p.$$eval('.token-list tbody tr', (trs) => trs.map((tr) => ({
    id: tr.dataset.id, state: tr.dataset.state, name: tr.querySelector('.tname').textContent,
    scopes: [...tr.querySelectorAll('.c-scopes .chip')].map((x) => x.textContent),
    created: tr.querySelector('.c-created time')?.getAttribute('datetime'),
    expires: tr.querySelector('.c-expires time')?.getAttribute('datetime') ?? null,
    accessed: tr.querySelector('.c-accessed time')?.getAttribute('datetime') ?? null,
    ips: [...tr.querySelectorAll('.c-ips code')].map((x) => x.textContent),
  })));
  assert.deepEqual(rows, listed.values.map((v) => ({
    id: v.id, state: v.state, name: v.name, scopes: v.scopes, created: v.created_at, expires: v.expires_at,
    accessed: v.last_accessed_at, ips: v.last_used_ips.map((u) => u.ip),
  })));
  const ci = rows.find((r) => r.name === 'ci-bot');
  assert.ok(ci.accessed, 'the checked token shows its last access');
  assert.deepEqual(ci.ips, ['203.0.113.7']);
  assert.equal(rows.find((r) => r.name === 'retired').state, 'revoked');

  // Filter and sort.
  await p.selectOption('#tk-repository-state', 'revoked');
  assert.deepEqual(await p.$$eval('.token-list tbody tr .tname', (x) => x.map((e) => e.textContent)), ['retired']);
  await p.selectOption('#tk-repository-state', '');
  await p.fill('#tk-repository-filter', 'pipeline');
  assert.deepEqual(await p.$$eval('.token-list tbody tr .tname', (x) => x.map((e) => e.textContent)), ['ci-bot']);
  await p.fill('#tk-repository-filter', '');
  await p.click('th[data-key=expires_at] button');
  const byExpiry = await p.$$eval('.token-list tbody tr .tname', (x) => x.map((e) => e.textContent));
  assert.deepEqual(byExpiry, [...listed.values].sort((a, b) => (a.expires_at < b.expires_at ? 1 : -1)).map((v) => v.name));
  assert.equal(await p.getAttribute('th[data-key=expires_at]', 'aria-sort'), 'descending');
  await p.click('th[data-key=name] button');
  assert.deepEqual(await p.$$eval('.token-list tbody tr .tname', (x) => x.map((e) => e.textContent)), listed.values.map((v) => v.name).sort());

  // Sign-out forgets the credential.
  await p.click('#signout');
  await p.waitForSelector('#signin-key');
  assert.equal(await p.evaluate(() => sessionStorage.length), 0);
  await p.reload();
  await p.waitForSelector('html[data-ready=true]');
  assert.ok(await p.isVisible('#signin-key'), 'still signed out after a reload');
});

test('create: the module\'s issuing check before sending, the policy\'s expiry limit, the secret once with copy', async () => {
  const p = await open(creds.owner, '#/w/acme/r/web');
  await tokensReady(p);
  await p.click('#tk-repository-create');
  await p.waitForSelector('dialog[open] #c-name');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'c-name', 'focus is in the dialog');

  // The expiry picker stops at the workspace's longest lifetime (180 days).
  const now = Math.floor(Date.now() / 1000);
  const maxDay = new Date(Math.floor((now + 180 * 86400) / 86400) * 86400 * 1000).toISOString().slice(0, 10);
  assert.equal(await p.getAttribute('#c-expires', 'max'), maxDay);
  assert.equal(await p.isVisible('#c-never'), false, 'acme does not allow tokens without expiry');

  const ctx = { plan: 'premium', now, max_lifetime_days: 180, allow_no_expiry: false };
  const req = (o) => ({ kind: 'repository', workspace: 'acme', repository: 'web', name: '', scopes: [], expires_at: null, ...o });
  const expectCheck = async (request) => {
    const want = policy.checkIssue(request, { ...ctx, now: Math.floor(Date.now() / 1000) });
    const got = await checkOf(p);
    assert.equal(got.ok, !!want.ok, JSON.stringify(request));
    assert.equal(got.reason, want.ok ? '' : want.reason);
    if (!want.ok) assert.ok(got.text.includes(want.message), `${got.text} shows “${want.message}”`);
    return want;
  };
  const day = async () => Math.floor(Date.parse(`${await p.inputValue('#c-expires')}T00:00:00Z`) / 1000);

  // Sending with nothing filled in is stopped with the module's reason, and nothing is posted.
  const posts = requests.length;
  await p.click('#c-submit');
  assert.equal((await expectCheck(req({ expires_at: await day() }))).reason, 'name_invalid');
  await p.fill('#c-name', 'release-bot');
  assert.equal((await expectCheck(req({ name: 'release-bot', expires_at: await day() }))).reason, 'no_scopes');
  assert.equal(requests.slice(posts).filter((r) => r.method === 'POST').length, 0, 'nothing sent while the check fails');

  // Scopes: what a repository token can't hold is disabled; implied scopes are marked.
  assert.equal(await p.isDisabled('#c-s-project-admin'), true);
  assert.equal(await p.isDisabled('#c-s-account'), true);
  await p.check('#c-s-pullrequest-write');
  const implied = await p.$$eval('#c-scopes .scope.implied', (rows) => rows.map((r) => r.dataset.scope).sort());
  const closure = policy.authorize({ token: { kind: 'workspace', workspace: 'w', scopes: ['pullrequest:write'] }, request: { method: 'GET', path: '/' }, now: 0 }).granted_scopes;
  assert.deepEqual(implied, closure.filter((s) => s !== 'pullrequest:write').sort());

  // An expiry past the policy's limit is the module's expiry_too_far.
  const tooFar = new Date((now + 200 * 86400) * 1000).toISOString().slice(0, 10);
  await p.fill('#c-expires', tooFar);
  assert.equal((await expectCheck(req({ name: 'release-bot', scopes: ['pullrequest:write'], expires_at: await day() }))).reason, 'expiry_too_far');
  const good = new Date((now + 45 * 86400) * 1000).toISOString().slice(0, 10);
  await p.fill('#c-expires', good);
  assert.equal((await expectCheck(req({ name: 'release-bot', scopes: ['pullrequest:write'], expires_at: await day() }))).ok, true);

  await p.click('#c-submit');
  await p.waitForSelector('dialog[open] #secret-value');
  const secret = await p.textContent('#secret-value');
  assert.match(secret, /^sgat_[0-9A-Za-z]{46}$/);
  assert.equal(await p.evaluate(() => document.activeElement.id), 'secret-copy');
  assert.match(await p.textContent('dialog[open] .warning'), /only time/);
  await p.click('#secret-copy');
  await p.waitForFunction(() => document.querySelector('.copy-status').textContent !== '');
  assert.equal(await p.evaluate(() => navigator.clipboard.readText()), secret, 'the copy button copies the secret');

  // The host holds what was asked for.
  const listed = await api('GET', '/workspaces/acme/repositories/web/access-tokens');
  const made = listed.values.find((v) => v.name === 'release-bot');
  assert.deepEqual(made.scopes, ['pullrequest:write']);
  assert.equal(made.expires_at, `${good}T00:00:00Z`);
  const ok = await fetch(`${base}check`, { headers: { authorization: `Bearer ${secret}`, 'x-original-method': 'GET', 'x-original-uri': '/2.0/repositories/acme/web/pullrequests' } });
  assert.equal(ok.status, 200, 'the shown secret is the token');

  await p.click('#secret-done');
  await p.waitForSelector('dialog', { state: 'detached' });
  await tokensReady(p);
  assert.equal(await p.evaluate(() => document.activeElement.id), 'tk-repository-create', 'focus returns to the button');
  assert.ok(await p.isVisible(`tr[data-id="${made.id}"]`), 'the new token is listed');
  await assertGone(p, secret);
  await p.evaluate(() => navigator.clipboard.writeText(''));
});

test('revoke with confirmation, rotate with the new secret once and the old one\'s 30 minutes', async () => {
  const p = await open(creds.owner, '#/w/acme/r/api');
  await tokensReady(p);
  const row = (id) => `tr[data-id="${id}"]`;

  // Cancel leaves it; confirm revokes it.
  await p.click(`${row(seeded.old.id)} button.revoke`);
  await p.waitForSelector('dialog[open].confirm');
  assert.equal(await p.evaluate(() => document.activeElement.dataset.action), 'cancel', 'the safe choice has focus');
  await p.keyboard.press('Escape');
  await p.waitForSelector('dialog', { state: 'detached' });
  assert.equal((await api('GET', `/access-tokens/${seeded.old.id}`)).state, 'active');
  await p.click(`${row(seeded.old.id)} button.revoke`);
  await p.click('dialog[open] [data-action=confirm]');
  await p.waitForSelector(`${row(seeded.old.id)}[data-state=revoked]`);
  assert.equal((await api('GET', `/access-tokens/${seeded.old.id}`)).state, 'revoked');
  assert.equal(await p.locator(`${row(seeded.old.id)} button`).count(), 0, 'a revoked token offers no action');
  assert.match(await p.textContent('#notice'), /old-reader/);

  await p.click(`${row(seeded.deploy.id)} button.rotate`);
  await p.waitForSelector('dialog[open] #r-expires');
  const t0 = Date.now();
  await p.click('#r-submit');
  await p.waitForSelector('dialog[open] #secret-value');
  const secret = await p.textContent('#secret-value');
  assert.match(secret, /^sgat_[0-9A-Za-z]{46}$/);
  const old = await api('GET', `/access-tokens/${seeded.deploy.id}`);
  const left = Date.parse(old.expires_at) - t0;
  assert.ok(left <= 30 * 60e3 + 2000 && left > 25 * 60e3, `the old token keeps about 30 minutes (${left} ms)`);
  const note = await p.textContent('#old-token-ends');
  assert.match(note, /deploy/);
  assert.match(note, /30 minutes|29 minutes/);
  const fresh = (await api('GET', '/workspaces/acme/repositories/api/access-tokens')).values.find((v) => v.rotated_from === seeded.deploy.id);
  assert.ok(fresh, 'the new token is there, rotated from the old');
  assert.deepEqual(fresh.scopes, ['repository:write']);
  await p.keyboard.press('Escape');
  await p.waitForSelector('dialog', { state: 'detached' });
  await tokensReady(p);
  assert.ok(await p.isVisible(row(fresh.id)));
  await assertGone(p, secret);
});

test('roles: a token-manager manages its workspace only, an auditor writes nothing, a snapshot-reader is turned away', async () => {
  // token-manager: lands in its workspace, may create, may not change the policy or see credentials.
  let p = await open(creds.manager);
  await tokensReady(p);
  assert.match(p.url(), /#\/w\/acme$/);
  assert.deepEqual(await p.$$eval('#nav a', (as) => as.map((a) => a.getAttribute('href'))), ['#/w/acme']);
  assert.equal(await p.locator('#p-save').count(), 0, 'no policy form');
  assert.ok(await p.isVisible('.ws-facts'), 'the policy is shown');
  assert.ok(await p.isVisible('#tk-workspace-create'));
  await go(p, '#/credentials');
  assert.match(p.url(), /#\/w\/acme$/, 'credentials route falls back to the workspace');

  // auditor: every page it can read, and no button that writes.
  p = await open(creds.auditor);
  const writes = 'button.create, button.rotate, button.revoke, #p-save, #cred-create, button.revoke-cred';
  for (const hash of ['#/w/acme', '#/w/acme/p/PROJ', '#/w/acme/r/api']) {
    await go(p, hash);
    assert.equal(await p.locator(writes).count(), 0, `no write controls on ${hash}`);
    assert.ok(await p.isVisible('.readonly-note'));
  }
  assert.deepEqual(await p.$$eval('#nav a', (as) => as.map((a) => a.getAttribute('href'))), ['#/workspaces', '#/audit']);
  await nav(p, () => p.click('#nav a[href="#/audit"]'), 'audit');
  await p.selectOption('#a-event', 'token.revoked');
  await nav(p, () => p.click('.audit-filters button[type=submit]'), 'audit');
  assert.match(p.url(), /event=token\.revoked/);
  const events = await p.$$eval('.audit-list tbody tr', (trs) => trs.map((tr) => tr.dataset.event));
  assert.ok(events.length >= 1);
  assert.deepEqual([...new Set(events)], ['token.revoked']);
  // A token's history, from its row.
  await go(p, '#/w/acme/r/api');
  await nav(p, () => p.click(`tr[data-id="${seeded.ci.id}"] a.history`), 'audit');
  assert.equal(await p.inputValue('#a-token'), seeded.ci.id);
  assert.deepEqual(await p.$$eval('.audit-list tbody tr', (trs) => trs.map((tr) => tr.dataset.event)), ['token.created']);

  // snapshot-reader: told it can't use the console, and nothing is kept.
  const c = await context();
  p = await page(c);
  await signIn(p, creds.snapshot, false);
  await p.waitForSelector('#signin-unusable');
  assert.match(await p.textContent('#signin-unusable'), /snapshot-reader/);
  assert.equal(await p.evaluate(() => sessionStorage.length), 0);
});

test('owners: admin credentials (secret once, revoke) and the workspace token policy', async () => {
  const p = await open(creds.owner, '#/credentials');
  await viewReady(p, 'credentials');
  const names = await p.$$eval('.cred-list tbody tr', (trs) => trs.map((tr) => tr.querySelector('td').firstChild.textContent));
  for (const n of ['console-owner', 'acme-manager', 'auditor', 'edge']) assert.ok(names.includes(n), n);
  await p.click('#cred-create');
  await p.fill('#k-name', 'night-audit');
  await p.selectOption('#k-role', 'auditor');
  await p.fill('#k-workspace', 'acme');
  await p.click('#k-submit');
  await p.waitForSelector('dialog[open] #secret-value');
  const secret = await p.textContent('#secret-value');
  assert.match(secret, /^sgak_[0-9A-Za-z]{46}$/);
  const who = await (await fetch(`${base}admin/v1/whoami`, { headers: { authorization: `Bearer ${secret}` } })).json();
  assert.equal(who.role, 'auditor');
  assert.equal(who.workspace, 'acme');
  await p.click('#secret-done');
  await viewReady(p, 'credentials');
  await p.waitForSelector(`tr[data-id="${who.id}"]`);
  await assertGone(p, secret);
  await p.click(`tr[data-id="${who.id}"] button.revoke-cred`);
  await p.click('dialog[open] [data-action=confirm]');
  await p.waitForSelector(`tr[data-id="${who.id}"] .state-revoked`);
  assert.equal((await fetch(`${base}admin/v1/whoami`, { headers: { authorization: `Bearer ${secret}` } })).status, 401);

  // The policy: 90 days, and the Create dialog follows it.
  await go(p, '#/w/acme');
  await p.selectOption('#p-lifetime', '90');
  await nav(p, () => p.click('#p-save'));
  assert.match(await p.textContent('#notice'), /acme/);
  assert.equal(await p.evaluate(() => document.activeElement.id), 'p-save', 'focus stays on Save');
  assert.equal((await api('GET', '/workspaces/acme')).token_policy.max_lifetime_days, 90);
  await p.click('#tk-workspace-create');
  const now = Math.floor(Date.now() / 1000);
  assert.equal(await p.getAttribute('#c-expires', 'max'), new Date(Math.floor((now + 90 * 86400) / 86400) * 86400e3).toISOString().slice(0, 10));
  await p.keyboard.press('Escape');
  await api('PUT', '/workspaces/acme', { plan: 'premium', max_lifetime_days: 180, allow_no_expiry: false });
});

test(`a list of ${BIG} tokens pages through the API and stays responsive`, async () => {
  const c = await context();
  const p = await page(c);
  await signIn(p, creds.owner);
  const mark = requests.length;
  const t0 = Date.now();
  await go(p, '#/w/acme/r/big');
  const firstMs = Date.now() - t0;
  const listCalls = () => requests.slice(mark).filter((r) => r.url.includes('/repositories/big/access-tokens')).map((r) => new URL(r.url).searchParams);
  assert.equal(listCalls().length, 1);
  assert.equal(listCalls()[0].get('limit'), '100');
  assert.equal(await p.getAttribute('section.tokens', 'data-loaded'), '100');
  assert.equal(await p.locator('.token-list tbody tr').count(), 50, 'one screenful drawn');
  assert.match(await p.textContent('.tokens .count'), /more on the host/);

  // Next pages: the third screenful needs the API's second page.
  await p.click('.pager .next');
  await p.click('.pager .next');
  await p.waitForFunction(() => document.querySelector('section.tokens').dataset.loaded === '200');
  assert.equal(listCalls()[1].get('cursor') !== null, true, 'the second page is asked for with the cursor');
  assert.match(await p.textContent('.pager .page-no'), /^Page 3 of/);

  const t1 = Date.now();
  await p.click('.tokens .load-all');
  await p.waitForFunction((n) => document.querySelector('section.tokens').dataset.loaded === String(n) && document.querySelector('section.tokens').dataset.state === 'ready', BIG, { timeout: 60000 });
  const allMs = Date.now() - t1;
  assert.ok(listCalls().slice(2).every((q) => q.get('limit') === '1000'));
  assert.equal(await p.locator('.token-list tbody tr').count(), 50);

  // Filter, state and sort over everything, each drawn in a frame or two.
  const timed = (fn) => p.evaluate(async (src) => {
    const t = performance.now();
    // eslint-disable-next-line no-new-func
    new Function(src)();
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now() - t;
  }, fn);
  const want = `bulk-${String(BIG - 1).padStart(5, '0')}`;
  const filterMs = await timed(`const f = document.getElementById('tk-repository-filter'); f.value = ${JSON.stringify(want)}; f.dispatchEvent(new Event('input', { bubbles: true }));`);
  assert.deepEqual(await p.$$eval('.token-list tbody tr .tname', (x) => x.map((e) => e.textContent)), [want]);
  await p.fill('#tk-repository-filter', 'pipeline');
  assert.equal(await p.getAttribute('section.tokens', 'data-shown'), String(Math.ceil(BIG / 3)));
  await p.fill('#tk-repository-filter', '');
  const sortMs = await timed(`document.querySelector('th[data-key=name] button').click();`);
  assert.equal(await p.textContent('.token-list tbody tr .tname'), 'bulk-00000');
  const sortBackMs = await timed(`document.querySelector('th[data-key=name] button').click();`);
  assert.equal(await p.textContent('.token-list tbody tr .tname'), want);
  console.log(`# ${BIG} tokens: first page drawn ${firstMs} ms after navigation; all loaded in ${allMs} ms; ` +
    `filter ${filterMs.toFixed(0)} ms, sort ${sortMs.toFixed(0)} ms, reverse ${sortBackMs.toFixed(0)} ms to the next frame`);
  assert.ok(firstMs < 1500, `first page in ${firstMs} ms`);
  for (const [what, ms] of [['filter', filterMs], ['sort', sortMs], ['reverse', sortBackMs]]) assert.ok(ms < 250, `${what} took ${ms} ms`);
});

test('English and Japanese: every string in both, the browser\'s language, a switch that persists, local dates', async () => {
  assert.deepEqual(Object.keys(ja).sort(), Object.keys(en).sort(), 'the two dictionaries hold the same keys');
  const untranslated = Object.keys(en).filter((k) => ja[k] === en[k] && !/^(demo\.ex\.git|demo\.where|demo\.whereRepo|group\.webhooks|lang\.)/.test(k));
  assert.deepEqual(untranslated, [], 'every Japanese string differs from the English one');
  for (const term of ['アクセス トークン', 'スコープ', 'ワークスペース', 'リポジトリ', 'プロジェクト']) {
    assert.ok(Object.values(ja).some((s) => s.includes(term)), term);
  }

  // The pages are written in English and not rewritten for it: their text must be en.js's.
  const c0 = await context();
  const p0 = await page(c0);
  for (const url of [`${base}console/`, base]) {
    await p0.goto(url);
    await p0.waitForSelector('html[data-ready=true]');
    const differ = await p0.evaluate((en) => {
      const norm = (x) => x.replace(/\s+/g, ' ').trim();
      const out = [];
      // The console titles the page by its view; the demo empties its loading status once loaded.
      const skip = (el) => (el.tagName === 'TITLE' && location.pathname.startsWith('/console/')) || !el.textContent;
      for (const el of document.querySelectorAll('[data-i18n]')) if (!skip(el) && norm(el.textContent) !== en[el.dataset.i18n]) out.push(el.dataset.i18n);
      for (const el of document.querySelectorAll('[data-i18n-html]')) if (norm(el.innerHTML) !== en[el.dataset.i18nHtml]) out.push(el.dataset.i18nHtml);
      for (const el of document.querySelectorAll('[data-i18n-attr]')) {
        for (const [attr, key] of el.dataset.i18nAttr.split(/\s+/).map((x) => x.split(':'))) if (el.getAttribute(attr) !== en[key]) out.push(key);
      }
      return out;
    }, en);
    assert.deepEqual(differ, [], `${url}: the HTML's English is en.js's`);
  }

  // A Japanese browser gets Japanese; every piece of text is a dictionary's (no key shows through).
  const p = await open(creds.owner, '#/w/acme/r/api', { locale: 'ja-JP' });
  await tokensReady(p);
  assert.equal(await p.getAttribute('html', 'lang'), 'ja');
  assert.equal(await p.textContent('#tk-repository-h'), 'アクセス トークン');
  assert.equal(await p.textContent('#nav a[href="#/workspaces"]'), 'ワークスペース');
  const text = await p.evaluate(() => document.body.innerText);
  const keyLike = Object.keys(en).filter((k) => text.includes(k) && k.includes('.') && !/^(scope|kind|plan|state|days)\./.test(k));
  assert.deepEqual(keyLike, []);
  // Dates in the reader's locale, through Intl.
  const iso = await p.getAttribute('tr .c-created time', 'datetime');
  const want = new Intl.DateTimeFormat('ja-JP', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
  assert.equal(await p.textContent('tr .c-created time'), want);
  await p.click('#tk-repository-create');
  await p.waitForSelector('dialog[open]');
  assert.equal(await p.textContent('dialog[open] h2'), 'アクセス トークンを作成');
  assert.match(await p.textContent('#c-scopes'), /プル リクエスト/);
  await p.click('#c-submit');
  assert.match(await p.textContent('#c-check'), /名前/);
  await p.keyboard.press('Escape');

  // The switch: English, kept across loads (localStorage holds the choice, nothing else).
  await p.selectOption('#lang', 'en');
  await p.waitForSelector('html[lang=en][data-ready=true]');
  await tokensReady(p);
  assert.equal(await p.textContent('#tk-repository-h'), 'Access tokens');
  assert.deepEqual(await p.evaluate(() => Object.keys(localStorage)), ['scopegate.lang']);
  await p.reload();
  await p.waitForSelector('html[data-ready=true]');
  assert.equal(await p.getAttribute('html', 'lang'), 'en');

  // The demo, in Japanese when chosen.
  await p.evaluate(() => localStorage.setItem('scopegate.lang', 'ja'));
  await p.goto(base);
  await p.waitForSelector('html[data-ready=true]');
  assert.equal(await p.getAttribute('html', 'lang'), 'ja');
  assert.equal(await p.textContent('#builder-h'), '1. トークン');
  assert.match(await p.textContent('#d-verdict'), /許可|拒否/);
  assert.match(await p.textContent('#scope-groups'), /プル リクエスト/);
  const demoText = await p.evaluate(() => document.body.innerText);
  const demoKeys = Object.keys(en).filter((k) => demoText.includes(k) && k.includes('.') && !/^(scope|kind|plan|state|days)\./.test(k));
  assert.deepEqual(demoKeys, []);
  await p.evaluate(() => localStorage.removeItem('scopegate.lang'));
});

test('keyboard only: sign in, reach a repository, create a token, copy and close', async () => {
  const c = await context();
  const p = await page(c);
  const active = () => p.evaluate(() => document.activeElement?.id || document.activeElement?.textContent?.trim() || document.activeElement?.tagName);
  const tabTo = async (pred, max = 120) => {
    for (let i = 0; i < max; i++) {
      await p.keyboard.press('Tab');
      if (await p.evaluate(pred)) return;
    }
    throw new Error(`not reached by Tab; at ${await active()}`);
  };
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.className), 'skip');
  await tabTo(() => document.activeElement.id === 'signin-key');
  await p.keyboard.type(creds.owner);
  await nav(p, () => p.keyboard.press('Enter'), 'w');
  await tabTo(() => document.activeElement.getAttribute('href') === '#/w/acme');
  // A visible focus ring.
  assert.notEqual(await p.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'none');
  await nav(p, () => p.keyboard.press('Enter'));
  assert.equal(await p.evaluate(() => document.activeElement.classList.contains('view-h')), true, 'focus moves to the new view');
  await tabTo(() => document.activeElement.getAttribute('href') === '#/w/acme/r/infra');
  await nav(p, () => p.keyboard.press('Enter'));
  await tabTo(() => document.activeElement.id === 'tk-repository-create');
  await p.keyboard.press('Enter');
  await p.waitForSelector('dialog[open] #c-name');
  await p.keyboard.type('kbd-token');
  await tabTo(() => document.activeElement.id === 'c-s-repository');
  await p.keyboard.press('Space');
  assert.equal(await p.isChecked('#c-s-repository'), true);
  await tabTo(() => document.activeElement.id === 'c-submit');
  await p.keyboard.press('Enter');
  await p.waitForSelector('dialog[open] #secret-value');
  const secret = await p.textContent('#secret-value');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'secret-copy');
  await p.keyboard.press('Enter');
  await p.waitForFunction(() => document.querySelector('.copy-status').textContent !== '');
  assert.equal(await p.evaluate(() => navigator.clipboard.readText()), secret);
  await p.keyboard.press('Escape');
  await p.waitForSelector('dialog', { state: 'detached' });
  await tokensReady(p);
  assert.equal(await p.evaluate(() => document.activeElement.id), 'tk-repository-create');
  await assertGone(p, secret);
  // Sorting by keyboard.
  await p.focus('th[data-key=name] button');
  await p.keyboard.press('Enter');
  assert.equal(await p.getAttribute('th[data-key=name]', 'aria-sort'), 'ascending');
  await p.evaluate(() => navigator.clipboard.writeText(''));
});

test('a 390 px wide screen: no horizontal scrolling, dialogs fit; screenshots', async () => {
  for (const locale of ['en-US', 'ja-JP']) {
    const p = await open(creds.owner, '#/w/acme/r/api', { locale, width: 390, height: 844 });
    await tokensReady(p);
    const overflow = () => p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(await overflow() <= 0, `${locale}: the page is ${await overflow()} px wider than the screen`);
    await p.screenshot({ path: path.join(OUT, `console-narrow-${locale}.png`), fullPage: true });
    await p.click('#tk-repository-create');
    await p.waitForSelector('dialog[open]');
    const box = await p.locator('dialog[open]').boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 390, `${locale}: the dialog fits (${box.x}+${box.width})`);
    await p.keyboard.press('Escape');
    for (const hash of ['#/audit', '#/credentials', '#/w/acme']) {
      await go(p, hash);
      assert.ok(await overflow() <= 0, `${locale} ${hash}: ${await overflow()} px too wide`);
    }
  }
  for (const [locale, lang] of [['en-US', 'en'], ['ja-JP', 'ja']]) {
    const p = await open(creds.owner, '#/w/acme/r/api', { locale, width: 1280, height: 820 });
    await tokensReady(p);
    const shot = path.join(OUT, `console-${lang}.png`);
    await p.screenshot({ path: shot, fullPage: true });
    if (process.env.UPDATE_SCREENSHOT) fs.copyFileSync(shot, path.join(ROOT, `docs/console-${lang}.png`));
  }
});

test('axe-core finds no serious or critical violation, in both languages', async () => {
  for (const locale of ['en-US', 'ja-JP']) {
    const c = await context({ locale });
    const p = await page(c);
    await axe(p, `${locale} sign-in`);
    await signIn(p, creds.owner, 'w');
    await axe(p, `${locale} workspaces`);
    for (const hash of ['#/w/acme', '#/w/acme/r/api', '#/audit', '#/credentials']) {
      await go(p, hash);
      await axe(p, `${locale} ${hash}`);
    }
    await go(p, '#/w/acme/r/api');
    await p.click('#tk-repository-create');
    await p.waitForSelector('dialog[open] #c-name');
    await p.fill('#c-name', 'axe');
    await p.check('#c-s-repository');
    await axe(p, `${locale} create dialog`);
    await p.click('#c-submit');
    await p.waitForSelector('dialog[open] #secret-value');
    await axe(p, `${locale} secret dialog`);
    await p.keyboard.press('Escape');
  }
});

test('the credential travels only in the Authorization header, and is in no URL, body, storage or log', async () => {
  assert.ok(requests.length > 100, `${requests.length} requests recorded`);
  const consoleRequests = requests.filter((r) => r.url.startsWith(base));
  for (const [role, secret] of Object.entries(creds)) {
    for (const r of consoleRequests) {
      assert.equal(r.url.includes(secret), false, `${role} credential in a URL: ${r.url}`);
      assert.equal((r.body || '').includes(secret), false, `${role} credential in a body: ${r.method} ${r.url}`);
      for (const [name, value] of Object.entries(r.headers || {})) {
        if (name.toLowerCase() === 'authorization') assert.ok(value === `Bearer ${secret}` || !value.includes(secret));
        else assert.equal(value.includes(secret), false, `${role} credential in header ${name} of ${r.url}`);
      }
    }
    assert.equal(logs.some((l) => l.includes(secret)), false, `${role} credential in a console log`);
  }
  const authorized = consoleRequests.filter((r) => r.headers?.authorization);
  assert.ok(authorized.length > 50);
  assert.ok(authorized.every((r) => new URL(r.url).pathname.startsWith('/admin/v1/')), 'only the admin API gets the header');
});
