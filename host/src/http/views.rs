//! The JSON shapes of tokens the admin API answers and the CLI prints (`--json`): views of the
//! service's records, never the records themselves.

use crate::clock;
use crate::service::Created;
use crate::store::{Project, Repository, Resource, TokenKind, TokenRecord, TokenState, Workspace};
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

/// A page of tokens. Every token is on the one page until lists are paginated.
#[derive(Serialize, ToSchema)]
pub struct TokenList {
    pub size: usize,
    pub page: usize,
    pub pagelen: usize,
    pub values: Vec<TokenView>,
}

impl TokenList {
    pub fn of(values: Vec<TokenView>) -> Self {
        TokenList {
            size: values.len(),
            page: 1,
            pagelen: values.len(),
            values,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WorkspaceList {
    pub size: usize,
    pub values: Vec<Workspace>,
}

/// A workspace with what it holds.
#[derive(Serialize, ToSchema)]
pub struct WorkspaceDetail {
    #[serde(flatten)]
    pub workspace: Workspace,
    pub projects: Vec<Project>,
    pub repositories: Vec<Repository>,
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
