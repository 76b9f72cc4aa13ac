//! Search snippets: the few words of an article's text around its best
//! matches, HTML-escaped, with the matches in `<mark>`.
//!
//! Made here from the text rather than by FTS5's `snippet()`, which evaluates
//! the query again for every hit; for a prefix longer than the prefix indexes
//! that means merging the postings of every matching word, ten times a search.

use stufe_shared::kb::fold_all;

use super::query::SearchTerms;

/// Words in a snippet.
pub const SNIPPET_WORDS: usize = 16;

/// The snippet of `text` for `terms`: the window of [`SNIPPET_WORDS`] words with
/// the most matches (the first such), `…` where text was left out.
pub fn snippet_html(text: &str, terms: &SearchTerms) -> String {
    let words = word_spans(text);
    if words.is_empty() {
        return String::new();
    }
    let wanted: Vec<String> = terms.words().iter().map(|w| fold_all(w)).collect();
    let last = wanted.len() - 1;
    let matched: Vec<bool> = words
        .iter()
        .map(|&(start, end)| {
            let word = fold_all(&text[start..end]);
            wanted.iter().enumerate().any(|(i, term)| {
                word == *term || (i == last && terms.last_is_prefix() && word.starts_with(term))
            })
        })
        .collect();
    let width = SNIPPET_WORDS.min(words.len());
    let mut in_window: usize = matched[..width].iter().filter(|m| **m).count();
    let (mut best, mut best_count) = (0, in_window);
    for start in 1..=words.len() - width {
        in_window += usize::from(matched[start + width - 1]);
        in_window -= usize::from(matched[start - 1]);
        if in_window > best_count {
            (best, best_count) = (start, in_window);
        }
    }
    let mut out = String::new();
    // Whole text before the first word and after the last one when the window
    // reaches the start or end; `…` where words were left out.
    let mut at = if best > 0 {
        out.push('…');
        words[best].0
    } else {
        0
    };
    for i in best..best + width {
        let (start, end) = words[i];
        escape_into(&mut out, &text[at..start]);
        if matched[i] {
            out.push_str("<mark>");
            escape_into(&mut out, &text[start..end]);
            out.push_str("</mark>");
        } else {
            escape_into(&mut out, &text[start..end]);
        }
        at = end;
    }
    if best + width < words.len() {
        out.push('…');
    } else {
        escape_into(&mut out, &text[at..]);
    }
    out
}

/// Byte ranges of the runs of letters and digits.
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snippet(text: &str, query: &str) -> String {
        snippet_html(text, &SearchTerms::parse(query).unwrap())
    }

    #[test]
    fn matches_are_marked_and_folded_like_the_index() {
        assert_eq!(
            snippet("Die Rückgabe ist kostenlos.", "ruckgabe "),
            "Die <mark>Rückgabe</mark> ist kostenlos."
        );
        assert_eq!(
            snippet("Send it back, then track the parcel.", "pa"),
            "Send it back, then track the <mark>parcel</mark>."
        );
        assert_eq!(
            snippet("Straße und Strasse", "strasse "),
            "<mark>Straße</mark> und <mark>Strasse</mark>"
        );
    }

    #[test]
    fn the_window_with_most_matches_is_shown_and_cuts_are_marked() {
        let text = (0..40)
            .map(|i| {
                if i == 30 || i == 32 {
                    "refund".to_owned()
                } else {
                    format!("w{i}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        let shown = snippet(&text, "refund ");
        assert!(shown.starts_with("…w17 "), "{shown}");
        assert!(shown.ends_with(" <mark>refund</mark>…"), "{shown}");
        assert_eq!(shown.matches("<mark>refund</mark>").count(), 2);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            snippet("Use <b> & \"quotes\" for refund's sake", "refund "),
            "Use &lt;b&gt; &amp; &quot;quotes&quot; for <mark>refund</mark>&#39;s sake"
        );
    }
}
