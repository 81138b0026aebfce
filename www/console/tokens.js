// A resource's access tokens: a table paged through the API (100 a request, newest first), filtered and
// sorted over what is loaded, drawn a screenful at a time so that 10,000 tokens stay responsive.
// "Load all" fetches the remaining pages (1,000 a request) for a filter over everything.

import { h } from '../js/dom.js';
import { t, fmtDateTime, fmtNumber } from '../js/i18n.js';
import * as api from './api.js';
import { when, chipList, stateBadge, errorBox, confirmDialog, notice, errorNodes } from './ui.js';
import { openCreate, openRotate, tokensPath } from './create.js';

const API_PAGE = 100;
const ALL_PAGE = 1000;
const SHOWN = 50;

const SORTS = {
  name: (a, b) => a.name.localeCompare(b.name),
  state: (a, b) => a.state.localeCompare(b.state),
  created_at: (a, b) => cmpTime(a.created_at, b.created_at),
  expires_at: (a, b) => cmpTime(a.expires_at, b.expires_at),
  last_accessed_at: (a, b) => cmpTime(a.last_accessed_at, b.last_accessed_at),
};
// No time sorts after every time: "never expires" and "never used" come last going up.
function cmpTime(a, b) {
  if (a === b) return 0;
  if (a == null) return 1;
  if (b == null) return -1;
  return a < b ? -1 : 1;
}

