//! The admin API of SPEC §9 over real HTTP.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

#[test]
fn admin_key_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    let r = s.raw(
        s.http
            .put(s.url("/admin/v1/workspaces/acme"))
            .json(&json!({"plan": "free"})),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.reason(), "admin_key_missing");
    assert!(r.header("www-authenticate").is_some());
    let r = s.raw(
        s.http
            .put(s.url("/admin/v1/workspaces/acme"))
            .bearer_auth("wrong")
            .json(&json!({"plan": "free"})),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.reason(), "admin_key_invalid");
    assert_eq!(r.json()["type"], "error");
}

#[test]
fn resources_lifecycle_and_client_errors() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    let r = s.admin(
        "PUT",
        "/workspaces/acme",
        Some(json!({"plan": "standard", "max_lifetime_days": 90})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["token_policy"]["max_lifetime_days"], 90);
    assert_eq!(
        s.admin("PUT", "/workspaces/ACME", Some(json!({"plan": "premium"})))
            .status,
        200
    );
    let r = s.admin("GET", "/workspaces/acme", None);
    assert_eq!(r.json()["plan"], "premium");
    assert_eq!(r.json()["slug"], "acme", "the first spelling is kept");

    // Bad bodies are 400 with our error shape, never a 500.
    for body in [
        json!({"plan": "gold"}),
        json!({}),
        json!([1]),
        json!({"plan": "free", "max_lifetime_days": 30}),
        json!({"plan": "free", "allow_no_expiry": "yes"}),
    ] {
        let r = s.admin("PUT", "/workspaces/x", Some(body.clone()));
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.reason(), "invalid_body");
    }
    let r = s.raw(
        s.http
            .put(s.url("/admin/v1/workspaces/x"))
            .bearer_auth(ADMIN_KEY)
            .body("{not json"),
    );
    assert_eq!((r.status, r.reason().as_str()), (400, "invalid_json"));
    // A key given twice, or one the body does not have (a misspelt policy field), is refused
    // rather than read one way or dropped.
    for body in [
        r#"{"plan": "free", "plan": "premium"}"#,
        r#"{"plan": "free", "allow-no-expiry": true}"#,
    ] {
        let r = s.raw(
            s.http
                .put(s.url("/admin/v1/workspaces/x"))
                .bearer_auth(ADMIN_KEY)
                .body(body),
        );
        assert_eq!(
            (r.status, r.reason().as_str()),
            (400, "invalid_body"),
            "{body}"
        );
    }
    assert_eq!(s.admin("GET", "/workspaces/x", None).status, 404);
    let r = s.raw(
        s.http
            .put(s.url("/admin/v1/workspaces/x"))
            .bearer_auth(ADMIN_KEY)
            .body(vec![b' '; 200_000]),
    );
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["type"], "error");
    let r = s.admin(
        "PUT",
        "/workspaces/bad%20slug",
        Some(json!({"plan": "free"})),
    );
    assert_eq!((r.status, r.reason().as_str()), (400, "invalid_workspace"));
    let r = s.admin("GET", "/nowhere", None);
    assert_eq!((r.status, r.json()["type"].clone()), (404, json!("error")));
    let r = s.admin("PATCH", "/workspaces/acme", None);
    assert_eq!((r.status, r.json()["type"].clone()), (405, json!("error")));

    // Projects and repositories.
    assert_eq!(
        s.admin("PUT", "/workspaces/acme/projects/PROJ", None)
            .status,
        201
    );
    assert_eq!(
        s.admin("PUT", "/workspaces/acme/projects/proj", Some(json!({})))
            .status,
        200
    );
    assert_eq!(
        s.admin("PUT", "/workspaces/nope/projects/P", None).status,
        404
    );
    let r = s.admin(
        "PUT",
        "/workspaces/acme/repositories/api",
        Some(json!({"project": "NOPE"})),
    );
    assert_eq!((r.status, r.reason().as_str()), (404, "project_not_found"));
    let r = s.admin(
        "PUT",
        "/workspaces/acme/repositories/api",
        Some(json!({"project": "PROJ"})),
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.json(),
        json!({"workspace": "acme", "slug": "api", "project": "PROJ"})
    );
    let r = s.admin("DELETE", "/workspaces/acme/projects/PROJ", None);
    assert_eq!((r.status, r.reason().as_str()), (409, "project_not_empty"));
    assert_eq!(
        s.admin("DELETE", "/workspaces/acme/repositories/api", None)
            .status,
        204
    );
    assert_eq!(
        s.admin("DELETE", "/workspaces/acme/repositories/api", None)
            .status,
        404
    );
    assert_eq!(
        s.admin("DELETE", "/workspaces/acme/projects/PROJ", None)
            .status,
        204
    );
    assert_eq!(s.admin("DELETE", "/workspaces/acme", None).status, 204);
    assert_eq!(s.admin("DELETE", "/workspaces/acme", None).status, 404);
}

