//! [`Hub`]: the live documents (tickets, knowledge-base catalogues) and the
//! commit path every change takes. This file holds the documents in memory
//! (loading, the per-document state, access checks); `commit` the commit
//! path, `fanout` the subscribers and other servers' changes, `sleep` the
//! idle tickets put to sleep.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use automerge::sync::{self, SyncDoc};
use automerge::transaction::CommitOptions;
use automerge::{AutoCommit, ChangeHash, SaveOptions};
use stufe_shared::protocol::{is_well_formed_token, MAX_TICKET_DOC_BYTES};
use stufe_shared::site::SiteConfig;
use stufe_shared::ticket::{self, FileRef, Projection, Status, Ticket};
use stufe_shared::validate::{Role, SiteRules};
use stufe_shared::{DocId, Locale, SiteKey, TicketId};
use tokio::sync::{Mutex, OnceCell};

mod commit;
mod fanout;
mod replies;
mod sleep;

use replies::{peer_state_key, Replies, Reply, WholeDocument, MAX_REPLIES_PER_VERSION};

use super::decide::{decide_ticket, server_actor, Decision, Judged};
use super::error::HubError;
use super::projected::{project, Projected};
use sha2::{Digest, Sha256};

use crate::clock::{now_ms, Clock};
use crate::identity::VerifiedCustomer;
use crate::storage::{
    self, DocBytes, DocChanges, DocWrite, GroupCommit, SharedDocStore, StorageError, TicketSummary,
};
use crate::tokens::token_hash;

/// Identifies one subscriber (a WebSocket session) for fan-out.
pub type SubscriberId = u64;

pub struct Hub {
    /// The documents only: the hub reads and writes nothing else.
    storage: SharedDocStore,
    writer: GroupCommit,
    docs: Mutex<Docs>,
    clock: Clock,
    /// The site of every committed ticket change (the console's live queue).
    tickets_changed: tokio::sync::broadcast::Sender<SiteKey>,
}

/// Recently used tickets stay loaded, this many at most, so the staff API and
/// returning customers do not load a ticket from storage for every change.
const WARM_TICKETS: usize = 256;

/// The documents the hub knows of.
#[derive(Default)]
struct Docs {
    /// Every entry someone holds (sessions hold the ones they have open).
    live: HashMap<DocId, Weak<DocEntry>>,
    /// `live` had this many entries when dropped ones were last swept out.
    swept_at: usize,
    /// Knowledge-base catalogues (two per site) stay loaded.
    catalogues: HashMap<DocId, Arc<DocEntry>>,
    /// The most recently used tickets, with when they were last used.
    recent_tickets: HashMap<DocId, (Arc<DocEntry>, u64)>,
    uses: u64,
}

impl Docs {
    fn keep_warm(&mut self, entry: &Arc<DocEntry>) {
        if let DocId::Kb { .. } = entry.id {
            self.catalogues
                .entry(entry.id.clone())
                .or_insert_with(|| Arc::clone(entry));
            return;
        }
        self.uses += 1;
        self.recent_tickets
            .insert(entry.id.clone(), (Arc::clone(entry), self.uses));
        if self.recent_tickets.len() > WARM_TICKETS {
            let oldest = self
                .recent_tickets
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.recent_tickets.remove(&oldest);
            }
        }
    }

    /// Forgets dropped entries once the map has doubled since the last sweep,
    /// so finding an entry stays cheap however many documents come and go.
    fn sweep(&mut self) {
        if self.live.len() >= (self.swept_at * 2).max(64) {
            self.live.retain(|_, weak| weak.strong_count() > 0);
            self.swept_at = self.live.len();
        }
    }
}

/// One live document (a ticket or a knowledge-base catalogue) and its subscribers.
pub struct DocEntry {
    pub id: DocId,
    /// Loaded once, outside the hub's map lock, so a slow load of one
    /// document never holds up opening another.
    loaded: OnceCell<Mutex<DocState>>,
    subscribers: std::sync::Mutex<HashMap<SubscriberId, Arc<Changed>>>,
}

