//! The JSON bodies of the HTTP endpoints the widget calls, shared so server
//! and widget cannot disagree about a field.

use serde::{Deserialize, Serialize};

/// One knowledge-base search result (`GET /api/sites/{site}/search`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub id: String,
    pub title: String,
    pub category: String,
    /// HTML: the matching passage, escaped, with matches in `<mark>`.
    pub snippet: String,
}

/// The body of a search answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub results: Vec<SearchHit>,
}

/// "Was this helpful?" (`POST /api/sites/{site}/articles/{id}/helpful`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelpfulVote {
    pub helpful: bool,
}

/// A read article that ended without a ticket (`POST /api/sites/{site}/deflections`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deflection {
    pub article: String,
}

/// The most characters of a client error's message that are kept.
pub const MAX_CLIENT_ERROR_MESSAGE_CHARS: usize = 2_000;
/// The most characters of the widget version and of the user agent that are kept.
pub const MAX_CLIENT_ERROR_FIELD_CHARS: usize = 512;

/// A crash the widget reports once per page load
/// (`POST /api/sites/{site}/client-errors`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientErrorReport {
    pub message: String,
    pub version: String,
    pub user_agent: String,
}
