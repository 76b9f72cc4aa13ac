//! A real SMTP server process (aiosmtpd) that keeps what it receives.

use super::*;

/// A real SMTP server in its own process (Python's aiosmtpd, from Debian's
/// `python3-aiosmtpd`, which `cargo xtask test` installs) that keeps every
/// email it receives in a Maildir.
pub struct MailServer {
    pub port: u16,
    maildir: tempfile::TempDir,
    process: std::process::Child,
}

/// One email as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Where an answer goes (`Reply-To`), if the email has one.
    pub reply_to: String,
    pub message_id: String,
    /// The thread it belongs to (`References`).
    pub references: String,
}

impl MailServer {
    /// Starts it on a free port of 127.0.0.1 and waits until it accepts connections.
    pub async fn start() -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        Self::start_on(port).await
    }

    /// Starts it on `port` (e.g. again after [`MailServer::stop`]).
    pub async fn start_on(port: u16) -> Result<Self> {
        let maildir = tempfile::tempdir()?;
        let python = env_path("STUFE_PYTHON", "/usr/bin/python3");
        let process = std::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            // A directory that does not exist yet: Python's Maildir makes
            // its tmp/new/cur folders only when it creates the directory.
            .arg(maildir.path().join("mail"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .map_err(|err| {
                anyhow::anyhow!("cannot start {} -m aiosmtpd: {err}", python.display())
            })?;
        let server = Self {
            port,
            maildir,
            process,
        };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if started.elapsed() > PATIENCE {
                bail!(
                    "the SMTP server did not start on port {port} (is python3-aiosmtpd installed?)"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every email received so far, oldest first.
    pub fn received(&self) -> Result<Vec<Mail>> {
        let mut files: Vec<_> = std::fs::read_dir(self.maildir.path().join("mail/new"))
            .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort_by_key(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|path| {
                let raw = std::fs::read(path)?;
                let parsed = mailparse::parse_mail(&raw)?;
                let header = |name: &str| {
                    parsed
                        .headers
                        .iter()
                        .find(|h| h.get_key().eq_ignore_ascii_case(name))
                        .map(|h| h.get_value())
                        .unwrap_or_default()
                };
                Ok(Mail {
                    to: header("To"),
                    subject: header("Subject"),
                    body: parsed.get_body()?,
                    reply_to: header("Reply-To"),
                    message_id: header("Message-ID"),
                    references: header("References"),
                })
            })
            .collect()
    }

    /// Waits until `count` emails have arrived and returns them.
    pub async fn wait_for(&self, count: usize) -> Result<Vec<Mail>> {
        let started = Instant::now();
        loop {
            let mails = self.received()?;
            if mails.len() >= count {
                return Ok(mails);
            }
            if started.elapsed() > PATIENCE {
                bail!("waited {PATIENCE:?} for {count} emails, have {mails:#?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the SMTP server (an outage); the emails it received stay readable.
    pub fn stop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        self.stop();
    }
}
