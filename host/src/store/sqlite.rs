//! The embedded default store: one SQLite file in WAL mode.
//!
//! `synchronous=FULL` makes every commit durable before the call returns (a created or revoked
//! token survives a crash the moment it was answered). One writer connection serialises writes;
//! a separate reader connection serves the check path so that lookups never wait behind an fsync.

use super::*;
use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
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
];

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn key(s: &str) -> String {
    s.to_ascii_lowercase()
}

pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

fn open_conn(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

const TOKEN_COLUMNS: &str = "id, name, kind, workspace, bound, scopes, created_at, expires_at, \
     revoked_at, deactivated_at, last_accessed_at, rotated_from";

fn token_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    let kind: String = row.get(2)?;
    let workspace: String = row.get(3)?;
    let bound: Option<String> = row.get(4)?;
    let resource = match (TokenKind::parse(&kind), bound) {
        (Some(TokenKind::Project), Some(project)) => Resource::Project { workspace, project },
        (Some(TokenKind::Repository), Some(repository)) => Resource::Repository {
            workspace,
            repository,
        },
        _ => Resource::Workspace { workspace },
    };
    let scopes: String = row.get(5)?;
    Ok(TokenRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        resource,
        scopes: serde_json::from_str(&scopes).unwrap_or_default(),
        created_at: row.get(6)?,
        expires_at: row.get(7)?,
        revoked_at: row.get(8)?,
        deactivated_at: row.get(9)?,
        last_accessed_at: row.get(10)?,
        rotated_from: row.get(11)?,
    })
}

fn workspace_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Workspace> {
    let plan: String = row.get(1)?;
    Ok(Workspace {
        slug: row.get(0)?,
        plan: Plan::parse(&plan).unwrap_or(Plan::Free),
        token_policy: TokenPolicy {
            max_lifetime_days: row.get(2)?,
            allow_no_expiry: row.get(3)?,
        },
    })
}

fn get_workspace(conn: &Connection, slug: &str) -> rusqlite::Result<Option<Workspace>> {
    conn.query_row(
        "SELECT slug, plan, max_lifetime_days, allow_no_expiry FROM workspaces WHERE slug_key = ?1",
        params![key(slug)],
        workspace_from_row,
    )
    .optional()
}

fn get_project(conn: &Connection, ws: &str, k: &str) -> rusqlite::Result<Option<Project>> {
    conn.query_row(
        "SELECT w.slug, p.key FROM projects p JOIN workspaces w ON w.slug_key = p.ws_key
         WHERE p.ws_key = ?1 AND p.key_key = ?2",
        params![key(ws), key(k)],
        |r| {
            Ok(Project {
                workspace: r.get(0)?,
                key: r.get(1)?,
            })
        },
    )
    .optional()
}

fn get_repository(conn: &Connection, ws: &str, slug: &str) -> rusqlite::Result<Option<Repository>> {
    conn.query_row(
        "SELECT w.slug, r.slug, p.key FROM repositories r
         JOIN workspaces w ON w.slug_key = r.ws_key
         JOIN projects p ON p.ws_key = r.ws_key AND p.key_key = r.project_key
         WHERE r.ws_key = ?1 AND r.slug_key = ?2",
        params![key(ws), key(slug)],
        |r| {
            Ok(Repository {
                workspace: r.get(0)?,
                slug: r.get(1)?,
                project: r.get(2)?,
            })
        },
    )
    .optional()
}

fn get_token(conn: &Connection, id: &str) -> rusqlite::Result<Option<TokenRecord>> {
    conn.query_row(
        &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"),
        params![id],
        token_from_row,
    )
    .optional()
}

impl SqliteStore {
    pub fn open(path: &Path) -> StoreResult<Self> {
        let mut writer = open_conn(path).map_err(backend)?;
        migrate(&mut writer)?;
        let reader = open_conn(path).map_err(backend)?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// A change that can alter check answers: bumps the generation in the same transaction.
    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.write_with(true, f)
    }

