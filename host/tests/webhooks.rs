//! Webhooks against real receivers: a small HTTP server in the test on 127.0.0.1 gets what a
//! real host sends after admin calls, and what in-process notifiers send as a test clock moves
//! through the expiry thresholds. Every delivery's signature is checked with the secret.
//! Run on SQLite by default and on PostgreSQL with `SCOPEGATE_TEST_DB=postgres`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use scopegate_host::store::audit::Actor;
use scopegate_host::store::webhooks::WebhookSpec;
use scopegate_host::store::{DbTarget, NewToken, Plan, Resource, Store, TokenPolicy, WebhookEvent};
use scopegate_host::webhooks::Notifier;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "whsec-7d1f0c9a4b2e8f6d3c5a";
const DAY: i64 = 86_400;

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    event: String,
    delivery: String,
    signature: String,
    content_type: String,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// An HTTP receiver on 127.0.0.1, answering 200 to every POST, on a runtime of its own. Dropped
/// (or stopped), its runtime goes and every connection with it, as a crashed receiver's would.
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

async fn receive(
    axum::extract::State(got): axum::extract::State<Arc<Mutex<Vec<Received>>>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> &'static str {
    let h = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    got.lock().push(Received {
        event: h("x-scopegate-event"),
        delivery: h("x-scopegate-delivery"),
        signature: h("x-scopegate-signature"),
        content_type: h("content-type"),
        body: body.to_vec(),
    });
    "ok"
}

impl Receiver {
    /// On `port`, or (0) any free one. SO_REUSEADDR, so that a receiver started again on the
    /// port of a stopped one binds although that one's connections linger in TIME_WAIT.
    fn start(port: u16) -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (bound, port_rx) = std::sync::mpsc::channel();
        let state = got.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.set_reuseaddr(true).unwrap();
                socket
                    .bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
                    .unwrap();
                let listener = socket.listen(1024).unwrap();
                bound.send(listener.local_addr().unwrap().port()).unwrap();
                let app = axum::Router::new()
                    .route("/hook", axum::routing::post(receive))
                    .with_state(state);
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
            // The runtime is dropped here, and every open connection with it.
        });
        let port = port_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Receiver {
            port,
            got,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().clone()
    }

    /// Waits until at least `n` requests came, for at most `limit`; then what came.
    fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let start = Instant::now();
        while self.got.lock().len() < n && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.received()
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

fn from_hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The signature checked as a receiver checks it: HMAC-SHA256 of the raw body with the
/// secret, compared in constant time.
fn signed_with(r: &Received, secret: &str) -> bool {
    let Some(hex) = r.signature.strip_prefix("sha256=") else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&r.body);
    mac.verify_slice(&from_hex(hex)).is_ok()
}

/// Every delivery's headers agree with its body, and the body has SPEC §11's shape.
fn check_delivery(r: &Received, secret: &str) -> Value {
    assert!(signed_with(r, secret), "bad signature: {r:?}");
    assert!(!signed_with(r, "another-secret-0123456789"));
    assert_eq!(r.content_type, "application/json");
    let v = r.json();
    let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "event", "at", "workspace", "token"]),
        "{v}"
    );
    assert_eq!(v["id"], r.delivery.as_str());
    assert!(r.delivery.starts_with("whd_"), "{}", r.delivery);
    assert_eq!(v["event"], r.event.as_str());
    assert!(scopegate_host::clock::parse_rfc3339(v["at"].as_str().unwrap()).is_some());
    let t = &v["token"];
    for field in ["id", "name", "kind", "created_at", "state"] {
        assert!(t[field].is_string(), "token.{field} in {v}");
    }
    assert!(t["scopes"].as_array().is_some_and(|s| !s.is_empty()), "{v}");
    assert!(t.get("expires_at").is_some(), "{v}");
    assert!(!r.body.windows(5).any(|w| w == b"sgat_"), "a secret in {v}");
    v
}

fn admin_ok(s: &Server, method: &str, path: &str, body: Option<Value>, status: u16) -> Resp {
    let r = s.admin(method, path, body);
    assert_eq!(r.status, status, "{method} {path}: {}", r.text);
    r
}

