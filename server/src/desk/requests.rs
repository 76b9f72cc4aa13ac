//! Requests (tickets) as staff work them: read the ones of their sites,
//! change status, tier, priority and assignee (a hand-off between tiers tells
//! the customer and leaves a note), reply (the first reply is the first
//! response and opens a new request), revoke the links in emails. The staff
//! API and the console call these; so will automation rules.

use rand::Rng;
use serde::Deserialize;
use stufe_shared::ticket::{
    self, Author, NewMessage, Priority, Status, SystemNotice, Ticket, Tier,
};
use stufe_shared::TicketId;

use super::DeskError;
use crate::business_hours;
use crate::clock::now_ms;
use crate::events;
use crate::mail::{self, Notice};
use crate::storage::{self, StaffMember, StaffNote, TicketFilter, TicketSummary};
use crate::sync::HubError;
use crate::AppState;

/// The ticket, if it exists on a site `member` works on; otherwise "no such
/// ticket" (staff of one site do not learn about another site's tickets).
pub async fn ticket_for(
    state: &AppState,
    member: &StaffMember,
    id: TicketId,
) -> Result<Ticket, DeskError> {
    let ticket = state.hub.read_ticket(id).await?;
    if member.works_on(&ticket.site) {
        Ok(ticket)
    } else {
        Err(DeskError::not_found("no such ticket"))
    }
}

/// The tickets matching `filter` on the sites `member` works on.
pub async fn tickets_for(
    state: &AppState,
    member: &StaffMember,
    filter: TicketFilter,
) -> Result<Vec<TicketSummary>, DeskError> {
    let mut tickets = storage::blocking(&state.storage, move |s| s.list_tickets(&filter)).await?;
    tickets.retain(|t| member.works_on(&t.site));
    Ok(tickets)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Update {
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

/// Changes a ticket's status, tier and/or priority.
pub async fn update(
    state: &AppState,
    member: &StaffMember,
    id: TicketId,
    update: Update,
) -> Result<Ticket, DeskError> {
    let before = ticket_for(state, member, id).await?;
    let tier = update
        .tier
        .map(|t| Tier::new(i64::from(t)).ok_or_else(|| DeskError::invalid("tier is 1, 2 or 3")))
        .transpose()?;
    let note = update
        .note
        .as_deref()
        .map(str::trim)
        .unwrap_or("")
        .to_owned();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(DeskError::invalid(format!(
            "a note may have at most {MAX_NOTE_CHARS} characters"
        )));
    }
    let assignee = match update.assignee {
        Some(Some(staff_id)) => {
            let all = storage::blocking(&state.storage, |s| s.list_staff()).await?;
            let colleague = all
                .into_iter()
                .find(|m| m.id == staff_id && m.works_on(&before.site))
                .ok_or_else(|| DeskError::invalid("no such colleague on this site"))?;
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
    // A hand-off between tiers and a resolution tell the customer, in the
    // thread: notices in the site's language for the console and other
    // clients; the widget says them in its customer's.
    let german = site_locale.as_deref() == Some("de");
    let resolves = update.status == Some(Status::Resolved) && before.status != Status::Resolved;
    let notices: Vec<NewMessage> = moved
        .map(|to| SystemNotice::Handoff {
            from: before.tier,
            to,
        })
        .into_iter()
        .chain(resolves.then_some(SystemNotice::Resolved))
        .map(|notice| notice_message(member, &notice, german))
        .collect();
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
            for message in &notices {
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
        storage::blocking(&state.storage, move |s| s.assign(&ticket_id, staff_id))
            .await
            .map_err(|err| after_commit("the assignment", &err))?;
        let to_whom = to.as_ref().map(|m| (m.id, m.name.as_str()));
        let event = events::assignee_changed(&before.site, &ticket, to_whom, now_ms());
        super::webhooks::queue(state, event).await;
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
        storage::blocking(&state.storage, move |s| s.add_note(&staff_note))
            .await
            .map_err(|err| after_commit("the note", &err))?;
    }
    if ticket.status == Status::Resolved && before.status != Status::Resolved {
        mail::notify_customer(state, &ticket, Notice::Resolved).await;
    }
    Ok(ticket)
}

/// A system notice from `member`, its body in the site's language (German or not).
fn notice_message(member: &StaffMember, notice: &SystemNotice, german: bool) -> NewMessage {
    NewMessage {
        id: ticket::notice_id(notice, &hex::encode(rand::rng().random::<[u8; 8]>())),
        author: Author::Staff,
        name: member.name.clone(),
        body: notice.text(german),
        at: now_ms(),
    }
}

/// Tells the customer in the thread (and by email) what happened to their
/// request, as a system notice, its body in German or English: not a reply
/// (no first response, no status change).
pub async fn post_notice(
    state: &AppState,
    member: &StaffMember,
    id: TicketId,
    notice: SystemNotice,
    german: bool,
) -> Result<Ticket, DeskError> {
    ticket_for(state, member, id).await?;
    let message = notice_message(member, &notice, german);
    let ticket = state
        .hub
        .staff_change(id, |doc, _| {
            ticket::append_message(doc, &message).map_err(|err| HubError::Rejected(err.to_string()))
        })
        .await?;
    let email = Notice::Reply {
        by: &member.name,
        body: &message.body,
    };
    mail::notify_customer(state, &ticket, email).await;
    Ok(ticket)
}

/// A step after the ticket change was committed failed: say so, rather than
/// "nothing was changed".
fn after_commit(what: &str, err: &crate::storage::StorageError) -> DeskError {
    tracing::error!(%err, "storing {what} failed after the ticket change was committed");
    DeskError::AfterCommit(format!(
        "the ticket was changed, but storing {what} failed; look at the ticket and try that part again"
    ))
}

/// Appends a staff reply; the first one stamps the first response and opens a new ticket.
pub async fn reply(
    state: &AppState,
    member: &StaffMember,
    id: TicketId,
    body: String,
) -> Result<Ticket, DeskError> {
    reply_with_files(state, member, id, body, Vec::new()).await
}

/// A staff reply carrying files uploaded for the ticket (its text may then be empty).
pub async fn reply_with_files(
    state: &AppState,
    member: &StaffMember,
    id: TicketId,
    body: String,
    files: Vec<stufe_shared::ticket::FileRef>,
) -> Result<Ticket, DeskError> {
    if body.trim().is_empty() && files.is_empty() {
        return Err(DeskError::invalid("a reply must not be empty"));
    }
    ticket_for(state, member, id).await?;
    super::attachments::check_uploaded(state, id, &files).await?;
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
            ticket::append_message_with_files(doc, &message, &files).map_err(fail)?;
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

/// Links from emails sent so far no longer open ticket `id` (a later email
/// carries a working one); kept in the ticket's notes.
pub async fn revoke_links(
    state: &AppState,
    member: &StaffMember,
    id: TicketId,
) -> Result<(), DeskError> {
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
