//! The store's rules, once for every backend: what each method reads and writes, in which
//! transaction, and how a row becomes a value. Deleting a resource deactivates its tokens; a
//! transfer to another workspace revokes them; a project holding repositories can't be deleted.
//!
//! Rows are read exactly: a token whose kind, bound resource, scopes or hash can't be read is
//! [`StoreError::Corrupt`], never a guess (a damaged repository token read as a workspace token
//! would reach its whole workspace).

use super::audit::{self, Entry};
use super::changes::{self, Changed, ChangedRepository, ChangedToken, ChangesSince};
use super::credentials::{credential_from, CREDENTIAL_COLUMNS};
use super::page::Order;
use super::sql::{corrupt, Backend, Cells, Param, Tx, Write};
use super::webhooks::{self, WebhookEvent};
use super::*;
use serde_json::json;
use std::collections::HashMap;

impl<B: Backend> SqlStore<B> {
    /// The rows of `sql` (ending in its `WHERE` clause) that make up `page` in `order`, with
    /// one more when another page follows (see `Order::page`).
    fn paged<'a, T: Send>(
        &self,
        sql: &mut String,
        mut params: Vec<Param<'a>>,
        order: Order,
        page: &'a PageRequest,
        from: impl Fn(Cells) -> StoreResult<T> + Send,
    ) -> StoreResult<Vec<T>> {
        order.continue_sql(sql, &mut params, page);
        self.backend
            .read(|tx| tx.query(sql, &params)?.into_iter().map(from).collect())
    }
}

/// The store over one backend. `SqliteStore` and `PostgresStore` are this with their backend.
pub struct SqlStore<B> {
    pub(super) backend: B,
}

fn key(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// Tokens one statement of `record_access` reads or writes: a few round trips for a busy host's
/// whole batch, and parameters far under both databases' limits.
const ACCESS_CHUNK: usize = 512;

/// `f(first)`, …, `f(first + count - 1)`, comma-separated: a statement's numbered placeholders.
fn numbered(first: usize, count: usize, f: impl Fn(usize) -> String) -> String {
    (first..first + count).map(f).collect::<Vec<_>>().join(", ")
}

/// A statement's rows padded to a power of two by repeating the last (which reads or writes the
/// same row again, with the same values), so that statements of a handful of sizes are
/// prepared and cached, not one for every length a batch ends in.
fn padded<T: Clone>(mut rows: Vec<T>) -> Vec<T> {
    if let Some(last) = rows.last().cloned() {
        rows.resize(rows.len().next_power_of_two(), last);
    }
    rows
}

/// Tokens a page of [`Store::check_state`]'s read: small enough that one answer of the database
/// stays far inside its deadline on a busy machine, large enough that a million tokens take a
/// hundred queries.
const CHECK_STATE_PAGE: usize = 10_000;

const WORKSPACE_COLUMNS: &str = "slug, plan, max_lifetime_days, allow_no_expiry";

const PROJECT_SELECT: &str =
    "SELECT w.slug, p.key FROM projects p JOIN workspaces w ON w.slug_key = p.ws_key";

const REPOSITORY_SELECT: &str = "SELECT w.slug, r.slug, p.key FROM repositories r
     JOIN workspaces w ON w.slug_key = r.ws_key
     JOIN projects p ON p.ws_key = r.ws_key AND p.key_key = r.project_key";

pub(super) const TOKEN_COLUMNS: &str =
    "id, name, kind, workspace, bound, scopes, created_at, expires_at, \
     revoked_at, deactivated_at, last_accessed_at, last_used_ips, rotated_from";

fn workspace_from(mut r: Cells) -> StoreResult<Workspace> {
    let slug = r.text("slug").map_err(|e| corrupt("workspaces", "?", e))?;
    let bad = |e: String| corrupt("workspaces", &slug, e);
    let plan = r.text("plan").map_err(bad)?;
    let plan = Plan::parse(&plan).ok_or_else(|| bad(format!("plan {plan:?} is not a plan")))?;
    let days = r.int("max_lifetime_days").map_err(bad)?;
    let max_lifetime_days = u32::try_from(days)
        .map_err(|_| bad(format!("max_lifetime_days {days} is out of range")))?;
    let allow_no_expiry = r.bool("allow_no_expiry").map_err(bad)?;
    Ok(Workspace {
        slug: slug.clone(),
        plan,
        token_policy: TokenPolicy {
            max_lifetime_days,
            allow_no_expiry,
        },
    })
}

fn project_from(mut r: Cells) -> StoreResult<Project> {
    let bad = |e| corrupt("projects", "?", e);
    Ok(Project {
        workspace: r.text("workspace").map_err(bad)?,
        key: r.text("key").map_err(bad)?,
    })
}

fn repository_from(mut r: Cells) -> StoreResult<Repository> {
    let bad = |e| corrupt("repositories", "?", e);
    Ok(Repository {
        workspace: r.text("workspace").map_err(bad)?,
        slug: r.text("slug").map_err(bad)?,
        project: r.text("project").map_err(bad)?,
    })
}

/// A token row, read exactly: a kind of the set, a bound resource exactly for project and
/// repository tokens, scopes a non-empty JSON array of strings.
pub(super) fn token_from(r: &mut Cells) -> StoreResult<TokenRecord> {
    let id = r.text("id").map_err(|e| corrupt("tokens", "?", e))?;
    let bad = |e: String| corrupt("tokens", &id, e);
    let name = r.text("name").map_err(bad)?;
    let kind = r.text("kind").map_err(bad)?;
    let workspace = r.text("workspace").map_err(bad)?;
    let bound = r.nullable_text("bound").map_err(bad)?;
    let resource = match (TokenKind::parse(&kind), bound) {
        (Some(TokenKind::Workspace), None) => Resource::Workspace { workspace },
        (Some(TokenKind::Project), Some(project)) => Resource::Project { workspace, project },
        (Some(TokenKind::Repository), Some(repository)) => Resource::Repository {
            workspace,
            repository,
        },
        (None, _) => return Err(bad(format!("kind {kind:?} is not a token kind"))),
        (Some(TokenKind::Workspace), Some(_)) => {
            return Err(bad("a workspace token is bound to a resource".into()))
        }
        (Some(_), None) => return Err(bad(format!("a {kind} token names no {kind}"))),
    };
    let scopes = r.text("scopes").map_err(bad)?;
    let scopes: Vec<String> = serde_json::from_str(&scopes)
        .map_err(|e| bad(format!("scopes are not a JSON array of strings: {e}")))?;
    if scopes.is_empty() || scopes.iter().any(|s| s.is_empty()) {
        return Err(bad("scopes are empty".into()));
    }
    Ok(TokenRecord {
        name,
        resource,
        scopes,
        created_at: r.int("created_at").map_err(bad)?,
        expires_at: r.nullable_int("expires_at").map_err(bad)?,
        revoked_at: r.nullable_int("revoked_at").map_err(bad)?,
        deactivated_at: r.nullable_int("deactivated_at").map_err(bad)?,
        last_accessed_at: r.nullable_int("last_accessed_at").map_err(bad)?,
        last_used_ips: match r.nullable_text("last_used_ips").map_err(bad)? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| bad(format!("last_used_ips is not a list of addresses: {e}")))?,
            None => Vec::new(),
        },
        rotated_from: r.nullable_text("rotated_from").map_err(bad)?,
        id,
    })
}

