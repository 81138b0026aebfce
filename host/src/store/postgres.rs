//! The shared store: PostgreSQL, for several hosts over one database.
//!
//! tokio-postgres with a deadpool pool: an async driver that speaks the protocol directly (no
//! libpq), pooled so that concurrent checks and admin writes do not queue behind one connection.
//! The `Store` trait is synchronous, and its callers are of three kinds: the CLI (no runtime),
//! `spawn_blocking` threads, and the `/check` handler on an async worker. So the backend owns a
//! small runtime of its own and blocks on it, stepping out of a caller's worker first with
//! `block_in_place`.
//!
//! Semantics follow the SQLite store exactly: the same tables (text compared with the "C"
//! collation, so orderings match SQLite's binary ones), names matched by lower-cased keys, every
//! write one transaction that also bumps the change counter, and writers serialised (one
//! transaction-scoped advisory lock) as SQLite's single writer serialises them. Commits use
//! `synchronous_commit=on`, set on each connection, so a token is on disk before it is answered.

use super::notify::{ChangeFeed, CHANNEL};
use super::*;
use deadpool_postgres::{GenericClient, Transaction};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::future::Future;
use std::sync::Arc;
use tokio_postgres::{types::ToSql, Row};

/// The advisory lock every writer takes: the number is arbitrary, fixed, and ours.
const WRITE_LOCK: i64 = 0x5c09_e6a7_e000_0001;
/// Taken while migrating, so that hosts starting together migrate once.
const MIGRATE_LOCK: i64 = 0x5c09_e6a7_e000_0002;

const MIGRATIONS: &[&str] = &[
    // 1: resources, tokens, settings.
    r#"CREATE TABLE settings (name TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL);
     CREATE TABLE workspaces (
        slug_key TEXT COLLATE "C" PRIMARY KEY, slug TEXT COLLATE "C" NOT NULL,
        plan TEXT NOT NULL, max_lifetime_days BIGINT NOT NULL, allow_no_expiry BOOLEAN NOT NULL,
        created_at BIGINT NOT NULL);
     CREATE TABLE projects (
        ws_key TEXT COLLATE "C" NOT NULL, key_key TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (ws_key, key_key));
     CREATE TABLE repositories (
        ws_key TEXT COLLATE "C" NOT NULL, slug_key TEXT COLLATE "C" NOT NULL,
        slug TEXT COLLATE "C" NOT NULL, project_key TEXT COLLATE "C" NOT NULL,
        created_at BIGINT NOT NULL, PRIMARY KEY (ws_key, slug_key));
     CREATE INDEX repositories_project ON repositories (ws_key, project_key);
     CREATE TABLE tokens (
        id TEXT COLLATE "C" PRIMARY KEY, hash BYTEA NOT NULL UNIQUE, name TEXT NOT NULL,
        kind TEXT NOT NULL, workspace TEXT NOT NULL, ws_key TEXT COLLATE "C" NOT NULL,
        bound TEXT, bound_key TEXT COLLATE "C", scopes TEXT NOT NULL,
        created_at BIGINT NOT NULL, expires_at BIGINT, revoked_at BIGINT,
        deactivated_at BIGINT, last_accessed_at BIGINT, rotated_from TEXT);
     CREATE INDEX tokens_resource ON tokens (ws_key, kind, bound_key);"#,
    // 2: a counter bumped by every change that can alter a check, read by other hosts.
    "CREATE TABLE generation (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
                              value BIGINT NOT NULL);
     INSERT INTO generation (value) VALUES (0);",
];

/// Classifies a failure: the database not answering (unreachable, restarting, out of
/// connections) is `Unavailable` and worth retrying; anything it answered with is `Backend`.
fn backend<E: std::error::Error + 'static>(e: E) -> StoreError {
    let any: &(dyn std::error::Error + 'static) = &e;
    let unavailable = if let Some(pe) = any.downcast_ref::<tokio_postgres::Error>() {
        unreachable(pe)
    } else if let Some(pe) = any.downcast_ref::<deadpool_postgres::PoolError>() {
        match pe {
            deadpool_postgres::PoolError::Backend(pe) => unreachable(pe),
            deadpool_postgres::PoolError::Timeout(_) | deadpool_postgres::PoolError::Closed => true,
            _ => false,
        }
    } else {
        false
    };
    if unavailable {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Backend(e.to_string())
    }
}

