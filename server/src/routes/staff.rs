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

async fn revoke(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, AppError> {
    requests::revoke_links(&state, &member, ticket_id(&id)?).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The caller is typing a reply (say it every 2 s while typing).
async fn typing(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, AppError> {
    crate::desk::presence::typing(&state, &member, ticket_id(&id)?).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

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

async fn show(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Ticket>, AppError> {
    Ok(Json(
        requests::ticket_for(&state, &member, ticket_id(&id)?).await?,
    ))
}

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
