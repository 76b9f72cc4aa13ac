//! [`SyncClient`]: the widget's side of the wire protocol, sans IO. Events go
//! in (connected, a frame arrived, a local change), frames to send come out.
//! A fresh sync state per connection means that after any reconnect the
//! Automerge sync protocol works out what the server lacks, so unsent changes
//! are delivered once and nothing twice.

use std::collections::{HashMap, HashSet};

use automerge::sync::{self, SyncDoc};
use automerge::AutoCommit;
use stufe_shared::protocol::{encode_sync_frame, ClientFrame, ErrorCode, ServerFrame, SyncFrame};
use stufe_shared::{DocId, TicketId};

use super::knowledge::KnowledgeBase;
use super::kv::KeyValue;
use super::tickets::TicketBook;

/// A frame to send to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Text(String),
    Binary(Vec<u8>),
}

/// Something the UI should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A document or its acknowledgement state changed.
    Changed(DocId),
    /// Someone of the staff is typing in this ticket (their name, or None:
    /// the site shows "Support").
    StaffTyping {
        ticket: TicketId,
        name: Option<String>,
    },
    /// The server refused something.
    Refused {
        doc: Option<DocId>,
        code: ErrorCode,
        message: String,
    },
}

/// The documents a widget keeps in sync.
pub trait SyncedDocs {
    /// Every document to open on connecting, with its token.
    fn to_open(&self) -> Vec<(DocId, String)>;
    fn doc_mut(&mut self, id: &DocId) -> Option<&mut AutoCommit>;
    /// The document changed through sync; keep it.
    fn persist(&mut self, id: &DocId);
    /// The server committed everything up to `heads`.
    fn acknowledge(&mut self, id: &DocId, heads: &[String]);
    /// The server refused changes to a document and closed it on the
    /// connection; drop them. Returns the token to open it with again, if any.
    fn refuse(&mut self, id: &DocId, reason: &str) -> Option<String>;
    /// The ticket was erased for its customer: drop every trace of it here.
    fn erase(&mut self, id: TicketId);
    /// The identity token to sign every connection in with, if the site gave one.
    fn identity(&self) -> Option<String>;
    /// The server refused the identity token; forget it.
    fn forget_identity(&mut self);
    /// The signed-in customer's tickets; returns those this device did not hold.
    fn adopt(&mut self, ids: &[TicketId]) -> Vec<TicketId>;
}

/// The customer's tickets and the site's knowledge base, together.
pub struct Docs<K: KeyValue> {
    pub tickets: TicketBook<K>,
    pub kb: KnowledgeBase<K>,
}

impl<K: KeyValue> SyncedDocs for Docs<K> {
    fn to_open(&self) -> Vec<(DocId, String)> {
        let mut list = vec![(self.kb.doc_id(), String::new())];
        for id in self.tickets.ids_to_sync() {
            if let Some(token) = self.tickets.token(id) {
                list.push((DocId::Ticket(id), token.to_owned()));
            }
        }
        list
    }

    fn doc_mut(&mut self, id: &DocId) -> Option<&mut AutoCommit> {
        match id {
            DocId::Ticket(ticket) => self.tickets.doc_mut(*ticket),
            kb if *kb == self.kb.doc_id() => Some(self.kb.doc_mut()),
            DocId::Kb { .. } => None,
        }
    }

    fn persist(&mut self, id: &DocId) {
        match id {
            DocId::Ticket(ticket) => self.tickets.persist(*ticket),
            DocId::Kb { .. } => self.kb.persist(),
        }
    }

    fn acknowledge(&mut self, id: &DocId, heads: &[String]) {
        if let DocId::Ticket(ticket) = id {
            self.tickets.acknowledge(*ticket, heads);
        }
    }

    fn refuse(&mut self, id: &DocId, reason: &str) -> Option<String> {
        match id {
            DocId::Ticket(ticket) if self.tickets.refuse(*ticket, reason) => {
                self.tickets.token(*ticket).map(str::to_owned)
            }
            // The knowledge base is only read; nothing of ours to drop.
            _ => None,
        }
    }

    fn erase(&mut self, id: TicketId) {
        self.tickets.erase(id);
    }

    fn identity(&self) -> Option<String> {
        self.tickets.identity()
    }

    fn forget_identity(&mut self) {
        self.tickets.forget_identity();
    }