fn token_row(mut r: Cells) -> StoreResult<TokenRecord> {
    token_from(&mut r)
}

fn hash_from(r: &mut Cells, id: &str) -> StoreResult<SecretHash> {
    let hash = r.blob("hash").map_err(|e| corrupt("tokens", id, e))?;
    hash.try_into()
        .map_err(|h: Vec<u8>| corrupt("tokens", id, format!("hash has {} bytes, not 32", h.len())))
}

fn get_workspace(tx: &mut dyn Tx, slug: &str) -> StoreResult<Option<Workspace>> {
    tx.query_opt(
        &format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE slug_key = ?1"),
        &[Param::Text(&key(slug))],
    )?
    .map(workspace_from)
    .transpose()
}

fn get_project(tx: &mut dyn Tx, ws: &str, k: &str) -> StoreResult<Option<Project>> {
    tx.query_opt(
        &format!("{PROJECT_SELECT} WHERE p.ws_key = ?1 AND p.key_key = ?2"),
        &[Param::Text(&key(ws)), Param::Text(&key(k))],
    )?
    .map(project_from)
    .transpose()
}

fn get_repository(tx: &mut dyn Tx, ws: &str, slug: &str) -> StoreResult<Option<Repository>> {
    tx.query_opt(
        &format!("{REPOSITORY_SELECT} WHERE r.ws_key = ?1 AND r.slug_key = ?2"),
        &[Param::Text(&key(ws)), Param::Text(&key(slug))],
    )?
    .map(repository_from)
    .transpose()
}

fn get_token(tx: &mut dyn Tx, id: &str) -> StoreResult<Option<TokenRecord>> {
    tx.query_opt(
        &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"),
        &[Param::Text(id)],
    )?
    .map(token_row)
    .transpose()
}

/// A query answering one integer (a count, the change counter).
fn count(tx: &mut dyn Tx, sql: &str, params: &[Param<'_>]) -> StoreResult<i64> {
    let mut row = tx
        .query_opt(sql, params)?
        .ok_or_else(|| StoreError::Backend(format!("no row from {sql}")))?;
    row.int("value").map_err(StoreError::Backend)
}

fn get_credential(tx: &mut dyn Tx, id: &str) -> StoreResult<Option<CredentialRecord>> {
    tx.query_opt(
        &format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = ?1"),
        &[Param::Text(id)],
    )?
    .map(credential_from)
    .transpose()
}

fn record_credential(
    tx: &mut dyn Tx,
    actor: &Actor,
    event: AuditEvent,
    c: &CredentialRecord,
    at: i64,
) -> StoreResult<()> {
    audit::record(
        tx,
        &Entry {
            at,
            actor,
            event,
            workspace: c.workspace.as_deref(),
            subject: Some(format!("credential:{}", c.id)),
            token_id: None,
            detail: json!({"name": c.name, "role": c.role.as_str(), "expires_at": c.expires_at}),
        },
    )
}

/// Revokes token `id` in the caller's transaction; whether this call revoked it. Revoking
/// again changes nothing, so only the first revocation is recorded (and sent).
fn revoke_in(
    tx: &mut dyn Tx,
    id: &str,
    now: i64,
    actor: &Actor,
) -> StoreResult<(TokenRecord, bool)> {
    let revoked = tx.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        &[Param::Text(id), Param::Int(now)],
    )? > 0;
    let t = require(get_token(tx, id)?, Entity::Token)?;
    if revoked {
        tx.changed(Changed::Token(t.id.clone()))?;
        let (event, hook) = match actor {
            Actor::LeakReport => (AuditEvent::TokenLeaked, WebhookEvent::TokenLeaked),
            _ => (AuditEvent::TokenRevoked, WebhookEvent::TokenRevoked),
        };
        record_token(tx, actor, event, &t, now, token_detail(&t))?;
        webhooks::enqueue(tx, hook, &t, now)?;
    }
    Ok((t, revoked))
}

