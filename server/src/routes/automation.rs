//! A site's automation rules, for admins:
//!
//! * `GET /api/staff/sites/{key}/automation` — the rules (all off when never set)
//! * `PUT /api/staff/sites/{key}/automation` with the rules — replaces them;
//!   bad rules are **400** with the reason and change nothing

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};

use crate::auth::Staff;
use crate::desk::automation::{self, Rules};
use crate::error::AppError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/staff/sites/{site}/automation", get(show).put(replace))
}

#[utoipa::path(
    get,
    path = "/api/staff/sites/{site}/automation",
    tag = "staff",
    summary = "A site's automation rules (admins)",
    params(
        ("site" = String, Path, description = "The site key, e.g. `demo`"),
    ),
    responses(
        (status = 200, description = "`{\"round_robin\", \"escalate_minutes_before\", \"close_pending_after_days\", \"routes\"}`", body = Object),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn show(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Rules>, AppError> {
    Ok(Json(automation::rules_of(&state, &member, &site).await?))
}

#[utoipa::path(
    put,
    path = "/api/staff/sites/{site}/automation",
    tag = "staff",
    summary = "Replace a site's automation rules (admins)",
    params(
        ("site" = String, Path, description = "The site key, e.g. `demo`"),
    ),
    request_body(content = Object, content_type = "application/json", description = "`{\"round_robin\", \"escalate_minutes_before\", \"close_pending_after_days\", \"routes\": [{\"words\", \"tier\"?, \"priority\"?}]}`"),
    responses(
        (status = 200, description = "The rules", body = Object),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn replace(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(site): Path<String>,
    Json(rules): Json<Rules>,
) -> Result<Json<Rules>, AppError> {
    Ok(Json(
        automation::set_rules(&state, &member, &site, rules).await?,
    ))
}

/// This module's part of the staff API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(show, replace))]
pub(super) struct Api;
