//! Many open widgets on one server, measured from outside against the release
//! server binary with real WebSocket connections. Each widget does what a
//! widget does after its idle preload: `hello`, opens the site's knowledge
//! base and syncs it, and opens one ticket of its own (created on the way).
//!
//! Prints: server memory (RSS) idle and with 1,000 and 10,000 widgets open and
//! per widget; search p50/p99 over HTTP while they are open; how long one
//! publish takes to reach 1,000 open widgets (p50/p99 over every widget of 10
//! publishes, from the API call to the sync message's arrival; then with each
//! widget's own decoding and applying of it, as a browser sees it, and as a
//! load client holding all of them in one process sees it, applying one
//! after another); and a
//! reconnect storm: the server is killed (`SIGKILL`) and restarted on the same
//! data, and 10,000 widgets reconnect within 3 seconds and re-sync both
//! documents (time until all are synced, failed attempts, memory after).
//!
//! Run with `cargo xtask bench` (or `cargo bench -p stufe-server --bench connections`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use rand::Rng;

#[path = "common/figures.rs"]
mod figures;
use figures::{ms, percentile};
#[path = "common/client.rs"]
mod client;
use client::{publish_article, Server};
#[path = "common/widget.rs"]
mod widget;
use widget::{kb_id, open_widget, receive_kb_change, settle, Widget};

const FANOUT_WIDGETS: usize = 1_000;
const FANOUT_PUBLISHES: usize = 10;
const MANY_WIDGETS: usize = 10_000;
const CONNECTING_AT_ONCE: usize = 200;
const STORM_SPREAD: Duration = Duration::from_secs(3);
/// Tickets unused for 2 s hold nothing of their document (the default is
/// 30 s; shorter here so the bench need not wait).
const SERVER_ENV: &[(&str, &str)] = &[("STUFE_TICKET_IDLE_SECS", "2")];
const TICKETS_ASLEEP_AFTER: Duration = Duration::from_secs(4);
/// The runtime keeps a spare thread 10 s after its last blocking call
/// (storage); opening thousands of widgets at once starts dozens. Widgets
/// idle for longer than this are the steady state of a page left open.
const SPARE_THREADS_GONE_AFTER: Duration = Duration::from_secs(12);

async fn open_many(port: u16, from: usize, count: usize) -> Vec<Widget> {
    stream::iter(from..from + count)
        .map(|n| async move { open_widget(port, n, None).await.expect("widget opens") })
        .buffer_unordered(CONNECTING_AT_ONCE)
        .collect()
        .await
}

async fn fan_out(server: &Server, widgets: Vec<Widget>) -> Vec<Widget> {
    let mut widgets = widgets;
    let mut arrivals = Vec::new();
    let mut browser_like = Vec::new();
    let mut one_process = Vec::new();
    let mut applies = Vec::new();
    let mut api = Vec::new();
    for n in 0..FANOUT_PUBLISHES {
        let waiting: Vec<_> = widgets
            .drain(..)
            .map(|w| tokio::spawn(receive_kb_change(w)))
            .collect();
        let started = Instant::now();
        publish_article(server, &format!("fanout-{n}"), &format!("Fan-out test {n}")).await;
        api.push(started.elapsed());
        let mut arrived = Vec::with_capacity(waiting.len());
        for waiter in waiting {
            let (widget, at) = waiter.await.expect("widget task");
            arrived.push((widget, at - started));
        }
        // Each widget applies the change and answers (timed on its own), and
        // the server acks before the next publish.
        let settled: Vec<(Widget, Duration, Duration)> = stream::iter(arrived)
            .map(|(mut w, arrival)| async move {
                let pending = w.pending.take().expect("a change arrived");
                let apply = client::apply_and_answer(
                    &mut w.ws,
                    &kb_id(),
                    &mut w.kb,
                    &mut w.kb_peer,
                    &pending,
                )
                .await;
                settle(&mut w).await;
                (w, arrival, apply)
            })
            .buffer_unordered(FANOUT_WIDGETS)
            .collect()
            .await;
        let mut in_order: Vec<(Duration, Duration)> = settled
            .iter()
            .map(|(_, arrival, apply)| (*arrival, *apply))
            .collect();
        in_order.sort();
        // A load client holding every widget in one process applies them one
        // after another, in arrival order: the k-th is done when the ones
        // before it are and it has arrived, plus its own apply.
        let mut done = Duration::ZERO;
        for (arrival, apply) in &in_order {
            done = done.max(*arrival) + *apply;
            one_process.push(done);
            browser_like.push(*arrival + *apply);
            arrivals.push(*arrival);
            applies.push(*apply);
        }
        widgets = settled.into_iter().map(|(w, _, _)| w).collect();
    }
    for list in [
        &mut arrivals,
        &mut browser_like,
        &mut one_process,
        &mut applies,
        &mut api,
    ] {
        list.sort();
    }
    let p = |list: &[Duration], q: f64| ms(percentile(list, q));
    println!(
        "  publish API call (article, index and catalogue durable): p50 {:.1} ms",
        p(&api, 0.5)
    );
    println!(
        "  publish -> all {FANOUT_WIDGETS} widgets have it (the sync message arrived): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} arrivals)",
        p(&arrivals, 0.5),
        p(&arrivals, 0.99),
        ms(arrivals[arrivals.len() - 1]),
        arrivals.len()
    );
    println!(
        "  one widget decoding and applying the change (native; a browser's wasm is slower): p50 {:.3} ms, p99 {:.3} ms",
        p(&applies, 0.5),
        p(&applies, 0.99)
    );
    println!(
        "  publish -> applied, each widget on its own (as browsers are): p50 {:.1} ms, p99 {:.1} ms",
        p(&browser_like, 0.5),
        p(&browser_like, 0.99)
    );
    println!(
        "  publish -> applied, all {FANOUT_WIDGETS} in one client process one after another: p50 {:.1} ms, p99 {:.1} ms",
        p(&one_process, 0.5),
        p(&one_process, 0.99)
    );
    widgets
}