struct DocState {
    held: Held,
    /// When the document was last used, by the hub's clock (see [`LastUse`]).
    last_used: LastUse,
    clock: Clock,
    /// Tickets: set once stored, or once the first opener of a new id claimed it.
    token_hash: Option<String>,
    /// Tickets: the signed-in customer whose connection claimed it, if any;
    /// their other devices open it by identity.
    customer: Option<Box<VerifiedCustomer>>,
    site: Option<SiteKey>,
    stored: bool,
    size: StoredSize,
    /// The position of the newest stored write this copy holds (see
    /// [`DocWrite`]; always 0 on SQLite).
    seq: i64,
    /// Catalogues: the whole-document first message, built once per heads.
    whole: Option<Box<WholeDocument>>,
    replies: Replies,
    /// Tickets: the ticket as the held copy reads, kept so that a change is
    /// checked and projected from what it touched (see [`project`]);
    /// read again when missing. Boxed: most held tickets are asleep without
    /// one, and it is larger than the rest of the entry.
    projection: Option<Box<Projection>>,
}

/// A document in memory, or (a stored ticket nobody touched for a while)
/// nothing of it: an open widget keeps its ticket open for as long as the
/// page is open, and a loaded document weighs ten times its saved bytes,
/// which grow with the conversation.
enum Held {
    /// Boxed: a sleeping ticket's state is then a few words, not the size of a document.
    Awake(Box<AutoCommit>),
    /// Stored, and loaded again from storage by its next use ([`Hub::lock`]).
    Asleep,
    /// Taken out for a change made in place ([`DocState::lend`]) and not put
    /// back yet; still so under a new lock, the change was interrupted and
    /// the stored document is loaded again ([`Hub::lock`]).
    Lent,
    /// The ticket was erased for its customer ([`Hub::retire`]): nothing of
    /// it is held, and every use is refused.
    Erased,
}

impl DocState {
    fn new(
        clock: Clock,
        doc: AutoCommit,
        token_hash: Option<String>,
        site: Option<SiteKey>,
        stored: bool,
        size: StoredSize,
    ) -> Self {
        Self {
            held: Held::Awake(Box::new(doc)),
            last_used: LastUse::now(&clock),
            clock,
            token_hash,
            customer: None,
            site,
            stored,
            size,
            seq: 0,
            whole: None,
            replies: Replies::default(),
            projection: None,
        }
    }

    /// The ticket the held copy reads as (`None`: the document is empty).
    fn projection(&mut self) -> Result<Option<&Projection>, HubError> {
        if self.projection.is_none() {
            self.projection = Projection::read(self.doc()?)
                .map_err(corrupt_ticket)?
                .map(Box::new);
        }
        Ok(self.projection.as_deref())
    }

    /// The document (a state locked with [`Hub::lock`] holds it, unless erased).
    fn doc(&mut self) -> Result<&mut AutoCommit, HubError> {
        self.last_used = LastUse::now(&self.clock);
        match &mut self.held {
            Held::Awake(doc) => Ok(doc),
            Held::Asleep | Held::Lent => Err(HubError::Interrupted),
            Held::Erased => Err(HubError::Storage(StorageError::Erased(String::new()))),
        }
    }

    /// Takes the document out to change it in place (no copy); it is put
    /// back with [`DocState::set_doc`], or the state loaded again.
    fn lend(&mut self) -> Result<AutoCommit, HubError> {
        self.doc()?;
        match std::mem::replace(&mut self.held, Held::Lent) {
            Held::Awake(doc) => Ok(*doc),
            _ => unreachable!("awake above"),
        }
    }

    fn is_lent(&self) -> bool {
        matches!(self.held, Held::Lent)
    }

    fn is_asleep(&self) -> bool {
        matches!(self.held, Held::Asleep)
    }

    /// Drops everything held of an erased ticket; every later use is refused.
    fn erase(&mut self) {
        self.held = Held::Erased;
        self.token_hash = None;
        self.customer = None;
        self.replies = Replies::default();
        self.projection = None;
    }

