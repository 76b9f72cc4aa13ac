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

pub const STAFF_TOKEN: &str = "e2e-staff-token";
pub const STAFF_PASSWORD: &str = "e2e-password";
const PATIENCE: Duration = Duration::from_secs(20);

fn env_path(name: &str, default: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| default.into())
}

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
}

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
            // One browser creates every test's tickets from one address.
            limits: stufe_server::limits::Limits {
                tickets_per_address_hour: 100_000,
                tickets_per_site_hour: 100_000,
                sockets_per_address: 10_000,
            },
            trust_forwarded_for: false,
        };
        let shutdown = CancellationToken::new();
        let (_, serve) = stufe_server::start(listener, config, shutdown.clone()).await?;
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

async fn bind_retrying(port: u16) -> Result<TcpListener> {
    let started = Instant::now();
    loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => return Ok(listener),
            Err(err) if started.elapsed() > Duration::from_secs(10) => return Err(err.into()),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A customer's website on its own origin, embedding Stufe with the demo page's script tag.
pub struct HostSite {
    pub addr: SocketAddr,
    _server: JoinHandle<()>,
}

impl HostSite {
    pub async fn start(stufe: &Stufe) -> Result<Self> {
        Self::start_with(stufe, "").await
    }

    /// Like [`HostSite::start`], with `script` run by the page before the loader arrives.
    pub async fn start_with(stufe: &Stufe, script: &str) -> Result<Self> {
        Self::start_with_tag(stufe, script, "").await
    }

    /// Like [`HostSite::start_with`], with `attributes` added to the script tag
    /// (e.g. `data-load="click"`).
    pub async fn start_with_tag(stufe: &Stufe, script: &str, attributes: &str) -> Result<Self> {
        Self::from_demo_page(stufe, script, &format!("data-site=\"demo\" {attributes}")).await
    }

    /// The demo page with the tag of another site.
    pub async fn start_for_site(stufe: &Stufe, site: &str) -> Result<Self> {
        Self::start_for_site_with(stufe, site, "").await
    }

    /// The demo page with the tag of another site, and `script` run before the loader arrives.
    pub async fn start_for_site_with(stufe: &Stufe, site: &str, script: &str) -> Result<Self> {
        Self::from_demo_page(stufe, script, &format!("data-site=\"{site}\"")).await
    }

    /// The demo page, with `script` run before the loader arrives and the
    /// tag's `data-site="demo"` replaced by `tag_attributes`.
    async fn from_demo_page(stufe: &Stufe, script: &str, tag_attributes: &str) -> Result<Self> {
        let demo = reqwest::get(stufe.demo_url())
            .await?
            .error_for_status()?
            .text()
            .await?;
        let html = demo
            .replace(
                "<script src=",
                &format!("<script>{script}</script>\n  <script src="),
            )
            .replace("data-site=\"demo\"", tag_attributes);
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || async move { axum::response::Html(html) }),
        );
        Self::serve(app).await
    }

    /// A host page under the strictest policy a careful owner would set:
    /// scripts only from itself and Stufe, frames only from Stufe, styles only
    /// from itself, nothing else. It records every policy violation in
    /// `window.violations` (from a script of its own; inline ones are refused).
    pub async fn start_strict(stufe: &Stufe) -> Result<Self> {
        let stufe_origin = stufe.api("");
        let policy = format!(
            "default-src 'none'; script-src 'self' {stufe_origin}; frame-src {stufe_origin}; style-src 'self'"
        );
        let html = format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Strict shop</title>
<script src="/watch.js"></script></head>
<body><h1>Strict shop</h1><input id="host-input" aria-label="Search the shop">
<script src="{stufe_origin}/widget.js" data-site="demo" async></script>
</body></html>
"#
        );
        let watch = "window.violations = [];\n\
            document.addEventListener('securitypolicyviolation', function (e) {\n\
              window.violations.push(e.violatedDirective + ' ' + e.blockedURI);\n\
            });\n";
        let page = move || {
            let (html, policy) = (html.clone(), policy.clone());
            async move {
                (
                    [(axum::http::header::CONTENT_SECURITY_POLICY, policy)],
                    axum::response::Html(html),
                )
            }
        };
        let script = move || async move {
            (
                [(axum::http::header::CONTENT_TYPE, "text/javascript")],
                watch,
            )
        };
        let app = axum::Router::new()
            .route("/", axum::routing::get(page))
            .route("/watch.js", axum::routing::get(script));
        Self::serve(app).await
    }

    /// A page of its own (`html` at `/`) on another port of the same host as
    /// Stufe (`127.0.0.1`): a sibling origin of the same site, as a shop on a
    /// subdomain of the support site's domain would be. Its URL: [`HostSite::sibling_url`].
    pub async fn start_page(html: String) -> Result<Self> {
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || async move { axum::response::Html(html) }),
        );
        Self::serve(app).await
    }

    /// This page's URL on Stufe's host name (`127.0.0.1`, another port).
    pub fn sibling_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.addr.port())
    }

    /// Serves `app` on a port of its own.
    async fn serve(app: axum::Router) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            _server: server,
        })
    }

    pub fn url(&self) -> String {
        format!("http://localhost:{}/", self.addr.port())
    }
}

