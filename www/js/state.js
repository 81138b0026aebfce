// Page state, mirrored into the address bar's fragment so a link reproduces the view. The fragment is
// never sent to a server, so the paths and names typed here stay in the browser.

export const DEFAULT_CALLS = [
  'GET /2.0/repositories/acme/api/pullrequests',
  'POST /2.0/repositories/acme/api/pullrequests/1/comments',
  'GET /acme/api.git/info/refs?service=git-upload-pack',
].join('\n');

function isoDay(unixSeconds) {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10);
}

export function defaults(now = Math.floor(Date.now() / 1000)) {
  return {
    kind: 'repository',
    workspace: 'acme',
    project: 'PROJ',
    repository: 'api',
    name: 'ci-bot',
    scopes: ['pullrequest'],
    expires: isoDay(now + 90 * 86400), // '' means no expiry
    revoked: false,
    plan: 'premium',
    lifetime: 365,
    allowNoExpiry: false,
    method: 'GET',
    path: '/2.0/repositories/acme/api/pullrequests?state=OPEN',
    repositoryProject: '',
    filter: '',
    calls: DEFAULT_CALLS,
  };
}

// URL key for each field; short but readable in a shared link.
const KEYS = {
  kind: 'kind', workspace: 'ws', project: 'project', repository: 'repo', name: 'name', scopes: 'scopes',
  expires: 'expires', revoked: 'revoked', plan: 'plan', lifetime: 'lifetime', allowNoExpiry: 'noexpiry',
  method: 'method', path: 'path', repositoryProject: 'rp', filter: 'filter', calls: 'calls',
};

export function toHash(s) {
  const d = defaults();
  const p = new URLSearchParams();
  for (const [field, key] of Object.entries(KEYS)) {
    const v = s[field];
    if (field === 'filter' && !v) continue;
    if (field === 'calls' && v === d.calls) continue;
    if (field === 'scopes') p.set(key, v.join(','));
    else if (typeof v === 'boolean') p.set(key, v ? '1' : '0');
    else p.set(key, String(v));
  }
  return '#' + p.toString();
}

const KINDS = ['repository', 'project', 'workspace'];
const PLANS = ['free', 'standard', 'premium'];

// Unknown or missing values fall back to the defaults; scope names are kept as written so that the policy
// module, not this parser, says what is wrong with them.
export function fromHash(hash) {
  const s = defaults();
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const get = (f) => p.get(KEYS[f]);
  if (KINDS.includes(get('kind'))) s.kind = get('kind');
  for (const f of ['workspace', 'project', 'repository', 'name', 'path', 'repositoryProject', 'filter', 'calls']) {
    if (get(f) !== null) s[f] = get(f);
  }
  if (get('method')) s.method = get('method');
  if (get('scopes') !== null) s.scopes = get('scopes').split(',').map((x) => x.trim()).filter(Boolean);
  if (get('expires') !== null && (get('expires') === '' || /^\d{4}-\d{2}-\d{2}$/.test(get('expires')))) s.expires = get('expires');
  if (get('revoked') !== null) s.revoked = get('revoked') === '1';
  if (get('allowNoExpiry') !== null) s.allowNoExpiry = get('allowNoExpiry') === '1';
  if (PLANS.includes(get('plan'))) s.plan = get('plan');
  if (['90', '180', '365'].includes(get('lifetime'))) s.lifetime = Number(get('lifetime'));
  return s;
}

export function expiresAt(s) {
  return s.expires ? Math.floor(Date.parse(s.expires + 'T00:00:00Z') / 1000) : null;
}

export function createStore(initial) {
  let state = initial;
  const listeners = [];
  // Address-bar writes trail the typing: browsers throttle a page that rewrites its history too often.
  let timer = null;
  const flush = () => {
    clearTimeout(timer);
    timer = null;
    const hash = toHash(state);
    if (location.hash !== hash) history.replaceState(null, '', hash);
  };
  window.addEventListener('pagehide', flush);
  return {
    get: () => state,
    // `changed` names the fields that moved so each view redraws only what depends on them.
    set(patch) {
      state = { ...state, ...patch };
      clearTimeout(timer);
      timer = setTimeout(flush, 120);
      const changed = new Set(Object.keys(patch));
      for (const fn of listeners) fn(state, changed);
    },
    replace(next) {
      state = next;
      const changed = new Set(Object.keys(next));
      for (const fn of listeners) fn(state, changed);
    },
    urlPending: () => timer !== null,
    flush,
    subscribe: (fn) => listeners.push(fn),
  };
}

export const TOKEN_FIELDS = ['kind', 'workspace', 'project', 'repository', 'scopes', 'expires', 'revoked'];
export const ISSUE_FIELDS = [...TOKEN_FIELDS, 'name', 'plan', 'lifetime', 'allowNoExpiry'];
