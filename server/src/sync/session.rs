//! One WebSocket connection: control frames, sync frames, limits and heartbeats.
//! This file runs the connection (reading, rate and size limits, heartbeats,
//! answering errors); `control` handles `identify` and `open`,
//! `sync_frames` the binary sync messages.

use automerge::ChangeHash;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use automerge::sync;
use axum::extract::ws::{Message, WebSocket};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use stufe_shared::protocol::{
    encode_sync_frame, ClientFrame, ErrorCode, ServerFrame, SyncFrame, MAX_FRAMES_PER_SECOND,
    MAX_FRAME_BYTES, MAX_OPEN_DOCS, PROTOCOL_VERSION,
};
use stufe_shared::site::SiteConfig;
use stufe_shared::validate::Role;
use stufe_shared::{DocId, SiteKey, TicketId};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::identity::{self, IdentityError, VerifiedCustomer};
use crate::links;
use crate::storage::{self, Storage, TicketFilter};

mod control;
mod sync_frames;

use super::error::HubError;
use super::hub::{Changed, DocEntry, Hub, News, Received, Sender, SubscriberId};
use super::presence::{Presence, Signal};

const PING_EVERY: Duration = Duration::from_secs(20);
const DEAD_AFTER: Duration = Duration::from_secs(60);

static NEXT_SUBSCRIBER: AtomicU64 = AtomicU64::new(1);

/// At most this many ticket ids are listed in `identified`.
const MAX_IDENTIFIED_TICKETS: usize = 100;

/// Everything a session needs that outlives it.
pub struct SessionContext {
    pub hub: Arc<Hub>,
    /// Where the customer's typing goes (the staff's comes through `hub`).
    pub presence: Arc<Presence>,
    /// Site secrets and revoked links (the documents go through `hub`).
    pub storage: Arc<dyn crate::storage::Storage>,
    pub site: SiteKey,
    pub config: Arc<SiteConfig>,
    pub role: Role,
    pub shutdown: CancellationToken,
    /// The key that signs ticket links in emails (see [`crate::links`]).
    pub link_key: Arc<str>,
    /// Where the connection comes from, and the limits on new tickets.
    pub address: std::net::IpAddr,
    pub limiter: Arc<crate::limits::Limiter>,
    /// Told of every ticket this connection created, once it is stored,
    /// with the signed-in customer who created it (the email confirmation
    /// starts there); the creation is acknowledged after it is done.
    pub on_created: Arc<
        dyn Fn(TicketId, Option<VerifiedCustomer>) -> futures_util::future::BoxFuture<'static, ()>
            + Send
            + Sync,
    >,
}

/// Changes the peer sent whose dependencies the server lacks, kept (in
/// memory, never stored) until the peer sends what they were built on.
struct Pending {
    chunks: Vec<Vec<u8>>,
    /// How often the peer was asked for the missing changes.
    asks: u8,
}

/// The peer is asked this often for missing changes before its changes are refused.
const MAX_ASKS: u8 = 4;
/// At most this many bytes of changes are kept waiting for their dependencies.
const MAX_PENDING_BYTES: usize = MAX_FRAME_BYTES;

struct OpenDoc {
    entry: Arc<DocEntry>,
    peer: sync::State,
    /// The heads last acknowledged to this peer (no ack is sent twice).
    acked: Option<Vec<ChangeHash>>,
    /// Boxed: almost always empty, and idle widgets are many.
    pending: Option<Box<Pending>>,
}

/// The documents open on one connection (a widget has two: its site's
/// knowledge base and its ticket; at most [`MAX_OPEN_DOCS`]). A list, grown
/// one entry at a time: with tens of thousands of idle widgets, what each
/// holds counts.
#[derive(Default)]
struct OpenDocs(Vec<(DocId, OpenDoc)>);

impl OpenDocs {
    fn contains_key(&self, id: &DocId) -> bool {
        self.0.iter().any(|(open, _)| open == id)
    }

    fn get_mut(&mut self, id: &DocId) -> Option<&mut OpenDoc> {
        self.0
            .iter_mut()
            .find_map(|(open, doc)| (open == id).then_some(doc))
    }

    fn insert(&mut self, id: DocId, doc: OpenDoc) {
        self.0.reserve_exact(1);
        self.0.push((id, doc));
    }

