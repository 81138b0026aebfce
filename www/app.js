import { $ } from './js/dom.js';
import { loadPolicy } from './js/policy.js';
import { createStore, fromHash } from './js/state.js';
import { initBuilder, fillBuilder, renderBuilder } from './js/builder.js';
import { initTry, completeTry, fillTry, renderTry, metrics } from './js/try.js';
import { initReach, fillReach, renderReach, reachPending } from './js/reach.js';
import { initAdvisor, fillAdvisor, renderAdvisor } from './js/advisor.js';
import { t, applyI18n, initLangSwitch } from './js/i18n.js';

// Measurements read by the browser tests and by anyone curious, from the console.
window.scopegate = { metrics, ready: false };

const later = () => new Promise((resolve) => setTimeout(resolve, 0));

async function main() {
  performance.mark('scopegate:start');
  applyI18n();
  initLangSwitch($('#lang'));
  try {
    await loadPolicy();
    performance.mark('scopegate:policy-loaded');
  } catch (err) {
    $('#status').textContent = t('demo.loadFailed') + err.message;
    $('#status').classList.add('error');
    $('#app').setAttribute('aria-busy', 'false');
    return;
  }

  const store = createStore(fromHash(location.hash));
  initBuilder(store);
  initTry(store);
  initReach(store);
  initAdvisor(store);

  // Views join in stages so the first decision is painted before the slower ones are drawn: the builder
  // asks the module about every scope, the reach list decides every operation.
  let staged = 0;
  store.subscribe((s, changed) => {
    renderTry(s, changed);
    if (staged < 1) return;
    renderBuilder(s, changed);
    renderAdvisor(s, changed);
    if (staged < 2) return;
    renderReach(s, changed);
  });
  const fillAll = (s) => { fillBuilder(s); fillTry(s); fillReach(s); fillAdvisor(s); };
  const everything = () => new Set(Object.keys(store.get()));

  fillAll(store.get());
  renderTry(store.get(), everything());
  $('#status').textContent = '';
  $('#app').setAttribute('aria-busy', 'false');

  await later();
  staged = 1;
  completeTry();
  renderBuilder(store.get(), everything());
  renderAdvisor(store.get(), everything());

  await later();
  staged = 2;
  renderReach(store.get(), everything(), { immediate: true });
  window.scopegate.ready = true;
  document.documentElement.dataset.ready = 'true';

  window.scopegate.urlPending = store.urlPending;
  window.scopegate.reachPending = reachPending;

  // The skip link moves focus without touching the fragment, which holds the state.
  document.querySelector('.skip').addEventListener('click', (e) => {
    e.preventDefault();
    $('#try-h').focus();
  });

  // A pasted or edited link in the same tab.
  window.addEventListener('hashchange', () => {
    if (!location.hash.includes('=')) return;
    const s = fromHash(location.hash);
    fillAll(s);
    store.replace(s);
  });
}

main();
