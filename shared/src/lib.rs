//! Stufe's shared core: the domain types, the ticket document schema, the wire
//! protocol and the change-validation rules. It builds for `wasm32` (the widget)
//! and natively (the server), so it holds no I/O of its own.
//!
//! # Layout
//!
//! - [`http`]: the JSON bodies of the HTTP endpoints the widget calls.
//! - [`ids`]: newtype ids (`TicketId`, `DocId`, `SiteKey`) with `FromStr`/`Display`.
//! - [`kb`]: the published knowledge-base catalogue document, and text folding for search.
//! - [`protocol`]: WebSocket framing — JSON control frames and binary sync frames — and limits.
//! - [`site`]: a site's public configuration (categories, SLA, brand)
//! - [`ticket`]: the ticket document schema, reading it strictly and writing it.
//! - [`validate`]: who may change what in a ticket, checked on before/after states.
//!
//! The main loop on the server is: decode a sync frame, apply it to a fork of the
//! document, read the ticket before and after with [`ticket::read_ticket`], and
//! let [`validate::check_ticket_change`] decide whether the whole message stands.
//!
//! ```
//! use automerge::AutoCommit;
//! use stufe_shared::{ticket, validate::{self, Role, SiteRules}, TicketId};
//!
//! let id: TicketId = "0123456789abcdef0123456789abcdef".parse().unwrap();
//! let mut doc = AutoCommit::new();
//! ticket::create(&mut doc, &ticket::NewTicket {
//!     id, site: "demo".into(), subject: "Printer offline".into(),
//!     description: "It blinks red.".into(), email: None, category: "technical".into(),
//! }).unwrap();
//! let after = ticket::read_ticket(&doc).unwrap().unwrap();
//! let rules = SiteRules { categories: vec!["technical".into()] };
//! assert!(validate::check_ticket_change(Role::Customer, None, &after, &rules).is_ok());
//! ```

pub mod files;
pub mod http;
pub mod ids;
pub mod kb;
pub mod protocol;
pub mod site;
pub mod ticket;
pub mod validate;

pub use ids::{DocId, IdError, Locale, SiteKey, TicketId};
