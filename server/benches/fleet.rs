//! 50,000 widgets open at once on this one box: three server nodes on one
//! PostgreSQL (a scratch server of this bench's own, `fsync` on), each under
//! the 20,000 open files a process may have here, and the widgets held by
//! four load-client processes (this bench started again as children), each
//! widget holding the knowledge base and one ticket of its own, as the
//! connections bench's widgets do.
//!
//! Prints: memory per widget on each node (RSS growth over the node's
//! widgets, their tickets asleep); one publish on the first node reaching all
//! 50,000 widgets across the nodes (p50/p99 over every widget of 3
//! publishes, from the API call to the sync message's arrival); a staff reply
//! on the second node reaching its one widget (on the first node) while the
//! 50,000 are open; and a reconnect storm after `kill -9` of the third node:
//! its widgets reconnect over 3 s — one in four to the other two nodes (all
//! they can take under the file limit), the rest to the node restarted on the
//! same port — each syncing its knowledge base and its ticket until the
//! server acknowledges the ticket's heads: time until all are synced again,
//! and failed attempts. Before they come back, each of the killed node's
//! tickets (created and acknowledged before the kill) is looked for through
//! the staff API of another node: nothing acknowledged may be lost.
//!
//! Arrival times are compared across processes on the system clock (one box).
//!
//! Run with `cargo xtask bench` (or `cargo bench -p stufe-server --bench fleet`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, StreamExt};
use rand::Rng;
use stufe_shared::DocId;
use tokio_tungstenite::tungstenite::Message;

#[path = "common/figures.rs"]
mod figures;
use figures::{ms, percentile};
#[path = "common/client.rs"]
mod client;
use client::{publish_article, Server, STAFF_TOKEN};
#[path = "common/widget.rs"]
mod widget;
use widget::{open_widget, receive_kb_change, settle, Widget};

const NODES: usize = 3;
const LOAD_CLIENTS: usize = 4;
const WIDGETS: usize = 50_000;
const PUBLISHES: usize = 3;
const CONNECTING_AT_ONCE: usize = 100;
const STORM_SPREAD: Duration = Duration::from_secs(3);
/// Tickets unused for 2 s keep only their saved bytes (as in the connections bench).
const SERVER_ENV: (&str, &str) = ("STUFE_TICKET_IDLE_SECS", "2");
const TICKETS_ASLEEP_AFTER: Duration = Duration::from_secs(4);

/// Microseconds since the epoch: the one clock all processes share.
fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_micros() as u64
}

/// The node a widget first opens on (the widgets take the nodes in turn).
fn home_node(n: usize) -> usize {
    n % NODES
}

/// Where a widget of the killed node reconnects: one in four to the other
/// two nodes, the rest to the killed node once it is back.
fn storm_node(n: usize, killed: usize) -> usize {
    match (n / NODES) % 8 {
        0 => (killed + 1) % NODES,
        4 => (killed + 2) % NODES,
        _ => killed,
    }
}

fn main() {
    let (soft, hard) = rlimit::Resource::NOFILE.get().expect("file limit");
    rlimit::increase_nofile_limit(hard).unwrap_or(soft);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    match std::env::var("STUFE_FLEET_CHILD") {
        Ok(spec) => runtime.block_on(load_client(&spec)),
        Err(_) => runtime.block_on(coordinate()),
    }
}

// ---- the coordinating process -------------------------------------------------

