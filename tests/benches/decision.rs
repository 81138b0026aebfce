//! One decision natively and through the built module in wasmtime, in the same run, with the
//! ratio between them. `cargo bench -p scopegate-tests --bench decision`.

use std::path::PathBuf;

use criterion::{black_box, Criterion};
use scopegate_core as core;
use scopegate_tests::module_path;
use scopegate_tests::wasm::{Entry, RawAbi};

/// What a gateway sends for a typical CI call: a repository token reading pull requests.
const INPUT: &str = include_str!("decision_input.json");

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mut abi = RawAbi::load(&module_path()).expect("build the module with `cargo xtask wasm`");
    let mut group = c.benchmark_group("decision");
    group.bench_function("native_json", |b| {
        b.iter(|| {
            // What the module runs: read, decide, write the answer.
            core::authorize_json(black_box(INPUT.trim().as_bytes())).to_json()
        })
    });
    group.bench_function("wasmtime_raw_abi", |b| {
        b.iter(|| {
            abi.call(Entry::Authorize, black_box(INPUT.trim().as_bytes()))
                .expect("no trap")
        })
    });
    group.finish();
    c.final_summary();
    report(&["native_json", "wasmtime_raw_abi"]);
    paired(&mut abi);
}

/// Native and wasmtime in alternating batches of a millisecond or two. On a shared machine
/// whose speed changes every few seconds, criterion's two measurements can fall in different
/// phases; batches side by side see the same one, so the ratio of each pair is trustworthy.
fn paired(abi: &mut RawAbi) {
    const ROUNDS: usize = 300;
    const BATCH: u32 = 1000;
    let input = INPUT.trim().as_bytes();
    let time = |f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        for _ in 0..BATCH {
            f();
        }
        start.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH)
    };
    let (mut native, mut wasm, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let n = time(&mut || {
            black_box(core::authorize_json(black_box(input)).to_json());
        });
        let w = time(&mut || {
            black_box(
                abi.call(Entry::Authorize, black_box(input))
                    .expect("no trap"),
            );
        });
        native.push(n);
        wasm.push(w);
        ratio.push(w / n);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let fastest = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "paired ({ROUNDS} rounds of {BATCH}): native median {:.0} ns (fastest {:.0}), wasmtime median {:.0} ns (fastest {:.0}), ratio median {:.2}x",
        median(&mut native),
        fastest(&native),
        median(&mut wasm),
        fastest(&wasm),
        median(&mut ratio)
    );
}

/// Prints each median and the ratio to the first, from criterion's saved estimates of this run.
fn report(names: &[&str]) {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| scopegate_tests::repo_root().join("target"))
        .join("criterion/decision");
    let medians: Vec<Option<f64>> = names
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(name).join("new/estimates.json")).ok()?;
            let json: serde_json::Value = serde_json::from_str(&text).ok()?;
            json["median"]["point_estimate"].as_f64()
        })
        .collect();
    let Some(base) = medians[0] else { return };
    for (name, median) in names.iter().zip(&medians) {
        if let Some(ns) = median {
            println!(
                "decision/{name}: median {:.0} ns ({:.2}x native)",
                ns,
                ns / base
            );
        }
    }
}