fn unreachable(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        // Connection exceptions, operator intervention (shutdown, recovery), resources.
        Some(code) => ["08", "57P", "53"]
            .iter()
            .any(|class| code.code().starts_with(class)),
        // No SQL error at all: the connection failed, closed or timed out.
        None => true,
    }
}

fn failure(message: &str) -> StoreError {
    StoreError::Backend(message.to_string())
}

fn key(s: &str) -> String {
    s.to_ascii_lowercase()
}

pub struct PostgresStore {
    pool: Pool,
    feed: Arc<ChangeFeed>,
    cfg: tokio_postgres::Config,
    /// `Option` only so that `Drop` can take it: a runtime dropped inside another runtime's
    /// worker (the server's shutdown path) must be shut down in the background.
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The connection string with any password replaced, for logs and error messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let tail = redact_query_password(tail);
    format!("{scheme}://{authority}{tail}")
}

fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

const TOKEN_COLUMNS: &str = "id, name, kind, workspace, bound, scopes, created_at, expires_at, \
     revoked_at, deactivated_at, last_accessed_at, rotated_from";

fn token_from_row(row: &Row) -> StoreResult<TokenRecord> {
    let kind: String = row.try_get(2).map_err(backend)?;
    let workspace: String = row.try_get(3).map_err(backend)?;
    let bound: Option<String> = row.try_get(4).map_err(backend)?;
    let resource = match (TokenKind::parse(&kind), bound) {
        (Some(TokenKind::Project), Some(project)) => Resource::Project { workspace, project },
        (Some(TokenKind::Repository), Some(repository)) => Resource::Repository {
            workspace,
            repository,
        },
        _ => Resource::Workspace { workspace },
    };
    let scopes: String = row.try_get(5).map_err(backend)?;
    Ok(TokenRecord {
        id: row.try_get(0).map_err(backend)?,
        name: row.try_get(1).map_err(backend)?,
        resource,
        scopes: serde_json::from_str(&scopes).unwrap_or_default(),
        created_at: row.try_get(6).map_err(backend)?,
        expires_at: row.try_get(7).map_err(backend)?,
        revoked_at: row.try_get(8).map_err(backend)?,
        deactivated_at: row.try_get(9).map_err(backend)?,
        last_accessed_at: row.try_get(10).map_err(backend)?,
        rotated_from: row.try_get(11).map_err(backend)?,
    })
}

fn workspace_from_row(row: &Row) -> StoreResult<Workspace> {
    let plan: String = row.try_get(1).map_err(backend)?;
    let days: i64 = row.try_get(2).map_err(backend)?;
    Ok(Workspace {
        slug: row.try_get(0).map_err(backend)?,
        plan: Plan::parse(&plan).unwrap_or(Plan::Free),
        token_policy: TokenPolicy {
            max_lifetime_days: u32::try_from(days).map_err(backend)?,
            allow_no_expiry: row.try_get(3).map_err(backend)?,
        },
    })
}

fn repository_from_row(r: &Row) -> StoreResult<Repository> {
    Ok(Repository {
        workspace: r.try_get(0).map_err(backend)?,
        slug: r.try_get(1).map_err(backend)?,
        project: r.try_get(2).map_err(backend)?,
    })
}