fn webhook_body(url: &str, events: &[&str]) -> Value {
    json!({"url": url, "secret": SECRET, "events": events})
}

/// Revoked and rotated tokens reach a real receiver from a real host, signed; the admin API
/// checks definitions, and no answer or log line of the host ever holds the secret.
#[test]
fn a_real_host_sends_signed_revocations_and_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let rx = Receiver::start(0);
    let mut answers = Vec::new();
    let hook = "/workspaces/acme/webhooks/ops";

    let body = webhook_body(&rx.url(), &["token.revoked", "token.rotated"]);
    let r = admin_ok(&s, "PUT", hook, Some(body.clone()), 201);
    assert_eq!(
        r.json(),
        json!({"workspace": "acme", "name": "ops", "url": rx.url(),
               "events": ["token.revoked", "token.rotated"],
               "created_at": r.json()["created_at"], "updated_at": r.json()["updated_at"]})
    );
    answers.push(r.text);
    answers.push(admin_ok(&s, "PUT", hook, Some(body), 200).text);
    answers.push(admin_ok(&s, "GET", hook, None, 200).text);
    let list = admin_ok(&s, "GET", "/workspaces/acme/webhooks", None, 200);
    assert_eq!(list.json()["values"].as_array().map(Vec::len), Some(1));
    answers.push(list.text);

    // Definitions that can't be sent are refused, each with its own code.
    let refused = [
        (
            webhook_body("ftp://example.com/x", &["token.revoked"]),
            400,
            "invalid_webhook_url",
        ),
        (
            webhook_body("http://u:p@example.com/", &["token.revoked"]),
            400,
            "invalid_webhook_url",
        ),
        (webhook_body(&rx.url(), &[]), 400, "invalid_webhook_events"),
        (
            webhook_body(&rx.url(), &["token.created"]),
            400,
            "invalid_body",
        ),
        (
            json!({"url": rx.url(), "secret": "short", "events": ["token.revoked"]}),
            400,
            "invalid_webhook_secret",
        ),
        (
            json!({"url": rx.url(), "secret": SECRET, "events": ["token.revoked"], "extra": 1}),
            400,
            "invalid_body",
        ),
    ];
    for (body, status, reason) in refused {
        let r = s.admin("PUT", "/workspaces/acme/webhooks/bad", Some(body.clone()));
        assert_eq!((r.status, r.reason().as_str()), (status, reason), "{body}");
        answers.push(r.text);
    }
    let r = s.admin(
        "PUT",
        "/workspaces/nowhere/webhooks/ops",
        Some(webhook_body(&rx.url(), &["token.revoked"])),
    );
    assert_eq!(
        (r.status, r.reason().as_str()),
        (404, "workspace_not_found")
    );
    let r = s.admin("GET", "/workspaces/acme/webhooks/nope", None);
    assert_eq!((r.status, r.reason().as_str()), (404, "webhook_not_found"));
    let r = s.admin("GET", "/workspaces/acme/webhooks/a%20b", None);
    assert_eq!(
        (r.status, r.reason().as_str()),
        (400, "invalid_webhook_name")
    );
    let r = s.admin("GET", "/workspaces/nowhere/webhooks", None);
    assert_eq!(
        (r.status, r.reason().as_str()),
        (404, "workspace_not_found")
    );

    // A revocation (and its idempotent repeat, which sends nothing more) and a rotation.
    let (revoked, _) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    admin_ok(
        &s,
        "DELETE",
        &format!("/access-tokens/{revoked}"),
        None,
        204,
    );
    admin_ok(
        &s,
        "DELETE",
        &format!("/access-tokens/{revoked}"),
        None,
        204,
    );
    let (rotated, _) = s.issue("/workspaces/acme/projects/PROJ", &["repository"]);
    let r = admin_ok(
        &s,
        "POST",
        &format!("/access-tokens/{rotated}/rotate"),
        Some(json!({"expires_at": time_in(3600)})),
        201,
    );
    let successor = r.json()["id"].as_str().unwrap().to_string();

    let got = rx.wait_for(2, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(1500));
    let got_later = rx.received();
    assert_eq!(got_later.len(), 2, "{got_later:?}");
    let mut by_event: Vec<(String, Value)> = got
        .iter()
        .map(|r| (r.event.clone(), check_delivery(r, SECRET)))
        .collect();
    by_event.sort_by(|a, b| a.0.cmp(&b.0));
    let (event, v) = &by_event[0];
    assert_eq!(event, "token.revoked");
    assert_eq!(v["workspace"], "acme");
    assert_eq!(v["token"]["id"], revoked.as_str());
    assert_eq!(v["token"]["kind"], "repository");
    assert_eq!(v["token"]["repository"], "api");
    assert_eq!(v["token"]["scopes"], json!(["repository"]));
    assert_eq!(v["token"]["state"], "revoked");
    assert!(v["token"]["revoked_at"].is_string());
    let (event, v) = &by_event[1];
    assert_eq!(event, "token.rotated");
    assert_eq!(v["token"]["id"], rotated.as_str());
    assert_ne!(v["token"]["id"], successor.as_str());
    assert_eq!(v["token"]["kind"], "project");
    assert_eq!(v["token"]["project"], "PROJ");
    let old_expiry =
        scopegate_host::clock::parse_rfc3339(v["token"]["expires_at"].as_str().unwrap()).unwrap();
    assert!(old_expiry <= now() + 30 * 60 + 5, "{v}");

    // Deleted: gone, and its name is free again.
    admin_ok(&s, "DELETE", hook, None, 204);
    let r = s.admin("DELETE", hook, None);
    assert_eq!((r.status, r.reason().as_str()), (404, "webhook_not_found"));
    answers.push(admin_ok(&s, "GET", "/workspaces/acme/webhooks", None, 200).text);

    for a in &answers {
        assert!(!a.contains(SECRET), "the secret in an answer: {a}");
    }
    let logs = s.logs();
    assert!(logs.contains("webhook put"), "{logs}");
    assert!(!logs.contains(SECRET), "the secret in the log:\n{logs}");
}

