//! The queue: tickets by urgency, filtered by status and tier.

use super::*;

#[derive(Deserialize)]
pub(super) struct QueueQuery {
    /// A status, `all`, or (absent) the active ones: new, open, pending.
    status: Option<String>,
    tier: Option<String>,
    #[serde(default)]
    page: usize,
}

/// Tickets per queue page.
pub(super) const QUEUE_PAGE: usize = 50;

/// How urgent a ticket's first response is: overdue first, then due within
/// the hour, then the rest; answered ones last.
pub(super) fn urgency(t: &crate::storage::TicketSummary, now: i64) -> (u8, i64) {
    match (t.first_response_at, t.first_response_due) {
        (None, Some(due)) if due < now => (0, due),
        (None, Some(due)) if due < now + 3_600_000 => (1, due),
        (None, Some(due)) => (2, due),
        (None, None) => (2, i64::MAX),
        (Some(_), _) => (3, t.updated_at),
    }
}

pub(super) async fn queue(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<QueueQuery>,
) -> Result<Markup, AppError> {
    let status = q.status.clone().filter(|s| Status::parse(s).is_some());
    let show_all = q.status.as_deref() == Some("all");
    let tier = q.tier.and_then(|t| t.parse::<u8>().ok());
    let filter = TicketFilter {
        site: None,
        status: status.clone(),
        tier,
        customer: None,
    };
    let now = now_ms();
    let mut tickets: Vec<_> = requests::tickets_for(&state, &user, filter)
        .await?
        .into_iter()
        .filter(|t| {
            show_all || status.is_some() || !matches!(t.status.as_str(), "resolved" | "closed")
        })
        .collect();
    tickets.sort_by_key(|t| urgency(t, now));
    let pages = tickets.len().div_ceil(QUEUE_PAGE).max(1);
    let page_no = q.page.min(pages - 1);
    let shown = &tickets[page_no * QUEUE_PAGE..tickets.len().min((page_no + 1) * QUEUE_PAGE)];
    let link = |p: usize| {
        format!(
            "/console?status={}&tier={}&page={p}",
            q.status.as_deref().unwrap_or(""),
            tier.map(|t| t.to_string()).unwrap_or_default()
        )
    };
    Ok(page(
        "Queue",
        Some(&user),
        html! {
            form.inline method="get" {
                select name="status" aria-label="Status" {
                    option value="" { "active (new, open, pending)" }
                    option value="all" selected[show_all] { "all, also resolved and closed" }
                    @for s in Status::ALL { option value=(s.as_str()) selected[status.as_deref() == Some(s.as_str())] { (s.as_str()) } }
                }
                select name="tier" aria-label="Tier" {
                    option value="" { "any tier" }
                    @for t in 1..=3u8 { option value=(t) selected[tier == Some(t)] { "tier " (t) } }
                }
                button { "Filter" }
            }
            script src="/console/live.js" defer {}
            table data-testid="queue" {
                tr { th { "Subject" } th { "Customer" } th { "Status" } th { "Tier" } th { "Priority" } th { "Category" } th { "First response due" } }
                @for t in shown {
                    tr {
                        td { a href={ "/console/tickets/" (t.id) } { (t.subject) } }
                        td { (t.customer.as_ref().and_then(|c| c.name.clone().or(c.email.clone())).or(t.email.clone()).unwrap_or_else(|| "–".into())) }
                        td { (t.status) } td { (t.tier) } td { (t.priority) } td { (t.category) }
                        td {
                            @if t.first_response_at.is_some() { "answered" }
                            @else if let Some(due) = t.first_response_due {
                                @match urgency(t, now).0 {
                                    0 => span.due data-testid="sla-breached" { (format_time(due, &user.timezone)) " (overdue)" },
                                    1 => strong data-testid="sla-soon" { (format_time(due, &user.timezone)) " (within the hour)" },
                                    _ => (format_time(due, &user.timezone)),
                                }
                            }
                        }
                    }
                }
            }
            @if pages > 1 {
                nav aria-label="Queue pages" {
                    "Page " (page_no + 1) " of " (pages) " "
                    @if page_no > 0 { a href=(link(page_no - 1)) { "← newer" } " " }
                    @if page_no + 1 < pages { a href=(link(page_no + 1)) { "more →" } }
                }
            }
        },
    ))
}
