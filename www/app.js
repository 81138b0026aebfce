import { $ } from './js/dom.js';
import { loadPolicy } from './js/policy.js';
import { createStore, fromHash } from './js/state.js';
import { initBuilder, fillBuilder, renderBuilder } from './js/builder.js';
import { initTry, fillTry, renderTry, metrics } from './js/try.js';
import { initReach, fillReach, renderReach } from './js/reach.js';
import { initAdvisor, fillAdvisor, renderAdvisor } from './js/advisor.js';

// Measurements read by the browser tests and by anyone curious, from the console.
window.scopegate = { metrics, ready: false };

async function main() {
  try {
    await loadPolicy();
  } catch (err) {
    $('#status').textContent = 'The policy module could not be loaded (build it with “cargo xtask wasm”): ' + err.message;
    $('#status').classList.add('error');
    $('#app').setAttribute('aria-busy', 'false');
    return;
  }

  const store = createStore(fromHash(location.hash));
  initBuilder(store);
  initTry(store);
  initReach(store);
  initAdvisor(store);

  const fillAll = (s) => { fillBuilder(s); fillTry(s); fillReach(s); fillAdvisor(s); };
  store.subscribe((s, changed) => {
    renderBuilder(s, changed);
    renderTry(s, changed);
    // The reach list is the slowest view (one decision per operation): draw it after the first decision.
    if (window.scopegate.ready) renderReach(s, changed);
    renderAdvisor(s, changed);
  });

  const all = store.get();
  fillAll(all);
  store.replace(all);
  $('#status').textContent = '';
  $('#app').setAttribute('aria-busy', 'false');

  setTimeout(() => {
    renderReach(store.get(), new Set(Object.keys(store.get())));
    window.scopegate.ready = true;
    document.documentElement.dataset.ready = 'true';
  }, 0);

  // A pasted or edited link in the same tab.
  window.addEventListener('hashchange', () => {
    const s = fromHash(location.hash);
    fillAll(s);
    store.replace(s);
  });
}

main();
