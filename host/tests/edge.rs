//! The edge: `GET /admin/v1/edge/snapshot` and the Node worker of `examples/edge/`, which loads
//! the same module through its glue and must answer every request exactly as the host's `/check`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// libc: the worker's process group is killed whole.
#![allow(unsafe_code)]

mod common;
mod front;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A secret's key in the snapshot: its SHA-256 in unpadded base64url.
fn snapshot_key(s: &str) -> String {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(s.as_bytes()))
}

/// A new `snapshot-reader` credential of `host`: all the edge needs, and nothing more.
fn snapshot_reader(host: &Server) -> String {
    let r = host.admin(
        "POST",
        "/credentials",
        Some(serde_json::json!({"name": "edge", "role": "snapshot-reader"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let credential = r.json()["credential"].as_str().unwrap().to_string();
    // It reads the snapshot, and nothing else.
    let other = host.raw(
        host.http
            .get(host.url("/admin/v1/workspaces"))
            .bearer_auth(&credential),
    );
    assert_eq!(other.status, 403, "{}", other.text);
    assert_eq!(other.reason(), "role_forbidden");
    credential
}

fn serve_script() -> std::path::PathBuf {
    front::examples_dir().join("edge/serve.mjs")
}

/// `node examples/edge/serve.mjs` against a host; killed (with its group) on drop.
struct Edge {
    child: Child,
    base: String,
    http: reqwest::blocking::Client,
}

impl Edge {
    /// Started with a `snapshot-reader` credential made for it, as the edge's docs say.
    fn start(host: &Server, refresh: &str, max_age: &str) -> Edge {
        let credential = snapshot_reader(host);
        let mut child = Command::new("node")
            .arg(serve_script())
            .env("SCOPEGATE_URL", &host.base)
            .env("SCOPEGATE_SNAPSHOT_CREDENTIAL", credential)
            .env("SCOPEGATE_EDGE_LISTEN", "127.0.0.1:0")
            .env("SCOPEGATE_EDGE_REFRESH_SECONDS", refresh)
            .env("SCOPEGATE_EDGE_MAX_AGE_SECONDS", max_age)
            .env("SCOPEGATE_POLICY", real_policy())
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node is needed for the edge worker");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .strip_prefix("scopegate edge listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("the edge did not start: {line:?}"))
            .to_string();
        Edge {
            child,
            base,
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    fn version(&self) -> i64 {
        let v: Value = self
            .http
            .get(format!("{}/snapshot", self.base))
            .send()
            .unwrap()
            .json()
            .unwrap();
        v["version"].as_i64().unwrap()
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// What a forward-auth client can observe of a `/check` answer: the status, every header the
/// answer is made of in its order, and the body's bytes.
#[derive(Debug, PartialEq)]
struct Seen {
    status: u16,
    body: Value,
    text: String,
    headers: Vec<(String, String)>,
}

/// Headers of the transport, which each server writes its own way, and the edge's own.
const NOT_COMPARED: &[&str] = &[
    "date",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "x-scopegate-snapshot",
];

fn ask(
    http: &reqwest::blocking::Client,
    base: &str,
    headers: &[(&str, impl AsRef<[u8]>)],
) -> (Seen, Option<i64>) {
    let mut req = http.get(format!("{base}/check"));
    // Appended one by one: a name given twice is sent twice.
    for (n, v) in headers {
        req = req.header(
            *n,
            reqwest::header::HeaderValue::from_bytes(v.as_ref()).unwrap(),
        );
    }
    let r = req.send().expect("check request");
    let snapshot = r
        .headers()
        .get("x-scopegate-snapshot")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let headers = r
        .headers()
        .iter()
        .filter(|(n, _)| !NOT_COMPARED.contains(&n.as_str()))
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    let status = r.status().as_u16();
    let text = r.text().unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (
        Seen {
            status,
            body,
            text,
            headers,
        },
        snapshot,
    )
}

fn basic(user: &str, pass: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

struct World {
    s: Server,
    repo: String,
    repo_id: String,
    project: String,
    workspace: String,
    writer: String,
    expired: String,
    revoked: String,
    deactivated: String,
}

fn world(dir: &std::path::Path) -> World {
    let s = start_real(dir);
    s.seed();
    for (path, body) in [
        (
            "/workspaces/acme/repositories/web",
            json!({"project": "PROJ"}),
        ),
        (
            "/workspaces/acme/repositories/tools",
            json!({"project": "OTHER"}),
        ),
        (
            "/workspaces/acme/repositories/old",
            json!({"project": "OTHER"}),
        ),
        ("/workspaces/globex", json!({"plan": "premium"})),
    ] {
        assert_eq!(s.admin("PUT", path, Some(body)).status, 201);
    }
    let (repo_id, repo) = s.issue("/workspaces/acme/repositories/api", &["pullrequest"]);
    let (_, writer) = s.issue("/workspaces/acme/repositories/api", &["repository:write"]);
    let (_, project) = s.issue(
        "/workspaces/acme/projects/PROJ",
        &["repository", "pipeline"],
    );
    let (_, workspace) = s.issue("/workspaces/acme", &["project", "webhook"]);
    let (revoked_id, revoked) = s.issue("/workspaces/acme/repositories/web", &["repository"]);
    assert_eq!(
        s.admin("DELETE", &format!("/access-tokens/{revoked_id}"), None)
            .status,
        204
    );
    let (_, deactivated) = s.issue("/workspaces/acme/repositories/old", &["repository"]);
    assert_eq!(
        s.admin("DELETE", "/workspaces/acme/repositories/old", None)
            .status,
        204
    );
    let r = s.admin(
        "POST",
        "/workspaces/acme/repositories/api/access-tokens",
        // Two seconds ahead: one whole second could already be past when the host reads it.
        Some(json!({"name": "short", "scopes": ["repository"], "expires_at": time_in(2)})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let expired = r.json()["token"].as_str().unwrap().to_string();
    World {
        s,
        repo,
        repo_id,
        project,
        workspace,
        writer,
        expired,
        revoked,
        deactivated,
    }
}

#[test]
fn the_snapshot_holds_hashes_and_claims_never_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path());
    let s = &w.s;

    let anonymous = s.raw(s.http.get(s.url("/admin/v1/edge/snapshot")));
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.reason(), "admin_key_missing");

    let r = s.admin("GET", "/edge/snapshot", None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let secrets = [
        &w.repo,
        &w.writer,
        &w.project,
        &w.workspace,
        &w.expired,
        &w.revoked,
        &w.deactivated,
    ];
    for secret in secrets {
        assert!(
            !r.text.contains(secret.as_str()),
            "a secret is in the snapshot"
        );
        // Not even the part after the prefix.
        assert!(
            !r.text.contains(&secret[5..25]),
            "part of a secret is in the snapshot"
        );
    }
    assert!(!r.text.contains(ADMIN_KEY));
    let v = r.json();
    assert_eq!(v["format"], 3);
    assert!(v.get("since").is_none(), "a full snapshot has no since");
    assert!(v["version"].is_i64());
    assert!(time::OffsetDateTime::parse(
        v["generated_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339
    )
    .is_ok());
    let tokens = v["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), secrets.len());
    // Each token is [hash, id, claims].
    let entry = |secret: &str| {
        let h = snapshot_key(secret);
        let t = tokens
            .iter()
            .find(|t| t[0] == h.as_str())
            .unwrap_or_else(|| panic!("no entry for a token"));
        assert_eq!(t.as_array().unwrap().len(), 3, "{t}");
        t.clone()
    };
    let repo = entry(&w.repo);
    assert_eq!(repo[1], w.repo_id.as_str());
    assert_eq!(
        repo[2],
        json!({"kind": "repository", "workspace": "acme", "repository": "api",
               "scopes": ["pullrequest"], "expires_at": repo[2]["expires_at"], "revoked": false})
    );
    assert!(repo[2]["expires_at"].is_i64());
    assert_eq!(entry(&w.project)[2]["project"], "PROJ");
    assert_eq!(entry(&w.workspace)[2]["kind"], "workspace");
    // Revoked and deactivated tokens stay, marked, so the edge names the same reason as the host.
    assert_eq!(entry(&w.revoked)[2]["revoked"], true);
    assert_eq!(entry(&w.deactivated)[2]["revoked"], true);
    assert_eq!(
        v["repositories"],
        json!({"acme/api": "PROJ", "acme/tools": "OTHER", "acme/web": "PROJ"})
    );

    // Asked for gzip (as Node's fetch asks), the same snapshot comes compressed.
    let z = s
        .http
        .get(s.url("/admin/v1/edge/snapshot"))
        .bearer_auth(ADMIN_KEY)
        .header("accept-encoding", "gzip, deflate")
        .send()
        .unwrap();
    assert_eq!(z.status(), 200);
    assert_eq!(z.headers()["content-encoding"], "gzip");
    assert_eq!(z.headers()["vary"], "accept-encoding");
    let mut unzipped = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&z.bytes().unwrap()[..]),
        &mut unzipped,
    )
    .unwrap();
    let u: serde_json::Value = serde_json::from_str(&unzipped).unwrap();
    for field in ["format", "version", "tokens", "repositories"] {
        assert_eq!(u[field], v[field], "{field}");
    }
    assert!(
        r.header("content-encoding").is_none(),
        "not asked, not compressed"
    );

    // Every change a check can see moves the version; reading does not.
    let version = v["version"].as_i64().unwrap();
    assert_eq!(
        s.admin("GET", "/edge/snapshot", None).json()["version"],
        version
    );
    assert_eq!(
        s.check(Some(&w.repo), "GET", "/2.0/repositories/acme/api")
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
    let v = s.admin("GET", "/edge/snapshot", None).json();
    assert!(v["version"].as_i64().unwrap() > version);
    assert_eq!(v["repositories"]["acme/tools"], "PROJ");
}

#[test]
fn a_refresh_since_a_version_moves_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path());
    let s = &w.s;
    let full = s.admin("GET", "/edge/snapshot", None);
    let full_tokens = full.json()["tokens"].as_array().unwrap().len();
    let version = full.json()["version"].as_i64().unwrap();
    let since = |v: i64| s.admin("GET", &format!("/edge/snapshot?since={v}"), None);

    // Nothing changed: nothing to move.
    let none = since(version).json();
    assert_eq!(none["since"], version);
    assert_eq!(none["version"], version);
    assert_eq!(none["tokens"], json!([]));
    assert_eq!(none["repositories"], json!({}));

    // A token issued, one revoked, a repository moved, one deleted (deactivating its token).
    let (new_id, new) = s.issue("/workspaces/acme/repositories/web", &["repository"]);
    let r = s.admin("DELETE", &format!("/access-tokens/{}", w.repo_id), None);
    assert_eq!(r.status, 204);
    let r = s.admin(
        "PUT",
        "/workspaces/acme/repositories/web",
        Some(json!({"project": "OTHER"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let (tools_id, _) = s.issue("/workspaces/acme/repositories/tools", &["repository"]);
    assert_eq!(
        s.admin("DELETE", "/workspaces/acme/repositories/tools", None)
            .status,
        204
    );
    let delta = since(version);
    let d = delta.json();
    assert_eq!(d["format"], 3);
    assert_eq!(d["since"], version);
    assert!(d["version"].as_i64().unwrap() >= version + 5, "{d}");
    let tokens = d["tokens"].as_array().unwrap();
    let mut ids: Vec<&str> = tokens.iter().map(|t| t[1].as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut expected = vec![new_id.as_str(), w.repo_id.as_str(), tools_id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected, "{d}");
    let by_id = |id: &str| tokens.iter().find(|t| t[1] == id).unwrap().clone();
    assert_eq!(by_id(&new_id)[0], snapshot_key(&new));
    assert_eq!(by_id(&new_id)[2]["revoked"], false);
    assert_eq!(by_id(&w.repo_id)[0], snapshot_key(&w.repo));
    assert_eq!(by_id(&w.repo_id)[2]["revoked"], true);
    assert_eq!(by_id(&tools_id)[2]["revoked"], true);
    assert_eq!(
        d["repositories"],
        json!({"acme/web": "OTHER", "acme/tools": null}),
        "a move names the new project, a deletion null"
    );
    assert!(
        delta.text.len() * full_tokens < full.text.len() * tokens.len() * 2,
        "a delta costs about what its tokens cost in a full snapshot"
    );

    // A version the log can't answer from (here: ahead of the store) gets a full snapshot.
    let ahead = since(version + 1_000_000).json();
    assert!(ahead.get("since").is_none(), "{ahead}");
    assert_eq!(ahead["tokens"].as_array().unwrap().len(), full_tokens + 2);
    for bad in ["-1", "x", "1.5", ""] {
        let r = s.admin("GET", &format!("/edge/snapshot?since={bad}"), None);
        assert_eq!(r.status, 400, "since={bad}: {}", r.text);
    }
}

#[test]
fn the_edge_answers_as_the_host_and_follows_revocations() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path());
    let s = &w.s;
    // Past the short token's expiry, so both sides see it expired whatever second they read.
    std::thread::sleep(Duration::from_millis(3100));
    let edge = Edge::start(s, "0.2", "300");

    let bearer = |t: &str| format!("Bearer {t}");
    let mut flipped = w.repo.clone().into_bytes();
    flipped[10] = if flipped[10] == b'a' { b'b' } else { b'a' };
    let flipped = String::from_utf8(flipped).unwrap();
    // Well formed, never issued.
    let random = scopegate_host::token::random_part();
    let (unknown, _) =
        scopegate_core::token::seal(scopegate_core::SecretKind::AccessToken, &random).unwrap();
    let credentials: Vec<Option<String>> = vec![
        None,
        Some(bearer(&w.repo)),
        Some(basic("x-token-auth", &w.repo)),
        Some(basic("someone", &w.repo)),
        // Valid credentials without their `==`: not base64 to the host, so not to the edge.
        Some(
            basic("x-token-auth", &w.repo)
                .trim_end_matches('=')
                .to_string(),
        ),
        Some("Digest abc".into()),
        Some("Bearer".into()),
        Some(bearer(&flipped)),
        Some(bearer(&unknown)),
        Some(bearer(&w.writer)),
        Some(basic("x-token-auth", &w.project)),
        Some(bearer(&w.workspace)),
        Some(bearer(&w.expired)),
        Some(bearer(&w.revoked)),
        Some(bearer(&w.deactivated)),
    ];
    let requests: &[(&str, &str)] = &[
        ("GET", "/2.0/repositories/acme/api/pullrequests?state=OPEN"),
        ("POST", "/2.0/repositories/acme/api/pullrequests"),
        ("GET", "/2.0/repositories/ACME/Web"),
        ("GET", "/2.0/repositories/acme/tools/pipelines/"),
        ("GET", "/2.0/repositories/acme/ghost"),
        ("GET", "/2.0/repositories/globex/site"),
        ("POST", "/2.0/repositories/acme/web/hooks"),
        ("GET", "/2.0/workspaces/acme/projects/PROJ"),
        ("DELETE", "/2.0/repositories/acme/api/deploy-keys/7"),
        ("GET", "/2.0/user"),
        ("GET", "/acme/api.git/info/refs?service=git-upload-pack"),
        ("POST", "/acme/web/git-receive-pack"),
        (
            "GET",
            "/acme/api.git/info/refs?service=git-upload-pack&service=git-upload-pack",
        ),
        ("GET", "/acme/api/src/main/README"),
        ("GET", "/2.0/repositories/acme/%zz"),
        ("GET", ""),
    ];
    let mut compared = 0;
    let mut statuses = std::collections::BTreeSet::new();
    for cred in &credentials {
        for (method, uri) in requests {
            let mut headers = vec![
                ("X-Original-Method", method.to_string()),
                ("X-Original-URI", uri.to_string()),
            ];
            if let Some(c) = cred {
                headers.push(("Authorization", c.clone()));
            }
            let (host, _) = ask(&s.http, &s.base, &headers);
            let (at_edge, version) = ask(&edge.http, &edge.base, &headers);
            assert!(version.is_some(), "the edge names its snapshot");
            assert_eq!(
                at_edge,
                host,
                "{method} {uri} with {:?}",
                cred.as_ref().map(|c| &c[..12.min(c.len())])
            );
            statuses.insert(host.status);
            compared += 1;
        }
    }
    // The forwarded spelling, and no original request at all.
    for headers in [
        vec![
            ("X-Forwarded-Method", "GET".to_string()),
            ("X-Forwarded-Uri", "/2.0/repositories/acme/api".to_string()),
            ("Authorization", bearer(&w.repo)),
        ],
        vec![("Authorization", bearer(&w.repo))],
        vec![("X-Original-URI", "/2.0/repositories/acme/api".to_string())],
    ] {
        assert_eq!(
            ask(&edge.http, &edge.base, &headers).0,
            ask(&s.http, &s.base, &headers).0
        );
        compared += 1;
    }
    // A client's own forwarding headers, repeats, overrides and bytes that are not UTF-8: the
    // module's one rule, refused alike by both.
    let api = || "/2.0/repositories/acme/api".as_bytes().to_vec();
    let auth = || bearer(&w.repo).into_bytes();
    let hostile: Vec<Vec<(&str, Vec<u8>)>> = vec![
        vec![
            ("Authorization", auth()),
            ("X-Original-Method", b"GET".to_vec()),
            ("X-Original-URI", api()),
            ("X-Forwarded-Method", b"DELETE".to_vec()),
            ("X-Forwarded-Uri", b"/2.0/repositories/acme/web".to_vec()),
        ],
        vec![
            ("Authorization", auth()),
            ("X-Original-Method", b"GET".to_vec()),
            ("X-Original-URI", api()),
            ("x-original-uri", api()),
        ],
        vec![
            ("Authorization", auth()),
            ("Authorization", auth()),
            ("X-Original-Method", b"GET".to_vec()),
            ("X-Original-URI", api()),
        ],
        vec![
            ("Authorization", auth()),
            ("X-Original-Method", b"GET".to_vec()),
            ("X-Original-URI", api()),
            ("X-HTTP-Method-Override", b"DELETE".to_vec()),
        ],
        vec![
            ("Authorization", auth()),
            ("X-Original-Method", b"GET".to_vec()),
            ("X-Original-URI", [api(), b"\xff".to_vec()].concat()),
        ],
        vec![
            ("Authorization", auth()),
            ("X-Original-Method", b"GET".to_vec()),
            (
                "X-Original-URI",
                "/2.0/repositories/acme/caf\u{e9}".as_bytes().to_vec(),
            ),
        ],
        vec![
            ("Authorization", auth()),
            ("X-Original-Method", b"GET".to_vec()),
            (
                "X-Original-URI",
                b"/2.0/repositories/acme/api/src/main/..%2F..%2Fweb".to_vec(),
            ),
        ],
    ];
    for headers in &hostile {
        let at_host = ask(&s.http, &s.base, headers).0;
        assert_eq!(
            ask(&edge.http, &edge.base, headers).0,
            at_host,
            "{headers:?}"
        );
        assert_eq!(at_host.status, 403, "{headers:?}: {at_host:?}");
        compared += 1;
    }
    assert!(compared > 200);
    assert_eq!(statuses, [200, 401, 403].into());

    // Changes reach the edge with the next snapshot, and not before.
    let api = [
        ("X-Original-Method", "GET".to_string()),
        ("X-Original-URI", "/2.0/repositories/acme/api".to_string()),
        ("Authorization", bearer(&w.repo)),
    ];
    let tools = [
        ("X-Original-Method", "GET".to_string()),
        (
            "X-Original-URI",
            "/acme/tools.git/info/refs?service=git-upload-pack".to_string(),
        ),
        ("Authorization", basic("x-token-auth", &w.project)),
    ];
    let before = edge.version();
    assert_eq!(ask(&edge.http, &edge.base, &api).0.status, 200);
    assert_eq!(ask(&edge.http, &edge.base, &tools).0.status, 403);
    assert_eq!(
        s.admin("DELETE", &format!("/access-tokens/{}", w.repo_id), None)
            .status,
        204
    );
    // The edge may load the snapshot between the two changes: it then knows the revocation only.
    let revoked = s.admin("GET", "/edge/snapshot", None).json()["version"]
        .as_i64()
        .unwrap();
    assert_eq!(
        s.admin(
            "PUT",
            "/workspaces/acme/repositories/tools",
            Some(json!({"project": "PROJ"}))
        )
        .status,
        200
    );
    let after = s.admin("GET", "/edge/snapshot", None).json()["version"]
        .as_i64()
        .unwrap();
    assert!(after > revoked && revoked > before);
    let (host_api, host_tools) = (
        ask(&s.http, &s.base, &api).0,
        ask(&s.http, &s.base, &tools).0,
    );
    assert_eq!(host_api.body["error"]["detail"]["reason"], "token_revoked");
    assert_eq!(host_tools.status, 200);

    let started = Instant::now();
    loop {
        let (a, va) = ask(&edge.http, &edge.base, &api);
        let (t, vt) = ask(&edge.http, &edge.base, &tools);
        let (va, vt) = (va.unwrap(), vt.unwrap());
        if va < revoked {
            assert_eq!(a.status, 200, "snapshot {va} predates the revocation");
        } else {
            assert_eq!(a, host_api, "snapshot {va}");
        }
        if vt < after {
            assert_eq!(t.status, 403, "snapshot {vt} predates the move");
        } else {
            assert_eq!(t, host_tools, "snapshot {vt}");
        }
        if va >= after && vt >= after {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the edge never loaded snapshot {after}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_edge_cut_off_from_the_host_stops_allowing() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let (_, tok) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let edge = Edge::start(&s, "0.2", "1");
    let headers = [
        ("X-Original-Method", "GET".to_string()),
        ("X-Original-URI", "/2.0/repositories/acme/api".to_string()),
        ("Authorization", format!("Bearer {tok}")),
    ];
    assert_eq!(ask(&edge.http, &edge.base, &headers).0.status, 200);
    drop(s);
    let started = Instant::now();
    loop {
        let (seen, _) = ask(&edge.http, &edge.base, &headers);
        if seen.status != 200 {
            assert_eq!(seen.status, 403);
            assert_eq!(seen.body["error"]["detail"]["reason"], "snapshot_stale");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still allowing without a host"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "denied before the snapshot aged"
    );
}

#[test]
fn the_edge_refuses_to_start_on_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    let run = |envs: &[(&str, &str)]| {
        let out = Command::new("node")
            .arg(serve_script())
            .env_remove("SCOPEGATE_URL")
            .env_remove("SCOPEGATE_SNAPSHOT_CREDENTIAL")
            .env("SCOPEGATE_EDGE_LISTEN", "127.0.0.1:0")
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&[("SCOPEGATE_SNAPSHOT_CREDENTIAL", ADMIN_KEY)]);
    assert_eq!(code, Some(2));
    assert!(err.contains("SCOPEGATE_URL is required"), "{err}");

    let wrong = "sgak_wrong-key-that-must-not-be-printed";
    let (code, err) = run(&[
        ("SCOPEGATE_URL", &s.base),
        ("SCOPEGATE_SNAPSHOT_CREDENTIAL", wrong),
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("cannot load the first snapshot") && err.contains("401"),
        "{err}"
    );
    assert!(!err.contains(wrong), "the key was printed: {err}");

    let (code, err) = run(&[
        ("SCOPEGATE_URL", &s.base),
        ("SCOPEGATE_SNAPSHOT_CREDENTIAL", ADMIN_KEY),
        ("SCOPEGATE_EDGE_REFRESH_SECONDS", "soon"),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("SCOPEGATE_EDGE_REFRESH_SECONDS"), "{err}");
}