/// One load-client process: its stdin for orders, its stdout lines for answers.
struct LoadClient {
    child: Child,
    orders: ChildStdin,
    answers: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl LoadClient {
    fn start(index: usize, ports: &[u16]) -> LoadClient {
        let per = WIDGETS / LOAD_CLIENTS;
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        let mut child = Command::new(std::env::current_exe().expect("this bench"))
            .env(
                "STUFE_FLEET_CHILD",
                format!("{}:{}:{}", index * per, per, ports.join(",")),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("a load client");
        let orders = child.stdin.take().expect("piped");
        let answers = BufReader::new(child.stdout.take().expect("piped")).lines();
        LoadClient {
            child,
            orders,
            answers,
        }
    }

    fn order(&mut self, line: &str) {
        writeln!(self.orders, "{line}").expect("order a load client");
        self.orders.flush().expect("order a load client");
    }

    /// The next answer, whose first word is `expected`; the rest of it.
    fn answer(&mut self, expected: &str) -> String {
        let line = self
            .answers
            .next()
            .expect("the load client answers")
            .expect("readable");
        let (word, rest) = line.split_once(' ').unwrap_or((&line, ""));
        assert_eq!(word, expected, "load client said: {line}");
        rest.to_owned()
    }
}

impl Drop for LoadClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node_rss(nodes: &[Arc<Server>]) -> Vec<u64> {
    nodes.iter().map(|n| n.rss_kib()).collect()
}

async fn coordinate() {
    println!("\n{WIDGETS} widgets on {NODES} nodes sharing one PostgreSQL, held by {LOAD_CLIENTS} load-client processes (release build)");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = tokio::task::spawn_blocking(|| {
        stufe_server::storage::postgres::scratch::shared()
            .database()
            .expect("a database")
    })
    .await
    .expect("scratch PostgreSQL");
    let env = [("STUFE_DATABASE_URL", url.as_str()), SERVER_ENV];
    let mut nodes: Vec<Arc<Server>> = (0..NODES)
        .map(|i| {
            Arc::new(Server::start_with(
                &dir.path().join(format!("node{i}")),
                0,
                &env,
            ))
        })
        .collect();
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    // Each node at rest (see `Server::rss_at_rest_kib`): the first seeds the
    // demo site, whose start-up memory its allocator hands back later.
    let idle =
        futures_util::future::join_all(nodes.iter().map(|node| node.rss_at_rest_kib())).await;

    let started = Instant::now();
    let mut clients: Vec<LoadClient> = (0..LOAD_CLIENTS)
        .map(|i| LoadClient::start(i, &ports))
        .collect();
    let tickets: Vec<String> = clients.iter_mut().map(|c| c.answer("opened")).collect();
    println!(
        "  {WIDGETS} widgets opened in {:.1} s (each: hello, knowledge base synced, its ticket created and acknowledged)",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(TICKETS_ASLEEP_AFTER).await;
    let open = node_rss(&nodes);
    for (i, (idle, open)) in idle.iter().zip(&open).enumerate() {
        let widgets = (0..WIDGETS).filter(|&n| home_node(n) == i).count();
        println!(
            "  node {}: {widgets} widgets, RSS {} -> {} MiB, {:.1} KiB per widget",
            i + 1,
            idle / 1024,
            open / 1024,
            open.saturating_sub(*idle) as f64 / widgets as f64
        );
    }

    let mut latencies = Vec::with_capacity(WIDGETS * PUBLISHES);
    for n in 0..PUBLISHES {
        clients.iter_mut().for_each(|c| c.order("arm"));
        clients.iter_mut().for_each(|c| {
            c.answer("armed");
        });
        let at = now_micros();
        publish_article(&nodes[0], &format!("fleet-{n}"), &format!("Fleet test {n}")).await;
        for client in &mut clients {
            let arrivals = client.answer("arrivals");
            latencies.extend(arrivals.split_whitespace().map(|a| {
                Duration::from_micros(a.parse::<u64>().expect("micros").saturating_sub(at))
            }));
        }
    }
    latencies.sort();
    println!(
        "  publish on node 1 -> all {WIDGETS} widgets have it: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} arrivals over {PUBLISHES} publishes)",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies[latencies.len() - 1]),
        latencies.len()
    );

    // A staff reply through node 2 to the first widget (on node 1).
    let ticket: stufe_shared::TicketId = tickets[0].parse().expect("a ticket id");
    clients[0].order("reply-arm");
    clients[0].answer("armed");
    let at = now_micros();
    client::staff_reply(&reqwest::Client::new(), &nodes[1], ticket, "We are on it.").await;
    let arrived: u64 = clients[0].answer("replied").parse().expect("micros");
    println!(
        "  staff reply on node 2 -> its widget on node 1, {WIDGETS} open: {:.1} ms",
        (arrived.saturating_sub(at)) as f64 / 1000.0
    );

    // Reconnect storm: node 3 killed (SIGKILL), its tickets looked for on
    // node 1, then node 3 restarted on the same port as its widgets come back.
    let killed = NODES - 1;
    let port = nodes[killed].port;
    let killed_at = Instant::now();
    nodes.truncate(killed); // dropped: killed
    clients
        .iter_mut()
        .for_each(|c| c.order(&format!("check {killed}")));
    let lost: usize = clients
        .iter_mut()
        .map(|c| c.answer("checked").parse::<usize>().expect("a count"))
        .sum();
    let started = Instant::now();
    clients
        .iter_mut()
        .for_each(|c| c.order(&format!("storm {killed}")));
    let restarted = Server::start_with(&dir.path().join(format!("node{killed}")), port, &env);
    let restart = started.elapsed();
    nodes.push(Arc::new(restarted));
    let (mut moved, mut failures) = (0usize, 0usize);
    for client in &mut clients {
        let answer = client.answer("stormed");
        let figures: Vec<usize> = answer
            .split_whitespace()
            .map(|f| f.parse().expect("a count"))
            .collect();
        moved += figures[0];
        failures += figures[1];
    }
    println!(
        "  kill -9 of node 3: of its widgets' tickets (each acknowledged before), {lost} missing on node 1 ({:.1} s after the kill)",
        (started - killed_at).as_secs_f64()
    );
    println!(
        "  reconnect storm: node 3 restarted in {:.2} s; its {moved} widgets reconnecting over {} s (1 in 4 to nodes 1 and 2) were all synced after {:.2} s; {failures} failed attempts (retried)",
        restart.as_secs_f64(),
        STORM_SPREAD.as_secs(),
        started.elapsed().as_secs_f64(),
    );
    let after = node_rss(&nodes);
    println!(
        "  RSS after the storm: {}",
        after
            .iter()
            .enumerate()
            .map(|(i, r)| format!("node {} {} MiB", i + 1, r / 1024))
            .collect::<Vec<_>>()
            .join(", ")
    );
    drop(clients);
}

// ---- a load-client process ----------------------------------------------------

/// Widgets between orders, each read by a task of its own as a browser reads
/// its socket: the server's pings are answered (a widget that leaves them
/// unanswered for 60 s is dropped as dead) and anything sent is kept.
struct Held {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<(usize, Widget)>>,
}

impl Held {
    fn new() -> Held {
        Held {
            stop: tokio::sync::watch::channel(false).0,
            tasks: Vec::new(),
        }
    }

    fn hold(&mut self, n: usize, mut widget: Widget) {
        let mut stop = self.stop.subscribe();
        self.tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    message = widget.ws.next() => match message {
                        // Kept for the widget's next settling (one is all
                        // that arrives between orders: a publish's message).
                        Some(Ok(Message::Binary(bytes))) => widget.pending = Some(bytes.to_vec()),
                        Some(Ok(_)) => {}
                        // Its node went away (the storm's kill); the widget
                        // is reconnected by the storm order.
                        _ => return (n, widget),
                    },
                    _ = stop.changed() => return (n, widget),
                }
            }
        }));
    }

    async fn release(self) -> Vec<(usize, Widget)> {
        let _ = self.stop.send(true);
        let mut widgets = Vec::with_capacity(self.tasks.len());
        for task in self.tasks {
            widgets.push(task.await.expect("widget task"));
        }
        widgets
    }
}

