//! The store's rules, once for every backend: what each method reads and writes, in which
//! transaction, and how a row becomes a value. Deleting a resource deactivates its tokens; a
//! transfer to another workspace revokes them; a project holding repositories can't be deleted.
//!
//! Rows are read exactly: a token whose kind, bound resource, scopes or hash can't be read is
//! [`StoreError::Corrupt`], never a guess (a damaged repository token read as a workspace token
//! would reach its whole workspace).

use super::sql::{corrupt, Backend, Cells, Param, Tx, Write};
use super::webhooks::{self, WebhookEvent};
use super::*;

/// The store over one backend. `SqliteStore` and `PostgresStore` are this with their backend.
pub struct SqlStore<B> {
    pub(super) backend: B,
}

fn key(s: &str) -> String {
    s.to_ascii_lowercase()
}

const WORKSPACE_COLUMNS: &str = "slug, plan, max_lifetime_days, allow_no_expiry";

const PROJECT_SELECT: &str =
    "SELECT w.slug, p.key FROM projects p JOIN workspaces w ON w.slug_key = p.ws_key";

const REPOSITORY_SELECT: &str = "SELECT w.slug, r.slug, p.key FROM repositories r
     JOIN workspaces w ON w.slug_key = r.ws_key
     JOIN projects p ON p.ws_key = r.ws_key AND p.key_key = r.project_key";

pub(super) const TOKEN_COLUMNS: &str =
    "id, name, kind, workspace, bound, scopes, created_at, expires_at, \
     revoked_at, deactivated_at, last_accessed_at, rotated_from";

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

