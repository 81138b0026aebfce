//! scopegate where its users run it: nginx with `examples/nginx/` asks `/check` before git
//! http-backend or the API upstream sees a request (the configuration of nginx's `auth_request`
//! documentation, nothing more), and the real git client clones, fetches and pushes through it.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod front;

use common::*;
use front::{Front, Git};
use serde_json::json;
use std::path::Path;
use std::process::Output;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Clone `ws/slug` with `token` into a new directory; the output of git.
fn clone(f: &Front, git: &Git, token: &str, ws: &str, slug: &str, into: &str) -> Output {
    git.run(&["clone", &f.git_url(token, ws, slug), into])
}

fn assert_cloned(f: &Front, out: &Output, dir: &Path, content: &str) {
    assert!(
        out.status.success(),
        "clone failed: {}\n{}",
        stderr(out),
        f.logs()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("README")).unwrap(),
        content
    );
}

/// git's words for a refusal by HTTP status; nothing was written to `dir`.
fn assert_refused(out: &Output, status: u16, dir: &Path) {
    assert!(!out.status.success(), "git should have been refused");
    let err = stderr(out);
    let expected = if status == 401 {
        "Authentication failed"
    } else {
        "The requested URL returned error: 403"
    };
    assert!(err.contains(expected), "expected a {status}: {err}");
    assert!(!dir.join("README").exists());
}

fn commit_file(git: &Git, work: &Path, name: &str) {
    std::fs::write(work.join(name), name).unwrap();
    git.ok_in(work, &["add", name]);
    git.ok_in(work, &["commit", "-m", name]);
}

#[test]
fn repository_token_clones_and_only_pushes_with_write() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let f = Front::start(dir.path(), &s.base);
    f.create_repo("acme", "api", "api v1\n");
    f.create_repo("acme", "web", "web v1\n");
    let git = Git::new(&dir.path().join("client"));
    let repo = "/workspaces/acme/repositories/api";

    let (_, read) = s.issue(repo, &["repository"]);
    let out = clone(&f, &git, &read, "acme", "api", "read");
    let work = git.home.join("read");
    assert_cloned(&f, &out, &work, "api v1\n");

    // Reading is not writing: the receive-pack advertisement is refused, nothing lands.
    let before = f.head_of("acme", "api");
    commit_file(&git, &work, "from-reader");
    let out = git.run_in(&work, &["push", "origin", "main"]);
    assert!(!out.status.success(), "push with `repository` must fail");
    assert!(stderr(&out).contains("403"), "{}", stderr(&out));
    assert_eq!(f.head_of("acme", "api"), before);

    let (_, write) = s.issue(repo, &["repository:write"]);
    let out = clone(&f, &git, &write, "acme", "api", "write");
    let work = git.home.join("write");
    assert_cloned(&f, &out, &work, "api v1\n");
    commit_file(&git, &work, "from-writer");
    let out = git.run_in(&work, &["push", "origin", "main"]);
    assert!(out.status.success(), "push: {}\n{}", stderr(&out), f.logs());
    let local = git.ok_in(&work, &["rev-parse", "HEAD"]);
    let pushed = String::from_utf8_lossy(&local.stdout).trim().to_string();
    assert_eq!(f.head_of("acme", "api"), pushed);

    // The reader fetches what the writer pushed.
    let reader = git.home.join("read");
    let out = git.run_in(&reader, &["fetch", "origin"]);
    assert!(
        out.status.success(),
        "fetch: {}\n{}",
        stderr(&out),
        f.logs()
    );
    let fetched = git.ok_in(&reader, &["rev-parse", "origin/main"]);
    assert_eq!(String::from_utf8_lossy(&fetched.stdout).trim(), pushed);

    // A sibling repository is outside the token: refused, nothing cloned.
    let out = clone(&f, &git, &write, "acme", "web", "sibling");
    assert_refused(&out, 403, &git.home.join("sibling"));
}

