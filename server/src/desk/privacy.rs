//! A customer's personal data as the GDPR asks for it (access, portability):
//! everything Stufe holds about one customer of a site — found by the
//! identity the site verified (`sub`) or by email — as one JSON document.
//! Admins only; each export is recorded as a note on every request it
//! covered (who exported, when).

use serde::Serialize;
use stufe_shared::ticket::Ticket;
use stufe_shared::TicketId;

use super::{require_admin, require_site, DeskError};
use crate::clock::now_ms;
use crate::identity::VerifiedCustomer;
use crate::storage::{self, MailRecord, StaffMember, StaffNote};
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

/// Everything about `customer` on `site`, recorded on each request it covers.
pub async fn export_customer(
    state: &AppState,
    member: &StaffMember,
    site: &str,
    customer: Customer,
) -> Result<CustomerExport, DeskError> {
    require_admin(member, "customers' data")?;
    require_site(member, site)?;
    let (sub, email) = match &customer {
        Customer::Signed(sub) if !sub.trim().is_empty() => (Some(sub.clone()), None),
        Customer::Email(email) if email.contains('@') => (None, Some(email.trim().to_owned())),
        _ => {
            return Err(DeskError::invalid(
                "name the customer by `sub` (as your site signs them in) or by `email`",
            ))
        }
    };
    let (key, sub_q, email_q) = (site.to_owned(), sub.clone(), email.clone());
    let found = storage::blocking(&state.storage, move |s| {
        s.customer_history(
            &key,
            "",
            sub_q.as_deref(),
            email_q.as_deref(),
            MAX_EXPORTED_REQUESTS + 1,
        )
    })
    .await?;
    if found.len() > MAX_EXPORTED_REQUESTS as usize {
        return Err(DeskError::invalid(format!(
            "this customer has more than {MAX_EXPORTED_REQUESTS} requests; export them in parts through the staff API"
        )));
    }
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
        customer: match (&sub, &email) {
            (Some(sub), _) => serde_json::json!({ "sub": sub }),
            (_, email) => serde_json::json!({ "email": email }),
        },
        exported_at: now,
        exported_by: member.name.clone(),
        requests,
        not_kept:
            "Help-article searches, views and 'did this help' answers are counted without any \
                   person or device, so none of them is this customer's.",
    })
}
