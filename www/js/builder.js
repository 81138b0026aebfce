// The token builder: kind, binding, scopes, expiry, and the live issuing check.

import { $, h } from './dom.js';
import { GROUPS, OTHER_SCOPES } from './groups.js';
import { bindings, grantable, closure, checkIssue } from './policy.js';
import { defaults, expiresAt, ISSUE_FIELDS } from './state.js';

export const nowSeconds = () => Math.floor(Date.now() / 1000);

// The claims the host would store for this token, in the policy input's shape.
export function tokenOf(s) {
  return { ...bindings(s.kind, s), scopes: [...s.scopes], expires_at: expiresAt(s), revoked: s.revoked };
}


let store;
let lastExpiry = defaults().expires;

export function initBuilder(st) {
  store = st;
  const groups = $('#scope-groups');
  for (const g of GROUPS) {
    groups.append(h('fieldset', { class: 'group', id: `g-${g.id}` },
      h('legend', {}, g.label),
      g.scopes.map(([scope, label]) => {
        const id = `s-${scope.replace(':', '-')}`;
        return h('div', { class: 'scope', dataset: { scope } },
          h('input', { type: 'checkbox', id, value: scope, 'aria-describedby': `${id}-note` }),
          h('label', { for: id }, label, ' ', h('code', {}, scope)),
          h('span', { class: 'note', id: `${id}-note` }));
      })));
  }
  groups.append(h('p', { class: 'hint', id: 'not-offered' }));

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
    const ok = grantable(t.value);
    store.set({ kind: t.value, scopes: s.scopes.filter((x) => ok.get(x)?.ok) });
  } else if (t.type === 'checkbox' && t.closest('.scope')) {
    const scopes = t.checked ? [...new Set([...s.scopes, t.value])] : s.scopes.filter((x) => x !== t.value);
    store.set({ scopes });
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

  const ok = grantable(s.kind);
  const held = new Set(s.scopes);
  const effective = new Set(closure(s.scopes));
  for (const row of document.querySelectorAll('.scope')) {
    const scope = row.dataset.scope;
    const box = row.querySelector('input');
    const note = row.querySelector('.note');
    const g = ok.get(scope);
    box.checked = held.has(scope);
    // A scope the kind can't hold stays enabled while ticked (e.g. from an edited link) so it can be removed.
    box.disabled = !g.ok && !held.has(scope);
    row.classList.toggle('unavailable', !g.ok);
    const impliedBy = s.scopes.filter((t) => t !== scope && closure([t]).includes(scope));
    const implied = effective.has(scope) && !held.has(scope);
    row.classList.toggle('implied', implied);
    if (!g.ok) note.textContent = `not for ${s.kind} tokens`;
    else if (impliedBy.length) note.textContent = `${held.has(scope) ? 'also ' : ''}implied by ${impliedBy.join(', ')}`;
    else note.textContent = '';
    note.title = !g.ok ? g.message : '';
  }
  const none = grantable('workspace');
  $('#not-offered').textContent = 'No access token can hold: ' +
    OTHER_SCOPES.filter((x) => !none.get(x)?.ok).join(', ') + '.';

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
    ? h('p', {}, h('strong', {}, '✓ Can be issued'), ` in a ${s.plan} workspace.`)
    : h('p', {}, h('strong', {}, '✗ Can’t be issued: '), h('code', {}, res.reason), ' — ', res.message));
}