    fn is_erased(&self) -> bool {
        matches!(self.held, Held::Erased)
    }

    fn set_doc(&mut self, doc: AutoCommit) {
        self.last_used = LastUse::now(&self.clock);
        self.held = Held::Awake(Box::new(doc));
    }

    /// Whether this is a stored ticket that is awake (and could sleep).
    fn may_sleep(&self) -> bool {
        self.stored && matches!(self.held, Held::Awake(_))
    }

    /// Drops the document of a stored, awake ticket (storage has all of
    /// it); false otherwise.
    fn sleep(&mut self) -> bool {
        if !self.may_sleep() {
            return false;
        }
        self.held = Held::Asleep;
        self.replies = Replies::default();
        self.projection = None;
        true
    }
}

/// When a document was last used: the time by the hub's clock (how long it
/// has been idle), and a process-wide count of uses (which was used least
/// recently, also among uses in the same millisecond).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct LastUse {
    order: u64,
    at_ms: i64,
}

impl LastUse {
    fn now(clock: &Clock) -> Self {
        static USES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Self {
            order: USES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            at_ms: clock(),
        }
    }
}

/// A commit that finds another server wrote the document first merges and
/// writes again; this many times at most before it gives up (an error).
const MAX_CATCH_UPS: usize = 16;

/// Below this many appended bytes a document is not compacted into a new
/// snapshot, however small its snapshot.
const MIN_COMPACTION_BYTES: usize = 8 * 1024;

/// What is stored of a document: a snapshot and chunks appended after it.
/// Commits append their changes; once the appended chunks outweigh the
/// snapshot, the next commit writes a new snapshot instead. A commit so costs
/// what its changes weigh, and a full save happens once per its own size in
/// appended bytes.
#[derive(Debug, Clone, Copy, Default)]
struct StoredSize {
    snapshot: usize,
    appended: usize,
}

impl StoredSize {
    /// `total` bytes loaded, of which `appended` were appended chunks.
    fn loaded(total: usize, appended: usize) -> Self {
        Self {
            snapshot: total - appended,
            appended,
        }
    }

    /// How to store `doc` with `added` (its changes since what is stored):
    /// appended; the changes alone when nothing is stored yet; or as a new
    /// snapshot when the appended chunks would outweigh the snapshot, or when
    /// the document may be near `limit` (then its real size is what counts).
    fn next_write(
        self,
        stored: bool,
        doc: &mut AutoCommit,
        added: Vec<u8>,
        limit: Option<usize>,
    ) -> Result<DocBytes, HubError> {
        let appended = self.appended + added.len();
        let near_limit = limit.is_some_and(|l| self.snapshot + appended > l);
        if stored && !near_limit && appended <= self.snapshot.max(MIN_COMPACTION_BYTES) {
            return Ok(DocBytes::Append(added));
        }
        if !stored && !near_limit {
            // A new document's changes are its first stored form (Automerge
            // loads a run of changes as it loads a saved document): a full
            // save of a new ticket cost more than the rest of storing it. It
            // is compacted like appended chunks later.
            return Ok(DocBytes::Snapshot(added));
        }
        let snapshot = doc.save_with_options(SaveOptions {
            deflate: true,
            retain_orphans: false,
        });
        if limit.is_some_and(|l| snapshot.len() > l) {
            return Err(HubError::DocTooLarge);
        }
        Ok(DocBytes::Snapshot(snapshot))
    }

    /// After loading what other servers stored.
    fn after_theirs(self, theirs: &DocChanges) -> Self {
        if theirs.snapshot {
            Self::loaded(theirs.bytes.len(), 0)
        } else {
            Self {
                snapshot: self.snapshot,
                appended: self.appended + theirs.bytes.len(),
            }
        }
    }

    fn after(self, write: &DocBytes) -> Self {
        match write {
            DocBytes::Snapshot(bytes) => Self::loaded(bytes.len(), 0),
            DocBytes::Append(bytes) => Self {
                snapshot: self.snapshot,
                appended: self.appended + bytes.len(),
            },
        }
    }
}

