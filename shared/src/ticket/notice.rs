//! System notices: messages the server writes into a ticket's thread to tell
//! the customer what happened to their request — it moved to another tier,
//! it was resolved, an article was published about it. They are staff
//! messages whose id names the kind; their body says it in the site's
//! language for the console, the API and email, and a client that knows the
//! customer's language ([`SystemNotice::of`], [`SystemNotice::text`]) says it
//! in that one and shows it as a notice, not as the agent's words. They do
//! not count as the first response, nor in the staff reply counts.

use super::{Author, Tier};

/// Id prefix of a hand-off notice: `handoff-<from><to>-<unique>`.
pub const HANDOFF_PREFIX: &str = "handoff-";
/// Id prefix of a resolution notice: `resolved-<unique>`.
const RESOLVED_PREFIX: &str = "resolved-";
/// Id prefix of an article notice: `article-<unique>`.
const ARTICLE_PREFIX: &str = "article-";

/// What a system notice tells the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemNotice {
    /// The request moved from one tier to another.
    Handoff { from: Tier, to: Tier },
    /// Staff marked the request resolved.
    Resolved,
    /// A help article was published from the request.
    Article { title: String },
}

/// Whether a message id is a system notice's (whatever the notice says).
pub fn is_system_notice(id: &str) -> bool {
    [HANDOFF_PREFIX, RESOLVED_PREFIX, ARTICLE_PREFIX]
        .iter()
        .any(|prefix| id.starts_with(prefix))
}

/// The id of a new notice of this kind, `unique` making it unique in its ticket.
pub fn notice_id(notice: &SystemNotice, unique: &str) -> String {
    match notice {
        SystemNotice::Handoff { from, to } => handoff_id(*from, *to, unique),
        SystemNotice::Resolved => format!("{RESOLVED_PREFIX}{unique}"),
        SystemNotice::Article { .. } => format!("{ARTICLE_PREFIX}{unique}"),
    }
}

/// The id of the notice that tells the customer their request moved from
/// tier `from` to `to`: `handoff-<from><to>-<unique>`.
pub fn handoff_id(from: Tier, to: Tier, unique: &str) -> String {
    format!("{HANDOFF_PREFIX}{}{}-{unique}", from.get(), to.get())
}

/// The tiers a hand-off notice moved the request between, read from its id;
/// `None` for any other message and for a notice written before the tiers
/// were in its id (then its body is all there is).
pub fn handoff_tiers(message_id: &str) -> Option<(Tier, Tier)> {
    let rest = message_id.strip_prefix(HANDOFF_PREFIX)?.as_bytes();
    let tier = |b: u8| Tier::new(i64::from(b) - i64::from(b'0'));
    match rest {
        [from, to, b'-', ..] => Some((tier(*from)?, tier(*to)?)),
        _ => None,
    }
}

const ARTICLE_EN: (&str, &str) = ("We published a help article about your request: “", "”");
const ARTICLE_DE: (&str, &str) = (
    "Wir haben einen Hilfeartikel zu Ihrer Anfrage veröffentlicht: „",
    "“",
);

/// What an article notice says, in German or English.
pub fn article_notice_text(german: bool, title: &str) -> String {
    let (open, close) = if german { ARTICLE_DE } else { ARTICLE_EN };
    format!("{open}{title}{close}")
}

impl SystemNotice {
    /// The notice a message is, read from its id (and, for an article, the
    /// title from its body); `None` for an agent's or customer's message and
    /// for a notice too old to be read (its body is all there is).
    pub fn of(author: Author, id: &str, body: &str) -> Option<SystemNotice> {
        if author != Author::Staff {
            return None;
        }
        if id.starts_with(HANDOFF_PREFIX) {
            let (from, to) = handoff_tiers(id)?;
            return Some(SystemNotice::Handoff { from, to });
        }
        if id.starts_with(RESOLVED_PREFIX) {
            return Some(SystemNotice::Resolved);
        }
        if id.starts_with(ARTICLE_PREFIX) {
            let title = [ARTICLE_EN, ARTICLE_DE]
                .iter()
                .find_map(|(open, close)| body.strip_prefix(open)?.strip_suffix(close))?;
            return Some(SystemNotice::Article {
                title: title.to_owned(),
            });
        }
        None
    }

