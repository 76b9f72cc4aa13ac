//! Stufe's sync server: one axum binary that serves the widget, syncs ticket
//! documents with widgets over WebSocket, and offers the staff API.
//!
//! # Layout
//!
//! Layers, each importing only from those below it (checked by
//! `tests/it/layers.rs`):
//!
//! 1. Leaves: [`clock`] (the time, an injectable [`clock::Clock`]), [`tokens`]
//!    (random tokens and their hashes), [`limits`] (new tickets, sockets,
//!    confirmation emails), [`client_ip`], [`business_hours`], [`links`] (signed
//!    links in emails), [`identity`] (customers signed in by their site),
//!    [`config`], [`log_lines`] (one log line per event), [`panic_guard`].
//! 2. [`storage`]: one trait per area and the SQLite and PostgreSQL engines;
//!    [`kb`]'s article model, Markdown and search queries beside it.
//! 3. [`sync`]: the hub (validation by role, commit, fan-out) and WebSocket
//!    sessions; [`events`] (what a committed change means for webhooks) beside it.
//! 4. The domain: [`desk`] (what staff do: requests, hand-offs, replies,
//!    publishing, accounts, sites, saved replies, KPIs), [`sites`] (site rules,
//!    allowed origins), [`mail`] (email to customers, confirmed addresses),
//!    [`webhooks`] (delivering events to a site's endpoints),
//!    [`kpi`], [`seed`] (demo data).
//! 5. HTTP: [`auth`] (API tokens, console logins and sessions), [`error`]
//!    ([`error::AppError`]), [`routes`] (one module per area; handlers extract,
//!    call the domain, answer).
//!
//! [`start`] takes its listener and shutdown signal from the caller, so tests bind port 0.

pub mod audit;
pub mod auth;
pub mod business_hours;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod desk;
pub mod error;
pub mod events;
pub mod files;
pub mod identity;
pub mod inbound_smtp;
pub mod kb;
pub mod kpi;
pub mod limits;
pub mod links;
pub mod log_lines;
pub mod mail;
pub mod panic_guard;
pub mod routes;
pub mod seed;
pub mod sites;
pub mod storage;
pub mod sync;
pub mod tokens;
pub mod webhooks;

use std::sync::Arc;

use axum::serve::ListenerExt;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::Config;
use storage::{PostgresStorage, SqliteStorage, Storage};
use stufe_shared::site::SiteConfig;
use stufe_shared::SiteKey;
use sync::Hub;

/// What every handler can reach. Cloned for every request (each handler and
/// middleware gets its own), so it is one `Arc`: a clone is one counter.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The state behind [`AppState`].
pub struct Shared {
    pub hub: Arc<Hub>,
    /// What widget headers say of each site's team (worked out once a minute).
    pub availability: Arc<desk::sites::AvailabilityCache>,
    /// Who is typing in or viewing which ticket (never stored).
    pub presence: Arc<sync::presence::Presence>,
    pub storage: Arc<dyn Storage>,
    pub config: Arc<Config>,
    pub public_url: String,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
    /// Serialises edits of article drafts (rare, and each one is load-edit-store).
    pub drafts: Arc<tokio::sync::Mutex<()>>,
    /// Limits how many widget crash reports each site may send.
    pub client_error_limit: Arc<routes::client_errors::ReportLimiter>,
    /// Site configurations read so far. Every widget connection and search
    /// needs its site's; reading it from memory spares a storage round trip.
    /// Whatever changes a site while serving goes through [`AppState::save_site`].
    pub sites: Arc<std::sync::RwLock<std::collections::HashMap<SiteKey, Arc<SiteConfig>>>>,
    /// Where each site's widget was loaded since the server started.
    pub installs: Arc<sites::Installs>,
    /// Email to customers; None when `STUFE_SMTP_URL` is unset.
    pub mailer: Option<Arc<mail::Mailer>>,
    /// The key that signs ticket links in emails (a server secret).
    pub link_key: Arc<str>,
    /// New tickets and open sockets per client address and site.
    pub limiter: Arc<limits::Limiter>,
    /// Concurrent password verifications and failed logins.
    pub login_guard: Arc<auth::LoginGuard>,
    /// Every site's automation rules, as last read (see [`desk::automation::RulesCache`]).
    pub automation_rules: Arc<desk::automation::RulesCache>,
}

