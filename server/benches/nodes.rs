//! One server on SQLite, one on PostgreSQL, two sharing one PostgreSQL: the
//! same three figures for each, measured from outside against release server
//! processes (PostgreSQL: a scratch server of this bench's own, `fsync` on):
//!
//! - durable ticket creations per second, 100 clients (each creation a new
//!   connection: connect, open, sync, `ack` after the commit), spread over
//!   the servers;
//! - one publish on the first server -> 1,000 open widgets (spread over the
//!   servers, holding the knowledge base) have it, p50/p99 from the API call;
//! - memory per idle widget connection (hello + knowledge base + one ticket
//!   open): the servers' RSS growth divided by the widgets.
//!
//! Run with `cargo xtask bench` (or `cargo bench -p stufe-server --bench nodes`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::sync;
use automerge::AutoCommit;
use futures_util::{stream, StreamExt};
use rand::Rng;
use serde_json::json;
use stufe_shared::{DocId, TicketId};
use tokio_tungstenite::tungstenite::Message;

#[path = "common/figures.rs"]
mod figures;
use figures::{ms, percentile};
#[path = "common/client.rs"]
mod client;
use client::{create_ticket, new_ticket, open, sync_until_acked, Server, Socket, STAFF_TOKEN};

const CREATION_CLIENTS: usize = 100;
const CREATION_SECONDS: u64 = 5;
const WIDGETS: usize = 1_000;
const PUBLISHES: usize = 20;
const CONNECTING_AT_ONCE: usize = 100;

fn kb_id() -> DocId {
    "kb:demo:en".parse().expect("doc id")
}