/// Which of a session's open documents changed since it last looked, and who
/// of the staff started typing in them: set by the hub, taken by the session.
/// A hundred bytes per session, where a channel would hold a block of slots;
/// changes to one document that arrive before the session looks are one entry.
#[derive(Default)]
pub struct Changed {
    news: std::sync::Mutex<News>,
    wake: tokio::sync::Notify,
}

/// What a session is told when it wakes.
#[derive(Default, Debug, PartialEq)]
pub struct News {
    /// Documents with committed changes the session may lack.
    pub docs: Vec<DocId>,
    /// Staff typing in a document: the name the widget shows (None: "Support").
    /// Ephemeral: not stored anywhere else.
    pub typing: Vec<(DocId, Option<String>)>,
}

impl News {
    fn is_empty(&self) -> bool {
        self.docs.is_empty() && self.typing.is_empty()
    }
}

impl Changed {
    fn news(&self) -> std::sync::MutexGuard<'_, News> {
        self.news.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn mark(&self, id: &DocId) {
        {
            let mut news = self.news();
            if !news.docs.contains(id) {
                news.docs.push(id.clone());
            }
        }
        self.wake.notify_one();
    }

    /// Someone of the staff is typing in `id` (shown as `name`).
    pub fn mark_typing(&self, id: &DocId, name: Option<&str>) {
        {
            let mut news = self.news();
            news.typing.retain(|(doc, _)| doc != id);
            news.typing.push((id.clone(), name.map(str::to_owned)));
        }
        self.wake.notify_one();
    }

    /// What happened since the last call, once there is something. Cancel-safe:
    /// nothing is taken until it is returned.
    pub async fn next(&self) -> News {
        loop {
            let news = std::mem::take(&mut *self.news());
            if !news.is_empty() {
                return news;
            }
            self.wake.notified().await;
        }
    }
}

/// Who sent a sync message, and under which site's rules it is checked.
#[derive(Clone, Copy)]
pub struct Sender<'a> {
    pub id: SubscriberId,
    pub role: Role,
    pub site: &'a SiteKey,
    pub config: &'a SiteConfig,
    /// Asked (with the time, ms) before a new ticket is stored: `Err` says
    /// why this sender may not create one now (the limits of
    /// [`crate::limits`]), and nothing is stored.
    pub may_create: &'a (dyn Fn(i64) -> Result<(), String> + Sync),
}

/// What applying a sync message did.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Only sync bookkeeping, no new changes.
    NothingNew,
    /// New changes were validated and committed: the new heads (hex), and
    /// whether they created the ticket.
    Committed { heads: Vec<String>, created: bool },
    /// Changes arrived whose dependencies the server lacks (the peer's bloom
    /// filter claimed them wrongly): nothing was checked or stored. The
    /// caller keeps `pending` (the changes of this message and of the
    /// earlier pending ones) for the next message and asks for `missing`.
    Incomplete {
        missing: Vec<ChangeHash>,
        pending: Vec<Vec<u8>>,
    },
}

/// Who opened a document.
pub struct Opened {
    pub exists: bool,
}

impl Hub {
    pub fn new(storage: SharedDocStore) -> Self {
        Self::with_clock(storage, Arc::new(now_ms))
    }

    /// A hub that reads the time from `clock` (tests fix it).
    pub fn with_clock(storage: SharedDocStore, clock: Clock) -> Self {
        Self {
            writer: GroupCommit::new(Arc::clone(&storage)),
            storage,
            docs: Mutex::new(Docs::default()),
            clock,
            tickets_changed: tokio::sync::broadcast::channel(256).0,
        }
    }

    /// Tells of every committed ticket change, by site (lagging receivers
    /// miss some; one notice is enough to refresh a queue).
    pub fn watch_tickets(&self) -> tokio::sync::broadcast::Receiver<SiteKey> {
        self.tickets_changed.subscribe()
    }

