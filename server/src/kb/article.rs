//! Article types: ids, the staff's submission, and what search and reading return.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An article's id: a slug of 1–64 characters `a-z 0-9 -`, e.g. `return-policy`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ArticleId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an article id is 1-64 characters of a-z, 0-9 and '-'")]
pub struct BadArticleId;

impl FromStr for ArticleId {
    type Err = BadArticleId;
    fn from_str(s: &str) -> Result<Self, BadArticleId> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self(s.to_owned())).ok_or(BadArticleId)
    }
}

impl fmt::Display for ArticleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ArticleId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What staff submit to publish (a new version of) an article.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleSubmission {
    pub site: String,
    /// `en` or `de`.
    pub locale: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub category: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Ids of the tickets the article was written from.
    #[serde(default)]
    pub source_tickets: Vec<String>,
}

pub const LOCALES: &[&str] = &["en", "de"];

impl ArticleSubmission {
    /// Checks the submission; the error is safe to show to staff.
    pub fn validate(&self) -> Result<(), String> {
        if !LOCALES.contains(&self.locale.as_str()) {
            return Err(format!("locale must be one of {LOCALES:?}"));
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 200 {
            return Err("the title must have 1-200 characters".into());
        }
        if self.body.trim().is_empty() || self.body.len() > 200_000 {
            return Err("the body must have 1-200,000 bytes".into());
        }
        if self.category.trim().is_empty()
            || self.tags.len() > 20
            || self.tags.iter().any(|t| t.len() > 50)
        {
            return Err("a category is required; at most 20 tags of up to 50 bytes".into());
        }
        if self.source_tickets.len() > 100 {
            return Err("at most 100 source tickets".into());
        }
        Ok(())
    }
}

/// A published article as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Article {
    pub id: String,
    pub site: String,
    pub locale: String,
    pub title: String,
    /// Sanitised HTML rendered from the Markdown body.
    pub html: String,
    pub category: String,
    pub tags: Vec<String>,
    pub source_tickets: Vec<String>,
    pub version: u32,
    pub updated_at: i64,
}

/// The Markdown source and the plain text for the index, beside the stored article.
#[derive(Debug, Clone)]
pub struct ArticleWrite<'a> {
    pub article: &'a Article,
    pub markdown: &'a str,
    pub plain_text: &'a str,
}

pub use stufe_shared::http::SearchHit;

/// A KB event, recorded for the insights staff see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KbEvent {
    Search {
        query: String,
        results: u32,
    },
    ArticleView {
        article: String,
    },
    Helpful {
        article: String,
        helpful: bool,
    },
    /// An article was read and the widget closed without a ticket.
    Deflection {
        article: String,
    },
}

/// A KB event as the `kb_events` table keeps it, in both engines.
pub struct KbEventRow<'a> {
    /// `search`, `article_view`, `helpful` or `deflection`.
    pub kind: &'static str,
    pub query: Option<&'a str>,
    pub results: Option<u32>,
    pub article: Option<&'a str>,
    pub helpful: Option<bool>,
}

impl KbEvent {
    pub fn row(&self) -> KbEventRow<'_> {
        let row = |kind| KbEventRow {
            kind,
            query: None,
            results: None,
            article: None,
            helpful: None,
        };
        match self {
            KbEvent::Search { query, results } => KbEventRow {
                query: Some(query),
                results: Some(*results),
                ..row("search")
            },
            KbEvent::ArticleView { article } => KbEventRow {
                article: Some(article),
                ..row("article_view")
            },
            KbEvent::Helpful { article, helpful } => KbEventRow {
                article: Some(article),
                helpful: Some(*helpful),
                ..row("helpful")
            },
            KbEvent::Deflection { article } => KbEventRow {
                article: Some(article),
                ..row("deflection")
            },
        }
    }
}

/// Self-service figures over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KbCounts {
    pub searches: u32,
    pub zero_result_searches: u32,
    pub article_views: u32,
    pub helpful_yes: u32,
    pub helpful_no: u32,
    /// Articles read in a widget that was then closed without a ticket.
    pub deflections: u32,
}

/// How often a query was searched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryCount {
    pub query: String,
    pub count: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_ids_are_slugs() {
        assert!("return-policy-2".parse::<ArticleId>().is_ok());
        assert!("Return".parse::<ArticleId>().is_err());
        assert!("".parse::<ArticleId>().is_err());
        assert!("a/b".parse::<ArticleId>().is_err());
    }
}
