//! In-process checks as `/check` makes them: the headers handed to the module, its two calls
//! through wasmtime with the lookups between them (claims cached), the answer read. Beside each,
//! the native core doing the module's part of the same check on the same bytes, in the same run.
//!
//! Needs the built module (`cargo xtask wasm`).

// Test code: a benchmark whose setup fails should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{criterion_group, criterion_main, Criterion};
use scopegate_host::runtime::{PolicyEngine, PolicyHandle, RuntimeConfig};
use scopegate_host::service::{claims_json, Caller, IssueRequest, ResourceRef, Service};
use scopegate_host::store::sqlite::SqliteStore;
use scopegate_host::store::{Plan, TokenPolicy};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

fn service(dir: &Path) -> Service {
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www/pkg/scopegate_policy_bg.wasm");
    assert!(
        policy.exists(),
        "{} is missing: run `cargo xtask wasm` first",
        policy.display()
    );
    let engine = PolicyEngine::new(RuntimeConfig::default()).unwrap();
    let handle = PolicyHandle::open(engine, policy, None).unwrap();
    let store = SqliteStore::open(&dir.join("bench.db")).unwrap();
    Service::new(Arc::new(store), Some(Arc::new(handle)))
}

const URI: &str = "/2.0/repositories/acme/api/pullrequests?state=OPEN";

/// One token kind's check: the Authorization header, and the native core's two inputs.
struct Case {
    kind: &'static str,
    authorization: String,
    first: String,
    second: String,
}

fn verify(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path());
    svc.put_workspace(
        "acme",
        Plan::Premium,
        TokenPolicy::default(),
        &Caller::cli(),
    )
    .unwrap();
    svc.put_project("acme", "PROJ", &Caller::cli()).unwrap();
    svc.put_repository("acme", "api", "PROJ", &Caller::cli())
        .unwrap();
    let now = scopegate_host::clock::now();
    let headers_of = |authorization: &str| {
        // The headers nginx's example configuration sends for curl, as the host hands them
        // over: only those the module reads.
        scopegate_host::forwarded::input(
            scopegate_host::forwarded::ForwardedHeaders::Either,
            [
                ("x-original-method", b"GET".as_slice()),
                ("x-original-uri", URI.as_bytes()),
                ("authorization", authorization.as_bytes()),
            ],
        )
    };
    let cases: Vec<Case> = [
        ("repository", ResourceRef::Repository("acme".into(), "api".into())),
        ("project", ResourceRef::Project("acme".into(), "PROJ".into())),
        ("workspace", ResourceRef::Workspace("acme".into())),
    ]
    .into_iter()
    .map(|(kind, r)| {
        let created = svc
            .create_token(
                &r,
                IssueRequest {
                    name: "bench".into(),
                    scopes: vec!["pullrequest".into()],
                    expires_at: Some(now + 86400),
                },
                &Caller::cli(),
            )
            .unwrap();
        let authorization = format!("Bearer {}", created.secret);
        let first = headers_of(&authorization);
        let step: serde_json::Value =
            serde_json::from_slice(&scopegate_core::check_request_json(first.as_bytes())).unwrap();
        let project = step["lookup"]["repository"].is_object().then_some("PROJ");
        let second = format!(
            r#"{{"request":{},"now":{now},"token":{{"id":"{}","claims":{}}},"repository_project":{}}}"#,
            step["request"],
            created.record.id,
            claims_json(&created.record),
            serde_json::json!(project)
        );
        Case {
            kind,
            authorization,
            first,
            second,
        }
    })
    .collect();

    let check = |authorization: &str| {
        let headers = [
            ("host", "127.0.0.1:8080"),
            ("x-original-method", "GET"),
            ("x-original-uri", URI),
            ("authorization", authorization),
            ("user-agent", "curl/8.5.0"),
            ("accept", "*/*"),
        ];
        let headers = black_box(&headers);
        let o = svc
            .check_at(headers.iter().map(|(n, v)| (*n, v.as_bytes())), now)
            .unwrap();
        black_box(o.status())
    };
    let native = |case: &Case| {
        let step = scopegate_core::check_request_json(black_box(case.first.as_bytes()));
        let answer = scopegate_core::check_answer_json(black_box(case.second.as_bytes()));
        black_box((step, answer))
    };
    for case in &cases {
        assert_eq!(check(&case.authorization), 200, "{}", case.kind);
        let answer: serde_json::Value = serde_json::from_slice(&native(case).1).unwrap();
        assert_eq!(answer["status"], 200, "{}: {answer}", case.kind);
    }

    // A request seen before within the same second: the second call's answer is memoised.
    c.bench_function("verify/memo/repository", |b| {
        b.iter(|| check(&cases[0].authorization))
    });
    svc.set_decision_memo(false);
    for case in &cases {
        c.bench_function(&format!("verify/wasmtime/{}", case.kind), |b| {
            b.iter(|| check(&case.authorization))
        });
        c.bench_function(&format!("verify/native_core/{}", case.kind), |b| {
            b.iter(|| native(case))
        });
    }
    c.bench_function("verify/malformed_token", |b| {
        b.iter(|| check("Bearer sgat_nope"))
    });
    c.bench_function("verify/no_token", |b| b.iter(|| check("")));

    // The machine's speed changes every few seconds; criterion's estimates can straddle phases.
    // Alternating batches of a few milliseconds compare the two under the same conditions.
    const ROUNDS: usize = 200;
    const BATCH: u32 = 500;
    let time = |f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        for _ in 0..BATCH {
            f();
        }
        start.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH)
    };
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for case in &cases {
        let (mut host, mut core) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            host.push(time(&mut || {
                check(&case.authorization);
            }));
            core.push(time(&mut || {
                native(case);
            }));
        }
        let (host, core) = (median(&mut host), median(&mut core));
        println!(
            "paired batches, {} token ({ROUNDS} rounds of {BATCH}): check through wasmtime {host:.0} ns, native core {core:.0} ns, ratio {:.2}",
            case.kind,
            host / core
        );
    }

    // What recording costs a check (SPEC §11 usage and denied checks): the same checks, from a
    // front that names the client, with the recording on and off in alternate batches.
    let from_client = |authorization: &str| {
        let headers = [
            ("host", "127.0.0.1:8080"),
            ("x-original-method", "GET"),
            ("x-original-uri", URI),
            ("authorization", authorization),
            ("x-forwarded-for", "203.0.113.7, 10.0.0.1"),
            ("x-real-ip", "203.0.113.7"),
            ("user-agent", "curl/8.5.0"),
        ];
        let headers = black_box(&headers);
        let o = svc
            .check_at(headers.iter().map(|(n, v)| (*n, v.as_bytes())), now)
            .unwrap();
        black_box(o.status())
    };
    let denied = format!("{}x", cases[0].authorization);
    for (what, authorization) in [
        ("allowed", cases[0].authorization.as_str()),
        ("denied", denied.as_str()),
    ] {
        let (mut on, mut off) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            svc.set_usage_recording(true);
            on.push(time(&mut || {
                from_client(authorization);
            }));
            svc.set_usage_recording(false);
            off.push(time(&mut || {
                from_client(authorization);
            }));
        }
        svc.set_usage_recording(true);
        let (on, off) = (median(&mut on), median(&mut off));
        println!(
            "paired batches, {what} check with a client address ({ROUNDS} rounds of {BATCH}): recording on {on:.0} ns, off {off:.0} ns, ratio {:.3}",
            on / off
        );
    }
}

criterion_group!(benches, verify);
criterion_main!(benches);
