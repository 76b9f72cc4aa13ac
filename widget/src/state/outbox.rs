//! Replies with files that wait to be sent: written while offline, or before
//! the request reached the server (files can only be uploaded for a stored
//! ticket). Each is kept on the device with its files' bytes and sent once:
//! its files are uploaded (each answer kept as it comes, so an upload is not
//! repeated after a reload), then the message that refers to them is appended
//! with the id it was given when written — a message with that id already in
//! the ticket is not appended again.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use stufe_shared::ticket::FileRef;
use stufe_shared::TicketId;

use super::kv::KeyValue;

/// A reply waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingReply {
    pub message_id: String,
    pub body: String,
    pub files: Vec<WaitingFile>,
}

/// A file of a waiting reply: its bytes until uploaded, then the reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingFile {
    pub name: String,
    pub size: i64,
    /// The bytes, base64; empty once uploaded.
    #[serde(default)]
    bytes: String,
    #[serde(default)]
    pub uploaded: Option<FileRef>,
}

impl WaitingFile {
    pub fn new(name: String, bytes: &[u8]) -> Self {
        Self {
            name,
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            bytes: base64::engine::general_purpose::STANDARD.encode(bytes),
            uploaded: None,
        }
    }

    /// An upload done already (the file was uploaded before the reply waited).
    pub fn uploaded(file: FileRef) -> Self {
        Self {
            name: file.name.clone(),
            size: file.size,
            bytes: String::new(),
            uploaded: Some(file),
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.bytes)
            .unwrap_or_default()
    }
}

impl WaitingReply {
    /// Every file is uploaded: the references to send.
    pub fn references(&self) -> Option<Vec<FileRef>> {
        self.files.iter().map(|f| f.uploaded.clone()).collect()
    }
}

/// The waiting replies of one site's tickets on this device.
#[derive(Clone)]
pub struct Outbox<K: KeyValue> {
    kv: K,
    site: String,
}

impl<K: KeyValue> Outbox<K> {
    pub fn new(kv: K, site: &str) -> Self {
        Self {
            kv,
            site: site.to_owned(),
        }
    }

    fn key(&self, ticket: TicketId) -> String {
        format!("stufe:{}:outbox:{ticket}", self.site)
    }

    pub fn waiting(&self, ticket: TicketId) -> Vec<WaitingReply> {
        self.kv
            .get(&self.key(ticket))
            .and_then(|json| crate::json::from_str(&json))
            .unwrap_or_default()
    }

    fn store(&self, ticket: TicketId, replies: &[WaitingReply]) -> bool {
        if replies.is_empty() {
            self.kv.remove(&self.key(ticket));
            return true;
        }
        crate::json::to_string(replies).is_some_and(|json| self.kv.set(&self.key(ticket), &json))
    }

    /// Keeps a reply to send later; false when the device could not keep it.
    pub fn add(&self, ticket: TicketId, reply: WaitingReply) -> bool {
        let mut replies = self.waiting(ticket);
        replies.push(reply);
        self.store(ticket, &replies)
    }

    /// The server took file `index` of reply `message_id`: its reference
    /// replaces its bytes.
    pub fn uploaded(&self, ticket: TicketId, message_id: &str, index: usize, file: FileRef) {
        self.change(ticket, message_id, |reply| {
            if let Some(waiting) = reply.files.get_mut(index) {
                waiting.bytes.clear();
                waiting.uploaded = Some(file);
            }
        });
    }

    /// The server will never take file `index` (its kind or size): the
    /// reply goes without it.
    pub fn drop_file(&self, ticket: TicketId, message_id: &str, index: usize) {
        self.change(ticket, message_id, |reply| {
            if index < reply.files.len() {
                reply.files.remove(index);
            }
        });
    }

    /// The reply is in the ticket now.
    pub fn sent(&self, ticket: TicketId, message_id: &str) {
        let mut replies = self.waiting(ticket);
        replies.retain(|r| r.message_id != message_id);
        self.store(ticket, &replies);
    }

    /// Forgets every reply waiting for `ticket` (it was erased).
    pub fn forget(&self, ticket: TicketId) {
        self.kv.remove(&self.key(ticket));
    }

    fn change(&self, ticket: TicketId, message_id: &str, f: impl FnOnce(&mut WaitingReply)) {
        let mut replies = self.waiting(ticket);
        if let Some(reply) = replies.iter_mut().find(|r| r.message_id == message_id) {
            f(reply);
            self.store(ticket, &replies);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::kv::MemoryKv;

    fn ticket() -> TicketId {
        TicketId::from_bytes([3; 16])
    }

    fn reference(name: &str) -> FileRef {
        FileRef {
            hash: "ab".repeat(32),
            name: name.into(),
            mime: "text/plain".into(),
            size: 5,
        }
    }

    #[test]
    fn a_waiting_reply_survives_a_reload_until_its_files_are_uploaded_and_it_is_sent() {
        let kv = MemoryKv::default();
        let outbox = Outbox::new(kv.clone(), "demo");
        let reply = WaitingReply {
            message_id: "m1".into(),
            body: "see attached".into(),
            files: vec![WaitingFile::new("a.txt".into(), b"hello")],
        };
        assert!(outbox.add(ticket(), reply));
        // After a reload (a new outbox on the same store): still there, bytes and all.
        let reloaded = Outbox::new(kv.clone(), "demo");
        let waiting = reloaded.waiting(ticket());
        assert_eq!(waiting[0].files[0].bytes(), b"hello");
        assert_eq!(waiting[0].references(), None, "not uploaded yet");

        reloaded.uploaded(ticket(), "m1", 0, reference("a.txt"));
        let waiting = reloaded.waiting(ticket());
        assert!(
            waiting[0].files[0].bytes().is_empty(),
            "the bytes go once uploaded"
        );
        assert_eq!(waiting[0].references(), Some(vec![reference("a.txt")]));

        reloaded.sent(ticket(), "m1");
        assert!(reloaded.waiting(ticket()).is_empty());
        assert_eq!(
            kv.get("stufe:demo:outbox:03030303030303030303030303030303"),
            None
        );
    }

    #[test]
    fn a_file_the_server_refuses_is_dropped_and_the_reply_still_goes() {
        let outbox = Outbox::new(MemoryKv::default(), "demo");
        outbox.add(
            ticket(),
            WaitingReply {
                message_id: "m1".into(),
                body: String::new(),
                files: vec![
                    WaitingFile::new("virus.exe".into(), b"MZ"),
                    WaitingFile::uploaded(reference("b.txt")),
                ],
            },
        );
        outbox.drop_file(ticket(), "m1", 0);
        assert_eq!(
            outbox.waiting(ticket())[0].references(),
            Some(vec![reference("b.txt")])
        );
    }

    #[test]
    fn a_full_store_says_the_reply_was_not_kept() {
        let kv = MemoryKv::default();
        kv.refuse_writes(true);
        let outbox = Outbox::new(kv, "demo");
        let reply = WaitingReply {
            message_id: "m1".into(),
            body: "x".into(),
            files: vec![],
        };
        assert!(!outbox.add(ticket(), reply));
    }
}
