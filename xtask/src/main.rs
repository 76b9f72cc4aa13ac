//! Stufe's task runner.
//!
//! - `cargo xtask run`: install what is missing, build the widget, start the release server with demo data.
//! - `cargo xtask test`: every check and test — fmt, clippy (native and wasm32), unit,
//!   integration and browser end-to-end tests. CI runs exactly this.
//! - `cargo xtask test --e2e-repeat N`: build the widget, then run only the browser
//!   suite N times in a row and print how many runs passed and failed.
//! - `cargo xtask build`: build the widget into the site dir (see `Leptos.toml`).
//! - `cargo xtask fuzz [--secs N] [--target T]`: build the libFuzzer targets in `fuzz/`
//!   (pinned nightly, cargo-fuzz) and run each N seconds (default 600); prints
//!   executions and coverage. `cargo xtask test` runs each for 20 s.
//! - `cargo xtask floor`: build `tools/floor` (Leptos + Automerge alone, and each alone) as the
//!   widget is built and print its weight beside the widget's wasm (also part of `bench`).
//! - `cargo xtask bench`: print measured figures (widget payload sizes; in Chromium, what a
//!   first-time visitor's page fetches over 60 s idle and the time from a launcher click to
//!   Help and to the ticket form; catalogue sync, publish,
//!   ticket commit and creation throughput, open widgets' memory, fan-out and a reconnect
//!   storm against the release server; the same open-widget figures for automerge-repo's
//!   reference sync server; KB search latency).

mod fuzz;
mod sizes;
mod tools;
mod widget;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Stufe's task runner")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the widget and run the server with demo data.
    Run,
    /// Run every check and test (what CI runs).
    Test {
        /// Instead: run only the browser suite this many times and print passes/failures.
        #[arg(long, value_name = "N")]
        e2e_repeat: Option<u32>,
    },
    /// Build the widget into the site dir.
    Build,
    /// Run the coverage-guided fuzz targets (libFuzzer) and print executions and coverage.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 600)]
        secs: u32,
        /// Only this target (frame_decoder, sync_receive, markdown).
        #[arg(long)]
        target: Option<String>,
    },
    /// Print measured figures: widget payload sizes, sync and storage figures, KB search latency.
    Bench,
    /// Build the Leptos + Automerge floor (tools/floor) as the widget is built and print its weight beside the widget's.
    Floor,
}

fn main() -> Result<()> {
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    let task = Cli::parse().task;
    if matches!(task, Task::Run | Task::Test { .. } | Task::Bench) {
        tools::ensure_make()?;
    }
    match task {
        Task::Run => run(&root),
        Task::Test { e2e_repeat: None } => test(&root),
        Task::Test {
            e2e_repeat: Some(runs),
        } => repeat_e2e(&root, runs),
        Task::Build => {
            let site = widget::build(&root)?;
            sizes::print(&site)
        }
        Task::Fuzz { secs, target } => fuzz::run(&root, secs, target.as_deref()),
        Task::Floor => {
            let site = widget::build(&root)?;
            widget::floor(&root, &site)
        }
        Task::Bench => {
            let site = widget::build(&root)?;
            sizes::print(&site)?;
            widget::floor(&root, &site)?;
            let browser = tools::ensure_chromium()?;
            run_cmd(
                cargo()
                    .args([
                        "run",
                        "--release",
                        "--package",
                        "stufe-e2e",
                        "--example",
                        "weight",
                    ])
                    .env("STUFE_SITE_DIR", &site)
                    .env("STUFE_CHROMIUM", &browser.chromium)
                    .env("STUFE_CHROMEDRIVER", &browser.chromedriver)
                    .env("STUFE_AXE", tools::axe(&root))
                    .env("STUFE_PYTHON", tools::PYTHON),
            )?;
            run_cmd(cargo().args(["bench", "--package", "stufe-server", "--bench", "sync"]))?;
            run_cmd(cargo().args([
                "bench",
                "--package",
                "stufe-server",
                "--bench",
                "connections",
            ]))?;
            tools::ensure_reference_server(&root)?;
            run_cmd(cargo().args(["bench", "--package", "stufe-server", "--bench", "reference"]))?;
            run_cmd(cargo().args(["bench", "--package", "stufe-server", "--bench", "search"]))?;
            run_cmd(cargo().args([
                "bench",
                "--package",
                "stufe-server",
                "--bench",
                "attachments",
            ]))?;
            tools::ensure_postgres()?;
            run_cmd(cargo().args(["bench", "--package", "stufe-server", "--bench", "nodes"]))?;
            run_cmd(cargo().args(["bench", "--package", "stufe-server", "--bench", "fleet"]))
        }
    }
}

