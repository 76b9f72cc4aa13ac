//! A site's public configuration, as the widget fetches it from
//! `GET /api/sites/{site}/config`.

use serde::{Deserialize, Serialize};

use crate::ticket::Priority;
use crate::validate::SiteRules;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteConfig {
    /// Shown in the widget's header.
    pub name: String,
    /// CSS colour of the launcher and the widget's accents, e.g. `#0b5fff`.
    pub brand_color: String,
    /// Default locale of the widget: `en` or `de`.
    pub locale: String,
    /// Categories a customer may file a ticket under.
    pub categories: Vec<Category>,
    /// Promised response times.
    pub sla: Sla,
    /// An optional live banner (e.g. an outage notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement: Option<String>,
    /// The pages that may embed the widget, as origin patterns (see
    /// [`OriginPattern`]). Empty: no page may.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Customers must be signed in by the site (`Stufe('identify', …)`)
    /// before they can file or open tickets.
    #[serde(default)]
    pub identity_required: bool,
    /// When the team works; SLA times count only then. None: around the clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
    /// SLA targets by priority (`low`, `normal`, `high`, `urgent`); a
    /// priority not listed uses `sla`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sla_by_priority: std::collections::BTreeMap<String, Sla>,
    /// The widget names the staff member who is typing ("Sam is typing…");
    /// false: it says "Support is typing…".
    #[serde(default)]
    pub show_staff_names: bool,
    /// The widget's colours: as the visitor's system prefers (`auto`), or
    /// always `light` or `dark`.
    #[serde(default)]
    pub theme: Theme,
    /// The launcher button on the host page: corner, label, icon.
    #[serde(default)]
    pub launcher: Launcher,
    /// The site's privacy notice (`https://…`), linked on the request form
    /// before anything is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_url: Option<String>,
    /// Resolved and closed requests are erased this many days after they
    /// last changed (by the server, as an admin's erasure); None: kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
}

/// How the launcher button looks (its colour is `brand_color`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Launcher {
    /// The bottom corner it sits in: `right` (default) or `left`.
    #[serde(default)]
    pub position: LauncherPosition,
    /// Text beside the icon (up to 24 characters); empty: the icon alone.
    #[serde(default)]
    pub label: String,
    /// `chat` (a speech bubble, default), `help` (a question mark) or `mail`.
    #[serde(default)]
    pub icon: LauncherIcon,
}

pub const MAX_LAUNCHER_LABEL_CHARS: usize = 24;
pub const MAX_PRIVACY_URL_CHARS: usize = 500;
/// Ten years.
pub const MAX_RETENTION_DAYS: u32 = 3_650;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LauncherPosition {
    #[default]
    Right,
    Left,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LauncherIcon {
    #[default]
    Chat,
    Help,
    Mail,
}

impl LauncherPosition {
    pub const ALL: [LauncherPosition; 2] = [LauncherPosition::Right, LauncherPosition::Left];

    pub fn as_str(self) -> &'static str {
        match self {
            LauncherPosition::Right => "right",
            LauncherPosition::Left => "left",
        }
    }
}

impl LauncherIcon {
    pub const ALL: [LauncherIcon; 3] = [LauncherIcon::Chat, LauncherIcon::Help, LauncherIcon::Mail];

    pub fn as_str(self) -> &'static str {
        match self {
            LauncherIcon::Chat => "chat",
            LauncherIcon::Help => "help",
            LauncherIcon::Mail => "mail",
        }
    }
}

/// Light or dark colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// As the visitor's system prefers (`prefers-color-scheme`).
    #[default]
    Auto,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::Auto, Theme::Light, Theme::Dark];

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Auto => "auto",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// What a widget's header says of the team (`GET /api/sites/{site}/availability`):
/// at work now (or when back), and how soon they typically answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    /// In business hours now (always, for a site without them).
    pub open: bool,
    /// When closed: when the team is back (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<i64>,
    /// The median time to the first staff reply of the requests of the last
    /// 30 days, in working minutes (rounded up); None without any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typical_first_reply_minutes: Option<u32>,
}

