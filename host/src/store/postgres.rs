//! The shared store: PostgreSQL, for several hosts over one database.
//!
//! tokio-postgres with a deadpool pool: an async driver that speaks the protocol directly (no
//! libpq), pooled so that concurrent checks and admin writes do not queue behind one connection.
//! The `Store` trait is synchronous, and its callers are of three kinds: the CLI (no runtime),
//! `spawn_blocking` threads, and the `/check` handler on an async worker. So the backend owns a
//! small runtime of its own and blocks on it, stepping out of a caller's worker first with
//! `block_in_place`.
//!
//! The rules are `rules.rs`, shared with SQLite; this file holds PostgreSQL's schema,
//! connections and change counter. Text is compared with the "C" collation, so orderings match
//! SQLite's binary ones; every write that can alter a check bumps the counter and notifies other
//! hosts in its transaction; writers are serialised by one transaction-scoped advisory lock, as
//! SQLite's single writer serialises them. Commits use `synchronous_commit=on`, set on each
//! connection, so a token is on disk before it is answered.

use super::changes::Logged;
use super::notify::{ChangeFeed, CHANNEL};
use super::rules::SqlStore;
use super::sql::{numbered_as_dollars, Backend, Cell, Cells, Param, Tx, Write};
use super::*;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio_postgres::types::{ToSql, Type};

