//! Spawning the app and a minimal Automerge sync client for tests.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use automerge::sync::{self, SyncDoc};
use automerge::AutoCommit;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use stufe_server::Config;
use stufe_shared::protocol::{encode_sync_frame, ServerFrame, SyncFrame};
use stufe_shared::ticket::{self, NewTicket, Ticket};
use stufe_shared::{DocId, TicketId};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

pub const STAFF_TOKEN: &str = "test-staff-token";
pub const STAFF_PASSWORD: &str = "test-password";

pub struct TestApp {
    pub addr: SocketAddr,
    /// The inbound SMTP listener, when configured.
    pub inbound_smtp: Option<SocketAddr>,
    running: Running,
}

/// How a test server runs.
enum Running {
    /// In the test's process (most tests).
    InProcess {
        shutdown: CancellationToken,
        handle: JoinHandle<std::io::Result<()>>,
    },
    /// The real `stufe-server` binary in a process of its own (several
    /// servers on one PostgreSQL; killed with SIGKILL).
    Process(NodeProcess),
}

/// A server process, killed if a test ends (or fails) without stopping it.
struct NodeProcess(Option<std::process::Child>);

impl NodeProcess {
    fn take(mut self) -> std::process::Child {
        self.0.take().expect("present until taken")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl TestApp {
    pub async fn spawn(data_dir: &Path) -> TestApp {
        Self::spawn_with(data_dir, |_| {}).await
    }

    /// [`TestApp::spawn`] with the configuration changed by `configure` first.
    /// Tests create many tickets from one address: the limits on new tickets
    /// are raised here, and tests of the limits set their own.
    pub async fn spawn_with(data_dir: &Path, configure: impl FnOnce(&mut Config)) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config {
            data_dir: data_dir.to_path_buf(),
            site_dir: data_dir.join("no-site"),
            public_url: None,
            seed_demo: true,
            seed_demo_articles: false,
            demo_staff_token: Some(STAFF_TOKEN.into()),
            demo_staff_password: STAFF_PASSWORD.into(),
            // Tickets fall asleep quickly here, so every test also runs
            // through waking them.
            ticket_idle: Duration::from_secs(1),
            max_awake_tickets: 1_000,
            database_url: None,
            smtp_url: None,
            mail_from: "Stufe Support <support@localhost>".into(),
            mail_retry: std::time::Duration::from_secs(1),
            mail_reply_domain: None,
            inbound_smtp_addr: None,
            limits: stufe_server::limits::Limits {
                tickets_per_address_hour: 100_000,
                tickets_per_site_hour: 100_000,
                sockets_per_address: 10_000,
            },
            trust_forwarded_for: false,
            webhook_retry: std::time::Duration::from_millis(200),
            webhooks_allow_http: true,
        };
        configure(&mut config);
        let shutdown = CancellationToken::new();
        let (started, serve) = stufe_server::start(listener, config, shutdown.clone())
            .await
            .unwrap();
        TestApp {
            addr,
            inbound_smtp: started.inbound_smtp,
            running: Running::InProcess {
                shutdown,
                handle: tokio::spawn(serve),
            },
        }
    }

    /// The `stufe-server` binary in a process of its own, storing in the
    /// PostgreSQL database `database_url`, on a port the system picks; the
    /// first one on a new database seeds the demo site and staff.
    pub fn spawn_node(database_url: &str, data_dir: &Path) -> TestApp {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stufe-server"))
            .env("STUFE_ADDR", "127.0.0.1:0")
            .env("STUFE_DATABASE_URL", database_url)
            .env("STUFE_DATA", data_dir)
            .env("STUFE_SITE_DIR", data_dir.join("no-site"))
            .env("STUFE_SEED_DEMO_ARTICLES", "0")
            .env("STUFE_DEMO_STAFF_TOKEN", STAFF_TOKEN)
            .env("STUFE_DEMO_STAFF_PASSWORD", STAFF_PASSWORD)
            .env("STUFE_TICKET_IDLE_SECS", "1")
            .env("STUFE_TICKETS_PER_ADDRESS_HOUR", "100000")
            .env("STUFE_TICKETS_PER_SITE_HOUR", "100000")
            .env("STUFE_SOCKETS_PER_ADDRESS", "10000")
            .env("STUFE_WEBHOOKS_ALLOW_HTTP", "1")
            .env("STUFE_WEBHOOK_RETRY_MS", "200")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        // The banner names the port: "demo host page : http://localhost:PORT/demo".
        let port: u16 = loop {
            let line = lines
                .next()
                .expect("the server stopped before it said its port")
                .unwrap();
            if let Some(rest) = line.split("http://localhost:").nth(1) {
                break rest.split('/').next().unwrap().parse().unwrap();
            }
        };
        // Keep reading, so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        TestApp {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            inbound_smtp: None,
            running: Running::Process(NodeProcess(Some(child))),
        }
    }

