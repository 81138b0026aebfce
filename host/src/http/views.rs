//! The JSON shapes the admin API answers and the CLI prints (`--json`): views of the
//! service's records, never the records themselves.

use crate::clock;
use crate::service::Created;
use crate::store::{
    Page, Project, Repository, Resource, TokenKind, TokenRecord, TokenState, Workspace,
};
use serde::Serialize;
use utoipa::ToSchema;

/// Metadata shown in lists and by `show`: never the secret.
#[derive(Serialize, Debug, Clone, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub kind: TokenKind,
    pub workspace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub scopes: Vec<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub last_accessed_at: Option<String>,
    /// The most recent distinct client addresses (at most five), newest first.
    pub last_used_ips: Vec<UsedFromView>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    pub state: TokenState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotated_from: Option<String>,
}

impl TokenView {
    pub fn of(r: &TokenRecord, now: i64) -> Self {
        let (project, repository) = match &r.resource {
            Resource::Workspace { .. } => (None, None),
            Resource::Project { project, .. } => (Some(project.clone()), None),
            Resource::Repository { repository, .. } => (None, Some(repository.clone())),
        };
        TokenView {
            id: r.id.clone(),
            name: r.name.clone(),
            kind: r.resource.kind(),
            workspace: r.resource.workspace().to_string(),
            project,
            repository,
            scopes: r.scopes.clone(),
            created_at: clock::to_rfc3339(r.created_at),
            expires_at: r.expires_at.map(clock::to_rfc3339),
            last_accessed_at: r.last_accessed_at.map(clock::to_rfc3339),
            last_used_ips: r
                .last_used_ips
                .iter()
                .map(|u| UsedFromView {
                    ip: u.ip.clone(),
                    at: clock::to_rfc3339(u.at),
                })
                .collect(),
            revoked_at: r.revoked_at.or(r.deactivated_at).map(clock::to_rfc3339),
            state: r.state(now),
            rotated_from: r.rotated_from.clone(),
        }
    }
}