/// A repository's entry in the change log, by its keys.
fn repository_changed(ws: &str, slug: &str) -> Changed {
    Changed::Repository {
        workspace: key(ws),
        slug: key(slug),
    }
}

fn require<T>(found: Option<T>, what: Entity) -> StoreResult<T> {
    found.ok_or(StoreError::NotFound(what))
}

/// What the audit log says about a token: everything but its secret and hash.
fn token_detail(t: &TokenRecord) -> serde_json::Value {
    let mut d = json!({"name": t.name, "kind": t.resource.kind().as_str(), "scopes": t.scopes,
                       "expires_at": t.expires_at});
    match &t.resource {
        Resource::Project { project, .. } => d["project"] = json!(project),
        Resource::Repository { repository, .. } => d["repository"] = json!(repository),
        Resource::Workspace { .. } => {}
    }
    d
}

/// Records `event` about token `t`.
fn record_token(
    tx: &mut dyn Tx,
    actor: &Actor,
    event: AuditEvent,
    t: &TokenRecord,
    at: i64,
    detail: serde_json::Value,
) -> StoreResult<()> {
    audit::record(
        tx,
        &Entry {
            at,
            actor,
            event,
            workspace: Some(t.resource.workspace()),
            subject: Some(format!("token:{}", t.id)),
            token_id: Some(&t.id),
            detail,
        },
    )
}

/// Records a change of a resource (not of a token).
fn record_resource(
    tx: &mut dyn Tx,
    actor: &Actor,
    event: AuditEvent,
    workspace: &str,
    subject: String,
    at: i64,
    detail: serde_json::Value,
) -> StoreResult<()> {
    audit::record(
        tx,
        &Entry {
            at,
            actor,
            event,
            workspace: Some(workspace),
            subject: Some(subject),
            token_id: None,
            detail,
        },
    )
}

/// The tokens matching `filter` (a `WHERE` clause over `tokens`) that are neither revoked nor
/// deactivated: those a deletion or a transfer is about to end, read before it does.
fn live_tokens(
    tx: &mut dyn Tx,
    filter: &str,
    params: &[Param<'_>],
) -> StoreResult<Vec<TokenRecord>> {
    tx.query(
        &format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE {filter}
             AND revoked_at IS NULL AND deactivated_at IS NULL ORDER BY id"
        ),
        params,
    )?
    .into_iter()
    .map(token_row)
    .collect()
}

/// Records each token of `ended` as ended by `cause` (a deletion or a transfer), in the audit
/// log and the change log.
fn record_ended(
    tx: &mut dyn Tx,
    actor: &Actor,
    event: AuditEvent,
    ended: &[TokenRecord],
    cause: AuditEvent,
    at: i64,
) -> StoreResult<()> {
    for t in ended {
        let mut detail = token_detail(t);
        detail["cause"] = json!(cause.as_str());
        record_token(tx, actor, event, t, at, detail)?;
        tx.changed(Changed::Token(t.id.clone()))?;
    }
    Ok(())
}

/// The keys a token's resource is stored under: workspace, kind, bound resource.
fn resource_keys(r: &Resource) -> (String, &'static str, Option<String>) {
    match r {
        Resource::Workspace { workspace } => (key(workspace), "workspace", None),
        Resource::Project { workspace, project } => (key(workspace), "project", Some(key(project))),
        Resource::Repository {
            workspace,
            repository,
        } => (key(workspace), "repository", Some(key(repository))),
    }
}

fn insert_token(tx: &mut dyn Tx, t: &NewToken) -> StoreResult<TokenRecord> {
    let (ws_key, kind, bound_key) = resource_keys(&t.resource);
    let bound = match &t.resource {
        Resource::Workspace { .. } => None,
        Resource::Project { project, .. } => Some(project.as_str()),
        Resource::Repository { repository, .. } => Some(repository.as_str()),
    };
    let scopes =
        serde_json::to_string(&t.scopes).map_err(|e| StoreError::Backend(e.to_string()))?;
    tx.execute(
        "INSERT INTO tokens (id, hash, name, kind, workspace, ws_key, bound, bound_key, scopes,
                             created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        &[
            Param::Text(&t.id),
            Param::Blob(&t.hash[..]),
            Param::Text(&t.name),
            Param::Text(kind),
            Param::Text(t.resource.workspace()),
            Param::Text(&ws_key),
            Param::NullableText(bound),
            Param::NullableText(bound_key.as_deref()),
            Param::Text(&scopes),
            Param::Int(t.created_at),
            Param::NullableInt(t.expires_at),
        ],
    )?;
    require(get_token(tx, &t.id)?, Entity::Token)
}

