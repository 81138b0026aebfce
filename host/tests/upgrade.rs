//! Migrations tested as upgrades: a store that the schema of version 2 wrote (the schema on main
//! when this test was written) upgrades in place on the host's first start, and every token,
//! hash, state and timestamp is kept.
//!
//! The old store is built from committed dumps, never by today's code: `fixtures/schema-v2.*.sql`
//! were written by the real `scopegate serve` of commit c91c5bae6094e282663aac7f24f8c4674b5f9e9f
//! (`fixtures/make-schema-v2.sh` says how, and makes them again from a checkout of that
//! commit), and `fixtures/schema-v2.json` holds what it stored: each token's secret, hash and
//! every field, the admin key, the generation counter, the workspaces with their projects and
//! repositories. Tokens: all three kinds, active (with and without an expiry), expired, revoked,
//! rotated (the predecessor's expiry shortened, the successor's `rotated_from`), deactivated by
//! deleting a repository, a project and a workspace, revoked by a transfer, some with a
//! `last_accessed_at`, scopes from one to fifteen; a repository moved between projects.
//!
//! Time goes on after the fixture was made: a token that was active with an expiry is expected
//! expired once its `expires_at` has passed (the rotated predecessors 30 minutes after the dump,
//! the others within a year). The four without an expiry stay active for good, so the allowed
//! checks never run out.
//!
//! The same test runs on SQLite and, with `SCOPEGATE_TEST_DB=postgres`, on PostgreSQL.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use scopegate_host::store::{DbTarget, Resource};
use scopegate_host::token::{hash, to_hex};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture() -> Value {
    let text = std::fs::read_to_string(fixtures().join("schema-v2.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn opt_i64(v: &Value) -> Option<i64> {
    v.as_i64()
}

fn opt_str(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn tokens(f: &Value) -> &Vec<Value> {
    f["tokens"].as_array().unwrap()
}

/// The state a fixture token is in now: what it was at the dump, unless it expired since.
fn state_now(t: &Value, now: i64) -> &str {
    let at_dump = t["state"].as_str().unwrap();
    match opt_i64(&t["expires_at"]) {
        Some(e) if at_dump == "active" && now >= e => "expired",
        _ => at_dump,
    }
}

fn rfc3339(v: &Value) -> Value {
    match v.as_i64() {
        Some(t) => Value::String(
            time::OffsetDateTime::from_unix_timestamp(t)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap(),
        ),
        None => Value::Null,
    }
}

fn resource_of(t: &Value) -> Resource {
    let workspace = t["workspace"].as_str().unwrap().to_string();
    match t["kind"].as_str().unwrap() {
        "workspace" => Resource::Workspace { workspace },
        "project" => Resource::Project {
            workspace,
            project: t["project"].as_str().unwrap().to_string(),
        },
        "repository" => Resource::Repository {
            workspace,
            repository: t["repository"].as_str().unwrap().to_string(),
        },
        k => panic!("fixture token of kind {k}"),
    }
}

/// The admin API path of a token's resource.
fn resource_path(t: &Value) -> String {
    let ws = t["workspace"].as_str().unwrap();
    match t["kind"].as_str().unwrap() {
        "workspace" => format!("/workspaces/{ws}"),
        "project" => format!(
            "/workspaces/{ws}/projects/{}",
            t["project"].as_str().unwrap()
        ),
        _ => format!(
            "/workspaces/{ws}/repositories/{}",
            t["repository"].as_str().unwrap()
        ),
    }
}

/// Whether a token's resource still exists, by the fixture's workspaces.
fn resource_exists(f: &Value, t: &Value) -> bool {
    let ws = t["workspace"].as_str().unwrap();
    let Some(w) = f["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["slug"].as_str().unwrap().eq_ignore_ascii_case(ws))
    else {
        return false;
    };
    let named = |list: &str, field: &str, name: &str| {
        w[list]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x[field].as_str().unwrap().eq_ignore_ascii_case(name))
    };
    match t["kind"].as_str().unwrap() {
        "workspace" => true,
        "project" => named("projects", "key", t["project"].as_str().unwrap()),
        _ => named("repositories", "slug", t["repository"].as_str().unwrap()),
    }
}

fn psql_file(db: &str, file: &Path) {
    let pg = pg();
    let out = Command::new(pg.bin.join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction"])
        .args(["-U", "postgres", "-h"])
        .arg(&pg.socket_dir)
        .arg("-p")
        .arg(pg.port.to_string())
        .args(["-d", db, "-f"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "loading {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new store holding the old schema and rows: the fixture's dump loaded as it is.
fn old_store(dir: &Path) -> String {
    let db = db_named(dir, "upgrade");
    match backend() {
        Backend::Sqlite => {
            let sql = std::fs::read_to_string(fixtures().join("schema-v2.sqlite.sql")).unwrap();
            rusqlite::Connection::open(&db)
                .unwrap()
                .execute_batch(&sql)
                .unwrap();
        }
        Backend::Postgres => psql_file(
            PgServer::db_of(&db),
            &fixtures().join("schema-v2.postgres.sql"),
        ),
    }
    assert_eq!(
        schema_version(&db),
        2,
        "the fixture is not at schema version 2"
    );
    db
}

/// The store's migration counter: `PRAGMA user_version` in SQLite, `schema_version` in PostgreSQL.
fn schema_version(db: &str) -> i64 {
    match backend() {
        Backend::Sqlite => rusqlite::Connection::open(db)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap(),
        Backend::Postgres => pg()
            .psql(PgServer::db_of(db), "SELECT version FROM schema_version")
            .trim()
            .parse()
            .unwrap(),
    }
}

/// The raw `hash` column, hex, by token id.
fn raw_hashes(db: &str) -> BTreeMap<String, String> {
    match backend() {
        Backend::Sqlite => {
            let c = rusqlite::Connection::open(db).unwrap();
            let mut st = c.prepare("SELECT id, hex(hash) FROM tokens").unwrap();
            st.query_map([], |r| {
                Ok((r.get(0)?, r.get::<_, String>(1)?.to_lowercase()))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        }
        Backend::Postgres => pg()
            .psql(
                PgServer::db_of(db),
                "SELECT id || ' ' || encode(hash, 'hex') FROM tokens",
            )
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(id, h)| (id.to_string(), h.to_string()))
            .collect(),
    }
}

/// Everything the store holds, schema and rows, to compare before and after an open.
fn snapshot(db: &str) -> String {
    match backend() {
        Backend::Sqlite => {
            use rusqlite::types::Value as V;
            let c = rusqlite::Connection::open(db).unwrap();
            let version: i64 = c
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            let mut out = format!("user_version {version}\n");
            let mut st = c
                .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
                .unwrap();
            let objects: Vec<(String, String, String, Option<String>)> = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for (kind, name, table, sql) in &objects {
                out.push_str(&format!("{kind} {name} on {table}: {sql:?}\n"));
                if kind != "table" {
                    continue;
                }
                let mut st = c.prepare(&format!("SELECT * FROM \"{name}\"")).unwrap();
                let n = st.column_count();
                let mut rows: Vec<String> = st
                    .query_map([], |r| {
                        (0..n)
                            .map(|i| r.get::<_, V>(i))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .unwrap()
                    .map(|r| format!("  {:?}\n", r.unwrap()))
                    .collect();
                rows.sort();
                out.extend(rows);
            }
            out
        }
        // Less the random key of the restore guard that newer pg_dump writes each time.
        Backend::Postgres => String::from_utf8(pg().pg_dump(PgServer::db_of(db)))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
            .map(|l| format!("{l}\n"))
            .collect(),
    }
}

/// Two snapshots are equal, or the first line where they differ is shown.
fn assert_same(got: &str, want: &str, what: &str) {
    if got == want {
        return;
    }
    let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    let i = (0..g.len().max(w.len()))
        .find(|&i| g.get(i) != w.get(i))
        .unwrap_or(0);
    panic!(
        "{what}: line {}: {:?} where it was {:?}",
        i + 1,
        g.get(i),
        w.get(i)
    );
}

fn start_on(dir: &Path, db: &str) -> Server {
    start(
        dir,
        Options {
            policy: real_policy(),
            db: db.to_string(),
            // The store's own admin key: the one the fixture's host generated and stored hashed.
            admin_key: None,
            extra: vec![],
        },
    )
}

fn stop(mut s: Server) {
    s.signal(libc::SIGTERM);
    let _ = s.child.wait();
}

fn admin(s: &Server, key: Option<&str>, method: &str, path: &str) -> Resp {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s.http.request(m, s.url(&format!("/admin/v1{path}")));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    s.raw(req)
}

/// The admin key of the fixture opens the admin API, and only it: no new key was generated.
fn assert_admin_key_kept(s: &Server, f: &Value) {
    let key = f["admin_key"].as_str().unwrap();
    let out = std::fs::read_to_string(&s.stdout).unwrap();
    assert!(
        !out.contains("admin key (shown once"),
        "the host generated a new admin key: the stored one was lost\n{out}"
    );
    assert_eq!(admin(s, Some(key), "GET", "/workspaces").status, 200);
    let r = admin(s, Some(ADMIN_KEY), "GET", "/workspaces");
    assert_eq!((r.status, r.reason().as_str()), (401, "admin_key_invalid"));
    let r = admin(s, None, "GET", "/workspaces");
    assert_eq!((r.status, r.reason().as_str()), (401, "admin_key_missing"));
}

/// What the admin API shows: workspaces with their projects and repositories, every token's
/// metadata by id, and each resource's token list.
fn assert_api_kept(s: &Server, f: &Value) {
    let key = f["admin_key"].as_str().unwrap();
    let now = now();
    let want_ws = f["workspaces"].as_array().unwrap();
    let r = admin(s, Some(key), "GET", "/workspaces");
    assert_eq!(r.status, 200, "{}", r.text);
    let listed: Vec<Value> = r.json()["values"].as_array().unwrap().clone();
    assert_eq!(listed.len(), want_ws.len(), "{}", r.text);
    for w in want_ws {
        let slug = w["slug"].as_str().unwrap();
        let brief = listed.iter().find(|l| l["slug"] == w["slug"]).unwrap();
        assert_eq!(brief["plan"], w["plan"], "{slug}");
        assert_eq!(brief["token_policy"], w["token_policy"], "{slug}");
        let r = admin(s, Some(key), "GET", &format!("/workspaces/{slug}"));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(&r.json(), w, "workspace {slug}");
    }

    let mut lists: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for t in tokens(f) {
        let id = t["id"].as_str().unwrap();
        let label = t["label"].as_str().unwrap();
        let r = admin(s, Some(key), "GET", &format!("/access-tokens/{id}"));
        assert_eq!(r.status, 200, "{label}: {}", r.text);
        let v = r.json();
        let revoked = if t["revoked_at"].is_null() {
            rfc3339(&t["deactivated_at"])
        } else {
            rfc3339(&t["revoked_at"])
        };
        let want = [
            ("id", t["id"].clone()),
            ("name", t["name"].clone()),
            ("kind", t["kind"].clone()),
            ("workspace", t["workspace"].clone()),
            ("project", t["project"].clone()),
            ("repository", t["repository"].clone()),
            ("scopes", t["scopes"].clone()),
            ("created_at", rfc3339(&t["created_at"])),
            ("expires_at", rfc3339(&t["expires_at"])),
            ("last_accessed_at", rfc3339(&t["last_accessed_at"])),
            ("revoked_at", revoked),
            ("state", Value::from(state_now(t, now))),
            ("rotated_from", t["rotated_from"].clone()),
        ];
        for (field, want) in want {
            let got = v.get(field).cloned().unwrap_or(Value::Null);
            assert_eq!(got, want, "{label} ({id}): {field} in {v}");
        }
        lists.entry(resource_path(t)).or_default().push(t);
    }
    for (path, mut want) in lists {
        let r = admin(s, Some(key), "GET", &format!("{path}/access-tokens"));
        if !resource_exists(f, want[0]) {
            assert_eq!(r.status, 404, "{path} is gone, yet: {}", r.text);
            continue;
        }
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        // Newest first, then by id.
        want.sort_by_key(|t| {
            (
                std::cmp::Reverse(t["created_at"].as_i64().unwrap()),
                t["id"].as_str().unwrap().to_string(),
            )
        });
        let want: Vec<&str> = want.iter().map(|t| t["id"].as_str().unwrap()).collect();
        let got: Vec<String> = r.json()["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "the tokens of {path}");
    }
}

/// The store read directly (the host stopped): every record and hash as the fixture has it.
fn assert_store_kept(db: &str, f: &Value) {
    let store = DbTarget::parse(db).open().unwrap();
    let mut state = scopegate_host::store::CheckState::default();
    store.check_state(&mut state).unwrap();
    let fixture_generation = f["generation"].as_i64().unwrap();
    assert!(
        state.generation >= fixture_generation,
        "the generation went back from {fixture_generation} to {}: other hosts would miss changes",
        state.generation
    );
    assert_eq!(store.change_marker().unwrap(), state.generation);

    let got: BTreeMap<&str, _> = state
        .tokens
        .iter()
        .map(|(h, r)| (r.id.as_str(), (h, r)))
        .collect();
    let want_ids: BTreeSet<&str> = tokens(f)
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        got.keys().copied().collect::<BTreeSet<_>>(),
        want_ids,
        "the set of stored tokens"
    );
    for t in tokens(f) {
        let label = t["label"].as_str().unwrap();
        let (stored, r) = got[t["id"].as_str().unwrap()];
        assert_eq!(
            to_hex(&stored[..]),
            t["hash"].as_str().unwrap(),
            "{label}: hash"
        );
        assert_eq!(r.name, t["name"].as_str().unwrap(), "{label}: name");
        assert_eq!(r.resource, resource_of(t), "{label}: resource");
        let scopes: Vec<String> = serde_json::from_value(t["scopes"].clone()).unwrap();
        assert_eq!(r.scopes, scopes, "{label}: scopes");
        assert_eq!(Some(r.created_at), opt_i64(&t["created_at"]), "{label}");
        assert_eq!(
            r.expires_at,
            opt_i64(&t["expires_at"]),
            "{label}: expires_at"
        );
        assert_eq!(
            r.revoked_at,
            opt_i64(&t["revoked_at"]),
            "{label}: revoked_at"
        );
        assert_eq!(
            r.deactivated_at,
            opt_i64(&t["deactivated_at"]),
            "{label}: deactivated_at"
        );
        assert_eq!(
            r.last_accessed_at,
            opt_i64(&t["last_accessed_at"]),
            "{label}: last_accessed_at"
        );
        assert_eq!(
            r.rotated_from,
            opt_str(&t["rotated_from"]),
            "{label}: rotated_from"
        );
        // The lookup /check makes finds the same record.
        let by_hash = store.token_by_hash(stored).unwrap().unwrap();
        assert_eq!(by_hash.id, r.id, "{label}: token_by_hash");
        // And the secret hashes to it.
        let secret = t["secret"].as_str().unwrap();
        assert_eq!(hash(secret), *stored, "{label}: secret");
    }
    let raw = raw_hashes(db);
    for t in tokens(f) {
        assert_eq!(
            raw.get(t["id"].as_str().unwrap()).map(String::as_str),
            t["hash"].as_str(),
            "raw hash column of {}",
            t["label"]
        );
    }

    // The stored admin key is now the `owner` credential `bootstrap`, under the same hash.
    let admin_hash = hash(f["admin_key"].as_str().unwrap());
    assert_eq!(to_hex(&admin_hash), f["admin_key_sha256"].as_str().unwrap());
    let bootstrap = store
        .credential_by_hash(&admin_hash)
        .unwrap()
        .expect("the admin key hash was lost");
    assert_eq!(bootstrap.id, "bootstrap");
    assert_eq!(bootstrap.role, scopegate_host::store::Role::Owner);
    assert!(bootstrap.revoked_at.is_none() && bootstrap.workspace.is_none());

    // Workspaces, projects and repositories, through the trait as well as the API.
    let mut repos_want = BTreeSet::new();
    let mut projects_want = BTreeSet::new();
    let all = scopegate_host::store::PageRequest::first(1000);
    let workspaces = store.list_workspaces(&all).unwrap().items;
    assert_eq!(workspaces.len(), f["workspaces"].as_array().unwrap().len());
    for w in f["workspaces"].as_array().unwrap() {
        let slug = w["slug"].as_str().unwrap();
        let got = store.get_workspace(slug).unwrap().unwrap();
        assert_eq!(serde_json::to_value(got.plan).unwrap(), w["plan"]);
        assert_eq!(
            serde_json::to_value(&got.token_policy).unwrap(),
            w["token_policy"]
        );
        for p in w["projects"].as_array().unwrap() {
            projects_want.insert((slug.to_string(), p["key"].as_str().unwrap().to_string()));
        }
        for r in w["repositories"].as_array().unwrap() {
            repos_want.insert((
                slug.to_string(),
                r["slug"].as_str().unwrap().to_string(),
                r["project"].as_str().unwrap().to_string(),
            ));
        }
    }
    let projects_got: BTreeSet<_> = workspaces
        .iter()
        .flat_map(|w| store.list_projects(&w.slug, &all).unwrap().items)
        .map(|p| (p.workspace, p.key))
        .collect();
    assert_eq!(projects_got, projects_want);
    let repos_got: BTreeSet<_> = state
        .repositories
        .iter()
        .map(|r| (r.workspace.clone(), r.slug.clone(), r.project.clone()))
        .collect();
    assert_eq!(repos_got, repos_want);
}

/// `/check` with each token's secret: the fixture's answers for an active token, the denial of
/// its state otherwise. Returns the ids that were allowed at least once.
fn assert_checks(s: &Server, f: &Value) -> BTreeSet<String> {
    let now = now();
    let mut allowed = BTreeSet::new();
    for t in tokens(f) {
        let label = t["label"].as_str().unwrap();
        let state = state_now(t, now);
        let checks = t["checks"].as_array().unwrap();
        assert!(!checks.is_empty(), "{label} has no checks");
        for c in checks {
            let (method, uri) = (c["method"].as_str().unwrap(), c["uri"].as_str().unwrap());
            let want = match state {
                "active" => (
                    c["status"].as_u64().unwrap() as u16,
                    c["reason"].as_str().unwrap(),
                ),
                "expired" => (401, "token_expired"),
                "revoked" | "deactivated" => (401, "token_revoked"),
                other => panic!("{label}: state {other}"),
            };
            let r = s.check(t["secret"].as_str(), method, uri);
            let reason = if r.status == 200 {
                "allowed".to_string()
            } else {
                r.reason()
            };
            assert_eq!(
                (r.status, reason.as_str()),
                want,
                "{label} ({state}) on {method} {uri}: {}",
                r.text
            );
            if r.status == 200 {
                assert_eq!(r.header("x-token-id").as_deref(), t["id"].as_str());
                allowed.insert(t["id"].as_str().unwrap().to_string());
            }
        }
    }
    allowed
}

#[test]
fn a_version_2_store_upgrades_in_place_and_keeps_every_token() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = old_store(dir.path());

    // First start: the host migrates the old store.
    let s = start_on(dir.path(), &db);
    assert_admin_key_kept(&s, &f);
    assert_api_kept(&s, &f);
    stop(s);
    let migrated = schema_version(&db);
    assert!(migrated >= 2, "schema version {migrated}");

    // The records themselves, hashes and fields the API does not show included.
    let before = snapshot(&db);
    assert_store_kept(&db, &f);
    // That was a second open: it changed nothing, and a third changes nothing either.
    assert_eq!(schema_version(&db), migrated);
    assert_same(&snapshot(&db), &before, "a second open changed the store");
    drop(DbTarget::parse(&db).open().unwrap());
    assert_same(&snapshot(&db), &before, "a third open changed the store");

    // And the gate answers for each token as its state says.
    let started = now();
    let s = start_on(dir.path(), &db);
    assert_admin_key_kept(&s, &f);
    let allowed = assert_checks(&s, &f);
    assert!(
        allowed.len() >= 4,
        "too few active tokens were checked: {allowed:?}"
    );
    // Allowed checks are recorded as accesses; denied ones leave the fixture's value.
    let key = f["admin_key"].as_str().unwrap();
    for t in tokens(&f) {
        let id = t["id"].as_str().unwrap();
        let v = admin(&s, Some(key), "GET", &format!("/access-tokens/{id}")).json();
        if allowed.contains(id) {
            let at = time::OffsetDateTime::parse(
                v["last_accessed_at"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
            .unix_timestamp();
            assert!(at >= started, "{id}: last_accessed_at {at} < {started}");
        } else {
            assert_eq!(
                v["last_accessed_at"],
                rfc3339(&t["last_accessed_at"]),
                "{id}"
            );
        }
    }
    stop(s);
}
