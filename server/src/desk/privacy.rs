//! A customer's personal data as the GDPR asks for it: everything Stufe
//! holds about one customer of a site — found by the identity the site
//! verified (`sub`) or by email — exported as one JSON document (access,
//! portability; each export is noted on every request it covered), or
//! erased (erasure). Admins only.
//!
//! Erasure retires each of the customer's requests rather than editing it:
//! an Automerge document keeps its whole history, so no edit could remove
//! the text from it, or from the copies widgets hold. The document and
//! everything kept beside it go (see
//! [`crate::storage::TicketStore::erase_ticket`]); the
//! request's row keeps only the figures, so the KPIs still count it; the
//! ticket id stays taken, so a widget that still holds the old document is
//! told `erased` (and drops it) and its changes are never stored again.

use serde::Serialize;
use stufe_shared::ticket::Ticket;
use stufe_shared::TicketId;

use super::{require_admin, require_site, DeskError};
use crate::clock::now_ms;
use crate::identity::VerifiedCustomer;
use crate::storage::{self, MailRecord, StaffMember, StaffNote, TicketSummary};
use crate::AppState;

/// The most requests one export covers (a customer with more is refused
/// rather than cut short).
pub const MAX_EXPORTED_REQUESTS: u32 = 1_000;

/// The note each export leaves on the requests it covered.
pub const EXPORT_NOTE: &str = "The customer's data was exported (access request).";

/// Whom an export is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Customer {
    /// The customer the site signed in (`sub` of its identity token):
    /// their requests made while signed in.
    Signed(String),
    /// Every request given this email address (signed in or not).
    Email(String),
}

/// The export file: `format` names its shape.
#[derive(Debug, Serialize)]
pub struct CustomerExport {
    pub format: &'static str,
    pub site: String,
    /// `{"sub": …}` or `{"email": …}`: whom it was asked for.
    pub customer: serde_json::Value,
    pub exported_at: i64,
    pub exported_by: String,
    pub requests: Vec<RequestExport>,
    /// What Stufe does not tie to a person, so has nothing of theirs.
    pub not_kept: &'static str,
}

/// One request with everything kept beside it.
#[derive(Debug, Serialize)]
pub struct RequestExport {
    /// The request as its document holds it: subject, description, email,
    /// every message (and its files), the rating.
    pub ticket: Ticket,
    /// The signed-in customer who made it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_in_as: Option<VerifiedCustomer>,
    /// The address the customer confirmed for emails, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_email: Option<String>,
    /// Every file uploaded for it (referenced by a message or not); staff
    /// download each from `download`.
    pub uploads: Vec<Upload>,
    /// Staff notes and hand-offs about the request.
    pub staff_notes: Vec<StaffNote>,
    /// Emails Stufe wrote to the customer about it.
    pub emails: Vec<MailRecord>,
}

#[derive(Debug, Serialize)]
pub struct Upload {
    pub hash: String,
    #[serde(rename = "type")]
    pub mime: String,
    pub size: i64,
    pub download: String,
}

/// The requests of `customer` on `site` (at most one more than the limit).
async fn requests_of(
    state: &AppState,
    site: &str,
    customer: &Customer,
) -> Result<Vec<TicketSummary>, DeskError> {
    let (sub, email) = match customer {
        Customer::Signed(sub) if !sub.trim().is_empty() => (Some(sub.clone()), None),
        Customer::Email(email) if email.contains('@') => (None, Some(email.trim().to_owned())),
        _ => {
            return Err(DeskError::invalid(
                "name the customer by `sub` (as your site signs them in) or by `email`",
            ))
        }
    };
    let key = site.to_owned();
    let found = storage::blocking(&state.storage, move |s| {
        s.customer_history(
            &key,
            "",
            sub.as_deref(),
            email.as_deref(),
            MAX_EXPORTED_REQUESTS + 1,
        )
    })
    .await?;
    if found.len() > MAX_EXPORTED_REQUESTS as usize {
        return Err(DeskError::invalid(format!(
            "this customer has more than {MAX_EXPORTED_REQUESTS} requests; erase or export some of them by ticket first"
        )));
    }
    Ok(found)
}

/// What an erasure did.
#[derive(Debug, Serialize)]
pub struct Erased {
    /// The requests erased (their ids stay taken, and count in the KPIs).
    pub erased: Vec<String>,
}

/// Erases every request of `customer` on `site` (see the module's note).
/// `confirm` must repeat the `sub` or email exactly.
pub async fn erase_customer(
    state: &AppState,
    member: &StaffMember,
    site: &str,
    customer: Customer,
    confirm: &str,
) -> Result<Erased, DeskError> {
    require_admin(member, "customers' data")?;
    require_site(member, site)?;
    let named = match &customer {
        Customer::Signed(sub) => sub.trim(),
        Customer::Email(email) => email.trim(),
    };
    if confirm.trim() != named || named.is_empty() {
        return Err(DeskError::invalid(
            "to erase, repeat the customer's email or sub exactly in `confirm`",
        ));
    }
    let found = requests_of(state, site, &customer).await?;
    let now = now_ms();
    let mut erased = Vec::with_capacity(found.len());
    for summary in found {
        if erase_request(state, &summary.id, now).await? {
            erased.push(summary.id);
        }
    }
    tracing::info!(
        site,
        requests = erased.len(),
        by = member.id,
        "customer data erased"
    );
    Ok(Erased { erased })
}