async fn opt_row(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> StoreResult<Option<Row>> {
    c.query_opt(sql, params).await.map_err(backend)
}

async fn get_workspace(c: &impl GenericClient, slug: &str) -> StoreResult<Option<Workspace>> {
    opt_row(
        c,
        "SELECT slug, plan, max_lifetime_days, allow_no_expiry FROM workspaces WHERE slug_key = $1",
        &[&key(slug)],
    )
    .await?
    .map(|r| workspace_from_row(&r))
    .transpose()
}

async fn get_project(c: &impl GenericClient, ws: &str, k: &str) -> StoreResult<Option<Project>> {
    let row = opt_row(
        c,
        "SELECT w.slug, p.key FROM projects p JOIN workspaces w ON w.slug_key = p.ws_key
         WHERE p.ws_key = $1 AND p.key_key = $2",
        &[&key(ws), &key(k)],
    )
    .await?;
    row.map(|r| {
        Ok(Project {
            workspace: r.try_get(0).map_err(backend)?,
            key: r.try_get(1).map_err(backend)?,
        })
    })
    .transpose()
}

const REPOSITORY_SELECT: &str = "SELECT w.slug, r.slug, p.key FROM repositories r
     JOIN workspaces w ON w.slug_key = r.ws_key
     JOIN projects p ON p.ws_key = r.ws_key AND p.key_key = r.project_key";

async fn get_repository(
    c: &impl GenericClient,
    ws: &str,
    slug: &str,
) -> StoreResult<Option<Repository>> {
    opt_row(
        c,
        &format!("{REPOSITORY_SELECT} WHERE r.ws_key = $1 AND r.slug_key = $2"),
        &[&key(ws), &key(slug)],
    )
    .await?
    .map(|r| repository_from_row(&r))
    .transpose()
}

async fn get_token(c: &impl GenericClient, id: &str) -> StoreResult<Option<TokenRecord>> {
    opt_row(
        c,
        &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1"),
        &[&id],
    )
    .await?
    .map(|r| token_from_row(&r))
    .transpose()
}

async fn exec(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> StoreResult<u64> {
    c.execute(sql, params).await.map_err(backend)
}

/// Opens a write transaction: the writers' lock first, so that a read-then-write inside it sees
/// no interleaved commit (what SQLite's `BEGIN IMMEDIATE` gives the embedded store).
async fn begin_write(c: &mut deadpool_postgres::Object) -> StoreResult<Transaction<'_>> {
    let tx = c.transaction().await.map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
        .await
        .map_err(backend)?;
    Ok(tx)
}

/// Bumps the change counter, tells every listening host (delivered on commit only), and
/// commits: every write that can alter a check ends here.
async fn commit_bumped(tx: Transaction<'_>) -> StoreResult<()> {
    let generation: i64 = tx
        .query_one(
            "UPDATE generation SET value = value + 1 RETURNING value",
            &[],
        )
        .await
        .and_then(|r| r.try_get(0))
        .map_err(backend)?;
    tx.execute(
        "SELECT pg_notify($1, $2)",
        &[&CHANNEL, &generation.to_string()],
    )
    .await
    .map_err(backend)?;
    tx.commit().await.map_err(backend)
}

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

async fn insert_token(tx: &Transaction<'_>, t: &NewToken) -> StoreResult<TokenRecord> {
    let (ws_key, kind, bound_key) = resource_keys(&t.resource);
    let bound = match &t.resource {
        Resource::Workspace { .. } => None,
        Resource::Project { project, .. } => Some(project.clone()),
        Resource::Repository { repository, .. } => Some(repository.clone()),
    };
    let scopes = serde_json::to_string(&t.scopes).map_err(backend)?;
    exec(
        tx,
        "INSERT INTO tokens (id, hash, name, kind, workspace, ws_key, bound, bound_key, scopes,
                             created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &t.id,
            &&t.hash[..],
            &t.name,
            &kind,
            &t.resource.workspace(),
            &ws_key,
            &bound,
            &bound_key,
            &scopes,
            &t.created_at,
            &t.expires_at,
        ],
    )
    .await?;
    get_token(tx, &t.id)
        .await?
        .ok_or(StoreError::NotFound(Entity::Token))
}