fn create(s: &Server, path: &str, body: Value) -> Resp {
    s.admin("POST", &format!("{path}/access-tokens"), Some(body))
}

#[test]
fn issuing_rules_come_from_the_module() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.admin(
        "PUT",
        "/workspaces/free",
        Some(json!({"plan": "free", "max_lifetime_days": 90})),
    );
    s.admin("PUT", "/workspaces/free/projects/P", None);
    s.admin(
        "PUT",
        "/workspaces/free/repositories/r",
        Some(json!({"project": "P"})),
    );
    let repo = "/workspaces/free/repositories/r";
    let soon = time_in(3600);
    let cases = [
        (
            repo,
            json!({"name": "  ", "scopes": ["repository"], "expires_at": soon}),
            "name_invalid",
        ),
        (
            repo,
            json!({"name": "x", "scopes": [], "expires_at": soon}),
            "no_scopes",
        ),
        (
            repo,
            json!({"name": "x", "scopes": ["repo"], "expires_at": soon}),
            "unknown_scope",
        ),
        (
            repo,
            json!({"name": "x", "scopes": ["project"], "expires_at": soon}),
            "scope_not_allowed_for_kind",
        ),
        (
            repo,
            json!({"name": "x", "scopes": ["issue"], "expires_at": soon}),
            "scope_not_allowed_for_kind",
        ),
        (
            "/workspaces/free/projects/P",
            json!({"name": "x", "scopes": ["repository"], "expires_at": soon}),
            "plan_required",
        ),
        (
            "/workspaces/free",
            json!({"name": "x", "scopes": ["repository"], "expires_at": soon}),
            "plan_required",
        ),
        (
            repo,
            json!({"name": "x", "scopes": ["repository"], "expires_at": null}),
            "expiry_required",
        ),
        (
            repo,
            json!({"name": "x", "scopes": ["repository"]}),
            "expiry_required",
        ),
        (
            repo,
            json!({"name": "x", "scopes": ["repository"], "expires_at": time_in(-10)}),
            "expiry_in_past",
        ),
        (
            repo,
            json!({"name": "x", "scopes": ["repository"], "expires_at": time_in(91 * 86400)}),
            "expiry_too_far",
        ),
    ];
    for (path, body, reason) in cases {
        let r = create(&s, path, body.clone());
        assert_eq!(
            (r.status, r.reason().as_str()),
            (422, reason),
            "{body}: {}",
            r.text
        );
        assert!(r.json()["error"]["message"].is_string());
    }
    for body in [
        json!({"scopes": ["repository"]}),
        json!({"name": 1, "scopes": []}),
        json!({"name": "x", "scopes": "repository"}),
        json!({"name": "x", "scopes": ["repository"], "expires_at": "soon"}),
    ] {
        let r = create(&s, repo, body.clone());
        assert_eq!(
            (r.status, r.reason().as_str()),
            (400, "invalid_body"),
            "{body}: {}",
            r.text
        );
    }
    let r = create(
        &s,
        "/workspaces/free/repositories/nope",
        json!({"name": "x", "scopes": ["repository"], "expires_at": soon}),
    );
    assert_eq!(
        (r.status, r.reason().as_str()),
        (404, "repository_not_found")
    );

    // allow_no_expiry lets expires_at be null.
    s.admin(
        "PUT",
        "/workspaces/free",
        Some(json!({"plan": "free", "allow_no_expiry": true})),
    );
    let r = create(
        &s,
        repo,
        json!({"name": "forever", "scopes": ["repository"], "expires_at": null}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["expires_at"], Value::Null);
}

