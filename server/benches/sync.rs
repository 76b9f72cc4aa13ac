//! Sync and storage figures, measured from outside against the release server
//! binary (a child process on its own SQLite file), over real HTTP and WebSocket:
//!
//! - knowledge-base catalogue: what a new widget downloads on its first sync,
//!   and what it stores, with 1,000 and 10,000 published articles;
//! - publishing one article into that base: p50/p99 from the API call to its
//!   durable commit (article, index and catalogue);
//! - a staff reply's commit time early and late in a long ticket's history;
//! - durable ticket creations per second with 100 concurrent clients, each
//!   creation a new visitor: connect, open, sync, wait for the `ack` (sent only
//!   after the commit is on disk).
//!
//! Run with `cargo xtask bench` (or `cargo bench -p stufe-server --bench sync`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::sync::{self, SyncDoc};
use automerge::AutoCommit;
use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use stufe_shared::protocol::{encode_sync_frame, ServerFrame, SyncFrame};
use stufe_shared::ticket::{self, NewTicket};
use stufe_shared::{DocId, TicketId};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const STAFF_TOKEN: &str = "bench-staff-token";
const CREATION_CLIENTS: usize = 100;
const CREATION_SECONDS: u64 = 10;
const TIMED_PUBLISHES: usize = 300;
const REPLIES: usize = 500;

