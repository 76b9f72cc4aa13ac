//! The staff JSON API (bearer token): list tickets, change status/tier/priority, reply.
//! Every change goes through the hub, so it is validated, stored, and reaches
//! open widgets live.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng;
use serde::Deserialize;
use stufe_shared::ticket::{
    self, Author, NewMessage, Priority, Status, Ticket, Tier, HANDOFF_PREFIX,
};
use stufe_shared::TicketId;

pub use crate::auth::Staff;
use crate::business_hours;
use crate::clock::now_ms;
use crate::error::AppError;
use crate::mail::{self, Notice};
use crate::storage::{self, StaffMember, StaffNote, TicketFilter, TicketSummary};
use crate::sync::HubError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/staff/me", get(me))
        .route("/api/staff/tickets", get(list))
        .route("/api/staff/tickets/{id}", get(show).patch(update))
        .route("/api/staff/tickets/{id}/messages", post(reply))
        .route("/api/staff/tickets/{id}/notes", get(notes).post(add_note))
        .route("/api/staff/tickets/{id}/revoke-links", post(revoke))
}

/// Links from emails sent so far no longer open ticket `id` (a later email
/// carries a working one); kept in the ticket's notes.
pub(crate) async fn revoke_links(
    state: &AppState,
    member: &StaffMember,
    id: TicketId,
) -> Result<(), AppError> {
    let ticket = ticket_for(state, member, id).await?;
    let now = now_ms();
    let note = StaffNote {
        ticket: ticket.id.clone(),
        at: now,
        by: member.name.clone(),
        kind: "note".into(),
        change: "email links revoked".into(),
        body: String::new(),
    };
    storage::blocking(&state.storage, move |s| {
        s.revoke_links(&note.ticket, now / 1000)?;
        s.add_note(&note)
    })
    .await?;
    tracing::info!(ticket = %id, by = %member.name, "email links revoked");
    Ok(())
}