#[test]
fn project_and_workspace_tokens_follow_the_repository_map() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    for (ws, body) in [
        ("acme/repositories/web", json!({"project": "PROJ"})),
        ("acme/repositories/tools", json!({"project": "OTHER"})),
    ] {
        assert_eq!(
            s.admin("PUT", &format!("/workspaces/{ws}"), Some(body))
                .status,
            201
        );
    }
    assert_eq!(
        s.admin(
            "PUT",
            "/workspaces/globex",
            Some(json!({"plan": "premium"}))
        )
        .status,
        201
    );
    assert_eq!(
        s.admin("PUT", "/workspaces/globex/projects/CORE", None)
            .status,
        201
    );
    assert_eq!(
        s.admin(
            "PUT",
            "/workspaces/globex/repositories/site",
            Some(json!({"project": "CORE"}))
        )
        .status,
        201
    );
    let f = Front::start(dir.path(), &s.base);
    for (ws, slug) in [
        ("acme", "api"),
        ("acme", "web"),
        ("acme", "tools"),
        ("globex", "site"),
    ] {
        f.create_repo(ws, slug, &format!("{ws}/{slug}\n"));
    }
    let git = Git::new(&dir.path().join("client"));
    let mut n = 0;
    let mut try_clone = |token: &str, ws: &str, slug: &str| {
        n += 1;
        let into = format!("c{n}");
        let out = clone(&f, &git, token, ws, slug, &into);
        (out, git.home.join(into))
    };

    let (_, project) = s.issue("/workspaces/acme/projects/PROJ", &["repository"]);
    for slug in ["api", "web"] {
        let (out, d) = try_clone(&project, "acme", slug);
        assert_cloned(&f, &out, &d, &format!("acme/{slug}\n"));
    }
    let (out, d) = try_clone(&project, "acme", "tools");
    assert_refused(&out, 403, &d);

    // Moving a repository out of the project takes it out of the token's reach at once, and
    // moving one in brings it within.
    assert_eq!(
        s.admin(
            "PUT",
            "/workspaces/acme/repositories/api",
            Some(json!({"project": "OTHER"}))
        )
        .status,
        200
    );
    assert_eq!(
        s.admin(
            "PUT",
            "/workspaces/acme/repositories/tools",
            Some(json!({"project": "PROJ"}))
        )
        .status,
        200
    );
    let (out, d) = try_clone(&project, "acme", "api");
    assert_refused(&out, 403, &d);
    let (out, d) = try_clone(&project, "acme", "tools");
    assert_cloned(&f, &out, &d, "acme/tools\n");

    let (_, workspace) = s.issue("/workspaces/acme", &["repository"]);
    for slug in ["api", "web", "tools"] {
        let (out, d) = try_clone(&workspace, "acme", slug);
        assert_cloned(&f, &out, &d, &format!("acme/{slug}\n"));
    }
    let (out, d) = try_clone(&workspace, "globex", "site");
    assert_refused(&out, 403, &d);
    let (_, globex) = s.issue("/workspaces/globex", &["repository"]);
    let (out, d) = try_clone(&globex, "globex", "site");
    assert_cloned(&f, &out, &d, "globex/site\n");
    let (out, d) = try_clone(&globex, "acme", "api");
    assert_refused(&out, 403, &d);
}

