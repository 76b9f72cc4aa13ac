//! The load client's side of the benchmarks: the release server as a child
//! process, and a widget's part of the protocol (connect, open, sync until the
//! server acknowledges).

// Each bench uses part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use automerge::sync::{self, SyncDoc};
use automerge::AutoCommit;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::json;
use stufe_shared::protocol::{encode_sync_frame, ServerFrame, SyncFrame};
use stufe_shared::ticket::{self, NewTicket};
use stufe_shared::{DocId, TicketId};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const STAFF_TOKEN: &str = "bench-staff-token";

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The release server as a child process, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// Starts the server on `data` (a fresh directory, or one a stopped
    /// server used) and `port` (0: any free port).
    pub fn start(data: &Path, port: u16) -> Server {
        Self::start_with(data, port, &[])
    }

    /// [`Server::start`] with extra environment variables.
    /// `STUFE_BENCH_SERVER_WRAPPER`, when set, is a command (split at
    /// spaces) the server runs under, e.g. `heaptrack -o /tmp/stufe` for a
    /// heap profile.
    pub fn start_with(data: &Path, port: u16, env: &[(&str, &str)]) -> Server {
        let binary = env!("CARGO_BIN_EXE_stufe-server");
        let wrapper = std::env::var("STUFE_BENCH_SERVER_WRAPPER").unwrap_or_default();
        let mut words = wrapper.split_whitespace();
        let command = match words.next() {
            Some(program) => {
                let mut command = Command::new(program);
                command.args(words).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        Self::spawn(command, data, port, env)
    }

    /// [`Server::start`] on the cores `cpus` (a `taskset` list) from its
    /// first instruction, so that it sizes its thread pools for them as it
    /// would on a machine of that many cores; `None` without `taskset`.
    pub fn start_pinned(data: &Path, cpus: &str) -> Option<Server> {
        let taskset = Command::new("taskset").arg("-V").output().ok()?;
        taskset.status.success().then_some(())?;
        let mut command = Command::new("taskset");
        command
            .args(["-c", cpus])
            .arg(env!("CARGO_BIN_EXE_stufe-server"));
        Some(Self::spawn(command, data, 0, &[]))
    }

    fn spawn(mut command: Command, data: &Path, port: u16, env: &[(&str, &str)]) -> Server {
        let mut child = command
            // The knowledge-base figures count the articles the bench publishes.
            .env("STUFE_SEED_DEMO_ARTICLES", "0")
            // The load clients are one address creating thousands of tickets.
            .env("STUFE_TICKETS_PER_ADDRESS_HOUR", "100000000")
            .env("STUFE_TICKETS_PER_SITE_HOUR", "100000000")
            .env("STUFE_SOCKETS_PER_ADDRESS", "1000000")
            .envs(env.iter().copied())
            .env("STUFE_ADDR", format!("127.0.0.1:{port}"))
            .env("STUFE_DATA", data)
            .env("STUFE_DEMO_STAFF_TOKEN", STAFF_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut port = None;
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line.expect("server output");
            if let Some(rest) = line.split("http://localhost:").nth(1) {
                port = rest.split('/').next().and_then(|p| p.parse().ok());
                break;
            }
        }
        // Whatever the server logs later is read (and dropped): a closed pipe
        // would fail its next write.
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            child,
            port: port.expect("the server prints its port"),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// The server's RSS at rest: the lowest of readings over 3 s of idling.
    /// Start-up frees memory (hashing the demo staff password alone takes
    /// 19 MiB) that the allocator hands back to the system within a second
    /// or two; a reading right after start counted it as the idle server's,
    /// so that whatever of it went back later looked like less per widget.
    pub async fn rss_at_rest_kib(&self) -> u64 {
        let mut lowest = self.rss_kib();
        for _ in 0..12 {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            lowest = lowest.min(self.rss_kib());
        }
        lowest
    }

    pub async fn connect(&self) -> Socket {
        let url = format!("ws://127.0.0.1:{}/ws?site=demo", self.port);
        // A small read buffer, as the server uses: the default 128 KiB is
        // zero-filled on every read and would make the load client the
        // bottleneck. No Nagle delay, as on the server.
        let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
            .await
            .expect("websocket");
        match next_control(&mut ws).await {
            ServerFrame::Hello { .. } => ws,
            other => panic!("expected hello, got {other:?}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn next_control(ws: &mut Socket) -> ServerFrame {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text).expect("a control frame")
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a control frame, got {other:?}"),
        }
    }
}

/// Syncs `doc` over `ws` from a fresh sync state (the client speaks first)
/// until the server acks our heads; returns the sync bytes received.
pub async fn sync_until_acked(
    ws: &mut Socket,
    doc_id: &DocId,
    doc: &mut AutoCommit,
    peer: &mut sync::State,
) -> usize {
    *peer = sync::State::new();
    send_until_acked(ws, doc_id, doc, peer).await
}

/// Sends what `doc` has that the server lacks, keeping the sync state (as a
/// widget does on an open connection), until the server acks our heads;
/// returns the sync bytes received.
pub async fn send_until_acked(
    ws: &mut Socket,
    doc_id: &DocId,
    doc: &mut AutoCommit,
    peer: &mut sync::State,
) -> usize {
    let mut received = 0;
    let first = doc
        .sync()
        .generate_sync_message(peer)
        .expect("a first message");
    ws.send(Message::Binary(
        encode_sync_frame(doc_id, &first.encode()).into(),
    ))
    .await
    .expect("send");
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(bytes))) => {
                received += bytes.len();
                let frame = SyncFrame::decode(&bytes).expect("sync frame");
                let message = sync::Message::decode(&frame.message).expect("sync message");
                doc.sync()
                    .receive_sync_message(peer, message)
                    .expect("apply");
                if let Some(reply) = doc.sync().generate_sync_message(peer) {
                    ws.send(Message::Binary(
                        encode_sync_frame(doc_id, &reply.encode()).into(),
                    ))
                    .await
                    .expect("send");
                }
            }
            Some(Ok(Message::Text(text))) => {
                match serde_json::from_str::<ServerFrame>(&text).expect("control frame") {
                    ServerFrame::Ack { heads, .. } => {
                        let mut ours: Vec<String> =
                            doc.get_heads().iter().map(ToString::to_string).collect();
                        let mut acked = heads;
                        ours.sort();
                        acked.sort();
                        if ours == acked {
                            return received;
                        }
                    }
                    ServerFrame::Error { code, message, .. } => {
                        panic!("server refused: {code:?} {message}")
                    }
                    _ => {}
                }
            }
            Some(Ok(_)) => {}
            other => panic!("socket ended: {other:?}"),
        }
    }
}

