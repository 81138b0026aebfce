// "Try a call": method, path with operation completion, the repository's project, and the decision.

import { $, h, chips } from './dom.js';
import { authorize, route, operations, methods, samplePath } from './policy.js';
import { tokenOf, nowSeconds } from './builder.js';
import { TOKEN_FIELDS } from './state.js';
import { t, explain } from './i18n.js';

let store;
// Kept between keystrokes: while a half-typed path routes nowhere the field should not flicker away.
let rpVisible = false;
let active = -1;
let results = [];
const MAX_SUGGESTIONS = 40;

export const metrics = { decisions: [], firstDecisionAt: null, firstDecisionFrameAt: null, lastInput: null, lastDecision: null };

// Sample bindings for operation templates: the token's own resource, so picking a suggestion tries a call
// the token might plausibly make.
export function sampleBindings(s) {
  return { workspace: s.workspace, project: s.project, repository: s.repository };
}

export function initTry(st) {
  store = st;
  const sel = $('#t-method');
  sel.addEventListener('change', () => store.set({ method: sel.value }));

  const path = $('#t-path');
  path.addEventListener('input', () => {
    store.set({ path: path.value });
    openSuggestions();
  });
  path.addEventListener('keydown', onKey);
  path.addEventListener('blur', () => setTimeout(closeSuggestions, 0));
  $('#t-suggest').addEventListener('mousedown', (e) => e.preventDefault());
  $('#t-suggest').addEventListener('click', (e) => {
    const li = e.target.closest('[role=option]');
    if (li) pick(Number(li.dataset.index));
  });
  $('#t-rp').addEventListener('input', (e) => store.set({ repositoryProject: e.target.value }));
}

// The method list comes from operations(), which can wait until the first decision is on screen.
export function completeTry() {
  const sel = $('#t-method');
  const current = sel.value;
  const list = methods();
  if (current && !list.includes(current)) list.push(current);
  sel.replaceChildren(...list.map((m) => h('option', { value: m }, m)));
  sel.value = current;
}

export function fillTry(s) {
  const sel = $('#t-method');
  if (![...sel.options].some((o) => o.value === s.method)) sel.append(h('option', { value: s.method }, s.method));
  sel.value = s.method;
  $('#t-path').value = s.path;
  $('#t-rp').value = s.repositoryProject;
}

// Lets another panel put a call in the form, as if typed.
export function setCall(method, path, repositoryProject) {
  const patch = { method, path };
  if (repositoryProject !== undefined) patch.repositoryProject = repositoryProject;
  store.set(patch);
  fillTry(store.get());
}

function examples(s) {
  const ws = s.workspace || 'acme', repo = s.repository || 'api', proj = s.project || 'PROJ';
  const enc = encodeURIComponent;
  return [
    ['gitClone', 'GET', `/${enc(ws)}/${enc(repo)}.git/info/refs?service=git-upload-pack`],
    ['gitFetch', 'POST', `/${enc(ws)}/${enc(repo)}.git/git-upload-pack`],
    ['gitPush', 'GET', `/${enc(ws)}/${enc(repo)}.git/info/refs?service=git-receive-pack`],
    ['headRepo', 'HEAD', `/2.0/repositories/${enc(ws)}/${enc(repo)}`],
    ['updateProject', 'PUT', `/2.0/workspaces/${enc(ws)}/projects/${enc(proj)}`],
    ['wsPermissions', 'GET', `/2.0/workspaces/${enc(ws)}/permissions`],
    ['webPage', 'GET', `/${enc(ws)}/${enc(repo)}/src/main/README.md`],
  ];
}

function renderExamples(s) {
  $('#examples').replaceChildren(...examples(s).map(([label, m, p]) =>
    h('button', { type: 'button', class: 'example', title: `${m} ${p}`, onclick: () => setCall(m, p) }, t(`demo.ex.${label}`))));
}

export function renderTry(s, changed) {
  if (['workspace', 'repository', 'project'].some((f) => changed.has(f))) renderExamples(s);
  if (![...changed].some((f) => TOKEN_FIELDS.includes(f) || ['method', 'path', 'repositoryProject'].includes(f))) return;
  renderDecision(s);
}

