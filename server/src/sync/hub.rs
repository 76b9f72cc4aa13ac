//! [`Hub`]: the live documents (tickets, knowledge-base catalogues) and the
//! commit path every change takes.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use automerge::sync::{self, SyncDoc};
use automerge::AutoCommit;
use sha2::{Digest, Sha256};
use stufe_shared::protocol::{is_well_formed_token, ErrorCode, MAX_TICKET_DOC_BYTES};
use stufe_shared::site::SiteConfig;
use stufe_shared::ticket::{self, Ticket};
use stufe_shared::validate::{check_ticket_change, Role, SiteRules};
use stufe_shared::{DocId, Locale, SiteKey, TicketId};
use tokio::sync::{mpsc, Mutex};

use crate::storage::{self, Storage, StorageError, TicketSummary, TicketWrite};

/// Identifies one subscriber (a WebSocket session) for fan-out.
pub type SubscriberId = u64;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("not an automerge sync message: {0}")]
    InvalidSyncMessage(String),
    #[error("change rejected: {0}")]
    Rejected(String),
    #[error("this token does not open this ticket")]
    Forbidden,
    #[error("the document would exceed {MAX_TICKET_DOC_BYTES} bytes")]
    DocTooLarge,
    #[error("no such ticket")]
    NotFound,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl HubError {
    pub fn code(&self) -> ErrorCode {
        match self {
            HubError::InvalidSyncMessage(_) => ErrorCode::InvalidSyncMessage,
            HubError::Rejected(_) => ErrorCode::RejectedChange,
            HubError::Forbidden | HubError::NotFound => ErrorCode::Forbidden,
            HubError::DocTooLarge => ErrorCode::DocTooLarge,
            HubError::Storage(_) => ErrorCode::Internal,
        }
    }
}

/// SHA-256 of a capability token, hex. Only hashes are stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

pub struct Hub {
    storage: Arc<dyn Storage>,
    docs: Mutex<HashMap<DocId, Weak<DocEntry>>>,
}

/// One live document (a ticket or a knowledge-base catalogue) and its subscribers.
pub struct DocEntry {
    pub id: DocId,
    state: Mutex<DocState>,
    subscribers: std::sync::Mutex<HashMap<SubscriberId, mpsc::UnboundedSender<DocId>>>,
}

struct DocState {
    doc: AutoCommit,
    /// Tickets: set once stored, or once the first opener of a new id claimed it.
    token_hash: Option<String>,
    site: Option<SiteKey>,
    stored: bool,
}

/// Who sent a sync message, and under which site's rules it is checked.
#[derive(Clone, Copy)]
pub struct Sender<'a> {
    pub id: SubscriberId,
    pub role: Role,
    pub site: &'a SiteKey,
    pub config: &'a SiteConfig,
}

/// What applying a sync message did.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Only sync bookkeeping, no new changes.
    NothingNew,
    /// New changes were validated and committed; these are the new heads (hex).
    Committed(Vec<String>),
}

/// Who opened a document.
pub struct Opened {
    pub exists: bool,
}

