//! Route matching and decisions natively: the common case and the worst cases of the matcher
//! (longest templates, greedy `{path}` over many segments, backtracking to a parameter, a miss).
//! `cargo bench -p scopegate-core --bench decide`.

// Test code: a benchmark that cannot serialise its answer should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use scopegate_core::{authorize_json, route};

const PATHS: &[(&str, &str, &str)] = &[
    ("typical", "GET", "/2.0/repositories/acme/api/pullrequests/42"),
    (
        "longest_template",
        "GET",
        "/2.0/repositories/acme/api/pipelines/%7Bp%7D/steps/%7Bs%7D/test_reports/test_cases/%7Bc%7D/test_case_reasons",
    ),
    ("pattern_segment", "GET", "/2.0/repositories/acme/api/issues/export/api-issues-7.zip"),
    ("git", "POST", "/acme/api.git/git-receive-pack"),
    ("unknown_deep_miss", "GET", "/2.0/repositories/acme/api/pullrequests/1/x/y/z/w"),
];

fn greedy_path(segments: usize) -> String {
    let mut path = String::from("/2.0/repositories/acme/api/src/main");
    for i in 0..segments {
        path.push_str(&format!("/dir{i}"));
    }
    path
}

fn bench_route(c: &mut Criterion) {
    let mut group = c.benchmark_group("route");
    for (name, method, path) in PATHS {
        group.bench_function(*name, |b| {
            b.iter(|| route(black_box(method), black_box(path), |info| info.is_some()))
        });
    }
    for n in [10, 100, 1000] {
        let path = greedy_path(n);
        group.bench_function(format!("greedy_path_{n}_segments"), |b| {
            b.iter(|| route("GET", black_box(&path), |info| info.is_some()))
        });
    }
    group.finish();
}

fn bench_decision(c: &mut Criterion) {
    let input = br#"{"token":{"kind":"repository","workspace":"acme","repository":"api","scopes":["pullrequest","pipeline:write"],"expires_at":1767225600,"revoked":false},"request":{"method":"GET","path":"/2.0/repositories/acme/api/pullrequests/42/diffstat?context=3"},"now":1764300000,"repository_project":"PROJ"}"#;
    c.bench_function("authorize_json", |b| {
        b.iter(|| serde_json::to_vec(&authorize_json(black_box(input))).expect("serialises"))
    });
}

criterion_group!(benches, bench_route, bench_decision);
criterion_main!(benches);
