//! [`SyncClient`]: the widget's side of the wire protocol, sans IO. Events go
//! in (connected, a frame arrived, a local change), frames to send come out.
//! A fresh sync state per connection means that after any reconnect the
//! Automerge sync protocol works out what the server lacks, so unsent changes
//! are delivered once and nothing twice.

use std::collections::{HashMap, HashSet};

use automerge::sync::{self, SyncDoc};
use stufe_shared::protocol::{encode_sync_frame, ClientFrame, ErrorCode, ServerFrame, SyncFrame};
use stufe_shared::{DocId, TicketId};

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
    /// A ticket's document or acknowledgement state changed.
    Changed(TicketId),
    /// The server refused something.
    Refused {
        doc: Option<TicketId>,
        code: ErrorCode,
        message: String,
    },
}

#[derive(Default)]
pub struct SyncClient {
    peers: HashMap<TicketId, sync::State>,
    opened: HashSet<TicketId>,
    connected: bool,
}

impl SyncClient {
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The socket is open: open every ticket this device holds.
    pub fn connected<K: KeyValue>(&mut self, book: &TicketBook<K>) -> Vec<Outgoing> {
        self.connected = true;
        self.peers.clear();
        self.opened.clear();
        book.ids()
            .into_iter()
            .filter_map(|id| open_frame(book, id))
            .collect()
    }

    pub fn disconnected(&mut self) {
        self.connected = false;
        self.peers.clear();
        self.opened.clear();
    }

    /// A ticket was created or changed locally.
    pub fn local_change<K: KeyValue>(
        &mut self,
        book: &mut TicketBook<K>,
        id: TicketId,
    ) -> Vec<Outgoing> {
        if !self.connected {
            return Vec::new();
        }
        if !self.opened.contains(&id) {
            if self.peers.contains_key(&id) {
                return Vec::new(); // opening; the sync starts when `opened` arrives
            }
            self.peers.insert(id, sync::State::new());
            return open_frame(book, id).into_iter().collect();
        }
        self.generate(book, id).into_iter().collect()
    }

    fn generate<K: KeyValue>(
        &mut self,
        book: &mut TicketBook<K>,
        id: TicketId,
    ) -> Option<Outgoing> {
        let peer = self.peers.entry(id).or_default();
        let doc = book.doc_mut(id)?;
        let message = doc.sync().generate_sync_message(peer)?;
        Some(Outgoing::Binary(encode_sync_frame(
            &DocId::Ticket(id),
            &message.encode(),
        )))
    }

    pub fn on_text<K: KeyValue>(
        &mut self,
        book: &mut TicketBook<K>,
        text: &str,
    ) -> (Vec<Outgoing>, Vec<Event>) {
        let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else {
            return (Vec::new(), Vec::new());
        };
        let ticket = |doc: &str| match doc.parse::<DocId>() {
            Ok(DocId::Ticket(id)) => Some(id),
            Err(_) => None,
        };
        match frame {
            ServerFrame::Hello { .. } => (Vec::new(), Vec::new()),
            ServerFrame::Opened { doc, .. } => {
                let Some(id) = ticket(&doc) else {
                    return (Vec::new(), Vec::new());
                };
                self.opened.insert(id);
                (self.generate(book, id).into_iter().collect(), Vec::new())
            }
            ServerFrame::Ack { doc, heads } => {
                let Some(id) = ticket(&doc) else {
                    return (Vec::new(), Vec::new());
                };
                book.acknowledge(id, &heads);
                (Vec::new(), vec![Event::Changed(id)])
            }
            ServerFrame::Error { doc, code, message } => {
                let doc = doc.as_deref().and_then(ticket);
                (Vec::new(), vec![Event::Refused { doc, code, message }])
            }
        }
    }

    pub fn on_binary<K: KeyValue>(
        &mut self,
        book: &mut TicketBook<K>,
        bytes: &[u8],
    ) -> (Vec<Outgoing>, Vec<Event>) {
        let Ok(SyncFrame {
            doc: DocId::Ticket(id),
            message,
        }) = SyncFrame::decode(bytes)
        else {
            return (Vec::new(), Vec::new());
        };
        let Ok(message) = sync::Message::decode(&message) else {
            return (Vec::new(), Vec::new());
        };
        let peer = self.peers.entry(id).or_default();
        let Some(doc) = book.doc_mut(id) else {
            return (Vec::new(), Vec::new());
        };
        let before = doc.get_heads();
        if doc.sync().receive_sync_message(peer, message).is_err() {
            return (Vec::new(), Vec::new());
        }
        let changed = doc.get_heads() != before;
        if changed {
            book.persist(id);
        }
        let out = self.generate(book, id).into_iter().collect();
        let events = if changed {
            vec![Event::Changed(id)]
        } else {
            Vec::new()
        };
        (out, events)
    }
}

