//! Runs the benchmark's decision N times, natively or through the built module in wasmtime, so
//! that `tests/benches/instructions.sh` can count the instructions one decision takes: a count
//! that, unlike time on a shared machine, is the same on every run.
//!
//! `cargo run --release -p scopegate-tests --example decision_loop -- native|wasm N`

use scopegate_core as core;
use scopegate_tests::module_path;
use scopegate_tests::wasm::{Entry, RawAbi};

/// The input of `benches/decision.rs`.
const INPUT: &str = include_str!("../benches/decision_input.json");

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
        other => anyhow::bail!("expected native or wasm, got {other:?}"),
    }
    Ok(())
}
