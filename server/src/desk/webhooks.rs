//! A site's webhook endpoints, set up by admins: adding one (its secret is
//! made here and shown once), removing one, its recent deliveries, sending
//! one again. What is delivered, and how, is [`crate::webhooks`]'s.

use serde::{Deserialize, Serialize};

use super::{existing_site, require_admin, DeskError};
use crate::clock::now_ms;
use crate::events::EVENTS;
use crate::storage::{self, DeliveryRecord, NewEvent, NewWebhook, StaffMember, Webhook};
use crate::webhooks::{check_url, FORMATS};
use crate::AppState;

/// Endpoints a site may have.
pub const MAX_ENDPOINTS: usize = 20;

/// Deliveries shown per endpoint, at most.
pub const MAX_LISTED: u32 = 200;

/// An endpoint to add, as staff send it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    pub site: String,
    pub url: String,
    /// Event names (see [`crate::events::EVENTS`]).
    pub events: Vec<String>,
    /// `json` (default) or `slack`.
    #[serde(default)]
    pub format: Option<String>,
}

/// An added endpoint, with the secret its deliveries are signed with (shown
/// only now).
#[derive(Debug, Serialize)]
pub struct AddedEndpoint {
    #[serde(flatten)]
    pub endpoint: Webhook,
    pub secret: String,
}

/// A site's endpoints.
pub async fn endpoints_of(
    state: &AppState,
    member: &StaffMember,
    site: &str,
) -> Result<Vec<Webhook>, DeskError> {
    require_admin(member, "webhooks")?;
    let site = existing_site(state, site).await?.0.to_string();
    Ok(storage::blocking(&state.storage, move |s| s.webhooks(&site)).await?)
}

pub async fn add_endpoint(
    state: &AppState,
    member: &StaffMember,
    new: NewEndpoint,
) -> Result<AddedEndpoint, DeskError> {
    require_admin(member, "webhooks")?;
    let site = existing_site(state, &new.site).await?.0.to_string();
    let url = new.url.trim().to_owned();
    check_url(&url, state.config.webhooks_allow_http).map_err(DeskError::invalid)?;
    let format = new.format.unwrap_or_else(|| "json".into());
    if !FORMATS.contains(&format.as_str()) {
        return Err(DeskError::invalid(format!(
            "unknown format {format:?}; one of: {}",
            FORMATS.join(", ")
        )));
    }
    let mut events: Vec<String> = Vec::new();
    for event in new.events {
        if !EVENTS.contains(&event.as_str()) {
            return Err(DeskError::invalid(format!(
                "unknown event {event:?}; the events are: {}",
                EVENTS.join(", ")
            )));
        }
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err(DeskError::invalid("choose at least one event"));
    }
    let key = site.clone();
    let existing = storage::blocking(&state.storage, move |s| s.webhooks(&key)).await?;
    if existing.len() >= MAX_ENDPOINTS {
        return Err(DeskError::invalid(format!(
            "a site has at most {MAX_ENDPOINTS} webhook endpoints; remove one first"
        )));
    }
    let hook = NewWebhook {
        site,
        url,
        secret: crate::tokens::random_token(),
        events,
        format,
    };
    let now = now_ms();
    let stored = hook.clone();
    let id = storage::blocking(&state.storage, move |s| s.add_webhook(&stored, now)).await?;
    tracing::info!(id, site = %hook.site, by = member.id, "webhook endpoint added");
    Ok(AddedEndpoint {
        endpoint: Webhook {
            id,
            site: hook.site,
            url: hook.url,
            events: hook.events,
            format: hook.format,
            created_at: now,
        },
        secret: hook.secret,
    })
}

pub async fn remove_endpoint(
    state: &AppState,
    member: &StaffMember,
    site: &str,
    id: i64,
) -> Result<(), DeskError> {
    require_admin(member, "webhooks")?;
    let site = existing_site(state, site).await?.0.to_string();
    if storage::blocking(&state.storage, move |s| s.delete_webhook(&site, id)).await? {
        tracing::info!(id, by = member.id, "webhook endpoint removed");
        Ok(())
    } else {
        Err(DeskError::not_found("no such webhook endpoint"))
    }
}

/// An endpoint's newest deliveries, newest first.
pub async fn deliveries_of(
    state: &AppState,
    member: &StaffMember,
    site: &str,
    endpoint: i64,
    limit: u32,
) -> Result<Vec<DeliveryRecord>, DeskError> {
    require_admin(member, "webhooks")?;
    let site = existing_site(state, site).await?.0.to_string();
    let limit = limit.clamp(1, MAX_LISTED);
    Ok(storage::blocking(&state.storage, move |s| {
        s.deliveries(&site, endpoint, limit)
    })
    .await?)
}

/// Sends a delivery again (now, with a fresh count of tries).
pub async fn resend(
    state: &AppState,
    member: &StaffMember,
    site: &str,
    delivery: i64,
) -> Result<(), DeskError> {
    require_admin(member, "webhooks")?;
    let site = existing_site(state, site).await?.0.to_string();
    let now = now_ms();
    if storage::blocking(&state.storage, move |s| {
        s.resend_delivery(&site, delivery, now)
    })
    .await?
    {
        Ok(())
    } else {
        Err(DeskError::not_found("no such delivery"))
    }
}

/// Queues an event a desk operation made (after it happened: a failure is
/// logged, and the operation stands).
pub async fn queue(state: &AppState, event: NewEvent) {
    let now = now_ms();
    let name = event.event.clone();
    if let Err(err) = storage::blocking(&state.storage, move |s| s.queue_event(&event, now)).await {
        tracing::error!(%err, event = %name, "queueing a webhook event failed");
    }
}
