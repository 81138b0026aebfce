//! In-process verification of one request, as `/check` does it: token format check, SHA-256,
//! cache lookup, and the module's decision through wasmtime (JSON in and out).
//!
//! Needs the built module (`cargo xtask wasm`).

use criterion::{criterion_group, criterion_main, Criterion};
use scopegate_host::runtime::{PolicyEngine, PolicyHandle, RuntimeConfig};
use scopegate_host::service::{Decision, IssueRequest, ResourceRef, Service};
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

fn verify(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path());
    svc.put_workspace("acme", Plan::Premium, TokenPolicy::default())
        .unwrap();
    svc.put_project("acme", "PROJ").unwrap();
    svc.put_repository("acme", "api", "PROJ").unwrap();
    let now = scopegate_host::clock::now();
    let issue = |r: ResourceRef| {
        svc.create_token(
            &r,
            IssueRequest {
                name: "bench".into(),
                scopes: vec!["pullrequest".into()],
                expires_at: Some(now + 86400),
            },
        )
        .unwrap()
        .secret
    };
    let repo_token = format!(
        "Bearer {}",
        issue(ResourceRef::Repository("acme".into(), "api".into()))
    );
    let project_token = format!(
        "Bearer {}",
        issue(ResourceRef::Project("acme".into(), "PROJ".into()))
    );
    let uri = "/2.0/repositories/acme/api/pullrequests?state=OPEN";
    // One check as `/check` makes it, from the headers nginx's example configuration sends
    // for curl; the answer's status is kept from the optimiser.
    let check = |method: &str, path: &str, token: &str| {
        let headers = [
            ("host", "127.0.0.1:8080"),
            ("x-original-method", method),
            ("x-original-uri", path),
            ("authorization", token),
            ("user-agent", "curl/8.5.0"),
            ("accept", "*/*"),
        ];
        let headers = black_box(&headers);
        let o = svc
            .check_at(headers.iter().map(|(n, v)| (*n, v.as_bytes())), now)
            .unwrap();
        black_box(o.status)
    };
    for t in [&repo_token, &project_token] {
        assert_eq!(check("GET", uri, t), 200);
    }
    // The benchmark's allowed request: a repository token reading pull requests.
    let check_allowed = || check("GET", uri, &repo_token);

    // A request seen before within the same second: the module's answer comes from the memo.
    c.bench_function("verify/repeat_request", |b| b.iter(check_allowed));
    // From here on every verification calls the module.
    svc.set_decision_memo(false);
    c.bench_function("verify/module_call_allow", |b| b.iter(check_allowed));
    c.bench_function("verify/module_call_deny", |b| {
        b.iter(|| {
            check(
                "POST",
                "/2.0/repositories/acme/api/pullrequests",
                &repo_token,
            )
        })
    });
    // Project tokens also route the request to find the repository's project.
    c.bench_function("verify/module_call_project_token", |b| {
        b.iter(|| check("GET", uri, &project_token))
    });
    // The parts, to see where the time goes.
    let policy = svc.policy().unwrap().current();
    let input = format!(
        r#"{{"token":{{"kind":"repository","workspace":"acme","repository":"api","scopes":["pullrequest"],"expires_at":{},"revoked":false}},"request":{{"method":"GET","path":"{uri}"}},"now":{now},"repository_project":null}}"#,
        now + 86400
    );
    c.bench_function("part/module_authorize", |b| {
        b.iter(|| black_box(policy.authorize(black_box(input.as_bytes())).unwrap()))
    });
    let forwarded = format!(
        r#"{{"forwarded_headers":"either","headers":[["x-original-method","GET"],["x-original-uri","{uri}"],["authorization","{repo_token}"]]}}"#
    );
    c.bench_function("part/module_original_request", |b| {
        b.iter(|| {
            black_box(
                policy
                    .original_request(black_box(forwarded.as_bytes()))
                    .unwrap(),
            )
        })
    });
    let answer = policy.authorize(input.as_bytes()).unwrap();
    c.bench_function("part/decision_read", |b| {
        b.iter(|| black_box(Decision::read(black_box(answer.clone())).unwrap()))
    });
    c.bench_function("part/sha256_and_format", |b| {
        let t = &repo_token[7..];
        b.iter(|| {
            assert!(scopegate_host::token::is_well_formed(black_box(t)));
            black_box(scopegate_host::token::hash(t))
        })
    });
    c.bench_function("verify/malformed_token", |b| {
        b.iter(|| check("GET", uri, "Bearer sgat_nope"))
    });

    // The machine's speed changes every few seconds; criterion's estimate can straddle phases.
    // Alternating batches of a few milliseconds give a median and a fastest batch for the
    // whole check and its module call under the same conditions.
    const ROUNDS: usize = 300;
    const BATCH: u32 = 500;
    let time = |f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        for _ in 0..BATCH {
            f();
        }
        start.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH)
    };
    let (mut check, mut module) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        check.push(time(&mut || {
            check_allowed();
        }));
        module.push(time(&mut || {
            black_box(policy.authorize(black_box(input.as_bytes())).unwrap());
        }));
    }
    let summary = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        format!("median {:.0} ns (fastest {:.0})", v[v.len() / 2], v[0])
    };
    println!(
        "batches ({ROUNDS} rounds of {BATCH}): module_call_allow {}, module_authorize {}",
        summary(&mut check),
        summary(&mut module)
    );
}

criterion_group!(benches, verify);
criterion_main!(benches);