async fn revoke(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, AppError> {
    revoke_links(&state, &member, ticket_id(&id)?).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

pub(crate) fn ticket_id(text: &str) -> Result<TicketId, AppError> {
    text.parse()
        .map_err(|_| AppError::not_found("no such ticket"))
}

/// The ticket, if it exists on a site `member` works on; otherwise "no such
/// ticket" (staff of one site do not learn about another site's tickets).
pub(crate) async fn ticket_for(
    state: &AppState,
    member: &StaffMember,
    id: TicketId,
) -> Result<Ticket, AppError> {
    let ticket = state.hub.read_ticket(id).await?;
    if member.works_on(&ticket.site) {
        Ok(ticket)
    } else {
        Err(AppError::not_found("no such ticket"))
    }
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
    Ok(Json(tickets_for(&state, &member, filter).await?))
}

/// The tickets matching `filter` on the sites `member` works on.
pub(crate) async fn tickets_for(
    state: &AppState,
    member: &StaffMember,
    filter: TicketFilter,
) -> Result<Vec<TicketSummary>, AppError> {
    let mut tickets = storage::blocking(&state.storage, move |s| s.list_tickets(&filter)).await?;
    tickets.retain(|t| member.works_on(&t.site));
    Ok(tickets)
}

async fn show(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Ticket>, AppError> {
    Ok(Json(ticket_for(&state, &member, ticket_id(&id)?).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct Update {
    pub status: Option<Status>,
    pub tier: Option<u8>,
    pub priority: Option<Priority>,
    /// A staff id, or null for nobody.
    #[serde(default, deserialize_with = "present")]
    pub assignee: Option<Option<i64>>,
    /// A staff-only note (the hand-off note when tier or assignee change).
    pub note: Option<String>,
}

/// A field that is present (even as null) is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// Longest staff note, in characters.
const MAX_NOTE_CHARS: usize = 10_000;

async fn update(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(update): Json<Update>,
) -> Result<Json<Ticket>, AppError> {
    Ok(Json(
        staff_update(&state, &member, ticket_id(&id)?, update).await?,
    ))
}

/// Changes a ticket's status, tier and/or priority.
pub(crate) async fn staff_update(
    state: &AppState,
    member: &StaffMember,
    id: TicketId,
    update: Update,
) -> Result<Ticket, AppError> {
    let before = ticket_for(state, member, id).await?;
    let tier = update
        .tier
        .map(|t| Tier::new(i64::from(t)).ok_or_else(|| AppError::bad_request("tier is 1, 2 or 3")))
        .transpose()?;
    let note = update
        .note
        .as_deref()
        .map(str::trim)
        .unwrap_or("")
        .to_owned();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(AppError::bad_request(format!(
            "a note may have at most {MAX_NOTE_CHARS} characters"
        )));
    }
    let assignee = match update.assignee {
        Some(Some(staff_id)) => {
            let all = storage::blocking(&state.storage, |s| s.list_staff()).await?;
            let colleague = all
                .into_iter()
                .find(|m| m.id == staff_id && m.works_on(&before.site))
                .ok_or_else(|| AppError::bad_request("no such colleague on this site"))?;
            Some(Some(colleague))
        }
        Some(None) => Some(None),
        None => None,
    };
    let moved = tier.filter(|t| *t != before.tier);
    let site_locale = match before.site.parse() {
        Ok(site) => state.site(&site).await?.map(|c| c.locale.clone()),
        Err(_) => None,
    };
    // A hand-off between tiers always tells the customer, in the thread.
    let trace = moved.map(|to| NewMessage {
        id: format!(
            "{HANDOFF_PREFIX}{}",
            hex::encode(rand::rng().random::<[u8; 8]>())
        ),
        author: Author::Staff,
        name: member.name.clone(),
        body: handoff_text(
            site_locale.as_deref() == Some("de"),
            before.tier.get(),
            to.get(),
        ),
        at: now_ms(),
    });
    // The SLA clock: a new priority brings its own targets (counted from
    // creation); time spent waiting on the customer (pending) does not count.
    let config = match before.site.parse() {
        Ok(site) => state.site(&site).await?,
        Err(_) => None,
    };
    let now = now_ms();
    let new_dues = match (&config, before.created_at) {
        (Some(config), Some(created)) => {
            let hours = config.business_hours.as_ref();
            let mut dues = update.priority.filter(|p| *p != before.priority).map(|p| {
                let sla = config.sla_for(p.as_str());
                (
                    business_hours::due(hours, created, sla.first_response_minutes),
                    business_hours::due(hours, created, sla.resolution_minutes),
                )
            });
            let leaves_pending = before.status == Status::Pending
                && update.status.is_some_and(|s| s != Status::Pending);
            if leaves_pending {
                let key = before.id.clone();
                let since = storage::blocking(&state.storage, move |s| s.ticket_summary(&key))
                    .await?
                    .and_then(|t| t.pending_since);
                if let Some(since) = since {
                    let current = dues.unwrap_or((
                        before.first_response_due.unwrap_or(created),
                        before.resolution_due.unwrap_or(created),
                    ));
                    dues = Some(business_hours::after_pause(hours, current, since, now));
                }
            }
            dues.map(|d| (created, d))
        }
        _ => None,
    };
    let ticket = state
        .hub
        .staff_change(id, |doc, _| {
            let fail = |err: automerge::AutomergeError| HubError::Rejected(err.to_string());
            if let Some(status) = update.status {
                ticket::set_status(doc, status).map_err(fail)?;
            }
            if let Some((created, (first, resolution))) = new_dues {
                ticket::stamp_sla(doc, created, first, resolution).map_err(fail)?;
            }
            if let Some(tier) = tier {
                ticket::set_tier(doc, tier).map_err(fail)?;
            }
            if let Some(priority) = update.priority {
                ticket::set_priority(doc, priority).map_err(fail)?;
            }
            if let Some(message) = &trace {
                ticket::append_message(doc, message).map_err(fail)?;
            }
            Ok(())
        })
        .await?;
    // Staff see who handed it on, when, and why; the customer never does.
    let mut changes = Vec::new();
    if let Some(to) = moved {
        changes.push(format!("tier {} → tier {}", before.tier.get(), to.get()));
    }
    if let Some(to) = &assignee {
        let ticket_id = id.to_string();
        let staff_id = to.as_ref().map(|m| m.id);
        storage::blocking(&state.storage, move |s| s.assign(&ticket_id, staff_id)).await?;
        changes.push(match to {
            Some(m) => format!("assigned to {}", m.name),
            None => "unassigned".to_owned(),
        });
    }
    if !changes.is_empty() || !note.is_empty() {
        let staff_note = StaffNote {
            ticket: id.to_string(),
            at: now_ms(),
            by: member.name.clone(),
            kind: if changes.is_empty() {
                "note"
            } else {
                "handoff"
            }
            .to_owned(),
            change: changes.join(", "),
            body: note,
        };
        storage::blocking(&state.storage, move |s| s.add_note(&staff_note)).await?;
    }
    if ticket.status == Status::Resolved && before.status != Status::Resolved {
        mail::notify_customer(state, &ticket, Notice::Resolved).await;
    }
    Ok(ticket)
}

/// What the customer reads when their request moves between tiers.
fn handoff_text(german: bool, from: u8, to: u8) -> String {
    let (en, de) = match to {
        1 => ("our support team", "unser Support-Team"),
        2 => ("our specialists", "unsere Spezialisten"),
        _ => ("our senior experts", "unsere erfahrensten Experten"),
    };
    match (german, to > from) {
        (false, true) => format!("Your request was passed to {en}. They will answer you here."),
        (false, false) => format!("Your request is back with {en}. We will answer you here."),
        (true, true) => {
            format!("Ihre Anfrage wurde an {de} weitergegeben. Sie antworten Ihnen hier.")
        }
        (true, false) => format!("Ihre Anfrage liegt wieder bei {de}. Wir antworten Ihnen hier."),
    }
}

async fn notes(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<StaffNote>>, AppError> {
    let ticket = ticket_for(&state, &member, ticket_id(&id)?).await?;
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
    staff_update(&state, &member, id, update).await?;
    let key = id.to_string();
    Ok(Json(
        storage::blocking(&state.storage, move |s| s.notes(&key)).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    body: String,
}

async fn reply(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(reply): Json<Reply>,
) -> Result<Json<Ticket>, AppError> {
    Ok(Json(
        staff_reply(&state, &member, ticket_id(&id)?, reply.body).await?,
    ))
}

/// Appends a staff reply; the first one stamps the first response and opens a new ticket.
pub(crate) async fn staff_reply(
    state: &AppState,
    member: &StaffMember,
    id: TicketId,
    body: String,
) -> Result<Ticket, AppError> {
    if body.trim().is_empty() {
        return Err(AppError::bad_request("a reply must not be empty"));
    }
    ticket_for(state, member, id).await?;
    let now = now_ms();
    let message = NewMessage {
        id: hex::encode(rand::rng().random::<[u8; 8]>()),
        author: Author::Staff,
        name: member.name.clone(),
        body,
        at: now,
    };
    let ticket = state
        .hub
        .staff_change(id, |doc, before| {
            let fail = |err: automerge::AutomergeError| HubError::Rejected(err.to_string());
            ticket::append_message(doc, &message).map_err(fail)?;
            if before.first_response_at.is_none() {
                ticket::set_first_response_at(doc, now).map_err(fail)?;
            }
            if before.status == Status::New {
                ticket::set_status(doc, Status::Open).map_err(fail)?;
            }
            Ok(())
        })
        .await?;
    let notice = Notice::Reply {
        by: &member.name,
        body: &message.body,
    };
    mail::notify_customer(state, &ticket, notice).await;
    Ok(ticket)
}
