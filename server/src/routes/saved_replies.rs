//! Saved replies (macros) per site, for the staff of that site:
//!
//! * `GET /api/staff/saved-replies?site=demo`
//! * `POST /api/staff/saved-replies` with `{"site", "title", "body"}`
//! * `DELETE /api/staff/saved-replies/{id}?site=demo`

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;

use crate::auth::Staff;
use crate::desk::require_site;
use crate::desk::saved_replies::{add_saved_reply, saved_replies_of, NewReply};
use crate::error::AppError;
use crate::routes::site_key;
use crate::storage::{self, SavedReply};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/staff/saved-replies", get(list).post(add))
        .route("/api/staff/saved-replies/{id}", delete(remove))
}

#[derive(Deserialize)]
struct SiteQuery {
    site: String,
}

#[utoipa::path(
    get,
    path = "/api/staff/saved-replies",
    tag = "staff",
    summary = "A site's saved replies",
    params(
        ("site" = String, Query, description = "The site key, e.g. `demo`"),
    ),
    responses(
        (status = 200, description = "`[{\"id\", \"title\", \"body\"}]`", body = [Object]),
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
) -> Result<Json<Vec<SavedReply>>, AppError> {
    Ok(Json(saved_replies_of(&state, &member, &q.site).await?))
}

#[utoipa::path(
    post,
    path = "/api/staff/saved-replies",
    tag = "staff",
    summary = "Add a saved reply",
    request_body(content = Object, content_type = "application/json", description = "`{\"site\", \"title\" (1–100 characters), \"body\" (1–10,000)}`"),
    responses(
        (status = 201, description = "`{\"id\"}`", body = Object),
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
    Json(new): Json<NewReply>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let id = add_saved_reply(&state, &member, new).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

#[utoipa::path(
    delete,
    path = "/api/staff/saved-replies/{id}",
    tag = "staff",
    summary = "Delete a saved reply",
    params(
        ("id" = i64, Path, description = "The saved reply's id"),
        ("site" = String, Query, description = "The site key, e.g. `demo`"),
    ),
    responses(
        (status = 204, description = "Deleted"),
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
    require_site(&member, &q.site)?;
    let site = site_key(&q.site)?.to_string();
    if storage::blocking(&state.storage, move |s| s.delete_saved_reply(&site, id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found("no such saved reply"))
    }
}

/// This module's part of the staff API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, add, remove))]
pub(super) struct Api;
