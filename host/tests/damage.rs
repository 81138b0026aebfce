//! Rows damaged behind the service's back, as a hand-edited or corrupted database would hold
//! them: SQL run on the store directly, with the schema's constraints set aside first (SQLite's
//! `ignore_check_constraints`; PostgreSQL's constraints dropped). Every check that meets a
//! damaged token is denied, never widened: a repository token whose repository is gone from its
//! row is not read as a workspace token. The admin API answers `store_corrupt`; undamaged
//! tokens keep working.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::json;

const API: &str = "/2.0/repositories/acme/api";
/// A sibling repository in another project of the same workspace.
const WEB: &str = "/2.0/repositories/acme/web";

/// Statements that set the schema's constraints aside, then the damage itself.
fn damage(db: &str, statement: &str) {
    let prefix = match backend() {
        Backend::Sqlite => "PRAGMA ignore_check_constraints = ON;",
        Backend::Postgres => "",
    };
    sql(db, &format!("{prefix}{statement}"));
}

fn drop_constraints(db: &str) {
    if backend() == Backend::Postgres {
        sql(
            db,
            "ALTER TABLE tokens DROP CONSTRAINT tokens_kind, DROP CONSTRAINT tokens_bound,
                 DROP CONSTRAINT tokens_hash, DROP CONSTRAINT tokens_scopes;
             ALTER TABLE workspaces DROP CONSTRAINT workspaces_plan;",
        );
    }
}