#[test]
fn token_lifecycle_with_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let path = "/workspaces/acme/repositories/api";
    let expires = time_in(7 * 86400);
    let r = create(
        &s,
        path,
        json!({"name": "ci", "scopes": ["pullrequest:write", "pullrequest"], "expires_at": expires}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let c = r.json();
    for field in [
        "id",
        "token",
        "name",
        "kind",
        "scopes",
        "created_at",
        "expires_at",
    ] {
        assert!(!c[field].is_null(), "{field} missing: {c}");
    }
    assert_eq!(c["kind"], "repository");
    assert_eq!(c["scopes"], json!(["pullrequest", "pullrequest:write"]));
    assert_eq!(c["expires_at"], json!(expires));
    let id = c["id"].as_str().unwrap().to_string();
    let secret = c["token"].as_str().unwrap().to_string();
    assert!(scopegate_core::token::is_well_formed(
        secret.as_bytes(),
        scopegate_core::SecretKind::AccessToken
    ));

    // Lists and show: metadata only.
    let r = s.admin("GET", &format!("{path}/access-tokens"), None);
    assert_eq!(r.status, 200);
    assert!(!r.text.contains(&secret));
    let values = r.json()["values"].as_array().unwrap().clone();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0]["id"], json!(id));
    assert!(values[0].get("token").is_none());
    assert_eq!(values[0]["last_accessed_at"], Value::Null);
    assert_eq!(
        s.admin("GET", "/workspaces/acme/access-tokens", None)
            .json()["values"],
        json!([])
    );
    assert_eq!(
        s.admin("GET", "/workspaces/acme/projects/PROJ/access-tokens", None)
            .json()["values"],
        json!([])
    );
    assert_eq!(
        s.admin("GET", "/workspaces/zzz/access-tokens", None).status,
        404
    );

    // last_accessed_at appears once a check used the token (recorded in batches).
    assert_eq!(
        s.check(
            Some(&secret),
            "POST",
            "/2.0/repositories/acme/api/pullrequests"
        )
        .status,
        200
    );
    std::thread::sleep(Duration::from_millis(1500));
    let shown = s.admin("GET", &format!("/access-tokens/{id}"), None).json();
    assert!(shown["last_accessed_at"].is_string(), "{shown}");
    assert_eq!(shown["state"], "active");
    assert!(shown.get("token").is_none());

    // Rotation: a new id and secret; the old one keeps at most 30 minutes.
    let r = s.admin(
        "POST",
        &format!("/access-tokens/{id}/rotate"),
        Some(json!({"expires_at": time_in(86400)})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let n = r.json();
    let new_id = n["id"].as_str().unwrap().to_string();
    let new_secret = n["token"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);
    assert_ne!(new_secret, secret);
    assert_eq!(n["scopes"], c["scopes"]);
    let old = s.admin("GET", &format!("/access-tokens/{id}"), None).json();
    let old_exp =
        scopegate_host::clock::parse_rfc3339(old["expires_at"].as_str().unwrap()).unwrap();
    assert!(old_exp <= now() + 1800 && old_exp >= now() + 1790, "{old}");
    for t in [&secret, &new_secret] {
        assert_eq!(
            s.check(Some(t), "GET", "/2.0/repositories/acme/api").status,
            200
        );
    }
    // A token that already expires sooner than 30 minutes keeps its expiry.
    let r = create(
        &s,
        path,
        json!({"name": "short", "scopes": ["repository"], "expires_at": time_in(600)}),
    );
    let short = r.json();
    let sid = short["id"].as_str().unwrap();
    assert_eq!(
        s.admin(
            "POST",
            &format!("/access-tokens/{sid}/rotate"),
            Some(json!({"expires_at": time_in(3600)}))
        )
        .status,
        201
    );
    assert_eq!(
        s.admin("GET", &format!("/access-tokens/{sid}"), None)
            .json()["expires_at"],
        short["expires_at"]
    );

    // Revoke, idempotently; a revoked token cannot be rotated.
    assert_eq!(
        s.admin("DELETE", &format!("/access-tokens/{id}"), None)
            .status,
        204
    );
    assert_eq!(
        s.admin("DELETE", &format!("/access-tokens/{id}"), None)
            .status,
        204
    );
    assert_eq!(
        s.check(Some(&secret), "GET", "/2.0/repositories/acme/api")
            .reason(),
        "token_revoked"
    );
    assert_eq!(
        s.check(Some(&new_secret), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );
    let r = s.admin(
        "POST",
        &format!("/access-tokens/{id}/rotate"),
        Some(json!({"expires_at": time_in(3600)})),
    );
    assert_eq!((r.status, r.reason().as_str()), (409, "token_revoked"));
    assert_eq!(
        s.admin("GET", &format!("/access-tokens/{id}"), None).json()["state"],
        "revoked"
    );
    assert_eq!(
        s.admin("DELETE", "/access-tokens/tok_nope", None).status,
        404
    );
    assert_eq!(s.admin("GET", "/access-tokens/tok_nope", None).status, 404);
    let r = s.admin("POST", "/access-tokens/tok_nope/rotate", None);
    assert_eq!(r.status, 404);
}

#[test]
fn policy_info_and_demo_are_served() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("www")).unwrap();
    std::fs::write(dir.path().join("www/hello.txt"), "hi").unwrap();
    let s = start_real(dir.path());
    let info = s.admin("GET", "/policy", None).json();
    assert_eq!(info["abi_version"], 2);
    assert_eq!(info["sha256"], json!(sha256_hex(&real_policy())));
    assert_eq!(info["operations"], 331);
    let r = s.raw(s.http.get(s.url("/hello.txt")));
    assert_eq!((r.status, r.text.as_str()), (200, "hi"));
}

