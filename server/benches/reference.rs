//! The reference: the same open-widgets figures for automerge-repo's own sync
//! server (`tools/reference/server.mjs`: `@automerge/automerge-repo` with its
//! WebSocket and Node-filesystem adapters), driven by a Rust load client that
//! speaks automerge-repo's protocol (CBOR `join`/`peer`/`request`/`sync`).
//! Each client opens the one catalogue document, as Stufe's widgets open the
//! knowledge base (Stufe's widgets open a ticket as well; these do not).
//!
//! Prints: server memory idle and with 1,000 and 10,000 clients open (per
//! client), and one change (an entry added to the catalogue, flushed to
//! disk) reaching 1,000 clients, p50/p99 over 10 changes, from the HTTP call
//! to each client's arrival.
//!
//! Then creations per server core, side by side in one run: the reference
//! and Stufe each pinned to one core with this load client on the other,
//! 100 clients each making new connections with one new document (the same
//! content as a widget's new request); the server's CPU time (from `/proc`)
//! per creation.
//!
//! Run with `cargo xtask bench` (it installs the npm packages in
//! `tools/reference`), or `cargo bench -p stufe-server --bench reference`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use automerge::sync::{self, SyncDoc};
use automerge::AutoCommit;
use ciborium::Value;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use futures_util::{FutureExt, SinkExt};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use stufe_shared::TicketId;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[path = "common/figures.rs"]
mod figures;
use figures::{ms, percentile};
#[path = "common/client.rs"]
mod client;
#[path = "common/load.rs"]
mod load;
#[path = "common/process.rs"]
mod process;

const ARTICLES: usize = 20;
const FANOUT_CLIENTS: usize = 1_000;
const MANY_CLIENTS: usize = 10_000;
const CHANGES: usize = 10;
const CONNECTING_AT_ONCE: usize = 200;
const CREATION_CLIENTS: usize = 100;
const CREATION_SECONDS: u64 = 10;

struct Reference {
    child: Child,
    port: u16,
    document: String,
}

impl Reference {
    fn start(data: &std::path::Path) -> Reference {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/reference");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .arg(port.to_string())
            .arg(data)
            .arg(ARTICLES.to_string())
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs tools/reference/server.mjs (cargo xtask bench installs it)");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let document = lines
            .by_ref()
            .find_map(|l| l.ok()?.strip_prefix("ready ").map(str::to_owned))
            .expect("the reference server says ready");
        std::thread::spawn(move || for _ in lines {});
        Reference {
            child,
            port,
            document,
        }
    }

    fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Client {
    ws: Socket,
    peer_id: String,
    server_id: String,
    doc: AutoCommit,
    state: sync::State,
    pending: Option<Vec<u8>>,
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn encode(fields: Vec<(&str, Value)>) -> Vec<u8> {
    let map = Value::Map(fields.into_iter().map(|(k, v)| (text(k), v)).collect());
    let mut out = Vec::new();
    ciborium::into_writer(&map, &mut out).expect("cbor");
    out
}

fn field<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

impl Client {
    async fn send_sync(&mut self, kind: &str, document: &str) {
        let Some(message) = self.doc.sync().generate_sync_message(&mut self.state) else {
            return;
        };
        let bytes = encode(vec![
            ("type", text(kind)),
            ("documentId", text(document)),
            ("senderId", text(&self.peer_id)),
            ("targetId", text(&self.server_id)),
            ("data", Value::Bytes(message.encode())),
        ]);
        self.ws
            .send(Message::Binary(bytes.into()))
            .await
            .expect("send");
    }

    /// Applies a `sync` message's data; false for anything else.
    fn apply(&mut self, bytes: &[u8]) -> bool {
        let value: Value = ciborium::from_reader(bytes).expect("cbor from the server");
        if field(&value, "type").and_then(Value::as_text) != Some("sync") {
            return false;
        }
        let Some(Value::Bytes(data)) = field(&value, "data") else {
            return false;
        };
        let message = sync::Message::decode(data).expect("sync message");
        self.doc
            .sync()
            .receive_sync_message(&mut self.state, message)
            .expect("apply");
        true
    }

    async fn settle(&mut self, document: &str) {
        if let Some(bytes) = self.pending.take() {
            if self.apply(&bytes) {
                self.send_sync("sync", document).await;
            }
        }
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_millis(50), self.ws.next()).await
        {
            if let Message::Binary(bytes) = message {
                if self.apply(&bytes) {
                    self.send_sync("sync", document).await;
                }
            }
        }
    }
}

/// Connects (from one of 8 loopback addresses, by `n`) and joins as an
/// ephemeral peer; the socket, our peer id and the server's.
async fn join(port: u16, n: usize) -> (Socket, String, String) {
    let source = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1 + (n % 8) as u8));
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::new(source, 0))
        .expect("bind");
    let stream = socket
        .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://127.0.0.1:{port}/"),
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
        Some(config),
    )
    .await
    .expect("websocket");
    let peer_id = format!("bench-{n}-{}", rand::random::<u32>());
    let join = encode(vec![
        ("type", text("join")),
        ("senderId", text(&peer_id)),
        (
            "peerMetadata",
            Value::Map(vec![(text("isEphemeral"), Value::Bool(true))]),
        ),
        ("supportedProtocolVersions", Value::Array(vec![text("1")])),
    ]);
    ws.send(Message::Binary(join.into())).await.expect("join");
    let server_id = loop {
        match ws.next().await {
            Some(Ok(Message::Binary(bytes))) => {
                let value: Value = ciborium::from_reader(&bytes[..]).expect("cbor");
                if field(&value, "type").and_then(Value::as_text) == Some("peer") {
                    break field(&value, "senderId")
                        .and_then(Value::as_text)
                        .expect("server peer id")
                        .to_owned();
                }
            }
            Some(Ok(_)) => continue,
            other => panic!("no peer message: {other:?}"),
        }
    };
    (ws, peer_id, server_id)
}

