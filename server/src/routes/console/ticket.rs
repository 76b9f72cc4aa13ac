//! One ticket: its thread, the reply and update form, notes, the customer's other requests.

use super::*;
use crate::desk::saved_replies::fill;

/// How many of the customer's other requests the ticket page lists.
pub(super) const CUSTOMER_HISTORY: u32 = 20;

pub(super) async fn ticket_page(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let ticket: Ticket = requests::ticket_for(&state, &user, ticket_id(&id)?).await?;
    let resolved = matches!(ticket.status, Status::Resolved | Status::Closed);
    let (key, site, email) = (ticket.id.clone(), ticket.site.clone(), ticket.email.clone());
    let (notes, this, history, staff, confirmed) = storage::blocking(&state.storage, move |s| {
        let this = s.ticket_summary(&key)?;
        let customer_id = this
            .as_ref()
            .and_then(|t| t.customer.as_ref())
            .map(|c| c.id.clone());
        let history = s.customer_history(
            &site,
            &key,
            customer_id.as_deref(),
            email.as_deref(),
            CUSTOMER_HISTORY,
        )?;
        let confirmed = s.confirmed_email(&key)?;
        Ok((s.notes(&key)?, this, history, s.list_staff()?, confirmed))
    })
    .await?;
    let customer = this.as_ref().and_then(|t| t.customer.clone());
    // Who the customer is: verified by the site, else the email they gave.
    let customer_name = customer
        .as_ref()
        .map(|c| c.name.clone().or(c.email.clone()).unwrap_or(c.id.clone()))
        .or(ticket.email.clone())
        .unwrap_or_else(|| "Customer".into());
    let assignee = this.as_ref().and_then(|t| t.assignee);
    let colleagues: Vec<&StaffMember> = staff.iter().filter(|m| m.works_on(&ticket.site)).collect();
    let saved = crate::desk::saved_replies::saved_replies_of(&state, &user, &ticket.site).await?;
    Ok(page(
        &ticket.subject,
        Some(&user),
        html! {
            p data-testid="ticket-meta" { "Status " strong { (ticket.status) } " · tier " strong { (ticket.tier.get()) } " · " (ticket.category)
                " · from " strong data-testid="customer" { (customer_name) }
                @if let Some(c) = &customer { " (signed in as " (c.id) ", verified by the site)" }
                @if let Some(email) = &ticket.email {
                    @if customer_name != *email { " · " (email) }
                    @if confirmed.as_ref() == Some(email) { " " span data-testid="email-state" { "(confirmed)" } }
                    @else { " " span data-testid="email-state" title="The customer has not confirmed this address: replies are not emailed to it (they see them in the widget)." { "(not confirmed: replies are not emailed)" } } }
                @if let Some(r) = &ticket.rating { " · rated " strong { (r.score) "/5" } } }
            div.card { (ticket.description) }
            @for m in &ticket.messages {
                @let notice = is_system_notice(&m.id) && m.author == Author::Staff;
                div.card.staff[m.author == Author::Staff && !notice].notice[notice] data-testid="console-message" data-notice[notice] {
                    small { @if notice { "Notice to the customer (" (m.name) ")" } @else if m.author == Author::Customer { (customer_name) } @else { (m.name) } " · " (format_time(m.at, &user.timezone)) } p { (m.body) }
                    @if !m.files.is_empty() {
                        ul.files data-testid="console-files" {
                            @for f in &m.files {
                                @let url = format!("/api/staff/tickets/{id}/files/{}?name={}", f.hash, url_encode(&f.name));
                                li { a href=(url) data-testid="console-file" data-type=(f.mime) target="_blank" rel="noopener" {
                                    @if stufe_shared::files::is_image(&f.mime) { img.thumb src=(url) alt=(f.name); br; }
                                    (f.name) " (" (size_text(f.size)) ")" } }
                            }
                        }
                    }
                }
            }
            p.presence data-testid="presence" aria-live="polite" {}
            // One form: a reply typed here survives changing status, tier or assignee.
            form.card method="post" action={ "/console/tickets/" (id) "/update" } { (csrf::field())
                p { label { "Reply to the customer" textarea name="body" rows="10" data-testid="reply-box" placeholder="Sent to the customer (and by email, if they gave one)" {} } }
                p.attach {
                    label { "Attach files (pictures, PDF, text; 10 MB each) "
                        input type="file" multiple data-testid="console-attach" accept=(stufe_shared::files::ALLOWED_TYPES.join(",")); }
                    ul data-testid="console-chosen" aria-live="polite" {}
                    input type="hidden" name="files" value="" data-testid="console-files-field";
                }
                @if !saved.is_empty() {
                    p { label { "Saved reply (put into the reply for you to edit) " select name="saved_reply" data-testid="saved-reply" {
                        option value="" { "none" }
                        @for r in &saved { option value=(r.id) data-body=(fill(&r.body, &customer_name, &ticket.id, &user.name)) { (r.title) } } } } }
                }
                p {
                    label { "Status " select name="status" { @for s in Status::ALL { option value=(s.as_str()) selected[*s == ticket.status] { (s.as_str()) } } } }
                    " " label { "Tier " select name="tier" { @for t in 1..=3u8 { option value=(t) selected[t == ticket.tier.get()] { "tier " (t) } } } }
                    " " label { "Priority " select name="priority" data-testid="priority" { @for p in Priority::ALL { option value=(p.as_str()) selected[*p == ticket.priority] { (p.as_str()) } } } }
                    " " label { "Assigned to " select name="assignee" {
                        option value="" { "nobody" }
                        @for m in &colleagues { option value=(m.id) selected[assignee == Some(m.id)] { (m.name) } } } }
                }
                p { label { "Internal note (staff only; with a tier or assignee change it is the hand-off note)"
                    textarea name="note" rows="2" data-testid="note" {} } }
                p.error data-testid="collision" role="alert" tabindex="-1" hidden {}
                button data-testid="save-ticket" { "Save" }
            }
            script src="/console/presence.js" defer {}
            script src="/console/attach.js" defer {}
            script src="/console/saved.js" defer {}
            @if !notes.is_empty() {
                section.card data-testid="notes" {
                    h2 { "Internal notes and hand-offs" }
                    @for n in &notes {
                        p { small { (n.by) " · " (format_time(n.at, &user.timezone)) @if !n.change.is_empty() { " · " strong { (n.change) } } }
                            @if !n.body.is_empty() { br; (n.body) } }
                    }
                }
            }
            section.card data-testid="customer-history" {
                h2 { "Other requests of " (customer_name) }
                @if history.is_empty() { p { "None on this site." } } @else {
                    table {
                        tr { th { "Subject" } th { "Status" } th { "Created" } th { "Rating" } }
                        @for t in &history {
                            tr { td { a href={ "/console/tickets/" (t.id) } { (t.subject) } } td { (t.status) }
                                 td { (format_time(t.created_at, &user.timezone)) } td { @if let Some(r) = t.rating { (r) "/5" } @else { "–" } } }
                        }
                    }
                }
            }
            @if ticket.email.is_some() {
                form.card method="post" action={ "/console/tickets/" (id) "/revoke-links" } { (csrf::field())
                    "Links in emails open this request for whoever has them. "
                    button data-testid="revoke-links" { "Revoke email links" }
                    " (links sent so far stop working; the next email carries a new one)"
                }
            }
            @if resolved {
                form.card method="post" action={ "/console/tickets/" (id) "/article" } { (csrf::field())
                    button data-testid="write-article" { "Write article from this ticket" }
                }
            }
        },
    ))
}