/// The advisory lock every writer takes: the number is arbitrary, fixed, and ours.
const WRITE_LOCK: i64 = 0x5c09_e6a7_e000_0001;
/// Taken while migrating, so that hosts starting together migrate once.
const MIGRATE_LOCK: i64 = 0x5c09_e6a7_e000_0002;
/// How often a host waiting for its database says so.
const WAIT_REPORT: Duration = Duration::from_secs(10);
/// Longest wait for any one answer of the database. A server that stops answering (a network
/// that drops packets silently, a hung server) is then `Unavailable` in bounded time: a check
/// is denied instead of hanging, and the connection is dropped rather than reused.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

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
    // 3: the schema enforces what it can; a row that breaks a rule fails the migration, which
    // then changes nothing.
    "ALTER TABLE workspaces
        ADD CONSTRAINT workspaces_plan CHECK (plan IN ('free', 'standard', 'premium')),
        ADD CONSTRAINT workspaces_max_lifetime CHECK (max_lifetime_days BETWEEN 0 AND 4294967295);
     ALTER TABLE projects ADD CONSTRAINT projects_workspace
        FOREIGN KEY (ws_key) REFERENCES workspaces (slug_key);
     ALTER TABLE repositories ADD CONSTRAINT repositories_project_fk
        FOREIGN KEY (ws_key, project_key) REFERENCES projects (ws_key, key_key);
     ALTER TABLE tokens
        ADD CONSTRAINT tokens_kind CHECK (kind IN ('repository', 'project', 'workspace')),
        ADD CONSTRAINT tokens_bound CHECK ((kind = 'workspace') = (bound IS NULL)
                                           AND (bound IS NULL) = (bound_key IS NULL)),
        ADD CONSTRAINT tokens_hash CHECK (octet_length(hash) = 32),
        ADD CONSTRAINT tokens_scopes CHECK (jsonb_typeof(scopes::jsonb) = 'array'
                                            AND jsonb_array_length(scopes::jsonb) > 0);",
    // 4: admin credentials with roles (the stored bootstrap key becomes the `owner` credential
    // `bootstrap`), the audit log, and where each token was last used from.
    r#"CREATE TABLE credentials (
        id TEXT COLLATE "C" PRIMARY KEY,
        hash BYTEA NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('owner', 'token-manager', 'auditor',
                                           'snapshot-reader', 'introspect')),
        workspace TEXT, ws_key TEXT COLLATE "C",
        created_at BIGINT NOT NULL, expires_at BIGINT, revoked_at BIGINT,
        CHECK ((workspace IS NULL) = (ws_key IS NULL)),
        CHECK (role <> 'token-manager' OR workspace IS NOT NULL),
        CHECK (role IN ('token-manager', 'auditor') OR workspace IS NULL));
     INSERT INTO credentials (id, hash, name, role, created_at)
        SELECT 'bootstrap', value, 'bootstrap', 'owner', 0 FROM settings
        WHERE name = 'admin_key_sha256';
     DELETE FROM settings WHERE name = 'admin_key_sha256';
     CREATE TABLE audit (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL, actor TEXT NOT NULL, event TEXT COLLATE "C" NOT NULL,
        workspace TEXT, ws_key TEXT COLLATE "C", subject TEXT, token_id TEXT COLLATE "C",
        detail TEXT NOT NULL CHECK (detail::jsonb IS NOT NULL));
     CREATE INDEX audit_workspace ON audit (ws_key, id);
     CREATE INDEX audit_token ON audit (token_id, id);
     CREATE INDEX audit_event ON audit (event, id);
     ALTER TABLE tokens ADD COLUMN last_used_ips TEXT
        CHECK (last_used_ips IS NULL OR last_used_ips::jsonb IS NOT NULL);"#,
    // 5: webhooks, the outbox of their deliveries, and the expiry notices already given (the
    // primary key makes each one once per token and threshold, whichever host gets there).
    r#"CREATE TABLE webhooks (
        ws_key TEXT COLLATE "C" NOT NULL REFERENCES workspaces (slug_key),
        name_key TEXT COLLATE "C" NOT NULL, name TEXT COLLATE "C" NOT NULL,
        url TEXT NOT NULL CHECK (url LIKE 'http://%' OR url LIKE 'https://%'),
        secret TEXT NOT NULL CHECK (length(secret) > 0),
        events TEXT NOT NULL CHECK (jsonb_typeof(events::jsonb) = 'array'
                                    AND jsonb_array_length(events::jsonb) > 0),
        created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
        PRIMARY KEY (ws_key, name_key));
     CREATE TABLE webhook_deliveries (
        id TEXT COLLATE "C" PRIMARY KEY,
        ws_key TEXT COLLATE "C" NOT NULL, name_key TEXT COLLATE "C" NOT NULL,
        event TEXT NOT NULL CHECK (event IN ('token.expiring', 'token.revoked', 'token.leaked',
                                             'token.rotated')),
        token_id TEXT COLLATE "C" NOT NULL,
        body TEXT NOT NULL CHECK (body::jsonb IS NOT NULL),
        created_at BIGINT NOT NULL,
        attempts BIGINT NOT NULL CHECK (attempts >= 0),
        next_attempt_at BIGINT, lease_until BIGINT, claim TEXT COLLATE "C",
        delivered_at BIGINT, last_error TEXT,
        CHECK (delivered_at IS NULL OR next_attempt_at IS NULL),
        FOREIGN KEY (ws_key, name_key) REFERENCES webhooks (ws_key, name_key)
            ON DELETE CASCADE);
     CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
        WHERE next_attempt_at IS NOT NULL;
     CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (ws_key, name_key);
     CREATE TABLE expiry_notices (
        token_id TEXT COLLATE "C" NOT NULL REFERENCES tokens (id),
        days BIGINT NOT NULL CHECK (days IN (60, 30, 7, 1)),
        at BIGINT NOT NULL,
        PRIMARY KEY (token_id, days));
     CREATE INDEX tokens_expires ON tokens (expires_at) WHERE expires_at IS NOT NULL;
     -- Compared with `id` (a successor's link to the token it replaced): one collation.
     ALTER TABLE tokens ALTER COLUMN rotated_from TYPE TEXT COLLATE "C";
     CREATE INDEX tokens_rotated_from ON tokens (rotated_from) WHERE rotated_from IS NOT NULL;"#,
    // 6: the newest-first token lists page by insertion order, so tokens issued within one
    // second keep their place (existing rows are numbered in no particular order: once).
    "ALTER TABLE tokens ADD COLUMN seq BIGSERIAL;
     CREATE INDEX tokens_resource_inserted ON tokens (ws_key, kind, bound_key, seq);",
    // 7: the change log (`changes.rs`), reaching back to the generation it starts at.
    r#"CREATE TABLE changes (
        generation BIGINT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('token_added', 'token', 'repository')),
        subject TEXT COLLATE "C" NOT NULL);
     CREATE INDEX changes_generation ON changes (generation);
     ALTER TABLE generation ADD COLUMN changes_floor BIGINT;
     UPDATE generation SET changes_floor = value;
     ALTER TABLE generation ALTER COLUMN changes_floor SET NOT NULL;"#,
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
    crate::metrics::store_error(if unavailable {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Backend(e.to_string())
    })
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
    crate::metrics::store_error(StoreError::Backend(message.to_string()))
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