/// A new automerge-repo document id: a random (version 4) UUID, in
/// base58check as automerge-repo writes them.
fn new_document_id() -> String {
    let mut uuid: [u8; 16] = rand::random();
    uuid[6] = (uuid[6] & 0x0f) | 0x40;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    let checksum = Sha256::digest(Sha256::digest(uuid));
    let mut payload = uuid.to_vec();
    payload.extend_from_slice(&checksum[..4]);
    base58(&payload)
}

/// Bitcoin's base58 alphabet, leading zero bytes as '1'.
fn base58(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits: Vec<u32> = Vec::new(); // least significant first
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for digit in &mut digits {
            carry += *digit << 8;
            *digit = carry % 58;
            carry /= 58;
        }
        while carry > 0 {
            digits.push(carry % 58);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    std::iter::repeat_n('1', zeros)
        .chain(
            digits
                .iter()
                .rev()
                .map(|&d| char::from(ALPHABET[d as usize])),
        )
        .collect()
}

/// A new client creates a document (the same content as a Stufe widget's
/// new request) on the reference server: connect, join, sync until the
/// server's answer shows it has our heads. automerge-repo has no
/// acknowledgement of storage: it saves a changed document to its files at
/// most every 100 ms (throttled) and does not tell the client.
async fn create_on_reference(port: u16, n: usize) {
    let (ws, peer_id, server_id) = join(port, n).await;
    let mut client = Client {
        ws,
        peer_id,
        server_id,
        doc: client::new_ticket(TicketId::from_bytes(rand::random())),
        state: sync::State::new(),
        pending: None,
    };
    let document = new_document_id();
    let mut heads = client.doc.get_heads();
    heads.sort();
    client.send_sync("sync", &document).await;
    loop {
        let mut shared = client.state.shared_heads.clone();
        shared.sort();
        if shared == heads {
            break;
        }
        match client.ws.next().await {
            Some(Ok(Message::Binary(bytes))) => {
                if client.apply(&bytes) {
                    client.send_sync("sync", &document).await;
                } else {
                    let value: Value = ciborium::from_reader(&bytes[..]).expect("cbor");
                    panic!("the reference server answered a new document with {value:?}");
                }
            }
            Some(Ok(_)) => {}
            other => panic!("socket ended: {other:?}"),
        }
    }
    let _ = client.ws.close(None).await;
}

/// Creations by [`CREATION_CLIENTS`] clients for [`CREATION_SECONDS`]
/// against the server process `pid`: how many, and the CPU time the server
/// used for them (read once its throttled saves are done, a second later).
async fn creations<F>(pid: u32, create: F) -> (usize, Duration, Duration)
where
    F: Fn(usize) -> BoxFuture<'static, ()> + Send + Sync + 'static,
{
    let cpu_before = process::cpu_time(pid);
    let (times, elapsed) = load::repeat_for(CREATION_CLIENTS, CREATION_SECONDS, create).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    (times.len(), elapsed, process::cpu_time(pid) - cpu_before)
}

/// Durable creations per server core, the reference and Stufe one after the
/// other in this run, each server pinned to core 0 and this load client to
/// core 1: the server's CPU time per creation.
async fn creations_per_core() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("\ncreations per server core: {CREATION_CLIENTS} clients for {CREATION_SECONDS} s, each creation a new connection with one new document (a request as a widget creates it); the server pinned to core 0, this load client to core 1");
    let report = |name: &str, (count, elapsed, cpu): (usize, Duration, Duration), acked: &str| {
        println!(
            "  {name}: {count} created, {:.0}/s; server CPU {:.2} s, {:.0} µs per creation ({acked})",
            count as f64 / elapsed.as_secs_f64(),
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / count.max(1) as f64,
        );
    };
    let data = tempfile::tempdir().expect("temp dir");
    let reference = Reference::start(data.path());
    if cores < 2
        || !(process::pin(reference.child.id(), "0") && process::pin(std::process::id(), "1"))
    {
        println!("  (one core, or no taskset: left out)");
        return;
    }
    let port = reference.port;
    let figures = creations(reference.child.id(), move |n| {
        create_on_reference(port, n).boxed()
    })
    .await;
    report("reference", figures, "acked when the server's sync answer has our heads; saved to its files within 100 ms, unconfirmed");
    drop(reference);

    let data = tempfile::tempdir().expect("temp dir");
    let stufe = Arc::new(client::Server::start_pinned(data.path(), "0").expect("taskset"));
    let server = Arc::clone(&stufe);
    let figures = creations(stufe.pid(), move |_| {
        let server = Arc::clone(&server);
        async move {
            client::create_ticket(&server).await;
        }
        .boxed()
    })
    .await;
    report("Stufe", figures, "acked after the SQLite commit");
    process::pin(std::process::id(), &format!("0-{}", cores - 1));
}

