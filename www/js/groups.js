// How scopes are shown: Bitbucket's grouping and wording. Presentation only — which kind may hold a scope
// and what it implies is asked of the policy module.

export const GROUPS = [
  { id: 'repositories', label: 'Repositories', scopes: [
    ['repository', 'Read'], ['repository:write', 'Write'], ['repository:admin', 'Admin'], ['repository:delete', 'Delete']] },
  { id: 'pullrequests', label: 'Pull requests', scopes: [['pullrequest', 'Read'], ['pullrequest:write', 'Write']] },
  { id: 'webhooks', label: 'Webhooks', scopes: [['webhook', 'Read and write']] },
  { id: 'pipelines', label: 'Pipelines', scopes: [['pipeline', 'Read'], ['pipeline:write', 'Write'], ['pipeline:variable', 'Edit variables']] },
  { id: 'runners', label: 'Runners', scopes: [['runner', 'Read'], ['runner:write', 'Write']] },
  { id: 'projects', label: 'Projects', scopes: [['project', 'Read'], ['project:admin', 'Admin']] },
  { id: 'account', label: 'Account', scopes: [['account', 'Read']] },
];

// Bitbucket scopes that exist but are offered to no access token; listed so that the module, not this
// file, is what says so.
export const OTHER_SCOPES = ['issue', 'issue:write', 'wiki', 'snippet', 'snippet:write', 'email',
  'account:write', 'team', 'team:write', 'project:write'];

export const ALL_SCOPES = [...GROUPS.flatMap((g) => g.scopes.map(([s]) => s)), ...OTHER_SCOPES];

const groupOf = new Map(GROUPS.flatMap((g, i) => g.scopes.map(([s]) => [s, i])));

export const PUBLIC_GROUP = { id: 'public', label: 'Public' };
export const OTHER_GROUP = { id: 'other', label: 'Other scopes' };
export const OP_GROUPS = [...GROUPS, PUBLIC_GROUP, OTHER_GROUP];

// An operation is filed under the most specific group among its required scopes (account + repository
// reads as an account operation).
export function groupForScopes(required) {
  if (required.length === 0) return PUBLIC_GROUP;
  if (required.some((s) => !groupOf.has(s))) return OTHER_GROUP;
  return GROUPS[Math.max(...required.map((s) => groupOf.get(s)))];
}