/// Holds widgets `from..from + count` (spec `FROM:COUNT:PORT,PORT,PORT`) and
/// follows the coordinator's orders, one line each.
async fn load_client(spec: &str) {
    let mut parts = spec.splitn(3, ':');
    let from: usize = parts.next().and_then(|p| p.parse().ok()).expect("from");
    let count: usize = parts.next().and_then(|p| p.parse().ok()).expect("count");
    let ports: Vec<u16> = parts
        .next()
        .expect("ports")
        .split(',')
        .map(|p| p.parse().expect("a port"))
        .collect();
    let mut held = Held::new();
    let mut opening = stream::iter(from..from + count)
        .map(|n| {
            let port = ports[home_node(n)];
            async move {
                let widget = open_widget(port, n, None).await.expect("widget opens");
                (n, widget)
            }
        })
        .buffered(CONNECTING_AT_ONCE);
    let mut first_ticket = None;
    while let Some((n, widget)) = opening.next().await {
        first_ticket.get_or_insert(widget.ticket);
        held.hold(n, widget);
    }
    println!("opened {}", first_ticket.expect("widgets"));

    // Orders are read on a thread of their own (stdin blocks).
    let (send, mut orders) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(order) = orders.recv().await {
        let mut widgets = held.release().await;
        let mut words = order.split_whitespace();
        match words.next() {
            Some("arm") => {
                let waiting: Vec<_> = widgets
                    .drain(..)
                    .map(|(n, w)| {
                        tokio::spawn(async move {
                            let (widget, _) = receive_kb_change(w).await;
                            (n, widget, now_micros())
                        })
                    })
                    .collect();
                println!("armed");
                let mut stamps = Vec::with_capacity(waiting.len());
                for waiter in waiting {
                    let (n, widget, at) = waiter.await.expect("widget task");
                    stamps.push(at.to_string());
                    widgets.push((n, widget));
                }
                println!("arrivals {}", stamps.join(" "));
                widgets = stream::iter(widgets)
                    .map(|(n, mut w)| async move {
                        settle(&mut w).await;
                        (n, w)
                    })
                    .buffer_unordered(1_000)
                    .collect()
                    .await;
            }
            Some("check") => {
                // The killed node's tickets, asked of another node: each was
                // acknowledged (committed) before the kill.
                let killed: usize = words.next().and_then(|k| k.parse().ok()).expect("node");
                let port = ports[(killed + 1) % NODES];
                let http = reqwest::Client::new();
                let lost = stream::iter(widgets.iter().filter(|(n, _)| home_node(*n) == killed))
                    .map(|(_, w)| {
                        let url = format!("http://127.0.0.1:{port}/api/staff/tickets/{}", w.ticket);
                        let http = http.clone();
                        async move {
                            let response = http.get(url).bearer_auth(STAFF_TOKEN).send().await;
                            response.is_ok_and(|r| r.status().is_success())
                        }
                    })
                    .buffer_unordered(50)
                    .filter(|found| std::future::ready(!found))
                    .count()
                    .await;
                println!("checked {lost}");
            }
            Some("reply-arm") => {
                let (_, first) = widgets
                    .iter_mut()
                    .find(|(n, _)| *n == from)
                    .expect("the first widget");
                let ticket = DocId::Ticket(first.ticket);
                println!("armed");
                let arrived = loop {
                    match first.ws.next().await {
                        Some(Ok(Message::Binary(bytes))) => {
                            let frame = stufe_shared::protocol::SyncFrame::decode(&bytes)
                                .expect("sync frame");
                            if frame.doc == ticket {
                                break now_micros();
                            }
                        }
                        Some(Ok(_)) => {}
                        other => panic!("socket ended: {other:?}"),
                    }
                };
                println!("replied {arrived}");
            }
            Some("storm") => {
                let killed: usize = words.next().and_then(|k| k.parse().ok()).expect("node");
                let (gone, stay): (Vec<_>, Vec<_>) = widgets
                    .drain(..)
                    .partition(|(n, _)| home_node(*n) == killed);
                let mut staying = Held::new();
                for (n, widget) in stay {
                    staying.hold(n, widget);
                }
                let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
                let moved = gone.len();
                let tasks: Vec<_> = gone
                    .into_iter()
                    .map(|(n, w)| {
                        let failures = Arc::clone(&failures);
                        let port = ports[storm_node(n, killed)];
                        let held = (w.kb, w.ticket, w.token, w.ticket_doc);
                        tokio::spawn(async move {
                            let delay = rand::rng().random_range(Duration::ZERO..STORM_SPREAD);
                            tokio::time::sleep(delay).await;
                            let mut backoff = Duration::from_millis(500);
                            loop {
                                // A node going away mid-open panics the attempt's task.
                                let attempt =
                                    tokio::spawn(open_widget(port, n, Some(held.clone())));
                                match attempt.await {
                                    Ok(Ok(widget)) => return (n, widget),
                                    _ => {
                                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                        tokio::time::sleep(backoff).await;
                                        backoff = (backoff * 2).min(Duration::from_secs(5));
                                    }
                                }
                            }
                        })
                    })
                    .collect();
                widgets = staying.release().await;
                for task in tasks {
                    widgets.push(task.await.expect("widget task"));
                }
                println!(
                    "stormed {moved} {}",
                    failures.load(std::sync::atomic::Ordering::Relaxed)
                );
            }
            _ => break,
        }
        held = Held::new();
        for (n, widget) in widgets {
            held.hold(n, widget);
        }
    }
}
