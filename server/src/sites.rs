//! Sites as their owners set them up: creating one (key, settings, identity
//! secret), where the widget may be embedded (allowed origins, enforced by the
//! frame's `frame-ancestors` and by `Origin` checks), and where it was seen.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde::Serialize;
use stufe_shared::site::{OriginPattern, SiteConfig};
use stufe_shared::SiteKey;

use crate::storage::{Storage, StorageError};

/// A new identity secret: 32 random bytes, hex.
pub fn new_secret() -> String {
    crate::tokens::random_token()
}

/// Why a site could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("{0}")]
    Invalid(String),
    #[error("a site with the key {0:?} exists already")]
    Taken(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Checks and creates a site; returns its identity secret (shown once).
pub fn create(
    storage: &dyn Storage,
    key: &str,
    config: &SiteConfig,
) -> Result<(SiteKey, String), CreateError> {
    let key: SiteKey = key.parse().map_err(|_| {
        CreateError::Invalid(format!(
            "the key {key:?} must be 1 to 64 of a-z 0-9 - _ (it goes into the tag: data-site=\"…\")"
        ))
    })?;
    check(config).map_err(CreateError::Invalid)?;
    let secret = new_secret();
    if !storage.create_site(&key, config, &secret)? {
        return Err(CreateError::Taken(key.to_string()));
    }
    Ok((key, secret))
}

/// Checks settings before they are stored: the shared rules, and that the
/// business hours' time zone is one the server knows.
pub fn check(config: &SiteConfig) -> Result<(), String> {
    config.check().map_err(|err| err.to_string())?;
    if let Some(hours) = &config.business_hours {
        crate::business_hours::Calendar::new(hours)?;
    }
    Ok(())
}

/// The tag a site owner pastes into their pages. It carries the site's brand
/// colour and launcher (`data-color`, `data-position`, `data-label`,
/// `data-icon`), so the launcher has them from its first paint, before
/// anything else of Stufe's has loaded.
pub fn embed_tag(public_url: &str, key: &SiteKey, config: &SiteConfig) -> String {
    use stufe_shared::site::{LauncherIcon, LauncherPosition};
    let src = format!("{}/widget.js", public_url.trim_end_matches('/'));
    let launcher = &config.launcher;
    // What differs from the loader's defaults, so the launcher looks right
    // before the frame has said the site's settings.
    let position =
        (launcher.position != LauncherPosition::Right).then(|| launcher.position.as_str());
    let label = (!launcher.label.is_empty()).then_some(launcher.label.as_str());
    let icon = (launcher.icon != LauncherIcon::Chat).then(|| launcher.icon.as_str());
    maud::html! {
        script src=(src) data-site=(key) data-color=(config.brand_color)
            data-position=[position] data-label=[label] data-icon=[icon] async {}
    }
    .into_string()
}

/// The `frame-ancestors` directive for a site's frame page: its allowed
/// origins, or `'none'` when it has none (or the site is unknown).
pub fn frame_ancestors(config: Option<&SiteConfig>) -> String {
    let sources: Vec<String> = config
        .map(|c| {
            c.allowed_origins
                .iter()
                .filter_map(|p| OriginPattern::parse(p).ok())
                .map(|p| p.csp_source())
                .collect()
        })
        .unwrap_or_default();
    if sources.is_empty() {
        "frame-ancestors 'none'".into()
    } else {
        format!("frame-ancestors {}", sources.join(" "))
    }
}

/// Whether a request with this `Origin` comes from the server's own pages
/// (the widget's frame): its host is the one the request was sent to.
pub fn is_same_origin(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    origin
        .split_once("://")
        .is_some_and(|(scheme, rest)| (scheme == "http" || scheme == "https") && rest == host)
}

/// Whether the browser says a request comes from a page of another origin
/// than this server's (`Err` names it): its `Sec-Fetch-Site` when sent (only
/// `same-origin` passes, so sibling subdomains and other ports of the same
/// host do not), else its `Origin` when sent (the request's own host or
/// `public_url`). A request with neither is not from a browser page.
pub fn from_other_origin(headers: &axum::http::HeaderMap, public_url: &str) -> Result<(), String> {
    use axum::http::header::{HOST, ORIGIN};
    if let Some(site) = headers.get("sec-fetch-site") {
        return if site.as_bytes() == b"same-origin" {
            Ok(())
        } else {
            Err(format!(
                "a page of another origin ({})",
                site.to_str().unwrap_or("?")
            ))
        };
    }
    let Some(origin) = headers.get(ORIGIN).and_then(|o| o.to_str().ok()) else {
        return Ok(());
    };
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    if is_same_origin(origin, host) || origin == public_url.trim_end_matches('/') {
        Ok(())
    } else {
        Err(format!("a page of {origin}"))
    }
}

/// At most this many origins are remembered per site.
const MAX_SEEN_PER_SITE: usize = 50;

/// A page origin that loaded a site's widget frame since the server started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seen {
    pub origin: String,
    /// Whether the origin is allowed (refused embeds are listed too, so an
    /// owner sees a page they forgot to allow).
    pub allowed: bool,
    pub last_seen: i64,
}

