// The secret, shown once: a read-only element in a modal dialog with a copy button and a warning. When the
// dialog closes the element leaves the DOM and the only JS reference to the string is dropped.

import { h } from '../js/dom.js';
import { t } from '../js/i18n.js';
import { openDialog } from './ui.js';

// `take()` hands the secret over exactly once (the caller keeps no copy); `details` are nodes shown under
// it (name, scopes, expiry; for a rotation, the old token's end).
export function showSecret({ title, take, warning, details = [] }) {
  let secret = take();
  return new Promise((resolve) => {
    const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
    const value = h('code', { class: 'secret', id: 'secret-value', tabindex: '0', 'aria-label': t('secret.label') });
    value.textContent = secret;
    const copy = h('button', { type: 'button', class: 'primary', id: 'secret-copy' }, t('secret.copy'));
    const done = h('button', { type: 'button', id: 'secret-done' }, t('secret.done'));
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(secret);
        status.textContent = t('secret.copied');
      } catch {
        // Without clipboard access the text is selected for Ctrl+C.
        const range = document.createRange();
        range.selectNodeContents(value);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        status.textContent = t('secret.copyManually');
      }
    });
    value.addEventListener('focus', () => {
      const range = document.createRange();
      range.selectNodeContents(value);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
    });
    const d = openDialog({
      title, className: 'secret-dialog', initialFocus: '#secret-copy',
      content: [
        h('p', { class: 'warning', role: 'note' }, h('strong', {}, t('secret.warningTitle')), ' ', warning),
        h('div', { class: 'secret-row' }, value, copy, status),
        ...details,
        h('div', { class: 'actions' }, done),
      ],
      onClose: () => {
        getSelection()?.removeAllRanges();
        value.textContent = '';
        value.remove();
        secret = null;
        resolve();
      },
    });
    done.addEventListener('click', () => d.close());
  });
}