/// The workspace this xtask was started in. `cargo run` sets `CARGO_MANIFEST_DIR` at run
/// time; it is read then rather than baked in at compile time, because a shared target dir
/// can hold an xtask binary compiled in another checkout of the same sources.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Runs a command, failing with its name when it fails.
pub fn run_cmd(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Where the demo's local SMTP server listens.
const DEMO_SMTP: &str = "127.0.0.1:2525";
/// Where the demo server takes customers' answers to its emails, and the
/// domain of their reply addresses.
const DEMO_INBOUND_SMTP: &str = "127.0.0.1:2526";
const DEMO_REPLY_DOMAIN: &str = "reply.localhost";

/// Builds the widget and runs the optimised (release) server on it, with a
/// local SMTP server that keeps customer emails in `data/mail` (unless
/// `STUFE_SMTP_URL` names another).
fn run(root: &Path) -> Result<()> {
    let site = widget::build(root)?;
    let mut cmd = cargo();
    cmd.args(["run", "--release", "--package", "stufe-server"])
        .env("STUFE_SITE_DIR", &site);
    let mut smtp = None;
    if std::env::var_os("STUFE_SMTP_URL").is_none() {
        tools::ensure_smtp_server()?;
        let maildir = root.join("data/mail");
        smtp = Some(
            Command::new(tools::PYTHON)
                .args([
                    "-m",
                    "aiosmtpd",
                    "-n",
                    "-l",
                    DEMO_SMTP,
                    "-c",
                    "aiosmtpd.handlers.Mailbox",
                ])
                .arg(&maildir)
                .spawn()
                .context("starting the local SMTP server")?,
        );
        cmd.env("STUFE_SMTP_URL", format!("smtp://{DEMO_SMTP}"));
        if std::env::var_os("STUFE_INBOUND_SMTP_ADDR").is_none() {
            cmd.env("STUFE_INBOUND_SMTP_ADDR", DEMO_INBOUND_SMTP)
                .env("STUFE_MAIL_REPLY_DOMAIN", DEMO_REPLY_DOMAIN);
        }
        println!(
            "\n==> customer emails go to a local SMTP server on {DEMO_SMTP}; read them in {}",
            maildir.join("new").display()
        );
    }
    println!("\n==> building and starting the server (release build, optimised)");
    let result = run_cmd(&mut cmd);
    if let Some(mut smtp) = smtp {
        let _ = smtp.kill();
        let _ = smtp.wait();
    }
    result
}

/// Runs the browser suite `runs` times; fails if any run failed.
fn repeat_e2e(root: &Path, runs: u32) -> Result<()> {
    tools::ensure_wasm_target()?;
    let site = widget::build(root)?;
    let browser = tools::ensure_chromium()?;
    let mut failed = Vec::new();
    for run in 1..=runs {
        println!("\n==> browser suite, run {run} of {runs}");
        let status = cargo()
            .args(["test", "--package", "stufe-e2e"])
            .env("STUFE_SITE_DIR", &site)
            .env("STUFE_CHROMIUM", &browser.chromium)
            .env("STUFE_CHROMEDRIVER", &browser.chromedriver)
            .env("STUFE_AXE", tools::axe(root))
            .env("STUFE_PYTHON", tools::PYTHON)
            .status()?;
        if !status.success() {
            failed.push(run);
        }
    }
    println!(
        "\nbrowser suite: {} of {runs} runs passed, {} failed{}",
        runs - failed.len() as u32,
        failed.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!(" (runs {failed:?})")
        }
    );
    if !failed.is_empty() {
        bail!("{} of {runs} browser-suite runs failed", failed.len());
    }
    Ok(())
}

fn test(root: &Path) -> Result<()> {
    let started = Instant::now();
    let mut timings = Vec::new();
    let mut step = |name: &str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        println!("\n==> {name}");
        let t = Instant::now();
        f()?;
        timings.push((name.to_owned(), t.elapsed()));
        Ok(())
    };
    step("cargo fmt --check", &mut || {
        tools::ensure_components()?;
        run_cmd(cargo().args(["fmt", "--all", "--check"]))
    })?;
    step("clippy (native, all targets)", &mut || {
        run_cmd(cargo().args([
            "clippy",
            "--locked",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step("clippy (wasm32: shared, widget)", &mut || {
        tools::ensure_wasm_target()?;
        run_cmd(cargo().args([
            "clippy",
            "--locked",
            "--package",
            "stufe-shared",
            "--package",
            "stufe-widget",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step("cargo doc (warnings are errors)", &mut || {
        run_cmd(
            cargo()
                .args([
                    "doc",
                    "--locked",
                    "--no-deps",
                    "-p",
                    "stufe-shared",
                    "-p",
                    "stufe-server",
                    "-p",
                    "stufe-e2e",
                    "-p",
                    "xtask",
                ])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )
    })?;
    step(
        "cargo deny (licences, bans, sources; deny.toml)",
        &mut || {
            tools::ensure_cargo_deny()?;
            run_cmd(cargo().args(["deny", "--locked", "check", "licenses", "bans", "sources"]))
        },
    )?;
    let mut site = PathBuf::new();
    step("build widget", &mut || {
        site = widget::build(root)?;
        Ok(())
    })?;
    let mut browser = None;
    step("browser for end-to-end tests", &mut || {
        browser = Some(tools::ensure_chromium()?);
        Ok(())
    })?;
    let browser = browser.expect("set by the step");
    step(
        "PostgreSQL for the storage and multi-server tests",
        &mut || tools::ensure_postgres(),
    )?;
    step("cargo test (unit, integration, end-to-end)", &mut || {
        run_cmd(
            cargo()
                .args(["test", "--locked", "--workspace"])
                .env("STUFE_SITE_DIR", &site)
                .env("STUFE_CHROMIUM", &browser.chromium)
                .env("STUFE_CHROMEDRIVER", &browser.chromedriver)
                .env("STUFE_AXE", tools::axe(root))
                .env("STUFE_PYTHON", tools::PYTHON),
        )
    })?;
    step("fuzz targets (libFuzzer, 20 s each)", &mut || {
        fuzz::run(root, fuzz::CI_SECS, None)
    })?;
    println!("\nAll checks passed in {:.0?}:", started.elapsed());
    for (name, took) in &timings {
        println!("  {took:>8.1?}  {name}");
    }
    Ok(())
}