function renderDecision(s) {
  const t0 = performance.now();
  const r = route(s.method, s.path);
  if (r) rpVisible = r.target.kind === 'repository';
  $('#t-rp-wrap').hidden = !rpVisible;

  const input = { token: tokenOf(s), request: { method: s.method, path: s.path }, now: nowSeconds() };
  if (rpVisible && s.repositoryProject) input.repository_project = s.repositoryProject;
  const d = authorize(input);

  const panel = $('#decision');
  panel.dataset.allow = String(d.allow);
  panel.dataset.reason = d.reason;
  $('#d-verdict').textContent = d.allow ? t('demo.allowed') : t('demo.denied');
  $('#d-status').textContent = String(d.status);
  $('#d-reason').textContent = d.reason;
  $('#d-message').replaceChildren(...explain('decision', d.reason, d.message));
  $('#d-operation').textContent = d.operation ?? '—';
  $('#d-target').textContent = r ? describeTarget(r.target) : '—';
  chips($('#d-required'), d.required_scopes);
  chips($('#d-granted'), d.granted_scopes, 'granted');
  chips($('#d-missing'), d.missing_scopes, 'missing');

  const ms = performance.now() - t0;
  metrics.decisions.push(ms);
  metrics.lastInput = input;
  metrics.lastDecision = d;
  $('#d-timing').textContent = metrics.decisions.length === 1
    ? t('demo.firstTiming', { ms: ms.toFixed(1) })
    : t('demo.timing', { ms: ms.toFixed(2) });
  if (metrics.firstDecisionAt === null) {
    metrics.firstDecisionAt = performance.mark('scopegate:first-decision').startTime;
    // The frame that shows it: rendering happens right after the animation-frame callbacks.
    requestAnimationFrame(() => {
      metrics.firstDecisionFrameAt = performance.mark('scopegate:first-decision-frame').startTime;
    });
  }
}

function describeTarget(tg) {
  if (tg.kind === 'global') return t('demo.global');
  const parts = [tg.workspace, tg.project, tg.repository].filter((x) => x != null);
  return `${t(`kind.${tg.kind}`)} ${parts.join(' / ')}`;
}

// --- completion -------------------------------------------------------------------------------------

let haystackKey = '';
let haystack = [];

function candidates(s) {
  const key = JSON.stringify(sampleBindings(s));
  if (key !== haystackKey) {
    const b = sampleBindings(s);
    haystack = operations().map((op, i) => {
      const sample = samplePath(op.path, b);
      return { i, op, sample, text: `${op.method} /2.0${op.path} ${sample} ${op.required_scopes.join(' ')} ${op.class}`.toLowerCase() };
    });
    haystackKey = key;
  }
  return haystack;
}

function search(q, s) {
  const words = q.toLowerCase().split(/\s+/).filter(Boolean).map((w) => (w.startsWith('/') ? w.split(/[?#]/)[0] : w));
  if (!words.length) return [];
  const all = candidates(s).filter((c) => words.every((w) => c.text.includes(w)));
  // A typed path prefix ranks its own continuations first.
  const path = words.length === 1 && words[0].startsWith('/') ? words[0] : null;
  if (path) all.sort((a, b) => Number(!a.sample.toLowerCase().startsWith(path)) - Number(!b.sample.toLowerCase().startsWith(path)) || a.i - b.i);
  return all;
}

function openSuggestions() {
  const s = store.get();
  results = search(s.path, s);
  // An exact path needs no suggestion.
  if (results.length === 1 && results[0].sample === s.path && results[0].op.method === s.method) results = [];
  active = -1;
  drawSuggestions();
}

function drawSuggestions() {
  const ul = $('#t-suggest');
  const input = $('#t-path');
  const shown = results.slice(0, MAX_SUGGESTIONS);
  ul.replaceChildren(...shown.map((c, k) => h('li', {
    role: 'option', id: `t-opt-${k}`, 'aria-selected': String(k === active), dataset: { index: k },
    class: `op ${c.op.class}`,
  }, h('span', { class: `method m-${c.op.method}` }, c.op.method), ' ', h('span', { class: 'tpl' }, c.op.path), ' ',
  h('span', { class: 'req' }, c.op.required_scopes.join(' + ') || (c.op.class === 'forbidden' ? t('demo.forbidden') : t('demo.public'))))));
  if (results.length > MAX_SUGGESTIONS) ul.append(h('li', { class: 'more', role: 'presentation' }, t('demo.more', { n: results.length - MAX_SUGGESTIONS })));
  const open = shown.length > 0;
  ul.hidden = !open;
  input.setAttribute('aria-expanded', String(open));
  if (active >= 0) {
    input.setAttribute('aria-activedescendant', `t-opt-${active}`);
    $(`#t-opt-${active}`).scrollIntoView({ block: 'nearest' });
  } else input.removeAttribute('aria-activedescendant');
}

function closeSuggestions() {
  results = [];
  active = -1;
  drawSuggestions();
}

function onKey(e) {
  const open = !$('#t-suggest').hidden;
  const n = Math.min(results.length, MAX_SUGGESTIONS);
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    if (!open) { openSuggestions(); if (!results.length) { results = candidates(store.get()); } }
    const m = Math.min(results.length, MAX_SUGGESTIONS);
    if (!m) return;
    active = e.key === 'ArrowDown' ? (active + 1) % m : (active <= 0 ? m - 1 : active - 1);
    drawSuggestions();
  } else if (e.key === 'Enter') {
    if (open && active >= 0 && active < n) { e.preventDefault(); pick(active); }
  } else if (e.key === 'Escape') {
    if (open) { e.preventDefault(); closeSuggestions(); }
  }
}

function pick(k) {
  const c = results[k];
  if (!c) return;
  closeSuggestions();
  setCall(c.op.method, c.sample);
  $('#t-path').focus();
}