async fn search_while_open(server: &Server) {
    let http = reqwest::Client::new();
    let mut times = Vec::new();
    for q in ["return", "refund", "password", "ship", "order"]
        .iter()
        .cycle()
        .take(200)
    {
        let started = Instant::now();
        let response = http
            .get(server.url(&format!("/api/sites/demo/search?q={q}")))
            .send()
            .await
            .expect("search");
        assert!(response.status().is_success());
        response.bytes().await.expect("body");
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "  search over HTTP while they are open: p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );
}

async fn reconnect_storm(data: &std::path::Path, server: Server, widgets: Vec<Widget>) -> Server {
    let port = server.port;
    drop(server); // SIGKILL
    let held: Vec<_> = widgets
        .into_iter()
        .map(|w| (w.kb, w.ticket, w.token, w.ticket_doc))
        .collect();
    let started = Instant::now();
    let server = Server::start_with(data, port, SERVER_ENV);
    let restarted = started.elapsed();
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = held
        .into_iter()
        .enumerate()
        .map(|(n, held)| {
            let failures = Arc::clone(&failures);
            tokio::spawn(async move {
                let delay = rand::rng().random_range(Duration::ZERO..STORM_SPREAD);
                tokio::time::sleep(delay).await;
                let mut backoff = Duration::from_millis(500);
                loop {
                    match open_widget(port, n, Some(held.clone())).await {
                        Ok(widget) => return widget,
                        Err(_) => {
                            failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                        }
                    }
                }
            })
        })
        .collect();
    let mut widgets = Vec::with_capacity(tasks.len());
    for task in tasks {
        widgets.push(task.await.expect("widget task"));
    }
    println!(
        "  reconnect storm: server restarted in {:.2} s; {} widgets reconnecting over {} s were all synced after {:.2} s; {} failed attempts (retried); server RSS then {} MiB",
        restarted.as_secs_f64(),
        widgets.len(),
        STORM_SPREAD.as_secs(),
        started.elapsed().as_secs_f64(),
        failures.load(std::sync::atomic::Ordering::Relaxed),
        server.rss_kib() / 1024
    );
    drop(widgets);
    server
}

#[tokio::main]
async fn main() {
    let (soft, hard) = rlimit::Resource::NOFILE.get().expect("file limit");
    let limit = rlimit::increase_nofile_limit(hard).unwrap_or(soft);
    println!("\nopen widgets on one server (release build; open-file limit {limit}, hard {hard})");
    let data = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(data.path(), 0, SERVER_ENV);
    let idle = server.rss_at_rest_kib().await;
    println!("  idle server: {} MiB", idle / 1024);

    let widgets = open_many(server.port, 0, FANOUT_WIDGETS).await;
    let rss = server.rss_kib();
    println!(
        "  {FANOUT_WIDGETS} widgets open: {} MiB, {:.1} KiB per widget",
        rss / 1024,
        (rss - idle) as f64 / FANOUT_WIDGETS as f64
    );
    let mut widgets = fan_out(&server, widgets).await;

    if limit < (MANY_WIDGETS as u64) + 1_000 {
        println!("  (skipping {MANY_WIDGETS} widgets: the open-file limit is {limit})");
        return;
    }
    let started = Instant::now();
    widgets.extend(open_many(server.port, FANOUT_WIDGETS, MANY_WIDGETS - FANOUT_WIDGETS).await);
    let rss = server.rss_kib();
    println!(
        "  {MANY_WIDGETS} widgets open (opened in {:.1} s): {} MiB, {:.1} KiB per widget",
        started.elapsed().as_secs_f64(),
        rss / 1024,
        (rss - idle) as f64 / MANY_WIDGETS as f64
    );
    tokio::time::sleep(TICKETS_ASLEEP_AFTER).await;
    let rss = server.rss_kib();
    println!(
        "  {MANY_WIDGETS} widgets idle, their tickets asleep: {} MiB, {:.1} KiB per widget",
        rss / 1024,
        (rss - idle) as f64 / MANY_WIDGETS as f64
    );
    tokio::time::sleep(SPARE_THREADS_GONE_AFTER - TICKETS_ASLEEP_AFTER).await;
    let rss = server.rss_kib();
    println!(
        "  {MANY_WIDGETS} widgets idle {} s, the runtime's spare threads gone: {} MiB, {:.1} KiB per widget",
        SPARE_THREADS_GONE_AFTER.as_secs(),
        rss / 1024,
        (rss - idle) as f64 / MANY_WIDGETS as f64
    );
    search_while_open(&server).await;
    let server = reconnect_storm(data.path(), server, widgets).await;
    drop(server);
}
