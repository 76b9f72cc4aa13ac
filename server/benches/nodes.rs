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

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};

#[path = "common/figures.rs"]
mod figures;
use figures::{ms, percentile};
#[path = "common/client.rs"]
mod client;
use client::{create_ticket, publish_article, Server};
#[path = "common/load.rs"]
mod load;
#[path = "common/widget.rs"]
mod widget;
use widget::{open_widget, receive_kb_change, settle, Widget};

const CREATION_CLIENTS: usize = 100;
const CREATION_SECONDS: u64 = 5;
const WIDGETS: usize = 1_000;
const PUBLISHES: usize = 20;
const CONNECTING_AT_ONCE: usize = 100;

/// Durable creations per second, the clients taking the servers in turn.
async fn creations(servers: &[Arc<Server>]) -> f64 {
    let servers = servers.to_vec();
    let (times, elapsed) = load::repeat_for(CREATION_CLIENTS, CREATION_SECONDS, move |c| {
        let server = Arc::clone(&servers[c % servers.len()]);
        async move {
            create_ticket(&server).await;
        }
    })
    .await;
    times.len() as f64 / elapsed.as_secs_f64()
}

/// Publishes on the first server; p50/p99 until every widget had the change.
async fn fan_out(servers: &[Arc<Server>], mut widgets: Vec<Widget>) -> (f64, f64, Vec<Widget>) {
    let mut latencies = Vec::new();
    for n in 0..PUBLISHES {
        let waiting: Vec<_> = widgets
            .drain(..)
            .map(|w| tokio::spawn(receive_kb_change(w)))
            .collect();
        let started = Instant::now();
        publish_article(
            &servers[0],
            &format!("nodes-{n}"),
            &format!("Across servers {n}"),
        )
        .await;
        let mut arrived = Vec::new();
        for waiter in waiting {
            let (widget, at) = waiter.await.expect("widget task");
            latencies.push(at - started);
            arrived.push(widget);
        }
        widgets = stream::iter(arrived)
            .map(|mut w| async move {
                settle(&mut w).await;
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
            let port = servers[n % servers.len()].port;
            async move { open_widget(port, n, None).await.expect("widget opens") }
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
