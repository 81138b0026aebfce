//! Build orchestration Cargo alone can't do: the wasm module with its bindgen glue, the full test
//! run, and starting the service. `cargo xtask help` lists the commands.

mod module;
mod setup;
mod suite;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};

const USAGE: &str = "\
usage: cargo xtask <command>

  wasm         build www/pkg/scopegate_policy_bg.wasm and its glue (release, wasm-bindgen, wasm-opt)
  test         install what the tests need, build the module, run every test suite
  run [ARGS]   build the module and start `scopegate serve ARGS` (release build)
  bench        run the benchmarks and print their figures
  openapi      write docs/openapi.json, the document the host serves at /admin/v1/openapi.json
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("wasm") => setup::toolchain().and_then(|()| module::build()),
        Some("test") => suite::run_all(),
        Some("run") => serve(&args[1..]),
        Some("bench") => suite::bench(),
        Some("openapi") => openapi(),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown command '{other}'\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: &[String]) -> Result<()> {
    setup::toolchain()?;
    module::build()?;
    let mut command = cargo();
    command.args([
        "run",
        "--release",
        "-p",
        "scopegate-host",
        "--bin",
        "scopegate",
        "--",
        "serve",
    ]);
    command.args(args);
    run(&mut command)
}

/// The host prints its own document (`scopegate openapi`); the tests hold docs/ to it.
fn openapi() -> Result<()> {
    let mut command = cargo();
    command.args([
        "run",
        "--quiet",
        "-p",
        "scopegate-host",
        "--bin",
        "scopegate",
        "--",
        "openapi",
    ]);
    eprintln!("xtask: {command:?}");
    let out = command.output().context("could not run cargo")?;
    if !out.status.success() {
        bail!(
            "scopegate openapi failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let path = root().join("docs/openapi.json");
    std::fs::write(&path, &out.stdout).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

/// Runs a command to completion, failing with its command line when it fails.
pub fn run(command: &mut Command) -> Result<()> {
    let line = format!("{command:?}");
    eprintln!("xtask: {line}");
    let status = command
        .status()
        .with_context(|| format!("could not start {line}"))?;
    if !status.success() {
        bail!("{line} failed ({status})");
    }
    Ok(())
}
