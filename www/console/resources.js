// Browsing: workspaces → a workspace (its policy, projects, repositories and tokens) → a project (its
// repositories and tokens) → a repository (its tokens). Every list pages through the API.

import { h } from '../js/dom.js';
import { t } from '../js/i18n.js';
import * as api from './api.js';
import { tokenTable } from './tokens.js';
import { policyForm } from './settings.js';

const link = (href, text, cls = '') => h('a', { href, class: cls }, text);
export const wsHref = (ws) => `#/w/${encodeURIComponent(ws)}`;
export const projectHref = (ws, key) => `${wsHref(ws)}/p/${encodeURIComponent(key)}`;
export const repoHref = (ws, slug) => `${wsHref(ws)}/r/${encodeURIComponent(slug)}`;

function crumbs(items) {
  return h('nav', { class: 'crumbs', 'aria-label': t('nav.breadcrumb') },
    h('ol', {}, items.map(([href, text], i) => h('li', {}, i === items.length - 1
      ? h('span', { 'aria-current': 'page' }, text) : link(href, text)))));
}

// A list that shows its first page (possibly handed over already) and loads more on request.
function pagedList({ id, title, first, next, fetchMore, item, empty }) {
  const ul = h('ul', { class: 'res-list', id: `${id}-list` });
  const more = h('button', { type: 'button', class: 'more' }, t('common.loadMore'));
  let cursor = next;
  const add = (values) => ul.append(...values.map((v) => h('li', {}, item(v))));
  const sync = () => { more.hidden = !cursor; if (!ul.children.length) ul.append(h('li', { class: 'muted empty' }, empty)); };
  add(first);
  sync();
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const p = await fetchMore(cursor);
      ul.querySelector('.empty')?.remove();
      add(p.values);
      cursor = p.next;
    } finally {
      more.disabled = false;
      sync();
    }
  });
  return h('section', { class: 'panel reslist', id, 'aria-labelledby': `${id}-h` }, h('h2', { id: `${id}-h` }, title), ul, more);
}

const policyFacts = (p) => h('dl', { class: 'facts ws-facts' },
  h('dt', {}, t('field.plan')), h('dd', { class: 'plan' }, t(`plan.${p.plan}`)),
  h('dt', {}, t('field.maxLifetime')), h('dd', {}, t(`days.${p.max_lifetime_days}`)),
  h('dt', {}, t('field.allowNoExpiry')), h('dd', {}, p.allow_no_expiry ? t('common.yes') : t('common.no')));

export async function workspacesView(caps) {
  const first = await api.page('/workspaces', { limit: 100 });
  const table = h('tbody');
  const add = (values) => table.append(...values.map((w) => {
    const p = api.policyOf(w);
    return h('tr', {}, h('th', { scope: 'row' }, link(wsHref(w.slug), w.slug)), h('td', {}, t(`plan.${p.plan}`)),
      h('td', {}, t(`days.${p.max_lifetime_days}`)), h('td', {}, p.allow_no_expiry ? t('common.yes') : t('common.no')));
  }));
  add(first.values);
  let cursor = first.next;
  const more = h('button', { type: 'button', class: 'more', hidden: !cursor }, t('common.loadMore'));
  more.addEventListener('click', async () => {
    const p = await api.page('/workspaces', { limit: 100, cursor });
    add(p.values);
    cursor = p.next;
    more.hidden = !cursor;
  });
  return {
    title: t('nav.workspaces'),
    nodes: [
      h('h1', { class: 'view-h', tabindex: '-1' }, t('nav.workspaces')),
      h('section', { class: 'panel' },
        first.values.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
          h('caption', { class: 'visually-hidden' }, t('nav.workspaces')),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('field.workspace')), h('th', { scope: 'col' }, t('field.plan')),
            h('th', { scope: 'col' }, t('field.maxLifetime')), h('th', { scope: 'col' }, t('field.allowNoExpiry')))),
          table)) : h('p', { class: 'muted' }, t('ws.none')),
        more),
    ],
  };
}

