//! The three doors of leak response (SPEC §12) on real hosts: RFC 7009 revocation, RFC 7662
//! introspection (raw HTTP, and through a real OAuth client library, Python's authlib), and the
//! public leak report. A token killed through any of them is refused by every host at once, and
//! none tells an unauthenticated caller whether a string was a token.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Two hosts on one store, seeded.
fn two_hosts(dir: &std::path::Path) -> (Server, Server) {
    let a = start_real(dir);
    let mut opts = Options::new(dir, real_policy());
    opts.db = a.db.clone();
    let b = start(dir, opts);
    a.seed();
    (a, b)
}

fn form(s: &Server, path: &str, body: &str, bearer: Option<&str>) -> Resp {
    let mut req = s
        .http
        .post(s.url(path))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    s.raw(req)
}

fn credential(s: &Server, role: &str) -> String {
    let r = s.admin(
        "POST",
        "/credentials",
        Some(json!({"name": role, "role": role})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["credential"].as_str().unwrap().to_string()
}

const API: &str = "/2.0/repositories/acme/api";

/// `host` refuses `secret` as revoked within a second of `since` (SPEC §12's goal).
fn refused_within_a_second(host: &Server, secret: &str, since: Instant) {
    loop {
        let r = host.check(Some(secret), "GET", API);
        if r.status == 401 {
            assert_eq!(r.reason(), "token_revoked");
            return;
        }
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(
            since.elapsed() < Duration::from_secs(1),
            "still allowed after 1 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn rfc7009_revokes_what_it_is_shown_and_says_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_hosts(dir.path());
    let (id, secret) = a.issue("/workspaces/acme/repositories/api", &["repository"]);
    for host in [&a, &b] {
        assert_eq!(host.check(Some(&secret), "GET", API).status, 200);
    }
    // No token parameter, or two: invalid_request, as RFC 6749 §5.2 words it.
    for body in ["", "token_type_hint=access_token", "token=a&token=b"] {
        let r = form(&a, "/oauth/revoke", body, None);
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json(), json!({"error": "invalid_request"}));
    }
    // Anything else is 200 with nothing in it, token or not.
    let unknown = a
        .issue("/workspaces/acme", &["repository"])
        .1
        .replace('a', "b");
    let answers: Vec<(u16, String)> = [
        "token=nonsense".to_string(),
        format!("token={unknown}&token_type_hint=refresh_token"),
        format!("token={secret}&token_type_hint=access_token"),
        format!("token={secret}"),
    ]
    .iter()
    .map(|body| {
        let r = form(&a, "/oauth/revoke", body, None);
        (r.status, r.text)
    })
    .collect();
    assert!(
        answers.iter().all(|(s, t)| *s == 200 && t.is_empty()),
        "{answers:?}"
    );
    // Refused at once by the host that revoked it, within the second by the other (which
    // learns of the change from the store), and recorded with the actor rfc7009.
    let r = a.check(Some(&secret), "GET", API);
    assert_eq!((r.status, r.reason()), (401, "token_revoked".into()));
    refused_within_a_second(&b, &secret, Instant::now());
    let entries = a
        .admin(
            "GET",
            &format!("/audit?token_id={id}&event=token.revoked"),
            None,
        )
        .json();
    let entries = entries["values"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "revoked once, recorded once: {entries:?}");
    assert_eq!(entries[0]["actor"], "rfc7009");
}

#[test]
fn rfc7662_describes_an_active_token_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _b) = two_hosts(dir.path());
    let introspector = credential(&a, "introspect");
    let auditor = credential(&a, "auditor");
    let r = a.admin(
        "POST",
        "/workspaces/acme/projects/PROJ/access-tokens",
        Some(json!({"name": "p", "scopes": ["repository:write", "pullrequest"], "expires_at": time_in(3600)})),
    );
    let created = r.json();
    let secret = created["token"].as_str().unwrap().to_string();
    let ask = |body: &str, bearer: Option<&str>| form(&a, "/oauth/introspect", body, bearer);

    let r = ask(&format!("token={secret}"), Some(&introspector));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let v = r.json();
    let iat = time::OffsetDateTime::parse(
        created["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp();
    let exp = time::OffsetDateTime::parse(
        created["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp();
    assert_eq!(
        v,
        json!({"active": true, "scope": "pullrequest repository repository:write",
               "client_id": created["id"], "token_type": "access_token", "sub": "project:acme/PROJ",
               "credential_type": "project_access_token", "iat": iat, "exp": exp})
    );
    // The owner may too; other roles may not; no credential is 401.
    assert_eq!(
        ask(&format!("token={secret}"), Some(ADMIN_KEY)).json()["active"],
        true
    );
    let r = ask(&format!("token={secret}"), Some(&auditor));
    assert_eq!((r.status, r.reason()), (403, "role_forbidden".into()));
    for bearer in [None, Some("sgak_not-a-credential")] {
        let r = ask(&format!("token={secret}"), bearer);
        assert_eq!(r.status, 401, "{bearer:?}");
    }
    assert_eq!(ask("", Some(&introspector)).status, 400);

    // Every inactive state is exactly {"active": false}.
    let revoked = a.issue("/workspaces/acme/repositories/api", &["repository"]);
    a.admin("DELETE", &format!("/access-tokens/{}", revoked.0), None);
    a.admin(
        "PUT",
        "/workspaces/acme/repositories/gone",
        Some(json!({"project": "PROJ"})),
    );
    let deactivated = a.issue("/workspaces/acme/repositories/gone", &["repository"]);
    a.admin("DELETE", "/workspaces/acme/repositories/gone", None);
    let r = a.admin(
        "POST",
        "/workspaces/acme/access-tokens",
        // Two seconds ahead: one whole second could already be past when the host reads it.
        Some(json!({"name": "brief", "scopes": ["repository"], "expires_at": time_in(2)})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let expired = r.json()["token"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(3100));
    let mut malformed = secret.clone();
    malformed.pop();
    for (what, s) in [
        (
            "unknown",
            "sgat_0000000000000000000000000000000000000000aaaaaa".to_string(),
        ),
        ("malformed", malformed),
        ("not a token", "hello".to_string()),
        ("revoked", revoked.1),
        ("deactivated", deactivated.1),
        ("expired", expired),
    ] {
        let r = ask(&format!("token={s}"), Some(&introspector));
        assert_eq!(
            (r.status, r.text.as_str()),
            (200, r#"{"active":false}"#),
            "{what}"
        );
    }
}

#[test]
fn a_real_oauth_client_revokes_and_introspects() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_hosts(dir.path());
    let introspector = credential(&a, "introspect");
    let (_, secret) = a.issue("/workspaces/acme/repositories/api", &["repository"]);
    // authlib's OAuth2Session, as an application would use it: introspect, revoke, introspect.
    let script = r#"
import json, sys
from authlib.integrations.requests_client import OAuth2Session
base, secret, credential = sys.argv[1:4]
def bearer(r):
    r.headers["Authorization"] = "Bearer " + credential
    return r
client = OAuth2Session(client_id="scopegate-tests")
before = client.introspect_token(base + "/oauth/introspect", token=secret, auth=bearer).json()
revoked = client.revoke_token(base + "/oauth/revoke", token=secret, token_type_hint="access_token")
after = client.introspect_token(base + "/oauth/introspect", token=secret, auth=bearer).json()
print(json.dumps({"before": before, "revoke_status": revoked.status_code, "revoke_body": revoked.text, "after": after}))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, &a.base, &secret, &introspector])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["before"]["active"], true, "{v}");
    assert_eq!(v["before"]["sub"], "repository:acme/api");
    assert_eq!(
        (v["revoke_status"].as_i64(), v["revoke_body"].as_str()),
        (Some(200), Some(""))
    );
    assert_eq!(v["after"], json!({"active": false}));
    refused_within_a_second(&b, &secret, Instant::now());
}

fn report(s: &Server, tokens: &[String]) -> Resp {
    s.raw(
        s.http
            .post(s.url("/leaks"))
            .json(&json!({ "tokens": tokens })),
    )
}

#[test]
fn a_leak_report_kills_its_tokens_everywhere_within_a_second_and_says_only_how_many() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_hosts(dir.path());
    let leaked: Vec<(String, String)> = (0..3)
        .map(|_| a.issue("/workspaces/acme/repositories/api", &["repository"]))
        .collect();
    let (_, kept) = a.issue("/workspaces/acme/repositories/api", &["repository"]);
    let mut strings: Vec<String> = leaked.iter().map(|(_, s)| s.clone()).collect();
    strings.push("sgat_0000000000000000000000000000000000000000aaaaaa".into());
    strings.push("not even close".into());
    let reported = Instant::now();
    let r = report(&a, &strings);
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json(), json!({"received": 5}));
    // Dead on both hosts within a second of the report.
    for (_, secret) in &leaked {
        for host in [&b, &a] {
            refused_within_a_second(host, secret, reported);
        }
    }
    assert_eq!(a.check(Some(&kept), "GET", API).status, 200);
    let elapsed = reported.elapsed();
    println!(
        "leaked tokens refused by both hosts {} ms after the report",
        elapsed.as_millis()
    );
    // Recorded as leaked, by leak-report.
    let entries = a.admin("GET", "/audit?event=token.leaked", None).json();
    let entries = entries["values"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert!(entries.iter().all(|e| e["actor"] == "leak-report"));

    // Limits: 1 to 1000 strings, 1 MiB, a JSON object of strings.
    let many: Vec<String> = (0..1001).map(|i| format!("s{i}")).collect();
    assert_eq!(report(&a, &many).status, 422);
    assert_eq!(report(&a, &[]).status, 422);
    let huge = "x".repeat(1024 * 1024 + 10);
    let r = a.raw(
        a.http
            .post(a.url("/leaks"))
            .body(format!(r#"{{"tokens":["{huge}"]}}"#)),
    );
    assert_eq!(r.status, 413);
    let r = a.raw(a.http.post(a.url("/leaks")).body(r#"{"tokens":[1]}"#));
    assert_eq!(r.status, 400);
}

#[test]
fn a_leak_report_answers_alike_for_tokens_and_strangers_and_is_limited_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _b) = two_hosts(dir.path());
    // Reports of 50 live tokens each, and reports of 50 well-formed strangers each, taking
    // turns (which goes first alternates, so neither always follows the other's background
    // revocations); their answer times must not tell them apart. The tokens are issued first,
    // so that no report follows a burst of writes the other kind does not.
    let rounds: Vec<(Vec<String>, Vec<String>)> = (0..12)
        .map(|_| {
            let live: Vec<String> = (0..50)
                .map(|_| {
                    a.issue("/workspaces/acme/repositories/api", &["repository"])
                        .1
                })
                .collect();
            let strangers = live
                .iter()
                .map(|s| format!("{}{}", &s[..10], &s[10..].chars().rev().collect::<String>()))
                .collect();
            (live, strangers)
        })
        .collect();
    let mut hits = Vec::new();
    let mut misses = Vec::new();
    for (round, (live, strangers)) in rounds.iter().enumerate() {
        let mut turns = [(&mut hits, live), (&mut misses, strangers)];
        if round % 2 == 1 {
            turns.reverse();
        }
        for (reports, set) in turns {
            let started = Instant::now();
            let r = report(&a, set);
            assert_eq!(r.status, 202, "round {round}: {}", r.text);
            reports.push(started.elapsed().as_secs_f64() * 1000.0);
            // Independent reports, as two callers' would be: the one before is done.
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (hit, miss) = (median(&mut hits), median(&mut misses));
    println!("median answer: {hit:.2} ms for 50 tokens, {miss:.2} ms for 50 strangers");
    assert!(
        (hit - miss).abs() < 2.0 && hit / miss < 1.5 && miss / hit < 1.5,
        "answer times tell hits from misses: {hit:.2} ms against {miss:.2} ms"
    );

    // 24 reports so far from this address; 60 in an hour are allowed, then 429.
    for i in 24..60 {
        assert_eq!(report(&a, &["x".to_string()]).status, 202, "report {i}");
    }
    let r = report(&a, &["x".to_string()]);
    assert_eq!((r.status, r.reason()), (429, "too_many_reports".into()));
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    // A front on this machine names the client: another address has its own count.
    let r = a.raw(
        a.http
            .post(a.url("/leaks"))
            .header("X-Forwarded-For", "198.51.100.4")
            .json(&json!({"tokens": ["x"]})),
    );
    assert_eq!(r.status, 202);
}