    /// A short name of the kind: `handoff`, `resolved` or `article`.
    pub fn kind(&self) -> &'static str {
        match self {
            SystemNotice::Handoff { .. } => "handoff",
            SystemNotice::Resolved => "resolved",
            SystemNotice::Article { .. } => "article",
        }
    }

    /// What the notice says, in German or English.
    pub fn text(&self, german: bool) -> String {
        match self {
            SystemNotice::Handoff { from, to } => handoff_text(german, *from, *to),
            SystemNotice::Resolved if german => {
                "Ihre Anfrage wurde als gelöst markiert. Ist noch etwas offen, antworten Sie einfach hier."
                    .into()
            }
            SystemNotice::Resolved => {
                "Your request was marked as resolved. If anything is still open, just reply here."
                    .into()
            }
            SystemNotice::Article { title } => article_notice_text(german, title),
        }
    }
}

/// What a hand-off notice says, in German or English: who has the request
/// now, in words (never "tier 2").
pub fn handoff_text(german: bool, from: Tier, to: Tier) -> String {
    // German needs the team in the accusative ("an …") and the dative ("bei …").
    let (en, de_to, de_at) = match to.get() {
        1 => (
            "our support team",
            "unser Support-Team",
            "unserem Support-Team",
        ),
        2 => (
            "our specialists",
            "unsere Spezialisten",
            "unseren Spezialisten",
        ),
        _ => (
            "our senior experts",
            "unsere erfahrensten Experten",
            "unseren erfahrensten Experten",
        ),
    };
    match (german, to > from) {
        (false, true) => format!("Your request was passed to {en}. They will answer you here."),
        (false, false) => format!("Your request is back with {en}. We will answer you here."),
        (true, true) => {
            format!("Ihre Anfrage wurde an {de_to} weitergegeben. Sie antworten Ihnen hier.")
        }
        (true, false) => {
            format!("Ihre Anfrage liegt wieder bei {de_at}. Wir antworten Ihnen hier.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handoff_notice_names_its_tiers_in_its_id_and_says_them_in_either_language() {
        let (one, two) = (Tier::new(1).unwrap(), Tier::new(2).unwrap());
        let id = handoff_id(one, two, "00ff");
        assert_eq!(id, "handoff-12-00ff");
        assert_eq!(handoff_tiers(&id), Some((one, two)));
        assert_eq!(
            handoff_tiers("handoff-0123456789abcdef"),
            None,
            "written before tiers"
        );
        assert_eq!(handoff_tiers("handoff-19-x"), None);
        assert_eq!(handoff_tiers("0123abcd"), None);
        assert_eq!(
            handoff_text(false, one, two),
            "Your request was passed to our specialists. They will answer you here."
        );
        assert_eq!(
            handoff_text(true, two, one),
            "Ihre Anfrage liegt wieder bei unserem Support-Team. Wir antworten Ihnen hier."
        );
    }

    #[test]
    fn every_notice_is_read_back_from_the_message_the_server_writes_in_either_site_language() {
        let (one, three) = (Tier::new(1).unwrap(), Tier::new(3).unwrap());
        let notices = [
            SystemNotice::Handoff {
                from: one,
                to: three,
            },
            SystemNotice::Resolved,
            SystemNotice::Article {
                title: "Reset the „Pro“ printer: “quickly”".into(),
            },
        ];
        for notice in notices {
            for site_german in [false, true] {
                let id = notice_id(&notice, "0a1b");
                assert!(is_system_notice(&id), "{id}");
                let body = notice.text(site_german);
                assert_eq!(
                    SystemNotice::of(Author::Staff, &id, &body).as_ref(),
                    Some(&notice)
                );
            }
        }
        let german = SystemNotice::Article {
            title: "Drucker".into(),
        };
        assert_eq!(
            german.text(true),
            "Wir haben einen Hilfeartikel zu Ihrer Anfrage veröffentlicht: „Drucker“"
        );
        assert_eq!(
            german.text(false),
            "We published a help article about your request: “Drucker”"
        );
    }

    #[test]
    fn an_agents_or_customers_message_is_not_a_notice() {
        assert_eq!(SystemNotice::of(Author::Staff, "0a1b2c3d", "Hello"), None);
        assert!(!is_system_notice("0a1b2c3d"));
        let resolved = SystemNotice::Resolved.text(false);
        assert_eq!(
            SystemNotice::of(Author::Customer, "resolved-1", &resolved),
            None,
            "customers write no notices"
        );
        // An article notice whose body is not one the server writes says only its body.
        assert_eq!(
            SystemNotice::of(Author::Staff, "article-1", "Look here"),
            None
        );
    }
}
