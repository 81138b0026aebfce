//! The embedded default store: one SQLite file in WAL mode.
//!
//! `synchronous=FULL` makes every commit durable before the call returns (a created or revoked
//! token survives a crash the moment it was answered). One writer connection serialises writes;
//! a separate reader connection serves the check path so that lookups never wait behind an fsync.
//! The rules are `rules.rs`; this file holds SQLite's schema and connections.

use super::changes::Logged;
use super::rules::SqlStore;
use super::sql::{Backend, Cell, Cells, Param, Tx, Write};
use super::*;
use parking_lot::Mutex;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

const MIGRATIONS: &[&str] = &[
    // 1: resources, tokens, settings.
    "CREATE TABLE settings (name TEXT PRIMARY KEY, value BLOB NOT NULL);
     CREATE TABLE workspaces (
        slug_key TEXT PRIMARY KEY, slug TEXT NOT NULL, plan TEXT NOT NULL,
        max_lifetime_days INTEGER NOT NULL, allow_no_expiry INTEGER NOT NULL,
        created_at INTEGER NOT NULL);
     CREATE TABLE projects (
        ws_key TEXT NOT NULL, key_key TEXT NOT NULL, key TEXT NOT NULL,
        created_at INTEGER NOT NULL, PRIMARY KEY (ws_key, key_key));
     CREATE TABLE repositories (
        ws_key TEXT NOT NULL, slug_key TEXT NOT NULL, slug TEXT NOT NULL,
        project_key TEXT NOT NULL, created_at INTEGER NOT NULL,
        PRIMARY KEY (ws_key, slug_key));
     CREATE INDEX repositories_project ON repositories (ws_key, project_key);
     CREATE TABLE tokens (
        id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, name TEXT NOT NULL,
        kind TEXT NOT NULL, workspace TEXT NOT NULL, ws_key TEXT NOT NULL,
        bound TEXT, bound_key TEXT, scopes TEXT NOT NULL,
        created_at INTEGER NOT NULL, expires_at INTEGER, revoked_at INTEGER,
        deactivated_at INTEGER, last_accessed_at INTEGER, rotated_from TEXT);
     CREATE INDEX tokens_resource ON tokens (ws_key, kind, bound_key);",
    // 2: a counter bumped by every change that can alter a check, read by other processes.
    "INSERT INTO settings (name, value) VALUES ('generation', 0);",
    // 3: the schema enforces what it can. SQLite can't add constraints to a table, so each is
    // rebuilt (STRICT: every value of its column's type) and its rows copied; a row that breaks
    // a rule fails the migration, which then changes nothing.
    "ALTER TABLE workspaces RENAME TO workspaces_v2;
     ALTER TABLE projects RENAME TO projects_v2;
     ALTER TABLE repositories RENAME TO repositories_v2;
     ALTER TABLE tokens RENAME TO tokens_v2;
     CREATE TABLE workspaces (
        slug_key TEXT PRIMARY KEY, slug TEXT NOT NULL,
        plan TEXT NOT NULL CHECK (plan IN ('free', 'standard', 'premium')),
        max_lifetime_days INTEGER NOT NULL CHECK (max_lifetime_days BETWEEN 0 AND 4294967295),
        allow_no_expiry INTEGER NOT NULL CHECK (allow_no_expiry IN (0, 1)),
        created_at INTEGER NOT NULL) STRICT;
     CREATE TABLE projects (
        ws_key TEXT NOT NULL REFERENCES workspaces (slug_key), key_key TEXT NOT NULL,
        key TEXT NOT NULL, created_at INTEGER NOT NULL,
        PRIMARY KEY (ws_key, key_key)) STRICT;
     CREATE TABLE repositories (
        ws_key TEXT NOT NULL, slug_key TEXT NOT NULL, slug TEXT NOT NULL,
        project_key TEXT NOT NULL, created_at INTEGER NOT NULL,
        PRIMARY KEY (ws_key, slug_key),
        FOREIGN KEY (ws_key, project_key) REFERENCES projects (ws_key, key_key)) STRICT;
     CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('repository', 'project', 'workspace')),
        workspace TEXT NOT NULL, ws_key TEXT NOT NULL, bound TEXT, bound_key TEXT,
        scopes TEXT NOT NULL CHECK (json_valid(scopes) AND json_type(scopes) = 'array'
                                    AND json_array_length(scopes) > 0),
        created_at INTEGER NOT NULL, expires_at INTEGER, revoked_at INTEGER,
        deactivated_at INTEGER, last_accessed_at INTEGER, rotated_from TEXT,
        CHECK ((kind = 'workspace') = (bound IS NULL)),
        CHECK ((bound IS NULL) = (bound_key IS NULL))) STRICT;
     INSERT INTO workspaces SELECT slug_key, slug, plan, max_lifetime_days, allow_no_expiry,
        created_at FROM workspaces_v2;
     INSERT INTO projects SELECT ws_key, key_key, key, created_at FROM projects_v2;
     INSERT INTO repositories SELECT ws_key, slug_key, slug, project_key, created_at
        FROM repositories_v2;
     INSERT INTO tokens SELECT id, hash, name, kind, workspace, ws_key, bound, bound_key, scopes,
        created_at, expires_at, revoked_at, deactivated_at, last_accessed_at, rotated_from
        FROM tokens_v2;
     DROP TABLE tokens_v2;
     DROP TABLE repositories_v2;
     DROP TABLE projects_v2;
     DROP TABLE workspaces_v2;
     CREATE INDEX repositories_project ON repositories (ws_key, project_key);
     CREATE INDEX tokens_resource ON tokens (ws_key, kind, bound_key);",
    // 4: admin credentials with roles (the stored bootstrap key becomes the `owner` credential
    // `bootstrap`), the audit log, and where each token was last used from.
    "CREATE TABLE credentials (
        id TEXT PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('owner', 'token-manager', 'auditor',
                                           'snapshot-reader', 'introspect')),
        workspace TEXT, ws_key TEXT,
        created_at INTEGER NOT NULL, expires_at INTEGER, revoked_at INTEGER,
        CHECK ((workspace IS NULL) = (ws_key IS NULL)),
        CHECK (role <> 'token-manager' OR workspace IS NOT NULL),
        CHECK (role IN ('token-manager', 'auditor') OR workspace IS NULL)) STRICT;
     INSERT INTO credentials (id, hash, name, role, created_at)
        SELECT 'bootstrap', value, 'bootstrap', 'owner', 0 FROM settings
        WHERE name = 'admin_key_sha256';
     DELETE FROM settings WHERE name = 'admin_key_sha256';
     CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL, actor TEXT NOT NULL, event TEXT NOT NULL,
        workspace TEXT, ws_key TEXT, subject TEXT, token_id TEXT,
        detail TEXT NOT NULL CHECK (json_valid(detail))) STRICT;
     CREATE INDEX audit_workspace ON audit (ws_key, id);
     CREATE INDEX audit_token ON audit (token_id, id);
     CREATE INDEX audit_event ON audit (event, id);
     ALTER TABLE tokens ADD COLUMN last_used_ips TEXT
        CHECK (last_used_ips IS NULL OR json_valid(last_used_ips));",
    // 5: webhooks, the outbox of their deliveries, and the expiry notices already given (the
    // primary key makes each one once per token and threshold, whichever host gets there).
    "CREATE TABLE webhooks (
        ws_key TEXT NOT NULL REFERENCES workspaces (slug_key), name_key TEXT NOT NULL,
        name TEXT NOT NULL,
        url TEXT NOT NULL CHECK (substr(url, 1, 7) = 'http://' OR substr(url, 1, 8) = 'https://'),
        secret TEXT NOT NULL CHECK (length(secret) > 0),
        events TEXT NOT NULL CHECK (json_valid(events) AND json_type(events) = 'array'
                                    AND json_array_length(events) > 0),
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        PRIMARY KEY (ws_key, name_key)) STRICT;
     CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY, ws_key TEXT NOT NULL, name_key TEXT NOT NULL,
        event TEXT NOT NULL CHECK (event IN ('token.expiring', 'token.revoked', 'token.leaked',
                                             'token.rotated')),
        token_id TEXT NOT NULL,
        body TEXT NOT NULL CHECK (json_valid(body)),
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL CHECK (attempts >= 0),
        next_attempt_at INTEGER, lease_until INTEGER, claim TEXT,
        delivered_at INTEGER, last_error TEXT,
        CHECK (delivered_at IS NULL OR next_attempt_at IS NULL),
        FOREIGN KEY (ws_key, name_key) REFERENCES webhooks (ws_key, name_key)
            ON DELETE CASCADE) STRICT;
     CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
        WHERE next_attempt_at IS NOT NULL;
     CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (ws_key, name_key);
     CREATE TABLE expiry_notices (
        token_id TEXT NOT NULL REFERENCES tokens (id),
        days INTEGER NOT NULL CHECK (days IN (60, 30, 7, 1)),
        at INTEGER NOT NULL,
        PRIMARY KEY (token_id, days)) STRICT;
     CREATE INDEX tokens_expires ON tokens (expires_at) WHERE expires_at IS NOT NULL;
     CREATE INDEX tokens_rotated_from ON tokens (rotated_from) WHERE rotated_from IS NOT NULL;",
    // 6: the change log (`changes.rs`), reaching back to the generation it starts at.
    "CREATE TABLE changes (
        generation INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('token_added', 'token', 'repository')),
        subject TEXT NOT NULL) STRICT;
     CREATE INDEX changes_generation ON changes (generation);
     INSERT INTO settings (name, value)
        SELECT 'changes_floor', value FROM settings WHERE name = 'generation';",
];