impl<B: Backend> Store for SqlStore<B> {
    fn put_workspace(
        &self,
        slug: &str,
        plan: Plan,
        policy: TokenPolicy,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<(Workspace, bool)> {
        self.backend.write(Write::Change, |tx| {
            let existed = get_workspace(tx, slug)?.is_some();
            tx.execute(
                "INSERT INTO workspaces
                   (slug_key, slug, plan, max_lifetime_days, allow_no_expiry, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (slug_key) DO UPDATE SET plan = excluded.plan,
                   max_lifetime_days = excluded.max_lifetime_days,
                   allow_no_expiry = excluded.allow_no_expiry",
                &[
                    Param::Text(&key(slug)),
                    Param::Text(slug),
                    Param::Text(plan.as_str()),
                    Param::Int(i64::from(policy.max_lifetime_days)),
                    Param::Bool(policy.allow_no_expiry),
                    Param::Int(now),
                ],
            )?;
            let ws = require(get_workspace(tx, slug)?, Entity::Workspace)?;
            record_resource(
                tx,
                actor,
                AuditEvent::WorkspacePut,
                &ws.slug,
                format!("workspace:{}", ws.slug),
                now,
                json!({"created": !existed, "plan": ws.plan.as_str(),
                       "max_lifetime_days": ws.token_policy.max_lifetime_days,
                       "allow_no_expiry": ws.token_policy.allow_no_expiry}),
            )?;
            Ok((ws, !existed))
        })
    }

    fn get_workspace(&self, slug: &str) -> StoreResult<Option<Workspace>> {
        self.backend.read(|tx| get_workspace(tx, slug))
    }

    fn list_workspaces(&self, page: &PageRequest) -> StoreResult<Page<Workspace>> {
        let mut sql = format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE TRUE");
        let rows = self.paged(
            &mut sql,
            vec![],
            Order::Key("slug_key"),
            page,
            workspace_from,
        )?;
        Ok(Page::of(rows, page.limit, |w| After::Key(key(&w.slug))))
    }

    fn delete_workspace(&self, slug: &str, now: i64, actor: &Actor) -> StoreResult<()> {
        self.backend.write(Write::Change, |tx| {
            let k = key(slug);
            let ws = require(get_workspace(tx, slug)?, Entity::Workspace)?;
            let ended = live_tokens(tx, "ws_key = ?1", &[Param::Text(&k)])?;
            let repositories = tx.query(
                "SELECT slug_key FROM repositories WHERE ws_key = ?1",
                &[Param::Text(&k)],
            )?;
            for mut r in repositories {
                let slug = r.text("slug_key").map_err(|e| corrupt("repositories", &k, e))?;
                tx.changed(repository_changed(&k, &slug))?;
            }
            // Children first: the schema's foreign keys hold at every statement. An unknown
            // workspace deletes nothing, and the error rolls the transaction back.
            tx.execute(
                "DELETE FROM repositories WHERE ws_key = ?1",
                &[Param::Text(&k)],
            )?;
            tx.execute("DELETE FROM webhooks WHERE ws_key = ?1", &[Param::Text(&k)])?;
            tx.execute("DELETE FROM projects WHERE ws_key = ?1", &[Param::Text(&k)])?;
            let n = tx.execute(
                "DELETE FROM workspaces WHERE slug_key = ?1",
                &[Param::Text(&k)],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(Entity::Workspace));
            }
            tx.execute(
                "UPDATE tokens SET deactivated_at = ?2 WHERE ws_key = ?1 AND deactivated_at IS NULL",
                &[Param::Text(&k), Param::Int(now)],
            )?;
            let event = AuditEvent::WorkspaceDeleted;
            let subject = format!("workspace:{}", ws.slug);
            record_resource(tx, actor, event, &ws.slug, subject, now, json!({}))?;
            record_ended(tx, actor, AuditEvent::TokenDeactivated, &ended, event, now)
        })
    }

    fn put_project(
        &self,
        ws: &str,
        k: &str,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<(Project, bool)> {
        self.backend.write(Write::Change, |tx| {
            require(get_workspace(tx, ws)?, Entity::Workspace)?;
            if let Some(p) = get_project(tx, ws, k)? {
                return Ok((p, false));
            }
            tx.execute(
                "INSERT INTO projects (ws_key, key_key, key, created_at) VALUES (?1, ?2, ?3, ?4)",
                &[
                    Param::Text(&key(ws)),
                    Param::Text(&key(k)),
                    Param::Text(k),
                    Param::Int(now),
                ],
            )?;
            let p = require(get_project(tx, ws, k)?, Entity::Project)?;
            let subject = format!("project:{}/{}", p.workspace, p.key);
            let (event, w) = (AuditEvent::ProjectPut, p.workspace.clone());
            record_resource(tx, actor, event, &w, subject, now, json!({"created": true}))?;
            Ok((p, true))
        })
    }

    fn get_project(&self, ws: &str, k: &str) -> StoreResult<Option<Project>> {
        self.backend.read(|tx| get_project(tx, ws, k))
    }

    fn list_projects(&self, ws: &str, page: &PageRequest) -> StoreResult<Page<Project>> {
        let ws = key(ws);
        let mut sql = format!("{PROJECT_SELECT} WHERE p.ws_key = ?1");
        let params = vec![Param::Text(&ws)];
        let rows = self.paged(
            &mut sql,
            params,
            Order::Key("p.key_key"),
            page,
            project_from,
        )?;
        Ok(Page::of(rows, page.limit, |p| After::Key(key(&p.key))))
    }

    fn delete_project(&self, ws: &str, k: &str, now: i64, actor: &Actor) -> StoreResult<()> {
        self.backend.write(Write::Change, |tx| {
            let p = require(get_project(tx, ws, k)?, Entity::Project)?;
            let keys = [Param::Text(&key(ws)), Param::Text(&key(k))];
            let repositories = count(
                tx,
                "SELECT count(*) FROM repositories WHERE ws_key = ?1 AND project_key = ?2",
                &keys,
            )?;
            if repositories > 0 {
                return Err(StoreError::Conflict(Conflict::ProjectNotEmpty {
                    project: k.to_string(),
                    repositories,
                }));
            }
            tx.execute(
                "DELETE FROM projects WHERE ws_key = ?1 AND key_key = ?2",
                &keys,
            )?;
            let ended = live_tokens(
                tx,
                "ws_key = ?1 AND kind = 'project' AND bound_key = ?2",
                &keys,
            )?;
            tx.execute(
                "UPDATE tokens SET deactivated_at = ?3 WHERE ws_key = ?1 AND kind = 'project'
                   AND bound_key = ?2 AND deactivated_at IS NULL",
                &[keys[0], keys[1], Param::Int(now)],
            )?;
            let event = AuditEvent::ProjectDeleted;
            let subject = format!("project:{}/{}", p.workspace, p.key);
            record_resource(tx, actor, event, &p.workspace, subject, now, json!({}))?;
            record_ended(tx, actor, AuditEvent::TokenDeactivated, &ended, event, now)
        })
    }

    fn put_repository(
        &self,
        ws: &str,
        slug: &str,
        project: &str,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<(Repository, bool)> {
        self.backend.write(Write::Change, |tx| {
            require(get_workspace(tx, ws)?, Entity::Workspace)?;
            require(get_project(tx, ws, project)?, Entity::Project)?;
            let before = get_repository(tx, ws, slug)?;
            let existed = before.is_some();
            tx.execute(
                "INSERT INTO repositories (ws_key, slug_key, slug, project_key, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (ws_key, slug_key) DO UPDATE SET project_key = excluded.project_key",
                &[
                    Param::Text(&key(ws)),
                    Param::Text(&key(slug)),
                    Param::Text(slug),
                    Param::Text(&key(project)),
                    Param::Int(now),
                ],
            )?;
            let r = require(get_repository(tx, ws, slug)?, Entity::Repository)?;
            let subject = format!("repository:{}/{}", r.workspace, r.slug);
            if before
                .as_ref()
                .is_none_or(|b| key(&b.project) != key(&r.project))
            {
                tx.changed(repository_changed(ws, slug))?;
            }
            match before {
                None => record_resource(
                    tx,
                    actor,
                    AuditEvent::RepositoryPut,
                    &r.workspace,
                    subject,
                    now,
                    json!({"created": true, "project": r.project}),
                )?,
                Some(b) if key(&b.project) != key(&r.project) => record_resource(
                    tx,
                    actor,
                    AuditEvent::RepositoryMoved,
                    &r.workspace,
                    subject,
                    now,
                    json!({"from_project": b.project, "to_project": r.project}),
                )?,
                // The same project again changes nothing, so there is nothing to record.
                Some(_) => {}
            }
            Ok((r, !existed))
        })
    }

    fn get_repository(&self, ws: &str, slug: &str) -> StoreResult<Option<Repository>> {
        self.backend.read(|tx| get_repository(tx, ws, slug))
    }

    fn list_repositories(
        &self,
        ws: &str,
        project: Option<&str>,
        page: &PageRequest,
    ) -> StoreResult<Page<Repository>> {
        let (ws, project) = (key(ws), project.map(key));
        let mut sql = format!("{REPOSITORY_SELECT} WHERE r.ws_key = ?1");
        let mut params = vec![Param::Text(&ws)];
        if let Some(p) = &project {
            sql.push_str(" AND r.project_key = ?2");
            params.push(Param::Text(p));
        }
        let rows = self.paged(
            &mut sql,
            params,
            Order::Key("r.slug_key"),
            page,
            repository_from,
        )?;
        Ok(Page::of(rows, page.limit, |r| After::Key(key(&r.slug))))
    }

    fn delete_repository(&self, ws: &str, slug: &str, now: i64, actor: &Actor) -> StoreResult<()> {
        self.backend.write(Write::Change, |tx| {
            let r = require(get_repository(tx, ws, slug)?, Entity::Repository)?;
            let keys = [Param::Text(&key(ws)), Param::Text(&key(slug))];
            let ended = live_tokens(
                tx,
                "ws_key = ?1 AND kind = 'repository' AND bound_key = ?2",
                &keys,
            )?;
            let n = tx.execute(
                "DELETE FROM repositories WHERE ws_key = ?1 AND slug_key = ?2",
                &keys,
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(Entity::Repository));
            }
            tx.changed(repository_changed(ws, slug))?;
            tx.execute(
                "UPDATE tokens SET deactivated_at = ?3 WHERE ws_key = ?1 AND kind = 'repository'
                   AND bound_key = ?2 AND deactivated_at IS NULL",
                &[keys[0], keys[1], Param::Int(now)],
            )?;
            let event = AuditEvent::RepositoryDeleted;
            let subject = format!("repository:{}/{}", r.workspace, r.slug);
            let detail = json!({"project": r.project});
            record_resource(tx, actor, event, &r.workspace, subject, now, detail)?;
            record_ended(tx, actor, AuditEvent::TokenDeactivated, &ended, event, now)
        })
    }

    fn transfer_repository(
        &self,
        ws: &str,
        slug: &str,
        to_ws: &str,
        to_project: &str,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<Repository> {
        self.backend.write(Write::Change, |tx| {
            let from = require(get_repository(tx, ws, slug)?, Entity::Repository)?;
            require(get_workspace(tx, to_ws)?, Entity::Workspace)?;
            require(get_project(tx, to_ws, to_project)?, Entity::Project)?;
            let same_workspace = key(ws) == key(to_ws);
            if !same_workspace && get_repository(tx, to_ws, slug)?.is_some() {
                return Err(StoreError::Conflict(Conflict::RepositoryExists {
                    workspace: to_ws.to_string(),
                    slug: slug.to_string(),
                }));
            }
            let (ws_key, slug_key) = (key(ws), key(slug));
            tx.execute(
                "UPDATE repositories SET ws_key = ?3, project_key = ?4
                 WHERE ws_key = ?1 AND slug_key = ?2",
                &[
                    Param::Text(&ws_key),
                    Param::Text(&slug_key),
                    Param::Text(&key(to_ws)),
                    Param::Text(&key(to_project)),
                ],
            )?;
            let mut ended = Vec::new();
            if !same_workspace {
                ended = live_tokens(
                    tx,
                    "ws_key = ?1 AND kind = 'repository' AND bound_key = ?2",
                    &[Param::Text(&ws_key), Param::Text(&slug_key)],
                )?;
                tx.execute(
                    "UPDATE tokens SET revoked_at = ?3 WHERE ws_key = ?1 AND kind = 'repository'
                       AND bound_key = ?2 AND revoked_at IS NULL",
                    &[
                        Param::Text(&ws_key),
                        Param::Text(&slug_key),
                        Param::Int(now),
                    ],
                )?;
            }
            let to = require(get_repository(tx, to_ws, slug)?, Entity::Repository)?;
            tx.changed(repository_changed(ws, slug))?;
            if !same_workspace {
                tx.changed(repository_changed(to_ws, slug))?;
            }
            let event = AuditEvent::RepositoryTransferred;
            let detail = json!({"from_workspace": from.workspace, "from_project": from.project,
                                "to_workspace": to.workspace, "to_project": to.project});
            // Recorded in both workspaces, so that each one's log tells its side of the move.
            let subject = format!("repository:{}/{}", from.workspace, from.slug);
            record_resource(
                tx,
                actor,
                event,
                &from.workspace,
                subject,
                now,
                detail.clone(),
            )?;
            if !same_workspace {
                let subject = format!("repository:{}/{}", to.workspace, to.slug);
                record_resource(tx, actor, event, &to.workspace, subject, now, detail)?;
            }
            record_ended(tx, actor, AuditEvent::TokenRevoked, &ended, event, now)?;
            for t in &ended {
                // Read again: the webhook's body shows the token revoked, as it now is.
                let t = require(get_token(tx, &t.id)?, Entity::Token)?;
                webhooks::enqueue(tx, WebhookEvent::TokenRevoked, &t, now)?;
            }
            Ok(to)
        })
    }

    fn insert_token(&self, token: NewToken, actor: &Actor) -> StoreResult<TokenRecord> {
        self.backend.write(Write::Change, |tx| {
            let t = insert_token(tx, &token)?;
            tx.changed(Changed::TokenAdded(t.id.clone()))?;
            let detail = token_detail(&t);
            record_token(
                tx,
                actor,
                AuditEvent::TokenCreated,
                &t,
                t.created_at,
                detail,
            )?;
            Ok(t)
        })
    }

    fn list_tokens(
        &self,
        selection: TokenSelection<'_>,
        state: Option<(TokenState, i64)>,
        order: Order,
        page: &PageRequest,
    ) -> StoreResult<Page<TokenRecord>> {
        let (ws, kind, bound) = match selection {
            TokenSelection::InWorkspace(workspace) => (key(workspace), None, None),
            TokenSelection::Of(resource) => {
                let (ws, kind, bound) = resource_keys(resource);
                (ws, Some(kind), Some(bound.unwrap_or_default()))
            }
        };
        let mut params = vec![Param::Text(&ws)];
        let mut sql = format!(
            "SELECT {TOKEN_COLUMNS}, {} FROM tokens WHERE ws_key = ?1",
            B::TOKEN_SEQ
        );
        if let (Some(kind), Some(bound)) = (kind, &bound) {
            sql.push_str(" AND kind = ?2 AND coalesce(bound_key, '') = ?3");
            params.extend([Param::Text(kind), Param::Text(bound)]);
        }
        if let Some((state, now)) = state {
            let at = format!("?{}", params.len() + 1);
            if state.depends_on_time() {
                params.push(Param::Int(now));
            }
            sql.push_str(&format!(" AND {}", state.sql_condition(&at)));
        }
        let order = match order {
            Order::NewestInserted(_) => Order::NewestInserted(B::TOKEN_SEQ),
            other => other,
        };
        let rows = self.paged(&mut sql, params, order, page, |mut r| {
            let t = token_from(&mut r)?;
            let seq = r.int("seq").map_err(|e| corrupt("tokens", &t.id, e))?;
            Ok((t, seq))
        })?;
        let page = Page::of(rows, page.limit, |(t, seq)| match order {
            Order::NewestInserted(_) => After::Inserted(*seq),
            _ => After::Created(t.created_at, t.id.clone()),
        });
        Ok(page.map(|(t, _)| t))
    }

    fn get_token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        self.backend.read(|tx| get_token(tx, id))
    }

    fn token_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        self.backend.read(|tx| {
            tx.query_opt(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1"),
                &[Param::Blob(&hash[..])],
            )?
            .map(token_row)
            .transpose()
        })
    }

    fn revoke_token(&self, id: &str, now: i64, actor: &Actor) -> StoreResult<TokenRecord> {
        self.backend.write(Write::Change, |tx| {
            revoke_in(tx, id, now, actor).map(|(t, _)| t)
        })
    }

    fn revoke_tokens(&self, ids: &[String], now: i64, actor: &Actor) -> StoreResult<usize> {
        if ids.is_empty() {
            return Ok(0);
        }
        // One transaction, so a report of many leaked tokens costs one durable commit.
        self.backend.write(Write::Change, |tx| {
            let mut revoked = 0;
            for id in ids {
                match revoke_in(tx, id, now, actor) {
                    Ok((_, true)) => revoked += 1,
                    Ok((_, false)) | Err(StoreError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(revoked)
        })
    }

    fn rotate_token(
        &self,
        old_id: &str,
        old_expires_at: Option<i64>,
        new: NewToken,
        actor: &Actor,
    ) -> StoreResult<TokenRecord> {
        self.backend.write(Write::Change, |tx| {
            let n = tx.execute(
                "UPDATE tokens SET expires_at = ?2 WHERE id = ?1",
                &[Param::Text(old_id), Param::NullableInt(old_expires_at)],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(Entity::Token));
            }
            insert_token(tx, &new)?;
            tx.changed(Changed::Token(old_id.to_string()))?;
            tx.changed(Changed::TokenAdded(new.id.clone()))?;
            tx.execute(
                "UPDATE tokens SET rotated_from = ?2 WHERE id = ?1",
                &[Param::Text(&new.id), Param::Text(old_id)],
            )?;
            let old = require(get_token(tx, old_id)?, Entity::Token)?;
            let t = require(get_token(tx, &new.id)?, Entity::Token)?;
            let now = t.created_at;
            let mut detail = token_detail(&old);
            detail["successor"] = json!(t.id);
            record_token(tx, actor, AuditEvent::TokenRotated, &old, now, detail)?;
            webhooks::enqueue(tx, WebhookEvent::TokenRotated, &old, now)?;
            let mut detail = token_detail(&t);
            detail["rotated_from"] = json!(old.id);
            record_token(tx, actor, AuditEvent::TokenCreated, &t, now, detail)?;
            Ok(t)
        })
    }

    fn record_access(&self, uses: &[TokenUse]) -> StoreResult<()> {
        if uses.is_empty() {
            return Ok(());
        }
        // In id order, so that two hosts flushing overlapping batches cannot deadlock.
        let mut sorted: Vec<&TokenUse> = uses.iter().collect();
        sorted.sort_by(|a, b| a.token_id.cmp(&b.token_id));
        // `last_used_ips` is read, merged and written back, which does not commute with another
        // host doing the same: so this write is serialised with the other writers, and a chunk
        // at a time (one read, one write) keeps that short: a busy host's batch names
        // thousands of tokens, and a round trip per token held every admin write back.
        self.backend.write(Write::Quiet, |tx| {
            for chunk in sorted.chunks(ACCESS_CHUNK) {
                let ids = padded(chunk.iter().map(|u| Param::Text(&u.token_id)).collect());
                let mut held: HashMap<String, Vec<UsedFrom>> = tx
                    .query(
                        &format!(
                            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE id IN ({})",
                            numbered(1, ids.len(), |n| format!("?{n}"))
                        ),
                        &ids,
                    )?
                    .into_iter()
                    .map(|row| token_row(row).map(|t| (t.id, t.last_used_ips)))
                    .collect::<StoreResult<_>>()?;
                let mut merged = Vec::with_capacity(chunk.len());
                for &u in chunk {
                    // A token deleted since its use: nothing to record.
                    let Some(ips) = held.get_mut(&u.token_id) else {
                        continue;
                    };
                    for f in &u.from {
                        merge_used_from(ips, &f.ip, f.at);
                    }
                    let ips = (!ips.is_empty())
                        .then(|| serde_json::to_string(&*ips))
                        .transpose()?;
                    merged.push((u, ips));
                }
                if merged.is_empty() {
                    continue;
                }
                let merged = padded(merged);
                let mut params = Vec::with_capacity(merged.len() * 3);
                for (u, ips) in &merged {
                    params.push(Param::Text(&u.token_id));
                    params.push(Param::Int(u.at));
                    params.push(Param::NullableText(ips.as_deref()));
                }
                tx.execute(
                    &format!(
                        "UPDATE tokens SET last_accessed_at = CASE
                             WHEN last_accessed_at IS NULL OR last_accessed_at < v.column2
                             THEN v.column2 ELSE last_accessed_at END,
                           last_used_ips = v.column3
                         FROM (VALUES {}) AS v WHERE tokens.id = v.column1",
                        numbered(1, merged.len(), |n| format!(
                            "(?{}, CAST(?{} AS BIGINT), ?{})",
                            3 * n - 2,
                            3 * n - 1,
                            3 * n
                        ))
                    ),
                    &params,
                )?;
            }
            Ok(())
        })
    }

    fn record_denials(&self, denials: &[Denials]) -> StoreResult<()> {
        if denials.is_empty() {
            return Ok(());
        }
        // Inserts only: they commute with every other write.
        self.backend.write(Write::Commuting, |tx| {
            for d in denials {
                audit::record(
                    tx,
                    &Entry {
                        at: d.minute,
                        actor: &Actor::Check,
                        event: AuditEvent::CheckDenied,
                        workspace: d.workspace.as_deref(),
                        subject: d.token_id.as_ref().map(|id| format!("token:{id}")),
                        token_id: d.token_id.as_deref(),
                        detail: json!({"reason": d.reason, "count": d.count}),
                    },
                )?;
            }
            Ok(())
        })
    }

    fn insert_credential(&self, c: NewCredential, actor: &Actor) -> StoreResult<CredentialRecord> {
        self.backend.write(Write::Quiet, |tx| {
            let ws_key = c.workspace.as_deref().map(key);
            tx.execute(
                "INSERT INTO credentials (id, hash, name, role, workspace, ws_key, created_at,
                                          expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                &[
                    Param::Text(&c.id),
                    Param::Blob(&c.hash[..]),
                    Param::Text(&c.name),
                    Param::Text(c.role.as_str()),
                    Param::NullableText(c.workspace.as_deref()),
                    Param::NullableText(ws_key.as_deref()),
                    Param::Int(c.created_at),
                    Param::NullableInt(c.expires_at),
                ],
            )?;
            let r = require(get_credential(tx, &c.id)?, Entity::Credential)?;
            record_credential(tx, actor, AuditEvent::CredentialCreated, &r, r.created_at)?;
            Ok(r)
        })
    }

    fn credential_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<CredentialRecord>> {
        self.backend.read(|tx| {
            tx.query_opt(
                &format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE hash = ?1"),
                &[Param::Blob(&hash[..])],
            )?
            .map(credential_from)
            .transpose()
        })
    }

    fn get_credential(&self, id: &str) -> StoreResult<Option<CredentialRecord>> {
        self.backend.read(|tx| get_credential(tx, id))
    }

    fn list_credentials(&self, page: &PageRequest) -> StoreResult<Page<CredentialRecord>> {
        let mut sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE TRUE");
        let rows = self.paged(&mut sql, vec![], Order::OldestFirst, page, credential_from)?;
        Ok(Page::of(rows, page.limit, |c| {
            After::Created(c.created_at, c.id.clone())
        }))
    }

    fn revoke_credential(
        &self,
        id: &str,
        now: i64,
        actor: &Actor,
    ) -> StoreResult<CredentialRecord> {
        self.backend.write(Write::Quiet, |tx| {
            let revoked = tx.execute(
                "UPDATE credentials SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                &[Param::Text(id), Param::Int(now)],
            )?;
            let r = require(get_credential(tx, id)?, Entity::Credential)?;
            if revoked > 0 {
                record_credential(tx, actor, AuditEvent::CredentialRevoked, &r, now)?;
            }
            Ok(r)
        })
    }

    fn audit(&self, query: &AuditQuery) -> StoreResult<Vec<AuditRecord>> {
        let ws_key = query.workspace.as_deref().map(key);
        let (sql, params) = audit::select(query, &ws_key);
        self.backend.read(|tx| {
            tx.query(&sql, &params)?
                .into_iter()
                .map(audit::audit_from)
                .collect()
        })
    }

    fn change_marker(&self) -> StoreResult<i64> {
        self.backend.change_marker()
    }

    fn changes_since(&self, since: Option<i64>) -> StoreResult<ChangesSince> {
        self.backend.snapshot(|tx| {
            let generation = count(tx, B::GENERATION, &[])?;
            let floor = count(tx, B::CHANGES_FLOOR, &[])?;
            let Some(since) = since.filter(|s| (floor..=generation).contains(s)) else {
                return Ok(ChangesSince::Everything { generation });
            };
            let (mut altered, mut any_token) = (std::collections::HashSet::new(), false);
            let mut repositories = std::collections::BTreeSet::new();
            for (kind, subject) in changes::logged_after(tx, since)? {
                match kind.as_str() {
                    "token" => {
                        altered.insert(subject);
                        any_token = true;
                    }
                    "token_added" => any_token = true,
                    "repository" => {
                        repositories.insert(changes::repository_keys(&subject)?);
                    }
                    other => return Err(changes::unknown_kind(other)),
                }
            }
            let mut tokens = Vec::new();
            if any_token {
                let rows = tx.query(
                    &format!(
                        "SELECT {TOKEN_COLUMNS}, hash FROM tokens WHERE id IN
                           (SELECT subject FROM changes WHERE generation > ?1
                              AND kind <> 'repository')
                         ORDER BY created_at, id"
                    ),
                    &[Param::Int(since)],
                )?;
                for mut row in rows {
                    let record = token_from(&mut row)?;
                    tokens.push(ChangedToken {
                        hash: hash_from(&mut row, &record.id)?,
                        only_added: !altered.contains(&record.id),
                        record,
                    });
                }
            }
            let repositories = repositories
                .into_iter()
                .map(|(workspace, slug)| {
                    let now = get_repository(tx, &workspace, &slug)?;
                    Ok(ChangedRepository {
                        workspace,
                        slug,
                        now,
                    })
                })
                .collect::<StoreResult<_>>()?;
            Ok(ChangesSince::Complete {
                generation,
                tokens,
                repositories,
            })
        })
    }

    fn check_state(&self, sink: &mut dyn CheckStateSink) -> StoreResult<()> {
        self.backend.snapshot(|tx| {
            sink.generation(count(tx, B::GENERATION, &[])?);
            // Pages in key order: each of the database's answers stays small and quick (an
            // answer has a deadline, and a million rows in one would pass it), and only one page
            // of records is held at a time.
            let mut after = String::new();
            loop {
                let rows = tx.query(
                    &format!(
                        "SELECT {TOKEN_COLUMNS}, hash FROM tokens WHERE id > ?1
                         ORDER BY id LIMIT {CHECK_STATE_PAGE}"
                    ),
                    &[Param::Text(&after)],
                )?;
                let full = rows.len() == CHECK_STATE_PAGE;
                for mut row in rows {
                    let token = token_from(&mut row)?;
                    sink.token(&hash_from(&mut row, &token.id)?, &token);
                    after = token.id;
                }
                if !full {
                    break;
                }
            }
            for row in tx.query(
                &format!("{REPOSITORY_SELECT} ORDER BY r.ws_key, r.slug_key"),
                &[],
            )? {
                sink.repository(&repository_from(row)?);
            }
            Ok(())
        })
    }
}
