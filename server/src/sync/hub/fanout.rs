//! Telling others: the subscribers of a document after a commit, the documents other servers changed (catching up from storage), and the sync messages a peer is sent.

use super::*;

impl Hub {
    /// Another server wrote document `id` up to position `seq`: a copy held
    /// here loads what it lacks, and its subscribers are sent it.
    pub async fn remote_change(&self, id: &DocId, seq: i64) -> Result<(), HubError> {
        // Not held here: it is read from storage when opened.
        let Some(entry) = self.docs.lock().await.live.get(id).and_then(Weak::upgrade) else {
            return Ok(());
        };
        // Being loaded right now: the load may have read before this write
        // was committed, so it is waited for and then compared.
        entry
            .loaded
            .get_or_try_init(|| async { self.load_state(id).await.map(Mutex::new) })
            .await?;
        let mut st = self.lock(&entry).await?;
        if seq <= st.seq || !st.stored {
            return Ok(());
        }
        self.catch_up(&entry, &mut st).await
    }

    /// Catches up every document held here (after the notifications of
    /// other servers' writes may have been missed); asleep tickets stay
    /// asleep, their peers told when storage has newer writes.
    pub async fn catch_up_all(&self) {
        let entries: Vec<Arc<DocEntry>> = {
            let docs = self.docs.lock().await;
            docs.live.values().filter_map(Weak::upgrade).collect()
        };
        for entry in entries {
            let Some(state) = entry.loaded.get() else {
                continue;
            };
            let asleep_at = {
                let st = state.lock().await;
                st.is_asleep().then_some(st.seq)
            };
            if let Some(seq) = asleep_at {
                // Left asleep (thousands may be): its next use loads what
                // storage has; its peers are told if that is newer.
                let key = entry.id.to_string();
                match storage::blocking(&self.storage, move |s| s.changes_since(&key, seq)).await {
                    Ok(Some(_)) | Err(StorageError::Erased(_)) => entry.notify(None),
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(%err, doc = %entry.id, "cannot catch up with other servers");
                    }
                }
                continue;
            }
            let Ok(mut st) = self.lock(&entry).await else {
                continue;
            };
            if st.stored {
                if let Err(err) = self.catch_up(&entry, &mut st).await {
                    tracing::warn!(%err, doc = %entry.id, "cannot catch up with other servers");
                }
            }
        }
    }

    /// Someone of the staff is typing in `id`: its subscribers (widgets) are
    /// told, with the name to show (None: "Support"). Nobody here has it
    /// open: nobody to tell.
    pub async fn staff_typing(&self, id: &DocId, name: Option<&str>) {
        let Some(entry) = self.docs.lock().await.live.get(id).and_then(Weak::upgrade) else {
            return;
        };
        for changed in entry.subscribers().values() {
            changed.mark_typing(id, name);
        }
    }

    /// A ticket of `site` changed on another server (the console's live queue).
    pub fn ticket_changed_elsewhere(&self, site: SiteKey) {
        let _ = self.tickets_changed.send(site);
    }

    /// Loads into the held copy what other servers stored after it, and
    /// tells its subscribers.
    pub(super) async fn catch_up(
        &self,
        entry: &DocEntry,
        st: &mut DocState,
    ) -> Result<(), HubError> {
        let (key, after) = (entry.id.to_string(), st.seq);
        let theirs =
            match storage::blocking(&self.storage, move |s| s.changes_since(&key, after)).await {
                Ok(Some(theirs)) => theirs,
                Ok(None) => return Ok(()),
                // Erased by another server: dropped here too, subscribers told.
                Err(StorageError::Erased(_)) => {
                    st.erase();
                    entry.notify(None);
                    return Ok(());
                }
                Err(err) => return Err(err.into()),
            };
        st.doc()?
            .load_incremental(&theirs.bytes)
            .map_err(|err| HubError::Storage(StorageError::Corrupt(err.to_string())))?;
        st.size = st.size.after_theirs(&theirs);
        st.seq = theirs.seq;
        st.projection = None;
        entry.notify(None);
        Ok(())
    }
}

/// What one peer of a document is due (see [`Hub::due`]).
pub struct Due {
    /// The sync message it lacks, if any.
    pub message: Option<Vec<u8>>,
    /// The committed heads, once it has everything they name.
    pub ackable: Option<Vec<ChangeHash>>,
    /// The ticket was erased (and there is no message).
    pub erased: bool,
}

impl DocEntry {
    pub fn subscribe(&self, id: SubscriberId, changed: Arc<Changed>) {
        self.subscribers().insert(id, changed);
    }

    pub fn unsubscribe(&self, id: SubscriberId) {
        self.subscribers().remove(&id);
    }