    fn write_with<T>(
        &self,
        bump: bool,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.writer.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let out = f(&tx)?;
        if bump {
            tx.execute(
                "UPDATE settings SET value = value + 1 WHERE name = 'generation'",
                [],
            )
            .map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        f(&self.reader.lock()).map_err(backend)
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
        tx.execute_batch(sql).map_err(backend)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

impl Store for SqliteStore {
    fn put_workspace(
        &self,
        slug: &str,
        plan: Plan,
        policy: TokenPolicy,
        now: i64,
    ) -> StoreResult<(Workspace, bool)> {
        self.write(|tx| {
            let existed = get_workspace(tx, slug).map_err(backend)?.is_some();
            tx.execute(
                "INSERT INTO workspaces (slug_key, slug, plan, max_lifetime_days, allow_no_expiry, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (slug_key) DO UPDATE SET plan = excluded.plan,
                   max_lifetime_days = excluded.max_lifetime_days,
                   allow_no_expiry = excluded.allow_no_expiry",
                params![key(slug), slug, plan.as_str(), policy.max_lifetime_days,
                        policy.allow_no_expiry, now],
            )
            .map_err(backend)?;
            let ws = get_workspace(tx, slug).map_err(backend)?.ok_or(StoreError::NotFound(Entity::Workspace))?;
            Ok((ws, !existed))
        })
    }

    fn get_workspace(&self, slug: &str) -> StoreResult<Option<Workspace>> {
        self.read(|c| get_workspace(c, slug))
    }

    fn list_workspaces(&self) -> StoreResult<Vec<Workspace>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT slug, plan, max_lifetime_days, allow_no_expiry FROM workspaces ORDER BY slug_key",
            )?;
            let rows = st.query_map([], workspace_from_row)?;
            rows.collect()
        })
    }

    fn delete_workspace(&self, slug: &str, now: i64) -> StoreResult<()> {
        self.write(|tx| {
            let k = key(slug);
            let n = tx
                .execute("DELETE FROM workspaces WHERE slug_key = ?1", params![k])
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(Entity::Workspace));
            }
            tx.execute("DELETE FROM projects WHERE ws_key = ?1", params![k]).map_err(backend)?;
            tx.execute("DELETE FROM repositories WHERE ws_key = ?1", params![k]).map_err(backend)?;
            tx.execute(
                "UPDATE tokens SET deactivated_at = ?2 WHERE ws_key = ?1 AND deactivated_at IS NULL",
                params![k, now],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn put_project(&self, ws: &str, k: &str, now: i64) -> StoreResult<(Project, bool)> {
        self.write(|tx| {
            if get_workspace(tx, ws).map_err(backend)?.is_none() {
                return Err(StoreError::NotFound(Entity::Workspace));
            }
            if let Some(p) = get_project(tx, ws, k).map_err(backend)? {
                return Ok((p, false));
            }
            tx.execute(
                "INSERT INTO projects (ws_key, key_key, key, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![key(ws), key(k), k, now],
            )
            .map_err(backend)?;
            let p = get_project(tx, ws, k)
                .map_err(backend)?
                .ok_or(StoreError::NotFound(Entity::Project))?;
            Ok((p, true))
        })
    }

    fn get_project(&self, ws: &str, k: &str) -> StoreResult<Option<Project>> {
        self.read(|c| get_project(c, ws, k))
    }

    fn list_projects(&self, ws: &str) -> StoreResult<Vec<Project>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT w.slug, p.key FROM projects p JOIN workspaces w ON w.slug_key = p.ws_key
                 WHERE p.ws_key = ?1 ORDER BY p.key_key",
            )?;
            let rows = st.query_map(params![key(ws)], |r| {
                Ok(Project {
                    workspace: r.get(0)?,
                    key: r.get(1)?,
                })
            })?;
            rows.collect()
        })
    }

    fn delete_project(&self, ws: &str, k: &str, now: i64) -> StoreResult<()> {
        self.write(|tx| {
            if get_project(tx, ws, k).map_err(backend)?.is_none() {
                return Err(StoreError::NotFound(Entity::Project));
            }
            let repos: i64 = tx
                .query_row(
                    "SELECT count(*) FROM repositories WHERE ws_key = ?1 AND project_key = ?2",
                    params![key(ws), key(k)],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            if repos > 0 {
                return Err(StoreError::Conflict(Conflict::ProjectNotEmpty {
                    project: k.to_string(),
                    repositories: repos,
                }));
            }
            tx.execute(
                "DELETE FROM projects WHERE ws_key = ?1 AND key_key = ?2",
                params![key(ws), key(k)],
            )
            .map_err(backend)?;
            tx.execute(
                "UPDATE tokens SET deactivated_at = ?3 WHERE ws_key = ?1 AND kind = 'project'
                   AND bound_key = ?2 AND deactivated_at IS NULL",
                params![key(ws), key(k), now],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn put_repository(
        &self,
        ws: &str,
        slug: &str,
        project: &str,
        now: i64,
    ) -> StoreResult<(Repository, bool)> {
        self.write(|tx| {
            if get_workspace(tx, ws).map_err(backend)?.is_none() {
                return Err(StoreError::NotFound(Entity::Workspace));
            }
            if get_project(tx, ws, project).map_err(backend)?.is_none() {
                return Err(StoreError::NotFound(Entity::Project));
            }
            let existed = get_repository(tx, ws, slug).map_err(backend)?.is_some();
            tx.execute(
                "INSERT INTO repositories (ws_key, slug_key, slug, project_key, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (ws_key, slug_key) DO UPDATE SET project_key = excluded.project_key",
                params![key(ws), key(slug), slug, key(project), now],
            )
            .map_err(backend)?;
            let r = get_repository(tx, ws, slug)
                .map_err(backend)?
                .ok_or(StoreError::NotFound(Entity::Repository))?;
            Ok((r, !existed))
        })
    }

    fn get_repository(&self, ws: &str, slug: &str) -> StoreResult<Option<Repository>> {
        self.read(|c| get_repository(c, ws, slug))
    }

    fn list_repositories(&self, ws: &str) -> StoreResult<Vec<Repository>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT w.slug, r.slug, p.key FROM repositories r
                 JOIN workspaces w ON w.slug_key = r.ws_key
                 JOIN projects p ON p.ws_key = r.ws_key AND p.key_key = r.project_key
                 WHERE r.ws_key = ?1 ORDER BY r.slug_key",
            )?;
            let rows = st.query_map(params![key(ws)], |r| {
                Ok(Repository {
                    workspace: r.get(0)?,
                    slug: r.get(1)?,
                    project: r.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    fn delete_repository(&self, ws: &str, slug: &str, now: i64) -> StoreResult<()> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "DELETE FROM repositories WHERE ws_key = ?1 AND slug_key = ?2",
                    params![key(ws), key(slug)],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(Entity::Repository));
            }
            tx.execute(
                "UPDATE tokens SET deactivated_at = ?3 WHERE ws_key = ?1 AND kind = 'repository'
                   AND bound_key = ?2 AND deactivated_at IS NULL",
                params![key(ws), key(slug), now],
            )
            .map_err(backend)?;
            Ok(())
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
        self.write(|tx| {
            if get_repository(tx, ws, slug).map_err(backend)?.is_none() {
                return Err(StoreError::NotFound(Entity::Repository));
            }
            if get_workspace(tx, to_ws).map_err(backend)?.is_none() {
                return Err(StoreError::NotFound(Entity::Workspace));
            }
            if get_project(tx, to_ws, to_project)
                .map_err(backend)?
                .is_none()
            {
                return Err(StoreError::NotFound(Entity::Project));
            }
            let same_workspace = key(ws) == key(to_ws);
            if !same_workspace && get_repository(tx, to_ws, slug).map_err(backend)?.is_some() {
                return Err(StoreError::Conflict(Conflict::RepositoryExists {
                    workspace: to_ws.to_string(),
                    slug: slug.to_string(),
                }));
            }
            tx.execute(
                "UPDATE repositories SET ws_key = ?3, project_key = ?4
                 WHERE ws_key = ?1 AND slug_key = ?2",
                params![key(ws), key(slug), key(to_ws), key(to_project)],
            )
            .map_err(backend)?;
            if !same_workspace {
                tx.execute(
                    "UPDATE tokens SET revoked_at = ?3 WHERE ws_key = ?1 AND kind = 'repository'
                       AND bound_key = ?2 AND revoked_at IS NULL",
                    params![key(ws), key(slug), now],
                )
                .map_err(backend)?;
            }
            get_repository(tx, to_ws, slug)
                .map_err(backend)?
                .ok_or(StoreError::NotFound(Entity::Repository))
        })
    }

    fn insert_token(&self, t: NewToken) -> StoreResult<TokenRecord> {
        self.write(|tx| insert_token(tx, &t))
    }

    fn list_tokens(&self, resource: &Resource) -> StoreResult<Vec<TokenRecord>> {
        let (ws, kind, bound) = resource_keys(resource);
        self.read(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE ws_key = ?1 AND kind = ?2
                   AND coalesce(bound_key, '') = ?3 ORDER BY created_at DESC, id"
            ))?;
            let rows =
                st.query_map(params![ws, kind, bound.unwrap_or_default()], token_from_row)?;
            rows.collect()
        })
    }

    fn get_token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        self.read(|c| get_token(c, id))
    }

    fn token_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1"
            ))?
            .query_row(params![&hash[..]], token_from_row)
            .optional()
        })
    }

    fn revoke_token(&self, id: &str, now: i64) -> StoreResult<TokenRecord> {
        self.write(|tx| {
            tx.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now],
            )
            .map_err(backend)?;
            get_token(tx, id)
                .map_err(backend)?
                .ok_or(StoreError::NotFound(Entity::Token))
        })
    }

    fn rotate_token(
        &self,
        old_id: &str,
        old_expires_at: Option<i64>,
        new: NewToken,
    ) -> StoreResult<TokenRecord> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE tokens SET expires_at = ?2 WHERE id = ?1",
                    params![old_id, old_expires_at],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(Entity::Token));
            }
            let rec = insert_token(tx, &new)?;
            tx.execute(
                "UPDATE tokens SET rotated_from = ?2 WHERE id = ?1",
                params![new.id, old_id],
            )
            .map_err(backend)?;
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
        self.write_with(false, |tx| {
            let mut st = tx
                .prepare_cached(
                    "UPDATE tokens SET last_accessed_at = max(coalesce(last_accessed_at, 0), ?2)
                     WHERE id = ?1",
                )
                .map_err(backend)?;
            for (id, at) in accesses {
                st.execute(params![id, at]).map_err(backend)?;
            }
            Ok(())
        })
    }

    fn admin_key_hash(&self) -> StoreResult<Option<SecretHash>> {
        let v: Option<Vec<u8>> = self.read(|c| {
            c.query_row(
                "SELECT value FROM settings WHERE name = 'admin_key_sha256'",
                [],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(v.and_then(|v| v.try_into().ok()))
    }

    fn set_admin_key_hash(&self, hash: &SecretHash) -> StoreResult<()> {
        self.write_with(false, |tx| {
            tx.execute(
                "INSERT INTO settings (name, value) VALUES ('admin_key_sha256', ?1)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![&hash[..]],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn change_marker(&self) -> StoreResult<i64> {
        self.read(|c| {
            c.prepare_cached("SELECT value FROM settings WHERE name = 'generation'")?
                .query_row([], |r| r.get(0))
        })
    }

    fn check_state(&self) -> StoreResult<CheckState> {
        self.read(|c| {
            // One read transaction: the counter, tokens and repositories describe the same commit.
            let tx = c.unchecked_transaction()?;
            let generation = tx.query_row(
                "SELECT value FROM settings WHERE name = 'generation'",
                [],
                |r| r.get(0),
            )?;
            let mut st = tx.prepare(&format!(
                "SELECT {TOKEN_COLUMNS}, hash FROM tokens ORDER BY created_at, id"
            ))?;
            let tokens = st
                .query_map([], |row| {
                    let hash: Vec<u8> = row.get(12)?;
                    let hash: SecretHash = hash
                        .try_into()
                        .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(12, 0))?;
                    Ok((hash, token_from_row(row)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            drop(st);
            let mut st = tx.prepare(
                "SELECT w.slug, r.slug, p.key FROM repositories r
                 JOIN workspaces w ON w.slug_key = r.ws_key
                 JOIN projects p ON p.ws_key = r.ws_key AND p.key_key = r.project_key
                 ORDER BY r.ws_key, r.slug_key",
            )?;
            let repositories = st
                .query_map([], |r| {
                    Ok(Repository {
                        workspace: r.get(0)?,
                        slug: r.get(1)?,
                        project: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            drop(st);
            tx.finish()?;
            Ok(CheckState {
                generation,
                tokens,
                repositories,
            })
        })
    }
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

fn insert_token(tx: &rusqlite::Transaction<'_>, t: &NewToken) -> StoreResult<TokenRecord> {
    let (ws_key, kind, bound_key) = resource_keys(&t.resource);
    let bound = match &t.resource {
        Resource::Workspace { .. } => None,
        Resource::Project { project, .. } => Some(project.clone()),
        Resource::Repository { repository, .. } => Some(repository.clone()),
    };
    let scopes =
        serde_json::to_string(&t.scopes).map_err(|e| StoreError::Backend(e.to_string()))?;
    tx.execute(
        "INSERT INTO tokens (id, hash, name, kind, workspace, ws_key, bound, bound_key, scopes,
                             created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            t.id,
            &t.hash[..],
            t.name,
            kind,
            t.resource.workspace(),
            ws_key,
            bound,
            bound_key,
            scopes,
            t.created_at,
            t.expires_at
        ],
    )
    .map_err(backend)?;
    get_token(tx, &t.id)
        .map_err(backend)?
        .ok_or(StoreError::NotFound(Entity::Token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_by_another_connection_change_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path).unwrap();
        store
            .put_workspace("acme", Plan::Free, TokenPolicy::default(), 1)
            .unwrap();
        let before = store.change_marker().unwrap();
        assert!(store.get_workspace("acme").unwrap().is_some());
        let other = SqliteStore::open(&path).unwrap();
        other.delete_workspace("acme", 2).unwrap();
        drop(other);
        assert_ne!(store.change_marker().unwrap(), before);
        assert!(store.get_workspace("acme").unwrap().is_none());
    }
}
