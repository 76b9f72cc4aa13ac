//! The sync hub: per-document state, validation of every incoming change by
//! role, persistence before acknowledgement, and fan-out to subscribers.
//!
//! - [`hub`]: [`Hub`] owns the live ticket documents. An incoming sync message
//!   is applied to the stored ticket's document in place (to a copy for a
//!   ticket not stored yet) and to a copy of the sync state; the ticket is
//!   projected after it and checked with the rules of
//!   [`stufe_shared::validate`]; only if that passes and the database write
//!   returns is the change kept, the sender acked and the other subscribers
//!   notified. Anything else leaves the sync state and the database as they
//!   were, and the document is loaded again as stored.
//! - [`projected`]: the ticket after a change, read from what it touched (or
//!   whole), and its check.
//! - [`chunks`]: the changes a sync message carries, read whole before they are applied.
//! - [`error`]: [`HubError`], and the protocol error code for each.
//! - [`decide`]: the commit decision as a pure function (no storage, socket
//!   or clock), unit-tested with fixed times.
//! - [`session`]: one WebSocket connection: framing, open/close, heartbeats,
//!   rate and size limits.
//! - [`presence`]: who is typing in or viewing a ticket (ephemeral, never stored).
//!
//! Fan-out is in-process: each subscriber registers a channel with the
//! documents it has open and is told "document X changed"; it then generates
//! its own sync message from its own sync state. A multi-node deployment puts
//! a pub/sub (e.g. PostgreSQL `LISTEN/NOTIFY`) behind the same notification.

pub mod chunks;
pub mod decide;
pub mod error;
pub mod hub;
pub mod presence;
pub mod projected;
pub mod session;

pub use error::HubError;
pub use hub::Hub;

/// A new ticket ("Printer offline" on site `demo`) for tests.
#[cfg(test)]
pub(crate) fn sample_ticket(id: stufe_shared::TicketId) -> automerge::AutoCommit {
    let mut doc = automerge::AutoCommit::new();
    stufe_shared::ticket::create(
        &mut doc,
        &stufe_shared::ticket::NewTicket {
            id,
            site: "demo".into(),
            subject: "Printer offline".into(),
            description: "It blinks red.".into(),
            email: None,
            category: "technical".into(),
        },
    )
    .unwrap();
    doc
}
