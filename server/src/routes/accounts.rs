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

async fn list(
    Staff(member): Staff,
    State(state): State<AppState>,
) -> Result<Json<Vec<StaffMember>>, AppError> {
    require_admin(&member, "staff accounts")?;
    Ok(Json(
        storage::blocking(&state.storage, |s| s.list_staff()).await?,
    ))
}

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

async fn change_password(
    Staff(member): Staff,
    State(state): State<AppState>,
    Json(change): Json<PasswordChange>,
) -> Result<StatusCode, AppError> {
    set_own_password(&state, &member, change).await?;
    Ok(StatusCode::NO_CONTENT)
}
