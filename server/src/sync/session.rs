//! One WebSocket connection: control frames, sync frames, limits and heartbeats.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::sync;
use axum::extract::ws::{Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use stufe_shared::protocol::{
    encode_sync_frame, ClientFrame, ErrorCode, ServerFrame, SyncFrame, MAX_FRAMES_PER_SECOND,
    MAX_FRAME_BYTES, MAX_OPEN_DOCS, PROTOCOL_VERSION,
};
use stufe_shared::site::SiteConfig;
use stufe_shared::validate::Role;
use stufe_shared::{DocId, SiteKey};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::hub::{DocEntry, Hub, HubError, Received, Sender, SubscriberId};

const PING_EVERY: Duration = Duration::from_secs(20);
const DEAD_AFTER: Duration = Duration::from_secs(60);

static NEXT_SUBSCRIBER: AtomicU64 = AtomicU64::new(1);

/// Everything a session needs that outlives it.
pub struct SessionContext {
    pub hub: Arc<Hub>,
    pub site: SiteKey,
    pub config: SiteConfig,
    pub role: Role,
    pub shutdown: CancellationToken,
}

struct OpenDoc {
    entry: Arc<DocEntry>,
    peer: sync::State,
    /// The heads last acknowledged to this peer (no ack is sent twice).
    acked: Option<Vec<String>>,
}

/// A token bucket: `rate` frames per second, bursts up to twice that.
struct RateLimit {
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    fn new() -> Self {
        Self {
            tokens: f64::from(MAX_FRAMES_PER_SECOND) * 2.0,
            last: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        let rate = f64::from(MAX_FRAMES_PER_SECOND);
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * rate).min(rate * 2.0);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct Session {
    ctx: SessionContext,
    id: SubscriberId,
    open: HashMap<DocId, OpenDoc>,
    changed_tx: mpsc::UnboundedSender<DocId>,
    out: futures_util::stream::SplitSink<WebSocket, Message>,
}

/// The size of a text or binary message's payload.
fn payload_len(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
        _ => 0,
    }
}

/// Runs one connection until the peer leaves, goes silent, or the server shuts down.
pub async fn run(socket: WebSocket, ctx: SessionContext) {
    let (out, mut incoming) = socket.split();
    let (changed_tx, mut changed_rx) = mpsc::unbounded_channel();
    let mut session = Session {
        id: NEXT_SUBSCRIBER.fetch_add(1, Ordering::Relaxed),
        ctx,
        open: HashMap::new(),
        changed_tx,
        out,
    };
    let span = tracing::info_span!("sync_session", id = session.id, site = %session.ctx.site);
    // Instrumenting (not entering) the span: a guard held across `.await`
    // would attribute other sessions' log lines to this one.
    session
        .serve(&mut incoming, &mut changed_rx)
        .instrument(span)
        .await;
}

impl Session {
    async fn serve(
        &mut self,
        incoming: &mut futures_util::stream::SplitStream<WebSocket>,
        changed_rx: &mut mpsc::UnboundedReceiver<DocId>,
    ) {
        let session = self;
        let hello = ServerFrame::Hello {
            protocol: PROTOCOL_VERSION,
            max_frame_bytes: MAX_FRAME_BYTES,
        };
        let mut alive = session.send_control(&hello).await;
        let mut last_seen = Instant::now();
        let mut limit = RateLimit::new();
        let mut ping = tokio::time::interval(PING_EVERY);
        let shutdown = session.ctx.shutdown.clone();
        while alive {
            tokio::select! {
                message = incoming.next() => {
                    let message = match message {
                        Some(Ok(message)) => message,
                        Some(Err(err)) => {
                            session.close_for(&err).await;
                            break;
                        }
                        None => break,
                    };
                    last_seen = Instant::now();
                    alive = match message {
                        Message::Text(_) | Message::Binary(_) if !limit.allow() => {
                            // Name the document of a dropped sync frame, so the client knows what to resend.
                            let doc = match &message {
                                Message::Binary(bytes) => SyncFrame::decode(bytes).ok().map(|f| f.doc),
                                _ => None,
                            };
                            session.send_error(doc.as_ref(), ErrorCode::RateLimited, "too many frames; slow down").await
                        }
                        Message::Text(_) | Message::Binary(_) if payload_len(&message) > MAX_FRAME_BYTES => {
                            session.send_error(None, ErrorCode::FrameTooLarge, "frame exceeds the size limit").await
                        }
                        Message::Text(text) => session.on_text(text.as_str()).await,
                        Message::Binary(bytes) => session.on_binary(&bytes).await,
                        Message::Close(_) => false,
                        Message::Ping(_) | Message::Pong(_) => true,
                    };
                }
                Some(id) = changed_rx.recv() => {
                    alive = session.push(&id).await && session.flush_ack(&id).await;
                }
                _ = ping.tick() => {
                    alive = last_seen.elapsed() < DEAD_AFTER
                        && session.out.send(Message::Ping(Vec::new().into())).await.is_ok();
                }
                () = shutdown.cancelled() => {
                    let _ = session.out.send(Message::Close(None)).await;
                    break;
                }
            }
        }
        for doc in session.open.values() {
            doc.entry.unsubscribe(session.id);
        }
        tracing::debug!("session ended");
    }

    async fn send_control(&mut self, frame: &ServerFrame) -> bool {
        let json = serde_json::to_string(frame).expect("server frames serialize");
        self.out.send(Message::Text(json.into())).await.is_ok()
    }

    /// Closes the socket with the WebSocket close code that names what was
    /// wrong with an unreadable message, instead of dropping the connection:
    /// 1009 for a message over the hard limit, 1007 for text that is not UTF-8,
    /// 1002 for any other protocol violation.
    async fn close_for(&mut self, err: &axum::Error) {
        // axum wraps tungstenite's error; its text is the stable way to tell them apart.
        let text = err.to_string();
        let (code, reason) = if text.contains("Space limit exceeded") || text.contains("too long") {
            (1009, "message too large")
        } else if text.contains("UTF-8") || text.contains("utf-8") || text.contains("Utf8") {
            (1007, "text frame is not valid UTF-8")
        } else {
            (1002, "protocol error")
        };
        tracing::info!(code, "closing a socket: {text}");
        let frame = axum::extract::ws::CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = self.out.send(Message::Close(Some(frame))).await;
    }

    async fn send_error(&mut self, doc: Option<&DocId>, code: ErrorCode, message: &str) -> bool {
        tracing::info!(?code, doc = ?doc.map(ToString::to_string), "refused: {message}");
        let frame = ServerFrame::Error {
            doc: doc.map(ToString::to_string),
            code,
            message: message.to_owned(),
        };
        self.send_control(&frame).await
    }

    async fn on_text(&mut self, text: &str) -> bool {
        if !text.trim_start().starts_with('{') {
            return self
                .send_error(
                    None,
                    ErrorCode::BadFrame,
                    "a control frame is a JSON object",
                )
                .await;
        }
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(err) => {
                return self
                    .send_error(
                        None,
                        ErrorCode::BadFrame,
                        &format!("bad control frame: {err}"),
                    )
                    .await
            }
        };
        match frame {
            ClientFrame::Open { doc, token } => self.open(&doc, &token).await,
            ClientFrame::Close { doc } => {
                if let Ok(id) = doc.parse::<DocId>() {
                    if let Some(open) = self.open.remove(&id) {
                        open.entry.unsubscribe(self.id);
                    }
                }
                true
            }
        }
    }

    async fn open(&mut self, doc: &str, token: &str) -> bool {
        let doc_id: DocId = match doc.parse() {
            Ok(id) => id,
            Err(err) => {
                return self
                    .send_error(None, ErrorCode::BadFrame, &err.to_string())
                    .await
            }
        };
        if self.open.contains_key(&doc_id) {
            // Opening an open document again restarts its sync from scratch.
            if let Some(open) = self.open.get_mut(&doc_id) {
                open.peer = sync::State::new();
                open.acked = None;
            }
            let opened = ServerFrame::Opened {
                doc: doc_id.to_string(),
                exists: true,
            };
            return self.send_control(&opened).await
                && self.push(&doc_id).await
                && self.flush_ack(&doc_id).await;
        }
        if self.open.len() >= MAX_OPEN_DOCS {
            return self
                .send_error(
                    Some(&doc_id),
                    ErrorCode::TooManyDocs,
                    "too many open documents",
                )
                .await;
        }
        let opened = match self.ctx.hub.entry(&doc_id).await {
            Ok(entry) => entry
                .authorize(&self.ctx.site, token)
                .await
                .map(|o| (entry, o)),
            Err(err) => Err(err),
        };
        let (entry, opened) = match opened {
            Ok(ok) => ok,
            Err(err) => {
                return self
                    .send_error(Some(&doc_id), err.code(), &err.to_string())
                    .await
            }
        };
        entry.subscribe(self.id, self.changed_tx.clone());
        self.open.insert(
            doc_id.clone(),
            OpenDoc {
                entry,
                peer: sync::State::new(),
                acked: None,
            },
        );
        let opened = ServerFrame::Opened {
            doc: doc_id.to_string(),
            exists: opened.exists,
        };
        self.send_control(&opened).await
            && self.push(&doc_id).await
            && self.flush_ack(&doc_id).await
    }

    async fn on_binary(&mut self, bytes: &[u8]) -> bool {
        let frame = match SyncFrame::decode(bytes) {
            Ok(frame) => frame,
            Err(err) => {
                return self
                    .send_error(None, ErrorCode::BadFrame, &err.to_string())
                    .await
            }
        };
        let id = frame.doc.clone();
        let Some(open) = self.open.get_mut(&id) else {
            return self
                .send_error(
                    Some(&frame.doc),
                    ErrorCode::NotOpen,
                    "open the document before syncing it",
                )
                .await;
        };
        let sender = Sender {
            id: self.id,
            role: self.ctx.role,
            site: &self.ctx.site,
            config: &self.ctx.config,
        };
        let result = self
            .ctx
            .hub
            .receive(&open.entry, &mut open.peer, &sender, &frame.message)
            .await;
        match result {
            // Our side of the sync goes first, so acked heads are known when the ack arrives.
            Ok(Received::NothingNew | Received::Committed(_)) => {
                self.push(&id).await && self.flush_ack(&id).await
            }
            Err(HubError::Storage(cause)) => {
                tracing::error!(%cause, "storage failed while committing a change");
                self.send_error(
                    Some(&frame.doc),
                    ErrorCode::Internal,
                    "the change could not be stored; retry later",
                )
                .await
            }
            Err(err) => {
                // The peer still holds what was refused and would offer it again
                // on every exchange; closing the document here ends that. The
                // client drops the refused changes and opens it again.
                if let Some(open) = self.open.remove(&id) {
                    open.entry.unsubscribe(self.id);
                }
                self.send_error(Some(&frame.doc), err.code(), &err.to_string())
                    .await
            }
        }
    }

    /// Acknowledges the committed heads once the peer has everything they name.
    async fn flush_ack(&mut self, id: &DocId) -> bool {
        let Some(open) = self.open.get_mut(id) else {
            return true;
        };
        let Some(heads) = open.entry.ackable_heads(&open.peer).await else {
            return true;
        };
        if open.acked.as_ref() == Some(&heads) {
            return true;
        }
        open.acked = Some(heads.clone());
        let doc = id.to_string();
        self.send_control(&ServerFrame::Ack { doc, heads }).await
    }

    /// Sends the peer what it lacks of a document.
    async fn push(&mut self, id: &DocId) -> bool {
        let Some(open) = self.open.get_mut(id) else {
            return true;
        };
        if let Some(message) = open.entry.generate(&mut open.peer).await {
            let frame = encode_sync_frame(id, &message);
            if self.out.send(Message::Binary(frame.into())).await.is_err() {
                return false;
            }
        }
        true
    }
}
