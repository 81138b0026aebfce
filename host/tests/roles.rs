//! Admin credentials and their roles (SPEC §11), call by call: every operation of the admin API,
//! as the served OpenAPI document lists it, tried with a credential of every role. A call
//! outside the role is 403 `role_forbidden`; one inside it is anything else. And a revoked
//! credential stops working on every host of the store at once.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The roles tried, by the name this test gives them: (role, workspace it is bound to).
const ROLES: [(&str, &str, Option<&str>); 6] = [
    ("owner", "owner", None),
    ("manager", "token-manager", Some("acme")),
    ("auditor", "auditor", None),
    ("acme-auditor", "auditor", Some("acme")),
    ("snapshot", "snapshot-reader", None),
    ("introspect", "introspect", None),
];

/// Who may call each operation (by its id in the document), every call being about workspace
/// `acme`. Written out from SPEC §11, not from the host's table, so the two are compared.
fn expected() -> BTreeMap<&'static str, &'static [&'static str]> {
    const READ_ACME: &[&str] = &["owner", "manager", "auditor", "acme-auditor"];
    const MANAGE_ACME: &[&str] = &["owner", "manager"];
    const OWNER: &[&str] = &["owner"];
    const READ_ALL: &[&str] = &["owner", "auditor"];
    const EVERYONE: &[&str] = &[
        "owner",
        "manager",
        "auditor",
        "acme-auditor",
        "snapshot",
        "introspect",
    ];
    BTreeMap::from([
        ("whoami", EVERYONE),
        ("list_workspaces", READ_ALL),
        ("list_projects", READ_ACME),
        ("list_repositories", READ_ACME),
        ("get_workspace", READ_ACME),
        ("put_workspace", OWNER),
        ("delete_workspace", OWNER),
        ("put_project", MANAGE_ACME),
        ("delete_project", MANAGE_ACME),
        ("put_repository", MANAGE_ACME),
        ("delete_repository", MANAGE_ACME),
        ("transfer_repository", MANAGE_ACME),
        ("create_ws_token", MANAGE_ACME),
        ("list_ws_tokens", READ_ACME),
        ("create_project_token", MANAGE_ACME),
        ("list_project_tokens", READ_ACME),
        ("create_repo_token", MANAGE_ACME),
        ("list_repo_tokens", READ_ACME),
        ("show_token", READ_ACME),
        ("revoke_token", MANAGE_ACME),
        ("rotate_token", MANAGE_ACME),
        ("edge_snapshot", &["owner", "auditor", "snapshot"]),
        ("policy_info", READ_ALL),
        ("policy_reload", OWNER),
        ("create_credential", OWNER),
        ("list_credentials", READ_ALL),
        ("revoke_credential", OWNER),
        ("read_audit", &["owner", "auditor", "acme-auditor"]),
        ("put_webhook", OWNER),
        ("get_webhook", READ_ACME),
        ("list_webhooks", READ_ACME),
        ("delete_webhook", OWNER),
    ])
}

