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

async fn list(
    Staff(member): Staff,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
) -> Result<Json<Vec<Webhook>>, AppError> {
    Ok(Json(
        webhooks::endpoints_of(&state, &member, &q.site).await?,
    ))
}

async fn add(
    Staff(member): Staff,
    State(state): State<AppState>,
    Json(new): Json<NewEndpoint>,
) -> Result<(StatusCode, Json<AddedEndpoint>), AppError> {
    let added = webhooks::add_endpoint(&state, &member, new).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

async fn remove(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<SiteQuery>,
) -> Result<StatusCode, AppError> {
    webhooks::remove_endpoint(&state, &member, &q.site, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

async fn resend(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<SiteQuery>,
) -> Result<StatusCode, AppError> {
    webhooks::resend(&state, &member, &q.site, id).await?;
    Ok(StatusCode::ACCEPTED)
}