async fn migrate(pool: &Pool) -> StoreResult<()> {
    let mut c = pool.get().await.map_err(backend)?;
    let tx = c.transaction().await.map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .await
        .map_err(backend)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .await
        .map_err(backend)?;
    let version: i64 = match tx
        .query_opt("SELECT version FROM schema_version", &[])
        .await
        .map_err(backend)?
    {
        Some(r) => r.try_get(0).map_err(backend)?,
        None => {
            exec(&tx, "INSERT INTO schema_version (version) VALUES (0)", &[]).await?;
            0
        }
    };
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.batch_execute(sql).await.map_err(backend)?;
        let v = (i + 1) as i64;
        exec(&tx, "UPDATE schema_version SET version = $1", &[&v]).await?;
    }
    tx.commit().await.map_err(backend)
}

impl PostgresStore {
    /// Connects (the URL is `postgres://` or `postgresql://`) and brings the schema up to date.
    pub fn open(url: &str) -> StoreResult<Self> {
        let mut cfg: tokio_postgres::Config = url.parse().map_err(backend)?;
        // Durable commits whatever the server's or the database's default says.
        cfg.options("-c synchronous_commit=on");
        // Notice a vanished server (not just a closed socket) and give up connecting quickly,
        // so that the staleness window, not TCP's timeouts, bounds an outage.
        cfg.keepalives(true);
        cfg.keepalives_idle(std::time::Duration::from_secs(5));
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(std::time::Duration::from_secs(2));
        }
        if cfg.get_application_name().is_none() {
            cfg.application_name("scopegate");
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("store-postgres")
            .enable_all()
            .build()
            .map_err(backend)?;
        let mgr = Manager::from_config(
            cfg.clone(),
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = {
            // Building a pool needs a runtime context for its timeouts.
            let _enter = rt.enter();
            Pool::builder(mgr)
                .max_size(16)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(std::time::Duration::from_secs(10)))
                .create_timeout(Some(std::time::Duration::from_secs(5)))
                .build()
                .map_err(backend)?
        };
        let store = PostgresStore {
            pool,
            feed: Arc::default(),
            cfg,
            rt: Some(rt),
        };
        let pool = store.pool.clone();
        store.run(async move { migrate(&pool).await })?;
        Ok(store)
    }

    /// Runs one unit of work on the store's runtime and waits for it.
    fn run<T: Send, F>(&self, fut: F) -> StoreResult<T>
    where
        F: Future<Output = StoreResult<T>> + Send,
    {
        let rt = self.rt.as_ref().expect("runtime present until drop");
        match tokio::runtime::Handle::try_current() {
            // On a caller's async worker (or its blocking pool): step out of its context first.
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| rt.block_on(fut))
            }
            Ok(_) => std::thread::scope(|s| {
                s.spawn(|| rt.block_on(fut))
                    .join()
                    .unwrap_or_else(|_| Err(failure("store task panicked")))
            }),
            Err(_) => rt.block_on(fut),
        }
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(backend)
    }
}

impl Store for PostgresStore {
    fn put_workspace(
        &self,
        slug: &str,
        plan: Plan,
        policy: TokenPolicy,
        now: i64,
    ) -> StoreResult<(Workspace, bool)> {
        self.run(async {
            let mut c = self.client().await?;
            let tx = begin_write(&mut c).await?;
            let existed = get_workspace(&tx, slug).await?.is_some();
            let days = i64::from(policy.max_lifetime_days);
            exec(
                &tx,
                "INSERT INTO workspaces (slug_key, slug, plan, max_lifetime_days, allow_no_expiry, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (slug_key) DO UPDATE SET plan = excluded.plan,
                   max_lifetime_days = excluded.max_lifetime_days,
                   allow_no_expiry = excluded.allow_no_expiry",
                &[&key(slug), &slug, &plan.as_str(), &days, &policy.allow_no_expiry, &now],
            )
            .await?;
            let ws = get_workspace(&tx, slug)
                .await?
                .ok_or(StoreError::NotFound(Entity::Workspace))?;
            commit_bumped(tx).await?;
            Ok((ws, !existed))
        })
    }