    /// The time by the hub's clock, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// The live entry for a document, loading it from storage when nobody holds it.
    /// The map lock is held only to find or insert the entry; the load runs
    /// under the entry's own once-cell, so concurrent opens of the same
    /// document wait for one load and opens of other documents do not wait.
    pub async fn entry(&self, id: &DocId) -> Result<Arc<DocEntry>, HubError> {
        let entry = {
            let mut docs = self.docs.lock().await;
            match docs.live.get(id).and_then(Weak::upgrade) {
                Some(entry) => entry,
                None => {
                    docs.sweep();
                    let entry = Arc::new(DocEntry {
                        id: id.clone(),
                        loaded: OnceCell::new(),
                        subscribers: std::sync::Mutex::new(HashMap::new()),
                    });
                    docs.live.insert(id.clone(), Arc::downgrade(&entry));
                    entry
                }
            }
        };
        entry
            .loaded
            .get_or_try_init(|| async { self.load_state(id).await.map(Mutex::new) })
            .await?;
        drop(self.lock(&entry).await?);
        self.docs.lock().await.keep_warm(&entry);
        Ok(entry)
    }

    /// Locks a loaded entry's state, with its document in memory: an asleep
    /// ticket is loaded again from storage, and so is a state whose document
    /// was lent out and never put back (the change in place was interrupted:
    /// its caller went away mid-commit).
    async fn lock<'a>(
        &self,
        entry: &'a DocEntry,
    ) -> Result<tokio::sync::MutexGuard<'a, DocState>, HubError> {
        let mut st = entry.state().lock().await;
        if st.is_lent() {
            tracing::warn!(doc = %entry.id, "a change was interrupted; loading the document again");
            *st = self.load_state(&entry.id).await?;
        } else if st.is_asleep() {
            let held_up_to = st.seq;
            *st = self.load_state(&entry.id).await?;
            // Other servers wrote it while it slept: its peers are due that.
            if st.seq > held_up_to {
                entry.notify(None);
            }
        }
        Ok(st)
    }

    async fn load_state(&self, id: &DocId) -> Result<DocState, HubError> {
        Ok(match id {
            DocId::Ticket(ticket) => {
                let ticket = *ticket;
                match storage::blocking(&self.storage, move |s| s.ticket(ticket)).await? {
                    Some(stored) => {
                        let doc = load(&stored.bytes, id)?;
                        // Stored tickets were validated when committed; one that no
                        // longer reads is refused rather than served.
                        let projection = Projection::read(&doc)
                            .map_err(corrupt_ticket)?
                            .ok_or_else(|| {
                                HubError::Storage(StorageError::Corrupt(format!("{id}: empty")))
                            })?;
                        let mut state = DocState::new(
                            Arc::clone(&self.clock),
                            doc,
                            Some(stored.token_hash),
                            Some(stored.site),
                            true,
                            StoredSize::loaded(stored.bytes.len(), stored.appended),
                        );
                        state.customer = stored.customer.map(Box::new);
                        state.seq = stored.seq;
                        state.projection = Some(Box::new(projection));
                        state
                    }
                    None => DocState::new(
                        Arc::clone(&self.clock),
                        AutoCommit::new(),
                        None,
                        None,
                        false,
                        StoredSize::default(),
                    ),
                }
            }
            DocId::Kb { site, .. } => {
                let key = id.to_string();
                let stored = storage::blocking(&self.storage, move |s| s.document(&key)).await?;
                let seq = stored.as_ref().map_or(0, |d| d.seq);
                let mut state = DocState::new(
                    Arc::clone(&self.clock),
                    stored
                        .as_ref()
                        .map(|d| load(&d.bytes, id))
                        .transpose()?
                        .unwrap_or_default(),
                    None,
                    Some(site.clone()),
                    true,
                    stored.map_or_else(StoredSize::default, |d| {
                        StoredSize::loaded(d.bytes.len(), d.appended)
                    }),
                );
                state.seq = seq;
                state
            }
        })
    }

    /// A ticket erased for its customer: a copy held here is dropped, and
    /// its subscribers are told (they close it with `erased`).
    pub async fn retire(&self, id: TicketId) {
        let doc_id = DocId::Ticket(id);
        let Some(entry) = self
            .docs
            .lock()
            .await
            .live
            .get(&doc_id)
            .and_then(Weak::upgrade)
        else {
            return;
        };
        if let Some(state) = entry.loaded.get() {
            state.lock().await.erase();
        }
        entry.notify(None);
    }

    /// The current ticket, if stored.
    pub async fn read_ticket(&self, id: TicketId) -> Result<Ticket, HubError> {
        let entry = self.entry(&DocId::Ticket(id)).await?;
        let mut st = self.lock(&entry).await?;
        if !st.stored {
            return Err(HubError::NotFound);
        }
        Ok(st.projection()?.ok_or(HubError::NotFound)?.ticket.clone())
    }
}