/// The PostgreSQL backend: a pool on a runtime of its own, and the change feed.
pub struct Postgres {
    pool: Pool,
    feed: Arc<ChangeFeed>,
    cfg: tokio_postgres::Config,
    /// `Option` only so that `Drop` can take it: a runtime dropped inside another runtime's
    /// worker (the server's shutdown path) must be shut down in the background.
    rt: Option<Runtime>,
}

/// The shared store.
pub type PostgresStore = SqlStore<Postgres>;

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl PostgresStore {
    /// Connects (the URL is `postgres://` or `postgresql://`) and brings the schema up to date;
    /// fails at once if the database does not answer.
    pub fn open(url: &str) -> StoreResult<Self> {
        Self::open_waiting(url, Some(Duration::ZERO))
    }

    /// As `open`, but while the database does not answer (down, restarting, unreachable) keeps
    /// trying for `wait`, or for ever when `None`: a host started before its database serves
    /// once the database is up. Any other failure (a refused password, a failed migration)
    /// returns at once.
    pub fn open_waiting(url: &str, wait: Option<Duration>) -> StoreResult<Self> {
        let store = SqlStore {
            backend: Postgres::new(url)?,
        };
        let started = Instant::now();
        let mut reported: Option<Instant> = None;
        loop {
            match store.backend.migrate() {
                Ok(()) => return Ok(store),
                Err(StoreError::Unavailable(e))
                    if wait.is_none_or(|limit| started.elapsed() < limit) =>
                {
                    if reported.is_none_or(|at| at.elapsed() >= WAIT_REPORT) {
                        tracing::warn!(error = %e, db = %redact(url), "waiting for the store");
                        reported = Some(Instant::now());
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Postgres {
    fn new(url: &str) -> StoreResult<Self> {
        let mut cfg: tokio_postgres::Config = url.parse().map_err(backend)?;
        // Durable commits whatever the server's or the database's default says.
        cfg.options("-c synchronous_commit=on");
        // Notice a vanished server (not just a closed socket) and give up connecting quickly,
        // so that the staleness window, not TCP's timeouts, bounds an outage.
        cfg.keepalives(true);
        cfg.keepalives_idle(Duration::from_secs(5));
        cfg.keepalives_interval(Duration::from_secs(1));
        cfg.keepalives_retries(3);
        // Data the server never acknowledges ends the connection, as an unanswered probe does.
        cfg.tcp_user_timeout(ANSWER_TIMEOUT);
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(Duration::from_secs(2));
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
                .wait_timeout(Some(Duration::from_secs(10)))
                .create_timeout(Some(Duration::from_secs(5)))
                .build()
                .map_err(backend)?
        };
        Ok(Postgres {
            pool,
            feed: Arc::default(),
            cfg,
            rt: Some(rt),
        })
    }

    /// Runs `f` with the store's runtime, off any caller's async worker.
    fn blocking<T: Send>(
        &self,
        f: impl FnOnce(&Runtime) -> StoreResult<T> + Send,
    ) -> StoreResult<T> {
        let Some(rt) = self.rt.as_ref() else {
            return Err(failure("the store is shut down"));
        };
        match tokio::runtime::Handle::try_current() {
            // On a caller's async worker (or its blocking pool): step out of its context first.
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| f(rt))
            }
            Ok(_) => std::thread::scope(|s| {
                s.spawn(|| f(rt))
                    .join()
                    .unwrap_or_else(|_| Err(failure("store task panicked")))
            }),
            Err(_) => f(rt),
        }
    }

    fn migrate(&self) -> StoreResult<()> {
        self.blocking(|rt| {
            let broken = std::cell::Cell::new(false);
            let mut c = within(rt, &broken, self.pool.get())?;
            let out = (|| {
                let tx = within(rt, &broken, c.transaction())?;
                let mut t = PgTx {
                    rt,
                    client: &tx,
                    broken: &broken,
                };
                t.execute(
                    "SELECT pg_advisory_xact_lock(?1)",
                    &[Param::Int(MIGRATE_LOCK)],
                )?;
                within(
                    rt,
                    &broken,
                    tx.batch_execute(
                        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)",
                    ),
                )?;
                let version = match t.query_opt("SELECT version FROM schema_version", &[])? {
                    Some(mut row) => row.int("version").map_err(StoreError::Backend)?,
                    None => {
                        t.execute("INSERT INTO schema_version (version) VALUES (0)", &[])?;
                        0
                    }
                };
                for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                    // No answer timeout: a migration may rebuild a large table.
                    rt.block_on(tx.batch_execute(sql)).map_err(|e| {
                        StoreError::Backend(format!(
                            "migration {} failed, nothing changed: {e}",
                            i + 1
                        ))
                    })?;
                    t.execute(
                        "UPDATE schema_version SET version = ?1",
                        &[Param::Int((i + 1) as i64)],
                    )?;
                }
                within(rt, &broken, tx.commit())
            })();
            release(c, &broken);
            out
        })
    }
}

/// A pooled connection or a transaction on it, driven from synchronous code.
struct PgTx<'a, C> {
    rt: &'a Runtime,
    client: &'a C,
    /// Set when an answer did not come in time: the connection is then dropped, not pooled.
    broken: &'a std::cell::Cell<bool>,
}

