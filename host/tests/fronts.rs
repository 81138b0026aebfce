//! Real fronts in front of scopegate, git http-backend and a recording API upstream, tried as a
//! hostile client would: its own forwarding headers (either family, both, repeated, in other
//! spellings), override headers, a second Authorization, bytes that are not UTF-8, and dot
//! segments hidden behind encoded slashes toward a sibling repository or git-receive-pack.
//! For each front the honest calls work and none of the others reaches the upstream or git.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod front;

use common::*;
use front::{Front, Git, Kind};

const API: &str = "/2.0/repositories/acme/api";
const WEB: &str = "/2.0/repositories/acme/web";

struct Setup {
    /// `--forwarded-headers`.
    mode: &'static str,
    s: Server,
    f: Front,
    git: Git,
    /// `repository` on acme/api.
    read: String,
    /// `repository:write` on acme/api.
    write: String,
}

fn setup(dir: &std::path::Path, kind: Kind, mode: &'static str) -> Setup {
    let mut opts = Options::new(dir, real_policy());
    opts.extra = vec!["--forwarded-headers".into(), mode.into()];
    let s = start(dir, opts);
    s.seed();
    assert_eq!(
        s.admin(
            "PUT",
            "/workspaces/acme/repositories/web",
            Some(serde_json::json!({"project": "PROJ"}))
        )
        .status,
        201
    );
    let f = Front::start_kind(dir, &s.base, kind);
    f.create_repo("acme", "api", "api\n");
    f.create_repo("acme", "web", "web\n");
    let git = Git::new(&dir.join("client"));
    let repo = "/workspaces/acme/repositories/api";
    let (_, read) = s.issue(repo, &["repository"]);
    let (_, write) = s.issue(repo, &["repository:write"]);
    Setup {
        mode,
        s,
        f,
        git,
        read,
        write,
    }
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The honest calls: clone, fetch and push as far as the token reaches, and API calls.
fn honest_calls_work(t: &Setup) {
    let (f, git) = (&t.f, &t.git);
    let out = git.run(&["clone", &f.git_url(&t.read, "acme", "api"), "read"]);
    assert!(
        out.status.success(),
        "clone: {}\n{}",
        stderr(&out),
        f.logs()
    );
    let work = git.home.join("read");
    assert_eq!(
        std::fs::read_to_string(work.join("README")).unwrap(),
        "api\n"
    );
    let out = git.run_in(&work, &["fetch", "origin"]);
    assert!(
        out.status.success(),
        "fetch: {}\n{}",
        stderr(&out),
        f.logs()
    );

    // A read token pushes nothing; a write token does.
    let before = f.head_of("acme", "api");
    std::fs::write(work.join("x"), "x").unwrap();
    git.ok_in(&work, &["add", "x"]);
    git.ok_in(&work, &["commit", "-m", "x"]);
    let out = git.run_in(&work, &["push", "origin", "main"]);
    assert!(!out.status.success(), "a read token pushed");
    assert_eq!(f.head_of("acme", "api"), before);
    let url = f.git_url(&t.write, "acme", "api");
    let out = git.run_in(&work, &["push", &url, "main"]);
    assert!(out.status.success(), "push: {}\n{}", stderr(&out), f.logs());
    assert_ne!(f.head_of("acme", "api"), before);

    // A sibling repository is out of reach.
    let out = git.run(&["clone", &f.git_url(&t.write, "acme", "web"), "web"]);
    assert!(!out.status.success(), "cloned a sibling");
    assert!(stderr(&out).contains("403"), "{}", stderr(&out));

    // The API: allowed calls arrive with scopegate's view of the token, never the secret.
    let r = t.s.raw(t.s.http.get(f.url(API)).bearer_auth(&t.read));
    assert_eq!(r.status, 200, "{}\n{}", r.text, f.logs());
    assert_eq!(r.json()["upstream"], "reached");
    let got = f.upstream.received();
    let last = got.last().unwrap();
    assert_eq!(last.path, API);
    assert!(
        last.header("x-token-id")
            .is_some_and(|v| v.starts_with("tok_")),
        "{last:?}"
    );
    if f.kind != Kind::NginxTextbook {
        // The examples clear it; the textbook configuration passes it on.
        assert!(
            last.header("authorization").is_none_or(str::is_empty),
            "{last:?}"
        );
    }
    // Without a token: a 401 with scopegate's first challenge, Bearer for an API call. Caddy
    // passes on scopegate's body too; nginx's auth_request keeps only the status and that one
    // challenge.
    let r = t.s.raw(t.s.http.get(f.url(API)));
    assert_eq!(r.status, 401, "{}", r.text);
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer realm=\"scopegate\""),
        "{challenge}"
    );
    if matches!(f.kind, Kind::Caddy) {
        assert_eq!(r.reason(), "token_missing", "{}", r.text);
        // Caddy passes on every challenge, Bearer first for an API call; for git's first
        // request Basic comes first, the one git answers.
        let challenges = |r: &Resp| -> Vec<String> {
            r.headers
                .get_all("www-authenticate")
                .iter()
                .map(|v| v.to_str().unwrap().split(' ').next().unwrap().to_string())
                .collect()
        };
        assert_eq!(challenges(&r), ["Bearer", "Basic"]);
        let r = t.s.raw(
            t.s.http
                .get(f.url("/acme/api.git/info/refs?service=git-upload-pack")),
        );
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(challenges(&r), ["Basic", "Bearer"]);
        assert_eq!(r.reason(), "token_missing", "{}", r.text);

        // A denial as the client sees it: scopegate's body, with what was needed and granted.
        let r = t.s.raw(
            t.s.http
                .delete(f.url("/2.0/repositories/acme/api"))
                .bearer_auth(&t.read),
        );
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.reason(), "scope_missing", "{}", r.text);
        assert!(
            r.json()["error"]["detail"]["required"].is_array(),
            "{}",
            r.text
        );

        // The upstream learns the token's kind and scopes from scopegate's answer, copied by
        // `copy_headers`.
        assert_eq!(
            last.header("x-credential-type"),
            Some("repo_access_token"),
            "{last:?}"
        );
        assert!(last.header("x-oauth-scopes").is_some(), "{last:?}");
    }
}

