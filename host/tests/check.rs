//! Every reason of SPEC §5 and §9 through `/check`, against the real module.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use base64::Engine as _;
use common::*;
use serde_json::json;
use std::time::Duration;

fn assert_reason(r: &Resp, status: u16, reason: &str) {
    assert_eq!(r.status, status, "{reason}: {}", r.text);
    assert_eq!(r.reason(), reason, "{}", r.text);
    let v = r.json();
    assert_eq!(v["type"], "error", "{}", r.text);
    assert!(v["error"]["message"].is_string(), "{}", r.text);
    assert!(v["error"]["detail"]["required"].is_array(), "{}", r.text);
    assert!(v["error"]["detail"]["granted"].is_array(), "{}", r.text);
    if status == 401 {
        let challenges: Vec<_> = r.headers.get_all("www-authenticate").iter().collect();
        assert!(
            !challenges.is_empty(),
            "401 without WWW-Authenticate: {reason}"
        );
    } else {
        assert!(r.headers.get("www-authenticate").is_none());
    }
}

#[test]
fn every_host_and_policy_reason_is_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let repo = "/workspaces/acme/repositories/api";
    let (id, tok) = s.issue(repo, &["pullrequest"]);

    // 200 with the forward-auth headers.
    let r = s.check(
        Some(&tok),
        "GET",
        "/2.0/repositories/acme/api/pullrequests?state=OPEN",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.header("x-credential-type").as_deref(),
        Some("repo_access_token")
    );
    assert_eq!(
        r.header("x-oauth-scopes").as_deref(),
        Some("pullrequest, repository")
    );
    assert_eq!(
        r.header("x-accepted-oauth-scopes").as_deref(),
        Some("pullrequest")
    );
    assert_eq!(r.header("x-token-id").as_deref(), Some(id.as_str()));

    // Host-level reasons.
    assert_reason(
        &s.check(None, "GET", "/2.0/repositories/acme/api"),
        401,
        "token_missing",
    );
    // §9: git answers only a Basic challenge, and nginx's auth_request passes on only the first,
    // so a git request's 401 challenges Basic first; any other, Bearer first.
    let challenges = |r: &Resp| -> Vec<String> {
        r.headers
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    };
    for (method, uri, first) in [
        ("GET", "/2.0/repositories/acme/api", "Bearer"),
        (
            "GET",
            "/acme/api.git/info/refs?service=git-upload-pack",
            "Basic",
        ),
        ("POST", "/acme/api/git-receive-pack", "Basic"),
        // Not a git operation: the method matters.
        ("POST", "/acme/api.git/info/refs", "Bearer"),
    ] {
        for token in [None, Some("sgat_nope")] {
            let r = s.check(token, method, uri);
            let c = challenges(&r);
            assert_eq!(c.len(), 2, "{uri}: {c:?}");
            assert!(c[0].starts_with(first), "{uri} {token:?}: {c:?}");
            assert!(
                c.iter().any(|v| v.starts_with("Basic"))
                    && c.iter().any(|v| v.starts_with("Bearer"))
            );
        }
    }
    assert_reason(
        &s.check(Some("sgat_nope"), "GET", "/2.0/repositories/acme/api"),
        401,
        "token_malformed",
    );
    let mut bad_sum = tok.clone();
    bad_sum.replace_range(50..51, if tok.ends_with('0') { "1" } else { "0" });
    assert_reason(
        &s.check(Some(&bad_sum), "GET", "/2.0/repositories/acme/api"),
        401,
        "token_malformed",
    );
    let basic = |user: &str, pass: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    };
    let r = s.raw(
        s.http
            .get(s.url("/check"))
            .header("X-Original-Method", "GET")
            .header("X-Original-URI", "/2.0/repositories/acme/api")
            .header("Authorization", basic("someone", &tok)),
    );
    assert_reason(&r, 401, "token_malformed");
    let unknown = {
        // A well-formed token that was never issued.
        let random = "A".repeat(40);
        scopegate_core::token::seal(scopegate_core::SecretKind::AccessToken, &random)
            .unwrap()
            .0
    };
    assert_reason(
        &s.check(Some(&unknown), "GET", "/2.0/repositories/acme/api"),
        401,
        "token_unknown",
    );
    let r = s.raw(
        s.http
            .get(s.url("/check"))
            .header("X-Original-Method", "GET")
            .bearer_auth(&tok),
    );
    assert_reason(&r, 403, "bad_input");
    let r = s.raw(
        s.http
            .post(s.url("/check"))
            .header("X-Original-URI", "/2.0/user")
            .bearer_auth(&tok),
    );
    assert_reason(&r, 403, "bad_input");
    assert_reason(&s.check(Some(&tok), "GET", ""), 403, "bad_path");

    // Basic with x-token-auth and the X-Forwarded-* pair (Traefik).
    let r = s.raw(
        s.http
            .post(s.url("/check"))
            .header("X-Forwarded-Method", "POST")
            .header("X-Forwarded-Uri", "/acme/api.git/git-upload-pack")
            .header("Authorization", basic("x-token-auth", &tok)),
    );
    assert_eq!(r.status, 200, "{}", r.text);

    // Policy reasons, in the order of §5.
    assert_reason(
        &s.check(Some(&tok), "GET", "/2.0/repositories/acme/%zz"),
        403,
        "bad_path",
    );
    assert_reason(
        &s.check(Some(&tok), "GET", "/2.0/repositories/acme/api/../x"),
        403,
        "bad_path",
    );
    assert_reason(
        &s.check(Some(&tok), "GET", "/account/signin"),
        403,
        "web_login_forbidden",
    );
    assert_reason(
        &s.check(Some(&tok), "GET", "/2.0/nothing/here"),
        403,
        "unknown_operation",
    );
    assert_reason(
        &s.check(Some(&tok), "GET", "/2.0/user/permissions/workspaces"),
        403,
        "forbidden_operation",
    );
    let r = s.check(Some(&tok), "GET", "/2.0/hook_events");
    assert_eq!(r.status, 200, "public operation: {}", r.text);
    assert_eq!(r.header("x-accepted-oauth-scopes").as_deref(), Some(""));
    assert_reason(
        &s.check(Some(&tok), "GET", "/2.0/repositories/acme/web"),
        403,
        "outside_resource",
    );
    assert_reason(
        &s.check(Some(&tok), "GET", "/2.0/repositories/acme/api/issues"),
        403,
        "scope_not_grantable",
    );
    let r = s.check(Some(&tok), "PUT", "/2.0/repositories/acme/api");
    assert_reason(&r, 403, "scope_missing");
    assert_eq!(
        r.json()["error"]["detail"]["required"],
        json!(["repository:admin"])
    );
    assert_eq!(
        r.json()["error"]["detail"]["granted"],
        json!(["pullrequest", "repository"])
    );

    // unresolved_repository: a project token and a repository the store does not know.
    let (_, ptok) = s.issue("/workspaces/acme/projects/PROJ", &["repository"]);
    assert_eq!(
        s.check(Some(&ptok), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );
    assert_reason(
        &s.check(Some(&ptok), "GET", "/2.0/repositories/acme/ghost"),
        403,
        "unresolved_repository",
    );
    let r = s.check(Some(&ptok), "GET", "/2.0/repositories/acme/api");
    assert_eq!(
        r.header("x-credential-type").as_deref(),
        Some("project_access_token")
    );

    // token_revoked: revocation answered, then never allowed again.
    assert_eq!(
        s.admin("DELETE", &format!("/access-tokens/{id}"), None)
            .status,
        204
    );
    assert_reason(
        &s.check(Some(&tok), "GET", "/2.0/repositories/acme/api"),
        401,
        "token_revoked",
    );
    assert_eq!(
        s.admin("DELETE", &format!("/access-tokens/{id}"), None)
            .status,
        204,
        "idempotent"
    );

    // token_expired: a token that expires two seconds from now.
    let r = s.admin(
        "POST",
        &format!("{repo}/access-tokens"),
        Some(json!({"name": "short", "scopes": ["repository"], "expires_at": time_in(2)})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let short = r.json()["token"].as_str().unwrap().to_string();
    assert_eq!(
        s.check(Some(&short), "GET", "/2.0/repositories/acme/api")
            .status,
        200
    );
    std::thread::sleep(Duration::from_millis(3100));
    assert_reason(
        &s.check(Some(&short), "GET", "/2.0/repositories/acme/api"),
        401,
        "token_expired",
    );

    // invalid_claims: claims altered behind the service's back (the store is the only source).
    let (bad_id, bad) = s.issue(repo, &["repository"]);
    // Every writer of the store bumps its generation, which running servers watch.
    let bump = match backend() {
        Backend::Sqlite => "UPDATE settings SET value = value + 1 WHERE name = 'generation';",
        Backend::Postgres => "UPDATE generation SET value = value + 1;",
    };
    sql(
        &s.db,
        &format!("UPDATE tokens SET scopes = '[\"snippet\"]' WHERE id = '{bad_id}'; {bump}"),
    );
    std::thread::sleep(Duration::from_millis(300)); // the server notices outside commits
    assert_reason(
        &s.check(Some(&bad), "GET", "/2.0/repositories/acme/api"),
        401,
        "invalid_claims",
    );
}

#[test]
fn resource_changes_take_effect_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let (_, proj) = s.issue("/workspaces/acme/projects/PROJ", &["repository"]);
    let (_, repo_tok) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let (_, ws_tok) = s.issue("/workspaces/acme", &["repository"]);
    let get = |t: &str| s.check(Some(t), "GET", "/2.0/repositories/acme/api").status;
    assert_eq!((get(&proj), get(&repo_tok), get(&ws_tok)), (200, 200, 200));

    // Move to another project: the PROJ token loses it at once.
    let r = s.admin(
        "PUT",
        "/workspaces/acme/repositories/api",
        Some(json!({"project": "OTHER"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(get(&proj), 403);
    assert_eq!(
        s.check(Some(&proj), "GET", "/2.0/repositories/acme/api")
            .reason(),
        "outside_resource"
    );
    // And back.
    s.admin(
        "PUT",
        "/workspaces/acme/repositories/API",
        Some(json!({"project": "proj"})),
    );
    assert_eq!(get(&proj), 200);

    // Transfer to another workspace revokes the repository's tokens.
    s.admin("PUT", "/workspaces/beta", Some(json!({"plan": "free"})));
    s.admin("PUT", "/workspaces/beta/projects/B", None);
    let r = s.admin(
        "POST",
        "/workspaces/acme/repositories/api/transfer",
        Some(json!({"workspace": "beta", "project": "B"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        s.check(Some(&repo_tok), "GET", "/2.0/repositories/beta/api")
            .reason(),
        "token_revoked"
    );
    assert_eq!(
        s.check(Some(&repo_tok), "GET", "/2.0/repositories/acme/api")
            .reason(),
        "token_revoked"
    );
    assert_eq!(get(&proj), 403);

    // Deleting a resource deactivates its tokens (answered as revoked).
    s.admin(
        "PUT",
        "/workspaces/acme/repositories/web",
        Some(json!({"project": "PROJ"})),
    );
    assert_eq!(
        s.check(Some(&proj), "GET", "/2.0/repositories/acme/web")
            .status,
        200
    );
    assert_eq!(
        s.admin("DELETE", "/workspaces/acme/repositories/web", None)
            .status,
        204
    );
    assert_eq!(
        s.admin("DELETE", "/workspaces/acme/projects/PROJ", None)
            .status,
        204
    );
    assert_eq!(
        s.check(Some(&proj), "GET", "/2.0/repositories/acme/web")
            .reason(),
        "token_revoked"
    );
    assert_eq!(s.admin("DELETE", "/workspaces/acme", None).status, 204);
    assert_eq!(
        s.check(Some(&ws_tok), "GET", "/2.0/repositories/acme/web")
            .reason(),
        "token_revoked"
    );
    // Re-creating the workspace does not bring its old tokens back.
    s.admin("PUT", "/workspaces/acme", Some(json!({"plan": "premium"})));
    assert_eq!(
        s.check(Some(&ws_tok), "GET", "/2.0/workspaces/acme")
            .reason(),
        "token_revoked"
    );
}