#[test]
fn revoked_expired_and_foreign_tokens_cannot_clone() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    assert_eq!(
        s.admin(
            "PUT",
            "/workspaces/acme/repositories/web",
            Some(json!({"project": "PROJ"}))
        )
        .status,
        201
    );
    let f = Front::start(dir.path(), &s.base);
    f.create_repo("acme", "api", "api\n");
    f.create_repo("acme", "web", "web\n");
    let git = Git::new(&dir.path().join("client"));
    let repo = "/workspaces/acme/repositories/api";

    // Expiring two seconds from now: valid at first, then refused without anyone touching it.
    let expires_at = now() + 2;
    let r = s.admin(
        "POST",
        &format!("{repo}/access-tokens"),
        Some(json!({"name": "short", "scopes": ["repository"],
                    "expires_at": time_in(expires_at - now())})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let short = r.json()["token"].as_str().unwrap().to_string();
    let (id, revoked) = s.issue(repo, &["repository"]);

    let out = clone(&f, &git, &short, "acme", "api", "short-before");
    assert_cloned(&f, &out, &git.home.join("short-before"), "api\n");
    let out = clone(&f, &git, &revoked, "acme", "api", "revoked-before");
    assert_cloned(&f, &out, &git.home.join("revoked-before"), "api\n");

    assert_eq!(
        s.admin("DELETE", &format!("/access-tokens/{id}"), None)
            .status,
        204
    );
    let out = clone(&f, &git, &revoked, "acme", "api", "revoked-after");
    assert_refused(&out, 401, &git.home.join("revoked-after"));
    assert_eq!(
        s.check(Some(&revoked), "GET", "/acme/api.git/info/refs")
            .reason(),
        "token_revoked"
    );

    // A token for acme/api reaches no other repository.
    let out = clone(&f, &git, &short, "acme", "web", "foreign");
    assert_refused(&out, 403, &git.home.join("foreign"));

    while now() < expires_at {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = clone(&f, &git, &short, "acme", "api", "short-after");
    assert_refused(&out, 401, &git.home.join("short-after"));
    assert_eq!(
        s.check(Some(&short), "GET", "/acme/api.git/info/refs")
            .reason(),
        "token_expired"
    );
}

/// One request through nginx: what the client gets.
fn through(f: &Front, s: &Server, token: Option<&str>, method: &str, path: &str) -> Resp {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s.http.request(m, f.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if method == "POST" {
        req = req.json(&json!({"title": "a body nginx must not pass on"}));
    }
    s.raw(req)
}

#[test]
fn api_calls_reach_the_upstream_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let f = Front::start(dir.path(), &s.base);
    let (id, tok) = s.issue("/workspaces/acme/repositories/api", &["pullrequest"]);

    let cases: &[(Option<&str>, &str, &str, u16, &str)] = &[
        (
            None,
            "GET",
            "/2.0/repositories/acme/api",
            401,
            "token_missing",
        ),
        (
            Some("sgat_not-a-token"),
            "GET",
            "/2.0/repositories/acme/api",
            401,
            "token_malformed",
        ),
        (
            Some(&tok),
            "POST",
            "/2.0/repositories/acme/api/pullrequests",
            403,
            "scope_missing",
        ),
        (
            Some(&tok),
            "GET",
            "/2.0/repositories/acme/web/pullrequests",
            403,
            "outside_resource",
        ),
        (
            Some(&tok),
            "DELETE",
            "/2.0/repositories/acme/api/deploy-keys/1",
            403,
            "forbidden_operation",
        ),
        (
            Some(&tok),
            "GET",
            "/acme/api/src/main/README",
            403,
            "web_login_forbidden",
        ),
    ];
    for &(token, method, path, status, reason) in cases {
        let r = through(&f, &s, token, method, path);
        let direct = s.check(token, method, path);
        assert_eq!(
            (direct.status, direct.reason().as_str()),
            (status, reason),
            "{method} {path}: {}",
            direct.text
        );
        // nginx's auth_request passes on scopegate's status and its first challenge, and words
        // the body itself.
        assert_eq!(r.status, status, "{method} {path}: {}", r.text);
        let challenges = |x: &Resp| -> Vec<String> {
            x.headers
                .get_all("www-authenticate")
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect()
        };
        let first = challenges(&direct).into_iter().next();
        assert_eq!(challenges(&r).into_iter().next(), first, "{method} {path}");
        assert_eq!(
            status == 401,
            first.is_some_and(|c| c.starts_with("Bearer"))
        );
    }
    assert!(
        f.upstream.received().is_empty(),
        "a denied request reached the upstream: {:?}",
        f.upstream.received()
    );

    for (method, path) in [
        ("GET", "/2.0/repositories/acme/api/pullrequests?state=OPEN"),
        ("GET", "/2.0/repositories/acme/api"),
    ] {
        let r = through(&f, &s, Some(&tok), method, path);
        assert_eq!(r.status, 200, "{path}: {}\n{}", r.text, f.logs());
        assert_eq!(r.json()["upstream"], "reached");
        assert_eq!(r.json()["path"], path);
    }
    let got = f.upstream.received();
    assert_eq!(got.len(), 2, "{got:?}");
    for g in &got {
        // The upstream learns who called from scopegate; the secret itself goes no further.
        assert_eq!(g.header("x-token-id"), Some(id.as_str()));
        assert_eq!(g.header("x-credential-type"), Some("repo_access_token"));
        assert_eq!(g.header("x-oauth-scopes"), Some("pullrequest, repository"));
        assert!(g.header("authorization").is_none_or(str::is_empty), "{g:?}");
    }

    // Revoked between two calls: the second never reaches the upstream.
    assert_eq!(
        s.admin("DELETE", &format!("/access-tokens/{id}"), None)
            .status,
        204
    );
    let r = through(&f, &s, Some(&tok), "GET", "/2.0/repositories/acme/api");
    assert_eq!(r.status, 401, "{}", r.text);
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains(r#"error_description="token_revoked""#),
        "{challenge}"
    );
    assert_eq!(f.upstream.received().len(), 2);
}
