//! [`TicketBook`]: the customer's tickets on this device — Automerge documents,
//! their capability tokens, what the server has acknowledged — persisted after
//! every change so nothing is lost across reloads or while offline.

use std::collections::{BTreeMap, HashSet};

use automerge::{AutoCommit, ChangeHash, ObjType, ReadDoc, Value, ROOT};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use stufe_shared::ticket::{self, Author, FileRef, NewMessage, NewTicket, Status, Ticket};
use stufe_shared::TicketId;

use super::kv::KeyValue;

/// One ticket as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketView {
    pub id: TicketId,
    pub subject: String,
    pub description: String,
    pub category: String,
    pub status: Status,
    pub tier: u8,
    pub created_at: Option<i64>,
    pub first_response_due: Option<i64>,
    pub first_response_at: Option<i64>,
    /// When the request is promised to be solved (business hours included).
    pub resolution_due: Option<i64>,
    pub messages: Vec<MessageView>,
    /// The ticket itself has not reached the server yet.
    pub waiting_to_send: bool,
    /// The server refused to create this ticket, with its reason.
    pub refused: Option<String>,
    /// Replies the server refused (body and reason); kept so nothing typed is lost.
    pub not_sent: Vec<NotSent>,
    /// The customer's rating (score 1–5), once given.
    pub rating: Option<i64>,
}

/// A reply the server refused, kept for the customer to see and copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotSent {
    pub body: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    pub id: String,
    pub author: Author,
    pub name: String,
    pub body: String,
    pub at: i64,
    pub waiting_to_send: bool,
    /// Files attached to the message.
    pub files: Vec<FileRef>,
}

/// What a customer types into the new-ticket form (also the saved draft).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketForm {
    pub subject: String,
    pub description: String,
    pub email: String,
    pub category: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("subject")]
    MissingSubject,
    #[error("description")]
    MissingDescription,
    #[error("email")]
    BadEmail,
    #[error("category")]
    MissingCategory,
}

