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

#[utoipa::path(
    get,
    path = "/api/staff/sites",
    tag = "staff",
    summary = "The sites you work on, with their settings and embed tag",
    responses(
        (status = 200, description = "Sites", body = [Object]),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn list(
    Staff(member): Staff,
    State(state): State<AppState>,
) -> Result<Json<Vec<SiteView>>, AppError> {
    Ok(Json(sites_for(&state, &member).await?))
}

#[utoipa::path(
    post,
    path = "/api/staff/sites",
    tag = "staff",
    summary = "Create a site (admins)",
    request_body(content = Object, content_type = "application/json", description = "`{\"key\", \"name\", \"brand_color\", \"locale\", \"categories\", \"sla\", …}` (the README lists every setting)"),
    responses(
        (status = 201, description = "`{\"key\", \"tag\", \"identity_secret\"}` (the secret only now)", body = Object),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 409, description = "Taken already; nothing was changed", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
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

#[utoipa::path(
    put,
    path = "/api/staff/sites/{site}",
    tag = "staff",
    summary = "Replace a site's settings (admins)",
    params(
        ("site" = String, Path, description = "The site key, e.g. `demo`"),
    ),
    request_body(content = Object, content_type = "application/json", description = "The settings, as for creating, without `key`"),
    responses(
        (status = 200, description = "The settings", body = Object),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn update(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(site): Path<String>,
    Json(config): Json<SiteConfig>,
) -> Result<Json<SiteConfig>, AppError> {
    Ok(Json(update_site(&state, &member, &site, config).await?))
}

#[utoipa::path(
    post,
    path = "/api/staff/sites/{site}/identity-secret",
    tag = "staff",
    summary = "Make a new identity secret; the old one stops working (admins)",
    params(
        ("site" = String, Path, description = "The site key, e.g. `demo`"),
    ),
    responses(
        (status = 200, description = "`{\"identity_secret\"}`", body = Object),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn new_secret(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Secret>, AppError> {
    Ok(Json(rotate_secret(&state, &member, &site).await?))
}

#[utoipa::path(
    get,
    path = "/api/staff/sites/{site}/installs",
    tag = "staff",
    summary = "Page origins that loaded the widget since the server started",
    params(
        ("site" = String, Path, description = "The site key, e.g. `demo`"),
    ),
    responses(
        (status = 200, description = "`[{\"origin\", \"allowed\", \"last_seen\"}]`", body = [Object]),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn installs(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Vec<Seen>>, AppError> {
    require_site(&member, &site)?;
    let key = parse_key(&site)?;
    Ok(Json(state.installs.of(&key)))
}

#[utoipa::path(
    get,
    path = "/api/staff/sites/{site}/customers/export",
    tag = "staff",
    summary = "Everything held about one customer, as a JSON file (admins)",
    params(
        ("site" = String, Path, description = "The site key, e.g. `demo`"),
        ("email" = Option<String>, Query, description = "The customer's email (or `sub`, not both)"),
        ("sub" = Option<String>, Query, description = "The signed-in customer's id"),
    ),
    responses(
        (status = 200, description = "The export file (`stufe.customer-export/1`)", content_type = "application/octet-stream"),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
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

#[utoipa::path(
    post,
    path = "/api/staff/sites/{site}/customers/erase",
    tag = "staff",
    summary = "Erase every request of one customer for good (admins)",
    params(
        ("site" = String, Path, description = "The site key, e.g. `demo`"),
    ),
    request_body(content = Object, content_type = "application/json", description = "`{\"email\" or \"sub\", \"confirm\": the same again}`"),
    responses(
        (status = 200, description = "`{\"erased\": [ticket ids]}`", body = Object),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
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

#[utoipa::path(
    get,
    path = "/api/staff/sites/{site}/retention",
    tag = "staff",
    summary = "What the next retention run would erase",
    params(
        ("site" = String, Path, description = "The site key, e.g. `demo`"),
    ),
    responses(
        (status = 200, description = "`{\"retention_days\", \"due\"}`", body = Object),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
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

/// This module's part of the staff API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    create,
    update,
    new_secret,
    installs,
    export_customer,
    erase_customer,
    retention
))]
pub(super) struct Api;
