//! Demo data for a fresh database: the `demo` site, staff accounts, and one
//! sample ticket in the staff queue.

use automerge::AutoCommit;
use rand::Rng;
use stufe_shared::site::{Category, SiteConfig, Sla};
use stufe_shared::ticket::{self, Author, NewMessage, NewTicket};
use stufe_shared::{SiteKey, TicketId};

use crate::storage::{DocBytes, DocWrite, Storage, StorageError};
use crate::sync::hub::{now_ms, summarize, token_hash};

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
    }
}

pub fn random_token() -> String {
    hex::encode(rand::rng().random::<[u8; 32]>())
}

/// The demo console password when `STUFE_DEMO_STAFF_PASSWORD` is unset.
pub const DEMO_PASSWORD: &str = "stufe-demo";

/// Seeds the demo site and staff accounts (`sam`, admin, with the returned API
/// token; `tia`, tier 1), both logging in to the console with `password`.
pub fn seed_demo(
    storage: &dyn Storage,
    staff_token: Option<String>,
    password: &str,
) -> Result<String, StorageError> {
    let site: SiteKey = DEMO_SITE.parse().expect("valid site key");
    storage.create_site(&site, &demo_site(), &random_token())?;
    let token = staff_token.unwrap_or_else(random_token);
    let sam = storage.add_staff("Sam Support", "admin", &token_hash(&token))?;
    storage.set_staff_login(sam.id, "sam", &crate::auth::hash_password(password))?;
    let tia = storage.add_staff("Tia First-Level", "tier1", &token_hash(&random_token()))?;
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
        token_hash: token_hash(&random_token()),
        bytes: DocBytes::Snapshot(doc.save()),
        summary: Box::new(summarize(&read, now)),
    }])?;
    Ok(token)
}
