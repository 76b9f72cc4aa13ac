//! Sites: `GET /api/sites/{site}/config` (public, for widgets) and the staff
//! API that creates and changes sites (admins):
//!
//! * `GET  /api/sites/{site}/availability` — public: open now, typical first reply time
//! * `GET  /api/staff/sites` — the sites the caller works on, with their tag
//! * `POST /api/staff/sites` — create (`{"key", …settings}`); answers the identity secret, once
//! * `PUT  /api/staff/sites/{key}` — replace the settings
//! * `POST /api/staff/sites/{key}/identity-secret` — a new identity secret, shown once
//! * `GET  /api/staff/sites/{key}/installs` — page origins that loaded the widget
//! * `GET  /api/staff/sites/{key}/customers/export?sub=…` or `?email=…` — everything
//!   held about one customer (admins; GDPR access and portability)
//! * `POST /api/staff/sites/{key}/customers/erase` — `{"sub"|"email", "confirm"}`: erase
//!   one customer's requests (admins; GDPR erasure)
//! * `GET  /api/staff/sites/{key}/retention` — how many requests the site's retention
//!   period would erase now (admins; a dry run)

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use stufe_shared::site::SiteConfig;

use super::CustomerQuery;
use crate::auth::Staff;
use crate::desk::privacy;
use crate::desk::require_site;
use crate::desk::sites::{
    create_site, parse_key, rotate_secret, sites_for, update_site, Created, NewSite, Secret,
    SiteView,
};
use crate::error::AppError;
use crate::sites::Seen;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sites/{site}/config", get(site_config))
        .route("/api/sites/{site}/availability", get(availability))
        .route("/api/staff/sites", get(list).post(create))
        .route("/api/staff/sites/{site}", put(update))
        .route("/api/staff/sites/{site}/identity-secret", post(new_secret))
        .route("/api/staff/sites/{site}/installs", get(installs))
        .route(
            "/api/staff/sites/{site}/customers/export",
            get(export_customer),
        )
        .route(
            "/api/staff/sites/{site}/customers/erase",
            post(erase_customer),
        )
        .route("/api/staff/sites/{site}/retention", get(retention))
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

/// Whether the team is at work and how soon it typically answers (widget header).
async fn availability(
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<stufe_shared::site::Availability>, AppError> {
    let key = parse_key(&site)?;
    crate::desk::sites::availability(&state, &key)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::not_found("unknown site"))
}

async fn list(
    Staff(member): Staff,
    State(state): State<AppState>,
) -> Result<Json<Vec<SiteView>>, AppError> {
    Ok(Json(sites_for(&state, &member).await?))
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

async fn update(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(site): Path<String>,
    Json(config): Json<SiteConfig>,
) -> Result<Json<SiteConfig>, AppError> {
    Ok(Json(update_site(&state, &member, &site, config).await?))
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

async fn export_customer(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(query): Query<CustomerQuery>,
) -> Result<Response, AppError> {
    let customer = query.customer()?;
    let export = privacy::export_customer(&state, &member, &site, customer).await?;
    super::export_file(&export)
}

#[derive(serde::Deserialize)]
struct Erasure {
    #[serde(flatten)]
    customer: CustomerQuery,
    /// The `sub` or email again, exactly.
    #[serde(default)]
    confirm: String,
}

async fn erase_customer(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(site): Path<String>,
    Json(erasure): Json<Erasure>,
) -> Result<Json<privacy::Erased>, AppError> {
    let customer = erasure.customer.customer()?;
    Ok(Json(
        privacy::erase_customer(&state, &member, &site, customer, &erasure.confirm).await?,
    ))
}

async fn retention(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<privacy::RetentionPreview>, AppError> {
    let now = crate::clock::now_ms();
    Ok(Json(
        privacy::retention_preview(&state, &member, &site, now).await?,
    ))
}
