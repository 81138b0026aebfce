// The scope picker, shared by the demo's builder and the console's Create dialog: Bitbucket's groups of
// checkboxes, each box enabled when the policy module says the token's kind may hold the scope, and marked
// when a ticked scope implies it. No scope rule is written here: grantable() and closure() ask the module.

import { h } from './dom.js';
import { GROUPS, OTHER_SCOPES } from './groups.js';
import { grantable, closure } from './policy.js';
import { t } from './i18n.js';

export const groupLabel = (g) => t(`group.${g.id}`);
export const scopeLabel = (scope) => t(`scope.${scope}`);

const boxId = (prefix, scope) => `${prefix}${scope.replace(':', '-')}`;

// Draws the groups into `container`; checkbox ids are `prefix` + the scope with `-` for `:`.
export function buildPicker(container, { prefix = 's-' } = {}) {
  for (const g of GROUPS) {
    container.append(h('fieldset', { class: 'group', id: `${prefix}g-${g.id}` },
      h('legend', {}, groupLabel(g)),
      g.scopes.map((scope) => {
        const id = boxId(prefix, scope);
        return h('div', { class: 'scope', dataset: { scope } },
          h('input', { type: 'checkbox', id, value: scope, 'aria-describedby': `${id}-note` }),
          h('label', { for: id }, scopeLabel(scope), ' ', h('code', {}, scope)),
          h('span', { class: 'note', id: `${id}-note` }));
      })));
  }
  container.append(h('p', { class: 'hint not-offered', id: `${prefix}not-offered` }));
}

// Only what `kind` may hold survives a change of kind, as re-creating the token would.
export function keepGrantable(kind, scopes) {
  const ok = grantable(kind);
  return scopes.filter((x) => ok.get(x)?.ok);
}

// The ticked scopes after a checkbox change.
export function toggled(scopes, box) {
  return box.checked ? [...new Set([...scopes, box.value])] : scopes.filter((x) => x !== box.value);
}

// Sets every box from the token's kind and ticked scopes.
export function updatePicker(container, kind, scopes) {
  const ok = grantable(kind);
  const held = new Set(scopes);
  const effective = new Set(closure(scopes));
  for (const row of container.querySelectorAll('.scope')) {
    const scope = row.dataset.scope;
    const box = row.querySelector('input');
    const note = row.querySelector('.note');
    const g = ok.get(scope);
    box.checked = held.has(scope);
    // A scope the kind can't hold stays enabled while ticked (e.g. from an edited link) so it can be removed.
    box.disabled = !g.ok && !held.has(scope);
    row.classList.toggle('unavailable', !g.ok);
    const impliedBy = scopes.filter((x) => x !== scope && closure([x]).includes(scope));
    const implied = effective.has(scope) && !held.has(scope);
    row.classList.toggle('implied', implied);
    if (!g.ok) note.textContent = t('picker.notForKind', { kind: t(`kind.${kind}`) });
    else if (impliedBy.length) note.textContent = t(held.has(scope) ? 'picker.alsoImpliedBy' : 'picker.impliedBy', { scopes: impliedBy.join(', ') });
    else note.textContent = '';
    note.title = !g.ok ? g.message : '';
  }
  const none = grantable('workspace');
  const offered = container.querySelector('.not-offered');
  if (offered) offered.textContent = t('picker.notOffered', { scopes: OTHER_SCOPES.filter((x) => !none.get(x)?.ok).join(', ') });
}
