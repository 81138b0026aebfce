// How scopes are shown: Bitbucket's grouping, in its order. Presentation only — which kind may hold a scope
// and what it implies is asked of the policy module. The groups' and scopes' names are in the language
// dictionaries (www/js/lang/: `group.ID`, `scope.NAME`).

export const GROUPS = [
  { id: 'repositories', scopes: ['repository', 'repository:write', 'repository:admin', 'repository:delete'] },
  { id: 'pullrequests', scopes: ['pullrequest', 'pullrequest:write'] },
  { id: 'webhooks', scopes: ['webhook'] },
  { id: 'pipelines', scopes: ['pipeline', 'pipeline:write', 'pipeline:variable'] },
  { id: 'runners', scopes: ['runner', 'runner:write'] },
  { id: 'projects', scopes: ['project', 'project:admin'] },
  { id: 'account', scopes: ['account'] },
];

// Bitbucket scopes that exist but are offered to no access token; listed so that the module, not this
// file, is what says so.
export const OTHER_SCOPES = ['issue', 'issue:write', 'wiki', 'snippet', 'snippet:write', 'email',
  'account:write', 'team', 'team:write', 'project:write'];

export const ALL_SCOPES = [...GROUPS.flatMap((g) => g.scopes), ...OTHER_SCOPES];

const groupOf = new Map(GROUPS.flatMap((g, i) => g.scopes.map((s) => [s, i])));

export const PUBLIC_GROUP = { id: 'public' };
export const OTHER_GROUP = { id: 'other' };
export const OP_GROUPS = [...GROUPS, PUBLIC_GROUP, OTHER_GROUP];

// An operation is filed under the most specific group among its required scopes (account + repository
// reads as an account operation).
export function groupForScopes(required) {
  if (required.length === 0) return PUBLIC_GROUP;
  if (required.some((s) => !groupOf.has(s))) return OTHER_GROUP;
  return GROUPS[Math.max(...required.map((s) => groupOf.get(s)))];
}