    fn get_workspace(&self, slug: &str) -> StoreResult<Option<Workspace>> {
        self.run(async { get_workspace(&self.client().await?, slug).await })
    }

    fn list_workspaces(&self) -> StoreResult<Vec<Workspace>> {
        self.run(async {
            let c = self.client().await?;
            let rows = c
                .query(
                    "SELECT slug, plan, max_lifetime_days, allow_no_expiry FROM workspaces
                     ORDER BY slug_key",
                    &[],
                )
                .await
                .map_err(backend)?;
            rows.iter().map(workspace_from_row).collect()
        })
    }

    fn delete_workspace(&self, slug: &str, now: i64) -> StoreResult<()> {
        self.run(async {
            let mut c = self.client().await?;
            let tx = begin_write(&mut c).await?;
            let k = key(slug);
            let n = exec(&tx, "DELETE FROM workspaces WHERE slug_key = $1", &[&k]).await?;
            if n == 0 {
                return Err(StoreError::NotFound(Entity::Workspace));
            }
            exec(&tx, "DELETE FROM projects WHERE ws_key = $1", &[&k]).await?;
            exec(&tx, "DELETE FROM repositories WHERE ws_key = $1", &[&k]).await?;
            exec(
                &tx,
                "UPDATE tokens SET deactivated_at = $2 WHERE ws_key = $1 AND deactivated_at IS NULL",
                &[&k, &now],
            )
            .await?;
            commit_bumped(tx).await
        })
    }

    fn put_project(&self, ws: &str, k: &str, now: i64) -> StoreResult<(Project, bool)> {
        self.run(async {
            let mut c = self.client().await?;
            let tx = begin_write(&mut c).await?;
            if get_workspace(&tx, ws).await?.is_none() {
                return Err(StoreError::NotFound(Entity::Workspace));
            }
            if let Some(p) = get_project(&tx, ws, k).await? {
                commit_bumped(tx).await?;
                return Ok((p, false));
            }
            exec(
                &tx,
                "INSERT INTO projects (ws_key, key_key, key, created_at) VALUES ($1, $2, $3, $4)",
                &[&key(ws), &key(k), &k, &now],
            )
            .await?;
            let p = get_project(&tx, ws, k)
                .await?
                .ok_or(StoreError::NotFound(Entity::Project))?;
            commit_bumped(tx).await?;
            Ok((p, true))
        })
    }

    fn get_project(&self, ws: &str, k: &str) -> StoreResult<Option<Project>> {
        self.run(async { get_project(&self.client().await?, ws, k).await })
    }

    fn list_projects(&self, ws: &str) -> StoreResult<Vec<Project>> {
        self.run(async {
            let c = self.client().await?;
            let rows = c
                .query(
                    "SELECT w.slug, p.key FROM projects p JOIN workspaces w ON w.slug_key = p.ws_key
                     WHERE p.ws_key = $1 ORDER BY p.key_key",
                    &[&key(ws)],
                )
                .await
                .map_err(backend)?;
            rows.iter()
                .map(|r| {
                    Ok(Project {
                        workspace: r.try_get(0).map_err(backend)?,
                        key: r.try_get(1).map_err(backend)?,
                    })
                })
                .collect()
        })
    }

    fn delete_project(&self, ws: &str, k: &str, now: i64) -> StoreResult<()> {
        self.run(async {
            let mut c = self.client().await?;
            let tx = begin_write(&mut c).await?;
            if get_project(&tx, ws, k).await?.is_none() {
                return Err(StoreError::NotFound(Entity::Project));
            }
            let repos: i64 = tx
                .query_one(
                    "SELECT count(*) FROM repositories WHERE ws_key = $1 AND project_key = $2",
                    &[&key(ws), &key(k)],
                )
                .await
                .and_then(|r| r.try_get(0))
                .map_err(backend)?;
            if repos > 0 {
                return Err(StoreError::Conflict(Conflict::ProjectNotEmpty {
                    project: k.to_string(),
                    repositories: repos,
                }));
            }
            exec(
                &tx,
                "DELETE FROM projects WHERE ws_key = $1 AND key_key = $2",
                &[&key(ws), &key(k)],
            )
            .await?;
            exec(
                &tx,
                "UPDATE tokens SET deactivated_at = $3 WHERE ws_key = $1 AND kind = 'project'
                   AND bound_key = $2 AND deactivated_at IS NULL",
                &[&key(ws), &key(k), &now],
            )
            .await?;
            commit_bumped(tx).await
        })
    }

