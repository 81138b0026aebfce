// A workspace's plan and token policy, for the roles that may change them (owners).

import { h } from '../js/dom.js';
import { t } from '../js/i18n.js';
import * as api from './api.js';
import { notice, errorBox } from './ui.js';

export function policyForm(ws, detail) {
  const p = api.policyOf(detail);
  const plan = h('select', { id: 'p-plan' }, ['free', 'standard', 'premium'].map((x) => h('option', { value: x }, t(`plan.${x}`))));
  plan.value = p.plan;
  const life = h('select', { id: 'p-lifetime' }, [90, 180, 365].map((d) => h('option', { value: String(d) }, t(`days.${d}`))));
  life.value = String(p.max_lifetime_days);
  const noexp = h('input', { type: 'checkbox', id: 'p-noexpiry', checked: p.allow_no_expiry });
  const save = h('button', { type: 'submit', class: 'primary', id: 'p-save' }, t('policy.save'));
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'policy-form', autocomplete: 'off' },
    h('label', { for: 'p-plan' }, t('field.plan'), plan),
    h('label', { for: 'p-lifetime' }, t('field.maxLifetime'), life),
    h('label', { class: 'check', for: 'p-noexpiry' }, noexp, ' ', t('field.allowNoExpiry')),
    h('p', { class: 'hint' }, t('policy.hint')),
    h('div', { class: 'actions' }, save), out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.disabled = true;
    try {
      await api.put(api.path('workspaces', ws), { plan: plan.value, max_lifetime_days: Number(life.value), allow_no_expiry: noexp.checked });
      out.replaceChildren();
      notice(t('policy.saved', { ws }));
      // The Create dialog reads the policy from the page: draw it again from the host.
      window.dispatchEvent(new CustomEvent('scopegate:refresh', { detail: { refocus: 'p-save' } }));
    } catch (err) {
      out.replaceChildren(errorBox(err));
    } finally {
      save.disabled = false;
    }
  });
  return h('section', { class: 'panel', id: 'policy', 'aria-labelledby': 'policy-h' }, h('h2', { id: 'policy-h' }, t('policy.title')), form);
}
