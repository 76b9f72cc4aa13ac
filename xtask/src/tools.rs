//! Installing what the build and tests need on a fresh machine: the wasm32
//! target (rustup), wasm-opt (npm `binaryen`, pinned in tools/package.json),
//! Chromium with its WebDriver, and a local SMTP server for customer email
//! (Debian packages).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::run_cmd;

/// rustfmt and clippy, which a minimal toolchain may lack.
pub fn ensure_components() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["component", "list", "--installed"])
        .output()
        .context("rustup is needed to add rustfmt and clippy")?;
    let list = String::from_utf8_lossy(&installed.stdout);
    if !list.contains("rustfmt") || !list.contains("clippy") {
        run_cmd(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]))?;
    }
    Ok(())
}

/// GNU Make, which building the server's allocator (jemalloc, C) needs.
pub fn ensure_make() -> Result<()> {
    let has_make = || {
        Command::new("make")
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success())
    };
    ensure_debian_packages(
        &["make"],
        "the server's allocator is built with it",
        has_make,
        "a working `make --version`",
    )
}

/// The version of cargo-deny `cargo xtask test` checks licences with.
const CARGO_DENY_VERSION: &str = "0.20";

/// cargo-deny, installed from crates.io when missing.
pub fn ensure_cargo_deny() -> Result<()> {
    let version = Command::new("cargo")
        .args(["deny", "--version"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if !version.contains(&format!(" {CARGO_DENY_VERSION}.")) {
        println!("installing cargo-deny {CARGO_DENY_VERSION}");
        run_cmd(Command::new("cargo").args([
            "install",
            "cargo-deny",
            "--locked",
            "--version",
            &format!("^{CARGO_DENY_VERSION}"),
        ]))?;
    }
    Ok(())
}

pub fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to add the wasm32 target")?;
    if !String::from_utf8_lossy(&installed.stdout).contains("wasm32-unknown-unknown") {
        println!("installing the wasm32-unknown-unknown target");
        run_cmd(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// The path of `wasm-opt`, installing the pinned npm packages (binaryen,
/// terser for the plain JS, clean-css for the CSS, and axe-core for the
/// browser tests' accessibility checks) when missing.
pub fn wasm_opt(root: &Path) -> Result<PathBuf> {
    let tools = root.join("tools");
    let bin = tools.join("node_modules/.bin/wasm-opt");
    if !bin.exists()
        || !axe(root).exists()
        || !tools.join(TERSER).exists()
        || !tools.join(CLEANCSS).exists()
    {
        println!(
            "installing wasm-opt, terser, clean-css and axe-core (npm, pinned in tools/package-lock.json)"
        );
        run_cmd(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&tools),
        )
        .context("npm is needed to install wasm-opt")?;
    }
    Ok(bin)
}

const TERSER: &str = "node_modules/.bin/terser";

/// The path of `terser` (the JS minifier), installed with [`wasm_opt`].
pub fn terser(root: &Path) -> Result<PathBuf> {
    wasm_opt(root)?;
    Ok(root.join("tools").join(TERSER))
}

const CLEANCSS: &str = "node_modules/.bin/cleancss";

/// The path of `cleancss` (the CSS minifier), installed with [`wasm_opt`].
pub fn cleancss(root: &Path) -> Result<PathBuf> {
    wasm_opt(root)?;
    Ok(root.join("tools").join(CLEANCSS))
}

/// The reference sync server the benchmark compares Stufe with
/// (`tools/reference`: automerge-repo, pinned in its package-lock.json).
pub fn ensure_reference_server(root: &Path) -> Result<()> {
    let dir = root.join("tools/reference");
    if !dir.join("node_modules/@automerge/automerge-repo").exists() {
        println!(
            "installing the reference sync server (npm automerge-repo, pinned in tools/reference)"
        );
        let clean = run_cmd(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir),
        );
        if clean.is_err() {
            // npm 11's `ci` also wants lock entries for other platforms'
            // optional packages (cbor-extract's), which this lock file was
            // written without; `install` takes the same pinned versions
            // from it and leaves it unchanged (checked with npm 11.19).
            println!("npm ci refused the lock file; installing from it with npm install");
            run_cmd(
                Command::new("npm")
                    .args(["install", "--no-audit", "--no-fund"])
                    .current_dir(&dir),
            )
            .context("npm is needed for the reference sync server")?;
        }
    }
    Ok(())
}

/// axe-core's script, which the browser tests run in every page they check.
pub fn axe(root: &Path) -> PathBuf {
    root.join("tools/node_modules/axe-core/axe.min.js")
}

pub struct Browser {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// Debian's Python, which runs the local SMTP server (`python3-aiosmtpd`).
pub const PYTHON: &str = "/usr/bin/python3";

fn has_aiosmtpd() -> bool {
    Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A local SMTP server for the demo's and the tests' customer email.
pub fn ensure_smtp_server() -> Result<()> {
    ensure_debian_packages(
        &["python3-aiosmtpd"],
        "a local SMTP server",
        has_aiosmtpd,
        &format!("the module for {PYTHON}"),
    )
}

/// Debian's PostgreSQL server binaries (`initdb`, `postgres`), for the tests
/// and benches that start a scratch server of their own (nothing is set up
/// or started system-wide for them).
pub fn ensure_postgres() -> Result<()> {
    let has_initdb = || {
        std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
            versions
                .flatten()
                .any(|v| v.path().join("bin/initdb").exists())
        })
    };
    ensure_debian_packages(
        &["postgresql"],
        "tests start a scratch server",
        has_initdb,
        "/usr/lib/postgresql/<version>/bin/initdb",
    )
}

/// Installs Debian `packages` (`apt-get`) unless `present` already holds;
/// `why` says what they are for, `missing` what is still absent if
/// `present` does not hold after the install.
fn ensure_debian_packages(
    packages: &[&str],
    why: &str,
    present: impl Fn() -> bool,
    missing: &str,
) -> Result<()> {
    if present() {
        return Ok(());
    }
    let names = packages.join(" and ");
    println!("installing {names} (Debian packages; {why})");
    apt(&["update", "-qq"])?;
    apt(&[&["install", "-y", "-qq"], packages].concat())?;
    if !present() {
        bail!("{names} did not install {missing}");
    }
    Ok(())
}

fn apt(args: &[&str]) -> Result<()> {
    let mut cmd = if is_root() {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.arg("apt-get");
        sudo
    };
    cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    run_cmd(&mut cmd)
}

pub fn ensure_chromium() -> Result<Browser> {
    ensure_smtp_server()?;
    let browser = Browser {
        chromium: PathBuf::from("/usr/bin/chromium"),
        chromedriver: PathBuf::from("/usr/bin/chromedriver"),
    };
    ensure_debian_packages(
        &["chromium", "chromium-driver"],
        "the browser of the end-to-end tests",
        || browser.chromium.exists() && browser.chromedriver.exists(),
        &format!(
            "{} and {}",
            browser.chromium.display(),
            browser.chromedriver.display()
        ),
    )?;
    Ok(browser)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
