//! Who is there: staff viewing or typing in a ticket, a customer typing.
//!
//! Ephemeral: a signal lives in memory for seconds, is never stored and never
//! enters a document's history. A signal made here is applied here and
//! announced to the other servers sharing the storage (PostgreSQL
//! `NOTIFY stufe_presence`), which apply it as theirs; staff typing also goes
//! to the widgets that have the ticket open (through the [`Hub`]).
//!
//! Typing signals are passed on at most once per [`TYPING_EVERY_MS`] per typist
//! and ticket (more are dropped), and show for [`TYPING_SHOWN_MS`]. A staff
//! member's console page says "viewing" every [`VIEWING_EVERY`]; a viewer not
//! heard of for [`VIEWING_SHOWN`] is gone (a server that went away cannot
//! say so).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stufe_shared::protocol::{TYPING_EVERY_MS, TYPING_SHOWN_MS};
use stufe_shared::{DocId, TicketId};
use tokio::time::Instant;

use super::hub::Hub;
use crate::storage::{self, Storage};

/// How often an open console page says its agent is still viewing.
pub const VIEWING_EVERY: Duration = Duration::from_secs(10);
/// A viewer not heard of for this long is no longer shown.
pub const VIEWING_SHOWN: Duration = Duration::from_secs(30);
/// Staff names in signals are cut to this many characters.
const MAX_NAME_CHARS: usize = 100;

/// One presence signal, as applied and as announced to other servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// The customer is typing in the ticket (in any of their widgets).
    CustomerTyping { ticket: TicketId },
    /// A staff member is typing a reply; `shown_as` is the name widgets show
    /// (None: the site does not show staff names).
    StaffTyping {
        ticket: TicketId,
        staff: i64,
        name: String,
        shown_as: Option<String>,
    },
    /// A staff member has the ticket open in the console.
    StaffViewing {
        ticket: TicketId,
        staff: i64,
        name: String,
    },
    /// A staff member closed the ticket's page.
    StaffLeft { ticket: TicketId, staff: i64 },
}

impl Signal {
    fn ticket(&self) -> TicketId {
        match self {
            Signal::CustomerTyping { ticket }
            | Signal::StaffTyping { ticket, .. }
            | Signal::StaffViewing { ticket, .. }
            | Signal::StaffLeft { ticket, .. } => *ticket,
        }
    }
}

/// A signal on its way to the other servers, with the server that made it.
#[derive(Serialize, Deserialize)]
struct Announced {
    from: u64,
    #[serde(flatten)]
    signal: Signal,
}

/// What a staff member on a ticket's page sees of the others there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Seen {
    /// The customer typed within the last [`TYPING_SHOWN_MS`].
    pub customer_typing: bool,
    /// The other staff on the page, by name, and whether they are typing.
    pub staff: Vec<OtherStaff>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherStaff {
    pub name: String,
    pub typing: bool,
}

#[derive(Default)]
struct TicketPresence {
    customer_typed: Option<Instant>,
    staff: Vec<StaffPresence>,
}

struct StaffPresence {
    id: i64,
    name: String,
    viewed: Option<Instant>,
    typed: Option<Instant>,
}

impl TicketPresence {
    fn staff_mut(&mut self, id: i64, name: &str) -> &mut StaffPresence {
        let index = match self.staff.iter().position(|s| s.id == id) {
            Some(index) => index,
            None => {
                self.staff.push(StaffPresence {
                    id,
                    name: String::new(),
                    viewed: None,
                    typed: None,
                });
                self.staff.len() - 1
            }
        };
        let member = &mut self.staff[index];
        member.name = name.chars().take(MAX_NAME_CHARS).collect();
        member
    }

    /// Forgets what is no longer shown; true when nothing is left.
    fn prune(&mut self, now: Instant) -> bool {
        let typing = Duration::from_millis(TYPING_SHOWN_MS);
        let recent = |at: Option<Instant>, shown: Duration| at.filter(|at| now - *at < shown);
        self.customer_typed = recent(self.customer_typed, typing);
        for member in &mut self.staff {
            member.typed = recent(member.typed, typing);
            member.viewed = recent(member.viewed, VIEWING_SHOWN);
        }
        self.staff
            .retain(|m| m.viewed.is_some() || m.typed.is_some());
        self.customer_typed.is_none() && self.staff.is_empty()
    }
}