    fn adopt(&mut self, ids: &[TicketId]) -> Vec<TicketId> {
        self.tickets.adopt(ids)
    }
}

#[derive(Default)]
pub struct SyncClient {
    peers: HashMap<DocId, sync::State>,
    opened: HashSet<DocId>,
    connected: bool,
}

impl SyncClient {
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The socket is open: sign in (when the site identified the customer),
    /// then open every document this device holds.
    pub fn connected(&mut self, docs: &impl SyncedDocs) -> Vec<Outgoing> {
        self.connected = true;
        self.peers.clear();
        self.opened.clear();
        let identify = docs.identity().and_then(|token| identify_frame(&token));
        let opens = docs.to_open().into_iter().filter_map(|(id, token)| {
            self.peers.insert(id.clone(), sync::State::new());
            open_frame(&id, token)
        });
        identify.into_iter().chain(opens).collect()
    }

    /// The site gave a (new) identity token: sign this connection in with it.
    pub fn identify(&mut self, token: &str) -> Vec<Outgoing> {
        if !self.connected {
            return Vec::new();
        }
        identify_frame(token).into_iter().collect()
    }

    pub fn disconnected(&mut self) {
        self.connected = false;
        self.peers.clear();
        self.opened.clear();
    }

    /// A ticket was created or changed locally.
    pub fn local_change<K: KeyValue>(&mut self, docs: &mut Docs<K>, id: TicketId) -> Vec<Outgoing> {
        let doc_id = DocId::Ticket(id);
        if !self.connected {
            return Vec::new();
        }
        if !self.opened.contains(&doc_id) {
            if self.peers.contains_key(&doc_id) {
                return Vec::new(); // opening; the sync starts when `opened` arrives
            }
            self.peers.insert(doc_id.clone(), sync::State::new());
            let token = docs.tickets.token(id).unwrap_or_default().to_owned();
            return open_frame(&doc_id, token).into_iter().collect();
        }
        self.generate(docs, &doc_id).into_iter().collect()
    }

    /// The customer is typing in a ticket: the frame that says so, when the
    /// ticket is open on the connection (the caller keeps it to one per
    /// [`stufe_shared::protocol::TYPING_EVERY_MS`]).
    pub fn typing(&self, id: TicketId) -> Option<Outgoing> {
        let doc = DocId::Ticket(id);
        if !(self.connected && self.opened.contains(&doc)) {
            return None;
        }
        let frame = ClientFrame::Typing {
            doc: doc.to_string(),
        };
        crate::json::to_string(&frame).map(Outgoing::Text)
    }

    fn generate(&mut self, docs: &mut impl SyncedDocs, id: &DocId) -> Option<Outgoing> {
        let peer = self.peers.entry(id.clone()).or_default();
        let doc = docs.doc_mut(id)?;
        let message = doc.sync().generate_sync_message(peer)?;
        Some(Outgoing::Binary(encode_sync_frame(id, &message.encode())))
    }