/// A request to the front written byte for byte.
fn request(method: &str, target: &[u8], lines: &[Vec<u8>], body: &[u8]) -> Vec<u8> {
    let mut req = format!("{method} ").into_bytes();
    req.extend_from_slice(target);
    req.extend_from_slice(b" HTTP/1.1\r\nHost: front\r\nConnection: close\r\n");
    for line in lines {
        req.extend_from_slice(line);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    req.extend_from_slice(body);
    req
}

fn line(name: &str, value: &str) -> Vec<u8> {
    format!("{name}: {value}").into_bytes()
}

/// One request as a hostile client writes it.
struct Hostile {
    what: &'static str,
    method: &'static str,
    target: Vec<u8>,
    lines: Vec<Vec<u8>>,
}

impl Hostile {
    /// A DELETE of acme/web, with header lines that try to make it look like something else.
    fn delete_web(what: &'static str, lines: [Vec<Vec<u8>>; 2]) -> Hostile {
        Hostile {
            what,
            method: "DELETE",
            target: WEB.into(),
            lines: lines.concat(),
        }
    }
}

/// Every hostile request is answered 401 or 403 and reaches neither the upstream nor git.
fn hostile_calls_reach_nothing(t: &Setup) {
    let f = &t.f;
    let bearer = |tok: &str| line("Authorization", &format!("Bearer {tok}"));
    let read = bearer(&t.read);
    let spoof_original = [
        line("X-Original-Method", "GET"),
        line("X-Original-URI", API),
    ];
    let spoof_forwarded = [
        line("X-Forwarded-Method", "GET"),
        line("X-Forwarded-Uri", API),
    ];
    let read = || read.clone();
    let hidden = |target: &str, method| Hostile {
        what: "a dot segment behind encoded slashes",
        method,
        target: target.as_bytes().to_vec(),
        lines: vec![read()],
    };
    let cases = [
        Hostile::delete_web("spoofed X-Original-*", [vec![read()], spoof_original.to_vec()]),
        Hostile::delete_web("spoofed X-Forwarded-*", [vec![read()], spoof_forwarded.to_vec()]),
        Hostile::delete_web(
            "both families spoofed",
            [vec![read()], [spoof_original.clone(), spoof_forwarded.clone()].concat()],
        ),
        Hostile::delete_web(
            "repeated and lower-case X-Original-*",
            [
                vec![read(), line("x-original-uri", API)],
                [spoof_original.clone(), spoof_original.clone()].concat(),
            ],
        ),
        Hostile::delete_web(
            "repeated and lower-case X-Forwarded-*",
            [
                vec![read(), line("x-forwarded-uri", API)],
                [spoof_forwarded.to_vec(), vec![line("X-FORWARDED-METHOD", "GET")]].concat(),
            ],
        ),
        Hostile {
            what: "a method override toward the upstream",
            method: "GET",
            target: API.into(),
            lines: vec![read(), line("X-HTTP-Method-Override", "DELETE")],
        },
        Hostile {
            what: "a URL override toward the upstream",
            method: "GET",
            target: API.into(),
            lines: vec![read(), line("X-Original-URL", WEB)],
        },
        Hostile {
            what: "a second Authorization",
            method: "GET",
            target: WEB.into(),
            lines: vec![bearer("sgat_invalid"), read()],
        },
        Hostile {
            what: "bytes that are not UTF-8",
            method: "GET",
            target: [API.as_bytes(), b"\xff"].concat(),
            lines: vec![read()],
        },
        // A sibling's refs through src/{commit}/{path}, and receive-pack through
        // commits/{revision}: nginx resolves the dots and routes both to git.
        hidden("/2.0/repositories/acme/api/src/main/..%2F..%2F..%2F..%2F..%2F..%2Facme%2Fweb.git%2Finfo%2Frefs?service=git-upload-pack", "GET"),
        hidden("/2.0/repositories/acme/api/commits/..%2F..%2F..%2F..%2F..%2Facme%2Fapi.git%2Fgit-receive-pack", "POST"),
        hidden("/acme/api.git%5C..%5C..%5Cweb.git/info/refs?service=git-upload-pack", "GET"),
        hidden("/acme/api.git/..%2F..%2Facme%2Fweb.git/info/refs?service=git-upload-pack", "GET"),
    ];
    let upstream_before = f.upstream.received().len();
    let git_before = f.git_reached();
    for Hostile {
        what,
        method,
        target,
        lines,
    } in &cases
    {
        let body: &[u8] = if *method == "POST" { b"0000" } else { b"" };
        let answers = exchange_with(&f.base, &request(method, target, lines, body), false);
        if let (Some(expect), Some(answer)) = (spoof_reason(f.kind, t.mode, what), answers.first())
        {
            assert_eq!(
                answer.reason(),
                expect,
                "{:?} {} {what}: {answer:?}",
                f.kind,
                t.mode
            );
        }
        let status = answers.first().map(|a| a.status);
        // nginx refuses a repeated Authorization itself, before any check.
        let nginx_refused = answers.first().is_some_and(|a| {
            a.status == 400 && a.head.contains("Server: nginx") && what.contains("Authorization")
        });
        assert!(
            matches!(status, Some(401 | 403)) || nginx_refused,
            "{:?} {what}: {answers:?}\n{}",
            f.kind,
            f.logs()
        );
        assert_eq!(
            f.upstream.received().len(),
            upstream_before,
            "{:?} {what} reached the upstream: {:?}",
            f.kind,
            f.upstream.received().last()
        );
        assert_eq!(
            f.git_reached(),
            git_before,
            "{:?} {what} reached git",
            f.kind
        );
    }
    // git itself, given such a URL, reads no sibling's refs.
    let url = format!(
        "{}/2.0/repositories/acme/api/src/main/..%2F..%2F..%2F..%2F..%2F..%2Facme%2Fweb.git",
        f.base
            .replacen("http://", &format!("http://x-token-auth:{}@", t.read), 1)
    );
    let out = t.git.run(&["ls-remote", &url]);
    assert!(
        !out.status.success(),
        "{:?}: {}",
        f.kind,
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        f.git_reached(),
        git_before,
        "{:?}: git ls-remote reached git",
        f.kind
    );
}

/// What the check answers a spoof with, behind a front that passes scopegate's body on: a
/// family the front sets replaces the client's copy, so the check decides the real request (a
/// DELETE of acme/web: `outside_resource`); the other family reaches the check from the client,
/// ignored when the front's family is pinned, refused in `either` mode.
fn spoof_reason(kind: Kind, mode: &str, what: &str) -> Option<&'static str> {
    let front_sets = match kind {
        Kind::Caddy => "X-Forwarded",
        // nginx's auth_request keeps only the status of a denial, and its first challenge.
        Kind::NginxExample | Kind::NginxTextbook => return None,
    };
    let spoofed = what.strip_prefix("spoofed ")?;
    Some(if spoofed.starts_with(front_sets) || mode != "either" {
        "outside_resource"
    } else {
        "bad_input"
    })
}

fn front(kind: Kind, mode: &'static str) {
    let dir = tempfile::tempdir().unwrap();
    let t = setup(dir.path(), kind, mode);
    honest_calls_work(&t);
    hostile_calls_reach_nothing(&t);
}

#[test]
fn nginx_example_with_original_headers() {
    front(Kind::NginxExample, "original");
}

#[test]
fn nginx_textbook_with_the_default_either() {
    front(Kind::NginxTextbook, "either");
}

#[test]
fn caddy_with_forwarded_headers() {
    front(Kind::Caddy, "forwarded");
}

#[test]
fn caddy_with_the_default_either() {
    front(Kind::Caddy, "either");
}
