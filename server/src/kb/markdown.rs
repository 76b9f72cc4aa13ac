//! Markdown to HTML that is safe to show customers, and plain text to index.
//!
//! Articles are staff-written, but customers' words reach them ("write article
//! from ticket" copies a ticket's text into a draft), so two rules hold:
//!
//! - **Nothing typed disappears.** Raw HTML in the Markdown is shown as text,
//!   not interpreted: `My printer <style> is broken` stays a sentence instead of
//!   an unclosed `<style>` that swallows the rest of the article. What Markdown
//!   itself produces (headings, lists, links, images, tables, code) is HTML.
//! - **Nothing active survives.** The HTML then goes through ammonia with an
//!   allow-list of exactly the elements and attributes Markdown produces, and
//!   every URL-carrying attribute must be `http:`, `https:`, `mailto:` or relative.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use pulldown_cmark::{html, Event, Options, Parser};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Every attribute name that carries a URL in HTML or SVG. Whatever the
/// allow-list says, these are checked by [`is_safe_url`].
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "cite",
    "action",
    "formaction",
    "poster",
    "background",
    "xlink:href",
    "longdesc",
    "ping",
    "data",
    "srcset",
    "codebase",
    "manifest",
    "usemap",
    "lowsrc",
    "dynsrc",
];

const SAFE_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// Markdown's own output: the elements and attributes it can produce.
fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let tags: HashSet<&str> = [
            "p",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "strong",
            "em",
            "del",
            "a",
            "img",
            "ul",
            "ol",
            "li",
            "blockquote",
            "code",
            "pre",
            "hr",
            "br",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "input",
        ]
        .into_iter()
        .collect();
        let tag_attributes: HashMap<&str, HashSet<&str>> = [
            ("a", ["href", "title"].into_iter().collect()),
            ("img", ["src", "alt", "title"].into_iter().collect()),
            ("ol", ["start"].into_iter().collect()),
            (
                "input",
                ["type", "checked", "disabled"].into_iter().collect(),
            ),
        ]
        .into_iter()
        .collect();
        let mut builder = ammonia::Builder::empty();
        builder
            .tags(tags)
            .tag_attributes(tag_attributes)
            .url_schemes(SAFE_SCHEMES.iter().copied().collect())
            .url_relative(ammonia::UrlRelative::PassThrough)
            .link_rel(Some("noopener noreferrer"))
            .attribute_filter(|_element, attribute, value| {
                if URL_ATTRIBUTES.contains(&attribute) && !is_safe_url(value) {
                    None
                } else {
                    Some(Cow::Borrowed(value))
                }
            });
        builder
    })
}

/// True for relative URLs and the schemes in `SAFE_SCHEMES` (http, https, mailto). The value is
/// already entity-decoded by the HTML parser; browsers drop ASCII tab and
/// newline and trim control characters and spaces before reading a scheme, so
/// this does the same (and more: any character that is not printable counts as
/// removed), then refuses anything with an unknown scheme.
pub fn is_safe_url(value: &str) -> bool {
    let cleaned: String = value
        .chars()
        .filter(|c| {
            !c.is_control()
                && !c.is_whitespace()
                && !matches!(
                    c,
                    '\u{200b}'..='\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
                )
        })
        .collect();
    let lower = cleaned.to_ascii_lowercase();
    let scheme_end = lower.find([':', '/', '?', '#']);
    match scheme_end {
        Some(i) if lower[i..].starts_with(':') => SAFE_SCHEMES.contains(&&lower[..i]),
        // No scheme at all: a relative URL (path, query or fragment).
        _ => true,
    }
}

/// Sanitises HTML with the article allow-list (public for the test table).
pub fn sanitize(html: &str) -> String {
    sanitizer().clean(html).to_string()
}

/// Raw HTML in Markdown becomes text: shown as typed, never interpreted.
fn html_as_text(event: Event<'_>) -> Event<'_> {
    match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    }
}

/// Renders Markdown to sanitised HTML: no scripts, event handlers, `javascript:`
/// URLs, SVG or styles survive; links get `rel="noopener noreferrer"`; raw HTML
/// shows as text.
pub fn to_safe_html(markdown: &str) -> String {
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(
        &mut unsafe_html,
        Parser::new_ext(markdown, options()).map(html_as_text),
    );
    sanitize(&unsafe_html)
}