/// Durable creations per second, the clients taking the servers in turn.
async fn creations(servers: &[Arc<Server>]) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let clients: Vec<_> = (0..CREATION_CLIENTS)
        .map(|n| {
            let (server, stop) = (Arc::clone(&servers[n % servers.len()]), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut created = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    create_ticket(&server).await;
                    created += 1;
                }
                created
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(CREATION_SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    let mut created = 0;
    for client in clients {
        created += client.await.expect("client");
    }
    created as f64 / started.elapsed().as_secs_f64()
}

/// An open widget: the knowledge base synced, its ticket open.
struct Widget {
    ws: Socket,
    kb: AutoCommit,
    kb_peer: sync::State,
}

async fn open_widget(server: &Server) -> Widget {
    let mut ws = server.connect().await;
    let (mut kb, mut kb_peer) = (AutoCommit::new(), sync::State::new());
    open(&mut ws, &kb_id(), None).await;
    sync_until_acked(&mut ws, &kb_id(), &mut kb, &mut kb_peer).await;
    let mut rng = rand::rng();
    let id = TicketId::from_bytes(rng.random());
    let token = hex::encode(rng.random::<[u8; 32]>());
    let ticket = DocId::Ticket(id);
    open(&mut ws, &ticket, Some(&token)).await;
    sync_until_acked(
        &mut ws,
        &ticket,
        &mut new_ticket(id),
        &mut sync::State::new(),
    )
    .await;
    Widget { ws, kb, kb_peer }
}

/// Waits for the widget's next sync message; returns when it arrived (it is
/// applied afterwards, so the client's own work does not delay arrivals).
async fn next_change(mut widget: Widget) -> (Widget, Instant, Vec<u8>) {
    loop {
        match widget.ws.next().await {
            Some(Ok(Message::Binary(bytes))) => return (widget, Instant::now(), bytes.to_vec()),
            Some(Ok(_)) => continue,
            other => panic!("socket ended: {other:?}"),
        }
    }
}

async fn publish(server: &Server, n: usize) {
    let response = reqwest::Client::new()
        .put(server.url(&format!("/api/staff/articles/nodes-{n}")))
        .bearer_auth(STAFF_TOKEN)
        .json(&json!({
            "site": "demo", "locale": "en", "category": "general",
            "title": format!("Across servers {n}"), "body": "Reaches every open widget.",
        }))
        .send()
        .await
        .expect("publish");
    assert!(response.status().is_success(), "{}", response.status());
}

/// Publishes on the first server; p50/p99 until every widget had the change.
async fn fan_out(servers: &[Arc<Server>], mut widgets: Vec<Widget>) -> (f64, f64, Vec<Widget>) {
    let mut latencies = Vec::new();
    for n in 0..PUBLISHES {
        let waiting: Vec<_> = widgets
            .drain(..)
            .map(|w| tokio::spawn(next_change(w)))
            .collect();
        let started = Instant::now();
        publish(&servers[0], n).await;
        let mut arrived = Vec::new();
        for waiter in waiting {
            let (widget, at, bytes) = waiter.await.expect("widget task");
            latencies.push(at - started);
            arrived.push((widget, bytes));
        }
        widgets = stream::iter(arrived)
            .map(|(mut w, bytes)| async move {
                client::settle(&mut w.ws, &kb_id(), &mut w.kb, &mut w.kb_peer, Some(bytes)).await;
                w
            })
            .buffer_unordered(WIDGETS)
            .collect()
            .await;
    }
    latencies.sort();
    (
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        widgets,
    )
}

struct Figures {
    creations: f64,
    fan_out: (f64, f64),
    kib_per_widget: f64,
}

async fn measure(servers: Vec<Arc<Server>>) -> Figures {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle: u64 = servers.iter().map(|s| s.rss_kib()).sum();
    let widgets: Vec<Widget> = stream::iter(0..WIDGETS)
        .map(|n| {
            let server = Arc::clone(&servers[n % servers.len()]);
            async move { open_widget(&server).await }
        })
        .buffer_unordered(CONNECTING_AT_ONCE)
        .collect()
        .await;
    let open: u64 = servers.iter().map(|s| s.rss_kib()).sum();
    let kib_per_widget = open.saturating_sub(idle) as f64 / WIDGETS as f64;
    let (p50, p99, widgets) = fan_out(&servers, widgets).await;
    drop(widgets);
    let creations = creations(&servers).await;
    Figures {
        creations,
        fan_out: (p50, p99),
        kib_per_widget,
    }
}

fn print(setup: &str, f: &Figures) {
    println!(
        "  {setup:<24} {:>10.0} {:>10.1} {:>10.1} {:>12.1}",
        f.creations, f.fan_out.0, f.fan_out.1, f.kib_per_widget
    );
}

#[tokio::main]
async fn main() {
    let (soft, hard) = rlimit::Resource::NOFILE.get().expect("file limit");
    rlimit::increase_nofile_limit(hard).unwrap_or(soft);
    println!("\nservers and storage (release build; {WIDGETS} widgets, {CREATION_CLIENTS} creating clients)");
    println!(
        "  {:<24} {:>10} {:>10} {:>10} {:>12}",
        "setup", "created/s", "fan p50", "fan p99", "KiB/widget"
    );
    let dir = tempfile::tempdir().expect("temp dir");

    let sqlite = Arc::new(Server::start(&dir.path().join("sqlite"), 0));
    print("1 server, SQLite", &measure(vec![sqlite]).await);

    let scratch = tokio::task::spawn_blocking(|| {
        stufe_server::storage::postgres::scratch::shared();
    });
    scratch.await.expect("scratch PostgreSQL");
    let database = || {
        tokio::task::spawn_blocking(|| {
            stufe_server::storage::postgres::scratch::shared()
                .database()
                .expect("a database")
        })
    };
    let url = database().await.expect("database");
    let env = [("STUFE_DATABASE_URL", url.as_str())];
    let one = Arc::new(Server::start_with(&dir.path().join("pg1"), 0, &env));
    print("1 server, PostgreSQL", &measure(vec![one]).await);

    let url = database().await.expect("database");
    let env = [("STUFE_DATABASE_URL", url.as_str())];
    let a = Arc::new(Server::start_with(&dir.path().join("pg2a"), 0, &env));
    let b = Arc::new(Server::start_with(&dir.path().join("pg2b"), 0, &env));
    print("2 servers, PostgreSQL", &measure(vec![a, b]).await);
    println!("  (fan p50/p99: ms from the publish API call on the first server until each widget had the change)");
}
