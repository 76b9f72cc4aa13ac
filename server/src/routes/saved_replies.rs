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

use crate::auth::{require_site, Staff};
use crate::error::AppError;
use crate::routes::kb::site_key;
use crate::storage::{self, SavedReply, StaffMember};
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

/// A site's saved replies (staff of that site).
pub(crate) async fn saved_replies_of(
    state: &AppState,
    member: &StaffMember,
    site: &str,
) -> Result<Vec<SavedReply>, AppError> {
    require_site(member, site)?;
    let site = site_key(site)?.to_string();
    Ok(storage::blocking(&state.storage, move |s| s.saved_replies(&site)).await?)
}

async fn list(
    Staff(member): Staff,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
) -> Result<Json<Vec<SavedReply>>, AppError> {
    Ok(Json(saved_replies_of(&state, &member, &q.site).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewReply {
    pub site: String,
    pub title: String,
    pub body: String,
}

pub(crate) async fn add_saved_reply(
    state: &AppState,
    member: &StaffMember,
    new: NewReply,
) -> Result<i64, AppError> {
    require_site(member, &new.site)?;
    let site = site_key(&new.site)?.to_string();
    let (title, body) = (new.title.trim().to_owned(), new.body.trim().to_owned());
    if title.is_empty() || title.chars().count() > 100 {
        return Err(AppError::bad_request("a title has 1 to 100 characters"));
    }
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err(AppError::bad_request("a reply has 1 to 10,000 characters"));
    }
    Ok(storage::blocking(&state.storage, move |s| {
        s.add_saved_reply(&site, &title, &body)
    })
    .await?)
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