export async function workspaceView(caps, ws) {
  const detail = await api.get(api.path('workspaces', ws));
  const policy = api.policyOf(detail);
  const slug = detail.slug || ws;
  const projects = pagedList({
    id: 'projects', title: t('ws.projects'), first: detail.projects || [], next: detail.projects_next_cursor ?? null,
    fetchMore: (cursor) => api.page(api.path('workspaces', slug, 'projects'), { cursor }),
    item: (p) => link(projectHref(slug, p.key), p.key), empty: t('ws.noProjects'),
  });
  const repos = pagedList({
    id: 'repositories', title: t('ws.repositories'), first: detail.repositories || [], next: detail.repositories_next_cursor ?? null,
    fetchMore: (cursor) => api.page(api.path('workspaces', slug, 'repositories'), { cursor }),
    item: (r) => h('span', {}, link(repoHref(slug, r.slug), r.slug), ' ', h('span', { class: 'hint' }, t('ws.inProject', { project: r.project }))),
    empty: t('ws.noRepositories'),
  });
  const tokens = tokenTable({ kind: 'workspace', workspace: slug }, caps, policy);
  await tokens.ready;
  const settings = caps.policy ? policyForm(slug, detail) : h('section', { class: 'panel', 'aria-labelledby': 'policy-h' },
    h('h2', { id: 'policy-h' }, t('policy.title')), policyFacts(policy));
  return {
    title: `${t('kind.Workspace')} ${slug}`,
    nodes: [
      caps.workspace ? null : crumbs([['#/workspaces', t('nav.workspaces')], [wsHref(slug), slug]]),
      h('h1', { class: 'view-h', tabindex: '-1' }, h('span', { class: 'kindlabel' }, t('kind.Workspace')), ' ', slug),
      h('div', { class: 'columns' }, settings, projects, repos),
      tokens.el,
    ],
  };
}

export async function projectView(caps, ws, key) {
  const [detail, list] = await Promise.all([
    api.get(api.path('workspaces', ws)),
    api.page(api.path('workspaces', ws, 'repositories'), { project: key }).catch((err) => {
      if (err.status === 404 || err.status === 405) return null;
      throw err;
    }),
  ]);
  const slug = detail.slug || ws;
  const policy = api.policyOf(detail);
  const project = (detail.projects || []).find((p) => p.key.toLowerCase() === key.toLowerCase());
  const pkey = project?.key || key;
  // A host without the paged list: the workspace's first page of repositories, filtered.
  const first = list ? list.values : (detail.repositories || []).filter((r) => r.project.toLowerCase() === pkey.toLowerCase());
  const repos = pagedList({
    id: 'repositories', title: t('ws.repositories'), first, next: list?.next ?? null,
    fetchMore: (cursor) => api.page(api.path('workspaces', slug, 'repositories'), { project: pkey, cursor }),
    item: (r) => link(repoHref(slug, r.slug), r.slug), empty: t('ws.noRepositories'),
  });
  const tokens = tokenTable({ kind: 'project', workspace: slug, project: pkey }, caps, policy);
  await tokens.ready;
  return {
    title: `${t('kind.Project')} ${pkey}`,
    nodes: [
      crumbs([...(caps.workspace ? [] : [['#/workspaces', t('nav.workspaces')]]), [wsHref(slug), slug], [projectHref(slug, pkey), pkey]]),
      h('h1', { class: 'view-h', tabindex: '-1' }, h('span', { class: 'kindlabel' }, t('kind.Project')), ' ', pkey),
      h('div', { class: 'columns' }, repos),
      tokens.el,
    ],
  };
}

export async function repositoryView(caps, ws, slug) {
  const detail = await api.get(api.path('workspaces', ws));
  const wslug = detail.slug || ws;
  const policy = api.policyOf(detail);
  const known = (detail.repositories || []).find((r) => r.slug.toLowerCase() === slug.toLowerCase());
  const rslug = known?.slug || slug;
  const tokens = tokenTable({ kind: 'repository', workspace: wslug, repository: rslug }, caps, policy);
  await tokens.ready;
  return {
    title: `${t('kind.Repository')} ${rslug}`,
    nodes: [
      crumbs([...(caps.workspace ? [] : [['#/workspaces', t('nav.workspaces')]]), [wsHref(wslug), wslug],
        ...(known ? [[projectHref(wslug, known.project), known.project]] : []), [repoHref(wslug, rslug), rslug]]),
      h('h1', { class: 'view-h', tabindex: '-1' }, h('span', { class: 'kindlabel' }, t('kind.Repository')), ' ', rslug),
      known ? h('p', { class: 'hint' }, t('repo.inProject', { project: known.project })) : null,
      tokens.el,
    ],
  };
}
