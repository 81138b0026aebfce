//! What each admin role may do (SPEC §11): the one table every admin call is checked against.
//! Handlers name the [`Action`] they perform and the workspace it is in; [`allows`] says yes or
//! no; nothing else in the host decides it.

use crate::error::ApiError;
use crate::store::{Actor, Role};

/// What an admin call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Any `GET` of the admin API but the audit log and the edge snapshot.
    Read,
    /// Create, move or delete projects and repositories; issue, revoke and rotate access tokens.
    ManageResources,
    /// Create or delete a workspace, or set its plan and token policy.
    ManageWorkspace,
    /// Put or delete a workspace's webhooks.
    ManageWebhooks,
    /// Read the audit log.
    ReadAudit,
    /// Create or revoke admin credentials.
    ManageCredentials,
    /// `GET /edge/snapshot`: every token's hash and claims.
    ReadSnapshot,
    /// Load the policy module again.
    ReloadPolicy,
    /// `POST /oauth/introspect`.
    Introspect,
    /// `GET /whoami`: a credential's own metadata, which every role may read.
    WhoAmI,
}

impl Action {
    /// Every action, for telling a caller what its role reaches.
    pub const ALL: [Action; 10] = [
        Action::Read,
        Action::ManageResources,
        Action::ManageWorkspace,
        Action::ManageWebhooks,
        Action::ReadAudit,
        Action::ManageCredentials,
        Action::ReadSnapshot,
        Action::ReloadPolicy,
        Action::Introspect,
        Action::WhoAmI,
    ];

    /// Its stable name in answers (`GET /whoami`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::ManageResources => "manage-resources",
            Action::ManageWorkspace => "manage-workspace",
            Action::ManageWebhooks => "manage-webhooks",
            Action::ReadAudit => "read-audit",
            Action::ManageCredentials => "manage-credentials",
            Action::ReadSnapshot => "read-snapshot",
            Action::ReloadPolicy => "reload-policy",
            Action::Introspect => "introspect",
            Action::WhoAmI => "whoami",
        }
    }

    /// The action in words, for the 403's message.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Read => "read this",
            Action::ManageResources => "change resources or access tokens here",
            Action::ManageWorkspace => "create, delete or configure workspaces",
            Action::ManageWebhooks => "change webhooks",
            Action::ReadAudit => "read this audit log",
            Action::ManageCredentials => "manage admin credentials",
            Action::ReadSnapshot => "read the edge snapshot",
            Action::ReloadPolicy => "reload the policy module",
            Action::Introspect => "introspect tokens",
            Action::WhoAmI => "read its own metadata",
        }
    }
}

/// Whether `role`, bound to `bound` (a workspace, or none), may do `action` within `within` (the
/// workspace the call is in; `None` for a call about the whole store).
pub fn allows(role: Role, bound: Option<&str>, action: Action, within: Option<&str>) -> bool {
    // A bound role reaches only calls inside its own workspace; an unbound one reaches all.
    let in_reach = match (bound, within) {
        (None, _) => true,
        (Some(b), Some(w)) => b.eq_ignore_ascii_case(w),
        (Some(_), None) => false,
    };
    match (role, action) {
        (Role::Owner, _) | (_, Action::WhoAmI) => true,
        (Role::TokenManager, Action::Read | Action::ManageResources) => in_reach,
        (Role::Auditor, Action::Read | Action::ReadAudit | Action::ReadSnapshot) => in_reach,
        (Role::SnapshotReader, Action::ReadSnapshot) => true,
        (Role::Introspect, Action::Introspect) => true,
        _ => false,
    }
}

/// Who is calling the admin API, once their credential is matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// How the audit log names them: a credential id (`env` for the key given in
    /// `SCOPEGATE_ADMIN_KEY`), or `cli`.
    pub actor: Actor,
    pub role: Role,
    pub workspace: Option<String>,
}

impl Caller {
    /// The CLI on the local store: whoever can open the store owns it.
    pub fn cli() -> Caller {
        Caller {
            actor: Actor::Cli,
            role: Role::Owner,
            workspace: None,
        }
    }

    /// `Ok` when the role allows `action` within `workspace`, else 403 `role_forbidden`.
    /// What this caller may do within its reach: the whole store, or its bound workspace.
    pub fn actions(&self) -> Vec<Action> {
        let within = self.workspace.as_deref();
        Action::ALL
            .into_iter()
            .filter(|&a| allows(self.role, within, a, within))
            .collect()
    }

    pub fn may(&self, action: Action, workspace: Option<&str>) -> Result<(), ApiError> {
        if allows(self.role, self.workspace.as_deref(), action, workspace) {
            Ok(())
        } else {
            Err(ApiError::RoleForbidden {
                role: self.role.as_str(),
                action: action.describe(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_roles_stay_in_their_workspace() {
        let tm = |a, w| allows(Role::TokenManager, Some("acme"), a, w);
        assert!(tm(Action::ManageResources, Some("ACME")));
        assert!(!tm(Action::ManageResources, Some("other")));
        assert!(!tm(Action::Read, None));
        assert!(!tm(Action::ManageWorkspace, Some("acme")));
        assert!(!tm(Action::ManageWebhooks, Some("acme")));
        assert!(!tm(Action::ReadAudit, Some("acme")));
        let au = |a, w| allows(Role::Auditor, Some("acme"), a, w);
        assert!(au(Action::ReadAudit, Some("acme")));
        assert!(!au(Action::ReadAudit, None));
        assert!(!au(Action::ManageResources, Some("acme")));
        assert!(allows(Role::Auditor, None, Action::ReadAudit, None));
    }

    #[test]
    fn narrow_roles_do_one_thing() {
        for action in [
            Action::Read,
            Action::ManageResources,
            Action::ManageWorkspace,
            Action::ManageWebhooks,
            Action::ReadAudit,
            Action::ManageCredentials,
            Action::ReloadPolicy,
        ] {
            assert!(
                !allows(Role::SnapshotReader, None, action, None),
                "{action:?}"
            );
            assert!(
                !allows(Role::Introspect, None, action, Some("a")),
                "{action:?}"
            );
            assert!(allows(Role::Owner, None, action, Some("a")), "{action:?}");
        }
        assert!(allows(
            Role::SnapshotReader,
            None,
            Action::ReadSnapshot,
            None
        ));
        assert!(!allows(
            Role::SnapshotReader,
            None,
            Action::Introspect,
            None
        ));
        assert!(allows(Role::Introspect, None, Action::Introspect, None));
        assert!(!allows(Role::Introspect, None, Action::ReadSnapshot, None));
    }
}
