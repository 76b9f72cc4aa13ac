//! `cargo xtask fuzz`: the coverage-guided fuzz targets in `fuzz/` (cargo-fuzz,
//! libFuzzer, a pinned nightly), each run for a while from the committed
//! seeds, with a table of executions and coverage. `cargo xtask test` runs
//! them briefly; a crash fails the run and leaves its input in
//! `<target dir>/fuzz-artifacts/<target>/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::run_cmd;

/// The nightly the fuzz targets are built with (cargo-fuzz needs nightly's
/// `-Zsanitizer`); pinned so a fresh machine builds what was checked here.
const NIGHTLY: &str = "nightly-2026-05-20";
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The targets, each with the seeds its corpus starts from.
const TARGETS: [&str; 3] = ["frame_decoder", "sync_receive", "markdown"];

/// How long `cargo xtask test` runs each target.
pub const CI_SECS: u32 = 20;

/// What one run found.
struct Outcome {
    target: &'static str,
    runs: u64,
    secs: f64,
    /// Edges covered, and instrumented in all.
    covered: u64,
    instrumented: u64,
    corpus: u64,
}

fn ensure_tools() -> Result<()> {
    let have_nightly = Command::new("rustup")
        .args(["run", NIGHTLY, "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_nightly {
        println!("installing {NIGHTLY} (minimal) for cargo-fuzz");
        run_cmd(Command::new("rustup").args([
            "toolchain",
            "install",
            NIGHTLY,
            "--profile",
            "minimal",
        ]))?;
    }
    let version = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if !version.contains(CARGO_FUZZ_VERSION) {
        println!("installing cargo-fuzz {CARGO_FUZZ_VERSION}");
        run_cmd(Command::new("cargo").args([
            "install",
            "cargo-fuzz",
            "--locked",
            "--version",
            CARGO_FUZZ_VERSION,
        ]))?;
    }
    Ok(())
}

fn target_dir(root: &Path) -> PathBuf {
    // Its own directory: everything in it is built with libFuzzer's
    // instrumentation, none of it is shared with the normal build.
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).with_file_name("fuzz-target"),
        None => root.join("target/fuzz"),
    }
}

/// The corpus a target starts from, written afresh from the committed seeds
/// (plus whatever earlier runs found, kept beside them).
fn seed_corpus(root: &Path, dir: &Path, target: &str) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let corpus = root.join("server/tests/corpus");
    let files = |ext: &str| -> Result<Vec<PathBuf>> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&corpus)
            .with_context(|| format!("the seeds in {}", corpus.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        found.retain(|p| p.extension().is_some_and(|e| e == ext));
        Ok(found)
    };
    let write = |name: &std::ffi::OsStr, bytes: Vec<u8>| std::fs::write(dir.join(name), bytes);
    match target {
        "frame_decoder" => {
            for path in files("frame")? {
                write(path.file_name().unwrap(), std::fs::read(&path)?)?;
            }
        }
        "sync_receive" => {
            // First byte: even starts a fresh peer state (a new connection).
            for path in files("sync")? {
                let mut bytes = vec![0];
                bytes.extend(std::fs::read(&path)?);
                write(path.file_name().unwrap(), bytes)?;
            }
        }
        _ => {
            for entry in std::fs::read_dir(root.join("fuzz/seeds/markdown"))? {
                let path = entry?.path();
                write(path.file_name().unwrap(), std::fs::read(&path)?)?;
            }
        }
    }
    Ok(())
}

/// A number after `key` in libFuzzer's output, e.g. `cov: 1234` or "Done 99 runs".
fn number_after(text: &str, key: &str) -> Option<u64> {
    let rest = &text[text.rfind(key)? + key.len()..];
    rest.trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// How many edges libFuzzer instruments: "Loaded 1 modules (N inline 8-bit counters)".
fn instrumented(log: &str) -> Option<u64> {
    let at = log.find("inline 8-bit counters")?;
    let open = log[..at].rfind('(')?;
    log[open + 1..at].trim().parse().ok()
}

fn run_target(root: &Path, target: &'static str, secs: u32) -> Result<Outcome> {
    let targets = target_dir(root);
    let corpus = targets.join("fuzz-corpus").join(target);
    seed_corpus(root, &corpus, target)?;
    let artifacts = targets.join("fuzz-artifacts").join(target);
    std::fs::create_dir_all(&artifacts)?;
    let binary = targets
        .join("x86_64-unknown-linux-gnu/release")
        .join(target);
    let started = Instant::now();
    let output = Command::new(&binary)
        .arg(&corpus)
        .arg(format!("-max_total_time={secs}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1")
        .arg("-close_fd_mask=1")
        .output()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let tail: Vec<&str> = log.lines().rev().take(60).collect();
        for line in tail.into_iter().rev() {
            eprintln!("{line}");
        }
        bail!(
            "fuzz target {target} failed ({}); its input is in {}",
            output.status,
            artifacts.display()
        );
    }
    Ok(Outcome {
        target,
        runs: number_after(&log, "stat::number_of_executed_units:").unwrap_or(0),
        secs: started.elapsed().as_secs_f64(),
        covered: number_after(&log, "cov:").unwrap_or(0),
        instrumented: instrumented(&log).unwrap_or(0),
        corpus: number_after(&log, "corp:").unwrap_or(0),
    })
}

/// Builds the targets and runs each for `secs` seconds (one of them if
/// `only`); prints executions and coverage.
pub fn run(root: &Path, secs: u32, only: Option<&str>) -> Result<()> {
    if let Some(name) = only {
        if !TARGETS.contains(&name) {
            bail!("no fuzz target {name:?}; there are {TARGETS:?}");
        }
    }
    ensure_tools()?;
    run_cmd(
        Command::new("cargo")
            .arg(format!("+{NIGHTLY}"))
            .args(["fuzz", "build", "-O", "--target-dir"])
            .arg(target_dir(root))
            .current_dir(root.join("fuzz")),
    )?;
    let mut outcomes = Vec::new();
    for target in TARGETS.into_iter().filter(|t| only.is_none_or(|o| o == *t)) {
        println!("fuzzing {target} for {secs} s");
        outcomes.push(run_target(root, target, secs)?);
    }
    println!(
        "\n{:<14} {:>12} {:>10} {:>8} {:>22} {:>7}",
        "target", "executions", "per s", "secs", "edges covered", "corpus"
    );
    for o in &outcomes {
        let share = if o.instrumented > 0 {
            format!(
                "{} of {} ({:.1} %)",
                o.covered,
                o.instrumented,
                o.covered as f64 * 100.0 / o.instrumented as f64
            )
        } else {
            o.covered.to_string()
        };
        println!(
            "{:<14} {:>12} {:>10.0} {:>8.0} {:>22} {:>7}",
            o.target,
            o.runs,
            o.runs as f64 / o.secs.max(0.001),
            o.secs,
            share,
            o.corpus
        );
    }
    println!(
        "(edges: libFuzzer's covered edges over all instrumented code, dependencies included)"
    );
    Ok(())
}