#[path = "common/corpus.rs"]
mod corpus;
use corpus::{sentence, word, zipf_rank};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The release server as a child process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let data = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_stufe-server"))
            .env("STUFE_ADDR", "127.0.0.1:0")
            .env("STUFE_DATA", data.path())
            .env("STUFE_DEMO_STAFF_TOKEN", STAFF_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut port = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("server output");
            if let Some(rest) = line.split("http://localhost:").nth(1) {
                port = rest.split('/').next().and_then(|p| p.parse().ok());
                break;
            }
        }
        Server {
            child,
            port: port.expect("the server prints its port"),
            _data: data,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    async fn connect(&self) -> Socket {
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

async fn next_control(ws: &mut Socket) -> ServerFrame {
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

async fn publish(http: &reqwest::Client, server: &Server, id: usize, rng: &mut StdRng) {
    let body = json!({
        "site": "demo", "locale": "en", "category": "general",
        "title": format!("{} {id}", sentence(rng, 5)),
        "tags": [word(zipf_rank(rng))],
        "body": sentence(rng, 80),
    });
    let response = http
        .put(server.url(&format!("/api/staff/articles/article-{id}")))
        .bearer_auth(STAFF_TOKEN)
        .json(&body)
        .send()
        .await
        .expect("publish");
    assert!(
        response.status().is_success(),
        "publish: {}",
        response.status()
    );
}

/// Publishes articles `from..to` with 8 publishers at once.
async fn grow_base(server: &Arc<Server>, from: usize, to: usize) {
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let server = Arc::clone(server);
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut rng = StdRng::seed_from_u64(w as u64);
                for id in (from + w..to).step_by(8) {
                    publish(&http, &server, id, &mut rng).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("publisher");
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Syncs `doc` over `ws` (the client speaks first) until the server acks our
/// heads; returns the sync bytes received.
async fn sync_until_acked(ws: &mut Socket, doc_id: &DocId, doc: &mut AutoCommit) -> usize {
    let mut peer = sync::State::new();
    let mut received = 0;
    let first = doc
        .sync()
        .generate_sync_message(&mut peer)
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
                    .receive_sync_message(&mut peer, message)
                    .expect("apply");
                if let Some(reply) = doc.sync().generate_sync_message(&mut peer) {
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

async fn open(ws: &mut Socket, doc_id: &DocId, token: Option<&str>) {
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

async fn catalogue(server: &Arc<Server>) {
    println!("\nknowledge-base catalogue (kb:demo:en) and publishing");
    println!(
        "{:>9} {:>16} {:>14} {:>14} {:>12} {:>12}",
        "articles", "first sync B", "stored B", "sync ms", "publish p50", "publish p99"
    );
    let mut published = 0;
    for target in [1_000, 10_000] {
        grow_base(server, published, target - TIMED_PUBLISHES).await;
        let http = reqwest::Client::new();
        let mut rng = StdRng::seed_from_u64(99);
        let mut times = Vec::with_capacity(TIMED_PUBLISHES);
        for id in target - TIMED_PUBLISHES..target {
            let started = Instant::now();
            publish(&http, server, id, &mut rng).await;
            times.push(started.elapsed());
        }
        published = target;
        times.sort();

        let doc_id: DocId = "kb:demo:en".parse().expect("doc id");
        let mut ws = server.connect().await;
        let started = Instant::now();
        open(&mut ws, &doc_id, None).await;
        let mut doc = AutoCommit::new();
        let received = sync_until_acked(&mut ws, &doc_id, &mut doc).await;
        let took = started.elapsed();
        let entries = stufe_shared::kb::read_catalogue(&doc).len();
        assert_eq!(entries, target, "the widget has every article");
        println!(
            "{target:>9} {received:>16} {:>14} {:>14.1} {:>12.2} {:>12.2}",
            doc.save().len(),
            ms(took),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
        );
    }
}

fn new_ticket(id: TicketId) -> AutoCommit {
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

/// A new visitor creates a ticket: connect, open, sync until acked.
async fn create_ticket(server: &Server) -> TicketId {
    let (id, token) = {
        let mut rng = rand::rng();
        (
            TicketId::from_bytes(rng.random()),
            hex::encode(rng.random::<[u8; 32]>()),
        )
    };
    let doc_id = DocId::Ticket(id);
    let mut ws = server.connect().await;
    open(&mut ws, &doc_id, Some(&token)).await;
    let mut doc = new_ticket(id);
    sync_until_acked(&mut ws, &doc_id, &mut doc).await;
    let _ = ws.close(None).await;
    id
}

async fn ticket_history(server: &Server) {
    let id = create_ticket(server).await;
    let http = reqwest::Client::new();
    let mut times = Vec::with_capacity(REPLIES);
    for i in 0..REPLIES {
        let started = Instant::now();
        let response = http
            .post(server.url(&format!("/api/staff/tickets/{id}/messages")))
            .bearer_auth(STAFF_TOKEN)
            .json(&json!({ "body": format!("Reply {i}: one more detail about the printer.") }))
            .send()
            .await
            .expect("reply");
        assert!(
            response.status().is_success(),
            "reply: {}",
            response.status()
        );
        times.push(started.elapsed());
    }
    let median = |slice: &[Duration]| {
        let mut sorted = slice.to_vec();
        sorted.sort();
        ms(percentile(&sorted, 0.5))
    };
    println!("\nstaff reply on one ticket, API call to durable commit (median)");
    println!(
        "  replies 1-50: {:.2} ms    replies {}-{REPLIES}: {:.2} ms",
        median(&times[..50]),
        REPLIES - 49,
        median(&times[REPLIES - 50..])
    );
}

async fn creations(server: &Arc<Server>) {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let clients: Vec<_> = (0..CREATION_CLIENTS)
        .map(|_| {
            let (server, stop) = (Arc::clone(server), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut times = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let began = Instant::now();
                    create_ticket(&server).await;
                    times.push(began.elapsed());
                }
                times
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(CREATION_SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    let mut times = Vec::new();
    for client in clients {
        times.extend(client.await.expect("client"));
    }
    let elapsed = started.elapsed();
    times.sort();
    println!(
        "\ndurable ticket creations, {CREATION_CLIENTS} clients, each creation a new connection (connect, open, sync, ack after commit)"
    );
    println!(
        "  {} created in {:.1} s: {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms; server RSS {} MiB",
        times.len(),
        elapsed.as_secs_f64(),
        times.len() as f64 / elapsed.as_secs_f64(),
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        server.rss_kib() / 1024,
    );
}

#[tokio::main]
async fn main() {
    let server = Arc::new(Server::start());
    creations(&server).await;
    ticket_history(&server).await;
    catalogue(&server).await;
}