impl Hub {
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self {
            storage,
            docs: Mutex::new(HashMap::new()),
        }
    }

    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The live entry for a document, loading it from storage when nobody holds it.
    pub async fn entry(&self, id: &DocId) -> Result<Arc<DocEntry>, HubError> {
        let mut docs = self.docs.lock().await;
        if let Some(entry) = docs.get(id).and_then(Weak::upgrade) {
            return Ok(entry);
        }
        docs.retain(|_, weak| weak.strong_count() > 0);
        let state = match id {
            DocId::Ticket(ticket) => {
                let ticket = *ticket;
                match storage::blocking(&self.storage, move |s| s.ticket(ticket)).await? {
                    Some(stored) => DocState {
                        doc: load(&stored.bytes, id)?,
                        token_hash: Some(stored.token_hash),
                        site: Some(stored.site),
                        stored: true,
                    },
                    None => DocState {
                        doc: AutoCommit::new(),
                        token_hash: None,
                        site: None,
                        stored: false,
                    },
                }
            }
            DocId::Kb { site, .. } => {
                let key = id.to_string();
                let bytes = storage::blocking(&self.storage, move |s| s.document(&key)).await?;
                DocState {
                    doc: bytes.map(|b| load(&b, id)).transpose()?.unwrap_or_default(),
                    token_hash: None,
                    site: Some(site.clone()),
                    stored: true,
                }
            }
        };
        let entry = Arc::new(DocEntry {
            id: id.clone(),
            state: Mutex::new(state),
            subscribers: std::sync::Mutex::new(HashMap::new()),
        });
        docs.insert(id.clone(), Arc::downgrade(&entry));
        Ok(entry)
    }

    /// Applies a peer's sync message to a fork and commits it only if every
    /// change in it is allowed. Knowledge-base documents are read-only for peers.
    pub async fn receive(
        &self,
        entry: &DocEntry,
        peer: &mut sync::State,
        sender: &Sender<'_>,
        message: &[u8],
    ) -> Result<Received, HubError> {
        let Sender {
            id: origin,
            role,
            site,
            config,
        } = *sender;
        let message = sync::Message::decode(message)
            .map_err(|err| HubError::InvalidSyncMessage(err.to_string()))?;
        let mut st = entry.state.lock().await;
        if st.site.as_ref().is_some_and(|s| s != site) {
            return Err(HubError::Forbidden);
        }
        let mut fork = st.doc.clone();
        let mut fork_peer = peer.clone();
        fork.sync()
            .receive_sync_message(&mut fork_peer, message)
            .map_err(|err| HubError::InvalidSyncMessage(err.to_string()))?;
        if fork.get_heads() == st.doc.get_heads() {
            *peer = fork_peer;
            return Ok(Received::NothingNew);
        }
        let DocId::Ticket(ticket_id) = &entry.id else {
            return Err(HubError::Rejected(
                "the knowledge base is read-only for widgets".into(),
            ));
        };
        let before = read(&st.doc)?;
        let after = ticket::read_ticket(&fork)
            .map_err(|err| HubError::Rejected(err.to_string()))?
            .ok_or_else(|| HubError::Rejected("the ticket document is empty".into()))?;
        if after.site != site.as_str() || after.id != ticket_id.to_string() {
            return Err(HubError::Rejected(
                "the ticket's id or site does not match".into(),
            ));
        }
        check_ticket_change(role, before.as_ref(), &after, &config.rules())
            .map_err(|rejection| HubError::Rejected(rejection.0))?;
        if before.is_none() {
            let now = now_ms();
            let minute = 60_000;
            ticket::stamp_sla(
                &mut fork,
                now,
                now + i64::from(config.sla.first_response_minutes) * minute,
                now + i64::from(config.sla.resolution_minutes) * minute,
            )
            .map_err(|err| HubError::Rejected(err.to_string()))?;
            st.site = Some(site.clone());
        }
        let heads = self.commit(entry, &mut st, fork, Some(origin)).await?;
        *peer = fork_peer;
        Ok(Received::Committed(heads))
    }

    /// Makes a change as staff through the server (the staff API), with the
    /// same validation and commit path as synced changes.
    pub async fn staff_change<F>(&self, id: TicketId, edit: F) -> Result<Ticket, HubError>
    where
        F: FnOnce(&mut AutoCommit, &Ticket) -> Result<(), HubError>,
    {
        let entry = self.entry(&DocId::Ticket(id)).await?;
        let mut st = entry.state.lock().await;
        let before = read(&st.doc)?.ok_or(HubError::NotFound)?;
        if !st.stored {
            return Err(HubError::NotFound);
        }
        let mut fork = st.doc.clone();
        edit(&mut fork, &before)?;
        let after = read(&fork)?.ok_or(HubError::NotFound)?;
        let rules = SiteRules { categories: vec![] };
        check_ticket_change(Role::Staff, Some(&before), &after, &rules)
            .map_err(|rejection| HubError::Rejected(rejection.0))?;
        self.commit(&entry, &mut st, fork, None).await?;
        Ok(after)
    }

    /// Changes a site's knowledge-base catalogue (after staff publish or
    /// unpublish) and pushes the change to every open widget.
    pub async fn kb_change<F>(
        &self,
        site: &SiteKey,
        locale: Locale,
        edit: F,
    ) -> Result<(), HubError>
    where
        F: FnOnce(&mut AutoCommit) -> Result<(), automerge::AutomergeError>,
    {
        let id = DocId::Kb {
            site: site.clone(),
            locale,
        };
        let entry = self.entry(&id).await?;
        let mut st = entry.state.lock().await;
        let mut fork = st.doc.clone();
        edit(&mut fork).map_err(|err| HubError::Rejected(err.to_string()))?;
        if fork.get_heads() != st.doc.get_heads() {
            self.commit(&entry, &mut st, fork, None).await?;
        }
        Ok(())
    }

    /// The current ticket, if stored.
    pub async fn read_ticket(&self, id: TicketId) -> Result<Ticket, HubError> {
        let entry = self.entry(&DocId::Ticket(id)).await?;
        let st = entry.state.lock().await;
        if !st.stored {
            return Err(HubError::NotFound);
        }
        read(&st.doc)?.ok_or(HubError::NotFound)
    }

    /// Stores `fork` and adopts it; then tells every other subscriber.
    async fn commit(
        &self,
        entry: &DocEntry,
        st: &mut DocState,
        mut fork: AutoCommit,
        origin: Option<SubscriberId>,
    ) -> Result<Vec<String>, HubError> {
        let bytes = fork.save();
        match &entry.id {
            DocId::Ticket(_) => {
                if bytes.len() > MAX_TICKET_DOC_BYTES {
                    return Err(HubError::DocTooLarge);
                }
                let ticket = read(&fork)?.ok_or(HubError::NotFound)?;
                let token_hash = st.token_hash.clone().ok_or(HubError::Forbidden)?;
                let summary = summarize(&ticket, now_ms());
                storage::blocking(&self.storage, move |s| {
                    s.save_ticket(&TicketWrite {
                        token_hash: &token_hash,
                        bytes: &bytes,
                        summary: &summary,
                    })
                })
                .await?;
            }
            DocId::Kb { .. } => {
                let key = entry.id.to_string();
                storage::blocking(&self.storage, move |s| s.save_document(&key, &bytes)).await?;
            }
        }
        st.doc = fork;
        st.stored = true;
        entry.notify(origin);
        Ok(hex_heads(&mut st.doc))
    }
}

