//! Persistence behind one trait, so that callers (service, HTTP, CLI) never name a backend.
//!
//! Every method is a complete unit of work: it commits (durably) before it returns, which is what
//! lets the service answer "created" or "revoked" only once it is true on disk.

pub mod audit;
pub mod changes;
pub mod credentials;
pub mod notify;
pub mod page;
pub mod postgres;
mod rules;
pub mod sql;
pub mod sqlite;
pub mod webhooks;

pub use audit::{Actor, AuditEvent, AuditQuery, AuditRecord, MAX_PAGE as MAX_AUDIT_PAGE};
pub use credentials::{CredentialRecord, NewCredential, Role};
pub use page::{After, Page, PageRequest};
pub use rules::SqlStore;
pub use webhooks::{WebhookEvent, WebhookStore};

use crate::token::SecretHash;
use serde::Serialize;

/// Where the store lives, as `--db` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbTarget {
    /// An embedded SQLite file: a path, or `sqlite://PATH`.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database shared by several hosts: `postgres://` or `postgresql://`.
    Postgres(String),
}

impl DbTarget {
    pub fn parse(s: &str) -> DbTarget {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            DbTarget::Postgres(s.to_string())
        } else if let Some(path) = s.strip_prefix("sqlite://") {
            DbTarget::Sqlite(path.into())
        } else {
            DbTarget::Sqlite(s.into())
        }
    }

    /// Opens (and migrates) the store; fails at once if its database does not answer.
    pub fn open(&self) -> StoreResult<std::sync::Arc<dyn Store>> {
        self.open_waiting(Some(std::time::Duration::ZERO))
    }

    /// Opens (and migrates) the store, waiting while a shared database does not answer, for
    /// `wait` or (`None`) until it does: a service started before its database serves once
    /// the database is up. An embedded file never waits.
    pub fn open_waiting(
        &self,
        wait: Option<std::time::Duration>,
    ) -> StoreResult<std::sync::Arc<dyn Store>> {
        Ok(match self {
            DbTarget::Sqlite(path) => std::sync::Arc::new(sqlite::SqliteStore::open(path)?),
            DbTarget::Postgres(url) => {
                std::sync::Arc::new(postgres::PostgresStore::open_waiting(url, wait)?)
            }
        })
    }
}

impl std::str::FromStr for DbTarget {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(DbTarget::parse(s))
    }
}

/// Printable without the database password.
impl std::fmt::Display for DbTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbTarget::Sqlite(path) => write!(f, "{}", path.display()),
            DbTarget::Postgres(url) => write!(f, "{}", postgres::redact(url)),
        }
    }
}

/// What a store method names when something it needs is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    Workspace,
    Project,
    Repository,
    Token,
    Webhook,
    Credential,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Workspace => "workspace",
            Entity::Project => "project",
            Entity::Repository => "repository",
            Entity::Token => "token",
            Entity::Webhook => "webhook",
            Entity::Credential => "credential",
        }
    }
}

/// A change refused because of what the store already holds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("project {project} still holds {repositories} repositories")]
    ProjectNotEmpty { project: String, repositories: i64 },
    #[error("{workspace} already has a repository {slug}")]
    RepositoryExists { workspace: String, slug: String },
}

