// Sign-in: an admin credential, tried against GET /whoami and, when accepted, kept in sessionStorage.
// The field has no `name`, so no form submission could ever carry it; it is emptied at once.

import { h } from '../js/dom.js';
import { t } from '../js/i18n.js';
import * as api from './api.js';
import { keep } from './session.js';
import { capabilities } from './roles.js';
import { errorNodes } from './ui.js';

export function signinView({ message, onSignedIn }) {
  const input = h('input', { id: 'signin-key', type: 'password', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'signin-hint', required: true });
  const out = h('div', { id: 'signin-error', role: 'alert' }, message ? h('p', { class: 'error' }, message) : null);
  const submit = h('button', { type: 'submit', class: 'primary', id: 'signin-submit' }, t('signin.submit'));
  const form = h('form', { class: 'panel signin', id: 'signin', method: 'post', action: '#', autocomplete: 'off' },
    h('h1', { class: 'view-h', tabindex: '-1' }, t('signin.title')),
    h('label', { for: 'signin-key' }, t('signin.label'), input),
    h('p', { class: 'hint', id: 'signin-hint' }, t('signin.hint')),
    h('div', { class: 'actions' }, submit), out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const secret = input.value.trim();
    input.value = '';
    if (!secret) { out.replaceChildren(h('p', { class: 'error' }, t('signin.empty'))); input.focus(); return; }
    submit.disabled = true;
    try {
      const who = await api.call('GET', '/whoami', { secret });
      const caps = capabilities(who);
      if (!caps.usable) {
        out.replaceChildren(h('p', { class: 'error', id: 'signin-unusable' }, t('signin.unusable', { role: who.role })));
        input.focus();
        return;
      }
      keep(secret);
      onSignedIn(who);
    } catch (err) {
      out.replaceChildren(h('p', { class: 'error' }, ...(err.status === 401 ? [t('signin.refused')] : errorNodes(err))));
      input.focus();
    } finally {
      submit.disabled = false;
    }
  });
  return { title: t('signin.title'), nodes: [form], focus: input };
}