fn backend(e: rusqlite::Error) -> StoreError {
    crate::metrics::store_error(StoreError::Backend(e.to_string()))
}

/// The SQLite backend: a writer and a reader connection to one file.
pub struct Sqlite {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

/// The embedded store.
pub type SqliteStore = SqlStore<Sqlite>;

fn open_conn(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// Foreign keys are a per-connection switch in SQLite, off by default; on once migrated (a
/// migration that rebuilds tables needs them off).
fn enforce_foreign_keys(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "foreign_keys", "ON")
}

impl SqliteStore {
    pub fn open(path: &Path) -> StoreResult<Self> {
        let mut writer = open_conn(path).map_err(backend)?;
        migrate(&mut writer)?;
        enforce_foreign_keys(&writer).map_err(backend)?;
        let reader = open_conn(path).map_err(backend)?;
        enforce_foreign_keys(&reader).map_err(backend)?;
        Ok(SqlStore {
            backend: Sqlite {
                writer: Mutex::new(writer),
                reader: Mutex::new(reader),
            },
        })
    }
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(backend)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let failed = |e: rusqlite::Error| {
            StoreError::Backend(format!("migration {} failed, nothing changed: {e}", i + 1))
        };
        tx.execute_batch(sql).map_err(failed)?;
        // Rows the copy kept but whose parent is gone: the foreign keys were off for the copy.
        let orphans: i64 = tx
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .map_err(failed)?;
        if orphans > 0 {
            return Err(StoreError::Backend(format!(
                "migration {} failed, nothing changed: {orphans} rows name a missing parent",
                i + 1
            )));
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Param::Text(s) | Param::NullableText(Some(s)) => ValueRef::Text(s.as_bytes()),
            Param::NullableText(None) | Param::NullableInt(None) => ValueRef::Null,
            Param::Int(i) | Param::NullableInt(Some(i)) => ValueRef::Integer(i),
            Param::Bool(b) => ValueRef::Integer(i64::from(b)),
            Param::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// A connection, or a transaction (which derefs to one).
struct Conn<'a>(&'a Connection);

fn cell(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(_) => Cell::Other("a float"),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(t) => Cell::Text(t.to_string()),
            Err(_) => Cell::Other("text that is not UTF-8"),
        },
        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
    }
}