/// A leak report (SPEC §12) sends `token.leaked` for each token it kills, and a transfer to
/// another workspace `token.revoked` for each token of the repository.
#[test]
fn leaks_and_transfers_send_their_tokens_ends() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    admin_ok(
        &s,
        "PUT",
        "/workspaces/elsewhere",
        Some(json!({"plan": "premium"})),
        201,
    );
    admin_ok(&s, "PUT", "/workspaces/elsewhere/projects/P", None, 201);
    let rx = Receiver::start(0);
    let body = webhook_body(&rx.url(), &["token.leaked", "token.revoked"]);
    admin_ok(&s, "PUT", "/workspaces/acme/webhooks/ops", Some(body), 201);
    let (leaked, secret) = s.issue("/workspaces/acme", &["repository"]);
    let (moved, _) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let r = s.raw(
        s.http
            .post(s.url("/leaks"))
            .json(&json!({"tokens": [secret, "sgat_stranger"]})),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    admin_ok(
        &s,
        "POST",
        "/workspaces/acme/repositories/api/transfer",
        Some(json!({"workspace": "elsewhere", "project": "P"})),
        200,
    );
    let got = rx.wait_for(2, Duration::from_secs(10));
    let mut seen: Vec<(String, String, String)> = got
        .iter()
        .map(|r| {
            let v = check_delivery(r, SECRET);
            let state = v["token"]["state"].as_str().unwrap().to_string();
            (
                r.event.clone(),
                v["token"]["id"].as_str().unwrap().to_string(),
                state,
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("token.leaked".to_string(), leaked, "revoked".to_string()),
            ("token.revoked".to_string(), moved, "revoked".to_string()),
        ]
    );
}

/// The delivery ids named by the host's log lines of failed attempts.
fn failed_ids(logs: &str) -> Vec<String> {
    logs.lines()
        .filter(|l| l.contains("webhook delivery failed"))
        .filter_map(|l| {
            let at = l.find("delivery=")? + "delivery=".len();
            Some(
                l[at..]
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .next()?
                    .to_string(),
            )
        })
        .collect()
}

/// A receiver that is down is retried with backoff; back up on the same port, it gets the
/// delivery it missed, once, under the id the failed attempts had.
#[test]
fn a_receiver_that_was_down_gets_the_delivery_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_real(dir.path());
    s.seed();
    let mut rx = Receiver::start(0);
    let port = rx.port;
    admin_ok(
        &s,
        "PUT",
        "/workspaces/acme/webhooks/ops",
        Some(webhook_body(&rx.url(), &["token.revoked"])),
        201,
    );
    rx.stop();

    let (id, _) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    admin_ok(&s, "DELETE", &format!("/access-tokens/{id}"), None, 204);
    let start = Instant::now();
    while failed_ids(&s.logs()).len() < 2 && start.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let failed = failed_ids(&s.logs());
    assert!(failed.len() >= 2, "no retries:\n{}", s.logs());
    assert!(failed.iter().all(|f| f == &failed[0]), "{failed:?}");
    assert!(s.logs().contains("attempts=2"), "{}", s.logs());

    let back = Receiver::start(port);
    assert_eq!(back.port, port);
    let got = back.wait_for(1, Duration::from_secs(15));
    assert_eq!(got.len(), 1, "not delivered after the receiver came back");
    std::thread::sleep(Duration::from_secs(2));
    let got = back.received();
    assert_eq!(
        got.len(),
        1,
        "delivered more than once once it was answered: {got:?}"
    );
    let v = check_delivery(&got[0], SECRET);
    assert_eq!(got[0].delivery, failed[0], "a retry is the same delivery");
    assert_eq!(v["event"], "token.revoked");
    assert_eq!(v["token"]["id"], id.as_str());
}