/// A port for one chromedriver, free on 127.0.0.1 and ::1. It lies below the
/// kernel's ephemeral range, so no socket the tests or servers open (they bind
/// port 0, and connect from ephemeral ports) is ever given it while
/// chromedriver starts, and this process never hands one out twice. (A port
/// probed with `bind(0)` could go to a parallel test's chromedriver too; and
/// chromedriver's own `--port=0` picks a port on ::1 and then fails when
/// 127.0.0.1 has it in use: "IPv4 port not available. Exiting...")
fn free_driver_port() -> Result<u16> {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    const SPAN: u16 = 4_000;
    let ephemeral_low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768);
    // Test binaries run one at a time, but keep apart from any other running one.
    let start = u16::try_from(std::process::id() % 16).unwrap_or(0) * 250;
    for _ in 0..SPAN {
        let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN;
        let port = ephemeral_low.saturating_sub(SPAN) + offset;
        // (A machine without IPv6 has no ::1 to share the port with.)
        let free = std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && match std::net::TcpListener::bind(("::1", port)) {
                Ok(_) => true,
                Err(err) => err.kind() == std::io::ErrorKind::AddrNotAvailable,
            };
        if free {
            return Ok(port);
        }
    }
    bail!("no free port for chromedriver below {ephemeral_low}")
}

/// The port chromedriver says it listens on, from its "started successfully
/// on port N" line (its start-up is complete then); the rest of its output is
/// drained.
async fn driver_port(driver: &mut Child) -> Result<u16> {
    use std::io::BufRead;

    let stdout = driver.stdout.take().context("chromedriver's stdout")?;
    let stderr = driver.stderr.take().context("chromedriver's stderr")?;
    // Its errors (e.g. a failed bind) go to stderr: kept for the message below
    // (the first few KB), the rest drained.
    let errors = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let kept = std::sync::Arc::clone(&errors);
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let mut kept = kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if kept.len() < 4096 {
                kept.push_str(&line);
                kept.push('\n');
            }
        }
    });
    let (found, port) = tokio::sync::oneshot::channel::<Result<u16, String>>();
    std::thread::spawn(move || {
        let mut found = Some(found);
        // What it printed before its port, to say why if it never does.
        let mut said = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap_or_else(|err| format!("(unreadable output: {err})"));
            let port = line
                .split("started successfully on port ")
                .nth(1)
                .and_then(|rest| {
                    rest.trim_end_matches(|c: char| !c.is_ascii_digit())
                        .parse()
                        .ok()
                });
            match (port, found.take()) {
                (Some(port), Some(waiting)) => {
                    let _ = waiting.send(Ok(port));
                }
                (None, Some(waiting)) => {
                    said.push_str(&line);
                    said.push('\n');
                    found = Some(waiting);
                }
                (_, None) => {}
            }
        }
        if let Some(waiting) = found {
            let _ = waiting.send(Err(said));
        }
    });
    match tokio::time::timeout(PATIENCE, port).await {
        Ok(Ok(Ok(port))) => Ok(port),
        Ok(Ok(Err(said))) => {
            let status = driver.try_wait().ok().flatten();
            let errors = errors.lock().unwrap_or_else(|p| p.into_inner()).clone();
            bail!("chromedriver stopped ({status:?}) before it said its port; it printed:\n{said}{errors}")
        }
        Ok(Err(_)) => bail!("chromedriver's output reader stopped"),
        Err(_) => bail!("chromedriver did not say its port within {PATIENCE:?}"),
    }
}