    fn put_repository(
        &self,
        ws: &str,
        slug: &str,
        project: &str,
        now: i64,
    ) -> StoreResult<(Repository, bool)> {
        self.run(async {
            let mut c = self.client().await?;
            let tx = begin_write(&mut c).await?;
            if get_workspace(&tx, ws).await?.is_none() {
                return Err(StoreError::NotFound(Entity::Workspace));
            }
            if get_project(&tx, ws, project).await?.is_none() {
                return Err(StoreError::NotFound(Entity::Project));
            }
            let existed = get_repository(&tx, ws, slug).await?.is_some();
            exec(
                &tx,
                "INSERT INTO repositories (ws_key, slug_key, slug, project_key, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (ws_key, slug_key) DO UPDATE SET project_key = excluded.project_key",
                &[&key(ws), &key(slug), &slug, &key(project), &now],
            )
            .await?;
            let r = get_repository(&tx, ws, slug)
                .await?
                .ok_or(StoreError::NotFound(Entity::Repository))?;
            commit_bumped(tx).await?;
            Ok((r, !existed))
        })
    }

    fn get_repository(&self, ws: &str, slug: &str) -> StoreResult<Option<Repository>> {
        self.run(async { get_repository(&self.client().await?, ws, slug).await })
    }

    fn list_repositories(&self, ws: &str) -> StoreResult<Vec<Repository>> {
        self.run(async {
            let c = self.client().await?;
            let rows = c
                .query(
                    &format!("{REPOSITORY_SELECT} WHERE r.ws_key = $1 ORDER BY r.slug_key"),
                    &[&key(ws)],
                )
                .await
                .map_err(backend)?;
            rows.iter().map(repository_from_row).collect()
        })
    }

