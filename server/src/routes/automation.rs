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

async fn show(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Rules>, AppError> {
    Ok(Json(automation::rules_of(&state, &member, &site).await?))
}

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