pub(super) async fn revoke_links(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    requests::revoke_links(&state, &user, ticket_id(&id)?).await?;
    Ok(see_other(&format!("/console/tickets/{id}")))
}

#[derive(Deserialize)]
pub(super) struct UpdateForm {
    status: Status,
    tier: u8,
    #[serde(default)]
    body: String,
    /// Absent in older forms: assignment unchanged.
    assignee: Option<String>,
    /// Absent in older forms: priority unchanged.
    priority: Option<Priority>,
    #[serde(default)]
    note: String,
    /// A saved reply's id, added to the reply.
    #[serde(default)]
    saved_reply: String,
    /// The files uploaded for the reply (JSON: the upload answers), if any.
    #[serde(default)]
    files: String,
}

/// A file size for people: "820 B", "12 KB", "1.4 MB".
fn size_text(bytes: i64) -> String {
    match bytes {
        b if b < 1_000 => format!("{b} B"),
        b if b < 1_000_000 => format!("{:.0} KB", b as f64 / 1e3),
        b => format!("{:.1} MB", b as f64 / 1e6),
    }
}

pub(super) async fn ticket_update(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<UpdateForm>,
) -> Result<Response, AppError> {
    let ticket = ticket_id(&id)?;
    let before = requests::ticket_for(&state, &user, ticket).await?;
    let mut body = form.body.trim().to_owned();
    if let Ok(chosen) = form.saved_reply.parse::<i64>() {
        let saved =
            crate::desk::saved_replies::saved_replies_of(&state, &user, &before.site).await?;
        let reply = saved
            .into_iter()
            .find(|r| r.id == chosen)
            .ok_or_else(|| AppError::bad_request("no such saved reply"))?;
        if !body.is_empty() {
            body.push_str("\n\n");
        }
        let customer = before
            .email
            .clone()
            .unwrap_or_else(|| "Customer".to_owned());
        body.push_str(&fill(&reply.body, &customer, &before.id, &user.name));
    }
    let files: Vec<stufe_shared::ticket::FileRef> = if form.files.trim().is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(&form.files)
            .map_err(|_| AppError::bad_request("the attached files could not be read"))?
    };
    if !body.is_empty() || !files.is_empty() {
        requests::reply_with_files(&state, &user, ticket, body, files).await?;
    }
    let assigned = {
        let key = before.id.clone();
        storage::blocking(&state.storage, move |s| s.ticket_summary(&key))
            .await?
            .and_then(|t| t.assignee)
    };
    let assignee = match form.assignee.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(text) => Some(Some(
            text.parse::<i64>()
                .map_err(|_| AppError::bad_request("bad assignee"))?,
        )),
    }
    .filter(|wanted| *wanted != assigned);
    let update = Update {
        // Only what the agent changed: a reply may have moved the status already.
        status: Some(form.status).filter(|s| *s != before.status),
        tier: Some(form.tier).filter(|t| *t != before.tier.get()),
        priority: form.priority.filter(|p| *p != before.priority),
        assignee,
        note: Some(form.note).filter(|n| !n.trim().is_empty()),
    };
    requests::update(&state, &user, ticket, update).await?;
    Ok(see_other(&format!("/console/tickets/{id}")))
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    body: String,
}

pub(super) async fn ticket_reply(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, AppError> {
    requests::reply(&state, &user, ticket_id(&id)?, form.body).await?;
    Ok(see_other(&format!("/console/tickets/{id}")))
}

/// Puts the chosen saved reply into the reply box (where it can be edited
/// before sending) instead of adding it on the server after what was typed.
pub(super) const SAVED_SCRIPT: &str = r#"(function () {
  "use strict";
  var select = document.querySelector("[data-testid=saved-reply]");
  var box = document.querySelector("[data-testid=reply-box]");
  if (!select || !box) return;
  select.addEventListener("change", function () {
    var chosen = select.options[select.selectedIndex];
    var text = chosen && chosen.getAttribute("data-body");
    if (!text) return;
    box.value = box.value.trim() ? box.value.replace(/\s+$/, "") + "\n\n" + text : text;
    select.value = "";
    box.focus();
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
"#;

pub(super) async fn saved_script() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        SAVED_SCRIPT,
    )
}
