//! An open widget as the load clients hold it: connected from one of several
//! loopback addresses, the site's knowledge base synced and one ticket of its
//! own open (created on the way).

// Each bench uses part of this module.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use automerge::sync;
use automerge::AutoCommit;
use futures_util::StreamExt;
use rand::Rng;
use stufe_shared::protocol::ServerFrame;
use stufe_shared::{DocId, TicketId};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

use super::client::new_ticket;
use super::client::{self, next_control, open, sync_until_acked, Socket};

/// One open widget and the documents it holds.
pub struct Widget {
    pub ws: Socket,
    pub kb: AutoCommit,
    pub kb_peer: sync::State,
    pub ticket: TicketId,
    pub token: String,
    pub ticket_doc: AutoCommit,
    /// A sync message that arrived and is not applied yet.
    pub pending: Option<Vec<u8>>,
}

pub fn kb_id() -> DocId {
    "kb:demo:en".parse().expect("doc id")
}

/// Connects from one of several loopback addresses, so that many thousands of
/// connections do not run out of local ports.
pub async fn connect(port: u16, n: usize) -> std::io::Result<Socket> {
    let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (n % 8) as u8));
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let url = format!("ws://127.0.0.1:{port}/ws?site=demo");
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(
        url,
        MaybeTlsStream::Plain(stream),
        Some(config),
    )
    .await
    .map_err(std::io::Error::other)?;
    match next_control(&mut ws).await {
        ServerFrame::Hello { .. } => Ok(ws),
        other => Err(std::io::Error::other(format!(
            "expected hello, got {other:?}"
        ))),
    }
}

/// Opens a widget: connect, sync the knowledge base, open (and on the first
/// time create) its ticket. Documents it held before are synced, not replaced.
pub async fn open_widget(
    port: u16,
    n: usize,
    held: Option<(AutoCommit, TicketId, String, AutoCommit)>,
) -> std::io::Result<Widget> {
    let mut ws = connect(port, n).await?;
    let (mut kb, ticket, token, mut ticket_doc) = held.unwrap_or_else(|| {
        let mut rng = rand::rng();
        let id = TicketId::from_bytes(rng.random());
        let token = hex::encode(rng.random::<[u8; 32]>());
        (AutoCommit::new(), id, token, new_ticket(id))
    });
    let mut kb_peer = sync::State::new();
    open(&mut ws, &kb_id(), None).await;
    sync_until_acked(&mut ws, &kb_id(), &mut kb, &mut kb_peer).await;
    let ticket_id = DocId::Ticket(ticket);
    open(&mut ws, &ticket_id, Some(&token)).await;
    sync_until_acked(
        &mut ws,
        &ticket_id,
        &mut ticket_doc,
        &mut sync::State::new(),
    )
    .await;
    Ok(Widget {
        ws,
        kb,
        kb_peer,
        ticket,
        token,
        ticket_doc,
        pending: None,
    })
}

/// Waits for the next knowledge-base sync message; returns when it arrived.
/// The widget applies and answers it afterwards, in [`settle`], so that the
/// load client's own work does not delay the arrivals it measures.
pub async fn receive_kb_change(mut widget: Widget) -> (Widget, Instant) {
    loop {
        match widget.ws.next().await {
            Some(Ok(Message::Binary(bytes))) => {
                let at = Instant::now();
                widget.pending = Some(bytes.to_vec());
                return (widget, at);
            }
            Some(Ok(_)) => continue,
            other => panic!("socket ended: {other:?}"),
        }
    }
}

/// Handles what arrived and what the server sends until it has been quiet for 50 ms.
pub async fn settle(widget: &mut Widget) {
    let pending = widget.pending.take();
    client::settle(
        &mut widget.ws,
        &kb_id(),
        &mut widget.kb,
        &mut widget.kb_peer,
        pending,
    )
    .await;
}
