//! Sync and storage figures, measured from outside against the release server
//! binary (a child process on its own SQLite file), over real HTTP and WebSocket:
//!
//! - knowledge-base catalogue: what a new widget downloads on its first sync,
//!   and what it stores, with 1,000 and 10,000 published articles;
//! - publishing one article into that base: p50/p99 from the API call to its
//!   durable commit (article, index and catalogue);
//! - a reply's commit time early and late in a ticket's history (customer
//!   replies over the socket, change to `ack`; staff replies through the API);
//! - durable ticket creations per second with 100 concurrent clients (and
//!   with the server pinned to one core, the load client to another), each
//!   creation a new visitor: connect, open, sync, wait for the `ack` (sent only
//!   after the commit is on disk).
//!
//! Run with `cargo xtask bench` (or `cargo bench -p stufe-server --bench sync`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::json;
use stufe_shared::DocId;

const CREATION_CLIENTS: usize = 100;
const CREATION_SECONDS: u64 = 10;
const TIMED_PUBLISHES: usize = 300;
const CUSTOMER_REPLIES: usize = 30;
const STAFF_REPLIES: usize = MAX_MESSAGES - 2 * CUSTOMER_REPLIES;

#[path = "common/figures.rs"]
mod figures;
use figures::{ms, percentile};
#[path = "common/client.rs"]
mod client;
#[path = "common/corpus.rs"]
mod corpus;
#[path = "common/load.rs"]
mod load;
#[path = "common/process.rs"]
mod process;
use client::{
    create_ticket, new_ticket, new_visitor, open, send_until_acked, staff_call, sync_until_acked,
    Server,
};
use corpus::{sentence, word, zipf_rank};
use process::pin;
use stufe_shared::ticket::{self, Author, NewMessage};
use stufe_shared::validate::MAX_MESSAGES;

async fn publish(http: &reqwest::Client, server: &Server, id: usize, rng: &mut StdRng) {
    let body = json!({
        "site": "demo", "locale": "en", "category": "general",
        "title": format!("{} {id}", sentence(rng, 5)),
        "tags": [word(zipf_rank(rng))],
        "body": sentence(rng, 80),
    });
    staff_call(
        http.put(server.url(&format!("/api/staff/articles/article-{id}")))
            .json(&body),
        "publish",
    )
    .await;
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
        let received = sync_until_acked(
            &mut ws,
            &doc_id,
            &mut doc,
            &mut automerge::sync::State::new(),
        )
        .await;
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

/// Customer replies over the ticket's open connection, one at a time (paced
/// below the frame limit): the time from sending each change to its `ack`.
async fn customer_replies(
    server: &Server,
    ticket: &mut (DocId, AutoCommit, String),
    count: usize,
) -> Vec<Duration> {
    let (doc_id, doc, token) = ticket;
    let mut ws = server.connect().await;
    open(&mut ws, doc_id, Some(token)).await;
    let mut peer = automerge::sync::State::new();
    sync_until_acked(&mut ws, doc_id, doc, &mut peer).await;
    let mut times = Vec::with_capacity(count);
    for i in 0..count {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let message = NewMessage {
            id: hex::encode(rand::random::<[u8; 8]>()),
            author: Author::Customer,
            name: "Ada".into(),
            body: format!("Customer reply {i}: the printer still blinks."),
            at: 1_700_000_000_000,
        };
        ticket::append_message(doc, &message).expect("reply");
        let started = Instant::now();
        send_until_acked(&mut ws, doc_id, doc, &mut peer).await;
        times.push(started.elapsed());
    }
    times
}

/// A ticket grows to the most messages it may hold: customer replies over the
/// socket early and late, staff replies through the API between them.
async fn ticket_history(server: &Server) {
    let (id, token) = new_visitor();
    let doc_id = DocId::Ticket(id);
    let mut ticket = (doc_id.clone(), new_ticket(id), token);
    let early = customer_replies(server, &mut ticket, CUSTOMER_REPLIES).await;
    let http = reqwest::Client::new();
    let mut staff = Vec::with_capacity(STAFF_REPLIES);
    for i in 0..STAFF_REPLIES {
        let started = Instant::now();
        client::staff_reply(
            &http,
            server,
            id,
            &format!("Reply {i}: one more detail about the printer."),
        )
        .await;
        staff.push(started.elapsed());
    }
    let late = customer_replies(server, &mut ticket, CUSTOMER_REPLIES).await;
    assert_eq!(
        stufe_shared::ticket::read_ticket(&ticket.1)
            .expect("a ticket")
            .expect("not empty")
            .messages
            .len(),
        MAX_MESSAGES,
        "the ticket holds the most messages it may"
    );
    let median = |slice: &[Duration]| {
        let mut sorted = slice.to_vec();
        sorted.sort();
        ms(percentile(&sorted, 0.5))
    };
    let (first_staff, last_staff) = (CUSTOMER_REPLIES + 1, MAX_MESSAGES - CUSTOMER_REPLIES);
    println!("\none ticket growing to {MAX_MESSAGES} messages: median per reply, early and late in its history");
    println!(
        "  customer reply over the socket, change to ack:  messages 1-{CUSTOMER_REPLIES}: {:.2} ms    messages {}-{MAX_MESSAGES}: {:.2} ms",
        median(&early),
        MAX_MESSAGES - CUSTOMER_REPLIES + 1,
        median(&late),
    );
    println!(
        "  staff reply, API call to durable commit:        messages {first_staff}-{}: {:.2} ms    messages {}-{last_staff}: {:.2} ms (the response carries the whole ticket)",
        first_staff + 49,
        median(&staff[..50]),
        last_staff - 49,
        median(&staff[STAFF_REPLIES - 50..])
    );
}

async fn creations(server: &Arc<Server>, setup: &str) {
    let creating = Arc::clone(server);
    let (mut times, elapsed) = load::repeat_for(CREATION_CLIENTS, CREATION_SECONDS, move |_| {
        let server = Arc::clone(&creating);
        async move {
            create_ticket(&server).await;
        }
    })
    .await;
    times.sort();
    println!(
        "\ndurable ticket creations, {CREATION_CLIENTS} clients, each creation a new connection (connect, open, sync, ack after commit); {setup}"
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

// One thread for the load client: the server runs on the same two cores,
// and a second runtime thread of ours would only compete with it.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = Arc::new(Server::start(data.path(), 0));
    creations(&server, "server and load client share every core").await;
    ticket_history(&server).await;
    catalogue(&server).await;
    drop(server);
    creations_per_core().await;
}

/// The server's capacity per core: the server pinned to one core and this
/// load client to another (when there are two and `taskset` is there).
async fn creations_per_core() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let data = tempfile::tempdir().expect("temp dir");
    let server = Arc::new(Server::start(data.path(), 0));
    if cores < 2 || !(pin(server.pid(), "0") && pin(std::process::id(), "1")) {
        println!("\n(one core, or no taskset: the per-core figure is left out)");
        return;
    }
    creations(
        &server,
        "the server pinned to one core, the load client to another",
    )
    .await;
    pin(std::process::id(), &format!("0-{}", cores - 1));
}