impl Conflict {
    /// The stable reason code the API answers with.
    pub fn code(&self) -> &'static str {
        match self {
            Conflict::ProjectNotEmpty { .. } => "project_not_empty",
            Conflict::RepositoryExists { .. } => "repository_exists",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{} not found", .0.as_str())]
    NotFound(Entity),
    #[error(transparent)]
    Conflict(Conflict),
    /// The database answered with an error.
    #[error("store failure: {0}")]
    Backend(String),
    /// The store did not answer (unreachable, restarting): nothing was written; retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored row that cannot be read fully and exactly. Never read as something else: a
    /// check that meets it is denied.
    #[error("unreadable {table} row {key}: {detail}")]
    Corrupt {
        table: &'static str,
        key: String,
        detail: String,
    },
}

impl StoreError {
    /// The stable reason code the API answers with.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound(Entity::Workspace) => "workspace_not_found",
            StoreError::NotFound(Entity::Project) => "project_not_found",
            StoreError::NotFound(Entity::Repository) => "repository_not_found",
            StoreError::NotFound(Entity::Token) => "token_not_found",
            StoreError::NotFound(Entity::Webhook) => "webhook_not_found",
            StoreError::NotFound(Entity::Credential) => "credential_not_found",
            StoreError::Conflict(c) => c.code(),
            StoreError::Backend(_) => "store_failure",
            StoreError::Unavailable(_) => "store_unavailable",
            StoreError::Corrupt { .. } => "store_corrupt",
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Standard,
    Premium,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Standard => "standard",
            Plan::Premium => "premium",
        }
    }
    pub fn parse(s: &str) -> Option<Plan> {
        match s {
            "free" => Some(Plan::Free),
            "standard" => Some(Plan::Standard),
            "premium" => Some(Plan::Premium),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TokenPolicy {
    pub max_lifetime_days: u32,
    pub allow_no_expiry: bool,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy {
            max_lifetime_days: 365,
            allow_no_expiry: false,
        }
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Workspace {
    pub slug: String,
    pub plan: Plan,
    pub token_policy: TokenPolicy,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Project {
    pub workspace: String,
    pub key: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Repository {
    pub workspace: String,
    pub slug: String,
    pub project: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Repository,
    Project,
    Workspace,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Repository => "repository",
            TokenKind::Project => "project",
            TokenKind::Workspace => "workspace",
        }
    }
    pub fn parse(s: &str) -> Option<TokenKind> {
        match s {
            "repository" => Some(TokenKind::Repository),
            "project" => Some(TokenKind::Project),
            "workspace" => Some(TokenKind::Workspace),
            _ => None,
        }
    }
}

/// What a token is bound to, spelled as the store spells the resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    Workspace {
        workspace: String,
    },
    Project {
        workspace: String,
        project: String,
    },
    Repository {
        workspace: String,
        repository: String,
    },
}

impl Resource {
    pub fn kind(&self) -> TokenKind {
        match self {
            Resource::Workspace { .. } => TokenKind::Workspace,
            Resource::Project { .. } => TokenKind::Project,
            Resource::Repository { .. } => TokenKind::Repository,
        }
    }
    pub fn workspace(&self) -> &str {
        match self {
            Resource::Workspace { workspace }
            | Resource::Project { workspace, .. }
            | Resource::Repository { workspace, .. } => workspace,
        }
    }
}

/// A token as stored: claims and metadata, never the secret.
#[derive(Clone, Debug)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub resource: Resource,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub deactivated_at: Option<i64>,
    pub last_accessed_at: Option<i64>,
    /// The most recent distinct client addresses, newest first (at most [`LAST_USED_IPS`]).
    pub last_used_ips: Vec<UsedFrom>,
    pub rotated_from: Option<String>,
}

/// How many distinct client addresses a token's metadata keeps.
pub const LAST_USED_IPS: usize = 5;

/// A client address a token was used from, and when it was last seen there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UsedFrom {
    pub ip: String,
    pub at: i64,
}

/// Adds a use from `ip` at `at` to a token's most recent distinct addresses, newest first,
/// keeping at most [`LAST_USED_IPS`].
pub fn merge_used_from(ips: &mut Vec<UsedFrom>, ip: &str, at: i64) {
    if let Some(seen) = ips.iter_mut().find(|u| u.ip == ip) {
        seen.at = seen.at.max(at);
    } else {
        ips.push(UsedFrom {
            ip: ip.to_string(),
            at,
        });
    }
    ips.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.ip.cmp(&b.ip)));
    ips.truncate(LAST_USED_IPS);
}

/// A token's allowed checks since the last flush: the latest, and the addresses they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenUse {
    pub token_id: String,
    pub at: i64,
    pub from: Vec<UsedFrom>,
}

/// Denied checks of one token (or of no known token) for one reason, within one minute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denials {
    /// The start of the minute, Unix seconds.
    pub minute: i64,
    pub token_id: Option<String>,
    pub workspace: Option<String>,
    pub reason: String,
    pub count: u64,
}

impl TokenRecord {
    /// Revoked, or deactivated by the deletion of its resource: either way the policy sees `revoked`.
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some() || self.deactivated_at.is_some()
    }

    /// Where the token stands at `now`: a revocation outranks a deactivation, and either
    /// outranks an expiry, so each token has exactly one state.
    pub fn state(&self, now: i64) -> TokenState {
        if self.revoked_at.is_some() {
            TokenState::Revoked
        } else if self.deactivated_at.is_some() {
            TokenState::Deactivated
        } else if self.expires_at.is_some_and(|e| now >= e) {
            TokenState::Expired
        } else {
            TokenState::Active
        }
    }
}

