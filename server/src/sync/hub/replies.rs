//! Sync messages generated once and sent to many: the replies cached per
//! document version and peer state, and a catalogue's whole-document message.

use super::*;

/// At most this many distinct peer states are remembered per document version.
pub(super) const MAX_REPLIES_PER_VERSION: usize = 64;

/// Sync messages already generated for this version of a document, by the
/// peer state they answered. Generating is a pure function of the document
/// and the peer's sync state, and after a change most subscribers are in the
/// same state (they were all up to date), so a change reaching a thousand open
/// widgets is generated and encoded a few times rather than a thousand.
#[derive(Default)]
pub(super) struct Replies {
    pub(super) heads: Vec<ChangeHash>,
    /// SHA-256 of the peer state -> the message and what follows from it.
    pub(super) by_state: HashMap<[u8; 32], Reply>,
}

/// One generated reply, for every peer that was in the same state.
pub(super) struct Reply {
    pub(super) message: Option<Vec<u8>>,
    /// The peer's state after it.
    pub(super) after: sync::State,
    /// The heads a peer in `after` may be acknowledged (None: not yet
    /// known; computed once, for a stored document).
    pub(super) ackable: Option<Option<Vec<ChangeHash>>>,
}

/// A digest of everything in a sync state that `generate_sync_message` reads.
pub(super) fn peer_state_key(peer: &sync::State) -> [u8; 32] {
    let mut hash = Sha256::new();
    let mut heads = |label: &[u8], list: Option<&[ChangeHash]>| {
        hash.update(label);
        match list {
            None => hash.update([0]),
            Some(list) => {
                hash.update((list.len() as u64).to_le_bytes());
                for h in list {
                    hash.update(h.as_ref());
                }
            }
        }
    };
    heads(b"shared", Some(&peer.shared_heads));
    heads(b"last_sent", Some(&peer.last_sent_heads));
    heads(b"their_heads", peer.their_heads.as_deref());
    heads(b"their_need", peer.their_need.as_deref());
    let sent: Vec<ChangeHash> = peer.sent_hashes.iter().copied().collect();
    heads(b"sent", Some(&sent));
    hash.update(b"have");
    match &peer.their_have {
        None => hash.update([0]),
        Some(have) => {
            hash.update((have.len() as u64).to_le_bytes());
            for h in have {
                hash.update((h.last_sync.len() as u64).to_le_bytes());
                for c in &h.last_sync {
                    hash.update(c.as_ref());
                }
                let bloom = h.bloom.to_bytes();
                hash.update((bloom.len() as u64).to_le_bytes());
                hash.update(&bloom);
            }
        }
    }
    hash.update(b"caps");
    match &peer.their_capabilities {
        None => hash.update([0]),
        Some(caps) => {
            hash.update((caps.len() as u64).to_le_bytes());
            for cap in caps {
                hash.update(format!("{cap:?}").as_bytes());
            }
        }
    }
    hash.update([u8::from(peer.in_flight), u8::from(peer.have_responded)]);
    hash.finalize().into()
}

/// The message that answers a peer that has nothing: the whole document as
/// one compressed chunk. Every new widget is such a peer of its catalogue, and
/// saving a large catalogue costs far more than sending it, so it is saved
/// once per version, not once per widget.
pub(super) struct WholeDocument {
    pub(super) heads: Vec<ChangeHash>,
    pub(super) encoded: Vec<u8>,
}

impl WholeDocument {
    /// What Automerge's `generate_sync_message` sends a peer that announced no
    /// heads and version-2 support before we answered it: our heads, no need,
    /// a bloom filter of every change, and the saved document.
    pub(super) fn build(doc: &mut AutoCommit) -> Self {
        let heads = doc.get_heads();
        let hashes: Vec<ChangeHash> = doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
        let message = sync::Message {
            heads: heads.clone(),
            need: Vec::new(),
            have: vec![sync::Have {
                last_sync: Vec::new(),
                bloom: sync::BloomFilter::from_hashes(hashes.iter()),
            }],
            changes: sync::ChunkList::from(doc.save_with_options(SaveOptions {
                deflate: true,
                retain_orphans: false,
            })),
            supported_capabilities: Some(vec![
                sync::Capability::MessageV1,
                sync::Capability::MessageV2,
            ]),
            version: sync::MessageVersion::V2,
        };
        Self {
            heads,
            encoded: message.encode(),
        }
    }

    /// Whether Automerge would send `peer` the whole document now.
    pub(super) fn is_wanted_by(doc: &mut AutoCommit, peer: &sync::State) -> bool {
        !peer.have_responded
            && peer.their_heads.as_ref().is_some_and(Vec::is_empty)
            && peer.their_need.is_some()
            && peer.their_have.as_ref().is_some_and(|have| {
                have.iter().all(|h| {
                    h.last_sync
                        .iter()
                        .all(|hash| doc.get_change_by_hash(hash).is_some())
                })
            })
            && peer
                .their_capabilities
                .as_ref()
                .is_some_and(|caps| caps.contains(&sync::Capability::MessageV2))
    }

    /// The message for `peer`, with the sync state updated as Automerge would
    /// (only the heads are recorded as sent: enough for acks, and no copy of
    /// every change hash per widget).
    pub(super) fn send_to(&self, peer: &mut sync::State) -> Vec<u8> {
        peer.have_responded = true;
        peer.in_flight = true;
        peer.last_sent_heads.clone_from(&self.heads);
        peer.sent_hashes.extend(self.heads.iter().copied());
        self.encoded.clone()
    }
}
