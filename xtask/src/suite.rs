//! `cargo xtask test`: every suite, in an order where each one's inputs exist.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::{cargo, module, root, run, setup};

pub fn run_all() -> Result<()> {
    setup::toolchain()?;
    setup::node_modules()?;
    setup::system_packages()?;
    setup::caddy()?;
    setup::python_packages()?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    module::build()?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args([
        "clippy",
        "-p",
        "scopegate-wasm",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args(["test", "--workspace"]))?;
    // The host's suite again on its second backend: each test binary starts its own PostgreSQL.
    run(cargo()
        .args(["test", "-p", "scopegate-host"])
        .env("SCOPEGATE_TEST_DB", "postgres"))?;
    run(Command::new("node")
        .arg("--test")
        .args(node_tests()?)
        .current_dir(root()))
}

/// Every `*.test.mjs` under tests/.
fn node_tests() -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for dir in ["tests/js", "tests/browser"] {
        let dir = root().join(dir);
        if !dir.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.to_string_lossy().ends_with(".test.mjs") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

pub fn bench() -> Result<()> {
    setup::toolchain()?;
    module::build()?;
    run(cargo().args(["bench", "--workspace"]))
}
