//! From what a customer types to typed search terms, and from typed terms to an
//! FTS5 `MATCH` expression.
//!
//! Request text never reaches `MATCH` as it is: [`SearchTerms::parse`] keeps
//! only runs of letters and digits (folded: lowercase and `ß` → `ss`), and the
//! storage layer builds the expression from those words, a validated
//! [`stufe_shared::SiteKey`] and a [`stufe_shared::Locale`]. The FTS5 tokenizer
//! (`unicode61 remove_diacritics 2`) then maps `ü` to `u`, so `ruckgabe`,
//! `Rückgabe` and `RÜCKGABE` meet. The last word is a prefix while the customer
//! is still typing it.

use stufe_shared::kb::fold;
pub use stufe_shared::kb::fold_sharp_s;

/// The shortest last word that is searched as a prefix (shorter ones match too
/// much to be useful and are slow).
pub const MIN_PREFIX_CHARS: usize = 2;
/// At most this many words of a query are used.
pub const MAX_WORDS: usize = 8;

/// The words of a search: only letters and digits, folded, at most
/// [`MAX_WORDS`], never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms {
    words: Vec<String>,
    last_is_prefix: bool,
}

impl SearchTerms {
    /// The terms of what a customer typed, or None when nothing searchable was typed.
    pub fn parse(input: &str) -> Option<SearchTerms> {
        let folded = fold(input);
        let words: Vec<String> = folded
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(MAX_WORDS)
            .map(str::to_owned)
            .collect();
        let last = words.last()?;
        let still_typing = !input.ends_with(char::is_whitespace);
        let last_is_prefix = still_typing && last.chars().count() >= MIN_PREFIX_CHARS;
        Some(SearchTerms {
            words,
            last_is_prefix,
        })
    }

    /// The words, folded (lowercase, `ß` → `ss`).
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Whether the last word is matched as a prefix (the customer is typing it).
    pub fn last_is_prefix(&self) -> bool {
        self.last_is_prefix
    }

    /// The FTS5 expression matching every word (the last as a prefix while typing).
    /// Each word is a quoted string; the words hold no quotes, but any would be
    /// doubled, so no FTS5 syntax can come through.
    pub fn match_expression(&self) -> String {
        let last = self.words.len() - 1;
        self.words
            .iter()
            .enumerate()
            .map(|(i, word)| {
                let quoted = format!("\"{}\"", word.replace('"', "\"\""));
                if i == last && self.last_is_prefix {
                    quoted + "*"
                } else {
                    quoted
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Normalises a query for counting it in the insights.
pub fn normalise_for_insights(input: &str) -> String {
    fold(&input.to_lowercase())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expression(input: &str) -> Option<String> {
        SearchTerms::parse(input).map(|t| t.match_expression())
    }

    #[test]
    fn the_last_word_is_a_prefix_while_typing() {
        assert_eq!(expression("Rückg").as_deref(), Some("\"rückg\"*"));
        assert_eq!(
            expression("return pol").as_deref(),
            Some("\"return\" \"pol\"*")
        );
        assert_eq!(expression("return ").as_deref(), Some("\"return\""));
        assert_eq!(expression("a").as_deref(), Some("\"a\""));
    }

    #[test]
    fn fts_syntax_and_punctuation_are_not_passed_through() {
        assert_eq!(
            expression("NEAR(x\" OR *").as_deref(),
            Some("\"near\" \"x\" \"or\"*")
        );
        assert_eq!(
            expression("title : \"zqx1\" ^x (a) \0bc").as_deref(),
            Some("\"title\" \"zqx1\" \"x\" \"a\" \"bc\"*")
        );
        assert_eq!(expression("  !! ").as_deref(), None);
        assert_eq!(expression("\"*^():").as_deref(), None);
    }

    #[test]
    fn sharp_s_folds_to_ss() {
        assert_eq!(expression("Straße").as_deref(), Some("\"strasse\"*"));
        assert_eq!(
            normalise_for_insights("  Große  Rückgabe "),
            "grosse rückgabe"
        );
    }
}