/// Waits for one answer of the database, for at most [`ANSWER_TIMEOUT`].
fn within<T, E: std::error::Error + 'static>(
    rt: &Runtime,
    broken: &std::cell::Cell<bool>,
    answer: impl std::future::Future<Output = Result<T, E>>,
) -> StoreResult<T> {
    // The timer is made inside the runtime: a caller (the CLI) may have none of its own.
    match rt.block_on(async { tokio::time::timeout(ANSWER_TIMEOUT, answer).await }) {
        Ok(r) => r.map_err(backend),
        Err(_) => {
            broken.set(true);
            Err(crate::metrics::store_error(StoreError::Unavailable(
                format!("the database did not answer within {ANSWER_TIMEOUT:?}"),
            )))
        }
    }
}

/// Returns a connection to the pool, or drops it if an answer on it timed out.
fn release(client: deadpool_postgres::Object, broken: &std::cell::Cell<bool>) {
    if broken.get() {
        drop(deadpool_postgres::Object::take(client));
    }
}

type Values<'a> = Vec<Box<dyn ToSql + Sync + Send + 'a>>;

fn values<'a>(params: &[Param<'a>]) -> Values<'a> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send + 'a> {
            match *p {
                Param::Text(s) => Box::new(s),
                Param::NullableText(s) => Box::new(s),
                Param::Int(i) => Box::new(i),
                Param::NullableInt(i) => Box::new(i),
                Param::Bool(b) => Box::new(b),
                Param::Blob(b) => Box::new(b),
            }
        })
        .collect()
}

fn cells(row: &tokio_postgres::Row) -> StoreResult<Cells> {
    let cell = |i: usize| -> Result<Cell, tokio_postgres::Error> {
        let ty = row.columns()[i].type_();
        Ok(if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?
                .map_or(Cell::Null, Cell::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map_or(Cell::Null, |v| Cell::Int(i64::from(v)))
        } else if *ty == Type::TEXT || *ty == Type::VARCHAR {
            row.try_get::<_, Option<String>>(i)?
                .map_or(Cell::Null, Cell::Text)
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i)?
                .map_or(Cell::Null, Cell::Blob)
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?
                .map_or(Cell::Null, Cell::Bool)
        } else {
            Cell::Other("a value of a type the schema does not use")
        })
    };
    let cells = (0..row.len())
        .map(cell)
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    Ok(Cells::new(cells))
}

impl<C: GenericClient> Tx for PgTx<'_, C> {
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<u64> {
        let sql = numbered_as_dollars(sql);
        let values = values(params);
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref() as _).collect();
        within(self.rt, self.broken, async {
            let st = self.client.prepare_cached(&sql).await?;
            self.client.execute(&st, &refs).await
        })
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Vec<Cells>> {
        let sql = numbered_as_dollars(sql);
        let values = values(params);
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref() as _).collect();
        let rows = within(self.rt, self.broken, async {
            let st = self.client.prepare_cached(&sql).await?;
            self.client.query(&st, &refs).await
        })?;
        rows.iter().map(cells).collect()
    }
}