fn require<T>(found: Option<T>, what: Entity) -> StoreResult<T> {
    found.ok_or(StoreError::NotFound(what))
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
            Ok((ws, !existed))
        })
    }

    fn get_workspace(&self, slug: &str) -> StoreResult<Option<Workspace>> {
        self.backend.read(|tx| get_workspace(tx, slug))
    }

    fn list_workspaces(&self) -> StoreResult<Vec<Workspace>> {
        self.backend.read(|tx| {
            tx.query(
                &format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces ORDER BY slug_key"),
                &[],
            )?
            .into_iter()
            .map(workspace_from)
            .collect()
        })
    }

    fn delete_workspace(&self, slug: &str, now: i64) -> StoreResult<()> {
        self.backend.write(Write::Change, |tx| {
            let k = key(slug);
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
            Ok(())
        })
    }

    fn put_project(&self, ws: &str, k: &str, now: i64) -> StoreResult<(Project, bool)> {
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
            Ok((require(get_project(tx, ws, k)?, Entity::Project)?, true))
        })
    }

    fn get_project(&self, ws: &str, k: &str) -> StoreResult<Option<Project>> {
        self.backend.read(|tx| get_project(tx, ws, k))
    }

    fn list_projects(&self, ws: &str) -> StoreResult<Vec<Project>> {
        self.backend.read(|tx| {
            tx.query(
                &format!("{PROJECT_SELECT} WHERE p.ws_key = ?1 ORDER BY p.key_key"),
                &[Param::Text(&key(ws))],
            )?
            .into_iter()
            .map(project_from)
            .collect()
        })
    }

    fn delete_project(&self, ws: &str, k: &str, now: i64) -> StoreResult<()> {
        self.backend.write(Write::Change, |tx| {
            require(get_project(tx, ws, k)?, Entity::Project)?;
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
            tx.execute(
                "UPDATE tokens SET deactivated_at = ?3 WHERE ws_key = ?1 AND kind = 'project'
                   AND bound_key = ?2 AND deactivated_at IS NULL",
                &[keys[0], keys[1], Param::Int(now)],
            )?;
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
        self.backend.write(Write::Change, |tx| {
            require(get_workspace(tx, ws)?, Entity::Workspace)?;
            require(get_project(tx, ws, project)?, Entity::Project)?;
            let existed = get_repository(tx, ws, slug)?.is_some();
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
            Ok((r, !existed))
        })
    }

    fn get_repository(&self, ws: &str, slug: &str) -> StoreResult<Option<Repository>> {
        self.backend.read(|tx| get_repository(tx, ws, slug))
    }

    fn list_repositories(&self, ws: &str) -> StoreResult<Vec<Repository>> {
        self.backend.read(|tx| {
            tx.query(
                &format!("{REPOSITORY_SELECT} WHERE r.ws_key = ?1 ORDER BY r.slug_key"),
                &[Param::Text(&key(ws))],
            )?
            .into_iter()
            .map(repository_from)
            .collect()
        })
    }

    fn delete_repository(&self, ws: &str, slug: &str, now: i64) -> StoreResult<()> {
        self.backend.write(Write::Change, |tx| {
            let keys = [Param::Text(&key(ws)), Param::Text(&key(slug))];
            let n = tx.execute(
                "DELETE FROM repositories WHERE ws_key = ?1 AND slug_key = ?2",
                &keys,
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(Entity::Repository));
            }
            tx.execute(
                "UPDATE tokens SET deactivated_at = ?3 WHERE ws_key = ?1 AND kind = 'repository'
                   AND bound_key = ?2 AND deactivated_at IS NULL",
                &[keys[0], keys[1], Param::Int(now)],
            )?;
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
        self.backend.write(Write::Change, |tx| {
            require(get_repository(tx, ws, slug)?, Entity::Repository)?;
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
            if !same_workspace {
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
            require(get_repository(tx, to_ws, slug)?, Entity::Repository)
        })
    }

    fn insert_token(&self, token: NewToken) -> StoreResult<TokenRecord> {
        self.backend
            .write(Write::Change, |tx| insert_token(tx, &token))
    }

    fn list_tokens(
        &self,
        selection: TokenSelection<'_>,
        order: TokenOrder,
    ) -> StoreResult<Vec<TokenRecord>> {
        let order = match order {
            TokenOrder::OldestFirst => "created_at, id",
            TokenOrder::NewestFirst => "created_at DESC, id",
        };
        let (ws, kind, bound) = match selection {
            TokenSelection::InWorkspace(workspace) => (key(workspace), None, None),
            TokenSelection::Of(resource) => {
                let (ws, kind, bound) = resource_keys(resource);
                (ws, Some(kind), Some(bound.unwrap_or_default()))
            }
        };
        let mut params = vec![Param::Text(&ws)];
        let mut sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE ws_key = ?1");
        if let (Some(kind), Some(bound)) = (kind, &bound) {
            sql.push_str(" AND kind = ?2 AND coalesce(bound_key, '') = ?3");
            params.extend([Param::Text(kind), Param::Text(bound)]);
        }
        sql.push_str(" ORDER BY ");
        sql.push_str(order);
        self.backend.read(|tx| {
            tx.query(&sql, &params)?
                .into_iter()
                .map(token_row)
                .collect()
        })
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

    fn revoke_token(&self, id: &str, now: i64) -> StoreResult<TokenRecord> {
        self.backend.write(Write::Change, |tx| {
            let revoked = tx.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                &[Param::Text(id), Param::Int(now)],
            )?;
            let t = require(get_token(tx, id)?, Entity::Token)?;
            if revoked == 1 {
                webhooks::enqueue(tx, WebhookEvent::TokenRevoked, &t, now)?;
            }
            Ok(t)
        })
    }

    fn rotate_token(
        &self,
        old_id: &str,
        old_expires_at: Option<i64>,
        new: NewToken,
    ) -> StoreResult<TokenRecord> {
        self.backend.write(Write::Change, |tx| {
            let n = tx.execute(
                "UPDATE tokens SET expires_at = ?2 WHERE id = ?1",
                &[Param::Text(old_id), Param::NullableInt(old_expires_at)],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(Entity::Token));
            }
            let old = require(get_token(tx, old_id)?, Entity::Token)?;
            webhooks::enqueue(tx, WebhookEvent::TokenRotated, &old, new.created_at)?;
            insert_token(tx, &new)?;
            tx.execute(
                "UPDATE tokens SET rotated_from = ?2 WHERE id = ?1",
                &[Param::Text(&new.id), Param::Text(old_id)],
            )?;
            require(get_token(tx, &new.id)?, Entity::Token)
        })
    }

    fn record_access(&self, accesses: &[(String, i64)]) -> StoreResult<()> {
        if accesses.is_empty() {
            return Ok(());
        }
        // In id order, so that two hosts flushing overlapping batches cannot deadlock.
        let mut sorted: Vec<&(String, i64)> = accesses.iter().collect();
        sorted.sort();
        self.backend.write(Write::Commuting, |tx| {
            for (id, at) in sorted {
                tx.execute(
                    "UPDATE tokens SET last_accessed_at = ?2
                     WHERE id = ?1 AND (last_accessed_at IS NULL OR last_accessed_at < ?2)",
                    &[Param::Text(id), Param::Int(*at)],
                )?;
            }
            Ok(())
        })
    }

    fn admin_key_hash(&self) -> StoreResult<Option<SecretHash>> {
        self.backend.read(|tx| {
            let Some(mut row) = tx.query_opt(
                "SELECT value FROM settings WHERE name = 'admin_key_sha256'",
                &[],
            )?
            else {
                return Ok(None);
            };
            let bad = |e| corrupt("settings", "admin_key_sha256", e);
            let value = row.blob("value").map_err(bad)?;
            let hash: SecretHash = value
                .try_into()
                .map_err(|v: Vec<u8>| bad(format!("value has {} bytes, not 32", v.len())))?;
            Ok(Some(hash))
        })
    }

    fn set_admin_key_hash(&self, hash: &SecretHash) -> StoreResult<()> {
        self.backend.write(Write::Quiet, |tx| {
            tx.execute(
                "INSERT INTO settings (name, value) VALUES ('admin_key_sha256', ?1)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                &[Param::Blob(&hash[..])],
            )?;
            Ok(())
        })
    }

    fn change_marker(&self) -> StoreResult<i64> {
        self.backend.change_marker()
    }

    fn check_state(&self) -> StoreResult<CheckState> {
        self.backend.snapshot(|tx| {
            let generation = count(tx, B::GENERATION, &[])?;
            let tokens = tx
                .query(
                    &format!("SELECT {TOKEN_COLUMNS}, hash FROM tokens ORDER BY created_at, id"),
                    &[],
                )?
                .into_iter()
                .map(|mut row| {
                    let token = token_from(&mut row)?;
                    Ok((hash_from(&mut row, &token.id)?, token))
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let repositories = tx
                .query(
                    &format!("{REPOSITORY_SELECT} ORDER BY r.ws_key, r.slug_key"),
                    &[],
                )?
                .into_iter()
                .map(repository_from)
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(CheckState {
                generation,
                tokens,
                repositories,
            })
        })
    }
}
