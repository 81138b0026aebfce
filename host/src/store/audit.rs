//! The audit log (SPEC §11): who changed what, written in the transaction of the change it
//! records, so that a change and its record are durable together or not at all. Reading it is
//! newest first with an id cursor, which stays stable while new entries arrive (they only ever
//! have larger ids).

use super::sql::{corrupt, Cells, Param, Tx};
use super::{StoreError, StoreResult};
use serde::Serialize;

/// Who made a change, as the audit log names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// An admin credential, by its id.
    Credential(String),
    /// The CLI on the local store.
    Cli,
    /// `POST /leaks`.
    LeakReport,
    /// `POST /oauth/revoke`: whoever presented the secret.
    Rfc7009,
    /// The check path (denied checks only): not a change anyone made.
    Check,
}

impl Actor {
    pub fn as_str(&self) -> &str {
        match self {
            Actor::Credential(id) => id,
            Actor::Cli => "cli",
            Actor::LeakReport => "leak-report",
            Actor::Rfc7009 => "rfc7009",
            Actor::Check => "check",
        }
    }
}

/// The events of SPEC §11, and nothing else: a row naming another is unreadable.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub enum AuditEvent {
    #[serde(rename = "workspace.put")]
    WorkspacePut,
    #[serde(rename = "workspace.deleted")]
    WorkspaceDeleted,
    #[serde(rename = "project.put")]
    ProjectPut,
    #[serde(rename = "project.deleted")]
    ProjectDeleted,
    #[serde(rename = "repository.put")]
    RepositoryPut,
    #[serde(rename = "repository.moved")]
    RepositoryMoved,
    #[serde(rename = "repository.transferred")]
    RepositoryTransferred,
    #[serde(rename = "repository.deleted")]
    RepositoryDeleted,
    #[serde(rename = "token.created")]
    TokenCreated,
    #[serde(rename = "token.revoked")]
    TokenRevoked,
    #[serde(rename = "token.rotated")]
    TokenRotated,
    #[serde(rename = "token.deactivated")]
    TokenDeactivated,
    #[serde(rename = "token.leaked")]
    TokenLeaked,
    #[serde(rename = "credential.created")]
    CredentialCreated,
    #[serde(rename = "credential.revoked")]
    CredentialRevoked,
    #[serde(rename = "webhook.put")]
    WebhookPut,
    #[serde(rename = "webhook.deleted")]
    WebhookDeleted,
    #[serde(rename = "check.denied")]
    CheckDenied,
}

impl AuditEvent {
    pub const ALL: [AuditEvent; 18] = [
        AuditEvent::WorkspacePut,
        AuditEvent::WorkspaceDeleted,
        AuditEvent::ProjectPut,
        AuditEvent::ProjectDeleted,
        AuditEvent::RepositoryPut,
        AuditEvent::RepositoryMoved,
        AuditEvent::RepositoryTransferred,
        AuditEvent::RepositoryDeleted,
        AuditEvent::TokenCreated,
        AuditEvent::TokenRevoked,
        AuditEvent::TokenRotated,
        AuditEvent::TokenDeactivated,
        AuditEvent::TokenLeaked,
        AuditEvent::CredentialCreated,
        AuditEvent::CredentialRevoked,
        AuditEvent::WebhookPut,
        AuditEvent::WebhookDeleted,
        AuditEvent::CheckDenied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::WorkspacePut => "workspace.put",
            AuditEvent::WorkspaceDeleted => "workspace.deleted",
            AuditEvent::ProjectPut => "project.put",
            AuditEvent::ProjectDeleted => "project.deleted",
            AuditEvent::RepositoryPut => "repository.put",
            AuditEvent::RepositoryMoved => "repository.moved",
            AuditEvent::RepositoryTransferred => "repository.transferred",
            AuditEvent::RepositoryDeleted => "repository.deleted",
            AuditEvent::TokenCreated => "token.created",
            AuditEvent::TokenRevoked => "token.revoked",
            AuditEvent::TokenRotated => "token.rotated",
            AuditEvent::TokenDeactivated => "token.deactivated",
            AuditEvent::TokenLeaked => "token.leaked",
            AuditEvent::CredentialCreated => "credential.created",
            AuditEvent::CredentialRevoked => "credential.revoked",
            AuditEvent::WebhookPut => "webhook.put",
            AuditEvent::WebhookDeleted => "webhook.deleted",
            AuditEvent::CheckDenied => "check.denied",
        }
    }

    pub fn parse(s: &str) -> Option<AuditEvent> {
        AuditEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// One entry to write. `detail` never holds a secret: callers put names, ids, scopes and
/// times in it, never a token or credential.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    pub at: i64,
    pub actor: &'a Actor,
    pub event: AuditEvent,
    pub workspace: Option<&'a str>,
    /// What the change is about, as `kind:name` (`token:tok_…`, `repository:acme/api`).
    pub subject: Option<String>,
    /// The token it concerns, so that `?token_id=` finds every entry about one token.
    pub token_id: Option<&'a str>,
    pub detail: serde_json::Value,
}