/// Headless Chromium with a fresh profile, driven through chromedriver.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn launch() -> Result<Self> {
        Self::launch_with_prefs(serde_json::json!({})).await
    }

    /// A locked-down browser that lets no site keep data (cookies and site
    /// data blocked): the widget's frame gets no `localStorage`.
    pub async fn launch_without_site_storage() -> Result<Self> {
        Self::launch_with_prefs(serde_json::json!({
            "profile.default_content_setting_values.cookies": 2
        }))
        .await
    }

    async fn launch_with_prefs(prefs: serde_json::Value) -> Result<Self> {
        let chromium = env_path("STUFE_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = env_path("STUFE_CHROMEDRIVER", "/usr/bin/chromedriver");
        let mut driver = Command::new(&chromedriver);
        driver.arg(format!("--port={}", free_driver_port()?));
        // STUFE_E2E_DRIVER_LOG=path keeps chromedriver's verbose log (with the widget's console output).
        if let Some(log) = std::env::var_os("STUFE_E2E_DRIVER_LOG") {
            let unique = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            driver.arg("--verbose").arg(format!(
                "--log-path={}.{unique}",
                PathBuf::from(log).display()
            ));
        }
        let mut driver = driver
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start {} (Debian: chromium-driver); `cargo xtask test` installs it",
                    chromedriver.display()
                )
            })?;
        let port = driver_port(&mut driver).await?;
        let profile = tempfile::tempdir()?;
        // Site isolation off: chromedriver's browser log then also carries the
        // widget's frame (another site than the host page), so `finish` sees
        // its panics and uncaught errors. Storage partitioning, CORS and the
        // frame's origin are unaffected; only the process layout differs.
        let capabilities = serde_json::json!({
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": chromium,
                "prefs": prefs,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900", "--disable-site-isolation-trials",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let attempt =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities.clone())
                    .connect(&url)
                    .await;
            match attempt {
                Ok(client) => break client,
                Err(err) if started.elapsed() > PATIENCE => {
                    bail!("chromedriver did not start: {err}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Ok(Self {
            client,
            driver,
            _profile: profile,
        })
    }

    pub async fn quit(mut self) -> Result<()> {
        let result = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        result.map_err(Into::into)
    }

    /// Lets this test inject inline scripts into pages whose policy forbids
    /// them (the widget's frame allows only its own files), from the next
    /// page load on. Only tests that simulate a crash need this.
    pub async fn bypass_content_security_policy(&self) -> Result<()> {
        let bypass = Chromedriver::cdp("Page.setBypassCSP", serde_json::json!({ "enabled": true }));
        self.client.issue_cmd(bypass).await?;
        Ok(())
    }

    /// Makes every request whose URL matches one of `patterns` (`*` wildcards)
    /// fail, as a network that drops them would; an empty list lifts it.
    pub async fn block_urls(&self, patterns: &[&str]) -> Result<()> {
        for command in [
            Chromedriver::cdp("Network.enable", serde_json::json!({})),
            Chromedriver::cdp(
                "Network.setBlockedURLs",
                serde_json::json!({ "urls": patterns }),
            ),
        ] {
            self.client.issue_cmd(command).await?;
        }
        Ok(())
    }

    /// The browser's console log since the last call (every frame's).
    pub async fn log(&self) -> Result<Vec<LogEntry>> {
        let value = self.client.issue_cmd(Chromedriver::browser_log()).await?;
        Ok(serde_json::from_value(value)?)
    }

    /// Log entries that mean the widget broke: a panic (our hook logs
    /// "panicked"), or an uncaught exception anywhere in the page or frame.
    pub async fn breakage(&self) -> Result<Vec<LogEntry>> {
        Ok(self
            .log()
            .await?
            .into_iter()
            .filter(LogEntry::is_breakage)
            .collect())
    }

    /// What axe-core finds wrong in the current frame's document (every rule
    /// axe runs by default: WCAG 2.x A and AA, and best practices), one line
    /// per violation: its rule, impact and the first elements it names.
    pub async fn axe_violations(&self) -> Result<Vec<String>> {
        let axe_path = env_path(
            "STUFE_AXE",
            &stufe_dir()
                .join("tools/node_modules/axe-core/axe.min.js")
                .to_string_lossy(),
        );
        let source = std::fs::read_to_string(&axe_path).map_err(|err| {
            anyhow::anyhow!(
                "axe-core is missing at {} (cargo xtask test installs it): {err}",
                axe_path.display()
            )
        })?;
        // WebDriver scripts run whatever the page's Content-Security-Policy says.
        self.client
            .execute(
                &format!("if (!window.axe) {{ {source}\n }} return true;"),
                vec![],
            )
            .await?;
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document).then(r => done(r.violations.map(v =>
                     v.id + ' (' + v.impact + '): ' + v.help + ' — ' +
                     v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))),
                     e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await?;
        Ok(serde_json::from_value(found)?)
    }

    /// Clicks the launcher in the loader's shadow root and switches into the widget's frame.
    pub async fn open_widget(&self) -> Result<()> {
        let c = &self.client;
        c.enter_parent_frame().await.ok();
        let host = self.wait_for(Locator::Css("#stufe-widget")).await?;
        let root = host.shadow_root().await?;
        root.find(Locator::Css("[data-testid=launcher]"))
            .await?
            .click()
            .await?;
        let frame = root.find(Locator::Css("iframe.open")).await?;
        frame.enter_frame().await?;
        self.wait_for(Locator::Css("[data-testid=new-ticket-tab]"))
            .await?;
        Ok(())
    }

    /// Switches into the already open widget's frame (e.g. after switching windows).
    pub async fn enter_widget_frame(&self) -> Result<()> {
        let host = self.wait_for(Locator::Css("#stufe-widget")).await?;
        let frame = host
            .shadow_root()
            .await?
            .find(Locator::Css("iframe.open"))
            .await?;
        frame.enter_frame().await?;
        Ok(())
    }

    /// In a new window: logs in to the staff console, writes a draft and publishes it.
    /// Returns to the previous window afterwards.
    pub async fn publish_in_console(
        &self,
        stufe: &Stufe,
        title: &str,
        body: &str,
        category: &str,
    ) -> Result<()> {
        let c = &self.client;
        let customer_window = c.window().await?;
        let staff_window = c.new_window(false).await?;
        c.switch_to_window(staff_window.handle).await?;
        self.console_login(stufe).await?;
        c.goto(&stufe.api("/console/kb")).await?;
        self.wait_for(Locator::Css("[data-testid=new-draft-title]"))
            .await?
            .send_keys(title)
            .await?;
        let category_input = c.find(Locator::Css("input[name=category]")).await?;
        category_input.clear().await?;
        category_input.send_keys(category).await?;
        self.click("[data-testid=new-draft]").await?;
        self.wait_for(Locator::Css("[data-testid=draft-body]"))
            .await?
            .send_keys(body)
            .await?;
        self.click("[data-testid=publish]").await?;
        self.wait_script("return document.body.textContent.includes('Published as version 1');")
            .await?;
        c.close_window().await?;
        c.switch_to_window(customer_window).await?;
        Ok(())
    }

    /// Logs in to the staff console as `sam` (admin) in the current window.
    pub async fn console_login(&self, stufe: &Stufe) -> Result<()> {
        let c = &self.client;
        c.goto(&stufe.api("/console/login")).await?;
        c.find(Locator::Css("input[name=login]"))
            .await?
            .send_keys("sam")
            .await?;
        c.find(Locator::Css("input[name=password]"))
            .await?
            .send_keys(STAFF_PASSWORD)
            .await?;
        self.click("form button").await?;
        self.wait_for(Locator::Css("[data-testid=queue]")).await?;
        Ok(())
    }

    /// Waits until an element matching `locator` exists.
    pub async fn wait_for(&self, locator: Locator<'_>) -> Result<Element> {
        let started = Instant::now();
        loop {
            match self.client.find(locator).await {
                Ok(element) => return Ok(element),
                Err(_) if started.elapsed() < PATIENCE => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(err) => bail!("waited {PATIENCE:?} for {locator:?}: {err}"),
            }
        }
    }

    /// Waits for the element matching `css` and clicks it.
    pub async fn click(&self, css: &str) -> Result<()> {
        self.wait_for(Locator::Css(css)).await?.click().await?;
        Ok(())
    }

    /// Waits until no element matches `css`.
    pub async fn wait_gone(&self, css: &str) -> Result<()> {
        let started = Instant::now();
        while !self.client.find_all(Locator::Css(css)).await?.is_empty() {
            if started.elapsed() > PATIENCE {
                bail!("waited {PATIENCE:?} for {css} to disappear");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// Waits until a script returns `true`.
    pub async fn wait_script(&self, script: &str) -> Result<()> {
        let started = Instant::now();
        loop {
            if self.client.execute(script, vec![]).await? == serde_json::Value::Bool(true) {
                return Ok(());
            }
            if started.elapsed() > PATIENCE {
                bail!("waited {PATIENCE:?} for `{script}`");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fills and submits the new-ticket form.
    pub async fn submit_ticket(&self, subject: &str, description: &str) -> Result<()> {
        self.click("[data-testid=new-ticket-tab]").await?;
        self.wait_for(Locator::Css(
            "[data-testid=category] option[value=technical]",
        ))
        .await?;
        self.client
            .find(Locator::Css("[data-testid=category]"))
            .await?
            .select_by_value("technical")
            .await?;
        self.client
            .find(Locator::Css("[data-testid=subject]"))
            .await?
            .send_keys(subject)
            .await?;
        self.client
            .find(Locator::Css("[data-testid=description]"))
            .await?
            .send_keys(description)
            .await?;
        self.click("[data-testid=submit]").await?;
        Ok(())
    }

    /// The `data-ticket-id` of the list item whose subject is `subject`.
    pub async fn ticket_id(&self, subject: &str) -> Result<String> {
        let script = format!(
            "return [...document.querySelectorAll('[data-testid=ticket-item]')]
                .filter(e => e.querySelector('[data-testid=ticket-subject]').textContent === {subject:?})
                .map(e => e.dataset.ticketId)[0] || null;"
        );
        let started = Instant::now();
        loop {
            if let serde_json::Value::String(id) = self.client.execute(&script, vec![]).await? {
                return Ok(id);
            }
            if started.elapsed() > PATIENCE {
                bail!("no ticket titled {subject:?} in the list");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a screenshot under target/e2e-screenshots (for looking at, not asserting).
    pub async fn screenshot(&self, name: &str) {
        if let Ok(png) = self.client.screenshot().await {
            let dir = stufe_dir().join("target/e2e-screenshots");
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
    }
}

/// One entry of Chromium's browser log.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LogEntry {
    pub level: String,
    pub message: String,
    #[serde(default)]
    pub source: String,
}

impl LogEntry {
    pub fn is_breakage(&self) -> bool {
        let uncaught = self.source == "javascript" && self.level == "SEVERE";
        uncaught || self.message.contains("panicked") || self.message.contains("RuntimeError")
    }
}

/// A chromedriver command outside W3C WebDriver: its log endpoint (`se/log`)
/// or a Chrome DevTools Protocol command (`goog/cdp/execute`).
#[derive(Debug)]
struct Chromedriver {
    path: &'static str,
    body: String,
}

impl Chromedriver {
    fn browser_log() -> Self {
        Self {
            path: "se/log",
            body: r#"{"type":"browser"}"#.into(),
        }
    }

    fn cdp(cmd: &str, params: serde_json::Value) -> Self {
        Self {
            path: "goog/cdp/execute",
            body: serde_json::json!({ "cmd": cmd, "params": params }).to_string(),
        }
    }
}

impl fantoccini::wd::WebDriverCompatibleCommand for Chromedriver {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.clone()))
    }
}

/// Ends a test: a screenshot if it failed, then the checks every test must
/// pass, whatever it did: no panic or uncaught error in the browser's log,
/// and no crash reported by the widget to the server.
pub async fn finish(browser: Browser, stufe: &Stufe, name: &str, result: Result<()>) -> Result<()> {
    if result.is_err() {
        browser.screenshot(&format!("failed-{name}")).await;
    }
    let broken = browser.breakage().await;
    browser.quit().await?;
    result?;
    let broken = broken?;
    if !broken.is_empty() {
        bail!("the browser log shows the widget broke: {broken:#?}");
    }
    let reported = stufe.client_errors().await?;
    if !reported.is_empty() {
        bail!("the widget reported crashes: {reported:#?}");
    }
    Ok(())
}

fn stufe_dir() -> PathBuf {
    PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"),
    )
    .join("..")
}

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