/// The presence of this server's and the other servers' users, by ticket.
pub struct Presence {
    /// This server, among those sharing the storage.
    server: u64,
    hub: Arc<Hub>,
    storage: Arc<dyn Storage>,
    tickets: std::sync::Mutex<HashMap<TicketId, TicketPresence>>,
    /// The ticket of every applied signal (console pages listen).
    changed: tokio::sync::broadcast::Sender<TicketId>,
}

/// Too soon after the typist's last signal: `at` is kept, nothing passed on.
fn too_soon(last: Option<Instant>, now: Instant) -> bool {
    last.is_some_and(|last| now - last < Duration::from_millis(TYPING_EVERY_MS))
}

impl Presence {
    pub fn new(hub: Arc<Hub>, storage: Arc<dyn Storage>) -> Self {
        Self {
            server: rand::random(),
            hub,
            storage,
            tickets: std::sync::Mutex::default(),
            changed: tokio::sync::broadcast::channel(256).0,
        }
    }

    fn tickets(&self) -> std::sync::MutexGuard<'_, HashMap<TicketId, TicketPresence>> {
        self.tickets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A signal made on this server: applied here and announced to the
    /// others. False (and nothing done) for a typing signal that came too
    /// soon after the same typist's last one.
    pub async fn signal(&self, signal: Signal) -> bool {
        if !self.apply(&signal, true).await {
            return false;
        }
        let payload = serde_json::to_string(&Announced {
            from: self.server,
            signal,
        })
        .expect("signals serialize");
        let storage = Arc::clone(&self.storage);
        // Announcing waits on the database; the signaller does not.
        tokio::spawn(async move {
            if let Err(err) =
                storage::blocking(&storage, move |s| s.announce_presence(&payload)).await
            {
                tracing::warn!(%err, "cannot tell other servers of a presence signal");
            }
        });
        true
    }

