//! Runs N checks, or N module calls, through the host's own runtime (its pooling allocator,
//! memory cap and deadline), so that `tests/benches/instructions.sh` can count the instructions one
//! takes: a count that, unlike time on a shared machine, is the same on every run.
//!
//! `cargo run --release -p scopegate-host --example check_loop -- check|project|memo|module|read N`
//! (`project`: the check with a project token; `memo`: the check answered from the decision
//! memo; `read`: the first of a check's two module calls, with a token whose checksum fails, so
//! the module answers at once)

use std::path::Path;
use std::sync::Arc;

use scopegate_host::runtime::{PolicyEngine, PolicyHandle, RuntimeConfig};
use scopegate_host::service::{Caller, IssueRequest, ResourceRef, Service};
use scopegate_host::store::sqlite::SqliteStore;
use scopegate_host::store::{Plan, TokenPolicy};

/// The input of the module's decision benchmark (`tests/benches/decision.rs`).
const INPUT: &str = include_str!("../../tests/benches/decision_input.json");

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_default();
    let n: usize = args.next().unwrap_or_default().parse()?;
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www/pkg/scopegate_policy_bg.wasm");
    // Two instances: valgrind cannot reserve the default pool's address space.
    let config = RuntimeConfig {
        max_instances: 2,
        ..RuntimeConfig::default()
    };
    let handle = PolicyHandle::open(PolicyEngine::new(config)?, policy, None)?;
    match what.as_str() {
        "module" => {
            let policy = handle.current();
            for _ in 0..n {
                std::hint::black_box(
                    policy.authorize(std::hint::black_box(INPUT.trim().as_bytes()))?,
                );
            }
        }
        "read" => {
            let policy = handle.current();
            let input = scopegate_host::forwarded::input(
                scopegate_host::forwarded::ForwardedHeaders::Either,
                [
                    ("x-original-method", b"GET".as_slice()),
                    (
                        "x-original-uri",
                        b"/2.0/repositories/acme/api/pullrequests?state=OPEN",
                    ),
                    (
                        "authorization",
                        b"Bearer sgat_0123456789abcdefghijABCDEFGHIJ0123456789ab",
                    ),
                ],
            );
            for _ in 0..n {
                std::hint::black_box(policy.check_request(std::hint::black_box(input.as_bytes()))?);
            }
        }
        "check" | "project" | "memo" => {
            let dir = tempfile::tempdir()?;
            let svc = Service::new(
                Arc::new(SqliteStore::open(&dir.path().join("loop.db"))?),
                Some(Arc::new(handle)),
            );
            svc.put_workspace(
                "acme",
                Plan::Premium,
                TokenPolicy::default(),
                &Caller::cli(),
            )?;
            svc.put_project("acme", "PROJ", &Caller::cli())?;
            svc.put_repository("acme", "api", "PROJ", &Caller::cli())?;
            let now = scopegate_host::clock::now();
            let resource = match what.as_str() {
                "project" => ResourceRef::Project("acme".into(), "PROJ".into()),
                _ => ResourceRef::Repository("acme".into(), "api".into()),
            };
            let secret = svc
                .create_token(
                    &resource,
                    IssueRequest {
                        name: "loop".into(),
                        scopes: vec!["pullrequest".into()],
                        expires_at: Some(now + 86400),
                    },
                    &Caller::cli(),
                )?
                .secret;
            let header = format!("Bearer {secret}");
            // Every check calls the module, as the verify benchmark's module_call_allow; `memo`
            // answers them from the per-second memo, as `serve` does by default.
            svc.set_decision_memo(what == "memo");
            let uri = "/2.0/repositories/acme/api/pullrequests?state=OPEN";
            // The headers of a check as nginx's example configuration sends it for curl.
            let headers = [
                ("host", "127.0.0.1:8080"),
                ("x-original-method", "GET"),
                ("x-original-uri", uri),
                ("authorization", header.as_str()),
                ("user-agent", "curl/8.5.0"),
                ("accept", "*/*"),
            ];
            for _ in 0..n {
                let headers = std::hint::black_box(&headers);
                let outcome = svc.check_at(headers.iter().map(|(n, v)| (*n, v.as_bytes())), now)?;
                anyhow::ensure!(outcome.status() == 200, "{outcome:?}");
            }
        }
        other => anyhow::bail!("expected check, project, memo, module or read, got {other:?}"),
    }
    Ok(())
}