/// One number from the test's store, read behind the host's back.
fn count(db: &str, query: &str) -> i64 {
    match backend() {
        Backend::Sqlite => rusqlite::Connection::open(db)
            .unwrap()
            .query_row(query, [], |r| r.get(0))
            .unwrap(),
        Backend::Postgres => pg()
            .psql(PgServer::db_of(db), query)
            .trim()
            .parse()
            .unwrap(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn token(n: usize, created_at: i64, expires_at: Option<i64>) -> NewToken {
    NewToken {
        id: format!("tok_test{n:08}"),
        hash: scopegate_host::token::hash(&scopegate_host::token::random_part()),
        name: format!("t{n}"),
        resource: Resource::Workspace {
            workspace: "acme".into(),
        },
        scopes: vec!["repository".into()],
        created_at,
        expires_at,
    }
}

/// A store with workspace `acme` and webhook `ops` for `events` to `url`.
fn store_with_webhook(db: &str, url: &str, events: &[WebhookEvent], now: i64) -> Arc<dyn Store> {
    let store = DbTarget::parse(db).open().unwrap();
    store
        .put_workspace(
            "acme",
            Plan::Premium,
            TokenPolicy::default(),
            now,
            &Actor::Cli,
        )
        .unwrap();
    let spec = WebhookSpec {
        url,
        secret: SECRET,
        events,
    };
    store
        .put_webhook("acme", "ops", &spec, now, &Actor::Cli)
        .unwrap();
    store
}

/// Two hosts on one store and a clock moved through 60, 30, 7 and 1 days before a token's
/// expiry, each instant ticked on both hosts at once, again later, and on a host started
/// afresh: the receiver hears of each threshold once, four notices in all.
#[test]
fn expiry_notices_come_once_per_threshold_across_hosts_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_named(dir.path(), "two-hosts");
    let rx = Receiver::start(0);
    let t0 = now();
    let a = store_with_webhook(&db, &rx.url(), &[WebhookEvent::TokenExpiring], t0);
    let b = DbTarget::parse(&db).open().unwrap();
    let expires = t0 + 61 * DAY;
    a.insert_token(token(1, t0, Some(expires)), &Actor::Cli)
        .unwrap();
    // Revoked and never-expiring tokens get no notice.
    a.insert_token(token(2, t0, Some(expires)), &Actor::Cli)
        .unwrap();
    a.revoke_token("tok_test00000002", t0, &Actor::Cli).unwrap();
    a.insert_token(token(3, t0, None), &Actor::Cli).unwrap();

    let rt = runtime();
    let (host_a, host_b) = (Notifier::new(a.clone()).unwrap(), Notifier::new(b).unwrap());
    let mut expected = 0;
    let mut days_seen = Vec::new();
    let both = |at: i64| {
        rt.block_on(async {
            let (x, y) = tokio::join!(host_a.tick(at), host_b.tick(at));
            x.unwrap().noticed + y.unwrap().noticed
        })
    };
    assert_eq!(both(t0), 0, "61 days before expiry");
    for days in [60, 30, 7, 1] {
        let at = expires - days * DAY;
        assert_eq!(both(at), 1, "{days} days: one notice, recorded by one host");
        assert_eq!(both(at + 1), 0);
        assert_eq!(both(at + 3600), 0);
        // A host started afresh (a restart, or a third host) finds the notice already given.
        let fresh = Notifier::new(DbTarget::parse(&db).open().unwrap()).unwrap();
        assert_eq!(rt.block_on(fresh.tick(at + 7200)).unwrap().noticed, 0);
        expected += 1;
        let got = rx.wait_for(expected, Duration::from_secs(10));
        assert_eq!(got.len(), expected, "{days} days: {got:?}");
        let v = check_delivery(got.last().unwrap(), SECRET);
        assert_eq!(v["event"], "token.expiring");
        assert_eq!(v["token"]["id"], "tok_test00000001");
        assert_eq!(v["token"]["state"], "active");
        days_seen.push(v["token"]["days"].as_i64().unwrap());
    }
    assert_eq!(both(expires - DAY / 2), 0);
    assert_eq!(both(expires + 1), 0, "expired: nothing more");
    std::thread::sleep(Duration::from_millis(300));
    let got = rx.received();
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(days_seen, [60, 30, 7, 1]);
    let ids: BTreeSet<&str> = got.iter().map(|r| r.delivery.as_str()).collect();
    assert_eq!(ids.len(), 4);
    // The last pass, 60 days after the first notice, deleted the deliveries finished more
    // than a week before; the notices stay, so that none is given again.
    assert_eq!(count(&db, "SELECT count(*) FROM webhook_deliveries"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM expiry_notices"), 4);
}

/// 1,000 `token.expiring` deliveries to a local receiver, timed from the pass that finds them
/// due to the last one received. The goal is under 10 s.
#[test]
fn a_thousand_expiring_notices_are_delivered_within_ten_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_named(dir.path(), "bulk");
    let rx = Receiver::start(0);
    let t0 = now();
    let store = store_with_webhook(&db, &rx.url(), &[WebhookEvent::TokenExpiring], t0);
    for n in 0..1000 {
        store
            .insert_token(token(n, t0, Some(t0 + 30 * DAY - 60)), &Actor::Cli)
            .unwrap();
    }
    let rt = runtime();
    let notifier = Notifier::new(store).unwrap();
    let start = Instant::now();
    let pass = rt.block_on(notifier.tick(t0)).unwrap();
    let got = rx.wait_for(1000, Duration::from_secs(30));
    let elapsed = start.elapsed();
    println!(
        "1000 token.expiring deliveries ({:?}): {elapsed:?}",
        backend()
    );
    assert_eq!((pass.noticed, pass.delivered, pass.failed), (1000, 1000, 0));
    assert_eq!(got.len(), 1000);
    let ids: BTreeSet<&str> = got.iter().map(|r| r.delivery.as_str()).collect();
    assert_eq!(ids.len(), 1000);
    for r in got.iter().step_by(97) {
        let v = check_delivery(r, SECRET);
        assert_eq!(v["token"]["days"], 30);
    }
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}