    fn delete_repository(&self, ws: &str, slug: &str, now: i64) -> StoreResult<()> {
        self.run(async {
            let mut c = self.client().await?;
            let tx = begin_write(&mut c).await?;
            let n = exec(
                &tx,
                "DELETE FROM repositories WHERE ws_key = $1 AND slug_key = $2",
                &[&key(ws), &key(slug)],
            )
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound(Entity::Repository));
            }
            exec(
                &tx,
                "UPDATE tokens SET deactivated_at = $3 WHERE ws_key = $1 AND kind = 'repository'
                   AND bound_key = $2 AND deactivated_at IS NULL",
                &[&key(ws), &key(slug), &now],
            )
            .await?;
            commit_bumped(tx).await
        })
    }

    fn transfer_repository(
        &self,
        ws: &str,
        slug: &str,
        to_ws: &str,
        to_project: &str,
        now: i64,
    ) -> StoreResult<Repository> {
        self.run(async {
            let mut c = self.client().await?;
            let tx = begin_write(&mut c).await?;
            if get_repository(&tx, ws, slug).await?.is_none() {
                return Err(StoreError::NotFound(Entity::Repository));
            }
            if get_workspace(&tx, to_ws).await?.is_none() {
                return Err(StoreError::NotFound(Entity::Workspace));
            }
            if get_project(&tx, to_ws, to_project).await?.is_none() {
                return Err(StoreError::NotFound(Entity::Project));
            }
            let same_workspace = key(ws) == key(to_ws);
            if !same_workspace && get_repository(&tx, to_ws, slug).await?.is_some() {
                return Err(StoreError::Conflict(Conflict::RepositoryExists {
                    workspace: to_ws.to_string(),
                    slug: slug.to_string(),
                }));
            }
            exec(
                &tx,
                "UPDATE repositories SET ws_key = $3, project_key = $4
                 WHERE ws_key = $1 AND slug_key = $2",
                &[&key(ws), &key(slug), &key(to_ws), &key(to_project)],
            )
            .await?;
            if !same_workspace {
                exec(
                    &tx,
                    "UPDATE tokens SET revoked_at = $3 WHERE ws_key = $1 AND kind = 'repository'
                       AND bound_key = $2 AND revoked_at IS NULL",
                    &[&key(ws), &key(slug), &now],
                )
                .await?;
            }
            let r = get_repository(&tx, to_ws, slug)
                .await?
                .ok_or(StoreError::NotFound(Entity::Repository))?;
            commit_bumped(tx).await?;
            Ok(r)
        })
    }

    fn insert_token(&self, t: NewToken) -> StoreResult<TokenRecord> {
        self.run(async {
            let mut c = self.client().await?;
            let tx = begin_write(&mut c).await?;
            let rec = insert_token(&tx, &t).await?;
            commit_bumped(tx).await?;
            Ok(rec)
        })
    }

    fn list_tokens(&self, resource: &Resource) -> StoreResult<Vec<TokenRecord>> {
        let (ws, kind, bound) = resource_keys(resource);
        let bound = bound.unwrap_or_default();
        self.run(async {
            let c = self.client().await?;
            let rows = c
                .query(
                    &format!(
                        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE ws_key = $1 AND kind = $2
                           AND coalesce(bound_key, '') = $3 ORDER BY created_at DESC, id"
                    ),
                    &[&ws, &kind, &bound],
                )
                .await
                .map_err(backend)?;
            rows.iter().map(token_from_row).collect()
        })
    }

    fn get_token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        self.run(async { get_token(&self.client().await?, id).await })
    }

    fn token_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        self.run(async {
            let c = self.client().await?;
            let st = c
                .prepare_cached(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1"
                ))
                .await
                .map_err(backend)?;
            c.query_opt(&st, &[&&hash[..]])
                .await
                .map_err(backend)?
                .map(|r| token_from_row(&r))
                .transpose()
        })
    }

    fn revoke_token(&self, id: &str, now: i64) -> StoreResult<TokenRecord> {
        self.run(async {
            let mut c = self.client().await?;
            let tx = begin_write(&mut c).await?;
            exec(
                &tx,
                "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &now],
            )
            .await?;
            let rec = get_token(&tx, id)
                .await?
                .ok_or(StoreError::NotFound(Entity::Token))?;
            commit_bumped(tx).await?;
            Ok(rec)
        })
    }

    fn rotate_token(
        &self,
        old_id: &str,
        old_expires_at: Option<i64>,
        new: NewToken,
    ) -> StoreResult<TokenRecord> {
        self.run(async {
            let mut c = self.client().await?;
            let tx = begin_write(&mut c).await?;
            let n = exec(
                &tx,
                "UPDATE tokens SET expires_at = $2 WHERE id = $1",
                &[&old_id, &old_expires_at],
            )
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound(Entity::Token));
            }
            let rec = insert_token(&tx, &new).await?;
            exec(
                &tx,
                "UPDATE tokens SET rotated_from = $2 WHERE id = $1",
                &[&new.id, &old_id],
            )
            .await?;
            commit_bumped(tx).await?;
            Ok(TokenRecord {
                rotated_from: Some(old_id.to_string()),
                ..rec
            })
        })
    }

    fn record_access(&self, accesses: &[(String, i64)]) -> StoreResult<()> {
        if accesses.is_empty() {
            return Ok(());
        }
        // No writers' lock: GREATEST makes concurrent batches from several hosts commute.
        self.run(async {
            let mut c = self.client().await?;
            let tx = c.transaction().await.map_err(backend)?;
            let st = tx
                .prepare_cached(
                    "UPDATE tokens SET last_accessed_at = GREATEST(coalesce(last_accessed_at, 0), $2)
                     WHERE id = $1",
                )
                .await
                .map_err(backend)?;
            // In id order, so that two hosts flushing overlapping batches cannot deadlock.
            let mut sorted: Vec<&(String, i64)> = accesses.iter().collect();
            sorted.sort();
            for (id, at) in sorted {
                tx.execute(&st, &[id, at]).await.map_err(backend)?;
            }
            tx.commit().await.map_err(backend)
        })
    }

    fn admin_key_hash(&self) -> StoreResult<Option<SecretHash>> {
        let v: Option<Vec<u8>> = self.run(async {
            let c = self.client().await?;
            opt_row(
                &c,
                "SELECT value FROM settings WHERE name = 'admin_key_sha256'",
                &[],
            )
            .await?
            .map(|r| r.try_get(0).map_err(backend))
            .transpose()
        })?;
        Ok(v.and_then(|v| v.try_into().ok()))
    }

    fn set_admin_key_hash(&self, hash: &SecretHash) -> StoreResult<()> {
        self.run(async {
            let mut c = self.client().await?;
            let tx = begin_write(&mut c).await?;
            exec(
                &tx,
                "INSERT INTO settings (name, value) VALUES ('admin_key_sha256', $1)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                &[&&hash[..]],
            )
            .await?;
            tx.commit().await.map_err(backend)
        })
    }

    fn change_marker(&self) -> StoreResult<i64> {
        // Only long-running callers ask for the marker: they get the feed, the CLI never does.
        let rt = self.rt.as_ref().expect("runtime present until drop");
        self.feed.start(rt.handle(), self.cfg.clone());
        if let Some(g) = self.feed.current() {
            return Ok(g);
        }
        let g = self.run(async {
            let c = self.client().await?;
            let st = c
                .prepare_cached("SELECT value FROM generation")
                .await
                .map_err(backend)?;
            c.query_one(&st, &[])
                .await
                .and_then(|r| r.try_get(0))
                .map_err(backend)
        })?;
        Ok(self.feed.resynced(g))
    }

    fn check_state(&self) -> StoreResult<CheckState> {
        self.run(async {
            let mut c = self.client().await?;
            // One snapshot: the counter, tokens and repositories describe the same commit.
            let tx = c
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(backend)?;
            let generation: i64 = tx
                .query_one("SELECT value FROM generation", &[])
                .await
                .and_then(|r| r.try_get(0))
                .map_err(backend)?;
            let rows = tx
                .query(
                    &format!("SELECT {TOKEN_COLUMNS}, hash FROM tokens ORDER BY created_at, id"),
                    &[],
                )
                .await
                .map_err(backend)?;
            let tokens = rows
                .iter()
                .map(|row| {
                    let hash: Vec<u8> = row.try_get(12).map_err(backend)?;
                    let hash: SecretHash = hash
                        .try_into()
                        .map_err(|_| failure("a stored hash is not 32 bytes"))?;
                    Ok((hash, token_from_row(row)?))
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let rows = tx
                .query(
                    &format!("{REPOSITORY_SELECT} ORDER BY r.ws_key, r.slug_key"),
                    &[],
                )
                .await
                .map_err(backend)?;
            let repositories = rows
                .iter()
                .map(repository_from_row)
                .collect::<StoreResult<Vec<_>>>()?;
            tx.commit().await.map_err(backend)?;
            Ok(CheckState {
                generation,
                tokens,
                repositories,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_the_printable_form() {
        assert_eq!(
            redact("postgres://sg:s3cret@db.example:5432/scopegate"),
            "postgres://sg:***@db.example:5432/scopegate"
        );
        assert_eq!(
            redact("postgresql://sg@db/scopegate?password=s3cret&sslmode=disable"),
            "postgresql://sg@db/scopegate?password=***&sslmode=disable"
        );
        assert_eq!(redact("postgres://db/x"), "postgres://db/x");
    }
}