async fn open_client(port: u16, n: usize, document: &str) -> Client {
    let (ws, peer_id, server_id) = join(port, n).await;
    let mut client = Client {
        ws,
        peer_id,
        server_id,
        doc: AutoCommit::new(),
        state: sync::State::new(),
        pending: None,
    };
    client.send_sync("request", document).await;
    // The first answer may take a while when many connect at once.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, client.ws.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => {
                if !client.apply(&bytes) {
                    let value: Value = ciborium::from_reader(&bytes[..]).expect("cbor");
                    panic!("the reference server answered the request with {value:?}");
                }
                client.send_sync("sync", document).await;
                break;
            }
            Ok(Some(Ok(_))) => continue,
            other => panic!("no answer to the request: {other:?}"),
        }
    }
    client.settle(document).await;
    assert!(
        !client.doc.get_heads().is_empty(),
        "the client received the document"
    );
    client
}

async fn open_many(reference: &Reference, from: usize, count: usize) -> Vec<Client> {
    let (port, document) = (reference.port, reference.document.clone());
    stream::iter(from..from + count)
        .map(|n| {
            let document = document.clone();
            async move { open_client(port, n, &document).await }
        })
        .buffer_unordered(CONNECTING_AT_ONCE)
        .collect()
        .await
}

async fn receive_change(mut client: Client) -> (Client, Instant) {
    loop {
        match client.ws.next().await {
            Some(Ok(Message::Binary(bytes))) => {
                let at = Instant::now();
                client.pending = Some(bytes.to_vec());
                return (client, at);
            }
            Some(Ok(_)) => continue,
            other => panic!("socket ended: {other:?}"),
        }
    }
}

#[tokio::main]
async fn main() {
    let (soft, hard) = rlimit::Resource::NOFILE.get().expect("file limit");
    let limit = rlimit::increase_nofile_limit(hard).unwrap_or(soft);
    let data = tempfile::tempdir().expect("temp dir");
    let reference = Reference::start(data.path());
    println!("reference: automerge-repo 1.2.1 sync server (Node {}), one catalogue document of {ARTICLES} entries",
        String::from_utf8_lossy(&Command::new("node").arg("--version").output().map(|o| o.stdout).unwrap_or_default()).trim());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = reference.rss_kib();
    println!("  idle: {} MiB", idle / 1024);
    let mut clients = open_many(&reference, 0, FANOUT_CLIENTS).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with = reference.rss_kib();
    println!(
        "  {FANOUT_CLIENTS} clients open: {} MiB, {:.1} KiB per client",
        with / 1024,
        (with.saturating_sub(idle)) as f64 / FANOUT_CLIENTS as f64
    );

    let http = reqwest::Client::new();
    let mut latencies = Vec::new();
    for _ in 0..CHANGES {
        let waiting: Vec<_> = clients
            .drain(..)
            .map(|c| tokio::spawn(receive_change(c)))
            .collect();
        let started = Instant::now();
        let response = http
            .post(format!("http://127.0.0.1:{}/publish", reference.port))
            .send()
            .await
            .expect("publish");
        assert!(response.status().is_success());
        for waiter in waiting {
            let (client, arrived) = waiter.await.expect("client task");
            latencies.push(arrived - started);
            clients.push(client);
        }
        let document = reference.document.clone();
        clients = stream::iter(clients)
            .map(|mut c| {
                let document = document.clone();
                async move {
                    c.settle(&document).await;
                    c
                }
            })
            .buffer_unordered(FANOUT_CLIENTS)
            .collect()
            .await;
    }
    latencies.sort();
    println!(
        "  change -> all {FANOUT_CLIENTS} clients have it: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} arrivals)",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies[latencies.len() - 1]),
        latencies.len()
    );

    let wanted = MANY_CLIENTS.min(limit as usize / 2 - 100);
    let more = open_many(&reference, FANOUT_CLIENTS, wanted - FANOUT_CLIENTS).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let many = reference.rss_kib();
    println!(
        "  {wanted} clients open: {} MiB, {:.1} KiB per client",
        many / 1024,
        (many.saturating_sub(idle)) as f64 / wanted as f64
    );
    drop((clients, more));
    drop(reference);
    creations_per_core().await;
}