impl Tx for Conn<'_> {
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<u64> {
        let mut st = self.0.prepare_cached(sql).map_err(backend)?;
        let n = st
            .execute(rusqlite::params_from_iter(params))
            .map_err(backend)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Vec<Cells>> {
        let mut st = self.0.prepare_cached(sql).map_err(backend)?;
        let columns = st.column_count();
        let mut rows = st
            .query(rusqlite::params_from_iter(params))
            .map_err(backend)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(backend)? {
            let cells = (0..columns)
                .map(|i| row.get_ref(i).map(cell))
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(backend)?;
            out.push(Cells::new(cells));
        }
        Ok(out)
    }
}

impl Backend for Sqlite {
    const GENERATION: &'static str = "SELECT value FROM settings WHERE name = 'generation'";
    const CHANGES_FLOOR: &'static str = "SELECT value FROM settings WHERE name = 'changes_floor'";
    const SET_CHANGES_FLOOR: &'static str =
        "UPDATE settings SET value = ?1 WHERE name = 'changes_floor'";
    /// One writer connection: no other transaction can hold a row this one reads.
    const SKIP_LOCKED: &'static str = "";
    /// The rowid only grows: tokens are never deleted. `tokens_resource`'s entries end in it,
    /// so a resource's tokens come off the index in this order with no index of their own.
    const TOKEN_SEQ: &'static str = "rowid";

