//! Articles' Markdown to HTML: whatever the Markdown, the HTML has no
//! script-capable element, no event-handler attribute and no URL the
//! sanitiser's own check refuses; nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stufe_server::kb::markdown::{is_safe_url, to_plain_text, to_safe_html};

/// Elements that must never reach a widget.
const FORBIDDEN: [&str; 9] = [
    "script", "iframe", "style", "object", "embed", "svg", "math", "form", "base",
];

/// The tags of serialised HTML: (name, attributes as (name, value)). Text
/// has `<` escaped, so every `<` opens a tag; attribute values are quoted
/// (and may hold `>`).
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let mut in_quote = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    in_quote = !in_quote;
                }
                c == '>' && !in_quote
            })
            .map_or(rest.len(), |(i, _)| i);
        let tag = &rest[..end];
        rest = &rest[end.min(rest.len())..];
        let tag = tag.trim_start_matches('/');
        let (name, mut attrs) = tag.split_once(' ').unwrap_or((tag, ""));
        let mut parsed = Vec::new();
        while let Some(eq) = attrs.find("=\"") {
            let attr = attrs[..eq].trim().to_ascii_lowercase();
            let after = &attrs[eq + 2..];
            let close = after.find('"').unwrap_or(after.len());
            let value = after[..close]
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&nbsp;", "\u{a0}")
                .replace("&amp;", "&");
            parsed.push((attr, value));
            attrs = &after[(close + 1).min(after.len())..];
        }
        found.push((name.to_ascii_lowercase(), parsed));
    }
    found
}

fuzz_target!(|data: &[u8]| {
    let Ok(markdown) = std::str::from_utf8(data) else {
        return;
    };
    let html = to_safe_html(markdown);
    for (name, attrs) in tags(&html) {
        assert!(!FORBIDDEN.contains(&name.as_str()), "<{name}> in {html:?}");
        for (attr, value) in attrs {
            assert!(!attr.starts_with("on"), "{attr} on <{name}> in {html:?}");
            assert!(attr != "style", "a style attribute in {html:?}");
            if ["href", "src", "cite", "action", "formaction"].contains(&attr.as_str()) {
                assert!(is_safe_url(&value), "{attr}={value:?} in {html:?}");
            }
        }
    }
    let _ = to_plain_text(markdown);
});
