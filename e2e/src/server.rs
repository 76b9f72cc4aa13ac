//! The real Stufe server on a real port (SQLite in a temporary directory, or a PostgreSQL database), with the demo data.

use super::*;

/// A new, empty database on this test process's scratch PostgreSQL server
/// (started on first use: Debian's `postgresql` binaries, a temporary
/// directory, a Unix socket); its connection string.
pub async fn new_postgres_database() -> Result<String> {
    Ok(tokio::task::spawn_blocking(|| {
        stufe_server::storage::postgres::scratch::shared().database()
    })
    .await??)
}

/// The Stufe server, stoppable and restartable on the same port.
pub struct Stufe {
    pub port: u16,
    data: tempfile::TempDir,
    running: Option<(CancellationToken, JoinHandle<std::io::Result<()>>)>,
    /// Where customer emails go (a [`MailServer`]), if anywhere.
    smtp_url: Option<String>,
    /// The PostgreSQL database it stores in (else its own SQLite file).
    database_url: Option<String>,
    /// Where it takes customers' answers by SMTP (when it sends email).
    pub inbound_smtp: Option<std::net::SocketAddr>,
}

/// The domain of the reply addresses in a mailing test server's emails.
pub const REPLY_DOMAIN: &str = "reply.acme.example";

impl Stufe {
    pub async fn start() -> Result<Self> {
        Self::start_mailing(None).await
    }

    /// A server that sends customer emails to the SMTP server at `smtp_url`.
    pub async fn start_mailing(smtp_url: Option<String>) -> Result<Self> {
        Self::start_with(smtp_url, None).await
    }

    /// A server storing in the PostgreSQL database `database_url`; several
    /// may share one (the first seeds the demo data).
    pub async fn start_on_database(database_url: &str) -> Result<Self> {
        Self::start_with(None, Some(database_url.to_owned())).await
    }

    async fn start_with(smtp_url: Option<String>, database_url: Option<String>) -> Result<Self> {
        let site_dir = env_path("STUFE_SITE_DIR", "target/site");
        if !site_dir.join("widget.js").exists() {
            bail!(
                "the widget is not built in {}; run `cargo xtask test`",
                site_dir.display()
            );
        }
        let mut stufe = Stufe {
            port: 0,
            data: tempfile::tempdir()?,
            running: None,
            smtp_url,
            database_url,
            inbound_smtp: None,
        };
        stufe.launch().await?;
        Ok(stufe)
    }

    async fn launch(&mut self) -> Result<()> {
        let listener = bind_retrying(self.port).await?;
        self.port = listener.local_addr()?.port();
        let config = stufe_server::Config {
            data_dir: self.data.path().to_path_buf(),
            site_dir: env_path("STUFE_SITE_DIR", "target/site"),
            public_url: None,
            seed_demo: true,
            seed_demo_articles: false,
            demo_staff_token: Some(STAFF_TOKEN.into()),
            demo_staff_password: STAFF_PASSWORD.into(),
            ticket_idle: std::time::Duration::from_secs(2),
            max_awake_tickets: 1_000,
            database_url: self.database_url.clone(),
            smtp_url: self.smtp_url.clone(),
            mail_from: "Acme Support <support@acme.example>".into(),
            // Retries come quickly here; the tests wait for them.
            mail_retry: std::time::Duration::from_millis(300),
            // A server that sends email takes the answers to it too.
            mail_reply_domain: self.smtp_url.as_ref().map(|_| REPLY_DOMAIN.to_owned()),
            inbound_smtp_addr: self.smtp_url.as_ref().map(|_| "127.0.0.1:0".to_owned()),
            // One browser creates every test's tickets from one address.
            limits: stufe_server::limits::Limits {
                tickets_per_address_hour: 100_000,
                tickets_per_site_hour: 100_000,
                sockets_per_address: 10_000,
            },
            trust_forwarded_for: false,
            webhook_retry: std::time::Duration::from_secs(30),
            webhooks_allow_http: true,
        };
        let shutdown = CancellationToken::new();
        let (started, serve) = stufe_server::start(listener, config, shutdown.clone()).await?;
        self.inbound_smtp = started.inbound_smtp;
        self.running = Some((shutdown, tokio::spawn(serve)));
        Ok(())
    }

    /// Stops the server (as an outage would); widgets lose their connection.
    pub async fn stop(&mut self) -> Result<()> {
        if let Some((shutdown, handle)) = self.running.take() {
            shutdown.cancel();
            handle.await??;
        }
        Ok(())
    }

    /// Starts it again on the same port with the same database.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop().await?;
        self.launch().await
    }

    /// The demo host page as the server itself serves it (opened via `localhost`,
    /// while the widget comes from `127.0.0.1`: two origins).
    pub fn demo_url(&self) -> String {
        format!("http://localhost:{}/demo", self.port)
    }

    pub fn api(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn staff_get(&self, path: &str) -> Result<serde_json::Value> {
        let response = reqwest::Client::new()
            .get(self.api(path))
            .bearer_auth(STAFF_TOKEN)
            .send()
            .await?;
        Ok(response.error_for_status()?.json().await?)
    }

    /// The crashes widgets reported to the server (admin API).
    pub async fn client_errors(&self) -> Result<Vec<serde_json::Value>> {
        let errors = self.staff_get("/api/staff/client-errors").await?;
        Ok(errors.as_array().cloned().unwrap_or_default())
    }

    /// Waits until the server holds `count` crash reports (a report travels
    /// on its own request, unordered with anything the page shows) and returns them.
    pub async fn wait_for_client_errors(&self, count: usize) -> Result<Vec<serde_json::Value>> {
        let started = Instant::now();
        loop {
            let errors = self.client_errors().await?;
            if errors.len() >= count {
                return Ok(errors);
            }
            if started.elapsed() > PATIENCE {
                bail!("waited {PATIENCE:?} for {count} crash reports, have {errors:#?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Publishes an English article on the demo site (category `technical`).
    pub async fn publish(&self, id: &str, title: &str, body: &str) -> Result<()> {
        let article = serde_json::json!({
            "site": "demo", "locale": "en", "title": title, "body": body, "category": "technical"
        });
        self.staff_send(
            reqwest::Method::PUT,
            &format!("/api/staff/articles/{id}"),
            article,
        )
        .await?;
        Ok(())
    }

    /// Sends a staff API request; returns the answer's JSON (null when it had none).
    pub async fn staff_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value> {
        let text = reqwest::Client::new()
            .request(method, self.api(path))
            .bearer_auth(STAFF_TOKEN)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(serde_json::from_str(&text).unwrap_or_default())
    }

    /// Creates a site like the demo one (categories `general`, `technical`,
    /// `billing`) whose widget may be shown by pages of `allowed_origins`;
    /// returns its identity secret.
    pub async fn create_site(&self, key: &str, allowed_origins: &[&str]) -> Result<String> {
        let mut site = self.staff_get("/api/staff/sites").await?[0].clone();
        site["key"] = key.into();
        site["allowed_origins"] = allowed_origins.into();
        let created = self
            .staff_send(reqwest::Method::POST, "/api/staff/sites", site)
            .await?;
        Ok(created["identity_secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }
}

pub(crate) async fn bind_retrying(port: u16) -> Result<TcpListener> {
    let started = Instant::now();
    loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => return Ok(listener),
            Err(err) if started.elapsed() > Duration::from_secs(10) => return Err(err.into()),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
