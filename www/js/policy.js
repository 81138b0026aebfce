// Every fact about access shown on the page comes through here from the policy module, so the page can
// never disagree with the host that loads the same file.

import { ALL_SCOPES } from './groups.js';

let mod = null;

export async function loadPolicy() {
  mod = await import('../pkg/scopegate_policy.js');
  // Compiled early by index.html; a server that labels .wasm with another type fails that, and the glue's
  // own loader (which tolerates it) takes over.
  const early = await Promise.resolve(window.scopegatePolicyWasm).catch(() => undefined);
  await mod.default(early ? { module_or_path: early } : undefined);
  if (mod.abiVersion() !== 2) throw new Error(`unexpected policy ABI version ${mod.abiVersion()}`);
  return mod;
}

export const authorize = (input) => mod.authorize(input);
export const route = (method, path) => mod.route(method, path);
export const checkIssue = (request, context) => mod.checkIssue(request, context);
export const minimalToken = (calls) => mod.minimalToken(calls);

let opsCache = null;
export function operations() {
  if (!opsCache) opsCache = mod.operations();
  return opsCache;
}

export function methods() {
  const seen = new Set(['GET', 'HEAD']);
  for (const op of operations()) seen.add(op.method);
  return [...seen];
}

export const opName = (op) => `${op.method} ${op.path}`;

// The binding fields a token of `kind` must carry, and only those (a stray one makes the claims invalid).
export function bindings(kind, v) {
  const out = { kind, workspace: v.workspace };
  if (kind === 'project') out.project = v.project;
  if (kind === 'repository') out.repository = v.repository;
  return out;
}

const grantCache = new Map();
// Asks the issuing check scope by scope, with every other condition satisfied, whether `kind` may hold it.
export function grantable(kind) {
  if (grantCache.has(kind)) return grantCache.get(kind);
  const context = { plan: 'premium', now: 0, max_lifetime_days: 365, allow_no_expiry: true };
  const out = new Map();
  for (const scope of ALL_SCOPES) {
    const req = { ...bindings(kind, { workspace: 'w', project: 'P', repository: 'r' }), name: 'probe', scopes: [scope], expires_at: null };
    const res = checkIssue(req, context);
    out.set(scope, res.ok ? { ok: true } : { ok: false, reason: res.reason, message: res.message });
  }
  grantCache.set(kind, out);
  return out;
}

const closureCache = new Map();
// The effective set of a scope list, read from the decision's granted_scopes (§5: the closure).
export function closure(scopes) {
  const key = [...scopes].sort().join(' ');
  if (closureCache.has(key)) return closureCache.get(key);
  const ok = grantable('workspace');
  const held = scopes.filter((s) => ok.get(s)?.ok);
  const d = authorize({ token: { kind: 'workspace', workspace: 'w', scopes: held }, request: { method: 'GET', path: '/' }, now: 0 });
  const out = d.granted_scopes || [];
  closureCache.set(key, out);
  return out;
}

// Readable stand-ins for template parameters; any non-empty segment would do for the policy.
const SAMPLE = {
  commit: 'a1b2c3d', revision: 'a1b2c3d', spec: 'main..dev', revspec: 'main..dev', node_id: 'a1b2c3d',
  name: 'main', path: 'README.md', filename: 'build.log', email: 'dev@example.com',
  group_slug: 'developers', selected_user: 'someone', target_username: 'someone', member: 'someone',
  subject_type: 'repository', app_key: 'my-app', property_name: 'color', key: 'DEPLOY', fingerprint: 'ab12cd34',
  encoded_id: 'xyz12', uid: '1', annotationId: '1', reportId: '1',
};

// A concrete path (with the /2.0 prefix) for an operation template, naming the given bindings.
export function samplePath(template, b) {
  const sub = (name) => {
    if (name === 'workspace' || name === 'username') return enc(b.workspace);
    if (name === 'repo_slug' || name === 'repo_name') return enc(b.repository);
    if (name === 'project_key') return enc(b.project);
    if (name in SAMPLE) return SAMPLE[name];
    return '1';
  };
  return '/2.0' + template.replace(/\{([^}]+)\}/g, (_, n) => sub(n));
}

const enc = (s) => encodeURIComponent(s || 'x');