    pub fn on_text(
        &mut self,
        docs: &mut impl SyncedDocs,
        text: &str,
    ) -> (Vec<Outgoing>, Vec<Event>) {
        let Some(frame) = crate::json::from_str::<ServerFrame>(text) else {
            return (Vec::new(), Vec::new());
        };
        match frame {
            ServerFrame::Hello { .. } => (Vec::new(), Vec::new()),
            ServerFrame::Typing { doc, name } => match doc.parse::<DocId>() {
                Ok(DocId::Ticket(ticket)) => {
                    (Vec::new(), vec![Event::StaffTyping { ticket, name }])
                }
                _ => (Vec::new(), Vec::new()),
            },
            ServerFrame::Identified { tickets, .. } => {
                let ids: Vec<TicketId> = tickets.iter().filter_map(|t| t.parse().ok()).collect();
                let adopted = docs.adopt(&ids);
                let mut out = Vec::new();
                let mut events = Vec::new();
                for id in adopted {
                    let doc = DocId::Ticket(id);
                    self.peers.insert(doc.clone(), sync::State::new());
                    out.extend(open_frame(&doc, String::new()));
                    events.push(Event::Changed(doc));
                }
                (out, events)
            }
            ServerFrame::Opened { doc, .. } => {
                let Ok(id) = doc.parse::<DocId>() else {
                    return (Vec::new(), Vec::new());
                };
                self.opened.insert(id.clone());
                (self.generate(docs, &id).into_iter().collect(), Vec::new())
            }
            ServerFrame::Ack { doc, heads } => {
                let Ok(id) = doc.parse::<DocId>() else {
                    return (Vec::new(), Vec::new());
                };
                docs.acknowledge(&id, &heads);
                (Vec::new(), vec![Event::Changed(id)])
            }
            ServerFrame::Error { doc, code, message } => {
                let doc: Option<DocId> = doc.as_deref().and_then(|d| d.parse().ok());
                let mut out = Vec::new();
                let mut events = Vec::new();
                if code == ErrorCode::IdentityRefused {
                    docs.forget_identity();
                }
                if let Some(id) = doc.as_ref().filter(|_| closes_the_document(code)) {
                    // The server closed the document; drop what it refused and
                    // open it again with a fresh sync state.
                    self.opened.remove(id);
                    self.peers.remove(id);
                    if let Some(token) = docs.refuse(id, &message) {
                        if self.connected {
                            self.peers.insert(id.clone(), sync::State::new());
                            out.extend(open_frame(id, token));
                        }
                    }
                    events.push(Event::Changed(id.clone()));
                }
                if let Some(id @ DocId::Ticket(ticket)) =
                    doc.as_ref().filter(|_| code == ErrorCode::Erased)
                {
                    // Erased for the customer: nothing of it stays on this device.
                    self.opened.remove(id);
                    self.peers.remove(id);
                    docs.erase(*ticket);
                    events.push(Event::Changed(id.clone()));
                }
                if let Some(id @ DocId::Ticket(_)) =
                    doc.as_ref().filter(|_| code == ErrorCode::RateLimited)
                {
                    // A frame dropped, or a new ticket refused for now (then
                    // the server closed it): the ticket stays waiting to send
                    // and is offered again, with a fresh sync state, when it is
                    // next opened (its next local change, or the next connection).
                    self.opened.remove(id);
                    self.peers.remove(id);
                }
                events.push(Event::Refused { doc, code, message });
                (out, events)
            }
        }
    }

    pub fn on_binary(
        &mut self,
        docs: &mut impl SyncedDocs,
        bytes: &[u8],
    ) -> (Vec<Outgoing>, Vec<Event>) {
        let Ok(SyncFrame { doc: id, message }) = SyncFrame::decode(bytes) else {
            return (Vec::new(), Vec::new());
        };
        let Ok(message) = sync::Message::decode(&message) else {
            return (Vec::new(), Vec::new());
        };
        let peer = self.peers.entry(id.clone()).or_default();
        let Some(doc) = docs.doc_mut(&id) else {
            return (Vec::new(), Vec::new());
        };
        let before = doc.get_heads();
        if doc.sync().receive_sync_message(peer, message).is_err() {
            return (Vec::new(), Vec::new());
        }
        let changed = doc.get_heads() != before;
        if changed {
            docs.persist(&id);
        }
        let out = self.generate(docs, &id).into_iter().collect();
        let events = if changed {
            vec![Event::Changed(id)]
        } else {
            Vec::new()
        };
        (out, events)
    }
}

/// Errors after which the server has closed the document on the connection.
fn closes_the_document(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::RejectedChange | ErrorCode::InvalidSyncMessage | ErrorCode::DocTooLarge
    )
}

fn identify_frame(token: &str) -> Option<Outgoing> {
    let frame = ClientFrame::Identify {
        token: token.to_owned(),
    };
    crate::json::to_string(&frame).map(Outgoing::Text)
}