fn create_credential(s: &Server, role: &str, workspace: Option<&str>) -> (String, String) {
    let r = s.admin(
        "POST",
        "/credentials",
        Some(json!({"name": format!("{role} for tests"), "role": role, "workspace": workspace})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    let secret = v["credential"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("sgak_") && secret.len() == 51,
        "{secret}"
    );
    (v["id"].as_str().unwrap().to_string(), secret)
}

fn call(s: &Server, secret: &str, method: &str, path: &str, body: Option<&Value>) -> Resp {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s
        .http
        .request(m, s.url(&format!("/admin/v1{path}")))
        .bearer_auth(secret);
    if let Some(b) = body {
        req = req.json(b);
    }
    s.raw(req)
}

/// A request body each operation accepts, so that an allowed call does its work.
fn body_for(operation: &str) -> Option<Value> {
    let token = json!({"name": "t", "scopes": ["repository"], "expires_at": time_in(3600)});
    match operation {
        "put_workspace" => Some(json!({"plan": "premium"})),
        "put_repository" => Some(json!({"project": "PROJ"})),
        "transfer_repository" => Some(json!({"workspace": "acme", "project": "OTHER"})),
        "create_ws_token" | "create_project_token" | "create_repo_token" => Some(token),
        "rotate_token" => Some(json!({"expires_at": time_in(3600)})),
        "create_credential" => Some(json!({"name": "made", "role": "auditor"})),
        "put_webhook" => Some(
            json!({"url": "http://127.0.0.1:9/hook", "secret": "s3cret-for-tests",
                                     "events": ["token.revoked"]}),
        ),
        _ => None,
    }
}

#[test]
fn every_admin_call_is_checked_against_the_role_table() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let (token_id, _) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let credentials: BTreeMap<&str, String> = ROLES
        .iter()
        .map(|(name, role, ws)| (*name, create_credential(&s, role, *ws).1))
        .collect();
    let (victim, _) = create_credential(&s, "auditor", None);

    let doc = s.admin("GET", "/openapi.json", None).json();
    let expected = expected();
    let mut seen = Vec::new();
    // Everyone but the owner first, so that the owner's deletions come last.
    let order: Vec<&str> = ROLES.iter().rev().map(|(name, ..)| *name).collect();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(admin_path) = path.strip_prefix("/admin/v1") else {
            continue;
        };
        if admin_path == "/openapi.json" {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            let allowed = expected
                .get(id)
                .unwrap_or_else(|| panic!("no expectation for {id}: add it to this test"));
            seen.push(id.to_string());
            let concrete = admin_path
                .replace("{ws}", "acme")
                .replace("{key}", "PROJ")
                .replace("{slug}", "api")
                .replace("{name}", "ci")
                .replace(
                    "{id}",
                    if admin_path.starts_with("/credentials") {
                        &victim
                    } else {
                        &token_id
                    },
                );
            let method = method.to_uppercase();
            for name in &order {
                let r = call(
                    &s,
                    &credentials[name],
                    &method,
                    &concrete,
                    body_for(id).as_ref(),
                );
                if allowed.contains(name) {
                    assert!(
                        r.status != 403 && r.status != 401,
                        "{name} may {method} {concrete} ({id}) but got {}: {}",
                        r.status,
                        r.text
                    );
                } else {
                    assert_eq!(
                        (r.status, r.reason()),
                        (403, "role_forbidden".to_string()),
                        "{name} may not {method} {concrete} ({id}): {}",
                        r.text
                    );
                }
            }
        }
    }
    // Every operation of the table was in the document.
    let mut listed: Vec<&str> = expected.keys().copied().collect();
    listed.retain(|id| !seen.iter().any(|s| s == id));
    assert!(listed.is_empty(), "not in the document: {listed:?}");

    // A bound role reaches nothing outside its workspace, even where its role would allow it.
    s.admin("PUT", "/workspaces/other", Some(json!({"plan": "premium"})));
    s.admin("PUT", "/workspaces/other/projects/P", None);
    let manager = &credentials["manager"];
    for (method, path, body) in [
        ("GET", "/workspaces/other", None),
        ("PUT", "/workspaces/other/projects/Q", None),
        ("GET", "/workspaces/other/access-tokens", None),
        (
            "POST",
            "/workspaces/other/access-tokens",
            body_for("create_ws_token"),
        ),
        // Out of its workspace, or into another one.
        (
            "POST",
            "/workspaces/other/repositories/x/transfer",
            Some(json!({"workspace": "acme", "project": "PROJ"})),
        ),
    ] {
        let r = call(&s, manager, method, path, body.as_ref());
        assert_eq!(
            (r.status, r.reason()),
            (403, "role_forbidden".into()),
            "{method} {path}"
        );
    }
    s.admin("PUT", "/workspaces/acme", Some(json!({"plan": "premium"})));
    s.admin("PUT", "/workspaces/acme/projects/PROJ", None);
    s.admin(
        "PUT",
        "/workspaces/acme/repositories/web",
        Some(json!({"project": "PROJ"})),
    );
    let r = call(
        &s,
        manager,
        "POST",
        "/workspaces/acme/repositories/web/transfer",
        Some(&json!({"workspace": "other", "project": "P"})),
    );
    assert_eq!(
        (r.status, r.reason()),
        (403, "role_forbidden".into()),
        "{}",
        r.text
    );
    let other_token = s.issue("/workspaces/other", &["repository"]).0;
    for (method, path) in [
        ("GET", format!("/access-tokens/{other_token}")),
        ("DELETE", format!("/access-tokens/{other_token}")),
    ] {
        let r = call(&s, manager, method, &path, None);
        assert_eq!(
            (r.status, r.reason()),
            (403, "role_forbidden".into()),
            "{method} {path}"
        );
    }
    let acme_auditor = &credentials["acme-auditor"];
    let r = call(&s, acme_auditor, "GET", "/audit?workspace=other", None);
    assert_eq!((r.status, r.reason()), (403, "role_forbidden".into()));
    // Its own workspace's entries only, asked for or not.
    let r = call(&s, acme_auditor, "GET", "/audit?limit=1000", None);
    assert_eq!(r.status, 200, "{}", r.text);
    let entries = r.json()["values"].as_array().unwrap().clone();
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|e| e["workspace"] == "acme"),
        "{entries:?}"
    );
}

