// The token builder: kind, binding, scopes, expiry, and the live issuing check.

import { $, h } from './dom.js';
import { bindings, checkIssue } from './policy.js';
import { defaults, expiresAt, ISSUE_FIELDS } from './state.js';
import { buildPicker, updatePicker, keepGrantable, toggled } from './picker.js';
import { t, explain } from './i18n.js';

export const nowSeconds = () => Math.floor(Date.now() / 1000);

// The claims the host would store for this token, in the policy input's shape.
export function tokenOf(s) {
  return { ...bindings(s.kind, s), scopes: [...s.scopes], expires_at: expiresAt(s), revoked: s.revoked };
}


let store;
let lastExpiry = defaults().expires;

export function initBuilder(st) {
  store = st;
  buildPicker($('#scope-groups'), { prefix: 's-' });

  const form = $('#token-form');
  form.addEventListener('change', onChange);
  form.addEventListener('input', onInput);
}

function onInput(e) {
  const t = e.target;
  if (t.id === 'f-workspace') store.set({ workspace: t.value });
  else if (t.id === 'f-project') store.set({ project: t.value });
  else if (t.id === 'f-repository') store.set({ repository: t.value });
  else if (t.id === 'f-name') store.set({ name: t.value });
}

function onChange(e) {
  const t = e.target;
  const s = store.get();
  if (t.name === 'kind') {
    // A kind change keeps only what the new kind may hold, as re-creating the token would.
    store.set({ kind: t.value, scopes: keepGrantable(t.value, s.scopes) });
  } else if (t.type === 'checkbox' && t.closest('.scope')) {
    store.set({ scopes: toggled(s.scopes, t) });
  } else if (t.id === 'f-expires') {
    if (t.value) lastExpiry = t.value;
    store.set({ expires: t.value });
  } else if (t.id === 'f-noexpiry') {
    store.set({ expires: t.checked ? '' : lastExpiry });
    $('#f-expires').value = store.get().expires;
  } else if (t.id === 'f-revoked') store.set({ revoked: t.checked });
  else if (t.id === 'f-plan') store.set({ plan: t.value });
  else if (t.id === 'f-lifetime') store.set({ lifetime: Number(t.value) });
  else if (t.id === 'f-allownoexpiry') store.set({ allowNoExpiry: t.checked });
}

// Puts state into the inputs; only on load, on a pasted link, or when another panel sets the token.
export function fillBuilder(s) {
  for (const r of document.querySelectorAll('input[name=kind]')) r.checked = r.value === s.kind;
  $('#f-workspace').value = s.workspace;
  $('#f-project').value = s.project;
  $('#f-repository').value = s.repository;
  $('#f-name').value = s.name;
  $('#f-expires').value = s.expires;
  if (s.expires) lastExpiry = s.expires;
  $('#f-noexpiry').checked = !s.expires;
  $('#f-revoked').checked = s.revoked;
  $('#f-plan').value = s.plan;
  $('#f-lifetime').value = String(s.lifetime);
  $('#f-allownoexpiry').checked = s.allowNoExpiry;
}

export function renderBuilder(s, changed) {
  if (![...changed].some((f) => ISSUE_FIELDS.includes(f))) return;
  for (const el of document.querySelectorAll('[data-for-kind]')) el.hidden = el.dataset.forKind !== s.kind;
  $('#f-expires').disabled = !s.expires;

  updatePicker($('#scope-groups'), s.kind, s.scopes);

  renderIssue(s);
  $('#claims').textContent = JSON.stringify(tokenOf(s), null, 1);
}

function renderIssue(s) {
  const request = { ...bindings(s.kind, s), name: s.name, scopes: [...s.scopes], expires_at: expiresAt(s) };
  const context = { plan: s.plan, now: nowSeconds(), max_lifetime_days: s.lifetime, allow_no_expiry: s.allowNoExpiry };
  const res = checkIssue(request, context);
  const out = $('#issue');
  out.dataset.ok = String(!!res.ok);
  out.dataset.reason = res.ok ? '' : res.reason;
  out.replaceChildren(res.ok
    ? h('p', {}, h('strong', {}, t('builder.canIssue')), t('builder.inPlan', { plan: t(`plan.${s.plan}`) }))
    : h('p', {}, h('strong', {}, t('builder.cannotIssue')), h('code', {}, res.reason), ' — ', explain('issue', res.reason, res.message)));
}
