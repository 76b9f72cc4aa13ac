//! Fuzzing under `cargo test`: seeded mutations of a committed corpus of real
//! frames and sync messages (`server/tests/corpus/`), fed to the frame decoder
//! and to the hub's `receive` against a stored ticket. Nothing may panic, and
//! whatever the hub accepts must leave a ticket that still reads and still
//! loads after a restart. `STUFE_FUZZ_ITERATIONS` sets how many inputs each
//! target gets (default 10,000; CI uses the default); the count run is printed.
//!
//! `cargo test -p stufe-server --test it write_fuzz_corpus -- --ignored` writes
//! the corpus afresh (it is committed; rewrite it when the schema changes).

use std::path::PathBuf;
use std::sync::Arc;

use automerge::sync::{self, SyncDoc};
use automerge::AutoCommit;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stufe_server::seed::demo_site;
use stufe_server::storage::{prelude::*, SqliteStorage, Storage};
use stufe_server::sync::hub::{Received, Sender};
use stufe_server::sync::Hub;
use stufe_shared::protocol::{encode_sync_frame, SyncFrame};
use stufe_shared::site::SiteConfig;
use stufe_shared::ticket::{self, Author, NewMessage, Status};
use stufe_shared::validate::Role;
use stufe_shared::{DocId, SiteKey, TicketId};

use crate::helpers::new_ticket_doc;

const TICKET: [u8; 16] = [0x5a; 16];
const TOKEN: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

fn corpus_dir() -> PathBuf {
    PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"),
    )
    .join("tests/corpus")
}

fn iterations() -> usize {
    std::env::var("STUFE_FUZZ_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

/// The sync messages a first-time client sends to create a ticket, then to
/// reply, and a forbidden status change: real protocol traffic to mutate.
fn corpus_messages() -> Vec<(String, Vec<u8>)> {
    let id = TicketId::from_bytes(TICKET);
    let mut doc = new_ticket_doc(id);
    let mut messages = Vec::new();
    let mut state = sync::State::new();
    let mut empty = AutoCommit::new();
    let mut server_state = sync::State::new();
    // Run a full exchange against an empty peer, recording what the client says.
    for round in 0..4 {
        if let Some(m) = doc.sync().generate_sync_message(&mut state) {
            messages.push((format!("create-{round}"), m.clone().encode()));
            empty
                .sync()
                .receive_sync_message(&mut server_state, m)
                .unwrap();
        }
        if let Some(m) = empty.sync().generate_sync_message(&mut server_state) {
            doc.sync().receive_sync_message(&mut state, m).unwrap();
        }
    }
    let mut reply = doc.fork();
    ticket::append_message(
        &mut reply,
        &NewMessage {
            id: "m1".into(),
            author: Author::Customer,
            name: "Ada".into(),
            body: "Any news?".into(),
            at: 1,
        },
    )
    .unwrap();
    let mut forbidden = doc.fork();
    ticket::set_status(&mut forbidden, Status::Closed).unwrap();
    for (name, mut edited) in [("reply", reply), ("status", forbidden)] {
        let mut st = state.clone();
        if let Some(m) = edited.sync().generate_sync_message(&mut st) {
            messages.push((name.to_owned(), m.encode()));
        }
        // Also the whole history as one message to an empty peer.
        let mut fresh = sync::State::new();
        let mut tries = 0;
        let mut other = AutoCommit::new();
        let mut other_state = sync::State::new();
        loop {
            let Some(m) = edited.sync().generate_sync_message(&mut fresh) else {
                break;
            };
            if !m.changes.is_empty() {
                messages.push((format!("{name}-full"), m.clone().encode()));
            }
            other
                .sync()
                .receive_sync_message(&mut other_state, m)
                .unwrap();
            if let Some(back) = other.sync().generate_sync_message(&mut other_state) {
                edited
                    .sync()
                    .receive_sync_message(&mut fresh, back)
                    .unwrap();
            }
            tries += 1;
            if tries > 4 {
                break;
            }
        }
    }
    messages
}

#[test]
#[ignore = "writes the committed corpus; run by hand when the schema changes"]
fn write_fuzz_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let doc = DocId::Ticket(TicketId::from_bytes(TICKET));
    for (name, message) in corpus_messages() {
        std::fs::write(dir.join(format!("{name}.sync")), &message).unwrap();
        std::fs::write(
            dir.join(format!("{name}.frame")),
            encode_sync_frame(&doc, &message),
        )
        .unwrap();
    }
}

fn corpus(extension: &str) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus is committed in server/tests/corpus")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    let inputs: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(inputs.len() >= 3, "corpus for .{extension} is missing");
    inputs
}