// `r`: the resource {kind, workspace, project?, repository?}; `caps`: the role's capabilities;
// `policy`: the workspace's {plan, max_lifetime_days, allow_no_expiry}.
export function tokenTable(r, caps, policy) {
  const st = { loaded: [], next: null, done: false, loading: false, sort: 'created_at', dir: -1, filter: '', state: '', page: 0, error: null };
  const id = `tk-${r.kind}`;

  const filter = h('input', { type: 'search', id: `${id}-filter`, spellcheck: 'false', autocomplete: 'off', placeholder: t('tokens.filterPlaceholder') });
  const stateSel = h('select', { id: `${id}-state` },
    h('option', { value: '' }, t('tokens.allStates')),
    ['active', 'expired', 'revoked', 'deactivated'].map((s) => h('option', { value: s }, t(`state.${s}`))));
  const count = h('p', { class: 'count hint', id: `${id}-count`, 'aria-live': 'polite' });
  const loadAll = h('button', { type: 'button', class: 'load-all' }, t('tokens.loadAll'));
  const tbody = h('tbody');
  const prev = h('button', { type: 'button', class: 'prev' }, t('tokens.prev'));
  const next = h('button', { type: 'button', class: 'next' }, t('tokens.next'));
  const pageNo = h('span', { class: 'page-no' });
  const errorSlot = h('div');

  const cols = [
    ['name', t('col.name')], ['kind', t('col.kind'), false], ['scopes', t('field.scopes'), false], ['state', t('col.state')],
    ['created_at', t('col.created')], ['expires_at', t('col.expires')], ['last_accessed_at', t('col.lastAccessed')],
    ['ips', t('col.lastUsedFrom'), false], ['actions', t('col.actions'), false],
  ];
  const heads = cols.map(([key, label, sortable = true]) => {
    if (!sortable) return h('th', { scope: 'col', class: `c-${key}` }, label);
    const b = h('button', { type: 'button', class: 'sort', dataset: { sort: key } }, label, h('span', { class: 'arrow', 'aria-hidden': 'true' }));
    b.addEventListener('click', () => {
      if (st.sort === key) st.dir = -st.dir; else { st.sort = key; st.dir = key === 'name' || key === 'state' ? 1 : -1; }
      st.page = 0;
      draw();
    });
    return h('th', { scope: 'col', class: `c-${key}`, dataset: { key } }, b);
  });

  const create = caps.write ? h('button', { type: 'button', class: 'primary create', id: `${id}-create` }, t('tokens.create')) : null;
  create?.addEventListener('click', () => openCreate(r, policy, { onCreated: reload }));

  const el = h('section', { class: 'panel tokens', id, 'aria-labelledby': `${id}-h`, dataset: { state: 'loading' } },
    h('div', { class: 'panel-head' }, h('h2', { id: `${id}-h` }, t('tokens.title')), create),
    !caps.write && h('p', { class: 'hint readonly-note' }, t('tokens.readOnly')),
    h('div', { class: 'toolbar' },
      h('label', { for: `${id}-filter` }, t('tokens.filter'), filter),
      h('label', { for: `${id}-state` }, t('col.state'), stateSel),
      h('div', { class: 'toolbar-end' }, count, loadAll)),
    errorSlot,
    h('div', { class: 'table-wrap' },
      h('table', { class: 'list token-list', 'aria-describedby': `${id}-count` },
        h('caption', { class: 'visually-hidden' }, t('tokens.caption', { resource: r.kind === 'workspace' ? r.workspace : r.project || r.repository })),
        h('thead', {}, h('tr', {}, heads)), tbody)),
    h('nav', { class: 'pager', 'aria-label': t('tokens.pages') }, prev, pageNo, next));

  filter.addEventListener('input', () => { st.filter = filter.value; st.page = 0; draw(); });
  stateSel.addEventListener('change', () => { st.state = stateSel.value; st.page = 0; draw(); });
  prev.addEventListener('click', () => { st.page = Math.max(0, st.page - 1); draw(); });
  next.addEventListener('click', async () => {
    // The next screenful may need the next page from the API.
    while (!st.done && visible().length <= (st.page + 1) * SHOWN) {
      if (!(await fetchPage(API_PAGE))) break;
    }
    if (visible().length > (st.page + 1) * SHOWN) st.page += 1;
    draw();
    next.isConnected && !next.disabled ? next.focus() : prev.focus();
  });
  loadAll.addEventListener('click', async () => {
    loadAll.disabled = true;
    while (!st.done) {
      if (!(await fetchPage(ALL_PAGE))) break;
      draw();
    }
    draw();
  });

  async function fetchPage(limit) {
    if (st.done || st.loading) return false;
    st.loading = true;
    el.dataset.state = 'loading';
    try {
      const p = await api.page(tokensPath(r), { limit, cursor: st.next });
      // A creation since the first page could repeat a token at a page edge; ids keep it once.
      const seen = new Set(st.loaded.map((x) => x.id));
      for (const v of p.values) if (!seen.has(v.id)) st.loaded.push(v);
      st.next = p.next;
      st.done = !p.next;
      st.error = null;
      return true;
    } catch (err) {
      st.error = err;
      return false;
    } finally {
      st.loading = false;
    }
  }

  let cache = null;
  function visible() {
    const key = `${st.loaded.length}|${st.filter}|${st.state}|${st.sort}|${st.dir}`;
    if (cache?.key === key) return cache.rows;
    const words = st.filter.toLowerCase().split(/\s+/).filter(Boolean);
    let rows = st.loaded.filter((x) => (!st.state || x.state === st.state) &&
      words.every((w) => x.name.toLowerCase().includes(w) || x.id.toLowerCase().includes(w) || x.scopes.some((s) => s.includes(w))));
    const cmp = SORTS[st.sort];
    // The API's order is newest first: kept as it is for the default sort.
    if (!(st.sort === 'created_at' && st.dir === -1)) rows = [...rows].sort((a, b) => st.dir * cmp(a, b) || cmpTime(b.created_at, a.created_at));
    cache = { key, rows };
    return rows;
  }

  function draw() {
    const rows = visible();
    const pages = Math.max(1, Math.ceil(rows.length / SHOWN));
    if (st.page >= pages) st.page = pages - 1;
    const slice = rows.slice(st.page * SHOWN, (st.page + 1) * SHOWN);
    tbody.replaceChildren(...slice.map(row), ...(slice.length ? [] : [h('tr', { class: 'empty' }, h('td', { colspan: String(cols.length) },
      st.loading && !st.loaded.length ? t('common.loading') : st.loaded.length ? t('tokens.noMatch') : t('tokens.none')))]));
    for (const th of heads) {
      const key = th.dataset.key;
      if (!key) continue;
      th.setAttribute('aria-sort', key === st.sort ? (st.dir > 0 ? 'ascending' : 'descending') : 'none');
      th.querySelector('.arrow').textContent = key === st.sort ? (st.dir > 0 ? ' ▲' : ' ▼') : '';
    }
    const more = !st.done;
    count.textContent = more
      ? t('tokens.countMore', { shown: fmtNumber(rows.length), loaded: fmtNumber(st.loaded.length) })
      : t('tokens.count', { shown: fmtNumber(rows.length), loaded: fmtNumber(st.loaded.length) });
    loadAll.hidden = !more;
    loadAll.disabled = st.loading;
    prev.disabled = st.page === 0;
    next.disabled = (st.page + 1) * SHOWN >= rows.length && st.done;
    pageNo.textContent = t('tokens.page', { page: st.page + 1, pages: st.done ? pages : `${pages}+` });
    errorSlot.replaceChildren(...(st.error ? [errorBox(st.error)] : []));
    el.dataset.state = st.error ? 'error' : st.loading ? 'loading' : 'ready';
    el.dataset.loaded = String(st.loaded.length);
    el.dataset.shown = String(rows.length);
  }

  function row(x) {
    const actions = [];
    if (caps.write && x.state === 'active') {
      actions.push(
        h('button', { type: 'button', class: 'rotate', dataset: { id: x.id }, onclick: () => openRotate(x, policy, { onRotated: reload }) },
          t('tokens.rotate'), h('span', { class: 'visually-hidden' }, ` ${x.name}`)),
        h('button', { type: 'button', class: 'revoke danger', dataset: { id: x.id }, onclick: () => revoke(x) },
          t('tokens.revoke'), h('span', { class: 'visually-hidden' }, ` ${x.name}`)));
    }
    if (caps.audit) {
      actions.push(h('a', { href: `#/audit?token_id=${encodeURIComponent(x.id)}`, class: 'history' },
        t('tokens.history'), h('span', { class: 'visually-hidden' }, ` ${x.name}`)));
    }
    const ips = x.last_used_ips || [];
    return h('tr', { dataset: { id: x.id, state: x.state } },
      h('td', { class: 'c-name', 'data-label': t('col.name') }, h('span', { class: 'tname' }, x.name), h('br'), h('code', { class: 'tid' }, x.id),
        x.rotated_from ? h('span', { class: 'hint rotated' }, h('br'), t('tokens.rotatedFrom', { id: x.rotated_from })) : null),
      h('td', { class: 'c-kind', 'data-label': t('col.kind') }, t(`kind.${x.kind}`)),
      h('td', { class: 'c-scopes', 'data-label': t('field.scopes') }, chipList(x.scopes)),
      h('td', { class: 'c-state', 'data-label': t('col.state') }, stateBadge(x.state)),
      h('td', { class: 'c-created', 'data-label': t('col.created') }, when(x.created_at)),
      h('td', { class: 'c-expires', 'data-label': t('col.expires') }, when(x.expires_at, t('token.never'))),
      h('td', { class: 'c-accessed', 'data-label': t('col.lastAccessed') }, when(x.last_accessed_at, t('token.neverUsed'))),
      h('td', { class: 'c-ips', 'data-label': t('col.lastUsedFrom') }, ips.length
        ? h('ul', { class: 'ips' }, ips.map((u) => h('li', {}, h('code', {}, u.ip), ' ', h('span', { class: 'hint' }, fmtDateTime(u.at)))))
        : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'c-actions', 'data-label': t('col.actions') }, actions.length ? h('div', { class: 'row-actions' }, actions) : h('span', { class: 'muted' }, '—')));
  }

  async function revoke(x) {
    const ok = await confirmDialog({
      title: t('revoke.title'), text: t('revoke.text', { name: x.name }), confirmLabel: t('revoke.confirm'), danger: true,
    });
    if (!ok) return;
    try {
      await api.del(api.path('access-tokens', x.id));
      let fresh = null;
      try { fresh = await api.get(api.path('access-tokens', x.id)); } catch { /* drawn as revoked */ }
      Object.assign(x, fresh || { state: 'revoked' });
      cache = null;
      draw();
      notice(t('revoke.done', { name: x.name }));
      el.querySelector(`tr[data-id="${CSS.escape(x.id)}"] .c-name`)?.setAttribute('tabindex', '-1');
      (el.querySelector(`tr[data-id="${CSS.escape(x.id)}"] .c-name`) || filter).focus();
    } catch (err) {
      notice([...errorNodes(err)].map((n) => n.textContent ?? n).join(''), 'error');
    }
  }

  async function reload() {
    st.loaded = []; st.next = null; st.done = false; st.page = 0; cache = null;
    el.dataset.state = 'loading';
    await fetchPage(API_PAGE);
    draw();
  }

  const ready = reload();
  return { el, ready, reload };
}