/// The creation (or rotation) answer: the only place the secret ever appears.
#[derive(Serialize, ToSchema)]
pub struct CreatedView {
    pub id: String,
    pub token: String,
    pub name: String,
    pub kind: TokenKind,
    pub workspace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub scopes: Vec<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

impl CreatedView {
    pub fn of(c: &Created) -> Self {
        let v = TokenView::of(&c.record, c.record.created_at);
        CreatedView {
            id: v.id,
            token: c.secret.clone(),
            name: v.name,
            kind: v.kind,
            workspace: v.workspace,
            project: v.project,
            repository: v.repository,
            scopes: v.scopes,
            created_at: v.created_at,
            expires_at: v.expires_at,
        }
    }
}

/// A page of a list, as every list of the admin API answers: at most `pagelen` values, and
/// `next_cursor` (absent on the last page) to pass as `cursor` for the next.
macro_rules! page_view {
    ($(#[$doc:meta])* $name:ident of $item:ty) => {
        $(#[$doc])*
        #[derive(Serialize, ToSchema)]
        pub struct $name {
            pub values: Vec<$item>,
            /// The page size asked for.
            pub pagelen: usize,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub next_cursor: Option<String>,
        }

        impl $name {
            pub fn of<T>(page: Page<T>, pagelen: usize, view: impl FnMut(T) -> $item) -> Self {
                let next_cursor = page.next.as_ref().and_then(|a| a.cursor());
                $name {
                    values: page.items.into_iter().map(view).collect(),
                    pagelen,
                    next_cursor,
                }
            }
        }
    };
}

page_view!(
    /// A page of access tokens, newest first (metadata only).
    TokenList of TokenView
);
page_view!(
    /// A page of workspaces, in slug order.
    WorkspaceList of Workspace
);
page_view!(
    /// A page of a workspace's projects, in key order.
    ProjectList of Project
);
page_view!(
    /// A page of a workspace's repositories, in slug order.
    RepositoryList of Repository
);
page_view!(
    /// A page of admin credentials, oldest first (metadata only).
    CredentialList of CredentialView
);

/// A workspace with what it holds.
#[derive(Serialize, ToSchema)]
pub struct WorkspaceDetail {
    #[serde(flatten)]
    pub workspace: Workspace,
    /// The first page of its projects (`GET …/projects` pages on from `projects_next_cursor`).
    pub projects: Vec<Project>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projects_next_cursor: Option<String>,
    /// The first page of its repositories (`GET …/repositories` pages on).
    pub repositories: Vec<Repository>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repositories_next_cursor: Option<String>,
}

/// Every error the admin API answers: a stable `reason` to act on and a `message` to read.
#[derive(Serialize, ToSchema)]
pub struct ErrorView {
    pub r#type: ErrorType,
    pub error: ErrorDetail,
}

/// Always `error`: the type tag of Bitbucket's error bodies.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ErrorType {
    Error,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub message: String,
    pub reason: String,
}

/// An admin credential's metadata: never its secret.
#[derive(Serialize, Debug, Clone, ToSchema)]
pub struct CredentialView {
    pub id: String,
    pub name: String,
    pub role: crate::store::Role,
    pub workspace: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
}

/// The calling credential, and what its role reaches (`GET /whoami`).
#[derive(Serialize, Debug, Clone, ToSchema)]
pub struct WhoAmIView {
    pub id: String,
    pub name: String,
    pub role: crate::store::Role,
    /// The workspace a bound role is limited to.
    pub workspace: Option<String>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// What the role may do within its reach (the whole store, or `workspace`), by the names of
    /// the host's role table: `read`, `manage-resources`, `manage-workspace`, `manage-webhooks`,
    /// `read-audit`, `manage-credentials`, `read-snapshot`, `reload-policy`, `introspect`,
    /// `whoami`.
    pub actions: Vec<&'static str>,
}

impl CredentialView {
    pub fn of(c: &crate::store::CredentialRecord) -> Self {
        CredentialView {
            id: c.id.clone(),
            name: c.name.clone(),
            role: c.role,
            workspace: c.workspace.clone(),
            created_at: clock::to_rfc3339(c.created_at),
            expires_at: c.expires_at.map(clock::to_rfc3339),
            revoked_at: c.revoked_at.map(clock::to_rfc3339),
        }
    }
}

/// The creation answer: the only place the credential's secret ever appears.
#[derive(Serialize, ToSchema)]
pub struct CredentialCreatedView {
    pub id: String,
    pub credential: String,
    pub name: String,
    pub role: crate::store::Role,
    pub workspace: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

impl CredentialCreatedView {
    pub fn of(c: &crate::service::CreatedCredential) -> Self {
        let v = CredentialView::of(&c.record);
        CredentialCreatedView {
            id: v.id,
            credential: c.secret.clone(),
            name: v.name,
            role: v.role,
            workspace: v.workspace,
            created_at: v.created_at,
            expires_at: v.expires_at,
        }
    }
}

/// One audit entry, with its time in RFC 3339.
#[derive(Serialize, Debug, Clone, ToSchema)]
pub struct AuditView {
    pub id: String,
    #[schema(format = DateTime)]
    pub at: String,
    pub actor: String,
    pub event: crate::store::AuditEvent,
    pub workspace: Option<String>,
    pub subject: Option<String>,
    pub token_id: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl AuditView {
    pub fn of(r: &crate::store::AuditRecord) -> Self {
        AuditView {
            id: r.id.to_string(),
            at: clock::to_rfc3339(r.at),
            actor: r.actor.clone(),
            event: r.event,
            workspace: r.workspace.clone(),
            subject: r.subject.clone(),
            token_id: r.token_id.clone(),
            detail: r.detail.clone(),
        }
    }
}

/// A page of the audit log, newest first. `next_cursor` is absent on the last page.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub values: Vec<AuditView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A client address a token was used from.
#[derive(Serialize, Debug, Clone, ToSchema)]
pub struct UsedFromView {
    pub ip: String,
    #[schema(format = DateTime)]
    pub at: String,
}