impl DocEntry {
    /// Checks access: a ticket needs its token (for an id never stored, the
    /// first opener's token claims it until the creating change is committed);
    /// a knowledge base is open to widgets of its own site.
    pub async fn authorize(&self, site: &SiteKey, token: &str) -> Result<Opened, HubError> {
        let mut st = self.state.lock().await;
        if st.site.as_ref().is_some_and(|s| s != site) {
            return Err(HubError::Forbidden);
        }
        if let DocId::Kb { .. } = self.id {
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
                Ok(Opened { exists: false })
            }
        }
    }

    pub fn subscribe(&self, id: SubscriberId, tx: mpsc::UnboundedSender<DocId>) {
        self.subscribers().insert(id, tx);
    }

    pub fn unsubscribe(&self, id: SubscriberId) {
        self.subscribers().remove(&id);
    }

    fn subscribers(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<SubscriberId, mpsc::UnboundedSender<DocId>>> {
        self.subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn notify(&self, origin: Option<SubscriberId>) {
        for (id, tx) in self.subscribers().iter() {
            if Some(*id) != origin {
                // A closed channel means the session is ending; it unsubscribes itself.
                let _ = tx.send(self.id.clone());
            }
        }
    }

    /// The next sync message for a peer, if it lacks anything.
    pub async fn generate(&self, peer: &mut sync::State) -> Option<Vec<u8>> {
        let mut st = self.state.lock().await;
        let message = st.doc.sync().generate_sync_message(peer);
        message.map(|m| m.encode())
    }

    /// Committed heads, or None while a ticket is not stored.
    pub async fn committed_heads(&self) -> Option<Vec<String>> {
        let mut st = self.state.lock().await;
        st.stored.then(|| hex_heads(&mut st.doc))
    }
}

fn load(bytes: &[u8], id: &DocId) -> Result<AutoCommit, HubError> {
    AutoCommit::load(bytes)
        .map_err(|err| HubError::Storage(StorageError::Corrupt(format!("{id}: {err}"))))
}

fn hex_heads(doc: &mut AutoCommit) -> Vec<String> {
    doc.get_heads().iter().map(|h| h.to_string()).collect()
}

fn read(doc: &AutoCommit) -> Result<Option<Ticket>, HubError> {
    // Stored documents were validated when committed; failing here means corruption.
    ticket::read_ticket(doc)
        .map_err(|err| HubError::Storage(StorageError::Corrupt(err.to_string())))
}

pub fn summarize(t: &Ticket, updated_at: i64) -> TicketSummary {
    TicketSummary {
        id: t.id.clone(),
        site: t.site.clone(),
        subject: t.subject.clone(),
        status: t.status.to_string(),
        tier: t.tier.get(),
        priority: t.priority.to_string(),
        category: t.category.clone(),
        email: t.email.clone(),
        created_at: t.created_at.unwrap_or(updated_at),
        updated_at,
        first_response_due: t.first_response_due,
        message_count: u32::try_from(t.messages.len()).unwrap_or(u32::MAX),
    }
}