    pub(super) fn subscribers(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<SubscriberId, Arc<Changed>>> {
        self.subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn notify(&self, origin: Option<SubscriberId>) {
        for (id, changed) in self.subscribers().iter() {
            if Some(*id) != origin {
                changed.mark(&self.id);
            }
        }
    }
}

/// What peers of a document are sent: read under the document's lock
/// (`Hub::lock`), so that an asleep ticket is loaded again first.
impl Hub {
    /// The next sync message for a peer of `entry`, if it lacks anything.
    pub async fn generate(&self, entry: &DocEntry, peer: &mut sync::State) -> Option<Vec<u8>> {
        let mut st = self.lock(entry).await.ok()?;
        entry.generate_in(&mut st, peer).0
    }

    /// What a peer of `entry` is due now, read under one lock of the document
    /// (tens of thousands of sessions take it one after another when it
    /// changes): the sync message it lacks, the heads to acknowledge, and
    /// whether the ticket was erased. Peers that were in the same state are
    /// due the same acknowledgement, worked out once.
    pub async fn due(&self, entry: &DocEntry, peer: &mut sync::State) -> Due {
        let mut st = match self.lock(entry).await {
            Ok(st) => st,
            Err(err) => {
                // Erased on another server while it slept here.
                let erased = matches!(err, HubError::Storage(StorageError::Erased(_)));
                if !erased {
                    tracing::warn!(%err, doc = %entry.id, "cannot load a document for its peer");
                }
                return Due {
                    message: None,
                    ackable: None,
                    erased,
                };
            }
        };
        let (message, reply) = entry.generate_in(&mut st, peer);
        let cached = reply
            .and_then(|key| st.replies.by_state.get(&key))
            .and_then(|reply| reply.ackable.clone());
        let ackable = match cached {
            Some(ackable) => ackable,
            None => {
                let ackable = DocEntry::ackable_in(&mut st, peer);
                if st.stored {
                    if let Some(reply) = reply.and_then(|key| st.replies.by_state.get_mut(&key)) {
                        reply.ackable = Some(ackable.clone());
                    }
                }
                ackable
            }
        };
        Due {
            erased: message.is_none() && st.is_erased(),
            message,
            ackable,
        }
    }

    /// A sync message that asks the peer for `missing` (the dependencies of
    /// changes it sent that the server lacks): what [`Hub::generate`]
    /// would send, with `missing` as its `need`. Automerge peers answer a
    /// `need` with those changes even when they believe the server has them.
    pub async fn ask_for(
        &self,
        entry: &DocEntry,
        peer: &mut sync::State,
        missing: &[ChangeHash],
    ) -> Option<Vec<u8>> {
        let mut st = self.lock(entry).await.ok()?;
        let doc = st.doc().ok()?;
        let generated = doc.sync().generate_sync_message(peer);
        let mut message = generated.unwrap_or_else(|| sync::Message {
            heads: doc.get_heads(),
            need: Vec::new(),
            have: Vec::new(),
            changes: sync::ChunkList::empty(),
            supported_capabilities: None,
            version: sync::MessageVersion::V1,
        });
        message.need = missing.to_vec();
        peer.in_flight = true;
        Some(message.encode())
    }
}

impl DocEntry {
    /// The next sync message for a peer, and the key of the cached reply it
    /// came from or went into (None for a catalogue's whole document).
    fn generate_in(
        &self,
        st: &mut DocState,
        peer: &mut sync::State,
    ) -> (Option<Vec<u8>>, Option<[u8; 32]>) {
        let Ok(doc) = st.doc() else {
            return (None, None);
        };
        if matches!(self.id, DocId::Kb { .. }) && WholeDocument::is_wanted_by(doc, peer) {
            let heads = doc.get_heads();
            if st.whole.as_ref().is_none_or(|w| w.heads != heads) {
                let Ok(doc) = st.doc() else {
                    return (None, None);
                };
                let whole = WholeDocument::build(doc);
                st.whole = Some(Box::new(whole));
            }
            return (st.whole.as_ref().map(|whole| whole.send_to(peer)), None);
        }
        let heads = doc.get_heads();
        if st.replies.heads != heads {
            st.replies = Replies {
                heads,
                by_state: HashMap::new(),
            };
        }
        let key = peer_state_key(peer);
        if let Some(reply) = st.replies.by_state.get(&key) {
            *peer = reply.after.clone();
            return (reply.message.clone(), Some(key));
        }
        let Ok(doc) = st.doc() else {
            return (None, None);
        };
        let message = doc.sync().generate_sync_message(peer).map(|m| m.encode());
        if st.replies.by_state.len() < MAX_REPLIES_PER_VERSION {
            st.replies.by_state.insert(
                key,
                Reply {
                    message: message.clone(),
                    after: peer.clone(),
                    ackable: None,
                },
            );
        }
        (message, Some(key))
    }

    /// The committed heads, once the peer has every change in their history
    /// (in the history of the heads it told us, or sent to it since).
    /// None while a ticket is not stored or the peer still lacks something:
    /// an ack never arrives before the data it names.
    fn ackable_in(st: &mut DocState, peer: &sync::State) -> Option<Vec<ChangeHash>> {
        if !st.stored {
            return None;
        }
        let doc = st.doc().ok()?;
        let heads = doc.get_heads();
        let theirs: Vec<ChangeHash> = peer
            .their_heads
            .iter()
            .flatten()
            .filter(|h| doc.get_change_by_hash(h).is_some())
            .copied()
            .collect();
        if heads.iter().all(|head| theirs.contains(head)) {
            return Some(heads);
        }
        // Everything the peer lacked at its last message must have gone out
        // since. Having sent a change is not enough: when the peer's bloom
        // filter wrongly claimed one of its dependencies (a false positive),
        // that dependency was held back and the peer can only queue the change
        // until it asks for the dependency by name.
        let lacking = doc.get_changes(&theirs);
        let all_sent = if theirs.is_empty() {
            // `sent_hashes` holds only changes of this document, so when the
            // peer lacked every change, equal counts mean it was sent them all.
            peer.sent_hashes.len() >= lacking.len()
        } else {
            lacking
                .iter()
                .all(|change| peer.sent_hashes.contains(&change.hash()))
        };
        all_sent.then_some(heads)
    }
}
