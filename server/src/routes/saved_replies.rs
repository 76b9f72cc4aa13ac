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

async fn list(
    Staff(member): Staff,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
) -> Result<Json<Vec<SavedReply>>, AppError> {
    Ok(Json(saved_replies_of(&state, &member, &q.site).await?))
}

async fn add(
    Staff(member): Staff,
    State(state): State<AppState>,
    Json(new): Json<NewReply>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let id = add_saved_reply(&state, &member, new).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

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