/// Where each site's widget was loaded (from the frame requests' `Referer`,
/// which the loader asks the browser to send as the page's origin). Kept in
/// memory: it answers "is the tag installed?", it is not a record.
#[derive(Default)]
pub struct Installs {
    seen: Mutex<HashMap<SiteKey, BTreeMap<String, Seen>>>,
}

impl Installs {
    pub fn record(&self, site: &SiteKey, origin: &str, allowed: bool, at: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let origins = seen.entry(site.clone()).or_default();
        if origins.len() >= MAX_SEEN_PER_SITE && !origins.contains_key(origin) {
            return;
        }
        origins.insert(
            origin.to_owned(),
            Seen {
                origin: origin.to_owned(),
                allowed,
                last_seen: at,
            },
        );
    }

    /// The origins seen for `site`, most recent first.
    pub fn of(&self, site: &SiteKey) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let mut list: Vec<Seen> = seen
            .get(site)
            .map(|o| o.values().cloned().collect())
            .unwrap_or_default();
        list.sort_by_key(|seen| std::cmp::Reverse(seen.last_seen));
        list
    }
}

/// The origin part (`scheme://host[:port]`) of a `Referer` URL.
pub fn origin_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_may_be_embedded_only_by_allowed_origins() {
        let mut config = crate::seed::demo_site();
        config.allowed_origins = vec!["https://shop.example".into(), "http://localhost:*".into()];
        assert_eq!(
            frame_ancestors(Some(&config)),
            "frame-ancestors https://shop.example http://localhost:*"
        );
        config.allowed_origins.clear();
        assert_eq!(frame_ancestors(Some(&config)), "frame-ancestors 'none'");
        assert_eq!(frame_ancestors(None), "frame-ancestors 'none'");
    }

    #[test]
    fn same_origin_means_the_host_the_request_went_to() {
        assert!(is_same_origin(
            "http://127.0.0.1:8080",
            Some("127.0.0.1:8080")
        ));
        assert!(!is_same_origin(
            "http://127.0.0.1:8081",
            Some("127.0.0.1:8080")
        ));
        assert!(!is_same_origin("null", Some("127.0.0.1:8080")));
        assert!(!is_same_origin("http://127.0.0.1:8080", None));
    }

    #[test]
    fn referers_give_their_origin() {
        assert_eq!(
            origin_of_url("https://Shop.example:8443/cart?x=1").as_deref(),
            Some("https://shop.example:8443")
        );
        assert_eq!(
            origin_of_url("http://localhost:3000/").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(origin_of_url("file:///x"), None);
        assert_eq!(origin_of_url("https://user@evil/"), None);
    }

    #[test]
    fn installs_list_the_latest_first() {
        let installs = Installs::default();
        let site: SiteKey = "shop".parse().unwrap();
        installs.record(&site, "https://a.example", true, 1);
        installs.record(&site, "https://b.example", false, 2);
        installs.record(&site, "https://a.example", true, 3);
        let seen = installs.of(&site);
        assert_eq!(seen.len(), 2);
        assert_eq!(
            (seen[0].origin.as_str(), seen[0].last_seen),
            ("https://a.example", 3)
        );
        assert!(!seen[1].allowed);
    }

    #[test]
    fn only_same_origin_browser_requests_pass_the_other_origin_check() {
        let check = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert("host", "127.0.0.1:8080".parse().unwrap());
            for (name, value) in pairs {
                headers.insert(*name, value.parse().unwrap());
            }
            from_other_origin(&headers, "http://127.0.0.1:8080").is_ok()
        };
        assert!(check(&[("sec-fetch-site", "same-origin")]));
        assert!(!check(&[("sec-fetch-site", "same-site")]), "a sibling page");
        assert!(!check(&[("sec-fetch-site", "cross-site")]));
        assert!(!check(&[
            ("sec-fetch-site", "none"),
            ("origin", "http://127.0.0.1:8080")
        ]));
        assert!(check(&[("origin", "http://127.0.0.1:8080")]));
        assert!(
            !check(&[("origin", "http://127.0.0.1:9090")]),
            "another port"
        );
        assert!(!check(&[("origin", "null")]));
        assert!(check(&[]), "not a browser page");
    }
}
