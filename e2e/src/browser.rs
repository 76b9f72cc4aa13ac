//! Headless Chromium over WebDriver (chromedriver), and what a test does in it.

use super::*;

/// A port for one chromedriver, free on 127.0.0.1 and ::1. It lies below the
/// kernel's ephemeral range, so no socket the tests or servers open (they bind
/// port 0, and connect from ephemeral ports) is ever given it while
/// chromedriver starts, and this process never hands one out twice. (A port
/// probed with `bind(0)` could go to a parallel test's chromedriver too; and
/// chromedriver's own `--port=0` picks a port on ::1 and then fails when
/// 127.0.0.1 has it in use: "IPv4 port not available. Exiting...")
pub(crate) fn free_driver_port() -> Result<u16> {
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
pub(crate) async fn driver_port(driver: &mut Child) -> Result<u16> {
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

    /// A browser whose system prefers dark colours (`prefers-color-scheme: dark`
    /// in every page and frame).
    pub async fn launch_dark() -> Result<Self> {
        Self::launch_with(serde_json::json!({}), &["--force-dark-mode"]).await
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
        Self::launch_with(prefs, &[]).await
    }

    async fn launch_with(prefs: serde_json::Value, extra_args: &[&str]) -> Result<Self> {
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
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            "--disable-site-isolation-trials",
        ]
        .into_iter()
        .chain(extra_args.iter().copied())
        .map(str::to_owned)
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = serde_json::json!({
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": chromium,
                "prefs": prefs,
                "args": args,
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
        // Opened by the loader's panel.js: at once if it runs already, else
        // once it has been fetched.
        self.in_launcher("iframe.open").await?.enter_frame().await?;
        self.wait_for(Locator::Css("[data-testid=new-ticket-tab]"))
            .await?;
        Ok(())
    }

    /// Switches into the already open widget's frame (e.g. after switching windows).
    pub async fn enter_widget_frame(&self) -> Result<()> {
        self.enter_frame_matching("iframe.open").await
    }

    /// The host page calls `Stufe('setLocale', lang)`; back in the open widget's frame.
    pub async fn set_locale(&self, lang: &str) -> Result<()> {
        self.client.enter_parent_frame().await?;
        self.client
            .execute(
                "Stufe('setLocale', arguments[0]); return true;",
                vec![serde_json::json!(lang)],
            )
            .await?;
        self.enter_widget_frame().await
    }

    /// Switches from the host page into the widget's frame, open or not.
    pub async fn enter_closed_or_open_widget_frame(&self) -> Result<()> {
        self.client.enter_parent_frame().await.ok();
        self.enter_frame_matching("iframe[data-testid=widget-frame]")
            .await
    }

    async fn enter_frame_matching(&self, css: &str) -> Result<()> {
        self.in_launcher(css).await?.enter_frame().await?;
        Ok(())
    }

    /// An attribute of the launcher button on the host page (`aria-expanded`,
    /// `aria-label`, …); the host page must be the current context.
    pub async fn launcher_attribute(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .in_launcher("[data-testid=launcher]")
            .await?
            .attr(name)
            .await?)
    }

    /// Waits for the element matching `css` in the loader's shadow root (the
    /// launcher, the frame made by its panel.js) on the host page.
    pub async fn in_launcher(&self, css: &str) -> Result<Element> {
        let host = self.wait_for(Locator::Css("#stufe-widget")).await?;
        let root = host.shadow_root().await?;
        let started = Instant::now();
        loop {
            match root.find(Locator::Css(css)).await {
                Ok(element) => return Ok(element),
                Err(_) if started.elapsed() < PATIENCE => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(err) => bail!("waited {PATIENCE:?} for {css} in the launcher: {err}"),
            }
        }
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
        self.console_login_as(stufe, "sam").await
    }

    /// Logs in to the staff console as `login` (`sam` or `tia`) in the current window.
    pub async fn console_login_as(&self, stufe: &Stufe, login: &str) -> Result<()> {
        let c = &self.client;
        c.goto(&stufe.api("/console/login")).await?;
        c.find(Locator::Css("input[name=login]"))
            .await?
            .send_keys(login)
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

    /// Clicks the form button matching `css` and waits until the page the
    /// form leads to has loaded: a new document, not the one clicked in
    /// (whose elements would otherwise be found before the form was taken).
    pub async fn submit(&self, css: &str) -> Result<()> {
        self.client
            .execute("window.stufeLeft = true; return true;", vec![])
            .await?;
        self.click(css).await?;
        let started = Instant::now();
        loop {
            let loaded = self
                .client
                .execute(
                    "return window.stufeLeft === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            // (While the next page loads, a script may find no document to run in.)
            if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
                return Ok(());
            }
            if started.elapsed() > PATIENCE {
                bail!("waited {PATIENCE:?} for the page after clicking {css}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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
pub(crate) struct Chromedriver {
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
