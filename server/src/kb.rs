//! The knowledge base: articles that tier-3 staff publish and customers search.
//!
//! - [`article`]: article ids, what staff submit, what is stored and returned.
//! - [`drafts`]: article drafts as Automerge documents that merge concurrent edits.
//! - [`markdown`]: Markdown to sanitised HTML (pulldown-cmark + ammonia) and plain text for the index.
//! - [`repair`]: bringing the synced catalogues in line with the published articles at start.
//! - [`query`]: turning what a customer types into an FTS5 query (folding umlauts and `ß`,
//!   prefix matching on the last word).
//!
//! Storage ([`crate::storage::Storage`]) keeps published articles, the FTS5 index and KB events.

pub mod article;
pub mod drafts;
pub mod markdown;
pub mod query;
pub mod repair;
pub mod snippet;
