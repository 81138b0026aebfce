// Create and rotate: the demo's scope picker, the expiry limited by the workspace's policy, and the policy
// module's issuing check (checkIssue) run before anything is sent, with its reasons and messages. The
// secret of the answer goes straight to the show-once dialog.

import { h } from '../js/dom.js';
import { t, explain, fmtDateTime, fmtRelative } from '../js/i18n.js';
import { loadPolicy, checkIssue, bindings } from '../js/policy.js';
import { buildPicker, updatePicker, toggled } from '../js/picker.js';
import * as api from './api.js';
import { openDialog, expiryPicker, rfc3339, errorNodes, chipList, notice } from './ui.js';
import { showSecret } from './secret.js';

let policyReady = null;
// The module is compiled while the page loads (index.html); the first dialog waits for it if need be.
export const policyModule = () => (policyReady ??= loadPolicy());

const nowSeconds = () => Math.floor(Date.now() / 1000);

// Where a resource's tokens are created and listed.
export function tokensPath(r) {
  if (r.kind === 'workspace') return api.path('workspaces', r.workspace, 'access-tokens');
  if (r.kind === 'project') return api.path('workspaces', r.workspace, 'projects', r.project, 'access-tokens');
  return api.path('workspaces', r.workspace, 'repositories', r.repository, 'access-tokens');
}

export const resourceName = (r) => (r.kind === 'workspace' ? r.workspace
  : r.kind === 'project' ? `${r.workspace} / ${r.project}` : `${r.workspace} / ${r.repository}`);

// `r`: {kind, workspace, project?, repository?}; `policy`: {plan, max_lifetime_days, allow_no_expiry}.
export async function openCreate(r, policy, { onCreated } = {}) {
  await policyModule();
  let scopes = [];
  const name = h('input', { id: 'c-name', maxlength: '300', spellcheck: 'false', autocomplete: 'off', required: true });
  const picker = h('div', { class: 'scope-groups', id: 'c-scopes' });
  buildPicker(picker, { prefix: 'c-s-' });
  const expiry = expiryPicker(policy, { prefix: 'c', label: t('create.expiry') });
  const check = h('div', { class: 'issue', id: 'c-check', role: 'status', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'c-submit' }, t('create.submit'));
  const cancel = h('button', { type: 'button', id: 'c-cancel' }, t('common.cancel'));
  const form = h('form', { class: 'create', autocomplete: 'off', novalidate: true },
    h('p', { class: 'hint' }, t('create.for', { kind: t(`kind.${r.kind}`), resource: resourceName(r) })),
    h('label', { for: 'c-name' }, t('field.name'), name),
    h('fieldset', { class: 'scopes' }, h('legend', {}, t('field.scopes')), picker),
    expiry.el, check,
    h('div', { class: 'actions' }, cancel, submit));

  const request = () => {
    const v = expiry.value();
    return { ...bindings(r.kind, r), name: name.value, scopes: [...scopes], expires_at: Number.isNaN(v) ? null : v };
  };
  const context = () => ({ plan: policy.plan, now: nowSeconds(), max_lifetime_days: policy.max_lifetime_days, allow_no_expiry: policy.allow_no_expiry });
  // The module's answer, or the console's own when the date field is empty where "never" is offered.
  const verdict = () => {
    if (Number.isNaN(expiry.value()) && policy.allow_no_expiry) return { ok: false, reason: 'expiry_required', message: t('create.pickDate') };
    return checkIssue(request(), context());
  };
  let touched = false;
  const render = () => {
    updatePicker(picker, r.kind, scopes);
    const res = verdict();
    check.dataset.ok = String(!!res.ok);
    check.dataset.reason = res.ok ? '' : res.reason;
    if (!touched && !res.ok && (res.reason === 'name_invalid' || res.reason === 'no_scopes')) {
      check.replaceChildren(h('p', { class: 'pending' }, t('create.fillIn')));
      return res;
    }
    check.replaceChildren(res.ok
      ? h('p', {}, h('strong', {}, t('builder.canIssue')))
      : h('p', {}, h('strong', {}, t('builder.cannotIssue')), h('code', {}, res.reason), ' — ', ...explain('issue', res.reason, res.message)));
    return res;
  };
  picker.addEventListener('change', (e) => {
    if (e.target.matches('.scope input')) { scopes = toggled(scopes, e.target); touched = true; render(); }
  });
  name.addEventListener('input', () => { touched = true; render(); });
  // A checkbox's input event comes before its change: the scopes are updated on change only.
  form.addEventListener('input', (e) => { if (e.target !== name && !e.target.matches('.scope input')) render(); });
  form.addEventListener('change', (e) => { if (!e.target.matches('.scope input')) render(); });

  const d = openDialog({ title: t('create.title'), content: form, className: 'create-dialog' });
  cancel.addEventListener('click', () => d.close());
  render();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    touched = true;
    const res = render();
    if (!res.ok) { check.focus?.(); (form.querySelector(res.reason === 'name_invalid' ? '#c-name' : res.reason.startsWith('expiry') ? '#c-expires' : '.scope input:not([disabled])'))?.focus(); return; }
    submit.disabled = true;
    const req = request();
    try {
      const created = await api.post(tokensPath(r), {
        name: req.name, scopes: req.scopes, expires_at: req.expires_at == null ? null : rfc3339(req.expires_at),
      });
      d.close();
      await revealToken(created, { title: t('secret.createdTitle') });
      onCreated?.();
    } catch (err) {
      submit.disabled = false;
      check.dataset.ok = 'false';
      check.dataset.reason = err.reason || '';
      check.replaceChildren(h('p', { class: 'error' }, ...errorNodes(err)));
    }
  });
}