/// The words of the article as plain text (for the search index and snippets).
pub fn to_plain_text(markdown: &str) -> String {
    let mut text = String::with_capacity(markdown.len());
    for event in Parser::new_ext(markdown, options()).map(html_as_text) {
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
        let table = to_safe_html("| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n\n> quoted");
        assert!(table.contains("<td>1</td>"), "{table}");
        assert!(table.contains("<input"), "{table}");
        assert!(table.contains("<blockquote>"), "{table}");
        let relative = to_safe_html("[help](/help#returns) ![logo](img/logo.png)");
        assert!(relative.contains(r#"href="/help#returns""#), "{relative}");
        assert!(relative.contains(r#"src="img/logo.png""#), "{relative}");
    }

    #[test]
    fn plain_text_has_the_words_without_markup() {
        let text = to_plain_text("# Rückgabe\n\nSo geht die **Rückgabe**:\n\n- Paket packen");
        assert_eq!(text, "Rückgabe So geht die Rückgabe : Paket packen");
    }

    /// Every URL-carrying attribute with every way of hiding a scheme.
    #[test]
    fn every_url_attribute_is_made_inert() {
        let schemes = [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "&#106;avascript:alert(1)",
            "&#x6A;&#x61;vascript:alert(1)",
            "java&#9;script:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "java&#10;script:alert(1)",
            "java&#0;script:alert(1)",
            "javascript&colon;alert(1)",
            " \u{1}javascript:alert(1)",
            "\u{2028}javascript:alert(1)",
            "java\u{2028}script:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "&#x64;ata:text/html,x",
        ];
        let elements = [
            ("a", "href"),
            ("img", "src"),
            ("blockquote", "cite"),
            ("q", "cite"),
            ("del", "cite"),
            ("ins", "cite"),
            ("form", "action"),
            ("button", "formaction"),
            ("input", "formaction"),
            ("video", "poster"),
            ("table", "background"),
            ("td", "background"),
            ("svg", "xlink:href"),
            ("a", "xlink:href"),
            ("img", "longdesc"),
            ("object", "data"),
            ("img", "srcset"),
        ];
        for (element, attribute) in elements {
            for scheme in schemes {
                let html = format!("<{element} {attribute}=\"{scheme}\">text</{element}>");
                let clean = sanitize(&html).to_lowercase();
                for forbidden in ["javascript", "vbscript", "data:", "script:"] {
                    assert!(!clean.contains(forbidden), "{html} came out as {clean}");
                }
            }
        }
    }

    #[test]
    fn url_checks_allow_the_safe_and_refuse_the_rest() {
        for safe in [
            "https://x.example/a",
            "http://x",
            "mailto:a@b.c",
            "/path",
            "page.html",
            "#top",
            "?q=1",
            "a/b:c",
        ] {
            assert!(is_safe_url(safe), "{safe}");
        }
        for unsafe_url in [
            "javascript:x",
            " JAVASCRIPT:x",
            "java\tscript:x",
            "java\u{0}script:x",
            "java\u{2028}script:x",
            "data:x",
            "vbscript:x",
            "file:///etc/passwd",
        ] {
            assert!(!is_safe_url(unsafe_url), "{unsafe_url:?}");
        }
    }

    /// Raw HTML in Markdown is shown as typed; nothing after it is lost.
    #[test]
    fn no_text_is_dropped() {
        for (markdown, kept) in [
            (
                "My printer <style> is broken and the rest stays",
                "the rest stays",
            ),
            ("Before <script>alert(1)</script> after", "after"),
            ("An <b>unclosed tag and more text", "more text"),
            ("A comment <!-- starts here and never ends", "never ends"),
            (
                "<style>\nbody { display: none }\n</style>\n\nStill here",
                "Still here",
            ),
            ("<div>block</div>\n\nnext paragraph", "next paragraph"),
        ] {
            let html = to_safe_html(markdown);
            assert!(html.contains(kept), "{markdown:?} lost text: {html}");
            let lower = html.to_lowercase();
            assert!(
                !lower.contains("<style")
                    && !lower.contains("<script")
                    && !lower.contains("<b>")
                    && !lower.contains("<div"),
                "{html}"
            );
            assert!(
                to_plain_text(markdown).contains(kept),
                "{markdown:?} missing from the index"
            );
        }
        assert!(to_safe_html("x <style> y").contains("&lt;style&gt;"));
    }
}
