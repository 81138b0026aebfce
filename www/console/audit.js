// The audit log, newest first, with the API's filters (workspace, token, event, since) and its cursor.
// The filters live in the address bar (#/audit?event=…), so a token's "History" link opens its story.

import { h } from '../js/dom.js';
import { t, fmtNumber } from '../js/i18n.js';
import * as api from './api.js';
import { when, errorBox } from './ui.js';

const EVENTS = ['workspace.put', 'workspace.deleted', 'project.put', 'project.deleted', 'repository.put', 'repository.moved',
  'repository.transferred', 'repository.deleted', 'token.created', 'token.revoked', 'token.rotated', 'token.deactivated',
  'token.leaked', 'credential.created', 'credential.revoked', 'webhook.put', 'webhook.deleted', 'check.denied'];

export async function auditView(caps, params) {
  const f = {
    workspace: caps.workspace || params.get('workspace') || '',
    token_id: params.get('token_id') || '',
    event: EVENTS.includes(params.get('event')) ? params.get('event') : '',
    since: /^\d{4}-\d{2}-\d{2}$/.test(params.get('since') || '') ? params.get('since') : '',
  };
  const ws = h('input', { id: 'a-workspace', value: f.workspace, spellcheck: 'false', disabled: !!caps.workspace });
  const token = h('input', { id: 'a-token', value: f.token_id, spellcheck: 'false', placeholder: 'tok_…' });
  const event = h('select', { id: 'a-event' }, h('option', { value: '' }, t('audit.allEvents')), EVENTS.map((e) => h('option', { value: e }, e)));
  event.value = f.event;
  const since = h('input', { id: 'a-since', type: 'date', value: f.since });
  const form = h('form', { class: 'toolbar audit-filters', autocomplete: 'off' },
    h('label', { for: 'a-workspace' }, t('field.workspace'), ws),
    h('label', { for: 'a-token' }, t('audit.token'), token),
    h('label', { for: 'a-event' }, t('audit.event'), event),
    h('label', { for: 'a-since' }, t('audit.since'), since),
    h('div', { class: 'toolbar-end' }, h('button', { type: 'submit', class: 'primary' }, t('audit.apply'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (!caps.workspace && ws.value.trim()) q.set('workspace', ws.value.trim());
    if (token.value.trim()) q.set('token_id', token.value.trim());
    if (event.value) q.set('event', event.value);
    if (since.value) q.set('since', since.value);
    const qs = q.toString();
    location.hash = `#/audit${qs ? `?${qs}` : ''}`;
  });

  const query = {
    workspace: f.workspace || undefined, token_id: f.token_id || undefined, event: f.event || undefined,
    // The start of the chosen day where the reader is.
    since: f.since ? new Date(`${f.since}T00:00:00`).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined,
  };
  const tbody = h('tbody');
  const count = h('p', { class: 'hint', 'aria-live': 'polite', id: 'audit-count' });
  const more = h('button', { type: 'button', class: 'more' }, t('common.loadMore'));
  const errorSlot = h('div');
  let cursor = null, n = 0;
  const load = async () => {
    more.disabled = true;
    try {
      const p = await api.page('/audit', { ...query, limit: 100, cursor });
      tbody.append(...p.values.map((e) => h('tr', { dataset: { event: e.event } },
        h('td', { 'data-label': t('audit.at') }, when(e.at)),
        h('td', { 'data-label': t('audit.event') }, h('code', {}, e.event)),
        h('td', { 'data-label': t('audit.actor') }, h('code', {}, e.actor)),
        h('td', { 'data-label': t('field.workspace') }, e.workspace || '—'),
        h('td', { 'data-label': t('audit.subject') }, e.subject ? h('code', {}, e.subject) : '—'),
        h('td', { 'data-label': t('audit.detail'), class: 'detail' }, h('code', {}, JSON.stringify(e.detail ?? {}))))));
      n += p.values.length;
      cursor = p.next;
      errorSlot.replaceChildren();
    } catch (err) {
      errorSlot.replaceChildren(errorBox(err));
    } finally {
      more.disabled = false;
      more.hidden = !cursor;
      count.textContent = t(cursor ? 'audit.countMore' : 'audit.count', { n: fmtNumber(n) });
      if (!n) tbody.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: '6' }, t('audit.none'))));
    }
  };
  more.addEventListener('click', load);
  await load();
  return {
    title: t('nav.audit'),
    nodes: [
      h('h1', { class: 'view-h', tabindex: '-1' }, t('nav.audit')),
      h('section', { class: 'panel audit', 'aria-labelledby': 'audit-h' },
        h('h2', { id: 'audit-h', class: 'visually-hidden' }, t('audit.filters')),
        form, errorSlot, count,
        h('div', { class: 'table-wrap' }, h('table', { class: 'list audit-list', 'aria-describedby': 'audit-count' },
          h('caption', { class: 'visually-hidden' }, t('nav.audit')),
          h('thead', {}, h('tr', {}, [t('audit.at'), t('audit.event'), t('audit.actor'), t('field.workspace'), t('audit.subject'), t('audit.detail')]
            .map((x) => h('th', { scope: 'col' }, x)))), tbody)),
        more),
    ],
  };
}