// Hands a creation answer's secret to the show-once dialog, and drops it from the answer.
function revealToken(created, { title, extra = [] }) {
  const meta = {
    id: created.id, name: created.name, scopes: created.scopes, expires_at: created.expires_at,
  };
  return showSecret({
    title,
    take: () => { const s = created.token; delete created.token; return s; },
    warning: t('secret.warningToken'),
    details: [
      h('dl', { class: 'facts secret-facts' },
        h('dt', {}, t('field.name')), h('dd', {}, meta.name),
        h('dt', {}, t('col.id')), h('dd', {}, h('code', {}, meta.id)),
        h('dt', {}, t('field.scopes')), h('dd', {}, chipList(meta.scopes)),
        h('dt', {}, t('col.expires')), h('dd', {}, meta.expires_at ? fmtDateTime(meta.expires_at) : t('token.never'))),
      ...extra,
    ],
  });
}

// Rotation: a new token with the same scopes and a new expiry; the old one keeps min(remaining, 30 min).
export async function openRotate(token, policy, { onRotated } = {}) {
  const expiry = expiryPicker(policy, { prefix: 'r', label: t('rotate.expiry') });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'r-submit' }, t('rotate.submit'));
  const cancel = h('button', { type: 'button' }, t('common.cancel'));
  const out = h('div', { class: 'issue', role: 'status', 'aria-live': 'polite', id: 'r-check' });
  const form = h('form', { autocomplete: 'off', novalidate: true },
    h('p', {}, t('rotate.explain', { name: token.name })),
    expiry.el, out, h('div', { class: 'actions' }, cancel, submit));
  const d = openDialog({ title: t('rotate.title'), content: form, className: 'rotate-dialog' });
  cancel.addEventListener('click', () => d.close());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = expiry.value();
    if (Number.isNaN(v)) { out.replaceChildren(h('p', { class: 'error' }, t('create.pickDate'))); expiry.input.focus(); return; }
    submit.disabled = true;
    try {
      const created = await api.post(api.path('access-tokens', token.id, 'rotate'), { expires_at: v == null ? null : rfc3339(v) });
      let old = null;
      try { old = await api.get(api.path('access-tokens', token.id)); } catch { /* shown without the old one's end */ }
      d.close();
      const ends = old?.expires_at;
      await revealToken(created, {
        title: t('secret.rotatedTitle'),
        extra: [h('p', { class: 'old-token', id: 'old-token-ends' }, ends
          ? t('rotate.oldEnds', { name: token.name, when: fmtDateTime(ends), rel: fmtRelative(ends) })
          : t('rotate.oldEndsUnknown'))],
      });
      notice(t('rotate.done', { name: token.name }));
      onRotated?.();
    } catch (err) {
      submit.disabled = false;
      out.replaceChildren(h('p', { class: 'error' }, ...errorNodes(err)));
    }
  });
}

export { revealToken };