    /// Stops the server gracefully and waits until it has drained.
    pub async fn stop(self) {
        match &self.running {
            Running::InProcess { shutdown, .. } => shutdown.cancel(),
            Running::Process(NodeProcess(child)) => {
                let pid = child.as_ref().map(|c| c.id().to_string()).unwrap();
                let status = std::process::Command::new("kill")
                    .args(["-TERM", &pid])
                    .status()
                    .unwrap();
                assert!(status.success());
            }
        }
        let TestApp { running, .. } = self;
        match running {
            Running::InProcess { handle, .. } => handle.await.unwrap().unwrap(),
            Running::Process(process) => {
                let mut child = process.take();
                let status = tokio::task::spawn_blocking(move || child.wait())
                    .await
                    .unwrap()
                    .unwrap();
                assert!(status.success(), "the server ended with {status}");
            }
        }
    }

    /// Kills the server process at once (SIGKILL: no shutdown of any kind).
    pub fn kill(self) {
        let TestApp { running, .. } = self;
        let Running::Process(process) = running else {
            panic!("only a server process can be killed");
        };
        let mut child = process.take();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn client(&self) -> Client {
        Self::client_at(self.addr).await
    }

    /// A widget connection to the server at `addr`, after its `hello`.
    pub async fn client_at(addr: SocketAddr) -> Client {
        Self::client_for(addr, "demo").await
    }

    /// A widget connection of `site` to the server at `addr`, after its `hello`.
    pub async fn client_for(addr: SocketAddr, site: &str) -> Client {
        let url = format!("ws://{addr}/ws?site={site}");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut client = Client {
            ws,
            sync_frames_received: 0,
            sync_bytes_received: 0,
            received: Vec::new(),
        };
        match client.next_control().await {
            Some(ServerFrame::Hello { protocol: 1, .. }) => client,
            other => panic!("expected hello, got {other:?}"),
        }
    }

    pub fn staff(&self) -> reqwest::RequestBuilder {
        reqwest::Client::new().get(self.url("/api/staff/tickets"))
    }

    /// The ticket as staff see it through the API.
    pub async fn staff_ticket(&self, id: TicketId) -> serde_json::Value {
        let response = reqwest::Client::new()
            .get(self.url(&format!("/api/staff/tickets/{id}")))
            .bearer_auth(STAFF_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// A staff API `GET` with the demo admin's token; the answer as JSON.
    pub async fn staff_json(&self, path: &str) -> serde_json::Value {
        reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(STAFF_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A staff API call with the demo admin's token and a JSON body.
    pub async fn staff_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        reqwest::Client::new()
            .request(method, self.url(path))
            .bearer_auth(STAFF_TOKEN)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn staff_patch(&self, id: TicketId, body: serde_json::Value) -> reqwest::Response {
        reqwest::Client::new()
            .patch(self.url(&format!("/api/staff/tickets/{id}")))
            .bearer_auth(STAFF_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn staff_reply(&self, id: TicketId, body: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(self.url(&format!("/api/staff/tickets/{id}/messages")))
            .bearer_auth(STAFF_TOKEN)
            .json(&serde_json::json!({ "body": body }))
            .send()
            .await
            .unwrap()
    }
}

pub fn random_ticket() -> (TicketId, String) {
    let mut rng = rand::rng();
    (
        TicketId::from_bytes(rng.random()),
        hex::encode(rng.random::<[u8; 32]>()),
    )
}

pub fn new_ticket_doc(id: TicketId) -> AutoCommit {
    new_ticket_doc_on(id, "demo")
}

/// A new ticket on `site` (which must have the demo site's categories).
pub fn new_ticket_doc_on(id: TicketId, site: &str) -> AutoCommit {
    let mut doc = AutoCommit::new();
    ticket::create(
        &mut doc,
        &NewTicket {
            id,
            site: site.into(),
            subject: "Printer offline".into(),
            description: "It blinks red.".into(),
            email: Some("ada@example.com".into()),
            category: "technical".into(),
        },
    )
    .unwrap();
    doc
}

/// A new ticket on the demo site with these texts, as a widget writes it.
pub fn ticket_doc_with(
    id: TicketId,
    subject: &str,
    description: &str,
    email: Option<&str>,
) -> AutoCommit {
    let mut doc = AutoCommit::new();
    ticket::create(
        &mut doc,
        &NewTicket {
            id,
            site: "demo".into(),
            subject: subject.into(),
            description: description.into(),
            email: email.map(Into::into),
            category: "technical".into(),
        },
    )
    .unwrap();
    doc
}

/// A reply by the customer Ada, as a widget writes it.
pub fn customer_message(id: &str, body: &str) -> ticket::NewMessage {
    ticket::NewMessage {
        id: id.into(),
        author: ticket::Author::Customer,
        name: "Ada".into(),
        body: body.into(),
        at: 1,
    }
}

pub fn read(doc: &AutoCommit) -> Ticket {
    ticket::read_ticket(doc).unwrap().expect("a ticket")
}

/// One peer: a WebSocket plus the sync state of each document it syncs.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Sync frames received in exchanges, and their bytes (header included).
    pub sync_frames_received: usize,
    pub sync_bytes_received: usize,
    /// Every byte of every text and binary message received, in order.
    pub received: Vec<u8>,
}

/// A document a client holds locally.
pub struct LocalDoc {
    pub id: TicketId,
    pub doc: AutoCommit,
    pub peer: sync::State,
}

impl LocalDoc {
    pub fn new(id: TicketId, doc: AutoCommit) -> Self {
        Self {
            id,
            doc,
            peer: sync::State::new(),
        }
    }
}

const QUIET: Duration = Duration::from_millis(400);

impl Client {
    pub async fn next_control(&mut self) -> Option<ServerFrame> {
        loop {
            match tokio::time::timeout(QUIET, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    self.received.extend_from_slice(text.as_bytes());
                    return Some(serde_json::from_str(&text).unwrap());
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(Some(Ok(other))) => panic!("expected a control frame, got {other:?}"),
                _ => return None,
            }
        }
    }

    pub async fn send_json(&mut self, value: serde_json::Value) {
        self.ws
            .send(Message::Text(value.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::Binary(bytes.into())).await.unwrap();
    }

    /// Opens a document with a fresh sync state, as the protocol asks; returns
    /// the frames the server answered with until it went quiet.
    pub async fn open(&mut self, local: &mut LocalDoc, token: &str) -> Vec<ServerFrame> {
        local.peer = sync::State::new();
        let doc = DocId::Ticket(local.id).to_string();
        self.send_json(serde_json::json!({ "type": "open", "doc": doc, "token": token }))
            .await;
        self.exchange(local, false).await
    }

    /// Runs the sync protocol until the server is quiet; returns the control frames seen.
    pub async fn sync(&mut self, local: &mut LocalDoc) -> Vec<ServerFrame> {
        self.exchange(local, true).await
    }

    /// Syncs until the local copy shows `wanted` (a change another server
    /// passes on arrives when that server's notification does); panics if it
    /// has not after 30 s.
    pub async fn sync_until(&mut self, local: &mut LocalDoc, wanted: impl Fn(&Ticket) -> bool) {
        let started = std::time::Instant::now();
        loop {
            self.sync(local).await;
            if ticket::read_ticket(&local.doc)
                .unwrap()
                .is_some_and(|t| wanted(&t))
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the change never arrived; the copy holds {:?}",
                ticket::read_ticket(&local.doc)
            );
        }
    }

    async fn exchange(&mut self, local: &mut LocalDoc, speak_first: bool) -> Vec<ServerFrame> {
        let doc_id = DocId::Ticket(local.id);
        self.exchange_doc(&doc_id, &mut local.doc, &mut local.peer, speak_first)
            .await
    }

    /// Opens any document (e.g. a knowledge base) and syncs until quiet.
    pub async fn open_doc(
        &mut self,
        doc_id: &DocId,
        doc: &mut AutoCommit,
        peer: &mut sync::State,
    ) -> Vec<ServerFrame> {
        *peer = sync::State::new();
        self.send_json(serde_json::json!({ "type": "open", "doc": doc_id.to_string() }))
            .await;
        self.exchange_doc(doc_id, doc, peer, false).await
    }

    /// Syncs any document until the server is quiet.
    pub async fn sync_doc(
        &mut self,
        doc_id: &DocId,
        doc: &mut AutoCommit,
        peer: &mut sync::State,
    ) -> Vec<ServerFrame> {
        self.exchange_doc(doc_id, doc, peer, true).await
    }

    async fn exchange_doc(
        &mut self,
        doc_id: &DocId,
        doc: &mut AutoCommit,
        peer: &mut sync::State,
        speak_first: bool,
    ) -> Vec<ServerFrame> {
        let doc_id = doc_id.clone();
        let mut controls = Vec::new();
        if speak_first {
            self.send_ours(doc, peer, &doc_id).await;
        }
        loop {
            match tokio::time::timeout(QUIET, self.ws.next()).await {
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    self.received.extend_from_slice(&bytes);
                    self.sync_frames_received += 1;
                    self.sync_bytes_received += bytes.len();
                    let frame = SyncFrame::decode(&bytes).unwrap();
                    assert_eq!(frame.doc, doc_id);
                    let message = sync::Message::decode(&frame.message).unwrap();
                    doc.sync().receive_sync_message(peer, message).unwrap();
                    self.send_ours(doc, peer, &doc_id).await;
                }
                Ok(Some(Ok(Message::Text(text)))) => {
                    self.received.extend_from_slice(text.as_bytes());
                    let frame: ServerFrame = serde_json::from_str(&text).unwrap();
                    let mut settled = false;
                    if let ServerFrame::Ack { heads, .. } = &frame {
                        // The protocol promises: an ack never arrives before the data it names.
                        for head in heads {
                            let hash: automerge::ChangeHash = head.parse().unwrap();
                            assert!(
                                doc.get_change_by_hash(&hash).is_some(),
                                "ack for {head} arrived before its change"
                            );
                        }
                        settled = acked_everything(doc, heads);
                    }
                    let opened = matches!(frame, ServerFrame::Opened { .. });
                    controls.push(frame);
                    if opened {
                        self.send_ours(doc, peer, &doc_id).await;
                    }
                    // Everything we hold is committed, our last message was
                    // answered and we have nothing more to say: the exchange is over.
                    if settled && !peer.in_flight && !self.send_ours(doc, peer, &doc_id).await {
                        break;
                    }
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) => break,
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(err))) => panic!("socket error: {err}"),
                Err(_) => break,
            }
        }
        controls
    }

    /// Sends our next sync message, if we have one; returns whether we did.
    async fn send_ours(
        &mut self,
        doc: &mut AutoCommit,
        peer: &mut sync::State,
        doc_id: &DocId,
    ) -> bool {
        match doc.sync().generate_sync_message(peer) {
            Some(message) => {
                self.send_binary(encode_sync_frame(doc_id, &message.encode()))
                    .await;
                true
            }
            None => false,
        }
    }
}

/// Whether `acked` names exactly the heads of `doc`.
pub fn acked_everything(doc: &mut AutoCommit, acked: &[String]) -> bool {
    let mut ours: Vec<String> = doc.get_heads().iter().map(ToString::to_string).collect();
    let mut acked = acked.to_vec();
    ours.sort();
    acked.sort();
    ours == acked
}

/// The error codes among some control frames.
pub fn error_codes(frames: &[ServerFrame]) -> Vec<String> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Error { code, .. } => Some(
                serde_json::to_value(code)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
            _ => None,
        })
        .collect()
}

/// The last acked heads among some control frames.
pub fn last_ack(frames: &[ServerFrame]) -> Option<Vec<String>> {
    frames.iter().rev().find_map(|f| match f {
        ServerFrame::Ack { heads, .. } => Some(heads.clone()),
        _ => None,
    })
}

/// Creates a ticket through a fresh client and returns it with its token.
pub async fn create_ticket(app: &TestApp) -> (LocalDoc, String) {
    let (id, token) = random_ticket();
    let mut local = LocalDoc::new(id, new_ticket_doc(id));
    let mut client = app.client().await;
    let frames = client.open(&mut local, &token).await;
    assert!(
        error_codes(&frames).is_empty(),
        "creation refused: {frames:?}"
    );
    assert!(
        last_ack(&frames).is_some(),
        "creation not acked: {frames:?}"
    );
    (local, token)
}

/// A logged-in console user (cookie handled by hand; redirects not followed).
/// Its forms carry the form token of its session, as the console's pages do.
pub struct ConsoleUser {
    pub http: reqwest::Client,
    pub cookie: String,
    pub base: String,
    pub csrf: String,
}

/// The form token in a console page (the hidden `csrf` field of its forms).
pub fn form_token(page: &str) -> String {
    let start = page
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("no form token in the page: {page}"))
        + r#"name="csrf" value=""#.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// The login page as a browser gets it: its login cookie (`name=value`) and
/// the form token bound to it.
pub async fn login_page(http: &reqwest::Client, app: &TestApp) -> (String, String) {
    let page = http.get(app.url("/console/login")).send().await.unwrap();
    let cookie = page
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("stufe_login="))
        .expect("the login page sets its cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = form_token(&page.text().await.unwrap());
    (cookie, token)
}

pub async fn log_in(app: &TestApp, login: &str, password: &str) -> Result<ConsoleUser, StatusCode> {
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let (login_cookie, login_token) = login_page(&http, app).await;
    let response = http
        .post(app.url("/console/login"))
        .header(COOKIE, &login_cookie)
        .form(&[
            ("login", login),
            ("password", password),
            ("csrf", login_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    if response.status() != StatusCode::SEE_OTHER {
        return Err(response.status());
    }
    let cookie = response.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut user = ConsoleUser {
        http,
        cookie,
        base: app.url(""),
        csrf: String::new(),
    };
    let (_, queue) = user.get("/console/password").await;
    user.csrf = form_token(&queue);
    Ok(user)
}

impl ConsoleUser {
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// The form with this session's token, as the console's pages send it.
    fn with_token<'f>(&'f self, form: &[(&'f str, &'f str)]) -> Vec<(&'f str, &'f str)> {
        let mut form = form.to_vec();
        form.push(("csrf", self.csrf.as_str()));
        form
    }

    /// Posts a form; returns the status and the page it answered with.
    pub async fn post_page(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(&self.with_token(form))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Posts a form; returns the status and the redirect target, if any.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Option<String>) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(&self.with_token(form))
            .send()
            .await
            .unwrap();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        (response.status(), location)
    }
}

/// A new, empty database on this test process's scratch PostgreSQL server
/// (started on first use); its connection string.
pub async fn new_postgres_database() -> String {
    tokio::task::spawn_blocking(|| {
        stufe_server::storage::postgres::scratch::shared()
            .database()
            .unwrap()
    })
    .await
    .unwrap()
}
