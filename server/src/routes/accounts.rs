//! Staff accounts (admins), and everyone's own password:
//!
//! * `GET /api/staff/accounts` — every account with role, sites and whether it is active
//! * `POST /api/staff/accounts` — `{"name", "login", "password", "role", "sites": […]}`;
//!   answers the account and its API token (shown once)
//! * `PATCH /api/staff/accounts/{id}` — `{"role"?, "active"?, "sites"?}` (sites replace the account's); deactivating ends
//!   the account's sessions and stops its API token at once
//! * `POST /api/staff/password` — `{"current", "new"}`: your own password; every
//!   session of yours ends (log in again)

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};

use crate::auth::Staff;
use crate::desk::accounts::{
    change_account, create_account, set_own_password, AccountChange, Created, NewAccount,
    PasswordChange,
};
use crate::desk::require_admin;
use crate::error::AppError;
use crate::storage::{self, StaffMember};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/staff/accounts", get(list).post(create))
        .route("/api/staff/accounts/{id}", patch(update))
        .route("/api/staff/password", post(change_password))
}

#[utoipa::path(
    get,
    path = "/api/staff/accounts",
    tag = "staff",
    summary = "Every staff account (admins)",
    responses(
        (status = 200, description = "Accounts (id, name, role, sites, active, timezone)", body = [Object]),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn list(
    Staff(member): Staff,
    State(state): State<AppState>,
) -> Result<Json<Vec<StaffMember>>, AppError> {
    require_admin(&member, "staff accounts")?;
    Ok(Json(
        storage::blocking(&state.storage, |s| s.list_staff()).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/staff/accounts",
    tag = "staff",
    summary = "Create a staff account (admins)",
    request_body(content = Object, content_type = "application/json", description = "`{\"name\", \"login\", \"password\" (at least 10 characters), \"role\": \"tier1\"|\"tier2\"|\"tier3\"|\"admin\", \"sites\": [...]}`"),
    responses(
        (status = 201, description = "The account and its API token (shown only now)", body = Object),
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
    Json(new): Json<NewAccount>,
) -> Result<(StatusCode, Json<Created>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_account(&state, &member, new).await?),
    ))
}

#[utoipa::path(
    patch,
    path = "/api/staff/accounts/{id}",
    tag = "staff",
    summary = "Change an account's role, sites or whether it is active (admins)",
    params(
        ("id" = i64, Path, description = "The account id"),
    ),
    request_body(content = Object, content_type = "application/json", description = "`{\"role\"?, \"active\"?, \"sites\"?}` (sites replace the account's)"),
    responses(
        (status = 200, description = "The account", body = Object),
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
    Path(id): Path<i64>,
    Json(change): Json<AccountChange>,
) -> Result<Json<StaffMember>, AppError> {
    change_account(&state, &member, id, change).await?;
    storage::blocking(&state.storage, |s| s.list_staff())
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .map(Json)
        .ok_or_else(|| AppError::not_found("no such account"))
}

#[utoipa::path(
    post,
    path = "/api/staff/password",
    tag = "staff",
    summary = "Change your own password (every session of yours ends)",
    request_body(content = Object, content_type = "application/json", description = "`{\"current\", \"new\"}`"),
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn change_password(
    Staff(member): Staff,
    State(state): State<AppState>,
    Json(change): Json<PasswordChange>,
) -> Result<StatusCode, AppError> {
    set_own_password(&state, &member, change).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This module's part of the staff API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, update, change_password))]
pub(super) struct Api;
