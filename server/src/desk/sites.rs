//! Sites as staff set them up: the ones a staff member works on, creating a
//! site (admins; its identity secret shown once), changing its settings,
//! making a new identity secret. The rules themselves are in `crate::sites`.

use super::require_admin;
use super::DeskError;
use crate::sites::{self, CreateError};
use crate::storage;
use crate::AppState;
use serde::{Deserialize, Serialize};
use stufe_shared::site::{Availability, SiteConfig};
use stufe_shared::SiteKey;

pub fn parse_key(site: &str) -> Result<SiteKey, DeskError> {
    site.parse().map_err(|_| DeskError::invalid("bad site key"))
}

#[derive(Serialize)]
pub struct SiteView {
    pub key: String,
    /// The tag to paste into the site's pages.
    pub tag: String,
    #[serde(flatten)]
    pub config: SiteConfig,
}

/// The sites `member` works on.
pub async fn sites_for(
    state: &AppState,
    member: &storage::StaffMember,
) -> Result<Vec<SiteView>, DeskError> {
    let all = storage::blocking(&state.storage, |s| s.sites()).await?;
    Ok(all
        .into_iter()
        .filter(|(key, _)| member.works_on(key.as_str()))
        .map(|(key, config)| SiteView {
            tag: sites::embed_tag(&state.public_url, &key, &config),
            key: key.to_string(),
            config,
        })
        .collect())
}

#[derive(Deserialize)]
pub struct NewSite {
    pub key: String,
    #[serde(flatten)]
    pub config: SiteConfig,
}

#[derive(Serialize)]
pub struct Created {
    pub key: String,
    pub tag: String,
    /// Shown this once: the site's backend signs customer identities with it.
    pub identity_secret: String,
}

/// Creates a site (admins); the caller sees its secret once.
pub async fn create_site(
    state: &AppState,
    member: &storage::StaffMember,
    new: NewSite,
) -> Result<Created, DeskError> {
    require_admin(member, "site settings")?;
    let NewSite { key, config } = new;
    let settings = config.clone();
    let (key, secret) = storage::blocking(&state.storage, move |s| {
        match sites::create(s, &key, &config) {
            Ok(created) => Ok(Ok(created)),
            Err(CreateError::Storage(err)) => Err(err),
            Err(other) => Ok(Err(other)),
        }
    })
    .await?
    .map_err(|err| match err {
        CreateError::Taken(_) => DeskError::conflict(err.to_string()),
        other => DeskError::invalid(other.to_string()),
    })?;
    tracing::info!(site = %key, by = %member.name, "site created");
    Ok(Created {
        tag: sites::embed_tag(&state.public_url, &key, &settings),
        key: key.to_string(),
        identity_secret: secret,
    })
}

/// Replaces a site's settings (admins).
pub async fn update_site(
    state: &AppState,
    member: &storage::StaffMember,
    site: &str,
    config: SiteConfig,
) -> Result<SiteConfig, DeskError> {
    require_admin(member, "site settings")?;
    let key = parse_key(site)?;
    sites::check(&config).map_err(DeskError::invalid)?;
    if state.site(&key).await?.is_none() {
        return Err(DeskError::not_found("unknown site"));
    }
    state.save_site(&key, config.clone()).await?;
    tracing::info!(site = %key, by = %member.name, "site settings changed");
    Ok(config)
}

#[derive(Serialize)]
pub struct Secret {
    pub identity_secret: String,
}

/// Makes a new identity secret (admins); the old one stops working at once.
pub async fn rotate_secret(
    state: &AppState,
    member: &storage::StaffMember,
    site: &str,
) -> Result<Secret, DeskError> {
    require_admin(member, "site settings")?;
    let key = parse_key(site)?;
    if state.site(&key).await?.is_none() {
        return Err(DeskError::not_found("unknown site"));
    }
    let secret = sites::new_secret();
    let stored = secret.clone();
    storage::blocking(&state.storage, move |s| s.set_site_secret(&key, &stored)).await?;
    Ok(Secret {
        identity_secret: secret,
    })
}

/// Each site's availability with when it was worked out (ms): every widget
/// that opens asks, so it is worked out at most once a minute per site.
pub type AvailabilityCache =
    std::sync::Mutex<std::collections::HashMap<SiteKey, (i64, Availability)>>;

/// How long a worked-out availability is served.
pub const AVAILABILITY_FOR_MS: i64 = 60_000;
/// The requests the typical first reply time is taken from.
const TYPICAL_OVER_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// `site`'s availability now; None for an unknown site.
pub async fn availability(
    state: &AppState,
    site: &SiteKey,
) -> Result<Option<Availability>, DeskError> {
    let now = crate::clock::now_ms();
    let cached = state
        .availability
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(site)
        .filter(|(at, _)| now - at < AVAILABILITY_FOR_MS)
        .map(|(_, a)| a.clone());
    if cached.is_some() {
        return Ok(cached);
    }
    let Some(config) = state.site(site).await? else {
        return Ok(None);
    };
    let hours = config.business_hours.as_ref();
    let key = site.to_string();
    let tickets = storage::blocking(&state.storage, move |s| {
        s.ticket_facts(&key, now - TYPICAL_OVER_MS)
    })
    .await?;
    let recent: Vec<_> = tickets
        .into_iter()
        .filter(|t| t.created_at >= now - TYPICAL_OVER_MS)
        .collect();
    let typical = crate::kpi::report(&recent, crate::kpi::Period::Day, 30, now, hours)
        .total
        .first_response
        .median;
    let open = crate::business_hours::is_open(hours, now);
    let availability = Availability {
        open,
        opens_at: (!open)
            .then(|| crate::business_hours::next_open(hours, now))
            .flatten(),
        typical_first_reply_minutes: typical
            .map(|ms| u32::try_from((ms.max(1) + 59_999) / 60_000).unwrap_or(u32::MAX)),
    };
    state
        .availability
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(site.clone(), (now, availability.clone()));
    Ok(Some(availability))
}