impl DocEntry {
    /// Checks access: a ticket needs its token (for an id never stored, the
    /// first opener's token claims it until the creating change is committed,
    /// for `customer` when the connection is signed in) or a connection signed
    /// in as the customer who created it, or (`granted`) a signed link from
    /// an email to a stored ticket; a knowledge base is open to widgets of
    /// its own site.
    pub async fn authorize(
        &self,
        site: &SiteKey,
        token: &str,
        customer: Option<&VerifiedCustomer>,
        granted: bool,
    ) -> Result<Opened, HubError> {
        let mut st = self.state().lock().await;
        if st.site.as_ref().is_some_and(|s| s != site) {
            return Err(HubError::OtherSite);
        }
        if let DocId::Kb { .. } = self.id {
            return Ok(Opened { exists: true });
        }
        if st.is_erased() {
            return Err(HubError::Storage(StorageError::Erased(self.id.to_string())));
        }
        let own = |st: &DocState| {
            customer.is_some_and(|c| st.customer.as_ref().is_some_and(|owner| owner.id == c.id))
        };
        if st.token_hash.is_some() && own(&st) {
            return Ok(Opened { exists: st.stored });
        }
        if granted && st.stored {
            return Ok(Opened { exists: true });
        }
        if !is_well_formed_token(token) {
            return Err(HubError::Forbidden);
        }
        let hash = token_hash(token);
        match &st.token_hash {
            Some(known) if *known == hash => Ok(Opened { exists: st.stored }),
            Some(_) => Err(HubError::Forbidden),
            None => {
                st.token_hash = Some(hash);
                st.customer = customer.cloned().map(Box::new);
                Ok(Opened { exists: false })
            }
        }
    }

    fn state(&self) -> &Mutex<DocState> {
        // `Hub::entry` hands out entries only after the cell is initialised.
        self.loaded.get().expect("entries are handed out loaded")
    }
}

/// Loads a stored document. Changes whose dependencies are missing were never
/// validated (older versions saved them); they are dropped, not applied.
fn load(bytes: &[u8], id: &DocId) -> Result<AutoCommit, HubError> {
    let corrupt = |err: automerge::AutomergeError| {
        HubError::Storage(StorageError::Corrupt(format!("{id}: {err}")))
    };
    let mut doc = AutoCommit::load(bytes).map_err(corrupt)?;
    if !doc.get_missing_deps(&[]).is_empty() {
        tracing::warn!(doc = %id, "dropping stored changes with missing dependencies");
        let without_orphans = doc.save_with_options(SaveOptions {
            deflate: true,
            retain_orphans: false,
        });
        doc = AutoCommit::load(&without_orphans).map_err(corrupt)?;
    }
    Ok(doc)
}

fn hex_heads(doc: &mut AutoCommit) -> Vec<String> {
    doc.get_heads().iter().map(|h| h.to_string()).collect()
}

/// A held ticket that does not read: stored documents were validated when
/// committed, so this means corruption.
fn corrupt_ticket(err: ticket::SchemaError) -> HubError {
    HubError::Storage(StorageError::Corrupt(err.to_string()))
}

#[cfg(test)]
mod tests;
