//! Demo data for a fresh database: the `demo` site, staff accounts, one
//! sample ticket in the staff queue and a few help articles in English and
//! German (the server builds their synced catalogues at start).

use automerge::AutoCommit;
use rand::Rng;
use stufe_shared::site::{Category, SiteConfig, Sla};
use stufe_shared::ticket::{self, Author, NewMessage, NewTicket};
use stufe_shared::{SiteKey, TicketId};

use crate::clock::now_ms;
use crate::kb::article::{Article, ArticleWrite};
use crate::kb::markdown;
use crate::storage::TicketSummary;
use crate::storage::{DocBytes, DocWrite, Storage, StorageError};
use crate::tokens::token_hash;

pub const DEMO_SITE: &str = "demo";

pub fn demo_site() -> SiteConfig {
    let category = |id: &str, en: &str, de: &str| Category {
        id: id.into(),
        label_en: en.into(),
        label_de: de.into(),
        tier: None,
        priority: None,
    };
    SiteConfig {
        name: "Acme Gadgets".into(),
        brand_color: "#0b5fff".into(),
        locale: "en".into(),
        categories: vec![
            category("general", "General question", "Allgemeine Frage"),
            category("technical", "Technical problem", "Technisches Problem"),
            category("billing", "Billing", "Rechnung"),
        ],
        sla: Sla {
            first_response_minutes: 4 * 60,
            resolution_minutes: 48 * 60,
        },
        announcement: None,
        // The demo page and the e2e host pages run on this machine, any port.
        allowed_origins: vec!["http://localhost:*".into(), "http://127.0.0.1:*".into()],
        identity_required: false,
        business_hours: None,
        sla_by_priority: Default::default(),
        show_staff_names: true,
        theme: Default::default(),
        launcher: Default::default(),
        privacy_url: None,
        retention_days: None,
    }
}

pub use crate::config::DEMO_PASSWORD;

/// Seeds the demo site and staff accounts (`sam`, admin, with the returned API
/// token; `tia`, tier 1), both logging in to the console with `password`.
/// One of the demo's help articles.
struct DemoArticle {
    id: &'static str,
    locale: &'static str,
    category: &'static str,
    title: &'static str,
    tags: &'static [&'static str],
    markdown: &'static str,
}

const DEMO_ARTICLES: &[DemoArticle] = &[
    DemoArticle {
        id: "track-your-order",
        locale: "en",
        category: "general",
        title: "Where is my order?",
        tags: &["tracking", "delivery", "shipping"],
        markdown: "Every order gets a **tracking link** by email once it leaves our warehouse, \
         usually within one working day.\n\n\
         1. Open the email *Your order is on its way*.\n\
         2. Follow the tracking link.\n\n\
         No tracking information after three working days? Send us a request with your order number.",
    },
    DemoArticle {
        id: "return-a-gadget",
        locale: "en",
        category: "general",
        title: "Returning a gadget",
        tags: &["returns", "refund"],
        markdown: "You can return any gadget within **30 days**. Pack it in its box, print the \
         return label from your account and drop the parcel at any post office. \
         The refund reaches your account within five working days after we receive it.",
    },
    DemoArticle {
        id: "reset-your-gadget",
        locale: "en",
        category: "technical",
        title: "The light blinks red: reset your gadget",
        tags: &["reset", "blinking", "firmware"],
        markdown: "A blinking red light means the gadget lost its settings after an update.\n\n\
         - Hold the power button for **10 seconds** until the light turns white.\n\
         - Connect it to your Wi-Fi again in the app.\n\n\
         Still red? Tell us the firmware version shown in the app.",
    },
    DemoArticle {
        id: "sendung-verfolgen",
        locale: "de",
        category: "general",
        title: "Wo ist meine Bestellung?",
        tags: &["sendungsverfolgung", "lieferung", "versand"],
        markdown: "Jede Bestellung bekommt einen **Link zur Sendungsverfolgung** per E-Mail, sobald \
         sie unser Lager verlässt, meist innerhalb eines Werktags. Nach drei Werktagen \
         noch keine Daten? Schreiben Sie uns mit Ihrer Bestellnummer.",
    },
    DemoArticle {
        id: "geraet-zuruecksenden",
        locale: "de",
        category: "general",
        title: "Ein Gerät zurücksenden",
        tags: &["rücksendung", "erstattung"],
        markdown: "Sie können jedes Gerät innerhalb von **30 Tagen** zurücksenden. Drucken Sie das \
         Rücksendeetikett in Ihrem Konto aus und geben Sie das Paket bei der Post ab. \
         Die Erstattung folgt binnen fünf Werktagen nach Eingang.",
    },
    DemoArticle {
        id: "geraet-zuruecksetzen",
        locale: "de",
        category: "technical",
        title: "Das Licht blinkt rot: Gerät zurücksetzen",
        tags: &["zurücksetzen", "blinken", "firmware"],
        markdown: "Rotes Blinken heißt: Das Gerät hat nach einem Update seine Einstellungen verloren. \
         Halten Sie die Ein-Taste **10 Sekunden** gedrückt, bis das Licht weiß leuchtet, \
         und verbinden Sie es in der App wieder mit Ihrem WLAN.",
    },
];

