//! The one artifact every runtime loads: `www/pkg/scopegate_policy_bg.wasm` and its JS glue.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use wasm_bindgen_cli_support::Bindgen;

use crate::{cargo, root, run, setup};

const TARGET: &str = "wasm32-unknown-unknown";

/// Release build for wasm32, wasm-bindgen (target `web`), then `wasm-opt -O3` into `www/pkg/`.
pub fn build() -> Result<()> {
    let root = root();
    run(cargo().args([
        "build",
        "-p",
        "scopegate-wasm",
        "--target",
        TARGET,
        "--profile",
        "wasm",
    ]))?;
    let raw = root
        .join("target")
        .join(TARGET)
        .join("wasm/scopegate_policy.wasm");
    let out = root.join("www/pkg");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    Bindgen::new()
        .input_path(&raw)
        .web(true)?
        .omit_default_module_path(false)
        .typescript(true)
        .generate(&out)
        .with_context(|| format!("wasm-bindgen on {}", raw.display()))?;
    optimise(&out.join("scopegate_policy_bg.wasm"))?;
    let size = std::fs::metadata(out.join("scopegate_policy_bg.wasm"))?.len();
    eprintln!("xtask: www/pkg/scopegate_policy_bg.wasm is {size} bytes");
    Ok(())
}

/// binaryen from npm: Debian's older wasm-opt breaks wasm-bindgen's externref table. `-O3`
/// rather than `-Oz`: 3% fewer instructions per decision in wasmtime for 0.4% more bytes
/// (`-O4`, `--converge` and wider inlining gain nothing more). `--low-memory-unused` lets
/// constant offsets fold into loads and stores, which is sound for Rust: it only changes a
/// pointer sum that wraps past 4 GiB, which safe Rust never forms. 0.7% fewer instructions, 1 KB
/// smaller.
fn optimise(module: &Path) -> Result<()> {
    setup::node_modules()?;
    let wasm_opt = root().join("node_modules/.bin/wasm-opt");
    run(Command::new(wasm_opt)
        .arg(module)
        .arg("-o")
        .arg(module)
        .args([
            "-O3",
            "--low-memory-unused",
            "--enable-bulk-memory",
            "--enable-mutable-globals",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-reference-types",
            "--enable-multivalue",
            "--strip-debug",
            "--strip-producers",
        ]))
}
