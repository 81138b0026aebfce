// What the signed-in credential may do, from GET /whoami's `actions` (the host's own role table). The
// console shows only what these allow; the host decides anyway.

// SPEC §11, for a host that answers whoami without `actions`.
const BY_ROLE = {
  owner: ['read', 'manage-resources', 'manage-workspace', 'manage-webhooks', 'read-audit', 'manage-credentials'],
  'token-manager': ['read', 'manage-resources'],
  auditor: ['read', 'read-audit'],
  'snapshot-reader': ['read-snapshot'],
  introspect: ['introspect'],
};

export function capabilities(who) {
  const a = new Set(Array.isArray(who.actions) ? who.actions : BY_ROLE[who.role] || []);
  return {
    role: who.role,
    workspace: who.workspace || null,
    read: a.has('read'),
    write: a.has('manage-resources'),
    policy: a.has('manage-workspace'),
    audit: a.has('read-audit'),
    credentials: a.has('manage-credentials'),
    // snapshot-reader and introspect credentials read nothing the console shows.
    usable: a.has('read') || a.has('read-audit'),
  };
}