/// One random mutation: bit flips, byte changes, inserts, deletes, truncation,
/// duplication of a slice, or splicing in part of another input.
fn mutate(rng: &mut StdRng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = out.len().max(1);
        match rng.random_range(0..7) {
            0 if !out.is_empty() => {
                let i = rng.random_range(0..out.len());
                out[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !out.is_empty() => {
                let i = rng.random_range(0..out.len());
                out[i] = rng.random();
            }
            2 => {
                let i = rng.random_range(0..=out.len());
                out.insert(i, rng.random());
            }
            3 if !out.is_empty() => {
                out.remove(rng.random_range(0..out.len()));
            }
            4 => out.truncate(rng.random_range(0..len)),
            5 if !out.is_empty() => {
                let a = rng.random_range(0..out.len());
                let b = rng.random_range(a..out.len());
                let slice = out[a..=b].to_vec();
                let at = rng.random_range(0..=out.len());
                out.splice(at..at, slice);
            }
            _ if !other.is_empty() => {
                let a = rng.random_range(0..other.len());
                let b = rng.random_range(a..other.len());
                let at = rng.random_range(0..=out.len());
                out.splice(at..at, other[a..=b].iter().copied());
            }
            _ => {}
        }
    }
    out
}

#[test]
fn the_frame_decoder_survives_mutated_frames() {
    let inputs = corpus("frame");
    let mut rng = StdRng::seed_from_u64(7);
    let runs = iterations();
    let mut decoded = 0;
    for _ in 0..runs {
        let input = &inputs[rng.random_range(0..inputs.len())];
        let other = &inputs[rng.random_range(0..inputs.len())];
        let bytes = mutate(&mut rng, input, other);
        if let Ok(frame) = SyncFrame::decode(&bytes) {
            decoded += 1;
            let _ = sync::Message::decode(&frame.message);
        }
    }
    println!("frame decoder: {runs} inputs, {decoded} decoded as frames, no crash");
}

#[tokio::test]
async fn receive_survives_mutated_sync_messages_and_keeps_the_ticket_valid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.sqlite");
    let storage = SqliteStorage::open(&path).unwrap();
    let site: SiteKey = "demo".parse().unwrap();
    storage.put_site(&site, &demo_site()).unwrap();
    let storage: Arc<dyn Storage> = Arc::new(storage);
    let config: SiteConfig = demo_site();
    let hub = Hub::new(storage.clone());
    let doc_id = DocId::Ticket(TicketId::from_bytes(TICKET));
    let entry = hub.entry(&doc_id).await.unwrap();
    entry.authorize(&site, TOKEN, None, false).await.unwrap();
    let sender = Sender {
        id: 1,
        role: Role::Customer,
        site: &site,
        config: &config,
        may_create: &|_| Ok(()),
    };
    // Store the ticket first, through the same path a client takes.
    let mut peer = sync::State::new();
    for message in corpus("sync").iter().take(2) {
        let _ = hub.receive(&entry, &mut peer, &sender, message, &[]).await;
    }
    hub.read_ticket(TicketId::from_bytes(TICKET))
        .await
        .expect("the corpus creates the ticket");

    let inputs = corpus("sync");
    let mut rng = StdRng::seed_from_u64(11);
    let runs = iterations();
    let (mut committed, mut refused) = (0, 0);
    let mut pending: Vec<Vec<u8>> = Vec::new();
    for _ in 0..runs {
        let input = &inputs[rng.random_range(0..inputs.len())];
        let other = &inputs[rng.random_range(0..inputs.len())];
        // Now and then a real message unchanged, so valid changes mix with broken ones.
        let bytes = if rng.random_bool(0.1) {
            input.clone()
        } else {
            mutate(&mut rng, input, other)
        };
        // A fresh peer state half the time, as after a reconnect.
        if rng.random_bool(0.5) {
            peer = sync::State::new();
        }
        // Changes waiting for their dependencies go with the next message, as
        // a session keeps them.
        let received = hub
            .receive(&entry, &mut peer, &sender, &bytes, &pending)
            .await;
        pending.clear();
        match received {
            Ok(Received::Incomplete {
                pending: carried, ..
            }) => {
                if carried.iter().map(Vec::len).sum::<usize>() < 256 * 1024 {
                    pending = carried;
                }
            }
            Ok(Received::Committed { .. }) => {
                committed += 1;
                hub.read_ticket(TicketId::from_bytes(TICKET))
                    .await
                    .expect("an accepted change leaves a readable ticket");
            }
            Ok(Received::NothingNew) => {}
            Err(err) => {
                if std::env::var_os("STUFE_FUZZ_DEBUG").is_some() {
                    println!("{err}");
                }
                refused += 1
            }
        }
    }
    drop(entry);
    // What was stored loads and validates in a fresh hub (as after a restart).
    let reloaded = Hub::new(storage);
    let ticket = reloaded
        .read_ticket(TicketId::from_bytes(TICKET))
        .await
        .expect("the stored ticket loads after the fuzzing");
    assert_eq!(
        ticket.status,
        Status::New,
        "no forbidden change got through"
    );
    println!(
        "receive: {runs} mutated sync messages, {committed} committed, {refused} refused, no crash"
    );
}
