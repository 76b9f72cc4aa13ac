//! From what a customer types to an FTS5 `MATCH` expression.
//!
//! Words are folded the same way on both sides (index and query): lowercase
//! and `ß` → `ss`; the FTS5 tokenizer (`unicode61 remove_diacritics 2`) then
//! maps `ü` to `u`, so `ruckgabe`, `Rückgabe` and `RÜCKGABE` meet. Every word is
//! quoted (no FTS syntax from users), and the last word is a prefix while the
//! customer is still typing it.

use stufe_shared::kb::fold;
pub use stufe_shared::kb::fold_sharp_s;

/// The shortest last word that is searched as a prefix (shorter ones match too
/// much to be useful and are slow).
pub const MIN_PREFIX_CHARS: usize = 2;
/// At most this many words of a query are used.
pub const MAX_WORDS: usize = 8;

/// Builds the MATCH expression, or None when nothing searchable was typed.
pub fn match_expression(input: &str) -> Option<String> {
    let folded = fold(input);
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .collect();
    let (last, rest) = words.split_last()?;
    let mut terms: Vec<String> = rest.iter().map(|w| format!("\"{w}\"")).collect();
    let still_typing = !input.ends_with(char::is_whitespace);
    if still_typing && last.chars().count() >= MIN_PREFIX_CHARS {
        terms.push(format!("\"{last}\"*"));
    } else {
        terms.push(format!("\"{last}\""));
    }
    Some(terms.join(" "))
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

    #[test]
    fn the_last_word_is_a_prefix_while_typing() {
        assert_eq!(match_expression("Rückg").as_deref(), Some("\"rückg\"*"));
        assert_eq!(
            match_expression("return pol").as_deref(),
            Some("\"return\" \"pol\"*")
        );
        assert_eq!(match_expression("return ").as_deref(), Some("\"return\""));
        assert_eq!(match_expression("a").as_deref(), Some("\"a\""));
    }

    #[test]
    fn fts_syntax_and_punctuation_are_not_passed_through() {
        assert_eq!(
            match_expression("NEAR(x\" OR *").as_deref(),
            Some("\"near\" \"x\" \"or\"*")
        );
        assert_eq!(match_expression("  !! ").as_deref(), None);
    }

    #[test]
    fn sharp_s_folds_to_ss() {
        assert_eq!(match_expression("Straße").as_deref(), Some("\"strasse\"*"));
        assert_eq!(
            normalise_for_insights("  Große  Rückgabe "),
            "grosse rückgabe"
        );
    }
}