    fn remove(&mut self, id: &DocId) -> Option<OpenDoc> {
        let index = self.0.iter().position(|(open, _)| open == id)?;
        Some(self.0.swap_remove(index).1)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn values(&self) -> impl Iterator<Item = &OpenDoc> {
        self.0.iter().map(|(_, doc)| doc)
    }
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

struct Session<O> {
    ctx: SessionContext,
    id: SubscriberId,
    open: OpenDocs,
    changed: Arc<Changed>,
    out: O,
    /// The customer this connection is signed in as (`identify`), if any.
    customer: Option<Box<VerifiedCustomer>>,
}

/// A control frame as the text message it is sent as.
fn control_message(frame: &ServerFrame) -> Message {
    let json = serde_json::to_string(frame).expect("server frames serialize");
    Message::Text(json.into())
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
pub fn run(socket: WebSocket, ctx: SessionContext) -> impl Future<Output = ()> {
    let (out, incoming) = socket.split();
    run_on(incoming, out, ctx)
}

/// Runs a session over any stream of incoming messages and sink for outgoing
/// ones: a WebSocket in production, in-memory channels in tests.
///
/// The session is built here and only it is moved into the future: an idle
/// widget's whole connection is that future, and an `async fn` would hold
/// its arguments beside the session they were moved into.
pub fn run_on<I, O>(mut incoming: I, out: O, ctx: SessionContext) -> impl Future<Output = ()>
where
    I: Stream<Item = Result<Message, axum::Error>> + Unpin,
    O: Sink<Message> + Unpin,
{
    let changed = Arc::new(Changed::default());
    let mut session = Session {
        id: NEXT_SUBSCRIBER.fetch_add(1, Ordering::Relaxed),
        ctx,
        open: OpenDocs::default(),
        changed: Arc::clone(&changed),
        out,
        customer: None,
    };
    // Debug level: an enabled span per session costs every idle widget memory.
    let span = tracing::debug_span!("sync_session", id = session.id, site = %session.ctx.site);
    async move {
        // Instrumenting (not entering) the span: a guard held across `.await`
        // would attribute other sessions' log lines to this one.
        session
            .serve(&mut incoming, &changed)
            .instrument(span)
            .await;
    }
}

impl<O: Sink<Message> + Unpin> Session<O> {
    async fn serve<I>(&mut self, incoming: &mut I, changed: &Changed)
    where
        I: Stream<Item = Result<Message, axum::Error>> + Unpin,
    {
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
                        // Boxed: the work on one frame needs a large future for
                        // a moment; kept inline, every idle session would carry it.
                        Message::Text(text) => Box::pin(session.on_text(text.as_str())).await,
                        Message::Binary(bytes) => Box::pin(session.on_binary(&bytes)).await,
                        Message::Close(_) => false,
                        Message::Ping(_) | Message::Pong(_) => true,
                    };
                }
                news = changed.next() => {
                    alive = Box::pin(session.tell(news)).await;
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

    /// Sends what happened to the open documents: the changes the peer
    /// lacks (then their acks), and who of the staff is typing.
    async fn tell(&mut self, news: News) -> bool {
        for id in news.docs {
            if !self.push_and_ack(&id).await {
                return false;
            }
        }
        for (id, name) in news.typing {
            if self.open.contains_key(&id) {
                let typing = ServerFrame::Typing {
                    doc: id.to_string(),
                    name,
                };
                if !self.send_control(&typing).await {
                    return false;
                }
            }
        }
        true
    }

    async fn send_control(&mut self, frame: &ServerFrame) -> bool {
        self.out.send(control_message(frame)).await.is_ok()
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
        tracing::info!(code, cause = ?text, "closing a socket");
        let frame = axum::extract::ws::CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = self.out.send(Message::Close(Some(frame))).await;
    }

    async fn send_error(&mut self, doc: Option<&DocId>, code: ErrorCode, message: &str) -> bool {
        tracing::info!(?code, doc = ?doc.map(ToString::to_string), why = ?message, "refused");
        let frame = ServerFrame::Error {
            doc: doc.map(ToString::to_string),
            code,
            message: message.to_owned(),
        };
        self.send_control(&frame).await
    }
}

/// Sessions without sockets: the session runs over in-memory channels, and
/// time is tokio's paused test clock, so nothing here waits on a wall clock.
#[cfg(test)]
mod tests {
    use std::pin::Pin;

    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;
    use automerge::AutoCommit;

    use tokio::sync::mpsc;

    use super::*;
    use crate::storage::{prelude::SiteStore, SqliteStorage};

    type Incoming = Pin<Box<dyn Stream<Item = Result<Message, axum::Error>> + Send>>;
    type Outgoing = Pin<Box<dyn Sink<Message, Error = ()> + Send>>;

    struct Peer {
        to_session: mpsc::UnboundedSender<Result<Message, axum::Error>>,
        from_session: mpsc::UnboundedReceiver<Message>,
        done: tokio::task::JoinHandle<()>,
        _dir: tempfile::TempDir,
    }

    fn start() -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("s.sqlite")).unwrap();
        let site: SiteKey = "demo".parse().unwrap();
        storage.put_site(&site, &crate::seed::demo_site()).unwrap();
        let storage: Arc<dyn crate::storage::Storage> = Arc::new(storage);
        let hub = Arc::new(Hub::with_clock(storage.clone(), Arc::new(|| 1_000)));
        let ctx = SessionContext {
            presence: Arc::new(Presence::new(hub.clone(), storage.clone())),
            hub,
            storage,
            site,
            config: Arc::new(crate::seed::demo_site()),
            role: Role::Customer,
            shutdown: CancellationToken::new(),
            link_key: "test-link-key".into(),
            address: std::net::Ipv4Addr::LOCALHOST.into(),
            limiter: Arc::new(crate::limits::Limiter::new(Default::default())),
            on_created: Arc::new(|_, _| Box::pin(async {})),
        };
        let (to_session, rx) = mpsc::unbounded_channel();
        let incoming: Incoming = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|m| (m, rx))
        }));
        let (tx, from_session) = mpsc::unbounded_channel();
        let out: Outgoing = Box::pin(futures_util::sink::unfold(
            tx,
            |tx, message: Message| async move { tx.send(message).map(|()| tx).map_err(|_| ()) },
        ));
        Peer {
            to_session,
            from_session,
            done: tokio::spawn(run_on(incoming, out, ctx)),
            _dir: dir,
        }
    }

    impl Peer {
        fn send_text(&self, text: &str) {
            self.to_session
                .send(Ok(Message::Text(text.to_owned().into())))
                .unwrap();
        }

        async fn control(&mut self) -> ServerFrame {
            loop {
                match self.from_session.recv().await.expect("the session answers") {
                    Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
                    Message::Binary(_) | Message::Ping(_) => continue,
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_change_to_the_knowledge_base_closes_it_on_the_connection() {
        let mut peer = start();
        assert!(matches!(peer.control().await, ServerFrame::Hello { .. }));
        peer.send_text(r#"{"type":"open","doc":"kb:demo:en"}"#);
        assert!(matches!(peer.control().await, ServerFrame::Opened { .. }));

        let mut local = AutoCommit::new();
        local.put(automerge::ROOT, "schema", "stufe.kb/1").unwrap();
        let mut state = automerge::sync::State::new();
        let doc: DocId = "kb:demo:en".parse().unwrap();
        // A plain sync loop until the server answers with an error.
        let send = |local: &mut AutoCommit, state: &mut automerge::sync::State| {
            local
                .sync()
                .generate_sync_message(state)
                .map(|m| Message::Binary(encode_sync_frame(&doc, &m.encode()).into()))
        };
        let mut last_sent = None;
        if let Some(frame) = send(&mut local, &mut state) {
            last_sent = Some(frame.clone());
            peer.to_session.send(Ok(frame)).unwrap();
        }
        let code = loop {
            match peer.from_session.recv().await.expect("the session answers") {
                Message::Binary(bytes) => {
                    let frame = SyncFrame::decode(&bytes).unwrap();
                    let message = automerge::sync::Message::decode(&frame.message).unwrap();
                    local
                        .sync()
                        .receive_sync_message(&mut state, message)
                        .unwrap();
                    if let Some(frame) = send(&mut local, &mut state) {
                        last_sent = Some(frame.clone());
                        peer.to_session.send(Ok(frame)).unwrap();
                    }
                }
                Message::Text(text) => {
                    if let ServerFrame::Error { code, .. } =
                        serde_json::from_str(text.as_str()).unwrap()
                    {
                        break code;
                    }
                }
                _ => {}
            }
        };
        assert_eq!(code, ErrorCode::RejectedChange);
        // Offered again: `not_open`, and no sync traffic.
        peer.to_session.send(Ok(last_sent.unwrap())).unwrap();
        let ServerFrame::Error { code, .. } = peer.control().await else {
            panic!("expected an error")
        };
        assert_eq!(code, ErrorCode::NotOpen);
        // (A frame the client had in flight when the refusal came gets `not_open` too.)
        while let Ok(message) = peer.from_session.try_recv() {
            let quiet = match &message {
                Message::Ping(_) => true,
                Message::Text(text) => text.contains("not_open"),
                _ => false,
            };
            assert!(quiet, "no sync traffic after a refusal: {message:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_peer_is_dropped_after_the_dead_peer_timeout() {
        let mut peer = start();
        assert!(matches!(peer.control().await, ServerFrame::Hello { .. }));
        tokio::time::advance(DEAD_AFTER - Duration::from_secs(5)).await;
        assert!(!peer.done.is_finished(), "still alive before the timeout");
        // Pings go out meanwhile.
        assert!(matches!(
            peer.from_session.recv().await,
            Some(Message::Ping(_))
        ));
        tokio::time::advance(PING_EVERY * 2).await;
        tokio::time::timeout(Duration::from_secs(1), &mut peer.done)
            .await
            .expect("the session ended")
            .unwrap();
    }
}
