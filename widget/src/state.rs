//! Plain-Rust stores and logic of the widget, free of the DOM so they are
//! unit-tested natively: the customer's tickets, the knowledge base, the
//! sans-IO sync client, and the key-value persistence they write through.

pub mod knowledge;
pub mod kv;
pub mod outbox;
pub mod sync_client;
pub mod tickets;
