//! Attachments and presence, measured against the release server binary over
//! real HTTP and WebSocket connections on loopback:
//!
//! * upload and download throughput of 10 MiB files (plain text, whose every
//!   character is checked, and a PNG, whose container is read and rewritten
//!   without metadata), each on a ticket of its own, median of 5;
//! * the bytes one presence frame costs on the wire, each way.
//!
//! Run with `cargo xtask bench` (or `cargo bench -p stufe-server --bench attachments`).

use std::time::{Duration, Instant};

use automerge::sync;
use rand::Rng;
use stufe_shared::files::MAX_FILE_BYTES;
use stufe_shared::protocol::{ClientFrame, ServerFrame};
use stufe_shared::{DocId, TicketId};

#[path = "common/figures.rs"]
mod figures;
use figures::percentile;
#[path = "common/client.rs"]
mod client;
use client::{new_ticket, new_visitor, open, sync_until_acked, Server};

const ROUNDS: usize = 5;

/// A stored ticket of a new visitor, with its token.
async fn ticket(server: &Server) -> (TicketId, String) {
    let (id, token) = new_visitor();
    let doc_id = DocId::Ticket(id);
    let mut ws = server.connect().await;
    open(&mut ws, &doc_id, Some(&token)).await;
    let mut doc = new_ticket(id);
    sync_until_acked(&mut ws, &doc_id, &mut doc, &mut sync::State::new()).await;
    let _ = ws.close(None).await;
    (id, token)
}

fn text_file(rng: &mut impl Rng) -> Vec<u8> {
    (0..MAX_FILE_BYTES)
        .map(|i| {
            if i % 80 == 79 {
                b'\n'
            } else {
                rng.random_range(b'a'..=b'z')
            }
        })
        .collect()
}

/// CRC-32 (IEEE) of a PNG chunk's type and data.
fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG-shaped file: signature, header, one large data chunk, end.
fn png_file(rng: &mut impl Rng) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        [
            &u32::try_from(data.len()).unwrap().to_be_bytes()[..],
            kind,
            data,
            &crc32(&[kind, data]).to_be_bytes(),
        ]
        .concat()
    };
    let overhead = 8 + 25 + 12 + 12;
    let data: Vec<u8> = (0..MAX_FILE_BYTES - overhead)
        .map(|_| rng.random())
        .collect();
    [
        b"\x89PNG\r\n\x1a\n".to_vec(),
        chunk(b"IHDR", &[0, 0, 4, 0, 0, 0, 4, 0, 8, 6, 0, 0, 0]),
        chunk(b"IDAT", &data),
        chunk(b"IEND", &[]),
    ]
    .concat()
}

fn mib_per_s(bytes: usize, took: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / took.as_secs_f64()
}

async fn measure(server: &Server, kind: &str, make: fn(&mut rand::rngs::ThreadRng) -> Vec<u8>) {
    let http = reqwest::Client::new();
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let bytes = make(&mut rand::rng());
        let (id, token) = ticket(server).await;
        let started = Instant::now();
        let response = http
            .post(server.url(&format!("/api/sites/demo/tickets/{id}/files?name=f")))
            .bearer_auth(&token)
            .body(bytes.clone())
            .send()
            .await
            .expect("upload");
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        let file: serde_json::Value = response.json().await.expect("the reference");
        up.push(started.elapsed());
        let hash = file["hash"].as_str().expect("a hash").to_owned();
        let started = Instant::now();
        let got = http
            .get(server.url(&format!("/api/sites/demo/tickets/{id}/files/{hash}")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("download")
            .bytes()
            .await
            .expect("the body");
        down.push(started.elapsed());
        assert_eq!(got.len() as i64, file["size"].as_i64().unwrap());
    }
    up.sort();
    down.sort();
    let size = MAX_FILE_BYTES;
    println!(
        "  {kind:<5} 10 MiB: upload {:>6.1} MiB/s (median; {:.0} ms), download {:>6.1} MiB/s (median; {:.0} ms)",
        mib_per_s(size, percentile(&up, 0.5)),
        percentile(&up, 0.5).as_secs_f64() * 1000.0,
        mib_per_s(size, percentile(&down, 0.5)),
        percentile(&down, 0.5).as_secs_f64() * 1000.0,
    );
}

/// A WebSocket frame's header: 2 bytes up to 125 bytes of payload, 4 more when masked (client to server).
fn framed(payload: usize, masked: bool) -> usize {
    let header = if payload <= 125 { 2 } else { 4 };
    header + payload + if masked { 4 } else { 0 }
}

#[tokio::main]
async fn main() {
    let data = tempfile::tempdir().expect("a temp dir");
    let server = Server::start(data.path(), 0);
    println!("attachments ({ROUNDS} rounds each, loopback, release server):");
    measure(&server, "text", text_file).await;
    measure(&server, "png", png_file).await;

    let doc = DocId::Ticket(TicketId::from_bytes([7; 16])).to_string();
    let customer = serde_json::to_string(&ClientFrame::Typing { doc: doc.clone() }).unwrap();
    let named = serde_json::to_string(&ServerFrame::Typing {
        doc: doc.clone(),
        name: Some("Sam Support".into()),
    })
    .unwrap();
    let unnamed = serde_json::to_string(&ServerFrame::Typing { doc, name: None }).unwrap();
    println!("presence frames (JSON payload / on the wire with the WebSocket header):");
    println!(
        "  customer typing, client to server: {} / {} bytes",
        customer.len(),
        framed(customer.len(), true)
    );
    println!(
        "  staff typing, server to client, named \"Sam Support\": {} / {} bytes",
        named.len(),
        framed(named.len(), false)
    );
    println!(
        "  staff typing, server to client, unnamed: {} / {} bytes",
        unnamed.len(),
        framed(unnamed.len(), false)
    );
}
