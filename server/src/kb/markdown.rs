//! Markdown to HTML that is safe to show customers, and plain text to index.
//! Articles are staff-written, but customers' words and pasted content reach
//! them, so everything goes through ammonia's allow-list sanitiser.

use pulldown_cmark::{html, Event, Options, Parser};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Renders Markdown to sanitised HTML: no scripts, event handlers, `javascript:`
/// URLs, SVG or styles survive; links get `rel="noopener noreferrer"`.
pub fn to_safe_html(markdown: &str) -> String {
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options()));
    ammonia::clean(&unsafe_html)
}

/// The words of the article as plain text (for the search index and snippets).
pub fn to_plain_text(markdown: &str) -> String {
    let mut text = String::with_capacity(markdown.len());
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders() {
        let html =
            to_safe_html("# Returns\n\nSend it **back** within [30 days](https://example.com/r).");
        assert!(html.contains("<h1>Returns</h1>"));
        assert!(html.contains("<strong>back</strong>"));
        assert!(html.contains(r#"href="https://example.com/r""#));
        assert!(html.contains("noopener"));
    }

    #[test]
    fn plain_text_has_the_words_without_markup() {
        let text = to_plain_text("# Rückgabe\n\nSo geht die **Rückgabe**:\n\n- Paket packen");
        assert_eq!(text, "Rückgabe So geht die Rückgabe : Paket packen");
    }
}