impl Backend for Postgres {
    const GENERATION: &'static str = "SELECT value FROM generation";
    const CHANGES_FLOOR: &'static str = "SELECT changes_floor AS value FROM generation";
    const SET_CHANGES_FLOOR: &'static str = "UPDATE generation SET changes_floor = ?1";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const TOKEN_SEQ: &'static str = "seq";

    fn write<T: Send>(
        &self,
        kind: Write,
        f: impl FnOnce(&mut dyn Tx) -> StoreResult<T> + Send,
    ) -> StoreResult<T> {
        self.blocking(|rt| {
            let broken = std::cell::Cell::new(false);
            let mut c = within(rt, &broken, self.pool.get())?;
            let out = (|| {
                let tx = within(rt, &broken, c.transaction())?;
                let mut t = PgTx {
                    rt,
                    client: &tx,
                    broken: &broken,
                };
                if kind != Write::Commuting {
                    // The writers' lock first, so that a read-then-write inside the transaction
                    // sees no interleaved commit (what SQLite's `BEGIN IMMEDIATE` gives).
                    t.execute(
                        "SELECT pg_advisory_xact_lock(?1)",
                        &[Param::Int(WRITE_LOCK)],
                    )?;
                }
                let out = if kind == Write::Change {
                    let mut logged = Logged::new(&mut t);
                    let out = f(&mut logged)?;
                    // The new counter to every listening host, delivered on commit only; each
                    // reads what changed from the log.
                    let mut row = logged
                        .query_opt(
                            "UPDATE generation SET value = value + 1 RETURNING value",
                            &[],
                        )?
                        .ok_or_else(|| failure("no change counter"))?;
                    let generation = row.int("value").map_err(StoreError::Backend)?;
                    logged.execute(
                        "SELECT pg_notify(?1, ?2)",
                        &[Param::Text(CHANNEL), Param::Text(&generation.to_string())],
                    )?;
                    logged.write(generation, Self::SET_CHANGES_FLOOR)?;
                    out
                } else {
                    f(&mut t)?
                };
                within(rt, &broken, tx.commit())?;
                Ok(out)
            })();
            release(c, &broken);
            out
        })
    }

    fn read<T: Send>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> StoreResult<T> + Send,
    ) -> StoreResult<T> {
        self.blocking(|rt| {
            let broken = std::cell::Cell::new(false);
            let c = within(rt, &broken, self.pool.get())?;
            let out = f(&mut PgTx {
                rt,
                client: &c,
                broken: &broken,
            });
            release(c, &broken);
            out
        })
    }

    fn snapshot<T: Send>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> StoreResult<T> + Send,
    ) -> StoreResult<T> {
        self.blocking(|rt| {
            let broken = std::cell::Cell::new(false);
            let mut c = within(rt, &broken, self.pool.get())?;
            let out = (|| {
                let tx = within(
                    rt,
                    &broken,
                    c.build_transaction()
                        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                        .read_only(true)
                        .start(),
                )?;
                let out = f(&mut PgTx {
                    rt,
                    client: &tx,
                    broken: &broken,
                })?;
                within(rt, &broken, tx.commit())?;
                Ok(out)
            })();
            release(c, &broken);
            out
        })
    }

    fn change_marker(&self) -> StoreResult<i64> {
        // Only long-running callers ask for the marker: they get the feed, the CLI never does.
        let Some(rt) = self.rt.as_ref() else {
            return Err(failure("the store is shut down"));
        };
        self.feed.start(rt.handle(), self.cfg.clone());
        if let Some(g) = self.feed.current() {
            return Ok(g);
        }
        let g = self.read(|tx| {
            let mut row = tx
                .query_opt(Self::GENERATION, &[])?
                .ok_or_else(|| failure("no change counter"))?;
            row.int("value").map_err(StoreError::Backend)
        })?;
        Ok(self.feed.resynced(g))
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