/// Writes `entry` in the caller's transaction.
pub fn record(tx: &mut dyn Tx, entry: &Entry<'_>) -> StoreResult<()> {
    let detail = entry.detail.to_string();
    let ws_key = entry.workspace.map(str::to_ascii_lowercase);
    tx.execute(
        "INSERT INTO audit (at, actor, event, workspace, ws_key, subject, token_id, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            Param::Int(entry.at),
            Param::Text(entry.actor.as_str()),
            Param::Text(entry.event.as_str()),
            Param::NullableText(entry.workspace),
            Param::NullableText(ws_key.as_deref()),
            Param::NullableText(entry.subject.as_deref()),
            Param::NullableText(entry.token_id),
            Param::Text(&detail),
        ],
    )?;
    Ok(())
}

/// A recorded entry, as the API answers it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// Increasing: a later entry has a larger id.
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// A credential id, `cli`, `leak-report`, `rfc7009`, or `check` (denied checks).
    pub actor: String,
    pub event: AuditEvent,
    pub workspace: Option<String>,
    pub subject: Option<String>,
    pub token_id: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// Which entries a read selects; every filter is optional.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub workspace: Option<String>,
    pub token_id: Option<String>,
    pub event: Option<AuditEvent>,
    /// Entries at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Entries older than this one (the previous page's `next_cursor`).
    pub before_id: Option<i64>,
    pub limit: usize,
}

/// Most entries one read answers.
pub const MAX_PAGE: usize = 1000;

pub(super) const AUDIT_COLUMNS: &str = "id, at, actor, event, workspace, subject, token_id, detail";

pub(super) fn audit_from(mut r: Cells) -> StoreResult<AuditRecord> {
    let id = r.int("id").map_err(|e| corrupt("audit", "?", e))?;
    let bad = |e: String| corrupt("audit", &id.to_string(), e);
    let at = r.int("at").map_err(bad)?;
    let actor = r.text("actor").map_err(bad)?;
    let event = r.text("event").map_err(bad)?;
    let event =
        AuditEvent::parse(&event).ok_or_else(|| bad(format!("event {event:?} is not an event")))?;
    let workspace = r.nullable_text("workspace").map_err(bad)?;
    let subject = r.nullable_text("subject").map_err(bad)?;
    let token_id = r.nullable_text("token_id").map_err(bad)?;
    let detail = r.text("detail").map_err(bad)?;
    let detail =
        serde_json::from_str(&detail).map_err(|e| bad(format!("detail is not JSON: {e}")))?;
    Ok(AuditRecord {
        id,
        at,
        actor,
        event,
        workspace,
        subject,
        token_id,
        detail,
    })
}

/// The statement and parameters of a read, newest first.
pub(super) fn select<'q>(
    q: &'q AuditQuery,
    ws_key: &'q Option<String>,
) -> (String, Vec<Param<'q>>) {
    let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE 1 = 1");
    let mut params = Vec::new();
    let mut add = |clause: &str, p: Param<'q>, params: &mut Vec<Param<'q>>| {
        params.push(p);
        sql.push_str(&format!(" AND {clause} ?{}", params.len()));
    };
    if let Some(ws) = ws_key {
        add("ws_key =", Param::Text(ws), &mut params);
    }
    if let Some(t) = &q.token_id {
        add("token_id =", Param::Text(t), &mut params);
    }
    if let Some(e) = q.event {
        add("event =", Param::Text(e.as_str()), &mut params);
    }
    if let Some(s) = q.since {
        add("at >=", Param::Int(s), &mut params);
    }
    if let Some(b) = q.before_id {
        add("id <", Param::Int(b), &mut params);
    }
    let limit = q.limit.clamp(1, MAX_PAGE) as i64;
    params.push(Param::Int(limit));
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", params.len()));
    (sql, params)
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}