#[test]
fn credentials_are_shown_once_bound_as_their_role_says_and_revoked_on_every_host_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = start_real(dir.path());
    // A second host on the same store.
    let mut opts = Options::new(dir.path(), real_policy());
    opts.db = a.db.clone();
    let b = start(dir.path(), opts);
    a.seed();

    let past = time_in(-60);
    for (body, status, reason) in [
        (
            json!({"name": "x", "role": "token-manager"}),
            422,
            "invalid_role_binding",
        ),
        (
            json!({"name": "x", "role": "owner", "workspace": "acme"}),
            422,
            "invalid_role_binding",
        ),
        (
            json!({"name": "x", "role": "snapshot-reader", "workspace": "acme"}),
            422,
            "invalid_role_binding",
        ),
        (
            json!({"name": "x", "role": "auditor", "expires_at": past}),
            422,
            "invalid_role_binding",
        ),
        (json!({"name": "x", "role": "root"}), 400, "invalid_body"),
        (
            json!({"name": "x", "role": "auditor", "expires": null}),
            400,
            "invalid_body",
        ),
        (
            json!({"name": "  ", "role": "auditor"}),
            400,
            "invalid_body",
        ),
    ] {
        let r = a.admin("POST", "/credentials", Some(body.clone()));
        assert_eq!(
            (r.status, r.reason()),
            (status, reason.into()),
            "{body}: {}",
            r.text
        );
    }
    let r = a.admin(
        "POST",
        "/credentials",
        Some(json!({"name": "x", "role": "token-manager", "workspace": "nowhere"})),
    );
    assert_eq!((r.status, r.reason()), (404, "workspace_not_found".into()));

    let (id, secret) = create_credential(&a, "token-manager", Some("ACME"));
    let list = a.admin("GET", "/credentials", None);
    assert_eq!(list.status, 200);
    assert!(!list.text.contains(&secret), "a list shows the secret");
    let mine = list.json()["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(mine["role"], "token-manager");
    assert_eq!(
        mine["workspace"], "acme",
        "bound to the workspace as stored"
    );
    assert!(mine["revoked_at"].is_null());

    // It works on both hosts; revoked through one, it is refused by the other at once.
    for host in [&a, &b] {
        let r = call(host, &secret, "GET", "/workspaces/acme/access-tokens", None);
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert_eq!(
        a.admin("DELETE", &format!("/credentials/{id}"), None)
            .status,
        204
    );
    for host in [&b, &a] {
        let r = call(host, &secret, "GET", "/workspaces/acme/access-tokens", None);
        assert_eq!((r.status, r.reason()), (401, "admin_key_invalid".into()));
    }
    // Idempotent, and an unknown id is 404.
    assert_eq!(
        a.admin("DELETE", &format!("/credentials/{id}"), None)
            .status,
        204
    );
    let r = a.admin("DELETE", "/credentials/cred_nope", None);
    assert_eq!((r.status, r.reason()), (404, "credential_not_found".into()));

    // The CLI manages them on the local store too.
    let out = cli(
        &a.db,
        &a.policy,
        &[
            "--json",
            "credential",
            "create",
            "--name",
            "edge",
            "--role",
            "snapshot-reader",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    let edge_secret = made["credential"].as_str().unwrap();
    let r = call(&b, edge_secret, "GET", "/edge/snapshot", None);
    assert_eq!(r.status, 200);
    let out = cli(&a.db, &a.policy, &["credential", "list"]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.starts_with("ID") && table.contains("snapshot-reader"),
        "{table}"
    );
    assert!(!table.contains(edge_secret));
    let out = cli(
        &a.db,
        &a.policy,
        &["credential", "revoke", made["id"].as_str().unwrap()],
    );
    assert!(out.status.success());
    let r = call(&a, edge_secret, "GET", "/edge/snapshot", None);
    assert_eq!(r.status, 401);

    // An expired credential is refused like a revoked one.
    let soon = time_in(2);
    let r = a.admin(
        "POST",
        "/credentials",
        Some(json!({"name": "brief", "role": "auditor", "expires_at": soon})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let brief = r.json()["credential"].as_str().unwrap().to_string();
    assert_eq!(call(&a, &brief, "GET", "/workspaces", None).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(3100));
    assert_eq!(call(&a, &brief, "GET", "/workspaces", None).status, 401);
}

#[test]
fn the_generated_bootstrap_key_is_an_owner_credential() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::new(dir.path(), real_policy());
    opts.admin_key = None;
    let s = start(dir.path(), opts);
    let stdout = String::from_utf8(read_all(&s.stdout)).unwrap();
    let key = stdout
        .lines()
        .find_map(|l| l.strip_prefix("admin key (shown once, store it now): "))
        .expect("the key is printed")
        .to_string();
    assert!(key.starts_with("sgak_") && key.len() == 51, "{key}");
    let r = call(&s, &key, "GET", "/credentials", None);
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.json()["values"].as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], "bootstrap");
    assert_eq!(list[0]["role"], "owner");
    // It can do what an owner does: make another owner.
    let r = call(
        &s,
        &key,
        "POST",
        "/credentials",
        Some(&json!({"name": "second", "role": "owner"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}
