//! [`MemoryDocs`]: an in-memory [`DocStore`] for tests of the sync hub — the
//! documents of one process in a map, no disk. It numbers writes and refuses
//! a write that is behind as the shared engine does, so the hub's catch-up
//! path can be tested without a database.

use std::collections::HashMap;
use std::sync::Mutex;

use stufe_shared::TicketId;

use super::{
    DocBytes, DocChanges, DocStore, DocWrite, StorageError, StoredDoc, StoredFile, StoredTicket,
    TicketSummary,
};

/// Documents held in memory (see the module docs).
#[derive(Default)]
pub struct MemoryDocs {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    tickets: HashMap<String, Ticket>,
    documents: HashMap<String, Chunks>,
}

struct Ticket {
    token_hash: String,
    summary: TicketSummary,
    chunks: Chunks,
}

#[derive(Default, Clone)]
struct Chunks {
    snapshot: Vec<u8>,
    appended: Vec<u8>,
    seq: i64,
}

impl Chunks {
    fn write(&mut self, bytes: &DocBytes) {
        match bytes {
            DocBytes::Snapshot(snapshot) => {
                self.snapshot.clone_from(snapshot);
                self.appended.clear();
            }
            DocBytes::Append(chunk) => self.appended.extend_from_slice(chunk),
        }
        self.seq += 1;
    }

    fn whole(&self) -> Vec<u8> {
        [self.snapshot.as_slice(), self.appended.as_slice()].concat()
    }
}

impl MemoryDocs {
    /// The projection last written for `ticket`, as storage keeps it.
    pub fn summary(&self, ticket: &str) -> Option<TicketSummary> {
        let inner = self.inner.lock().expect("memory store poisoned");
        inner.tickets.get(ticket).map(|t| t.summary.clone())
    }
}

impl Inner {
    fn chunks(&self, doc_id: &str) -> Option<&Chunks> {
        match doc_id.strip_prefix("ticket:") {
            Some(id) => self.tickets.get(id).map(|t| &t.chunks),
            None => self.documents.get(doc_id),
        }
    }
}

impl DocStore for MemoryDocs {
    fn ticket(&self, id: TicketId) -> Result<Option<StoredTicket>, StorageError> {
        let inner = self.inner.lock().expect("memory store poisoned");
        let Some(t) = inner.tickets.get(&id.to_string()) else {
            return Ok(None);
        };
        Ok(Some(StoredTicket {
            site: t
                .summary
                .site
                .parse()
                .map_err(|_| StorageError::Corrupt(format!("{id}: bad site")))?,
            token_hash: t.token_hash.clone(),
            bytes: t.chunks.whole(),
            appended: t.chunks.appended.len(),
            customer: t.summary.customer.clone(),
            seq: t.chunks.seq,
        }))
    }

    fn write_docs(&self, writes: &[DocWrite]) -> Result<Vec<i64>, StorageError> {
        let mut inner = self.inner.lock().expect("memory store poisoned");
        // All or nothing: every write is checked before any is made.
        for write in writes {
            let doc_id = write.doc_id();
            let (after, bytes) = match write {
                DocWrite::Ticket { after, bytes, .. } | DocWrite::Document { after, bytes, .. } => {
                    (*after, bytes)
                }
            };
            let stored = inner.chunks(&doc_id);
            if after != stored.map_or(0, |c| c.seq) {
                return Err(StorageError::Conflict(doc_id));
            }
            if matches!(bytes, DocBytes::Append(_)) && stored.is_none() {
                return Err(StorageError::Corrupt(format!(
                    "changes appended to {doc_id} before its first snapshot"
                )));
            }
        }
        let mut positions = Vec::with_capacity(writes.len());
        for write in writes {
            let seq = match write {
                DocWrite::Ticket {
                    token_hash,
                    bytes,
                    summary,
                    ..
                } => {
                    let ticket =
                        inner
                            .tickets
                            .entry(summary.id.clone())
                            .or_insert_with(|| Ticket {
                                token_hash: token_hash.clone(),
                                summary: (**summary).clone(),
                                chunks: Chunks::default(),
                            });
                    // What storage keeps across writes (see `TicketSummary`).
                    let pending_since = (summary.status == "pending").then(|| {
                        (ticket.summary.status == "pending")
                            .then_some(ticket.summary.pending_since)
                            .flatten()
                            .unwrap_or(summary.updated_at)
                    });
                    let customer = ticket.summary.customer.take().or(summary.customer.clone());
                    ticket.summary = TicketSummary {
                        pending_since,
                        customer,
                        ..(**summary).clone()
                    };
                    ticket.chunks.write(bytes);
                    ticket.chunks.seq
                }
                DocWrite::Document { doc_id, bytes, .. } => {
                    let chunks = inner.documents.entry(doc_id.clone()).or_default();
                    chunks.write(bytes);
                    chunks.seq
                }
            };
            positions.push(seq);
        }
        Ok(positions)
    }

    fn changes_since(&self, doc_id: &str, after: i64) -> Result<Option<DocChanges>, StorageError> {
        let inner = self.inner.lock().expect("memory store poisoned");
        Ok(inner
            .chunks(doc_id)
            .filter(|c| c.seq > after)
            .map(|c| DocChanges {
                bytes: c.whole(),
                seq: c.seq,
                snapshot: true,
            }))
    }

    fn document(&self, doc_id: &str) -> Result<Option<StoredDoc>, StorageError> {
        let inner = self.inner.lock().expect("memory store poisoned");
        Ok(inner.documents.get(doc_id).map(|c| StoredDoc {
            bytes: c.whole(),
            appended: c.appended.len(),
            seq: c.seq,
        }))
    }

    fn documents_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let inner = self.inner.lock().expect("memory store poisoned");
        let mut found: Vec<_> = inner
            .documents
            .iter()
            .filter(|(id, _)| id.starts_with(prefix))
            .map(|(id, c)| (id.clone(), c.whole()))
            .collect();
        found.sort();
        Ok(found)
    }

    /// No files are uploaded to the in-memory store.
    fn ticket_files(&self, _ticket: &str) -> Result<Vec<StoredFile>, StorageError> {
        Ok(Vec::new())
    }

    fn pending_since(&self, ticket: &str) -> Result<Option<i64>, StorageError> {
        let inner = self.inner.lock().expect("memory store poisoned");
        Ok(inner
            .tickets
            .get(ticket)
            .and_then(|t| t.summary.pending_since))
    }
}
