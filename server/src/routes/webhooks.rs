//! A site's webhook endpoints and their deliveries, for admins:
//!
//! * `GET /api/staff/webhooks?site=demo` — the endpoints (without secrets)
//! * `POST /api/staff/webhooks` with `{"site", "url", "events": [...], "format"?}`
//!   — `201` with the endpoint and its `secret` (shown only now)
//! * `DELETE /api/staff/webhooks/{id}?site=demo` — removes it and its deliveries
//! * `GET /api/staff/webhooks/{id}/deliveries?site=demo&limit=50` — newest first
//! * `POST /api/staff/webhooks/deliveries/{id}/resend?site=demo` — due again now

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::auth::Staff;
use crate::desk::webhooks::{self, AddedEndpoint, NewEndpoint};
use crate::error::AppError;
use crate::storage::{DeliveryRecord, Webhook};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/staff/webhooks", get(list).post(add))
        .route("/api/staff/webhooks/{id}", delete(remove))
        .route("/api/staff/webhooks/{id}/deliveries", get(deliveries))
        .route("/api/staff/webhooks/deliveries/{id}/resend", post(resend))
}

#[derive(Deserialize)]
struct SiteQuery {
    site: String,
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/staff/webhooks",
    tag = "staff",
    summary = "A site's webhook endpoints, without secrets (admins)",
    params(
        ("site" = String, Query, description = "The site key, e.g. `demo`"),
    ),
    responses(
        (status = 200, description = "`[{\"id\", \"site\", \"url\", \"events\", \"format\", \"created_at\"}]`", body = [Object]),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn list(
    Staff(member): Staff,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
) -> Result<Json<Vec<Webhook>>, AppError> {
    Ok(Json(
        webhooks::endpoints_of(&state, &member, &q.site).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/staff/webhooks",
    tag = "staff",
    summary = "Add a webhook endpoint (admins)",
    request_body(content = Object, content_type = "application/json", description = "`{\"site\", \"url\", \"events\": [...], \"format\"?: \"json\"|\"slack\"}`"),
    responses(
        (status = 201, description = "The endpoint and its `secret` (shown only now)", body = Object),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn add(
    Staff(member): Staff,
    State(state): State<AppState>,
    Json(new): Json<NewEndpoint>,
) -> Result<(StatusCode, Json<AddedEndpoint>), AppError> {
    let added = webhooks::add_endpoint(&state, &member, new).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

#[utoipa::path(
    delete,
    path = "/api/staff/webhooks/{id}",
    tag = "staff",
    summary = "Remove an endpoint and its deliveries (admins)",
    params(
        ("id" = i64, Path, description = "The endpoint id"),
        ("site" = String, Query, description = "The site key, e.g. `demo`"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn remove(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<SiteQuery>,
) -> Result<StatusCode, AppError> {
    webhooks::remove_endpoint(&state, &member, &q.site, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/staff/webhooks/{id}/deliveries",
    tag = "staff",
    summary = "An endpoint's deliveries, newest first (admins)",
    params(
        ("id" = i64, Path, description = "The endpoint id"),
        ("site" = String, Query, description = "The site key, e.g. `demo`"),
        ("limit" = Option<u32>, Query, description = "At most this many (default 50, at most 200)"),
    ),
    responses(
        (status = 200, description = "Deliveries", body = [Object]),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn deliveries(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<SiteQuery>,
) -> Result<Json<Vec<DeliveryRecord>>, AppError> {
    let limit = q.limit.unwrap_or(50);
    Ok(Json(
        webhooks::deliveries_of(&state, &member, &q.site, id, limit).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/staff/webhooks/deliveries/{id}/resend",
    tag = "staff",
    summary = "Send a delivery again, now (admins)",
    params(
        ("id" = i64, Path, description = "The delivery id"),
        ("site" = String, Query, description = "The site key, e.g. `demo`"),
    ),
    responses(
        (status = 202, description = "Due again now"),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn resend(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<SiteQuery>,
) -> Result<StatusCode, AppError> {
    webhooks::resend(&state, &member, &q.site, id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// This module's part of the staff API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, add, remove, deliveries, resend))]
pub(super) struct Api;
