// "What this token can reach": every API operation tried with a concrete path in the token's resource.

import { $, h } from './dom.js';
import { authorize, operations, samplePath, opName } from './policy.js';
import { tokenOf, nowSeconds } from './builder.js';
import { sampleBindings, setCall } from './try.js';
import { OP_GROUPS, groupForScopes } from './groups.js';
import { TOKEN_FIELDS } from './state.js';
import { t } from './i18n.js';

const opGroupLabel = (g) => t(`group.${g.id}`);

let store;
let rows = []; // {op, sample, group, allowed, text}
const openGroups = new Set();

export function initReach(st) {
  store = st;
  $('#r-filter').addEventListener('input', (e) => store.set({ filter: e.target.value }));
}

export function fillReach(s) {
  $('#r-filter').value = s.filter;
}

let timer = null;

export const reachPending = () => timer !== null;

// One decision per operation is the heaviest work on the page: while a token field is being typed in, it
// trails the keystrokes so that the decision above stays immediate.
export function renderReach(s, changed, { immediate = false } = {}) {
  const tokenChanged = [...changed].some((f) => TOKEN_FIELDS.includes(f));
  if (immediate || !rows.length) {
    compute(s);
    draw(s);
  } else if (tokenChanged) {
    clearTimeout(timer);
    $('#reach').setAttribute('aria-busy', 'true');
    timer = setTimeout(() => {
      timer = null;
      compute(store.get());
      draw(store.get());
      $('#reach').setAttribute('aria-busy', 'false');
    }, 60);
  } else if (changed.has('filter') && !timer) draw(s);
}

function compute(s) {
  const token = tokenOf(s);
  const b = sampleBindings(s);
  const now = nowSeconds();
  rows = operations().map((op) => {
    const sample = samplePath(op.path, b);
    const input = { token, request: { method: op.method, path: sample }, now };
    // A project token reaches a repository only through the repository's project; take it to be the token's.
    if (s.kind === 'project') input.repository_project = s.project;
    const d = authorize(input);
    return {
      op, sample, group: groupForScopes(op.required_scopes),
      // The sample must land on the operation it stands for; count it only then.
      allowed: d.allow && d.operation === opName(op),
      text: `${op.method} ${op.path} ${op.required_scopes.join(' ')}`.toLowerCase(),
    };
  });
  const where = s.kind === 'repository' ? t('demo.whereRepo', { ws: s.workspace, repo: s.repository })
    : s.kind === 'project' ? t('demo.whereProject', { ws: s.workspace, project: s.project })
      : t('demo.whereWorkspace', { ws: s.workspace, repo: s.repository, project: s.project });
  $('#reach-note').textContent = t('demo.reachNote', { n: rows.length, where, prefix: REPO_PREFIX });
}

function draw(s) {
  const words = s.filter.toLowerCase().split(/\s+/).filter(Boolean);
  const match = (r) => words.every((w) => r.text.includes(w));
  const allowed = rows.filter((r) => r.allowed);
  const shown = allowed.filter(match);
  const reach = $('#reach');
  reach.dataset.allowed = String(allowed.length);
  reach.dataset.shown = String(shown.length);

  const counts = $('#reach-groups');
  counts.replaceChildren(
    h('li', { class: 'total' }, h('strong', {}, String(allowed.length)), t('demo.ofAllowed', { n: rows.length })),
    ...OP_GROUPS.map((g) => {
      const inGroup = rows.filter((r) => r.group === g);
      if (!inGroup.length) return null;
      const n = inGroup.filter((r) => r.allowed).length;
      return h('li', { class: n ? 'some' : 'zero', dataset: { group: g.id, allowed: n, total: inGroup.length } },
        `${opGroupLabel(g)} `, h('strong', {}, String(n)), `/${inGroup.length}`);
    }).filter(Boolean));

  const list = $('#reach-list');
  if (!shown.length) {
    list.replaceChildren(h('p', { class: 'empty' }, allowed.length ? t('demo.noMatch') : t('demo.noCall')));
    return;
  }
  list.replaceChildren(...OP_GROUPS.map((g) => {
    const items = shown.filter((r) => r.group === g);
    if (!items.length) return null;
    // Groups stay as the reader left them across redraws; a filter opens them all.
    const details = h('details', { class: 'opgroup', dataset: { group: g.id }, open: words.length > 0 || openGroups.has(g.id) },
      h('summary', {}, `${opGroupLabel(g)} `, h('span', { class: 'count' }, `(${items.length})`)),
      h('ul', { 'aria-label': opGroupLabel(g) }, items.map((r) => h('li', {},
        h('button', {
          type: 'button', class: 'op', title: t('demo.tryOp', { call: `${r.op.method} ${r.sample}` }), dataset: { op: opName(r.op) },
          onclick: () => {
            const rp = s.kind === 'project' && r.op.target_kind === 'repository' ? s.project : undefined;
            setCall(r.op.method, r.sample, rp);
            $('#try-h').focus();
          },
        },
        h('span', { class: `method m-${r.op.method}` }, r.op.method), ' ',
        template(r.op.path), ' ',
        h('span', { class: 'req' }, r.op.required_scopes.join(' + ') || t('demo.public')))))));
    details.addEventListener('toggle', () => {
      if (words.length) return;
      if (details.open) openGroups.add(g.id); else openGroups.delete(g.id);
    });
    return details;
  }).filter(Boolean));
}

const REPO_PREFIX = '/repositories/{workspace}/{repo_slug}';

// The repository prefix repeats on most rows: shown as "…" so the distinguishing tail stands out, while
// screen readers and copy-paste still get the whole template.
function template(path) {
  if (path.startsWith(REPO_PREFIX) && path.length > REPO_PREFIX.length) {
    return h('span', { class: 'tpl' }, h('span', { class: 'visually-hidden' }, REPO_PREFIX),
      h('span', { class: 'pre', 'aria-hidden': 'true' }, '…'), path.slice(REPO_PREFIX.length));
  }
  return h('span', { class: 'tpl' }, path);
}
