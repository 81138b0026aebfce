// Small pieces every console view uses: modal dialogs with focus handling, confirmations, the live
// notice, error text, dates and chips.

import { h } from '../js/dom.js';
import { t, explain, fmtDateTime, fmtRelative } from '../js/i18n.js';

// A modal <dialog>: focus moves into it (the first field, else its first button), Esc closes it, and on
// close it leaves the DOM and focus returns to what opened it.
export function openDialog({ title, content, className = '', onClose, initialFocus }) {
  const opener = document.activeElement;
  const id = `dlg-${Math.random().toString(36).slice(2, 8)}`;
  const dlg = h('dialog', { class: `dlg ${className}`, 'aria-labelledby': `${id}-h` },
    h('h2', { id: `${id}-h` }, title), content);
  document.body.append(dlg);
  let closed = false;
  dlg.addEventListener('close', () => {
    if (closed) return;
    closed = true;
    dlg.remove();
    onClose?.();
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
    else document.getElementById('main')?.focus();
  });
  dlg.showModal();
  const first = initialFocus ? dlg.querySelector(initialFocus)
    : dlg.querySelector('input:not([type=hidden]):not([disabled]), select, textarea') || dlg.querySelector('button');
  first?.focus();
  return { el: dlg, close: () => { if (!closed) dlg.close(); } };
}

// Resolves true when confirmed, false on Cancel or Esc.
export function confirmDialog({ title, text, confirmLabel, danger = false }) {
  return new Promise((resolve) => {
    let answer = false;
    const ok = h('button', { type: 'button', class: danger ? 'danger' : 'primary', 'data-action': 'confirm' }, confirmLabel);
    const cancel = h('button', { type: 'button', 'data-action': 'cancel' }, t('common.cancel'));
    const d = openDialog({
      title, className: 'confirm',
      content: [h('p', {}, text), h('div', { class: 'actions' }, cancel, ok)],
      onClose: () => resolve(answer),
      initialFocus: '[data-action=cancel]',
    });
    ok.addEventListener('click', () => { answer = true; d.close(); });
    cancel.addEventListener('click', () => d.close());
  });
}

// The page's polite live region: what just happened, for everyone and for screen readers.
let noticeTimer = null;
export function notice(text, kind = 'ok') {
  const el = document.getElementById('notice');
  el.textContent = text;
  el.dataset.kind = kind;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { el.textContent = ''; }, 10000);
}

// An API error in words: the host's message, after its reason's translation when there is one.
export function errorNodes(err) {
  if (!err || !err.reason) return [String(err?.message || err)];
  if (err.reason === 'network') return [t('error.network')];
  return explain('api', err.reason, err.message || err.reason);
}

export const errorBox = (err) => h('p', { class: 'error', role: 'alert' }, ...errorNodes(err));

export function when(iso, empty = '—') {
  if (!iso) return h('span', { class: 'muted' }, empty);
  return h('time', { datetime: iso, title: fmtRelative(iso) }, fmtDateTime(iso));
}

export const chipList = (items, cls = '') => h('ul', { class: 'chips' }, items.map((s) => h('li', { class: `chip ${cls}` }, s)));

export const stateBadge = (state) => h('span', { class: `badge state-${state}` }, t(`state.${state}`));

// A date input's value (YYYY-MM-DD) as the Unix time of that day's midnight UTC, as the CLI reads a date.
export const dayStart = (day) => Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000);
export const isoDay = (sec) => new Date(sec * 1000).toISOString().slice(0, 10);
export const rfc3339 = (sec) => new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

// The days a token may expire on under a workspace's policy: from the first midnight UTC after now to the
// last one within max_lifetime_days.
export function expiryRange(policy, now = Math.floor(Date.now() / 1000)) {
  const min = isoDay(Math.floor(now / 86400) * 86400 + 86400);
  const max = isoDay(Math.floor((now + policy.max_lifetime_days * 86400) / 86400) * 86400);
  const want = Math.min(90, policy.max_lifetime_days);
  const dflt = isoDay(Math.floor((now + want * 86400) / 86400) * 86400);
  return { min, max, dflt };
}

// An expiry picker: a date limited by the policy and, where the workspace allows it, "Never expires".
// `value()` is the Unix time or null.
export function expiryPicker(policy, { prefix, label }) {
  const r = expiryRange(policy);
  const date = h('input', { type: 'date', id: `${prefix}-expires`, min: r.min, max: r.max, value: r.dflt, 'aria-describedby': `${prefix}-expires-hint` });
  const never = policy.allow_no_expiry ? h('input', { type: 'checkbox', id: `${prefix}-never` }) : null;
  const shown = h('span', { class: 'hint', id: `${prefix}-expires-at` });
  const sync = () => {
    if (never) date.disabled = never.checked;
    const v = value();
    shown.textContent = v == null ? t('create.noExpiry') : t('create.expiresAt', { when: fmtDateTime(v) });
  };
  const value = () => (never?.checked || !date.value ? (never?.checked ? null : NaN) : dayStart(date.value));
  date.addEventListener('input', sync);
  never?.addEventListener('change', sync);
  const el = h('div', { class: 'expiry' },
    h('label', { for: `${prefix}-expires` }, label, date),
    never && h('label', { class: 'check', for: `${prefix}-never` }, never, ' ', t('field.neverExpires')),
    h('p', { class: 'hint', id: `${prefix}-expires-hint` },
      t('create.lifetimeHint', { days: policy.max_lifetime_days }), ' ', shown));
  sync();
  return { el, value, input: date, never };
}