/// A team's working week and days off, in one time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessHours {
    /// An IANA time zone, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// The open hours of each working day; days not listed are closed.
    pub week: Vec<OpenHours>,
    /// Days off (`YYYY-MM-DD`, in the site's time zone).
    #[serde(default)]
    pub holidays: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenHours {
    /// `mon`, `tue`, `wed`, `thu`, `fri`, `sat` or `sun`.
    pub day: String,
    /// `HH:MM`, local time.
    pub open: String,
    /// `HH:MM`, local time, after `open`.
    pub close: String,
}

pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Minutes after midnight of a `HH:MM` time.
pub fn minutes_of_day(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && text.len() == 5).then_some(h * 60 + m)
}

impl BusinessHours {
    fn check(&self) -> Result<(), SettingsError> {
        let fail = |m: String| Err(SettingsError(m));
        let tz_ok = !self.timezone.is_empty()
            && self.timezone.len() <= 64
            && self
                .timezone
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b));
        if !tz_ok {
            return fail(format!(
                "{:?} is not a time zone name (e.g. Europe/Berlin)",
                self.timezone
            ));
        }
        if self.week.is_empty() {
            return fail("business hours need at least one working day".into());
        }
        for (i, day) in self.week.iter().enumerate() {
            if !WEEKDAYS.contains(&day.day.as_str()) {
                return fail(format!("{:?} is not a day (mon … sun)", day.day));
            }
            if self.week[..i].iter().any(|d| d.day == day.day) {
                return fail(format!("{} is listed twice", day.day));
            }
            match (minutes_of_day(&day.open), minutes_of_day(&day.close)) {
                (Some(open), Some(close)) if open < close => {}
                _ => {
                    return fail(format!(
                        "{}: open and close are HH:MM, open before close",
                        day.day
                    ))
                }
            }
        }
        if self.holidays.len() > 200 {
            return fail("at most 200 holidays".into());
        }
        for day in &self.holidays {
            let ok = day.len() == 10
                && day.bytes().enumerate().all(|(i, b)| {
                    if i == 4 || i == 7 {
                        b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                });
            if !ok {
                return fail(format!("holiday {day:?} is not YYYY-MM-DD"));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: String,
    pub label_en: String,
    pub label_de: String,
    /// The tier a new request in this category goes to (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<u8>,
    /// The priority a new request in this category gets (default `normal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sla {
    pub first_response_minutes: u32,
    pub resolution_minutes: u32,
}

/// Limits on a site's settings.
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_CATEGORIES: usize = 30;
pub const MAX_CATEGORY_ID_CHARS: usize = 32;
pub const MAX_LABEL_CHARS: usize = 60;
pub const MAX_ALLOWED_ORIGINS: usize = 20;
pub const MAX_ANNOUNCEMENT_CHARS: usize = 500;

/// Why a site's settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

impl SiteConfig {
    /// The SLA targets of a ticket of `priority`.
    pub fn sla_for(&self, priority: &str) -> Sla {
        self.sla_by_priority
            .get(priority)
            .copied()
            .unwrap_or(self.sla)
    }

    /// The parts of the configuration that change validation depends on.
    pub fn rules(&self) -> SiteRules {
        SiteRules {
            categories: self.categories.iter().map(|c| c.id.clone()).collect(),
        }
    }

    /// Checks settings an admin sent before they are stored: every field
    /// within its limits, the colour a `#rrggbb` hex colour, category ids
    /// unique, every allowed origin a valid pattern.
    pub fn check(&self) -> Result<(), SettingsError> {
        let fail = |message: String| Err(SettingsError(message));
        let chars = |s: &str| s.chars().count();
        if self.name.trim().is_empty() || chars(&self.name) > MAX_NAME_CHARS {
            return fail(format!(
                "the name must have 1 to {MAX_NAME_CHARS} characters"
            ));
        }
        let color = self.brand_color.as_bytes();
        if color.len() != 7 || color[0] != b'#' || !color[1..].iter().all(u8::is_ascii_hexdigit) {
            return fail(format!(
                "the colour must be #rrggbb (six hex digits), not {:?}",
                self.brand_color
            ));
        }
        if self.locale != "en" && self.locale != "de" {
            return fail(format!(
                "the locale must be en or de, not {:?}",
                self.locale
            ));
        }
        if self.categories.is_empty() || self.categories.len() > MAX_CATEGORIES {
            return fail(format!("a site needs 1 to {MAX_CATEGORIES} categories"));
        }
        for (i, c) in self.categories.iter().enumerate() {
            let id_ok = !c.id.is_empty()
                && c.id.len() <= MAX_CATEGORY_ID_CHARS
                && c.id.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !id_ok {
                return fail(format!(
                    "category id {:?}: 1 to {MAX_CATEGORY_ID_CHARS} of a-z 0-9 - _",
                    c.id
                ));
            }
            if c.tier.is_some_and(|t| !(1..=3).contains(&t)) {
                return fail(format!("category {:?}: the tier is 1, 2 or 3", c.id));
            }
            if c.priority
                .as_deref()
                .is_some_and(|p| Priority::parse(p).is_none())
            {
                return fail(format!(
                    "category {:?}: the priority is low, normal, high or urgent",
                    c.id
                ));
            }
            if self.categories[..i].iter().any(|other| other.id == c.id) {
                return fail(format!("category id {:?} appears twice", c.id));
            }
            for label in [&c.label_en, &c.label_de] {
                if label.trim().is_empty() || chars(label) > MAX_LABEL_CHARS {
                    return fail(format!(
                        "category {:?}: labels must have 1 to {MAX_LABEL_CHARS} characters",
                        c.id
                    ));
                }
            }
        }
        if self.sla.first_response_minutes == 0 || self.sla.resolution_minutes == 0 {
            return fail("SLA times must be at least one minute".into());
        }
        if let Some(text) = &self.announcement {
            if chars(text) > MAX_ANNOUNCEMENT_CHARS {
                return fail(format!(
                    "the announcement may have at most {MAX_ANNOUNCEMENT_CHARS} characters"
                ));
            }
        }
        if let Some(hours) = &self.business_hours {
            hours.check()?;
        }
        if let Some(url) = &self.privacy_url {
            let local = url.starts_with("http://localhost") || url.starts_with("http://127.0.0.1");
            if !(url.starts_with("https://") || local)
                || chars(url) > MAX_PRIVACY_URL_CHARS
                || url
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "\"<>`".contains(c))
            {
                return fail(format!(
                    "the privacy notice must be an https:// address of at most {MAX_PRIVACY_URL_CHARS} characters, without spaces or quotes"
                ));
            }
        }
        if self
            .retention_days
            .is_some_and(|d| !(1..=MAX_RETENTION_DAYS).contains(&d))
        {
            return fail(format!(
                "requests are kept 1 to {MAX_RETENTION_DAYS} days after they are resolved, or without a limit"
            ));
        }
        let label = &self.launcher.label;
        if chars(label) > MAX_LAUNCHER_LABEL_CHARS
            || label.chars().any(char::is_control)
            || label.trim() != label
        {
            return fail(format!(
                "the launcher label may have at most {MAX_LAUNCHER_LABEL_CHARS} characters, without control characters or spaces at either end"
            ));
        }
        for (priority, sla) in &self.sla_by_priority {
            if Priority::parse(priority).is_none() {
                return fail(format!(
                    "{priority:?} is not a priority (low, normal, high, urgent)"
                ));
            }
            if sla.first_response_minutes == 0 || sla.resolution_minutes == 0 {
                return fail("SLA times must be at least one minute".into());
            }
        }
        if self.allowed_origins.len() > MAX_ALLOWED_ORIGINS {
            return fail(format!("at most {MAX_ALLOWED_ORIGINS} allowed origins"));
        }
        for origin in &self.allowed_origins {
            OriginPattern::parse(origin).map_err(SettingsError)?;
        }
        Ok(())
    }

    /// Whether a page of `origin` (`scheme://host[:port]`, as browsers send
    /// it in the `Origin` header) may embed this site's widget.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .filter_map(|p| OriginPattern::parse(p).ok())
            .any(|p| p.matches(origin))
    }
}

