// The console: sign-in, then the views the credential's role allows, by the address bar's fragment
// (#/workspaces, #/w/WS, #/w/WS/p/KEY, #/w/WS/r/SLUG, #/audit?…, #/credentials). The fragment holds
// only resource names and filters, never a secret.

import { h } from '../js/dom.js';
import { t, applyI18n, initLangSwitch } from '../js/i18n.js';
import * as api from './api.js';
import { credential, forget } from './session.js';
import { capabilities } from './roles.js';
import { signinView } from './signin.js';
import { workspacesView, workspaceView, projectView, repositoryView, wsHref } from './resources.js';
import { auditView } from './audit.js';
import { credentialsView } from './credentials.js';
import { errorBox } from './ui.js';
import { policyModule } from './create.js';

performance.mark('console:start');
const main = document.getElementById('main');
let who = null, caps = null, seq = 0, first = true;

function ready() {
  if (document.documentElement.dataset.ready) return;
  document.documentElement.dataset.ready = 'true';
  performance.mark('console:ready');
  // The policy module is for the Create dialog: instantiated once the page is up.
  setTimeout(() => policyModule().catch(() => {}), 0);
}

let shown = 0;
// `refocus`: the id of the control to keep focus on when a view is drawn again in place (a saved form).
function show(view, { refocus = null } = {}) {
  main.replaceChildren(...view.nodes.filter(Boolean));
  document.title = `${view.title} — ${t('console.title')}`;
  main.dataset.state = 'ready';
  main.dataset.shown = String(++shown);
  main.setAttribute('aria-busy', 'false');
  const again = refocus && document.getElementById(refocus);
  // After a navigation focus goes to the new view's heading; on the first load it stays at the top.
  if (again) again.focus();
  else if (!first) (view.focus || main.querySelector('.view-h') || main).focus();
  first = false;
}

function header() {
  const whoEl = document.getElementById('who');
  const nav = document.getElementById('nav');
  if (!who) { whoEl.hidden = true; nav.hidden = true; return; }
  document.getElementById('who-text').textContent = t('console.signedInAs', {
    name: who.name, role: who.role, where: who.workspace ? t('console.boundTo', { ws: who.workspace }) : '',
  });
  whoEl.hidden = false;
  const links = [];
  if (caps.read) links.push(caps.workspace ? [wsHref(caps.workspace), t('nav.workspaceOf', { ws: caps.workspace }), 'w'] : ['#/workspaces', t('nav.workspaces'), 'w']);
  if (caps.audit) links.push(['#/audit', t('nav.audit'), 'audit']);
  if (caps.credentials) links.push(['#/credentials', t('nav.credentials'), 'credentials']);
  nav.querySelector('ul').replaceChildren(...links.map(([href, text, key]) => h('li', {}, h('a', { href, dataset: { nav: key } }, text))));
  nav.hidden = false;
}

function markNav(key) {
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.nav === key) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

function signin(message) {
  who = null; caps = null;
  header();
  main.dataset.view = 'signin';
  show(signinView({ message, onSignedIn: (w) => { start(w); } }));
  ready();
}

function start(w) {
  if (!capabilities(w).usable) { forget(); signin(t('signin.unusable', { role: w.role })); return; }
  who = w;
  caps = capabilities(w);
  header();
  if (!location.hash || location.hash === '#' || location.hash === '#/') history.replaceState(null, '', defaultRoute());
  route();
}

const defaultRoute = () => (caps.read ? (caps.workspace ? wsHref(caps.workspace) : '#/workspaces') : '#/audit');

async function route({ refocus = null } = {}) {
  if (!who) return;
  const n = ++seq;
  const [pathPart, queryPart = ''] = location.hash.replace(/^#/, '').split('?');
  const parts = pathPart.split('/').filter(Boolean).map((s) => { try { return decodeURIComponent(s); } catch { return s; } });
  const params = new URLSearchParams(queryPart);
  let load, key;
  if (parts[0] === 'workspaces' && caps.read && !caps.workspace) { key = 'w'; load = () => workspacesView(caps); }
  else if (parts[0] === 'w' && parts[1] && caps.read) {
    key = 'w';
    if (parts[2] === 'p' && parts[3]) load = () => projectView(caps, parts[1], parts[3]);
    else if (parts[2] === 'r' && parts[3]) load = () => repositoryView(caps, parts[1], parts[3]);
    else load = () => workspaceView(caps, parts[1]);
  } else if (parts[0] === 'audit' && caps.audit) { key = 'audit'; load = () => auditView(caps, params); }
  else if (parts[0] === 'credentials' && caps.credentials) { key = 'credentials'; load = () => credentialsView(caps, who); }
  else { history.replaceState(null, '', defaultRoute()); return route({ refocus }); }
  markNav(key);
  main.dataset.view = key;
  main.dataset.state = 'loading';
  main.setAttribute('aria-busy', 'true');
  try {
    const view = await load();
    if (n !== seq) return;
    show(view, { refocus });
  } catch (err) {
    if (n !== seq || !who) return;
    show({ title: t('common.error'), nodes: [h('h1', { class: 'view-h', tabindex: '-1' }, t('common.error')), errorBox(err)] });
    main.dataset.state = 'error';
  }
  ready();
}

async function boot() {
  applyI18n();
  initLangSwitch(document.getElementById('lang'));
  document.getElementById('signout').addEventListener('click', () => {
    forget();
    history.replaceState(null, '', location.pathname);
    signin(t('signin.signedOut'));
  });
  // The skip link moves focus without touching the fragment, which holds the view.
  document.querySelector('.skip').addEventListener('click', (e) => { e.preventDefault(); main.focus(); });
  window.addEventListener('hashchange', () => route());
  window.addEventListener('scopegate:refresh', (e) => route({ refocus: e.detail?.refocus || document.activeElement?.id || null }));
  window.addEventListener('scopegate:unauthorized', () => {
    if (!who) return;
    forget();
    signin(t('signin.expired'));
  });
  if (!credential()) return signin();
  try {
    start(await api.get('/whoami'));
  } catch (err) {
    forget();
    signin(err.status === 401 ? t('signin.expired') : t('signin.failed'));
  }
}

boot();