/// The schema refuses each damage while its constraints are in force.
#[test]
fn the_schema_refuses_damaged_rows() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let (id, _) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let refused = |statement: &str| -> bool {
        let statement = statement.replace("{id}", &id);
        match backend() {
            // SQLite enforces foreign keys on connections that ask, as the host's all do.
            Backend::Sqlite => rusqlite::Connection::open(&s.db)
                .unwrap()
                .execute_batch(&format!("PRAGMA foreign_keys = ON; {statement}"))
                .is_err(),
            Backend::Postgres => {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sql(&s.db, &statement)))
                    .is_err()
            }
        }
    };
    for statement in [
        "UPDATE tokens SET kind = 'bogus' WHERE id = '{id}'",
        "UPDATE tokens SET bound = NULL, bound_key = NULL WHERE id = '{id}'",
        "UPDATE tokens SET kind = 'workspace' WHERE id = '{id}'",
        "UPDATE tokens SET scopes = 'repository' WHERE id = '{id}'",
        "UPDATE tokens SET scopes = '[]' WHERE id = '{id}'",
        "UPDATE tokens SET scopes = '{\"a\": 1}' WHERE id = '{id}'",
        "UPDATE workspaces SET plan = 'gold'",
        "DELETE FROM projects WHERE key_key = 'proj'",
        "INSERT INTO repositories (ws_key, slug_key, slug, project_key, created_at)
           VALUES ('acme', 'orphan', 'orphan', 'nope', 0)",
    ] {
        assert!(refused(statement), "the schema took: {statement}");
    }
    // Nothing above changed the token.
    let r = s.admin("GET", &format!("/access-tokens/{id}"), None);
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn every_check_on_a_damaged_row_is_denied() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    assert_eq!(
        s.admin(
            "PUT",
            "/workspaces/acme/repositories/web",
            Some(json!({"project": "OTHER"}))
        )
        .status,
        201
    );
    let (_, control) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    drop_constraints(&s.db);

    // (what, resource the token is bound to, damage, the call that would be allowed if the
    // row were misread, the reason the check must give instead). A row whose kind or binding
    // was damaged no longer matches its resource's list; one whose scopes were damaged does.
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        (
            "a kind that is no kind",
            "/workspaces/acme/repositories/api",
            "UPDATE tokens SET kind = 'bogus' WHERE id = '{id}'",
            API,
            "store_unavailable",
        ),
        (
            "a repository token that names no repository",
            "/workspaces/acme/repositories/api",
            "UPDATE tokens SET bound = NULL, bound_key = NULL WHERE id = '{id}'",
            WEB,
            "store_unavailable",
        ),
        (
            "a project token that names no project",
            "/workspaces/acme/projects/PROJ",
            "UPDATE tokens SET bound = NULL, bound_key = NULL WHERE id = '{id}'",
            WEB,
            "store_unavailable",
        ),
        (
            "a workspace token bound to a repository",
            "/workspaces/acme",
            "UPDATE tokens SET bound = 'api', bound_key = 'api' WHERE id = '{id}'",
            API,
            "store_unavailable",
        ),
        (
            "scopes that are not JSON",
            "/workspaces/acme/repositories/api",
            "UPDATE tokens SET scopes = 'repository' WHERE id = '{id}'",
            API,
            "store_unavailable",
        ),
        (
            "no scopes",
            "/workspaces/acme/repositories/api",
            "UPDATE tokens SET scopes = '[]' WHERE id = '{id}'",
            API,
            "store_unavailable",
        ),
        (
            "scopes that are not strings",
            "/workspaces/acme/repositories/api",
            "UPDATE tokens SET scopes = '[1]' WHERE id = '{id}'",
            API,
            "store_unavailable",
        ),
    ];
    for (what, resource, statement, call, reason) in cases {
        let (id, secret) = s.issue(resource, &["repository"]);
        // Damaged before its first check: nothing of it is cached.
        damage(&s.db, &statement.replace("{id}", &id));
        let r = s.check(Some(&secret), "GET", call);
        assert_eq!(r.status, 403, "{what}: {}", r.text);
        assert_eq!(r.reason(), *reason, "{what}: {}", r.text);
        let shown = s.admin("GET", &format!("/access-tokens/{id}"), None);
        assert_eq!(shown.status, 500, "{what}: {}", shown.text);
        assert_eq!(shown.reason(), "store_corrupt", "{what}");
        let listed = s.admin("GET", &format!("{resource}/access-tokens"), None);
        if statement.contains("scopes") {
            assert_eq!(listed.status, 500, "{what}: {}", listed.text);
            assert_eq!(listed.reason(), "store_corrupt", "{what}");
        }
        // The damage stays with its row.
        assert_eq!(s.check(Some(&control), "GET", API).status, 200, "{what}");
    }

    // A hash that is not 32 bytes matches no presented token; the edge snapshot, which reads
    // every row, refuses to describe a store it can't read.
    let (id, secret) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let shorten = match backend() {
        Backend::Sqlite => "UPDATE tokens SET hash = substr(hash, 1, 16) WHERE id = '{id}'",
        Backend::Postgres => {
            "UPDATE tokens SET hash = substring(hash from 1 for 16) WHERE id = '{id}'"
        }
    };
    damage(&s.db, &shorten.replace("{id}", &id));
    let r = s.check(Some(&secret), "GET", API);
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.reason(), "token_unknown");
    let snapshot = s.admin("GET", "/edge/snapshot", None);
    assert_eq!(snapshot.status, 500, "{}", snapshot.text);
    assert_eq!(snapshot.reason(), "store_corrupt");

    // A workspace whose plan is no plan: its settings can't be read, so nothing is issued
    // under them.
    damage(
        &s.db,
        "UPDATE workspaces SET plan = 'gold' WHERE slug_key = 'acme'",
    );
    let r = s.admin("GET", "/workspaces/acme", None);
    assert_eq!(r.status, 500, "{}", r.text);
    assert_eq!(r.reason(), "store_corrupt");
    let r = s.admin(
        "POST",
        "/workspaces/acme/access-tokens",
        Some(json!({"name": "t", "scopes": ["repository"], "expires_at": time_in(3600)})),
    );
    assert_eq!(r.status, 500, "{}", r.text);
    assert_eq!(r.reason(), "store_corrupt");
    assert_eq!(s.check(Some(&control), "GET", API).status, 200);
}
