//! Runs the benchmark's decision N times, natively or through the built module in wasmtime, so
//! that `tests/benches/instructions.sh` can count the instructions one decision takes: a count
//! that, unlike time on a shared machine, is the same on every run.
//!
//! `cargo run --release -p scopegate-tests --example decision_loop -- native|wasm|check-native|check-wasm N`
//! (`check-*`: the two calls of a check with a repository token, as the host makes them)

use scopegate_core as core;
use scopegate_tests::module_path;
use scopegate_tests::wasm::{Entry, RawAbi};

/// The input of `benches/decision.rs`.
const INPUT: &str = include_str!("../benches/decision_input.json");

/// A check's first call as the host writes it: the headers the module reads, a valid token.
const FIRST: &str = r#"{"forwarded_headers":"either","headers":[["x-original-method","GET"],["x-original-uri","/2.0/repositories/acme/api/pullrequests?state=OPEN"],["authorization","Bearer sgat_0123456789abcdefghijABCDEFGHIJ01234567894XH9bG"]]}"#;

/// Its second call, with the claims found under the hash.
const SECOND: &str = r#"{"request":{"method":"GET","path":"/2.0/repositories/acme/api/pullrequests?state=OPEN"},"now":1764300000,"token":{"id":"tok_0123456789abcdefghijABCD","claims":{"kind":"repository","workspace":"acme","repository":"api","scopes":["pullrequest"],"expires_at":1767225600,"revoked":false}},"repository_project":"PROJ"}"#;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let runtime = args.next().unwrap_or_default();
    let n: usize = args.next().unwrap_or_default().parse()?;
    let input = INPUT.trim().as_bytes();
    match runtime.as_str() {
        "native" => {
            for _ in 0..n {
                std::hint::black_box(core::authorize_json(std::hint::black_box(input)).to_json());
            }
        }
        "wasm" => {
            let mut abi = RawAbi::load(&module_path())?;
            for _ in 0..n {
                std::hint::black_box(abi.call(Entry::Authorize, std::hint::black_box(input))?);
            }
        }
        "check-native" => {
            for _ in 0..n {
                std::hint::black_box(core::check_request_json(std::hint::black_box(
                    FIRST.as_bytes(),
                )));
                std::hint::black_box(core::check_answer_json(std::hint::black_box(
                    SECOND.as_bytes(),
                )));
            }
        }
        "check-wasm" => {
            let mut abi = RawAbi::load(&module_path())?;
            for _ in 0..n {
                std::hint::black_box(abi.call(Entry::CheckRequest, FIRST.as_bytes())?);
                std::hint::black_box(abi.call(Entry::CheckAnswer, SECOND.as_bytes())?);
            }
        }
        other => anyhow::bail!("expected native, wasm, check-native or check-wasm, got {other:?}"),
    }
    Ok(())
}
