//! The size of the one module every runtime loads: browsers download it, edge runtimes and the
//! host compile it on every start. Its goal is 150 KB (150 × 1024 bytes), which it meets at
//! opt-level 3: what took it over (the route table's repeated prefixes, dlmalloc, writers
//! compiled once per sink, base64's engine, the panic message of a cut inside a character) is
//! gone, and what a smaller opt-level would save costs every check a third or more
//! instructions (see `[profile.wasm]` in the workspace's `Cargo.toml`).

use scopegate_tests::module_path;

/// The goal, in bytes.
const GOAL: u64 = 150 * 1024;

#[test]
fn the_module_meets_its_size_goal() {
    let path = module_path();
    let size = std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (build it with `cargo xtask wasm`)", path.display()))
        .len();
    eprintln!("module: {size} bytes (goal {GOAL})");
    assert!(
        size <= GOAL,
        "{} is {size} bytes, over its goal of {GOAL}",
        path.display()
    );
}
