//! Sites: `GET /api/sites/{site}/config` (public, for widgets) and the staff
//! API that creates and changes sites (admins):
//!
//! * `GET  /api/staff/sites` — the sites the caller works on, with their tag
//! * `POST /api/staff/sites` — create (`{"key", …settings}`); answers the identity secret, once
//! * `PUT  /api/staff/sites/{key}` — replace the settings
//! * `POST /api/staff/sites/{key}/identity-secret` — a new identity secret, shown once
//! * `GET  /api/staff/sites/{key}/installs` — page origins that loaded the widget

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use stufe_shared::site::SiteConfig;
use stufe_shared::SiteKey;

use crate::auth::{require_admin, require_site, Staff};
use crate::error::AppError;
use crate::sites::{self, CreateError, Seen};
use crate::storage;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sites/{site}/config", get(site_config))
        .route("/api/staff/sites", get(list).post(create))
        .route("/api/staff/sites/{site}", put(update))
        .route("/api/staff/sites/{site}/identity-secret", post(new_secret))
        .route("/api/staff/sites/{site}/installs", get(installs))
}

pub(crate) fn parse_key(site: &str) -> Result<SiteKey, AppError> {
    site.parse()
        .map_err(|_| AppError::bad_request("bad site key"))
}

async fn site_config(
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<SiteConfig>, AppError> {
    let key = parse_key(&site)?;
    let config = state.site(&key).await?;
    config
        .map(|c| Json(SiteConfig::clone(&c)))
        .ok_or_else(|| AppError::not_found("unknown site"))
}

#[derive(Serialize)]
pub(crate) struct SiteView {
    pub key: String,
    /// The tag to paste into the site's pages.
    pub tag: String,
    #[serde(flatten)]
    pub config: SiteConfig,
}

/// The sites `member` works on.
pub(crate) async fn sites_for(
    state: &AppState,
    member: &storage::StaffMember,
) -> Result<Vec<SiteView>, AppError> {
    let all = storage::blocking(&state.storage, |s| s.sites()).await?;
    Ok(all
        .into_iter()
        .filter(|(key, _)| member.works_on(key.as_str()))
        .map(|(key, config)| SiteView {
            tag: sites::embed_tag(&state.public_url, &key),
            key: key.to_string(),
            config,
        })
        .collect())
}

async fn list(
    Staff(member): Staff,
    State(state): State<AppState>,
) -> Result<Json<Vec<SiteView>>, AppError> {
    Ok(Json(sites_for(&state, &member).await?))
}

#[derive(Deserialize)]
pub(crate) struct NewSite {
    pub key: String,
    #[serde(flatten)]
    pub config: SiteConfig,
}

#[derive(Serialize)]
pub(crate) struct Created {
    pub key: String,
    pub tag: String,
    /// Shown this once: the site's backend signs customer identities with it.
    pub identity_secret: String,
}

/// Creates a site (admins); the caller sees its secret once.
pub(crate) async fn create_site(
    state: &AppState,
    member: &storage::StaffMember,
    new: NewSite,
) -> Result<Created, AppError> {
    require_admin(member, "site settings")?;
    let NewSite { key, config } = new;
    let (key, secret) = storage::blocking(&state.storage, move |s| {
        match sites::create(s, &key, &config) {
            Ok(created) => Ok(Ok(created)),
            Err(CreateError::Storage(err)) => Err(err),
            Err(other) => Ok(Err(other)),
        }
    })
    .await?
    .map_err(|err| match err {
        CreateError::Taken(_) => AppError::new(StatusCode::CONFLICT, err.to_string()),
        other => AppError::bad_request(other.to_string()),
    })?;
    tracing::info!(site = %key, by = %member.name, "site created");
    Ok(Created {
        tag: sites::embed_tag(&state.public_url, &key),
        key: key.to_string(),
        identity_secret: secret,
    })
}

async fn create(
    Staff(member): Staff,
    State(state): State<AppState>,
    Json(new): Json<NewSite>,
) -> Result<(StatusCode, Json<Created>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_site(&state, &member, new).await?),
    ))
}

/// Replaces a site's settings (admins).
pub(crate) async fn update_site(
    state: &AppState,
    member: &storage::StaffMember,
    site: &str,
    config: SiteConfig,
) -> Result<SiteConfig, AppError> {
    require_admin(member, "site settings")?;
    let key = parse_key(site)?;
    sites::check(&config).map_err(AppError::bad_request)?;
    if state.site(&key).await?.is_none() {
        return Err(AppError::not_found("unknown site"));
    }
    state.save_site(&key, config.clone()).await?;
    tracing::info!(site = %key, by = %member.name, "site settings changed");
    Ok(config)
}

async fn update(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(site): Path<String>,
    Json(config): Json<SiteConfig>,
) -> Result<Json<SiteConfig>, AppError> {
    Ok(Json(update_site(&state, &member, &site, config).await?))
}

#[derive(Serialize)]
pub(crate) struct Secret {
    pub identity_secret: String,
}

/// Makes a new identity secret (admins); the old one stops working at once.
pub(crate) async fn rotate_secret(
    state: &AppState,
    member: &storage::StaffMember,
    site: &str,
) -> Result<Secret, AppError> {
    require_admin(member, "site settings")?;
    let key = parse_key(site)?;
    if state.site(&key).await?.is_none() {
        return Err(AppError::not_found("unknown site"));
    }
    let secret = sites::new_secret();
    let stored = secret.clone();
    storage::blocking(&state.storage, move |s| s.set_site_secret(&key, &stored)).await?;
    Ok(Secret {
        identity_secret: secret,
    })
}

async fn new_secret(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Secret>, AppError> {
    Ok(Json(rotate_secret(&state, &member, &site).await?))
}

async fn installs(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Vec<Seen>>, AppError> {
    require_site(&member, &site)?;
    let key = parse_key(&site)?;
    Ok(Json(state.installs.of(&key)))
}
