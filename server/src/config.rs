//! Server configuration, read from `STUFE_*` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

/// The demo console password when `STUFE_DEMO_STAFF_PASSWORD` is unset.
pub const DEMO_PASSWORD: &str = "stufe-demo";

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the SQLite file lives (`STUFE_DATA`, default `./data`).
    pub data_dir: PathBuf,
    /// A PostgreSQL database to store everything in instead of the SQLite
    /// file (`STUFE_DATABASE_URL`, `postgres://user:password@host/db`, or a
    /// `key=value` connection string); several servers may share it.
    pub database_url: Option<String>,
    /// The built widget assets (`STUFE_SITE_DIR`, default `target/site`, as in `Leptos.toml`).
    pub site_dir: PathBuf,
    /// The URL host pages load the widget from (`STUFE_PUBLIC_URL`); by default
    /// `http://127.0.0.1:PORT`, while the demo page is opened via `localhost`,
    /// so the demo shows a real cross-origin embed.
    pub public_url: Option<String>,
    /// Seed the demo site, staff account and data into an empty database.
    pub seed_demo: bool,
    /// Whether that demo data includes the demo's help articles
    /// (`STUFE_SEED_DEMO_ARTICLES=0`: no; the test harnesses start without).
    pub seed_demo_articles: bool,
    /// The demo staff account's API token (`STUFE_DEMO_STAFF_TOKEN`); random when unset.
    pub demo_staff_token: Option<String>,
    /// The demo accounts' console password (`STUFE_DEMO_STAFF_PASSWORD`, default `stufe-demo`).
    pub demo_staff_password: String,
    /// A ticket unused this long keeps nothing of its document in memory;
    /// its next use loads it from storage (`STUFE_TICKET_IDLE_SECS`, default 30).
    pub ticket_idle: std::time::Duration,
    /// At most this many tickets are kept awake; beyond it the least recently
    /// used sleep at once, idle or not (`STUFE_AWAKE_TICKETS`, default 250).
    /// An awake ticket weighs tens of KB (its loaded document, 18 KB for a
    /// new one, and its sync replies); waking one costs a storage read and
    /// about 40 µs of loading. With 1,000 awake, what opening widgets woke and
    /// then freed stayed between their long-lived pieces: 11.2 KiB per idle
    /// widget against 10.0 with 250 (`connections` bench, 2026-12-07).
    pub max_awake_tickets: usize,
    /// The SMTP server for email to customers (`STUFE_SMTP_URL`, e.g.
    /// `smtp://127.0.0.1:2525`, `smtps://user:pass@smtp.example.com`,
    /// `smtp://user:pass@host:587?tls=required`); no email when unset.
    pub smtp_url: Option<String>,
    /// The sender of those emails (`STUFE_MAIL_FROM`, default `Stufe Support <support@localhost>`).
    pub mail_from: String,
    /// The first retry of an email the SMTP server did not take; later ones
    /// double it (`STUFE_MAIL_RETRY_SECS`, default 30).
    pub mail_retry: std::time::Duration,
    /// The domain of the reply addresses in notification emails
    /// (`STUFE_MAIL_REPLY_DOMAIN`, e.g. `reply.example.com`; its MX must
    /// reach the inbound listener); unset: emails cannot be answered.
    pub mail_reply_domain: Option<String>,
    /// Where the server takes customers' answers by SMTP
    /// (`STUFE_INBOUND_SMTP_ADDR`, e.g. `0.0.0.0:2526`); needs the reply domain.
    pub inbound_smtp_addr: Option<String>,
    /// New tickets per address and site, sockets per address (see [`crate::limits`]).
    pub limits: crate::limits::Limits,
    /// Count clients by the last `X-Forwarded-For` address, for a server
    /// behind a reverse proxy (`STUFE_TRUST_FORWARDED_FOR=1`); else by the TCP peer.
    pub trust_forwarded_for: bool,
    /// The first retry of a webhook delivery the endpoint did not take;
    /// later ones double it (`STUFE_WEBHOOK_RETRY_MS`, default 30,000).
    pub webhook_retry: std::time::Duration,
    /// Let webhook endpoints be plain `http://` URLs
    /// (`STUFE_WEBHOOKS_ALLOW_HTTP=1`, for a local receiver); else HTTPS only.
    pub webhooks_allow_http: bool,
}

impl Config {
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            data_dir: var("STUFE_DATA").unwrap_or_else(|| "data".into()).into(),
            database_url: var("STUFE_DATABASE_URL"),
            site_dir: var("STUFE_SITE_DIR")
                .unwrap_or_else(|| "target/site".into())
                .into(),
            public_url: var("STUFE_PUBLIC_URL"),
            seed_demo: var("STUFE_SEED_DEMO").is_none_or(|v| v != "0"),
            seed_demo_articles: var("STUFE_SEED_DEMO_ARTICLES").is_none_or(|v| v != "0"),
            demo_staff_token: var("STUFE_DEMO_STAFF_TOKEN"),
            demo_staff_password: var("STUFE_DEMO_STAFF_PASSWORD")
                .unwrap_or_else(|| DEMO_PASSWORD.into()),
            ticket_idle: std::time::Duration::from_secs(
                var("STUFE_TICKET_IDLE_SECS")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(30),
            ),
            max_awake_tickets: var("STUFE_AWAKE_TICKETS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(250),
            smtp_url: var("STUFE_SMTP_URL"),
            mail_from: var("STUFE_MAIL_FROM")
                .unwrap_or_else(|| "Stufe Support <support@localhost>".into()),
            mail_retry: std::time::Duration::from_secs(
                var("STUFE_MAIL_RETRY_SECS")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(30),
            ),
            mail_reply_domain: var("STUFE_MAIL_REPLY_DOMAIN").map(|d| d.to_ascii_lowercase()),
            inbound_smtp_addr: var("STUFE_INBOUND_SMTP_ADDR"),
            limits: {
                let defaults = crate::limits::Limits::default();
                let number = |name: &str, default: u32| {
                    var(name).and_then(|v| v.parse().ok()).unwrap_or(default)
                };
                crate::limits::Limits {
                    tickets_per_address_hour: number(
                        "STUFE_TICKETS_PER_ADDRESS_HOUR",
                        defaults.tickets_per_address_hour,
                    ),
                    tickets_per_site_hour: number(
                        "STUFE_TICKETS_PER_SITE_HOUR",
                        defaults.tickets_per_site_hour,
                    ),
                    sockets_per_address: number(
                        "STUFE_SOCKETS_PER_ADDRESS",
                        defaults.sockets_per_address,
                    ),
                }
            },
            trust_forwarded_for: var("STUFE_TRUST_FORWARDED_FOR").is_some_and(|v| v == "1"),
            webhook_retry: std::time::Duration::from_millis(
                var("STUFE_WEBHOOK_RETRY_MS")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(30_000),
            ),
            webhooks_allow_http: var("STUFE_WEBHOOKS_ALLOW_HTTP").is_some_and(|v| v == "1"),
        }
    }

    /// The address to listen on (`STUFE_ADDR`, default `127.0.0.1:8080`).
    pub fn addr_from_env() -> String {
        std::env::var("STUFE_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into())
    }

    pub fn public_url_for(&self, local: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://127.0.0.1:{}", local.port()),
        }
    }
}
