//! Helpers for Stufe's browser tests: the real server on a real port, a
//! separate host page (another origin, as a customer's site would be) that
//! embeds the real script tag, and headless Chromium driven over WebDriver.
//!
//! The tests need the built widget (`STUFE_SITE_DIR`) and Chromium with
//! chromedriver (`STUFE_CHROMIUM`, `STUFE_CHROMEDRIVER`); `cargo xtask test`
//! provides all three.
//!
//! Every test ends with [`finish`]: it fails the test when the browser's log
//! shows a panic or an uncaught error, or when the widget reported a crash to
//! the server, even if every step of the test passed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

mod assertions;
mod browser;
mod host;
mod mail;
mod server;

pub use assertions::finish;
pub use browser::{Browser, LogEntry};
pub use host::HostSite;
pub use mail::{Mail, MailServer};
pub use server::{new_postgres_database, Stufe, REPLY_DOMAIN};

pub const STAFF_TOKEN: &str = "e2e-staff-token";
pub const STAFF_PASSWORD: &str = "e2e-password";
const PATIENCE: Duration = Duration::from_secs(20);

fn env_path(name: &str, default: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| default.into())
}

pub(crate) fn stufe_dir() -> PathBuf {
    PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"),
    )
    .join("..")
}