/// Publishes the demo's help articles (stored and indexed; the synced
/// catalogues are built from them when the server starts).
pub fn publish_demo_articles(storage: &dyn Storage) -> Result<(), StorageError> {
    let now = now_ms();
    let articles: Vec<(Article, &str, String)> = DEMO_ARTICLES
        .iter()
        .map(|demo| {
            let article = Article {
                id: demo.id.into(),
                site: DEMO_SITE.into(),
                locale: demo.locale.into(),
                title: demo.title.into(),
                html: markdown::to_safe_html(demo.markdown),
                category: demo.category.into(),
                tags: demo.tags.iter().map(|t| (*t).to_owned()).collect(),
                source_tickets: Vec::new(),
                version: 0,
                updated_at: now,
            };
            (
                article,
                demo.markdown,
                markdown::to_plain_text(demo.markdown),
            )
        })
        .collect();
    let writes: Vec<ArticleWrite<'_>> = articles
        .iter()
        .map(|(article, body, text)| ArticleWrite {
            article,
            markdown: body,
            plain_text: text,
        })
        .collect();
    storage.publish_articles(&writes)?;
    Ok(())
}

/// Seeds a fresh database with the demo site, its staff and a sample ticket,
/// and its help articles when `with_articles`; returns the admin's API token.
pub fn seed_demo(
    storage: &dyn Storage,
    staff_token: Option<String>,
    password: &str,
    with_articles: bool,
) -> Result<String, StorageError> {
    let site: SiteKey = DEMO_SITE.parse().expect("valid site key");
    storage.create_site(&site, &demo_site(), &crate::tokens::random_token())?;
    let token = staff_token.unwrap_or_else(crate::tokens::random_token);
    let sam = storage.add_staff("Sam Support", "admin", &token_hash(&token))?;
    storage.set_staff_login(sam.id, "sam", &crate::auth::hash_password(password))?;
    let tia = storage.add_staff(
        "Tia First-Level",
        "tier1",
        &token_hash(&crate::tokens::random_token()),
    )?;
    storage.set_staff_login(tia.id, "tia", &crate::auth::hash_password(password))?;
    storage.grant_site(tia.id, &site)?;

    let id = TicketId::from_bytes(rand::rng().random());
    let mut doc = AutoCommit::new();
    let now = now_ms();
    let sample = NewTicket {
        id,
        site: DEMO_SITE.into(),
        subject: "Where is my order #1042?".into(),
        description: "I ordered a gadget a week ago and the tracking page shows nothing.".into(),
        email: Some("jo@example.com".into()),
        category: "general".into(),
    };
    let corrupt = |err: automerge::AutomergeError| StorageError::Corrupt(err.to_string());
    ticket::create(&mut doc, &sample).map_err(corrupt)?;
    ticket::stamp_sla(&mut doc, now, now + 4 * 3_600_000, now + 48 * 3_600_000).map_err(corrupt)?;
    ticket::append_message(
        &mut doc,
        &NewMessage {
            id: "seed-1".into(),
            author: Author::Customer,
            name: "Jo".into(),
            body: "It was a birthday present, so it is a bit urgent.".into(),
            at: now,
        },
    )
    .map_err(corrupt)?;
    let read = ticket::read_ticket(&doc)
        .map_err(|err| StorageError::Corrupt(err.to_string()))?
        .expect("just created");
    storage.write_docs(&[DocWrite::Ticket {
        token_hash: token_hash(&crate::tokens::random_token()),
        bytes: DocBytes::Snapshot(doc.save()),
        summary: Box::new(TicketSummary::of(&read, now)),
        after: 0,
        events: vec![],
    }])?;
    // The demo customer confirmed their address (as a real one would by the
    // link in the confirmation email), so staff replies are emailed.
    storage.confirm_email(&id.to_string(), "jo@example.com", now)?;
    if with_articles {
        publish_demo_articles(storage)?;
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use stufe_shared::Locale;

    use super::*;
    use crate::kb::query::SearchTerms;
    use crate::storage::{prelude::KbStore, SqliteStorage};

    #[test]
    fn the_demo_has_help_articles_in_english_and_german_unless_told_not_to() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open(&dir.path().join("db.sqlite")).unwrap();
        seed_demo(&s, None, "pw", true).unwrap();
        let site: SiteKey = DEMO_SITE.parse().unwrap();
        let find = |locale, q: &str| {
            let terms = SearchTerms::parse(q).unwrap();
            s.search_articles(&site, locale, &terms, 10)
                .unwrap()
                .into_iter()
                .map(|hit| hit.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(find(Locale::En, "tracking"), ["track-your-order"]);
        assert_eq!(find(Locale::De, "zurücksetzen"), ["geraet-zuruecksetzen"]);
        assert_eq!(s.published_versions().unwrap().len(), DEMO_ARTICLES.len());

        let bare = SqliteStorage::open(&dir.path().join("bare.sqlite")).unwrap();
        seed_demo(&bare, None, "pw", false).unwrap();
        assert!(bare.published_versions().unwrap().is_empty());
    }
}
