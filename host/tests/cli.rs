//! The same lifecycle through the CLI, on the local store, and beside a running server.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::Value;
use std::time::Duration;

fn run(db: &str, args: &[&str]) -> (i32, String, String) {
    let out = cli(db, &real_policy(), args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok_json(db: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let (code, out, err) = run(db, &a);
    assert_eq!(code, 0, "{args:?}: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn check(db: &str, token: &str, method: &str, uri: &str) -> (i32, Value) {
    let out = std::process::Command::new(BIN)
        .args(["--db", db, "--policy", real_policy().to_str().unwrap()])
        .args(["check", "--method", method, "--uri", uri, "--json"])
        .env("SCOPEGATE_TOKEN", token)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

#[test]
fn lifecycle_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_named(dir.path(), "cli");
    ok_json(&db, &["workspace", "put", "acme", "--plan", "premium"]);
    ok_json(&db, &["project", "put", "acme", "PROJ"]);
    let r = ok_json(
        &db,
        &["repository", "put", "acme", "api", "--project", "PROJ"],
    );
    assert_eq!(r["project"], "PROJ");

    let (code, out, _) = run(&db, &["workspace", "list"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("WORKSPACE"), "a table by default: {out}");
    assert!(out.contains("acme") && out.contains("premium"));

    let expires = time_in(86400);
    let c = ok_json(
        &db,
        &[
            "token",
            "create",
            "acme",
            "--repository",
            "api",
            "--name",
            "ci",
            "--scope",
            "pullrequest",
            "--expires-at",
            &expires,
        ],
    );
    let id = c["id"].as_str().unwrap().to_string();
    let secret = c["token"].as_str().unwrap().to_string();
    assert!(scopegate_core::token::is_well_formed(
        secret.as_bytes(),
        scopegate_core::SecretKind::AccessToken
    ));

    // Human output of create shows the secret once; list and show never do.
    let (code, out, _) = run(&db, &["token", "list", "acme", "--repository", "api"]);
    assert_eq!(code, 0);
    assert!(out.contains(&id) && !out.contains(&secret), "{out}");
    let shown = ok_json(&db, &["token", "show", &id]);
    assert_eq!(shown["scopes"], serde_json::json!(["pullrequest"]));
    assert!(shown.get("token").is_none());

    let (code, v) = check(
        &db,
        &secret,
        "GET",
        "/2.0/repositories/acme/api/pullrequests",
    );
    assert_eq!((code, v["reason"].as_str()), (0, Some("allowed")), "{v}");
    let (code, v) = check(
        &db,
        &secret,
        "POST",
        "/2.0/repositories/acme/api/pullrequests",
    );
    assert_eq!(
        (code, v["reason"].as_str()),
        (1, Some("scope_missing")),
        "{v}"
    );
    let (code, v) = check(&db, "sgat_x", "GET", "/2.0/repositories/acme/api");
    assert_eq!((code, v["reason"].as_str()), (1, Some("token_malformed")));

    // Issuing failures carry the §6 reason.
    let (code, _, err) = run(
        &db,
        &[
            "token",
            "create",
            "acme",
            "--repository",
            "api",
            "--name",
            "x",
            "--scope",
            "wiki",
            "--expires-at",
            &expires,
            "--json",
        ],
    );
    assert_eq!(code, 6);
    assert!(err.contains("scope_not_allowed_for_kind"), "{err}");
    let (code, _, err) = run(&db, &["token", "show", "tok_missing"]);
    assert_eq!(code, 4);
    assert!(err.contains("token_not_found"), "{err}");

    let n = ok_json(
        &db,
        &["token", "rotate", &id, "--expires-at", &time_in(3600)],
    );
    let new_secret = n["token"].as_str().unwrap().to_string();
    assert_ne!(n["id"], c["id"]);
    ok_json(&db, &["token", "revoke", &id]);
    let (code, v) = check(&db, &secret, "GET", "/2.0/repositories/acme/api");
    assert_eq!((code, v["reason"].as_str()), (1, Some("token_revoked")));
    let (code, _) = check(&db, &new_secret, "GET", "/2.0/repositories/acme/api");
    assert_eq!(code, 0);

    let info = ok_json(&db, &["policy", "info"]);
    assert_eq!(info["abi_version"], 2);
    assert_eq!(info["operations"], 331);
    assert_eq!(
        info["sha256"],
        serde_json::json!(sha256_hex(&real_policy()))
    );
    let (code, out, _) = run(&db, &["policy", "info"]);
    assert_eq!(code, 0);
    assert!(out.contains("sha256") && out.contains("331"), "{out}");

    let (code, _, err) = run(&db, &["project", "delete", "acme", "PROJ"]);
    assert_eq!(code, 5, "{err}");
    ok_json(&db, &["repository", "delete", "acme", "api"]);
    let (code, v) = check(&db, &new_secret, "GET", "/2.0/repositories/acme/api");
    assert_eq!((code, v["reason"].as_str()), (1, Some("token_revoked")));
}

#[test]
fn cli_changes_reach_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let (id, tok) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    assert_eq!(
        s.check(Some(&tok), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );
    let out = cli(&s.db, &real_policy(), &["token", "revoke", &id]);
    assert!(out.status.success());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        s.check(Some(&tok), "GET", "/2.0/repositories/acme/api")
            .reason(),
        "token_revoked"
    );

    // And a token made by the CLI works on the server.
    let out = cli(
        &s.db,
        &real_policy(),
        &[
            "token",
            "create",
            "acme",
            "--name",
            "ws",
            "--scope",
            "repository",
            "--expires-at",
            &time_in(3600),
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = s.check(v["token"].as_str(), "GET", "/2.0/repositories/acme/api");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-credential-type").as_deref(),
        Some("workspace_access_token")
    );
}