impl TokenState {
    /// The SQL condition on a `tokens` row that holds exactly when [`TokenRecord::state`] at the
    /// time in parameter `now` (e.g. `?4`) is this state: the same rule, read by the database so
    /// that a filtered list pages over the tokens it selects, not over all of them. A test holds
    /// the two together for every state.
    pub fn sql_condition(self, now: &str) -> String {
        const LIVE: &str = "revoked_at IS NULL AND deactivated_at IS NULL";
        match self {
            TokenState::Revoked => "revoked_at IS NOT NULL".into(),
            TokenState::Deactivated => "revoked_at IS NULL AND deactivated_at IS NOT NULL".into(),
            TokenState::Expired => {
                format!("{LIVE} AND expires_at IS NOT NULL AND expires_at <= {now}")
            }
            TokenState::Active => format!("{LIVE} AND (expires_at IS NULL OR expires_at > {now})"),
        }
    }

    /// Whether [`TokenState::sql_condition`] reads `now`: a statement must not be handed a
    /// parameter it does not name.
    pub fn depends_on_time(self) -> bool {
        matches!(self, TokenState::Active | TokenState::Expired)
    }
}

/// A token's state as lists and `show` name it (and `token list --state` selects).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenState {
    /// Neither expired, revoked nor deactivated.
    Active,
    /// Past its expiry.
    Expired,
    /// Revoked (directly, or by a transfer of its repository to another workspace).
    Revoked,
    /// Deactivated by the deletion of its resource.
    Deactivated,
}

impl TokenState {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Active => "active",
            TokenState::Expired => "expired",
            TokenState::Revoked => "revoked",
            TokenState::Deactivated => "deactivated",
        }
    }
}