    fn write<T: Send>(
        &self,
        kind: Write,
        f: impl FnOnce(&mut dyn Tx) -> StoreResult<T> + Send,
    ) -> StoreResult<T> {
        // One writer connection: every write is serialised, commuting ones included.
        let mut conn = self.writer.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let mut conn = Conn(&tx);
        let out = if kind == Write::Change {
            let mut logged = Logged::new(&mut conn);
            let out = f(&mut logged)?;
            let mut row = logged
                .query_opt(
                    "UPDATE settings SET value = value + 1 WHERE name = 'generation'
                     RETURNING value",
                    &[],
                )?
                .ok_or_else(|| StoreError::Backend("no change counter".into()))?;
            let generation = row.int("value").map_err(StoreError::Backend)?;
            logged.write(generation, Self::SET_CHANGES_FLOOR)?;
            out
        } else {
            f(&mut conn)?
        };
        tx.commit().map_err(backend)?;
        Ok(out)
    }

    fn read<T: Send>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> StoreResult<T> + Send,
    ) -> StoreResult<T> {
        f(&mut Conn(&self.reader.lock()))
    }

    fn snapshot<T: Send>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> StoreResult<T> + Send,
    ) -> StoreResult<T> {
        let conn = self.reader.lock();
        // One read transaction: every statement sees the same commit.
        let tx = conn.unchecked_transaction().map_err(backend)?;
        let out = f(&mut Conn(&tx))?;
        tx.finish().map_err(backend)?;
        Ok(out)
    }

    fn change_marker(&self) -> StoreResult<i64> {
        self.read(|tx| {
            let mut row = tx
                .query_opt(Self::GENERATION, &[])?
                .ok_or_else(|| StoreError::Backend("no change counter".into()))?;
            row.int("value").map_err(StoreError::Backend)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_change_log_names_what_each_change_altered() {
        use crate::store::changes::ChangesSince;
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let a = &Actor::Cli;
        store
            .put_workspace("Acme", Plan::Free, TokenPolicy::default(), 1, a)
            .unwrap();
        store.put_project("acme", "PROJ", 1, a).unwrap();
        let start = store.changes_since(None).unwrap().generation();
        store.put_repository("acme", "API", "PROJ", 1, a).unwrap();
        let token = |id: &str, n: u8| NewToken {
            id: id.into(),
            hash: [n; 32],
            name: id.into(),
            resource: Resource::Repository {
                workspace: "acme".into(),
                repository: "api".into(),
            },
            scopes: vec!["repository".into()],
            created_at: 1,
            expires_at: None,
        };
        store.insert_token(token("tok_a", 1), a).unwrap();
        store.insert_token(token("tok_b", 2), a).unwrap();
        let issued = store.changes_since(Some(start)).unwrap();
        let ChangesSince::Complete {
            generation,
            tokens,
            repositories,
        } = issued
        else {
            panic!("the log reaches back to {start}");
        };
        assert_eq!(generation, start + 3);
        let named: Vec<_> = tokens
            .iter()
            .map(|t| (t.record.id.as_str(), t.hash[0], t.only_added))
            .collect();
        assert_eq!(named, [("tok_a", 1, true), ("tok_b", 2, true)]);
        assert_eq!(repositories.len(), 1);
        assert_eq!(
            (
                repositories[0].workspace.as_str(),
                repositories[0].slug.as_str()
            ),
            ("acme", "api")
        );
        assert_eq!(repositories[0].now.as_ref().unwrap().project, "PROJ");

        // Revoking names the token as altered; the same project again names nothing.
        store.revoke_token("tok_a", 2, a).unwrap();
        store.put_repository("acme", "api", "proj", 2, a).unwrap();
        let ChangesSince::Complete {
            tokens,
            repositories,
            ..
        } = store.changes_since(Some(generation)).unwrap()
        else {
            panic!("the log reaches back to {generation}");
        };
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].record.id, "tok_a");
        assert!(!tokens[0].only_added && tokens[0].record.is_revoked());
        assert!(repositories.is_empty());

        // Deleting the workspace names its live token and its repository, gone.
        store.delete_workspace("acme", 3, a).unwrap();
        let ChangesSince::Complete {
            tokens,
            repositories,
            ..
        } = store.changes_since(Some(generation + 2)).unwrap()
        else {
            panic!("the log reaches back");
        };
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].record.id, "tok_b");
        assert!(repositories[0].now.is_none());

        // A generation the log does not reach: from before its floor, or ahead of the store.
        let now = store.changes_since(None).unwrap().generation();
        assert!(matches!(
            store.changes_since(Some(now + 1)).unwrap(),
            ChangesSince::Everything { generation } if generation == now
        ));
        let conn = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
        conn.execute(
            "UPDATE settings SET value = ?1 WHERE name = 'changes_floor'",
            [start + 1],
        )
        .unwrap();
        assert!(matches!(
            store.changes_since(Some(start)).unwrap(),
            ChangesSince::Everything { .. }
        ));
        assert!(matches!(
            store.changes_since(Some(start + 1)).unwrap(),
            ChangesSince::Complete { .. }
        ));
    }

    /// A store with workspace acme, project PROJ and repository api, and `n` tokens `tok_00000`…
    /// on api put in beside the store in one transaction (as a bulk load would), each hash
    /// starting with its number.
    fn store_with_tokens(dir: &Path, n: usize) -> SqliteStore {
        let path = dir.join("s.db");
        let store = SqliteStore::open(&path).unwrap();
        let a = &Actor::Cli;
        store
            .put_workspace("acme", Plan::Free, TokenPolicy::default(), 1, a)
            .unwrap();
        store.put_project("acme", "PROJ", 1, a).unwrap();
        store.put_repository("acme", "api", "PROJ", 1, a).unwrap();
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for i in 0..n {
            let mut hash = [0u8; 32];
            hash[..4].copy_from_slice(&(i as u32).to_be_bytes());
            tx.execute(
                "INSERT INTO tokens (id, hash, name, kind, workspace, ws_key, bound, bound_key,
                                     scopes, created_at)
                 VALUES (?1, ?2, ?1, 'repository', 'acme', 'acme', 'api', 'api', '[\"wiki\"]', 1)",
                rusqlite::params![format!("tok_{i:05}"), hash.to_vec()],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        store
    }

    #[test]
    fn the_check_state_reads_every_token_across_its_pages_once() {
        let dir = tempfile::tempdir().unwrap();
        // Two full pages and a part.
        let n = 20_003;
        let store = store_with_tokens(dir.path(), n);

        let mut seen = CheckState::default();
        store.check_state(&mut seen).unwrap();
        assert_eq!(seen.generation, store.change_marker().unwrap());
        assert_eq!(seen.tokens.len(), n);
        let ids: std::collections::BTreeSet<_> = seen.tokens.iter().map(|(_, t)| &t.id).collect();
        assert_eq!(ids.len(), n, "a token came twice");
        for (hash, t) in &seen.tokens {
            let id = &t.id;
            let i: u32 = id["tok_".len()..].parse().unwrap();
            assert_eq!(hash[..4], i.to_be_bytes(), "{id} came with another's hash");
        }
        let slugs: Vec<_> = seen.repositories.iter().map(|r| r.slug.as_str()).collect();
        assert_eq!(slugs, ["api"]);
    }

    #[test]
    fn uses_are_recorded_for_every_token_of_a_batch_across_its_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_tokens(dir.path(), 1300);
        let from = |ip: &str, at: i64| UsedFrom { ip: ip.into(), at };
        // 1,201 uses (chunks of 512, 512 and 177, each padded), one of a token deleted since, and
        // two addresses for tok_00007, one already held.
        store
            .record_access(&[TokenUse {
                token_id: "tok_00007".into(),
                at: 50,
                from: vec![from("10.0.0.1", 50)],
            }])
            .unwrap();
        let mut uses: Vec<TokenUse> = (0..1200)
            .map(|i| TokenUse {
                token_id: format!("tok_{i:05}"),
                at: 100 + i as i64,
                from: vec![from("192.0.2.9", 100 + i as i64)],
            })
            .collect();
        uses.push(TokenUse {
            token_id: "tok_gone".into(),
            at: 5,
            from: vec![],
        });
        uses.reverse();
        store.record_access(&uses).unwrap();
        for i in [0usize, 1, 511, 512, 1023, 1024, 1199] {
            let t = store.get_token(&format!("tok_{i:05}")).unwrap().unwrap();
            assert_eq!(t.last_accessed_at, Some(100 + i as i64), "tok_{i:05}");
            assert_eq!(t.last_used_ips, [from("192.0.2.9", 100 + i as i64)]);
        }
        let seven = store.get_token("tok_00007").unwrap().unwrap();
        assert_eq!(
            seven.last_used_ips,
            [from("192.0.2.9", 107), from("10.0.0.1", 50)]
        );
        // An older use does not move the last access back; tokens not named are untouched.
        store
            .record_access(&[TokenUse {
                token_id: "tok_00001".into(),
                at: 3,
                from: vec![],
            }])
            .unwrap();
        assert_eq!(
            store
                .get_token("tok_00001")
                .unwrap()
                .unwrap()
                .last_accessed_at,
            Some(101)
        );
        assert_eq!(
            store
                .get_token("tok_01250")
                .unwrap()
                .unwrap()
                .last_accessed_at,
            None
        );
    }

    #[test]
    fn a_listing_by_state_selects_in_the_store_what_each_record_says_and_pages_over_it() {
        use crate::store::page::{Order, PageRequest};
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_tokens(dir.path(), 40);
        // Token i: revoked (i % 8 = 1, expired too when i % 16 = 1), deactivated (2), expiring at
        // 100 (3, 4) or 200 (5), never expiring (0, 6, 7).
        let conn = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
        conn.execute_batch(
            "UPDATE tokens SET revoked_at = 50 WHERE CAST(substr(id, 5) AS INTEGER) % 8 = 1;
             UPDATE tokens SET expires_at = 10 WHERE CAST(substr(id, 5) AS INTEGER) % 16 = 1;
             UPDATE tokens SET deactivated_at = 60 WHERE CAST(substr(id, 5) AS INTEGER) % 8 = 2;
             UPDATE tokens SET expires_at = 100 WHERE CAST(substr(id, 5) AS INTEGER) % 8 IN (3, 4);
             UPDATE tokens SET expires_at = 200 WHERE CAST(substr(id, 5) AS INTEGER) % 8 = 5;",
        )
        .unwrap();
        let everything = store
            .list_tokens(
                TokenSelection::InWorkspace("acme"),
                None,
                Order::OldestFirst,
                &PageRequest::first(100),
            )
            .unwrap()
            .items;
        assert_eq!(everything.len(), 40);
        for now in [0, 99, 100, 150, 200, 1000] {
            for state in [
                TokenState::Active,
                TokenState::Expired,
                TokenState::Revoked,
                TokenState::Deactivated,
            ] {
                let want: Vec<&str> = everything
                    .iter()
                    .filter(|t| t.state(now) == state)
                    .map(|t| t.id.as_str())
                    .collect();
                // Pages of 3: each full until the last, and together exactly the state's tokens.
                let mut got = Vec::new();
                let mut page = PageRequest::first(3);
                loop {
                    let p = store
                        .list_tokens(
                            TokenSelection::InWorkspace("acme"),
                            Some((state, now)),
                            Order::OldestFirst,
                            &page,
                        )
                        .unwrap();
                    let n = p.items.len();
                    got.extend(p.items.into_iter().map(|t| t.id));
                    match p.next {
                        Some(after) => {
                            assert_eq!(n, 3, "a short page before the last ({state:?} at {now})");
                            page = PageRequest { limit: 3, after };
                        }
                        None => break,
                    }
                }
                assert_eq!(got, want, "{state:?} at {now}");
            }
        }
    }

    #[test]
    fn commits_by_another_connection_change_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path).unwrap();
        store
            .put_workspace("acme", Plan::Free, TokenPolicy::default(), 1, &Actor::Cli)
            .unwrap();
        let before = store.change_marker().unwrap();
        assert!(store.get_workspace("acme").unwrap().is_some());
        let other = SqliteStore::open(&path).unwrap();
        other.delete_workspace("acme", 2, &Actor::Cli).unwrap();
        drop(other);
        assert_ne!(store.change_marker().unwrap(), before);
        assert!(store.get_workspace("acme").unwrap().is_none());
    }
}