impl AppState {
    /// A server's state on a fresh SQLite file in `dir` with the demo data,
    /// no HTTP and no mail: for tests of the layers below the routes.
    #[cfg(test)]
    pub(crate) fn for_tests(dir: &std::path::Path) -> AppState {
        use storage::prelude::*;
        let storage = storage::SqliteStorage::open(&dir.join("stufe.sqlite")).unwrap();
        seed::seed_demo(&storage, None, "test-password", false).unwrap();
        let link_key = storage.server_secret(links::KEY_NAME).unwrap().into();
        let storage: Arc<dyn Storage> = Arc::new(storage);
        let config = Config {
            data_dir: dir.to_path_buf(),
            database_url: None,
            site_dir: dir.join("no-site"),
            public_url: Some("http://stufe.test".into()),
            seed_demo: false,
            seed_demo_articles: false,
            demo_staff_token: None,
            demo_staff_password: String::new(),
            ticket_idle: std::time::Duration::from_secs(60),
            max_awake_tickets: 100,
            smtp_url: None,
            mail_from: "Support <support@stufe.test>".into(),
            mail_retry: std::time::Duration::from_secs(1),
            mail_reply_domain: None,
            inbound_smtp_addr: None,
            limits: limits::Limits::default(),
            trust_forwarded_for: false,
            webhook_retry: std::time::Duration::from_millis(200),
            webhooks_allow_http: true,
        };
        let hub = Arc::new(Hub::new(storage.clone()));
        AppState(Arc::new(Shared {
            presence: Arc::new(sync::presence::Presence::new(hub.clone(), storage.clone())),
            availability: Arc::default(),
            hub,
            storage,
            public_url: "http://stufe.test".into(),
            config: Arc::new(config),
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            drafts: Arc::default(),
            client_error_limit: Arc::default(),
            sites: Arc::default(),
            installs: Arc::default(),
            mailer: None,
            link_key,
            limiter: Arc::new(limits::Limiter::new(limits::Limits::default())),
            login_guard: Arc::default(),
            automation_rules: Arc::default(),
        }))
    }

    /// A site's configuration, shared (every open widget holds its site's);
    /// None for an unknown site.
    pub async fn site(
        &self,
        key: &SiteKey,
    ) -> Result<Option<Arc<SiteConfig>>, storage::StorageError> {
        let known = self
            .sites
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .cloned();
        if known.is_some() {
            return Ok(known);
        }
        let lookup = key.clone();
        let config = storage::blocking(&self.storage, move |s| s.site(&lookup))
            .await?
            .map(Arc::new);
        if let Some(config) = &config {
            self.sites
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert(key.clone(), Arc::clone(config));
        }
        Ok(config)
    }

    /// Stores a site's new settings and makes every later request see them.
    pub async fn save_site(
        &self,
        key: &SiteKey,
        config: SiteConfig,
    ) -> Result<(), storage::StorageError> {
        let (lookup, stored) = (key.clone(), config.clone());
        storage::blocking(&self.storage, move |s| s.put_site(&lookup, &stored)).await?;
        self.sites
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key.clone(), Arc::new(config));
        Ok(())
    }

    /// The address a request came from (see [`client_ip`]).
    pub fn client_ip(&self, parts: &axum::http::request::Parts) -> std::net::IpAddr {
        client_ip::client_ip(
            &parts.headers,
            &parts.extensions,
            self.config.trust_forwarded_for,
        )
    }

    /// Whether browsers reach this server over https (then cookies are `Secure`).
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// What starting the server found or did.
#[derive(Debug, Clone)]
pub struct Started {
    /// The demo staff token, when this start seeded a fresh database.
    pub seeded_staff_token: Option<String>,
    /// Where the inbound SMTP listener listens, when configured.
    pub inbound_smtp: Option<std::net::SocketAddr>,
}

/// Storage as `start` opened it.
struct OpenedStorage {
    storage: Arc<dyn Storage>,
    /// PostgreSQL: the connection settings to listen for other servers' writes with.
    listen: Option<::postgres::Config>,
    seeded_staff_token: Option<String>,
    link_key: Arc<str>,
}