/// Erases one request (storage, then every copy the hub holds); false when
/// it was erased before.
async fn erase_request(state: &AppState, id: &str, now: i64) -> Result<bool, DeskError> {
    let key = id.to_owned();
    let done = storage::blocking(&state.storage, move |s| s.erase_ticket(&key, now)).await?;
    if let Ok(ticket) = id.parse::<TicketId>() {
        state.hub.retire(ticket).await;
    }
    Ok(done)
}

/// What a site's retention period would erase now (a dry run for admins).
#[derive(Debug, Serialize)]
pub struct RetentionPreview {
    /// The site's setting (None: requests are kept).
    pub retention_days: Option<u32>,
    /// Resolved or closed requests older than that, erased at the next run
    /// (hourly); counted up to [`RETENTION_BATCH`].
    pub due: usize,
}

/// The most requests one retention run erases per site (the rest go at the next).
pub const RETENTION_BATCH: u32 = 500;

const DAY_MS: i64 = 86_400_000;

/// How many of `site`'s requests its retention period lets go as of `now`.
pub async fn retention_preview(
    state: &AppState,
    member: &StaffMember,
    site: &str,
    now: i64,
) -> Result<RetentionPreview, DeskError> {
    require_admin(member, "retention")?;
    require_site(member, site)?;
    let key = crate::desk::sites::parse_key(site)?;
    let config = state
        .site(&key)
        .await?
        .ok_or_else(|| DeskError::not_found("unknown site"))?;
    let due = match config.retention_days {
        Some(days) => retention_due(state, site, days, now).await?.len(),
        None => 0,
    };
    Ok(RetentionPreview {
        retention_days: config.retention_days,
        due,
    })
}

/// The requests of `site` a retention period of `days` lets go as of `now`
/// (at most [`RETENTION_BATCH`]).
async fn retention_due(
    state: &AppState,
    site: &str,
    days: u32,
    now: i64,
) -> Result<Vec<String>, DeskError> {
    let before = now - i64::from(days) * DAY_MS;
    let site = site.to_owned();
    Ok(storage::blocking(&state.storage, move |s| {
        s.retention_due(&site, before, RETENTION_BATCH)
    })
    .await?)
}

/// Erases, on every site with a retention period, the resolved and closed
/// requests that last changed longer ago than it, as of `now` (the same
/// erasure as an admin's); how many.
pub async fn apply_retention(state: &AppState, now: i64) -> Result<usize, DeskError> {
    let sites = storage::blocking(&state.storage, |s| s.sites()).await?;
    let mut erased = 0;
    for (key, config) in sites {
        let Some(days) = config.retention_days else {
            continue;
        };
        for id in retention_due(state, key.as_str(), days, now).await? {
            erased += usize::from(erase_request(state, &id, now).await?);
        }
    }
    if erased > 0 {
        tracing::info!(erased, "requests past their site's retention period erased");
    }
    Ok(erased)
}

/// Everything about `customer` on `site`, recorded on each request it covers.
pub async fn export_customer(
    state: &AppState,
    member: &StaffMember,
    site: &str,
    customer: Customer,
) -> Result<CustomerExport, DeskError> {
    require_admin(member, "customers' data")?;
    require_site(member, site)?;
    let found = requests_of(state, site, &customer).await?;
    let now = now_ms();
    let mut requests = Vec::with_capacity(found.len());
    // Oldest first, as a record is read.
    for summary in found.into_iter().rev() {
        let id: TicketId = summary
            .id
            .parse()
            .map_err(|_| DeskError::invalid("a stored ticket id is malformed"))?;
        let ticket = state.hub.read_ticket(id).await?;
        let key = summary.id.clone();
        let (files, confirmed_email, staff_notes, emails) =
            storage::blocking(&state.storage, move |s| {
                Ok((
                    s.ticket_files(&key)?,
                    s.confirmed_email(&key)?,
                    s.notes(&key)?,
                    s.mail_about(&key)?,
                ))
            })
            .await?;
        requests.push(RequestExport {
            uploads: files
                .into_iter()
                .map(|f| Upload {
                    download: format!("/api/staff/tickets/{id}/files/{}", f.hash),
                    hash: f.hash,
                    mime: f.mime,
                    size: f.size,
                })
                .collect(),
            ticket,
            signed_in_as: summary.customer,
            confirmed_email,
            staff_notes,
            emails,
        });
    }
    // The export itself is on record, beside each request it covered.
    for request in &requests {
        let note = StaffNote {
            ticket: request.ticket.id.clone(),
            at: now,
            by: member.name.clone(),
            kind: "note".into(),
            change: String::new(),
            body: EXPORT_NOTE.into(),
        };
        storage::blocking(&state.storage, move |s| s.add_note(&note)).await?;
    }
    tracing::info!(
        site,
        requests = requests.len(),
        by = member.id,
        "customer data exported"
    );
    Ok(CustomerExport {
        format: "stufe.customer-export/1",
        site: site.to_owned(),
        customer: match &customer {
            Customer::Signed(sub) => serde_json::json!({ "sub": sub }),
            Customer::Email(email) => serde_json::json!({ "email": email.trim() }),
        },
        exported_at: now,
        exported_by: member.name.clone(),
        requests,
        not_kept:
            "Help-article searches, views and 'did this help' answers are counted without any \
                   person or device, so none of them is this customer's.",
    })
}