impl TicketForm {
    pub fn validate(&self) -> Result<(), FormError> {
        if self.subject.trim().is_empty() {
            return Err(FormError::MissingSubject);
        }
        if self.description.trim().is_empty() {
            return Err(FormError::MissingDescription);
        }
        let email = self.email.trim();
        if !email.is_empty() && !stufe_shared::validate::is_plain_email(email) {
            return Err(FormError::BadEmail);
        }
        if self.category.is_empty() {
            return Err(FormError::MissingCategory);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct IndexEntry {
    id: String,
    token: String,
    #[serde(default)]
    acked: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refused: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    not_sent: Vec<NotSent>,
}

struct LocalTicket {
    token: String,
    doc: AutoCommit,
    acked: Vec<ChangeHash>,
    refused: Option<String>,
    not_sent: Vec<NotSent>,
}

/// The customer's tickets for one site, written through to a [`KeyValue`] store.
pub struct TicketBook<K: KeyValue> {
    kv: K,
    site: String,
    tickets: BTreeMap<TicketId, LocalTicket>,
    /// Index entries whose document could not be read on this load; written
    /// back unchanged so their tokens are never lost.
    unreadable: Vec<IndexEntry>,
    /// The last write to the store was refused (quota, or no storage at all).
    write_failed: bool,
}

impl<K: KeyValue> TicketBook<K> {
    /// Loads whatever this device kept for `site`.
    pub fn load(kv: K, site: &str) -> Self {
        let mut book = Self {
            kv,
            site: site.to_owned(),
            tickets: BTreeMap::new(),
            unreadable: Vec::new(),
            write_failed: false,
        };
        let index: Vec<IndexEntry> = book
            .kv
            .get(&book.key("tickets"))
            .and_then(|json| crate::json::from_str(&json))
            .unwrap_or_default();
        for entry in index {
            let Ok(id) = entry.id.parse::<TicketId>() else {
                book.unreadable.push(entry);
                continue;
            };
            let doc = book
                .kv
                .get(&book.key(&format!("doc:{id}")))
                .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
                .and_then(|bytes| AutoCommit::load(&bytes).ok());
            let Some(doc) = doc else {
                book.unreadable.push(entry);
                continue;
            };
            {
                let acked = entry.acked.iter().filter_map(|h| h.parse().ok()).collect();
                book.tickets.insert(
                    id,
                    LocalTicket {
                        token: entry.token,
                        doc,
                        acked,
                        refused: entry.refused,
                        not_sent: entry.not_sent,
                    },
                );
            }
        }
        book
    }

    fn key(&self, name: &str) -> String {
        format!("stufe:{}:{name}", self.site)
    }

    /// The store behind the book, for other per-site data (e.g. the cached site config).
    pub fn kv(&self) -> &K {
        &self.kv
    }

    /// True while the store refuses writes: what changed since is not kept on
    /// this device (the UI says so; nothing is dropped from memory).
    pub fn storage_failed(&self) -> bool {
        self.write_failed
    }

    /// Tickets listed on this device whose stored document could not be read.
    pub fn unreadable_count(&self) -> usize {
        self.unreadable.len()
    }

    fn write(&mut self, key: &str, value: &str) {
        self.write_failed = !self.kv.set(key, value);
    }

    pub fn site(&self) -> &str {
        &self.site
    }

    pub fn ids(&self) -> Vec<TicketId> {
        self.tickets.keys().copied().collect()
    }

    /// Tickets to open on the server: all but those whose creation was refused.
    pub fn ids_to_sync(&self) -> Vec<TicketId> {
        self.tickets
            .iter()
            .filter(|(_, t)| t.refused.is_none())
            .map(|(id, _)| *id)
            .collect()
    }

    /// The server refused what this device sent for a ticket and closed it on
    /// the connection. The refused changes are dropped: the document goes back
    /// to what the server acknowledged, and the customer's replies that were
    /// in the refused part are kept as "not sent" with the reason. A ticket the
    /// server never acknowledged is kept as refused and not sent again.
    /// Returns true when the ticket should be opened again.
    pub fn refuse(&mut self, id: TicketId, reason: &str) -> bool {
        let Some(local) = self.tickets.get_mut(&id) else {
            return false;
        };
        let known = acked_heads(local);
        let reopen = if known.is_empty() {
            local.refused = Some(reason.to_owned());
            false
        } else {
            let Ok(acked_doc) = local.doc.fork_at(&known) else {
                return false;
            };
            let kept: HashSet<String> = ticket::read_ticket(&acked_doc)
                .ok()
                .flatten()
                .map(|t| t.messages.into_iter().map(|m| m.id).collect())
                .unwrap_or_default();
            if let Ok(Some(current)) = ticket::read_ticket(&local.doc) {
                for m in current.messages {
                    if m.author == Author::Customer && !kept.contains(&m.id) {
                        local.not_sent.push(NotSent {
                            body: m.body,
                            reason: reason.to_owned(),
                        });
                    }
                }
            }
            local.doc = acked_doc;
            true
        };
        self.persist(id);
        reopen
    }

    pub fn token(&self, id: TicketId) -> Option<&str> {
        self.tickets.get(&id).map(|t| t.token.as_str())
    }

    pub fn doc_mut(&mut self, id: TicketId) -> Option<&mut AutoCommit> {
        self.tickets.get_mut(&id).map(|t| &mut t.doc)
    }

    /// Creates a ticket locally (online or not) and persists it.
    pub fn create(
        &mut self,
        form: &TicketForm,
        id: TicketId,
        token: String,
    ) -> Result<TicketId, FormError> {
        form.validate()?;
        let email = form.email.trim();
        let mut doc = AutoCommit::new();
        ticket::create(
            &mut doc,
            &NewTicket {
                id,
                site: self.site.clone(),
                subject: form.subject.trim().to_owned(),
                description: form.description.trim().to_owned(),
                email: (!email.is_empty()).then(|| email.to_owned()),
                category: form.category.clone(),
            },
        )
        .expect("writing a fresh document cannot fail");
        self.tickets.insert(
            id,
            LocalTicket {
                token,
                doc,
                acked: Vec::new(),
                refused: None,
                not_sent: Vec::new(),
            },
        );
        self.persist(id);
        self.kv.remove(&self.key("draft"));
        Ok(id)
    }

    /// Whether ticket `id` holds a message with id `message_id`.
    pub fn has_message(&self, id: TicketId, message_id: &str) -> bool {
        self.tickets.get(&id).is_some_and(|local| {
            ticket::read_ticket(&local.doc)
                .ok()
                .flatten()
                .is_some_and(|t| t.messages.iter().any(|m| m.id == message_id))
        })
    }

    /// Appends the customer's reply; returns false for an unknown ticket or an empty reply.
    pub fn reply(
        &mut self,
        id: TicketId,
        message_id: String,
        name: &str,
        body: &str,
        at: i64,
    ) -> bool {
        self.reply_with_files(id, message_id, name, body, &[], at)
    }

    /// Appends the customer's reply with files uploaded for the ticket (the
    /// text may then be empty); false for an unknown ticket or nothing to send.
    pub fn reply_with_files(
        &mut self,
        id: TicketId,
        message_id: String,
        name: &str,
        body: &str,
        files: &[FileRef],
        at: i64,
    ) -> bool {
        let body = body.trim();
        let Some(local) = self.tickets.get_mut(&id) else {
            return false;
        };
        if body.is_empty() && files.is_empty() {
            return false;
        }
        let message = NewMessage {
            id: message_id,
            author: Author::Customer,
            name: name.to_owned(),
            body: body.to_owned(),
            at,
        };
        if ticket::append_message_with_files(&mut local.doc, &message, files).is_err() {
            return false;
        }
        self.persist(id);
        self.kv.remove(&self.key(&format!("reply:{id}")));
        true
    }

    /// Rates a resolved ticket (once; the server checks that too). Returns
    /// false when it cannot be rated.
    pub fn rate(&mut self, id: TicketId, score: i64, comment: &str) -> bool {
        let Some(local) = self.tickets.get_mut(&id) else {
            return false;
        };
        let Ok(Some(ticket)) = ticket::read_ticket(&local.doc) else {
            return false;
        };
        let rateable = matches!(ticket.status, Status::Resolved | Status::Closed)
            && ticket.rating.is_none()
            && (1..=5).contains(&score);
        if !rateable || ticket::rate(&mut local.doc, score, comment.trim()).is_err() {
            return false;
        }
        self.persist(id);
        true
    }

    /// Records that the server committed everything up to `heads`.
    pub fn acknowledge(&mut self, id: TicketId, heads: &[String]) {
        if let Some(local) = self.tickets.get_mut(&id) {
            local.acked = heads.iter().filter_map(|h| h.parse().ok()).collect();
            // Only the acked heads changed: they live in the index, not in the document.
            self.write_index();
        }
    }

    /// The identity token the site gave (`Stufe('identify', …)`), kept so
    /// that every connection signs in with it.
    pub fn identity(&self) -> Option<String> {
        self.kv.get(&self.key("identity"))
    }

    /// Keeps a new identity token and says what changed. A token for another
    /// customer than the one kept first clears everything this device holds
    /// for the site (a shared computer shows nobody the previous customer's
    /// tickets).
    pub fn set_identity(&mut self, token: &str) -> IdentityChange {
        let kept = self.identity();
        if kept.as_deref() == Some(token) {
            return IdentityChange::Unchanged;
        }
        let change = match kept.as_deref().map(jwt_subject) {
            Some(previous) if previous.is_some() && previous == jwt_subject(token) => {
                IdentityChange::Renewed
            }
            Some(_) => {
                self.clear();
                IdentityChange::OtherCustomer
            }
            None => IdentityChange::SignedIn,
        };
        let key = self.key("identity");
        self.write(&key, token);
        change
    }

    /// Forgets the identity token (the server refused it, e.g. it expired).
    pub fn forget_identity(&mut self) {
        self.kv.remove(&self.key("identity"));
    }

    /// Adds the signed-in customer's tickets the server listed that this
    /// device does not hold yet: empty documents, opened by identity (no
    /// token), filled by the sync. Returns the ids added.
    pub fn adopt(&mut self, ids: &[TicketId]) -> Vec<TicketId> {
        let added: Vec<TicketId> = ids
            .iter()
            .copied()
            .filter(|id| !self.tickets.contains_key(id))
            .collect();
        for id in &added {
            self.tickets.insert(
                *id,
                LocalTicket {
                    token: String::new(),
                    doc: AutoCommit::new(),
                    acked: Vec::new(),
                    refused: None,
                    not_sent: Vec::new(),
                },
            );
        }
        if !added.is_empty() {
            self.write_index();
        }
        added
    }

    /// A link from an email opened the widget on ticket `id` with `grant`
    /// (a signed permission standing in for the token): keeps the ticket,
    /// opened with the grant, unless this device holds its real token.
    pub fn adopt_link(&mut self, id: TicketId, grant: &str) {
        match self.tickets.get_mut(&id) {
            Some(local) if local.token.len() == 64 => return,
            Some(local) => local.token = grant.to_owned(),
            None => {
                self.tickets.insert(
                    id,
                    LocalTicket {
                        token: grant.to_owned(),
                        doc: AutoCommit::new(),
                        acked: Vec::new(),
                        refused: None,
                        not_sent: Vec::new(),
                    },
                );
            }
        }
        self.write_index();
    }

    /// Forgets one ticket the server erased for its customer: its document,
    /// token, reply draft and its place in the index.
    pub fn erase(&mut self, id: TicketId) {
        self.tickets.remove(&id);
        let text = id.to_string();
        self.unreadable.retain(|e| e.id != text);
        self.kv.remove(&self.key(&format!("doc:{text}")));
        self.kv.remove(&self.key(&format!("reply:{text}")));
        self.write_index();
    }

    /// Forgets everything this device kept for the site's customer: tickets,
    /// their documents and tokens, drafts, the identity, the replies seen.
    pub fn clear(&mut self) {
        let ids: Vec<String> = self
            .tickets
            .keys()
            .map(ToString::to_string)
            .chain(self.unreadable.iter().map(|e| e.id.clone()))
            .collect();
        for id in ids {
            self.kv.remove(&self.key(&format!("doc:{id}")));
            self.kv.remove(&self.key(&format!("reply:{id}")));
        }
        for name in ["tickets", "draft", "identity", "seen-replies"] {
            self.kv.remove(&self.key(name));
        }
        self.tickets.clear();
        self.unreadable.clear();
    }

    /// Writes one ticket's document and the index.
    pub fn persist(&mut self, id: TicketId) {
        let mut doc_written = true;
        if let Some(local) = self.tickets.get_mut(&id) {
            let bytes = local.doc.save();
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            let key = format!("stufe:{}:doc:{id}", self.site);
            doc_written = self.kv.set(&key, &b64);
        }
        self.write_index();
        self.write_failed |= !doc_written;
    }

    /// Writes the list of tickets with their tokens and acked heads (and,
    /// unchanged, the entries whose documents could not be read).
    fn write_index(&mut self) {
        let mut index: Vec<IndexEntry> = self
            .tickets
            .iter()
            .map(|(id, t)| IndexEntry {
                id: id.to_string(),
                token: t.token.clone(),
                acked: t.acked.iter().map(ToString::to_string).collect(),
                refused: t.refused.clone(),
                not_sent: t.not_sent.clone(),
            })
            .collect();
        index.extend(self.unreadable.iter().cloned());
        let json = crate::json::to_string(&index).unwrap_or_default();
        let key = self.key("tickets");
        self.write(&key, &json);
    }

    /// All tickets, newest first, as the UI shows them.
    pub fn views(&mut self) -> Vec<TicketView> {
        let mut views: Vec<TicketView> = self
            .tickets
            .iter_mut()
            .filter_map(|(id, local)| view_of(*id, local))
            .collect();
        views.sort_by_key(|v| std::cmp::Reverse(v.created_at.unwrap_or(i64::MAX)));
        views
    }

    pub fn draft(&self) -> TicketForm {
        self.kv
            .get(&self.key("draft"))
            .and_then(|json| crate::json::from_str(&json))
            .unwrap_or_default()
    }

    pub fn save_draft(&mut self, form: &TicketForm) {
        let json = crate::json::to_string(form).unwrap_or_default();
        let key = self.key("draft");
        self.write(&key, &json);
    }

    pub fn reply_draft(&self, id: TicketId) -> String {
        self.kv
            .get(&self.key(&format!("reply:{id}")))
            .unwrap_or_default()
    }

    pub fn save_reply_draft(&mut self, id: TicketId, text: &str) {
        let key = self.key(&format!("reply:{id}"));
        self.write(&key, text);
    }
}

/// What a new identity token changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityChange {
    /// The same token as kept.
    Unchanged,
    /// A new token for the same customer (e.g. a later expiry).
    Renewed,
    /// The first identity on this device.
    SignedIn,
    /// Another customer than the one kept: this device's data was cleared.
    OtherCustomer,
}

/// The `sub` claim of a JWT, read without checking it (the server checks).
pub fn jwt_subject(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    #[derive(Deserialize)]
    struct Claims {
        sub: String,
    }
    let json = String::from_utf8(bytes).ok()?;
    crate::json::from_str::<Claims>(&json).map(|c| c.sub)
}

/// The acknowledged heads this device's document holds.
fn acked_heads(local: &mut LocalTicket) -> Vec<ChangeHash> {
    local
        .acked
        .iter()
        .copied()
        .filter(|h| local.doc.get_change_by_hash(h).is_some())
        .collect()
}

/// Changes the server has not acknowledged yet.
fn unacked(local: &mut LocalTicket) -> HashSet<ChangeHash> {
    let known = acked_heads(local);
    local
        .doc
        .get_changes(&known)
        .iter()
        .map(|c| c.hash())
        .collect()
}

fn view_of(id: TicketId, local: &mut LocalTicket) -> Option<TicketView> {
    let ticket: Ticket = ticket::read_ticket(&local.doc).ok()??;
    let unacked = unacked(local);
    let doc = &local.doc;
    let created_by = |key: &str, obj: &automerge::ObjId| -> Option<ChangeHash> {
        let (_, exid) = doc.get(obj, key).ok()??;
        doc.hash_for_opid(&exid)
    };
    let waiting_to_send = local.refused.is_none()
        && created_by("subject", &ROOT).is_some_and(|h| unacked.contains(&h));
    let list = match doc.get(ROOT, "messages").ok()? {
        Some((Value::Object(ObjType::List), list)) => list,
        _ => return None,
    };
    let messages = ticket
        .messages
        .iter()
        .enumerate()
        .map(|(index, m)| {
            let pending = m.author == Author::Customer
                && doc
                    .get(&list, index)
                    .ok()
                    .flatten()
                    .and_then(|(_, obj)| doc.hash_for_opid(&obj))
                    .is_some_and(|h| unacked.contains(&h));
            MessageView {
                id: m.id.clone(),
                author: m.author,
                name: m.name.clone(),
                body: m.body.clone(),
                at: m.at,
                waiting_to_send: pending,
                files: m.files.clone(),
            }
        })
        .collect();
    Some(TicketView {
        id,
        subject: ticket.subject,
        description: ticket.description,
        category: ticket.category,
        status: ticket.status,
        tier: ticket.tier.get(),
        created_at: ticket.created_at,
        first_response_due: ticket.first_response_due,
        first_response_at: ticket.first_response_at,
        resolution_due: ticket.resolution_due,
        messages,
        waiting_to_send,
        refused: local.refused.clone(),
        not_sent: local.not_sent.clone(),
        rating: ticket.rating.map(|r| r.score),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::kv::MemoryKv;

    fn form() -> TicketForm {
        TicketForm {
            subject: " Printer offline ".into(),
            description: "It blinks red.".into(),
            email: "".into(),
            category: "technical".into(),
        }
    }

    fn id(n: u8) -> TicketId {
        TicketId::from_bytes([n; 16])
    }

    /// A full store: the customer is told, nothing in memory is lost, and
    /// once the store accepts writes again everything is written.
    #[test]
    fn refused_writes_are_surfaced_and_nothing_is_dropped() {
        let kv = MemoryKv::default();
        let mut book = TicketBook::load(kv.clone(), "demo");
        book.create(&form(), id(1), "t1".into()).unwrap();
        assert!(!book.storage_failed());
        kv.refuse_writes(true);
        book.create(&form(), id(2), "t2".into()).unwrap();
        assert!(book.storage_failed());
        assert_eq!(book.views().len(), 2, "kept in memory and shown");
        assert!(book.reply(id(1), "m".into(), "Ada", "Still there?", 5));
        assert!(book.storage_failed());
        kv.refuse_writes(false);
        assert!(book.reply(id(2), "m2".into(), "Ada", "Hello", 6));
        assert!(!book.storage_failed());
        // The next successful write of the index carries every ticket.
        let reloaded = TicketBook::load(kv, "demo");
        assert_eq!(reloaded.ids(), vec![id(1), id(2)]);
    }

    /// A ticket whose stored document cannot be read keeps its index entry
    /// (and with it its token) through later writes.
    #[test]
    fn an_unreadable_ticket_keeps_its_token() {
        let kv = MemoryKv::default();
        let mut book = TicketBook::load(kv.clone(), "demo");
        book.create(&form(), id(1), "t1".into()).unwrap();
        book.create(&form(), id(2), "t2".into()).unwrap();
        kv.plant(&format!("stufe:demo:doc:{}", id(1)), "not base64 !!");
        let mut damaged = TicketBook::load(kv.clone(), "demo");
        assert_eq!(damaged.unreadable_count(), 1);
        assert_eq!(damaged.ids(), vec![id(2)]);
        damaged.reply(id(2), "m".into(), "Ada", "More", 1);
        let index = kv.get("stufe:demo:tickets").unwrap();
        assert!(index.contains("\"t1\""), "token kept: {index}");
    }

    #[test]
    fn the_form_is_validated_before_anything_is_stored() {
        let mut book = TicketBook::load(MemoryKv::default(), "demo");
        let mut bad = form();
        bad.subject = "  ".into();
        assert_eq!(
            book.create(&bad, id(1), "t".into()),
            Err(FormError::MissingSubject)
        );
        bad = form();
        bad.email = "not-an-email".into();
        assert_eq!(
            book.create(&bad, id(1), "t".into()),
            Err(FormError::BadEmail)
        );
        assert!(book.views().is_empty());
    }

    #[test]
    fn tickets_replies_and_drafts_survive_a_reload() {
        let kv = MemoryKv::default();
        let mut book = TicketBook::load(kv.clone(), "demo");
        book.save_draft(&TicketForm {
            subject: "half-typed".into(),
            ..Default::default()
        });
        assert_eq!(
            TicketBook::load(kv.clone(), "demo").draft().subject,
            "half-typed"
        );
        book.create(&form(), id(1), "token".into()).unwrap();
        assert!(book.reply(id(1), "m1".into(), "Ada", "More detail", 7));
        book.save_reply_draft(id(1), "unsent words");

        let mut reloaded = TicketBook::load(kv.clone(), "demo");
        let views = reloaded.views();
        assert_eq!(views.len(), 1);
        assert_eq!(views[0].subject, "Printer offline");
        assert_eq!(views[0].messages[0].body, "More detail");
        assert_eq!(reloaded.token(id(1)), Some("token"));
        assert_eq!(reloaded.reply_draft(id(1)), "unsent words");
        assert_eq!(
            reloaded.draft(),
            TicketForm::default(),
            "submitting cleared the draft"
        );
        assert!(TicketBook::load(kv, "other-site").views().is_empty());
    }

    #[test]
    fn changes_wait_to_send_until_acknowledged() {
        let mut book = TicketBook::load(MemoryKv::default(), "demo");
        book.create(&form(), id(1), "t".into()).unwrap();
        assert!(book.views()[0].waiting_to_send);
        let created: Vec<String> = book
            .doc_mut(id(1))
            .unwrap()
            .get_heads()
            .iter()
            .map(ToString::to_string)
            .collect();
        book.acknowledge(id(1), &created);
        assert!(!book.views()[0].waiting_to_send);

        book.reply(id(1), "m1".into(), "Ada", "Still broken", 9);
        let view = &book.views()[0];
        assert!(!view.waiting_to_send);
        assert!(view.messages[0].waiting_to_send);
        let heads: Vec<String> = book
            .doc_mut(id(1))
            .unwrap()
            .get_heads()
            .iter()
            .map(ToString::to_string)
            .collect();
        book.acknowledge(id(1), &heads);
        assert!(!book.views()[0].messages[0].waiting_to_send);
    }

    #[test]
    fn a_reply_may_be_files_alone_and_shows_them() {
        let mut book = TicketBook::load(MemoryKv::default(), "demo");
        book.create(&form(), id(1), "t".into()).unwrap();
        let file = FileRef {
            hash: "ab".repeat(32),
            name: "error.png".into(),
            mime: "image/png".into(),
            size: 2048,
        };
        assert!(book.reply_with_files(
            id(1),
            "m1".into(),
            "Ada",
            " ",
            std::slice::from_ref(&file),
            9
        ));
        assert_eq!(book.views()[0].messages[0].files, vec![file]);
    }

    #[test]
    fn empty_replies_are_ignored() {
        let mut book = TicketBook::load(MemoryKv::default(), "demo");
        book.create(&form(), id(1), "t".into()).unwrap();
        assert!(!book.reply(id(1), "m1".into(), "Ada", "   ", 9));
        assert!(!book.reply(id(2), "m1".into(), "Ada", "hi", 9));
        assert!(book.views()[0].messages.is_empty());
    }
}
