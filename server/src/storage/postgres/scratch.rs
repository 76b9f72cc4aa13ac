//! A private PostgreSQL server for tests and benchmarks: Debian's
//! `postgresql` binaries, a cluster made with `initdb` in a temporary
//! directory, reached only through a Unix socket in that directory (no TCP
//! port to collide with anything), and stopped when the process that started
//! it ends, however it ends.
//!
//! Root may not run PostgreSQL, so as root the server runs as the `postgres`
//! user the Debian package creates (with `runuser`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ::postgres::{Client, NoTls};

/// A running scratch server; fresh databases from [`ScratchPostgres::database`].
pub struct ScratchPostgres {
    dir: tempfile::TempDir,
    /// `sh` waiting on its stdin; when this process ends the pipe closes and
    /// it stops the server.
    _keeper: Child,
    next_db: AtomicU32,
}

/// The directory with `initdb` and `postgres`: `STUFE_PG_BIN`, else the
/// newest `/usr/lib/postgresql/<version>/bin`, else the `PATH`.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("STUFE_PG_BIN") {
        return Some(dir.into());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn program(bin: Option<&Path>, name: &str) -> String {
    bin.map_or_else(|| name.to_owned(), |b| b.join(name).display().to_string())
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `uid:gid` of a user, from `id`.
fn user_ids(user: &str) -> std::io::Result<(u32, u32)> {
    let id = |flag: &str| -> std::io::Result<u32> {
        let out = Command::new("id").arg(flag).arg(user).output()?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| std::io::Error::other(format!("no user {user:?}")))
    };
    Ok((id("-u")?, id("-g")?))
}

/// A command run as the user PostgreSQL runs as (`postgres` when we are root).
fn as_server_user(program: &str) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", program]);
        command
    } else {
        Command::new(program)
    }
}

impl ScratchPostgres {
    /// Makes a cluster in a new temporary directory and starts its server.
    pub fn start() -> std::io::Result<Self> {
        let bin = bin_dir();
        // In /tmp whatever TMPDIR says: the server's user must reach it, and
        // the socket's path must stay short (at most 107 bytes).
        let dir = tempfile::Builder::new()
            .prefix("stufe-pg-")
            .tempdir_in("/tmp")?;
        if is_root() {
            let (uid, gid) = user_ids("postgres")?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
        }
        let data = dir.path().join("data");
        let init = as_server_user(&program(bin.as_deref(), "initdb"))
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ])
            .output()
            .map_err(|err| {
                if err.kind() == std::io::ErrorKind::NotFound {
                    std::io::Error::other(
                        "PostgreSQL's initdb is not installed (Debian: apt-get install postgresql); `cargo xtask test` installs it and runs these tests",
                    )
                } else {
                    err
                }
            })?;
        if !init.status.success() {
            return Err(std::io::Error::other(format!(
                "initdb failed ({}): {}{}",
                init.status,
                String::from_utf8_lossy(&init.stdout),
                String::from_utf8_lossy(&init.stderr)
            )));
        }
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        if is_root() {
            let (uid, gid) = user_ids("postgres")?;
            std::os::unix::fs::chown(dir.path().join("server.log"), Some(uid), Some(gid))?;
        }
        // The server runs in the background of a shell that waits for its
        // stdin to close (this process ending), then stops it at once.
        let script = format!(
            "'{}' -D '{}' -k '{}' -c listen_addresses= -c max_connections=1000 \
             -c shared_buffers=64MB -c dynamic_shared_memory_type=mmap & pid=$!; \
             read _; kill -INT $pid; wait $pid; rm -rf '{}'",
            program(bin.as_deref(), "postgres"),
            data.display(),
            dir.path().display(),
            dir.path().display(),
        );
        let keeper = as_server_user("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let scratch = Self {
            dir,
            _keeper: keeper,
            next_db: AtomicU32::new(0),
        };
        scratch.wait_until_ready()?;
        Ok(scratch)
    }

    fn admin_url(&self) -> String {
        self.url_of("postgres")
    }

    /// The connection string of database `name` on this server.
    pub fn url_of(&self, name: &str) -> String {
        format!(
            "host={} user=postgres dbname={name}",
            self.dir.path().display()
        )
    }

    fn wait_until_ready(&self) -> std::io::Result<()> {
        let started = Instant::now();
        loop {
            match Client::connect(&self.admin_url(), NoTls) {
                Ok(_) => return Ok(()),
                Err(err) if started.elapsed() > Duration::from_secs(60) => {
                    let log = std::fs::read_to_string(self.dir.path().join("server.log"))
                        .unwrap_or_default();
                    return Err(std::io::Error::other(format!(
                        "PostgreSQL did not start: {err}\n{log}"
                    )));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// A new, empty database; returns its connection string.
    pub fn database(&self) -> Result<String, ::postgres::Error> {
        let name = format!(
            "stufe_{}_{}",
            std::process::id(),
            self.next_db.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = Client::connect(&self.admin_url(), NoTls)?;
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        Ok(self.url_of(&name))
    }
}

/// One scratch server per process, started on first use.
pub fn shared() -> &'static ScratchPostgres {
    static SHARED: std::sync::OnceLock<ScratchPostgres> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| ScratchPostgres::start().expect("start a scratch PostgreSQL server"))
}