fn open_frame(id: &DocId, token: String) -> Option<Outgoing> {
    let frame = ClientFrame::Open {
        doc: id.to_string(),
        token,
    };
    crate::json::to_string(&frame).map(Outgoing::Text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::kv::MemoryKv;
    use crate::state::tickets::{IdentityChange, TicketForm};
    use stufe_shared::{ticket, Locale};

    /// A bare Automerge peer standing in for the server (no validation, no IO).
    struct FakeServer {
        docs: HashMap<DocId, (AutoCommit, sync::State)>,
        received: usize,
    }

    impl FakeServer {
        fn new() -> Self {
            Self {
                docs: HashMap::new(),
                received: 0,
            }
        }

        fn ticket(&self, id: TicketId) -> ticket::Ticket {
            ticket::read_ticket(&self.docs[&DocId::Ticket(id)].0)
                .unwrap()
                .unwrap()
        }

        /// Feeds the client's frames to the server until both sides are quiet.
        fn run_until_quiet(
            &mut self,
            client: &mut SyncClient,
            docs: &mut Docs<MemoryKv>,
            mut out: Vec<Outgoing>,
        ) {
            for _ in 0..20 {
                let (mut replies, mut to_client) = (Vec::new(), Vec::new());
                for frame in out.drain(..) {
                    match frame {
                        Outgoing::Text(text) => {
                            let ClientFrame::Open { doc, .. } =
                                serde_json::from_str(&text).unwrap()
                            else {
                                panic!()
                            };
                            self.docs.entry(doc.parse().unwrap()).or_default().1 =
                                sync::State::new();
                            replies.push(
                                serde_json::to_string(&ServerFrame::Opened { doc, exists: true })
                                    .unwrap(),
                            );
                        }
                        Outgoing::Binary(bytes) => {
                            let frame = SyncFrame::decode(&bytes).unwrap();
                            let (doc, peer) = self.docs.get_mut(&frame.doc).unwrap();
                            let message = sync::Message::decode(&frame.message).unwrap();
                            let before = doc.get_heads();
                            doc.sync().receive_sync_message(peer, message).unwrap();
                            if doc.get_heads() != before {
                                self.received += 1;
                                let heads =
                                    doc.get_heads().iter().map(ToString::to_string).collect();
                                let ack = ServerFrame::Ack {
                                    doc: frame.doc.to_string(),
                                    heads,
                                };
                                replies.push(serde_json::to_string(&ack).unwrap());
                            }
                            if let Some(m) = doc.sync().generate_sync_message(peer) {
                                to_client.push(encode_sync_frame(&frame.doc, &m.encode()));
                            }
                        }
                    }
                }
                let mut next = Vec::new();
                for bytes in to_client {
                    next.extend(client.on_binary(docs, &bytes).0);
                }
                for text in replies {
                    next.extend(client.on_text(docs, &text).0);
                }
                if next.is_empty() {
                    return;
                }
                out = next;
            }
            panic!("sync did not settle");
        }
    }

    fn docs() -> Docs<MemoryKv> {
        Docs {
            tickets: TicketBook::load(MemoryKv::default(), "demo"),
            kb: KnowledgeBase::load(MemoryKv::default(), "demo".parse().unwrap(), Locale::En),
        }
    }

    fn form() -> TicketForm {
        TicketForm {
            subject: "Printer offline".into(),
            description: "It blinks red.".into(),
            email: String::new(),
            category: "technical".into(),
        }
    }

    #[test]
    fn an_offline_ticket_is_delivered_once_after_connecting() {
        let mut docs = docs();
        let mut client = SyncClient::default();
        let id = TicketId::from_bytes([7; 16]);
        docs.tickets.create(&form(), id, "ab".repeat(32)).unwrap();
        assert!(
            client.local_change(&mut docs, id).is_empty(),
            "offline: nothing to send"
        );
        assert!(docs.tickets.views()[0].waiting_to_send);

        let mut server = FakeServer::new();
        let out = client.connected(&docs);
        assert_eq!(
            out.len(),
            2,
            "one open frame for the knowledge base and one per ticket"
        );
        server.run_until_quiet(&mut client, &mut docs, out);
        assert_eq!(server.ticket(id).subject, "Printer offline");
        assert!(!docs.tickets.views()[0].waiting_to_send, "acked");

        // Reconnecting sends nothing new: the server already has every change.
        client.disconnected();
        let received = server.received;
        let out = client.connected(&docs);
        server.run_until_quiet(&mut client, &mut docs, out);
        assert_eq!(server.received, received, "nothing sent twice");
    }

    #[test]
    fn typing_is_said_only_of_open_tickets_and_staff_typing_becomes_an_event() {
        let mut docs = docs();
        let mut client = SyncClient::default();
        let id = TicketId::from_bytes([5; 16]);
        docs.tickets.create(&form(), id, "ef".repeat(32)).unwrap();
        assert_eq!(client.typing(id), None, "offline: nothing to say");
        let mut server = FakeServer::new();
        let out = client.connected(&docs);
        assert_eq!(client.typing(id), None, "not open yet");
        server.run_until_quiet(&mut client, &mut docs, out);
        let Some(Outgoing::Text(frame)) = client.typing(id) else {
            panic!("open: typing is said")
        };
        assert_eq!(
            serde_json::from_str::<ClientFrame>(&frame).unwrap(),
            ClientFrame::Typing {
                doc: DocId::Ticket(id).to_string()
            }
        );

        let typing = serde_json::to_string(&ServerFrame::Typing {
            doc: DocId::Ticket(id).to_string(),
            name: Some("Sam".into()),
        })
        .unwrap();
        let (out, events) = client.on_text(&mut docs, &typing);
        assert!(out.is_empty());
        assert_eq!(
            events,
            vec![Event::StaffTyping {
                ticket: id,
                name: Some("Sam".into())
            }]
        );
        // Of a knowledge base (not sent by servers): nothing.
        let odd = r#"{"type":"typing","doc":"kb:demo:en"}"#;
        assert_eq!(client.on_text(&mut docs, odd), (Vec::new(), Vec::new()));
    }

    /// A JWT-shaped token naming `sub` (the server checks signatures, not the widget).
    fn identity_token(sub: &str) -> String {
        use base64::Engine as _;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!(r#"{{"sub":"{sub}","exp":9999999999}}"#));
        format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig")
    }

    #[test]
    fn a_signed_in_device_signs_in_first_and_syncs_the_tickets_the_server_lists() {
        // The customer's ticket, filed on another device, is on the server.
        let mut server = FakeServer::new();
        let id = TicketId::from_bytes([9; 16]);
        let mut elsewhere = docs();
        elsewhere
            .tickets
            .create(&form(), id, "cd".repeat(32))
            .unwrap();
        let filed = elsewhere.tickets.doc_mut(id).unwrap().clone();
        server
            .docs
            .insert(DocId::Ticket(id), (filed, sync::State::new()));

        let mut docs = docs();
        let mut client = SyncClient::default();
        docs.tickets.set_identity(&identity_token("u-1"));
        let out = client.connected(&docs);
        let Outgoing::Text(first) = &out[0] else {
            panic!("{out:?}")
        };
        assert!(
            matches!(serde_json::from_str(first), Ok(ClientFrame::Identify { token }) if token == identity_token("u-1")),
            "the first frame signs in: {first}"
        );
        server.run_until_quiet(&mut client, &mut docs, out[1..].to_vec());

        let identified = serde_json::to_string(&ServerFrame::Identified {
            user: "u-1".into(),
            tickets: vec![id.to_string()],
        })
        .unwrap();
        let (out, events) = client.on_text(&mut docs, &identified);
        assert_eq!(events, vec![Event::Changed(DocId::Ticket(id))]);
        assert_eq!(
            out,
            vec![open_frame(&DocId::Ticket(id), String::new()).unwrap()],
            "opened by identity, without a token"
        );
        server.run_until_quiet(&mut client, &mut docs, out);
        assert_eq!(docs.tickets.views()[0].subject, "Printer offline");
        // Listed again (the next connection): nothing is opened twice.
        assert!(client.on_text(&mut docs, &identified).0.is_empty());
    }

    #[test]
    fn a_refused_identity_is_forgotten() {
        let mut docs = docs();
        let mut client = SyncClient::default();
        docs.tickets.set_identity(&identity_token("u-1"));
        client.connected(&docs);
        let refused = serde_json::to_string(&ServerFrame::Error {
            doc: None,
            code: ErrorCode::IdentityRefused,
            message: "the identity token has expired".into(),
        })
        .unwrap();
        let (_, events) = client.on_text(&mut docs, &refused);
        assert!(matches!(
            events.as_slice(),
            [Event::Refused {
                code: ErrorCode::IdentityRefused,
                ..
            }]
        ));
        assert_eq!(docs.tickets.identity(), None);
        client.disconnected();
        let out = client.connected(&docs);
        assert!(out
            .iter()
            .all(|f| !matches!(f, Outgoing::Text(t) if t.contains("identify"))));
    }

    #[test]
    fn another_customer_signing_in_clears_the_previous_ones_tickets() {
        let mut docs = docs();
        assert_eq!(
            docs.tickets.set_identity(&identity_token("u-1")),
            IdentityChange::SignedIn
        );
        let id = TicketId::from_bytes([10; 16]);
        docs.tickets.create(&form(), id, "ab".repeat(32)).unwrap();
        docs.tickets.save_draft(&form());
        let renewed = identity_token("u-1").replace(".sig", ".other");
        assert_eq!(docs.tickets.set_identity(&renewed), IdentityChange::Renewed);
        assert_eq!(docs.tickets.ids(), vec![id], "the same customer keeps them");
        assert_eq!(
            docs.tickets.set_identity(&identity_token("u-2")),
            IdentityChange::OtherCustomer
        );
        assert!(docs.tickets.ids().is_empty());
        assert_eq!(docs.tickets.draft(), TicketForm::default());
        // Nothing of the first customer survives a reload either.
        let reloaded = TicketBook::load(docs.tickets.kv().clone(), "demo");
        assert!(reloaded.ids().is_empty());
        assert_eq!(reloaded.identity(), Some(identity_token("u-2")));
    }

    #[test]
    fn a_reply_made_while_online_reaches_the_server() {
        let mut docs = docs();
        let mut client = SyncClient::default();
        let mut server = FakeServer::new();
        let out = client.connected(&docs);
        server.run_until_quiet(&mut client, &mut docs, out);
        let id = TicketId::from_bytes([8; 16]);
        docs.tickets.create(&form(), id, "ab".repeat(32)).unwrap();
        let out = client.local_change(&mut docs, id);
        server.run_until_quiet(&mut client, &mut docs, out);
        docs.tickets.reply(id, "m1".into(), "Ada", "Any news?", 3);
        let out = client.local_change(&mut docs, id);
        server.run_until_quiet(&mut client, &mut docs, out);
        assert_eq!(server.ticket(id).messages[0].body, "Any news?");
        assert!(!docs.tickets.views()[0].messages[0].waiting_to_send);
    }

    #[test]
    fn the_knowledge_base_arrives_and_is_kept() {
        let mut docs = docs();
        let mut client = SyncClient::default();
        let mut server = FakeServer::new();
        let kb_id = docs.kb.doc_id();
        let mut published = AutoCommit::new();
        let entry = stufe_shared::kb::CatalogueEntry {
            id: "returns".into(),
            title: "Returns".into(),
            category: "general".into(),
            tags: String::new(),
            version: 1,
            updated_at: 1,
        };
        stufe_shared::kb::put_entry(&mut published, &entry).unwrap();
        server.docs.insert(kb_id, (published, sync::State::new()));
        let out = client.connected(&docs);
        server.run_until_quiet(&mut client, &mut docs, out);
        assert_eq!(docs.kb.entries(), vec![entry]);
    }

    /// After a refusal the widget drops the refused change, keeps the reply's
    /// text as "not sent", opens the ticket again, and does not send the
    /// refused change again (no storm).
    #[test]
    fn a_refused_reply_is_dropped_kept_as_not_sent_and_the_ticket_reopened() {
        let mut docs = docs();
        let mut client = SyncClient::default();
        let mut server = FakeServer::new();
        let out = client.connected(&docs);
        server.run_until_quiet(&mut client, &mut docs, out);
        let id = TicketId::from_bytes([9; 16]);
        docs.tickets.create(&form(), id, "ab".repeat(32)).unwrap();
        let out = client.local_change(&mut docs, id);
        server.run_until_quiet(&mut client, &mut docs, out);
        let acked_heads = docs.tickets.doc_mut(id).unwrap().get_heads();

        docs.tickets.reply(id, "m1".into(), "Ada", "Refund me", 3);
        let error = format!(
            r#"{{"type":"error","doc":"ticket:{id}","code":"rejected_change","message":"too long"}}"#
        );
        let (out, events) = client.on_text(&mut docs, &error);
        assert!(matches!(
            &events[..],
            [Event::Changed(_), Event::Refused { .. }]
        ));
        assert_eq!(
            out.len(),
            1,
            "the ticket is opened again, and nothing else is sent"
        );
        assert!(matches!(&out[0], Outgoing::Text(t) if t.contains("\"open\"")));
        assert_eq!(docs.tickets.doc_mut(id).unwrap().get_heads(), acked_heads);
        let view = &docs.tickets.views()[0];
        assert!(view.messages.is_empty());
        assert_eq!(view.not_sent[0].body, "Refund me");
        assert_eq!(view.not_sent[0].reason, "too long");
        // Kept across a reload.
        let reloaded = TicketBook::load(docs.tickets.kv().clone(), "demo").views();
        assert_eq!(reloaded[0].not_sent, view.not_sent);
    }

    #[test]
    fn a_refused_new_ticket_is_kept_but_not_sent_again() {
        let mut docs = docs();
        let mut client = SyncClient::default();
        let id = TicketId::from_bytes([10; 16]);
        docs.tickets.create(&form(), id, "ab".repeat(32)).unwrap();
        client.connected(&docs);
        let error = format!(
            r#"{{"type":"error","doc":"ticket:{id}","code":"rejected_change","message":"unknown category"}}"#
        );
        let (out, _) = client.on_text(&mut docs, &error);
        assert!(out.is_empty());
        let view = &docs.tickets.views()[0];
        assert_eq!(view.refused.as_deref(), Some("unknown category"));
        assert!(!view.waiting_to_send);
        assert_eq!(
            client.connected(&docs).len(),
            1,
            "only the knowledge base is opened"
        );
    }

    #[test]
    fn a_new_ticket_refused_for_now_waits_and_is_offered_again_on_the_next_change() {
        let mut docs = docs();
        let mut client = SyncClient::default();
        let mut server = FakeServer::new();
        let out = client.connected(&docs);
        server.run_until_quiet(&mut client, &mut docs, out);
        let id = TicketId::from_bytes([11; 16]);
        docs.tickets.create(&form(), id, "ab".repeat(32)).unwrap();
        let open = client.local_change(&mut docs, id);
        assert!(matches!(&open[..], [Outgoing::Text(t)] if t.contains("\"open\"")));
        let error = format!(
            r#"{{"type":"error","doc":"ticket:{id}","code":"rate_limited","message":"too many new requests from this address; try again in 360 s"}}"#
        );
        let (out, _) = client.on_text(&mut docs, &error);
        assert!(out.is_empty(), "nothing is sent at once");
        let view = &docs.tickets.views()[0];
        assert!(
            view.waiting_to_send && view.refused.is_none(),
            "kept, not refused"
        );
        let again = client.local_change(&mut docs, id);
        assert!(
            matches!(&again[..], [Outgoing::Text(t)] if t.contains("\"open\"")),
            "opened again with a fresh sync state: {again:?}"
        );
    }

    #[test]
    fn an_erased_ticket_is_dropped_from_the_device_and_not_opened_again() {
        let mut docs = docs();
        let mut client = SyncClient::default();
        let (erased, kept) = (TicketId::from_bytes([7; 16]), TicketId::from_bytes([8; 16]));
        docs.tickets
            .create(&form(), erased, "ab".repeat(32))
            .unwrap();
        docs.tickets.create(&form(), kept, "cd".repeat(32)).unwrap();
        client.connected(&docs);
        let text = format!(
            r#"{{"type":"error","doc":"ticket:{erased}","code":"erased","message":"this ticket was erased"}}"#
        );
        let (out, events) = client.on_text(&mut docs, &text);
        assert!(out.is_empty(), "not opened again: {out:?}");
        assert!(events.contains(&Event::Changed(DocId::Ticket(erased))));
        assert_eq!(docs.tickets.ids(), vec![kept]);
        let kv = docs.tickets.kv();
        assert_eq!(kv.get(&format!("stufe:demo:doc:{erased}")), None);
        assert!(kv.get(&format!("stufe:demo:doc:{kept}")).is_some());
        assert!(!kv
            .get("stufe:demo:tickets")
            .unwrap()
            .contains(&erased.to_string()));
        // A new connection opens only the ticket that is left.
        client.disconnected();
        let opened = client.connected(&docs);
        assert!(opened
            .iter()
            .all(|f| !matches!(f, Outgoing::Text(t) if t.contains(&erased.to_string()))));
    }

    #[test]
    fn refusals_are_reported_to_the_ui() {
        let mut docs = docs();
        let mut client = SyncClient::default();
        let text = r#"{"type":"error","doc":"ticket:07070707070707070707070707070707","code":"forbidden","message":"no"}"#;
        let (_, events) = client.on_text(&mut docs, text);
        assert_eq!(
            events,
            vec![Event::Refused {
                doc: Some(DocId::Ticket(TicketId::from_bytes([7; 16]))),
                code: ErrorCode::Forbidden,
                message: "no".into()
            }]
        );
    }
}
