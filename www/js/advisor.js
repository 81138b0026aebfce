// Least-privilege advisor: the calls an application makes, in; the narrowest token, out (minimalToken).

import { $, h } from './dom.js';
import { minimalToken } from './policy.js';
import { fillBuilder } from './builder.js';
import { t, explain } from './i18n.js';

let store;

export function initAdvisor(st) {
  store = st;
  $('#a-calls').addEventListener('input', (e) => store.set({ calls: e.target.value }));
}

export function fillAdvisor(s) {
  $('#a-calls').value = s.calls;
}

// `METHOD /path [project-key]` per line; returns the calls and, for each, the line it came from.
export function parseCalls(text) {
  const calls = [], lines = [], problems = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    if (parts.length < 2 || parts.length > 3) {
      problems.push({ line: i + 1, text: line });
      return;
    }
    const call = { method: parts[0], path: parts[1] };
    if (parts[2]) call.repository_project = parts[2];
    calls.push(call);
    lines.push(i + 1);
  });
  return { calls, lines, problems };
}

export function renderAdvisor(s, changed) {
  if (!changed.has('calls')) return;
  const out = $('#a-result');
  const { calls, lines, problems } = parseCalls(s.calls);
  if (problems.length) {
    out.dataset.state = 'parse';
    out.replaceChildren(h('p', { class: 'bad' }, t('demo.badLine', { line: problems[0].line }),
      h('code', {}, problems[0].text)));
    return;
  }
  const res = minimalToken(calls);
  if (res.error) {
    out.dataset.state = 'error';
    out.dataset.error = res.error;
    const where = Number.isInteger(res.call) ? h('span', {}, t('demo.atLine', { line: lines[res.call] }), h('code', {}, `${calls[res.call].method} ${calls[res.call].path}`), ')') : null;
    out.replaceChildren(h('p', { class: 'bad' }, h('strong', {}, t('demo.noFit')), h('code', { class: 'error' }, res.error), ' — ', explain('advice', res.error, res.message), where));
    return;
  }
  out.dataset.state = 'ok';
  out.dataset.error = '';
  const binding = res.kind === 'repository' ? `${res.workspace} / ${res.repository}`
    : res.kind === 'project' ? t('demo.inProject', { ws: res.workspace, project: res.project }) : res.workspace;
  out.replaceChildren(
    h('p', { class: 'good' }, h('strong', {}, t('demo.narrowest')),
      h('span', { class: 'kind' }, t(`demo.kindToken.${res.kind}`)), t('demo.for'), h('span', { class: 'binding' }, binding), t('demo.with'),
      h('span', { class: 'scopes' }, ...res.scopes.flatMap((x, i) => [i ? ', ' : '', h('code', {}, x)]))),
    h('button', { type: 'button', id: 'a-use', onclick: () => useToken(res) }, t('demo.useToken')));
}

function useToken(res) {
  const patch = { kind: res.kind, workspace: res.workspace, scopes: [...res.scopes] };
  if (res.project != null) patch.project = res.project;
  if (res.repository != null) patch.repository = res.repository;
  store.set(patch);
  fillBuilder(store.get());
  $('#builder-h').scrollIntoView({ block: 'start' });
}