/// Opens the storage the configuration names, seeding it if empty and asked to.
fn open_storage(config: &Config) -> anyhow::Result<OpenedStorage> {
    let (storage, listen): (Arc<dyn Storage>, _) = match &config.database_url {
        Some(url) => {
            if !storage::postgres::is_postgres_url(url) && !url.contains('=') {
                anyhow::bail!(
                    "STUFE_DATABASE_URL must be a postgres:// URL or a key=value connection string"
                );
            }
            let pg = PostgresStorage::connect(url)?;
            let listen = pg.config().clone();
            tracing::info!("storing in PostgreSQL");
            (Arc::new(pg), Some(listen))
        }
        None => (
            Arc::new(SqliteStorage::open(&config.data_dir.join("stufe.sqlite"))?),
            None,
        ),
    };
    let mut seeded_staff_token = None;
    if config.seed_demo && storage.is_empty()? {
        let token = seed::seed_demo(
            storage.as_ref(),
            config.demo_staff_token.clone(),
            &config.demo_staff_password,
            config.seed_demo_articles,
        )?;
        tracing::info!("seeded the demo site and staff account");
        seeded_staff_token = Some(token);
    }
    let link_key = storage.server_secret(links::KEY_NAME)?.into();
    Ok(OpenedStorage {
        storage,
        listen,
        seeded_staff_token,
        link_key,
    })
}

/// The automation rules' timed work (escalations, reminders, closings):
/// every minute, from the start, until `shutdown`. Every server runs it;
/// each action is claimed in storage by the first server to take it.
async fn automation(state: AppState, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = shutdown.cancelled() => return,
        }
        if let Err(err) = desk::automation::run_due(&state, clock::now_ms()).await {
            tracing::error!(?err, "the automation rules' timed run failed");
        }
    }
}

/// What is kept only for a while is deleted: hourly, from the start, until `shutdown`.
async fn housekeeping(state: AppState, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3_600));
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = shutdown.cancelled() => return,
        }
        match routes::client_errors::prune(&state).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "old widget crash reports deleted"),
            Err(err) => tracing::error!(%err, "deleting old crash reports failed"),
        }
        // Sites' retention periods (several servers may run this at once:
        // erasing is idempotent, each request is erased once).
        if let Err(err) = desk::privacy::apply_retention(&state, clock::now_ms()).await {
            tracing::error!(%err, "erasing requests past their retention period failed");
        }
    }
}

/// Passes what other servers sharing the PostgreSQL database write to this
/// server's hub: documents held here catch up and their widgets get it.
async fn follow_other_servers(
    state: AppState,
    listen: ::postgres::Config,
    shutdown: CancellationToken,
) {
    let hub = &state.hub;
    let forget_sites = |only: Option<&SiteKey>| {
        let mut sites = state.sites.write().unwrap_or_else(|p| p.into_inner());
        match only {
            Some(site) => drop(sites.remove(site)),
            None => sites.clear(),
        }
    };
    use storage::postgres::listen::{spawn, Announcement};
    let (sink, mut heard) = tokio::sync::mpsc::unbounded_channel();
    if let Err(err) = spawn(listen, sink) {
        tracing::error!(%err, "cannot listen for other servers' changes");
        return;
    }
    loop {
        let announcement = tokio::select! {
            heard = heard.recv() => match heard {
                Some(announcement) => announcement,
                None => break,
            },
            () = shutdown.cancelled() => break,
        };
        match announcement {
            Announcement::Doc { doc_id, seq } => {
                // Other ids (e.g. article drafts) are not synced to widgets.
                let Ok(id) = doc_id.parse::<stufe_shared::DocId>() else {
                    continue;
                };
                if let Err(err) = hub.remote_change(&id, seq).await {
                    tracing::warn!(%err, doc = %id, "cannot load another server's change");
                }
            }
            Announcement::Tickets { site } => {
                if let Ok(site) = site.parse() {
                    hub.ticket_changed_elsewhere(site);
                }
            }
            Announcement::Presence { payload } => state.presence.heard(&payload).await,
            // Read again from storage at next use.
            Announcement::Site { site } => {
                if let Ok(site) = site.parse() {
                    forget_sites(Some(&site));
                }
            }
            Announcement::Listening => {
                forget_sites(None);
                hub.catch_up_all().await;
            }
        }
    }
}