/// An allowed-origin pattern, written as in a Content-Security-Policy
/// `frame-ancestors` source, so the same text is what browsers enforce:
///
/// * `https://shop.example` — exactly this origin (default port of the scheme);
/// * `https://shop.example:8443` — this origin on this port;
/// * `https://*.shop.example` — any subdomain (not `shop.example` itself);
/// * `http://localhost:*` — any port;
/// * `*` — any http or https page (not recommended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: String,
    /// Lowercase host; starts with `*.` for a subdomain wildcard. Empty for `*`.
    host: String,
    /// None: the scheme's default port; Some(None): any port.
    port: Option<Option<u16>>,
}

impl OriginPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "*" {
            return Ok(Self {
                scheme: "*".into(),
                host: String::new(),
                port: Some(None),
            });
        }
        let bad = || {
            format!(
                "{text:?} is not an origin: write scheme://host[:port], e.g. https://shop.example, https://*.shop.example or http://localhost:*"
            )
        };
        let (scheme, rest) = text.split_once("://").ok_or_else(bad)?;
        if scheme != "http" && scheme != "https" {
            return Err(bad());
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, "*")) => (host, Some(None)),
            Some((host, port)) => (
                host,
                Some(Some(
                    port.parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(bad)?,
                )),
            ),
            None => (rest, None),
        };
        let name = host.strip_prefix("*.").unwrap_or(host);
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if host.len() > 253 || !name.split('.').all(label_ok) {
            return Err(bad());
        }
        Ok(Self {
            scheme: scheme.into(),
            host: host.into(),
            port,
        })
    }

    /// Whether `origin` (as browsers write it: lowercase, no default port,
    /// no path) matches.
    pub fn matches(&self, origin: &str) -> bool {
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        if self.scheme == "*" {
            return scheme == "http" || scheme == "https";
        }
        if scheme != self.scheme {
            return false;
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => match port.parse::<u16>() {
                Ok(port) => (host, Some(port)),
                Err(_) => return false,
            },
            None => (rest, None),
        };
        let host_ok = match self.host.strip_prefix("*.") {
            Some(parent) => host
                .strip_suffix(parent)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => host == self.host,
        };
        let port_ok = match self.port {
            Some(None) => true,
            Some(Some(want)) => {
                port == Some(want) || (port.is_none() && Some(want) == default_port(scheme))
            }
            None => port.is_none() || port == default_port(scheme),
        };
        host_ok && port_ok
    }

    /// The pattern as a CSP source expression.
    pub fn csp_source(&self) -> String {
        if self.scheme == "*" {
            return "http: https:".into();
        }
        match self.port {
            None => format!("{}://{}", self.scheme, self.host),
            Some(None) => format!("{}://{}:*", self.scheme, self.host),
            Some(Some(port)) => format!("{}://{}:{port}", self.scheme, self.host),
        }
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> OriginPattern {
        OriginPattern::parse(text).unwrap()
    }

    #[test]
    fn exact_origins_match_only_themselves() {
        let p = pattern("https://shop.example");
        assert!(p.matches("https://shop.example"));
        assert!(p.matches("https://shop.example:443"));
        assert!(!p.matches("http://shop.example"));
        assert!(!p.matches("https://shop.example:8443"));
        assert!(!p.matches("https://evil-shop.example"));
        assert!(!p.matches("https://shop.example.evil"));
        assert!(!p.matches("https://www.shop.example"));
        assert!(!p.matches("null"));
    }

    #[test]
    fn wildcards_cover_subdomains_or_ports_only() {
        let sub = pattern("https://*.shop.example");
        assert!(sub.matches("https://www.shop.example"));
        assert!(sub.matches("https://a.b.shop.example"));
        assert!(!sub.matches("https://shop.example"));
        assert!(!sub.matches("https://evilshop.example"));
        let ports = pattern("http://localhost:*");
        assert!(ports.matches("http://localhost:5173"));
        assert!(ports.matches("http://localhost"));
        assert!(!ports.matches("https://localhost:5173"));
        assert!(!ports.matches("http://localhost.evil:5173"));
        let any = pattern("*");
        assert!(any.matches("https://anything.example"));
        assert!(!any.matches("null"));
        assert!(!any.matches("file://"));
    }

    #[test]
    fn only_plain_origins_are_patterns() {
        for bad in [
            "shop.example",
            "ftp://shop.example",
            "https://shop.example/",
            "https://shop.example/path",
            "https://Shop.example",
            "https://shop.example:0",
            "https://shop.example:99999",
            "https://*",
            "https://a.*.example",
            "https://shop.example; script-src *",
            "https://",
            "",
        ] {
            assert!(OriginPattern::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            pattern("http://localhost:*").csp_source(),
            "http://localhost:*"
        );
        assert_eq!(
            pattern("https://a.example:8443").csp_source(),
            "https://a.example:8443"
        );
    }

    fn settings() -> SiteConfig {
        SiteConfig {
            name: "Shop".into(),
            brand_color: "#123abc".into(),
            locale: "de".into(),
            categories: vec![Category {
                id: "general".into(),
                label_en: "General".into(),
                label_de: "Allgemein".into(),
                tier: None,
                priority: None,
            }],
            sla: Sla {
                first_response_minutes: 60,
                resolution_minutes: 600,
            },
            announcement: None,
            allowed_origins: vec!["https://shop.example".into()],
            identity_required: false,
            business_hours: None,
            sla_by_priority: Default::default(),
            show_staff_names: false,
            theme: Theme::Auto,
            launcher: Launcher::default(),
            privacy_url: None,
            retention_days: None,
        }
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        assert_eq!(settings().check(), Ok(()));
        let refused = |change: fn(&mut SiteConfig)| {
            let mut s = settings();
            change(&mut s);
            s.check().unwrap_err().0
        };
        assert!(refused(|s| s.name = " ".into()).contains("name"));
        assert!(refused(|s| s.brand_color = "red;background:url(x)".into()).contains("colour"));
        assert!(refused(|s| s.locale = "fr".into()).contains("locale"));
        assert!(refused(|s| s.categories.clear()).contains("categories"));
        assert!(refused(|s| s.categories.push(s.categories[0].clone())).contains("twice"));
        assert!(refused(|s| s.categories[0].id = "Gen eral".into()).contains("category id"));
        assert!(refused(|s| s.allowed_origins.push("shop.example".into())).contains("origin"));
        assert!(refused(|s| s.sla.first_response_minutes = 0).contains("SLA"));
        assert!(refused(|s| s.launcher.label = "x".repeat(25)).contains("launcher label"));
        assert!(
            refused(|s| s.privacy_url = Some("javascript:alert(1)".into())).contains("privacy")
        );
        assert!(
            refused(|s| s.privacy_url = Some("https://x.example/a\"b".into())).contains("privacy")
        );
        assert!(refused(|s| s.retention_days = Some(0)).contains("kept"));
        assert!(refused(|s| s.launcher.label = "Help\n".into()).contains("launcher label"));
        let mut labelled = settings();
        labelled.launcher.label = "Fragen? Wir helfen gern".into();
        assert_eq!(labelled.check(), Ok(()));
        // Older settings without a launcher read as the default one.
        let mut stored = serde_json::to_value(settings()).unwrap();
        stored.as_object_mut().unwrap().remove("launcher");
        let read: SiteConfig = serde_json::from_value(stored).unwrap();
        assert_eq!(read.launcher, Launcher::default());
        let bad = serde_json::json!({ "position": "top", "label": "", "icon": "chat" });
        assert!(serde_json::from_value::<Launcher>(bad).is_err());
        assert!(settings().allows_origin("https://shop.example"));
        assert!(!settings().allows_origin("https://other.example"));
    }
}
