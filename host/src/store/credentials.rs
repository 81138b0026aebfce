//! Admin credentials (SPEC §11): stored as the SHA-256 of their secret, each with one role.
//! A role bound to a workspace carries it; the schema refuses a `token-manager` without one
//! and a role that can't be bound with one.

use super::sql::{corrupt, Cells};
use super::StoreResult;
use serde::{Deserialize, Serialize};

/// What a credential may do; the table of what each role allows is `service::roles`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything, and the only role that manages credentials.
    Owner,
    /// Resources and access tokens inside one workspace.
    TokenManager,
    /// Every read of the admin API and the audit log (within one workspace, if bound).
    Auditor,
    /// The edge snapshot only.
    SnapshotReader,
    /// `POST /oauth/introspect` only.
    Introspect,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::TokenManager => "token-manager",
            Role::Auditor => "auditor",
            Role::SnapshotReader => "snapshot-reader",
            Role::Introspect => "introspect",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [
            Role::Owner,
            Role::TokenManager,
            Role::Auditor,
            Role::SnapshotReader,
            Role::Introspect,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// Whether the role is bound to a workspace: always, sometimes, or never.
    pub fn workspace_binding(self) -> Binding {
        match self {
            Role::TokenManager => Binding::Required,
            Role::Auditor => Binding::Optional,
            Role::Owner | Role::SnapshotReader | Role::Introspect => Binding::Refused,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    Required,
    Optional,
    Refused,
}

/// A credential as stored: never its secret.
#[derive(Clone, Debug, Serialize)]
pub struct CredentialRecord {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub workspace: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl CredentialRecord {
    /// Usable at `now`: neither revoked nor expired.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

pub struct NewCredential {
    pub id: String,
    pub hash: crate::token::SecretHash,
    pub name: String,
    pub role: Role,
    pub workspace: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// The id of the credential that `serve` generates on a fresh store (SPEC §9's admin key).
pub const BOOTSTRAP_ID: &str = "bootstrap";

pub(super) const CREDENTIAL_COLUMNS: &str =
    "id, name, role, workspace, created_at, expires_at, revoked_at";

/// A credential row, read exactly: a role of the set, bound as its role allows.
pub(super) fn credential_from(mut r: Cells) -> StoreResult<CredentialRecord> {
    let id = r.text("id").map_err(|e| corrupt("credentials", "?", e))?;
    let bad = |e: String| corrupt("credentials", &id, e);
    let name = r.text("name").map_err(bad)?;
    let role = r.text("role").map_err(bad)?;
    let role = Role::parse(&role).ok_or_else(|| bad(format!("role {role:?} is not a role")))?;
    let workspace = r.nullable_text("workspace").map_err(bad)?;
    match (role.workspace_binding(), &workspace) {
        (Binding::Required, None) => {
            return Err(bad(format!("a {} names no workspace", role.as_str())))
        }
        (Binding::Refused, Some(_)) => {
            return Err(bad(format!("a {} is bound to a workspace", role.as_str())))
        }
        _ => {}
    }
    Ok(CredentialRecord {
        name,
        role,
        workspace,
        created_at: r.int("created_at").map_err(bad)?,
        expires_at: r.nullable_int("expires_at").map_err(bad)?,
        revoked_at: r.nullable_int("revoked_at").map_err(bad)?,
        id,
    })
}