pub async fn open(ws: &mut Socket, doc_id: &DocId, token: Option<&str>) {
    let frame = match token {
        Some(token) => json!({"type": "open", "doc": doc_id.to_string(), "token": token}),
        None => json!({"type": "open", "doc": doc_id.to_string()}),
    };
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .expect("send");
    match next_control(ws).await {
        ServerFrame::Opened { .. } => {}
        other => panic!("expected opened, got {other:?}"),
    }
}

pub fn new_ticket(id: TicketId) -> AutoCommit {
    let mut doc = AutoCommit::new();
    ticket::create(
        &mut doc,
        &NewTicket {
            id,
            site: "demo".into(),
            subject: "Printer offline".into(),
            description: "It blinks red after the update.".into(),
            email: Some("ada@example.com".into()),
            category: "technical".into(),
        },
    )
    .expect("a ticket");
    doc
}

/// A new ticket id and its capability token.
pub fn new_visitor() -> (TicketId, String) {
    let mut rng = rand::rng();
    (
        TicketId::from_bytes(rng.random()),
        hex::encode(rng.random::<[u8; 32]>()),
    )
}

/// A new visitor creates a ticket: connect, open, sync until acked.
pub async fn create_ticket(server: &Server) -> TicketId {
    let (id, token) = new_visitor();
    let doc_id = DocId::Ticket(id);
    let mut ws = server.connect().await;
    open(&mut ws, &doc_id, Some(&token)).await;
    let mut doc = new_ticket(id);
    sync_until_acked(&mut ws, &doc_id, &mut doc, &mut sync::State::new()).await;
    let _ = ws.close(None).await;
    id
}

/// Applies one sync frame for `doc_id` (received on `ws`) and sends our
/// answer, if any; how long decoding and applying it took (what a widget
/// spends on it, without the socket).
pub async fn apply_and_answer(
    ws: &mut Socket,
    doc_id: &DocId,
    doc: &mut AutoCommit,
    peer: &mut sync::State,
    bytes: &[u8],
) -> std::time::Duration {
    let frame = SyncFrame::decode(bytes).expect("sync frame");
    assert_eq!(frame.doc, *doc_id, "only {doc_id} changes here");
    let applying = std::time::Instant::now();
    let message = sync::Message::decode(&frame.message).expect("sync message");
    doc.sync()
        .receive_sync_message(peer, message)
        .expect("apply");
    let applied = applying.elapsed();
    if let Some(reply) = doc.sync().generate_sync_message(peer) {
        let frame = encode_sync_frame(doc_id, &reply.encode());
        ws.send(Message::Binary(frame.into())).await.expect("send");
    }
    applied
}

/// Handles `pending` (a frame that arrived earlier) and whatever the server
/// sends for `doc_id` until it has been quiet for 50 ms.
pub async fn settle(
    ws: &mut Socket,
    doc_id: &DocId,
    doc: &mut AutoCommit,
    peer: &mut sync::State,
    pending: Option<Vec<u8>>,
) {
    if let Some(bytes) = pending {
        apply_and_answer(ws, doc_id, doc, peer, &bytes).await;
    }
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(std::time::Duration::from_millis(50), ws.next()).await
    {
        if let Message::Binary(bytes) = message {
            apply_and_answer(ws, doc_id, doc, peer, &bytes).await;
        }
    }
}

/// Publishes the short article `slug` on the demo site through the staff API
/// (a change every open widget's knowledge base receives).
pub async fn publish_article(server: &Server, slug: &str, title: &str) {
    staff_call(
        reqwest::Client::new()
            .put(server.url(&format!("/api/staff/articles/{slug}")))
            .json(&json!({
                "site": "demo", "locale": "en", "category": "general",
                "title": title, "body": "Reaches every open widget.",
            })),
        "publish",
    )
    .await;
}

/// A staff reply to ticket `id` through the staff API.
pub async fn staff_reply(http: &reqwest::Client, server: &Server, id: TicketId, body: &str) {
    staff_call(
        http.post(server.url(&format!("/api/staff/tickets/{id}/messages")))
            .json(&json!({ "body": body })),
        "reply",
    )
    .await;
}

/// Sends `request` to the staff API as the bench's staff member; panics
/// (saying `what` failed) unless it succeeds.
pub async fn staff_call(request: reqwest::RequestBuilder, what: &str) {
    let response = request
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{what}: {err}"));
    assert!(
        response.status().is_success(),
        "{what}: {}",
        response.status()
    );
}