    /// A signal another server announced (its own are ignored).
    pub async fn heard(&self, payload: &str) {
        match serde_json::from_str::<Announced>(payload) {
            Ok(announced) if announced.from != self.server => {
                self.apply(&announced.signal, false).await;
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(%err, "an unreadable presence signal"),
        }
    }

    async fn apply(&self, signal: &Signal, throttled: bool) -> bool {
        let now = Instant::now();
        let ticket = signal.ticket();
        {
            let mut tickets = self.tickets();
            let entry = tickets.entry(ticket).or_default();
            match signal {
                Signal::CustomerTyping { .. } => {
                    if throttled && too_soon(entry.customer_typed, now) {
                        return false;
                    }
                    entry.customer_typed = Some(now);
                }
                Signal::StaffTyping { staff, name, .. } => {
                    let member = entry.staff_mut(*staff, name);
                    if throttled && too_soon(member.typed, now) {
                        return false;
                    }
                    member.typed = Some(now);
                    member.viewed = Some(now);
                }
                Signal::StaffViewing { staff, name, .. } => {
                    entry.staff_mut(*staff, name).viewed = Some(now);
                }
                Signal::StaffLeft { staff, .. } => {
                    entry.staff.retain(|m| m.id != *staff);
                }
            }
            if entry.prune(now) {
                tickets.remove(&ticket);
            }
            // Every other ticket's presence expires too, a few at a time.
            if tickets.len() > 1_000 {
                tickets.retain(|_, t| !t.prune(now));
            }
        }
        if let Signal::StaffTyping { shown_as, .. } = signal {
            self.hub
                .staff_typing(&DocId::Ticket(ticket), shown_as.as_deref())
                .await;
        }
        let _ = self.changed.send(ticket);
        true
    }

    /// What staff member `me` sees of the others on `ticket`'s page now.
    pub fn seen_by(&self, ticket: TicketId, me: i64) -> Seen {
        let now = Instant::now();
        let mut tickets = self.tickets();
        let Some(entry) = tickets.get_mut(&ticket) else {
            return Seen::default();
        };
        if entry.prune(now) {
            tickets.remove(&ticket);
            return Seen::default();
        }
        let mut staff: Vec<OtherStaff> = entry
            .staff
            .iter()
            .filter(|m| m.id != me)
            .map(|m| OtherStaff {
                name: m.name.clone(),
                typing: m.typed.is_some(),
            })
            .collect();
        staff.sort_by(|a, b| a.name.cmp(&b.name));
        Seen {
            customer_typing: entry.customer_typed.is_some(),
            staff,
        }
    }

    /// The ticket of every signal applied from now on.
    pub fn watch(&self) -> tokio::sync::broadcast::Receiver<TicketId> {
        self.changed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{prelude::SiteStore, SqliteStorage};

    fn presence() -> (Presence, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("s.sqlite")).unwrap();
        storage
            .put_site(&"demo".parse().unwrap(), &crate::seed::demo_site())
            .unwrap();
        let storage: Arc<dyn Storage> = Arc::new(storage);
        let hub = Arc::new(Hub::with_clock(storage.clone(), Arc::new(|| 1_000)));
        (Presence::new(hub, storage), dir)
    }

    fn ticket() -> TicketId {
        "00112233445566778899aabbccddeeff".parse().unwrap()
    }

    fn viewing(staff: i64, name: &str) -> Signal {
        Signal::StaffViewing {
            ticket: ticket(),
            staff,
            name: name.into(),
        }
    }

    fn typing(staff: i64, name: &str) -> Signal {
        Signal::StaffTyping {
            ticket: ticket(),
            staff,
            name: name.into(),
            shown_as: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn staff_see_each_other_but_not_themselves_until_they_leave() {
        let (presence, _dir) = presence();
        assert!(presence.signal(viewing(1, "Sam")).await);
        assert!(presence.signal(viewing(2, "Tia")).await);
        let seen = presence.seen_by(ticket(), 1);
        assert_eq!(
            seen.staff,
            vec![OtherStaff {
                name: "Tia".into(),
                typing: false
            }]
        );
        assert!(
            presence
                .signal(Signal::StaffLeft {
                    ticket: ticket(),
                    staff: 2
                })
                .await
        );
        assert_eq!(presence.seen_by(ticket(), 1), Seen::default());
    }

    #[tokio::test(start_paused = true)]
    async fn typing_shows_for_its_time_and_a_silent_viewer_goes() {
        let (presence, _dir) = presence();
        presence.signal(typing(2, "Tia")).await;
        assert!(presence.seen_by(ticket(), 1).staff[0].typing);
        tokio::time::advance(Duration::from_millis(TYPING_SHOWN_MS)).await;
        let seen = presence.seen_by(ticket(), 1);
        assert!(!seen.staff[0].typing, "typing ends, viewing stays");
        tokio::time::advance(VIEWING_SHOWN).await;
        assert_eq!(presence.seen_by(ticket(), 1), Seen::default());
    }

    #[tokio::test(start_paused = true)]
    async fn typing_signals_closer_than_the_minimum_gap_are_dropped() {
        let (presence, _dir) = presence();
        let customer = Signal::CustomerTyping { ticket: ticket() };
        assert!(presence.signal(customer.clone()).await);
        tokio::time::advance(Duration::from_millis(TYPING_EVERY_MS - 1)).await;
        assert!(!presence.signal(customer.clone()).await);
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(presence.signal(customer).await);
        // Per typist: another staff member is not held back by the first.
        assert!(presence.signal(typing(1, "Sam")).await);
        assert!(presence.signal(typing(2, "Tia")).await);
        assert!(!presence.signal(typing(1, "Sam")).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_signal_from_another_server_applies_and_our_own_echo_does_not_twice() {
        let (presence, _dir) = presence();
        let elsewhere = serde_json::json!({
            "from": presence.server.wrapping_add(1),
            "kind": "customer_typing",
            "ticket": ticket().to_string(),
        });
        presence.heard(&elsewhere.to_string()).await;
        assert!(presence.seen_by(ticket(), 1).customer_typing);
        let mine = serde_json::json!({
            "from": presence.server,
            "kind": "staff_viewing",
            "ticket": ticket().to_string(),
            "staff": 2,
            "name": "Tia",
        });
        presence.heard(&mine.to_string()).await;
        assert!(presence.seen_by(ticket(), 1).staff.is_empty());
        presence.heard("not json").await;
    }
}