fn open_frame<K: KeyValue>(book: &TicketBook<K>, id: TicketId) -> Option<Outgoing> {
    let token = book.token(id)?.to_owned();
    let frame = ClientFrame::Open {
        doc: DocId::Ticket(id).to_string(),
        token,
    };
    Some(Outgoing::Text(
        serde_json::to_string(&frame).expect("frames serialize"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::kv::MemoryKv;
    use crate::state::tickets::TicketForm;
    use automerge::AutoCommit;
    use stufe_shared::ticket;

    /// A bare Automerge peer standing in for the server (no validation, no IO).
    struct FakeServer {
        doc: AutoCommit,
        peer: sync::State,
        received: usize,
    }

    impl FakeServer {
        /// Feeds the client's frames to the server until both sides are quiet.
        fn run_until_quiet(
            &mut self,
            client: &mut SyncClient,
            book: &mut TicketBook<MemoryKv>,
            mut out: Vec<Outgoing>,
        ) {
            for _ in 0..20 {
                let mut replies = Vec::new();
                let mut to_client = Vec::new();
                for frame in out.drain(..) {
                    match frame {
                        Outgoing::Text(text) => {
                            let ClientFrame::Open { doc, .. } =
                                serde_json::from_str(&text).unwrap()
                            else {
                                panic!()
                            };
                            let opened = ServerFrame::Opened { doc, exists: true };
                            replies.push(serde_json::to_string(&opened).unwrap());
                        }
                        Outgoing::Binary(bytes) => {
                            let frame = SyncFrame::decode(&bytes).unwrap();
                            let message = sync::Message::decode(&frame.message).unwrap();
                            let before = self.doc.get_heads();
                            self.doc
                                .sync()
                                .receive_sync_message(&mut self.peer, message)
                                .unwrap();
                            if self.doc.get_heads() != before {
                                self.received += 1;
                                let heads = self
                                    .doc
                                    .get_heads()
                                    .iter()
                                    .map(ToString::to_string)
                                    .collect();
                                let ack = ServerFrame::Ack {
                                    doc: frame.doc.to_string(),
                                    heads,
                                };
                                replies.push(serde_json::to_string(&ack).unwrap());
                            }
                            if let Some(m) = self.doc.sync().generate_sync_message(&mut self.peer) {
                                to_client.push(encode_sync_frame(&frame.doc, &m.encode()));
                            }
                        }
                    }
                }
                // Server -> client.
                let mut next = Vec::new();
                for bytes in to_client {
                    next.extend(client.on_binary(book, &bytes).0);
                }
                for text in replies {
                    next.extend(client.on_text(book, &text).0);
                }
                if next.is_empty() {
                    return;
                }
                out = next;
            }
            panic!("sync did not settle");
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
        let mut book = TicketBook::load(MemoryKv::default(), "demo");
        let mut client = SyncClient::default();
        let id = TicketId::from_bytes([7; 16]);
        book.create(&form(), id, "ab".repeat(32)).unwrap();
        assert!(
            client.local_change(&mut book, id).is_empty(),
            "offline: nothing to send"
        );
        assert!(book.views()[0].waiting_to_send);

        let mut server = FakeServer {
            doc: AutoCommit::new(),
            peer: sync::State::new(),
            received: 0,
        };
        let out = client.connected(&book);
        assert_eq!(out.len(), 1, "one open frame per ticket");
        server.run_until_quiet(&mut client, &mut book, out);
        assert_eq!(
            ticket::read_ticket(&server.doc).unwrap().unwrap().subject,
            "Printer offline"
        );
        assert!(!book.views()[0].waiting_to_send, "acked");

        // Reconnecting sends nothing new: the server already has every change.
        client.disconnected();
        let received = server.received;
        server.peer = sync::State::new();
        let out = client.connected(&book);
        server.run_until_quiet(&mut client, &mut book, out);
        assert_eq!(server.received, received, "nothing sent twice");
    }

    #[test]
    fn a_reply_made_while_online_reaches_the_server() {
        let mut book = TicketBook::load(MemoryKv::default(), "demo");
        let mut client = SyncClient::default();
        let mut server = FakeServer {
            doc: AutoCommit::new(),
            peer: sync::State::new(),
            received: 0,
        };
        let out = client.connected(&book);
        assert!(out.is_empty());
        let id = TicketId::from_bytes([8; 16]);
        book.create(&form(), id, "ab".repeat(32)).unwrap();
        let out = client.local_change(&mut book, id);
        server.run_until_quiet(&mut client, &mut book, out);
        book.reply(id, "m1".into(), "Ada", "Any news?", 3);
        let out = client.local_change(&mut book, id);
        server.run_until_quiet(&mut client, &mut book, out);
        let on_server = ticket::read_ticket(&server.doc).unwrap().unwrap();
        assert_eq!(on_server.messages[0].body, "Any news?");
        assert!(!book.views()[0].messages[0].waiting_to_send);
    }

    #[test]
    fn refusals_are_reported_to_the_ui() {
        let mut book = TicketBook::load(MemoryKv::default(), "demo");
        let mut client = SyncClient::default();
        let text = r#"{"type":"error","doc":"ticket:07070707070707070707070707070707","code":"forbidden","message":"no"}"#;
        let (_, events) = client.on_text(&mut book, text);
        assert_eq!(
            events,
            vec![Event::Refused {
                doc: Some(TicketId::from_bytes([7; 16])),
                code: ErrorCode::Forbidden,
                message: "no".into()
            }]
        );
    }
}