/// Which tokens a listing holds.
#[derive(Clone, Copy, Debug)]
pub enum TokenSelection<'a> {
    /// Every token of the workspace, whatever it is bound to.
    InWorkspace(&'a str),
    /// The tokens of exactly this resource: its kind, bound to it.
    Of(&'a Resource),
}

/// Receives everything that decides a check, read at one instant (`Store::check_state`): what
/// an edge needs to answer alone. The change counter comes first, then every token, then every
/// repository, handed over a page at a time so that neither the store nor the caller holds a
/// million-token estate as records at once.
pub trait CheckStateSink: Send {
    /// The change counter at that instant (see `Store::change_marker`).
    fn generation(&mut self, generation: i64);
    /// A stored token with the hash of its secret; revoked and expired ones come too, so that an
    /// edge names the same reason as the host.
    fn token(&mut self, hash: &SecretHash, token: &TokenRecord);
    fn repository(&mut self, repository: &Repository);
}

/// Everything `Store::check_state` hands over, collected (for a caller that wants it whole).
#[derive(Default)]
pub struct CheckState {
    pub generation: i64,
    pub tokens: Vec<(SecretHash, TokenRecord)>,
    pub repositories: Vec<Repository>,
}

impl CheckStateSink for CheckState {
    fn generation(&mut self, generation: i64) {
        self.generation = generation;
    }
    fn token(&mut self, hash: &SecretHash, token: &TokenRecord) {
        self.tokens.push((*hash, token.clone()));
    }
    fn repository(&mut self, repository: &Repository) {
        self.repositories.push(repository.clone());
    }
}

pub struct NewToken {
    pub id: String,
    pub hash: SecretHash,
    pub name: String,
    pub resource: Resource,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// A storage backend. Names (slugs, keys) are matched ASCII-case-insensitively by every method.
/// Webhooks are their own trait, so that `Arc<dyn Store>` has them too.
pub trait Store: WebhookStore + Send + Sync {
    /// Create or update; `true` when created.
    fn put_workspace(
        &self,
        slug: &str,
        plan: Plan,
        policy: TokenPolicy,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<(Workspace, bool)>;
    fn get_workspace(&self, slug: &str) -> StoreResult<Option<Workspace>>;
    /// In slug order.
    fn list_workspaces(&self, page: &PageRequest) -> StoreResult<Page<Workspace>>;
    /// Deletes the workspace with its projects and repositories; deactivates every token in it.
    fn delete_workspace(&self, slug: &str, now: i64, actor: &Actor) -> StoreResult<()>;

    fn put_project(
        &self,
        workspace: &str,
        key: &str,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<(Project, bool)>;
    fn get_project(&self, workspace: &str, key: &str) -> StoreResult<Option<Project>>;
    /// In key order.
    fn list_projects(&self, workspace: &str, page: &PageRequest) -> StoreResult<Page<Project>>;
    /// Conflict while the project holds repositories; deactivates its project tokens.
    fn delete_project(
        &self,
        workspace: &str,
        key: &str,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<()>;

    /// Create, or move to another project of the same workspace.
    fn put_repository(
        &self,
        workspace: &str,
        slug: &str,
        project: &str,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<(Repository, bool)>;
    fn get_repository(&self, workspace: &str, slug: &str) -> StoreResult<Option<Repository>>;
    /// In slug order; only those of `project` when given.
    fn list_repositories(
        &self,
        workspace: &str,
        project: Option<&str>,
        page: &PageRequest,
    ) -> StoreResult<Page<Repository>>;
    /// Deactivates the repository's tokens.
    fn delete_repository(
        &self,
        workspace: &str,
        slug: &str,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<()>;
    /// Into another workspace: revokes the repository's tokens.
    fn transfer_repository(
        &self,
        workspace: &str,
        slug: &str,
        to_workspace: &str,
        to_project: &str,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<Repository>;

    fn insert_token(&self, token: NewToken, actor: &Actor) -> StoreResult<TokenRecord>;
    /// A page of the selected tokens, in `order` (`OldestFirst`, or `page::NEWEST_TOKENS`); with
    /// `state`, only the tokens in that state at that time.
    fn list_tokens(
        &self,
        selection: TokenSelection<'_>,
        state: Option<(TokenState, i64)>,
        order: page::Order,
        page: &PageRequest,
    ) -> StoreResult<Page<TokenRecord>>;
    fn get_token(&self, id: &str) -> StoreResult<Option<TokenRecord>>;
    fn token_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>>;
    /// Idempotent; NotFound for an unknown id.
    fn revoke_token(&self, id: &str, now: i64, actor: &Actor) -> StoreResult<TokenRecord>;
    /// Revokes each of `ids` still unrevoked, in one transaction (unknown ids are passed
    /// over); how many this call revoked.
    fn revoke_tokens(&self, ids: &[String], now: i64, actor: &Actor) -> StoreResult<usize>;
    /// Insert the successor and shorten the predecessor's expiry, atomically.
    fn rotate_token(
        &self,
        old_id: &str,
        old_expires_at: Option<i64>,
        new: NewToken,
        actor: &Actor,
    ) -> StoreResult<TokenRecord>;
    /// Usage: `last_accessed_at` and `last_used_ips` from a batch of allowed checks.
    fn record_access(&self, uses: &[TokenUse]) -> StoreResult<()>;
    /// Denied checks, as `check.denied` audit entries.
    fn record_denials(&self, denials: &[Denials]) -> StoreResult<()>;

    fn insert_credential(
        &self,
        credential: NewCredential,
        actor: &Actor,
    ) -> StoreResult<CredentialRecord>;
    fn credential_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<CredentialRecord>>;
    fn get_credential(&self, id: &str) -> StoreResult<Option<CredentialRecord>>;
    /// The credentials, revoked ones included, oldest first.
    fn list_credentials(&self, page: &PageRequest) -> StoreResult<Page<CredentialRecord>>;
    /// Idempotent; NotFound for an unknown id.
    fn revoke_credential(&self, id: &str, now: i64, actor: &Actor)
        -> StoreResult<CredentialRecord>;

    /// Audit entries, newest first.
    fn audit(&self, query: &AuditQuery) -> StoreResult<Vec<AuditRecord>>;

    /// Changes whenever anyone (another process included) commits; lets a long-running server
    /// notice writes made by the CLI.
    fn change_marker(&self) -> StoreResult<i64>;

    /// What changed after generation `since`, from the change log, read at one instant (with
    /// `None`, only the generation).
    fn changes_since(&self, since: Option<i64>) -> StoreResult<changes::ChangesSince>;

    /// Tokens, repositories and the change counter from one consistent read, into `sink`.
    fn check_state(&self, sink: &mut dyn CheckStateSink) -> StoreResult<()>;
}

#[cfg(test)]
mod tests {
    use super::DbTarget;

    #[test]
    fn db_targets_by_scheme() {
        assert_eq!(
            DbTarget::parse("postgres://u:p@h/db"),
            DbTarget::Postgres("postgres://u:p@h/db".into())
        );
        assert_eq!(
            DbTarget::parse("postgresql://h/db"),
            DbTarget::Postgres("postgresql://h/db".into())
        );
        assert_eq!(
            DbTarget::parse("sqlite:///var/lib/sg.db"),
            DbTarget::Sqlite("/var/lib/sg.db".into())
        );
        assert_eq!(
            DbTarget::parse("./scopegate.db"),
            DbTarget::Sqlite("./scopegate.db".into())
        );
        assert_eq!(
            DbTarget::parse("postgres://u:p@h/db").to_string(),
            "postgres://u:***@h/db"
        );
    }
}
