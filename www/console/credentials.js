// Admin credentials, for owners: the list (paged), a new one (its secret shown once), revocation.

import { h } from '../js/dom.js';
import { t, fmtNumber } from '../js/i18n.js';
import * as api from './api.js';
import { when, errorBox, confirmDialog, notice, openDialog, errorNodes, dayStart, rfc3339 } from './ui.js';
import { showSecret } from './secret.js';

const ROLES = ['owner', 'token-manager', 'auditor', 'snapshot-reader', 'introspect'];

export async function credentialsView(caps, who) {
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'more' }, t('common.loadMore'));
  const count = h('p', { class: 'hint', id: 'cred-count', 'aria-live': 'polite' });
  const errorSlot = h('div');
  let cursor = null, rows = [];

  const row = (c) => {
    const revoked = !!c.revoked_at;
    const self = c.id === who.id;
    const revoke = !revoked && !self ? h('button', { type: 'button', class: 'danger revoke-cred', dataset: { id: c.id } },
      t('tokens.revoke'), h('span', { class: 'visually-hidden' }, ` ${c.name}`)) : null;
    revoke?.addEventListener('click', async () => {
      const ok = await confirmDialog({ title: t('cred.revokeTitle'), text: t('cred.revokeText', { name: c.name }), confirmLabel: t('revoke.confirm'), danger: true });
      if (!ok) return;
      try {
        await api.del(api.path('credentials', c.id));
        notice(t('cred.revoked', { name: c.name }));
        reload();
      } catch (err) { notice(errorNodes(err).map((n) => n.textContent ?? n).join(''), 'error'); }
    });
    return h('tr', { dataset: { id: c.id } },
      h('td', { 'data-label': t('col.name') }, c.name, self ? h('span', { class: 'hint' }, ` ${t('cred.you')}`) : null, h('br'), h('code', { class: 'tid' }, c.id)),
      h('td', { 'data-label': t('cred.role') }, h('code', {}, c.role)),
      h('td', { 'data-label': t('field.workspace') }, c.workspace || '—'),
      h('td', { 'data-label': t('col.created') }, when(c.created_at)),
      h('td', { 'data-label': t('col.expires') }, when(c.expires_at, t('token.never'))),
      h('td', { 'data-label': t('col.state') }, revoked ? h('span', { class: 'badge state-revoked' }, t('state.revoked')) : h('span', { class: 'badge state-active' }, t('state.active'))),
      h('td', { 'data-label': t('col.actions') }, revoke || h('span', { class: 'muted' }, '—')));
  };

  const load = async () => {
    more.disabled = true;
    try {
      const p = await api.page('/credentials', { limit: 100, cursor });
      rows.push(...p.values);
      tbody.append(...p.values.map(row));
      cursor = p.next;
      errorSlot.replaceChildren();
    } catch (err) {
      errorSlot.replaceChildren(errorBox(err));
    } finally {
      more.disabled = false;
      more.hidden = !cursor;
      count.textContent = t('cred.count', { n: fmtNumber(rows.length) });
    }
  };
  const reload = async () => { rows = []; cursor = null; tbody.replaceChildren(); await load(); };
  more.addEventListener('click', load);

  const create = h('button', { type: 'button', class: 'primary', id: 'cred-create' }, t('cred.create'));
  create.addEventListener('click', () => openCreateCredential(reload));
  await load();
  return {
    title: t('nav.credentials'),
    nodes: [
      h('h1', { class: 'view-h', tabindex: '-1' }, t('nav.credentials')),
      h('section', { class: 'panel', 'aria-labelledby': 'cred-h' },
        h('div', { class: 'panel-head' }, h('h2', { id: 'cred-h' }, t('cred.title')), create),
        h('p', { class: 'hint' }, t('cred.hint')),
        errorSlot, count,
        h('div', { class: 'table-wrap' }, h('table', { class: 'list cred-list', 'aria-describedby': 'cred-count' },
          h('caption', { class: 'visually-hidden' }, t('cred.title')),
          h('thead', {}, h('tr', {}, [t('col.name'), t('cred.role'), t('field.workspace'), t('col.created'), t('col.expires'), t('col.state'), t('col.actions')]
            .map((x) => h('th', { scope: 'col' }, x)))), tbody)),
        more),
    ],
  };
}

function openCreateCredential(onCreated) {
  const name = h('input', { id: 'k-name', spellcheck: 'false', maxlength: '200' });
  const role = h('select', { id: 'k-role' }, ROLES.map((r) => h('option', { value: r }, `${r} — ${t(`role.${r}`)}`)));
  role.value = 'auditor';
  const ws = h('input', { id: 'k-workspace', spellcheck: 'false', 'aria-describedby': 'k-workspace-hint' });
  const wsHint = h('p', { class: 'hint', id: 'k-workspace-hint' });
  const expires = h('input', { id: 'k-expires', type: 'date' });
  const out = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'k-submit' }, t('cred.submit'));
  const cancel = h('button', { type: 'button' }, t('common.cancel'));
  const syncRole = () => {
    const r = role.value;
    ws.disabled = !(r === 'token-manager' || r === 'auditor');
    wsHint.textContent = r === 'token-manager' ? t('cred.wsRequired') : r === 'auditor' ? t('cred.wsOptional') : t('cred.wsNone');
  };
  role.addEventListener('change', syncRole);
  syncRole();
  const form = h('form', { autocomplete: 'off', novalidate: true },
    h('label', { for: 'k-name' }, t('field.name'), name),
    h('label', { for: 'k-role' }, t('cred.role'), role),
    h('label', { for: 'k-workspace' }, t('field.workspace'), ws), wsHint,
    h('label', { for: 'k-expires' }, t('cred.expires'), expires),
    out, h('div', { class: 'actions' }, cancel, submit));
  const d = openDialog({ title: t('cred.createTitle'), content: form });
  cancel.addEventListener('click', () => d.close());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!name.value.trim()) { out.replaceChildren(h('p', { class: 'error' }, t('cred.nameRequired'))); name.focus(); return; }
    if (role.value === 'token-manager' && !ws.value.trim()) { out.replaceChildren(h('p', { class: 'error' }, t('cred.wsRequired'))); ws.focus(); return; }
    submit.disabled = true;
    try {
      const body = { name: name.value, role: role.value };
      if (!ws.disabled && ws.value.trim()) body.workspace = ws.value.trim();
      if (expires.value) body.expires_at = rfc3339(dayStart(expires.value));
      const created = await api.post('/credentials', body);
      d.close();
      await showSecret({
        title: t('cred.createdTitle'),
        take: () => { const s = created.credential; delete created.credential; return s; },
        warning: t('secret.warningCredential'),
        details: [h('dl', { class: 'facts secret-facts' },
          h('dt', {}, t('field.name')), h('dd', {}, created.name),
          h('dt', {}, t('cred.role')), h('dd', {}, h('code', {}, created.role)),
          h('dt', {}, t('field.workspace')), h('dd', {}, created.workspace || '—'))],
      });
      onCreated();
    } catch (err) {
      submit.disabled = false;
      out.replaceChildren(errorBox(err));
    }
  });
}