/// Every value of a list, paged through `limit` at a time, running `between` after each page.
fn page_through(
    s: &Server,
    path: &str,
    limit: usize,
    mut between: impl FnMut(usize),
) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for n in 0.. {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            None => format!("{path}{sep}limit={limit}"),
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
        };
        let r = s.admin("GET", &url, None);
        assert_eq!(r.status, 200, "{url}: {}", r.text);
        let page = r.json();
        assert_eq!(page["pagelen"], json!(limit));
        let values = page["values"].as_array().unwrap();
        assert!(values.len() <= limit, "{page}");
        all.extend(values.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        between(n);
    }
    all
}

#[test]
fn every_list_pages_with_a_cursor_that_holds_under_inserts() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let repo = "/workspaces/acme/repositories/api";
    let before: Vec<String> = (0..23).map(|_| s.issue(repo, &["repository"]).0).collect();

    // Tokens arrive between the pages: each token there at the start is answered exactly once,
    // newest first, and the newcomers (newer than every page already read) never show up.
    let mut added = Vec::new();
    let listed = page_through(&s, &format!("{repo}/access-tokens"), 5, |_| {
        added.push(s.issue(repo, &["repository"]).0);
    });
    let ids: Vec<String> = listed
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    let mut expected = before.clone();
    expected.reverse();
    assert_eq!(ids, expected, "newest first, each once");
    assert!(added.iter().all(|a| !ids.contains(a)));

    // The other lists page the same way.
    for i in 0..7 {
        let r = s.admin("PUT", &format!("/workspaces/acme/projects/P{i}"), None);
        assert_eq!(r.status, 201);
        let r = s.admin(
            "PUT",
            &format!("/workspaces/acme/repositories/r{i}"),
            Some(json!({"project": format!("P{i}")})),
        );
        assert_eq!(r.status, 201);
        assert_eq!(
            s.admin(
                "PUT",
                &format!("/workspaces/w{i}"),
                Some(json!({"plan": "free"}))
            )
            .status,
            201
        );
    }
    let keys = |v: Vec<Value>, field: &str| -> Vec<String> {
        v.iter()
            .map(|x| x[field].as_str().unwrap().to_string())
            .collect()
    };
    let projects = keys(
        page_through(&s, "/workspaces/acme/projects", 2, |_| {}),
        "key",
    );
    assert_eq!(projects.len(), 9, "{projects:?}");
    let mut sorted = projects.clone();
    sorted.sort_by_key(|k| k.to_ascii_lowercase());
    assert_eq!(projects, sorted);
    let repos = keys(
        page_through(&s, "/workspaces/acme/repositories", 3, |_| {}),
        "slug",
    );
    assert_eq!(repos.len(), 8);
    let of_p3 = keys(
        page_through(&s, "/workspaces/acme/repositories?project=p3", 3, |_| {}),
        "slug",
    );
    assert_eq!(of_p3, vec!["r3"]);
    let workspaces = keys(page_through(&s, "/workspaces", 3, |_| {}), "slug");
    assert_eq!(workspaces.len(), 8);
    for name in ["one", "two", "three"] {
        let r = s.admin(
            "POST",
            "/credentials",
            Some(json!({"name": name, "role": "auditor"})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    // Made within one second: their order among themselves is their ids'.
    let mut credentials = keys(page_through(&s, "/credentials", 1, |_| {}), "name");
    credentials.sort();
    assert_eq!(credentials, vec!["one", "three", "two"], "each once");

    // What a list did not hand out is refused, not read as something else.
    for bad in [
        format!("{repo}/access-tokens?cursor=nonsense"),
        format!("{repo}/access-tokens?cursor=1.a%20b"),
        format!("{repo}/access-tokens?limit=0"),
        format!("{repo}/access-tokens?limit=1001"),
        "/credentials?cursor=x".to_string(),
        "/workspaces?page=2".to_string(),
    ] {
        let r = s.admin("GET", &bad, None);
        assert_eq!(
            (r.status, r.reason()),
            (400, "invalid_query".to_string()),
            "{bad}: {}",
            r.text
        );
    }
}

#[test]
fn whoami_names_the_caller_and_what_its_role_reaches() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let r = s.admin(
        "POST",
        "/credentials",
        Some(json!({"name": "ci bot", "role": "token-manager", "workspace": "acme"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let made = r.json();
    let secret = made["credential"].as_str().unwrap();
    let r = s.raw(s.http.get(s.url("/admin/v1/whoami")).bearer_auth(secret));
    assert_eq!(r.status, 200, "{}", r.text);
    let me = r.json();
    assert_eq!(me["id"], made["id"]);
    assert_eq!(me["name"], "ci bot");
    assert_eq!(me["role"], "token-manager");
    assert_eq!(me["workspace"], "acme");
    assert_eq!(me["actions"], json!(["read", "manage-resources", "whoami"]));
    assert!(!r.text.contains(secret));
    let owner = s.admin("GET", "/whoami", None).json();
    assert_eq!(owner["role"], "owner");
    assert!(owner["actions"]
        .as_array()
        .unwrap()
        .contains(&json!("manage-credentials")));
}
