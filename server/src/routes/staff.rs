//! The staff JSON API (bearer token): list tickets, change status/tier/priority, reply.
//! Every change goes through the hub, so it is validated, stored, and reaches
//! open widgets live.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use stufe_shared::ticket::{Status, Ticket};

use super::ticket_id;
pub use crate::auth::Staff;
use crate::desk::requests::{self, Update};
use crate::error::AppError;
use crate::storage::{self, StaffMember, StaffNote, TicketFilter, TicketSummary};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/staff/me", get(me))
        .route("/api/staff/tickets", get(list))
        .route("/api/staff/tickets/{id}", get(show).patch(update))
        .route("/api/staff/tickets/{id}/messages", post(reply))
        .route("/api/staff/tickets/{id}/notes", get(notes).post(add_note))
        .route("/api/staff/tickets/{id}/revoke-links", post(revoke))
        .route("/api/staff/tickets/{id}/typing", post(typing))
}

#[utoipa::path(
    post,
    path = "/api/staff/tickets/{id}/revoke-links",
    tag = "staff",
    summary = "Make the links in emails sent so far open nothing",
    params(
        ("id" = String, Path, description = "The request (ticket) id: 32 hex characters"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
        (status = 410, description = "The request was erased (GDPR); it is gone", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn revoke(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, AppError> {
    requests::revoke_links(&state, &member, ticket_id(&id)?).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/staff/tickets/{id}/typing",
    tag = "staff",
    summary = "You are typing a reply (say it every 2 s while typing)",
    params(
        ("id" = String, Path, description = "The request (ticket) id: 32 hex characters"),
    ),
    responses(
        (status = 204, description = "The customer's widget shows it for 6 s"),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
/// The caller is typing a reply (say it every 2 s while typing).
async fn typing(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, AppError> {
    crate::desk::presence::typing(&state, &member, ticket_id(&id)?).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/staff/me",
    tag = "staff",
    summary = "Who you are: your account, role and sites",
    responses(
        (status = 200, description = "Your account", body = Object),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn me(Staff(member): Staff) -> Json<StaffMember> {
    Json(member)
}

#[derive(Deserialize)]
struct ListQuery {
    site: Option<String>,
    status: Option<String>,
    tier: Option<u8>,
    customer: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/staff/tickets",
    tag = "staff",
    summary = "The queue: requests on your sites, newest first (at most 500)",
    params(
        ("site" = Option<String>, Query, description = "Only this site"),
        ("status" = Option<String>, Query, description = "`new`, `open`, `pending`, `resolved` or `closed`"),
        ("tier" = Option<u8>, Query, description = "1, 2 or 3"),
        ("customer" = Option<String>, Query, description = "A signed-in customer's id (`sub`) at the site"),
    ),
    responses(
        (status = 200, description = "Request summaries (id, site, subject, status, tier, priority, category, email, times, assignee, …)", body = [Object]),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn list(
    Staff(member): Staff,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<TicketSummary>>, AppError> {
    if let Some(status) = &query.status {
        Status::parse(status)
            .ok_or_else(|| AppError::bad_request(format!("unknown status {status:?}")))?;
    }
    let filter = TicketFilter {
        site: query.site,
        status: query.status,
        tier: query.tier,
        customer: query.customer,
    };
    Ok(Json(requests::tickets_for(&state, &member, filter).await?))
}

#[utoipa::path(
    get,
    path = "/api/staff/tickets/{id}",
    tag = "staff",
    summary = "One request with its whole thread",
    params(
        ("id" = String, Path, description = "The request (ticket) id: 32 hex characters"),
    ),
    responses(
        (status = 200, description = "The request", body = Object),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
        (status = 410, description = "The request was erased (GDPR); it is gone", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn show(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Ticket>, AppError> {
    Ok(Json(
        requests::ticket_for(&state, &member, ticket_id(&id)?).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/api/staff/tickets/{id}",
    tag = "staff",
    summary = "Change status, tier, priority, assignee; a tier or assignee change with a note is a hand-off",
    params(
        ("id" = String, Path, description = "The request (ticket) id: 32 hex characters"),
    ),
    request_body(content = Object, content_type = "application/json", description = "`{\"status\"?, \"tier\"?, \"priority\"?, \"assignee\"?: staff id or null, \"note\"?}` (any subset; unknown fields are refused)"),
    responses(
        (status = 200, description = "The request after the change", body = Object),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
        (status = 410, description = "The request was erased (GDPR); it is gone", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn update(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(update): Json<Update>,
) -> Result<Json<Ticket>, AppError> {
    Ok(Json(
        requests::update(&state, &member, ticket_id(&id)?, update).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/staff/tickets/{id}/notes",
    tag = "staff",
    summary = "Internal notes and hand-offs (never sent to widgets)",
    params(
        ("id" = String, Path, description = "The request (ticket) id: 32 hex characters"),
    ),
    responses(
        (status = 200, description = "Notes, oldest first (`at`, `by`, `kind`, `change`, `body`)", body = [Object]),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
        (status = 410, description = "The request was erased (GDPR); it is gone", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn notes(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<StaffNote>>, AppError> {
    let ticket = requests::ticket_for(&state, &member, ticket_id(&id)?).await?;
    Ok(Json(
        storage::blocking(&state.storage, move |s| s.notes(&ticket.id)).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    body: String,
}

#[utoipa::path(
    post,
    path = "/api/staff/tickets/{id}/notes",
    tag = "staff",
    summary = "Add an internal note",
    params(
        ("id" = String, Path, description = "The request (ticket) id: 32 hex characters"),
    ),
    request_body(content = Object, content_type = "application/json", description = "`{\"body\"}` (not empty, at most 10,000 characters)"),
    responses(
        (status = 200, description = "The request's notes", body = [Object]),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
        (status = 410, description = "The request was erased (GDPR); it is gone", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn add_note(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(note): Json<NoteBody>,
) -> Result<Json<Vec<StaffNote>>, AppError> {
    if note.body.trim().is_empty() {
        return Err(AppError::bad_request("a note must not be empty"));
    }
    let update = Update {
        note: Some(note.body),
        ..Update::default()
    };
    let id = ticket_id(&id)?;
    requests::update(&state, &member, id, update).await?;
    let key = id.to_string();
    Ok(Json(
        storage::blocking(&state.storage, move |s| s.notes(&key)).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    #[serde(default)]
    body: String,
    /// Files uploaded for the ticket first (`POST /api/staff/tickets/{id}/files`).
    #[serde(default)]
    files: Vec<stufe_shared::ticket::FileRef>,
}

#[utoipa::path(
    post,
    path = "/api/staff/tickets/{id}/messages",
    tag = "staff",
    summary = "Reply to the customer (the first reply is the first response and opens a new request)",
    params(
        ("id" = String, Path, description = "The request (ticket) id: 32 hex characters"),
    ),
    request_body(content = Object, content_type = "application/json", description = "`{\"body\", \"files\"?: [the answers of file uploads]}`; not both empty"),
    responses(
        (status = 200, description = "The request after the reply", body = Object),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
        (status = 410, description = "The request was erased (GDPR); it is gone", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn reply(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(reply): Json<Reply>,
) -> Result<Json<Ticket>, AppError> {
    Ok(Json(
        requests::reply_with_files(&state, &member, ticket_id(&id)?, reply.body, reply.files)
            .await?,
    ))
}

/// This module's part of the staff API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(me, list, show, update, reply, notes, add_note, revoke, typing))]
pub(super) struct Api;