/// Opens storage (seeding it if empty and asked to) and returns a future that
/// serves until `shutdown` is cancelled, then drains WebSocket sessions.
pub async fn start(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<(
    Started,
    impl std::future::Future<Output = std::io::Result<()>>,
)> {
    std::fs::create_dir_all(&config.data_dir)?;
    let opened = {
        let config = config.clone();
        // Storage calls block (PostgreSQL's client runs its own runtime).
        tokio::task::spawn_blocking(move || open_storage(&config)).await??
    };
    let OpenedStorage {
        storage,
        listen,
        seeded_staff_token,
        link_key,
    } = opened;
    let hub = Arc::new(Hub::new(storage.clone()));
    let mailer = match &config.smtp_url {
        Some(url) => Some(Arc::new(mail::Mailer::new(
            url,
            &config.mail_from,
            config.mail_retry,
            config.mail_reply_domain.clone(),
        )?)),
        None => {
            tracing::info!("STUFE_SMTP_URL is not set: no email to customers");
            None
        }
    };
    let repaired = kb::repair::repair_catalogues(&hub, &storage).await?;
    // (A freshly seeded demo's catalogues are built here, not repaired.)
    if repaired > 0 && seeded_staff_token.is_none() {
        tracing::warn!(
            repaired,
            "knowledge-base catalogues were behind the published articles"
        );
    }
    // Idle tickets are put to sleep (nothing of them held) until used again.
    let sleeper = {
        let (hub, stop) = (hub.clone(), shutdown.clone());
        let (idle, max_awake) = (config.ticket_idle, config.max_awake_tickets);
        async move {
            // Often enough that a reconnect storm's tickets never pile up far
            // beyond `max_awake`.
            let mut every = tokio::time::interval(std::time::Duration::from_millis(500));
            loop {
                tokio::select! {
                    _ = every.tick() => { hub.sleep_idle_tickets(idle, max_awake).await; }
                    () = stop.cancelled() => break,
                }
            }
        }
    };
    let inbound = match &config.inbound_smtp_addr {
        Some(addr) => {
            if config.mail_reply_domain.is_none() {
                anyhow::bail!("STUFE_INBOUND_SMTP_ADDR needs STUFE_MAIL_REPLY_DOMAIN (the domain of the reply addresses)");
            }
            Some(TcpListener::bind(addr).await?)
        }
        None => None,
    };
    let inbound_smtp = inbound.as_ref().map(TcpListener::local_addr).transpose()?;
    let local = listener.local_addr()?;
    let limiter = Arc::new(limits::Limiter::new(config.limits));
    let state = AppState(Arc::new(Shared {
        presence: Arc::new(sync::presence::Presence::new(hub.clone(), storage.clone())),
        availability: Arc::default(),
        hub,
        storage,
        public_url: config.public_url_for(local),
        config: Arc::new(config),
        shutdown: shutdown.clone(),
        tracker: TaskTracker::new(),
        drafts: Arc::new(tokio::sync::Mutex::new(())),
        client_error_limit: Arc::default(),
        sites: Arc::default(),
        installs: Arc::default(),
        mailer: mailer.clone(),
        link_key,
        limiter,
        login_guard: Arc::default(),
        automation_rules: Arc::default(),
    }));
    let tracker = state.tracker.clone();
    tracker.spawn(sleeper);
    tracker.spawn(housekeeping(state.clone(), shutdown.clone()));
    tracker.spawn(automation(state.clone(), shutdown.clone()));
    if let Some(listen) = listen {
        tracker.spawn(follow_other_servers(
            state.clone(),
            listen,
            shutdown.clone(),
        ));
    }
    if let Some(inbound) = inbound {
        tracing::info!(addr = ?inbound_smtp, "taking customers' answers by SMTP");
        tracker.spawn(inbound_smtp::serve(
            inbound,
            state.clone(),
            shutdown.clone(),
        ));
    }
    tracker.spawn(webhooks::run_outbox(
        Arc::new(webhooks::Deliverer::new(state.config.webhook_retry)?),
        state.storage.clone(),
        shutdown.clone(),
    ));
    if let Some(mailer) = mailer {
        tracker.spawn(mail::run_outbox(
            mailer,
            state.storage.clone(),
            shutdown.clone(),
        ));
    }
    let app = routes::router(state);
    let serve = async move {
        // Sync frames are small and answered at once: Nagle's algorithm would
        // hold each one back waiting for the peer's (delayed) ACK.
        let listener = listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::warn!(%err, "could not set TCP_NODELAY");
            }
        });
        // As a make-service, the router is made ready once; served as is,
        // axum rebuilds it for every connection (a tenth of a ticket
        // creation's CPU, measured).
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
        tracker.close();
        tracker.wait().await;
        Ok(())
    };
    Ok((
        Started {
            seeded_staff_token,
            inbound_smtp,
        },
        serve,
    ))
}
