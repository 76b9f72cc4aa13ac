//! The queue: tickets by urgency (or age), filtered by status and tier,
//! searched by subject, customer or id; several changed at once.

use super::*;

#[derive(Deserialize)]
pub(super) struct QueueQuery {
    /// A status, `all`, or (absent) the active ones: new, open, pending.
    status: Option<String>,
    tier: Option<String>,
    /// Words that must all be in the subject, the customer's name or email,
    /// or the ticket's id.
    #[serde(default)]
    q: String,
    /// `urgency` (default), `newest`, `oldest` or `updated`.
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: usize,
}

/// Whether `t` matches every word of `query` (case-insensitive).
pub(super) fn matches_search(t: &crate::storage::TicketSummary, query: &str) -> bool {
    let haystack = [
        Some(t.subject.as_str()),
        Some(t.id.as_str()),
        t.email.as_deref(),
        t.customer.as_ref().and_then(|c| c.name.as_deref()),
        t.customer.as_ref().and_then(|c| c.email.as_deref()),
        t.customer.as_ref().map(|c| c.id.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
    .to_lowercase();
    query
        .split_whitespace()
        .all(|word| haystack.contains(&word.to_lowercase()))
}

/// An email address that may wrap after its `@` and dots, never inside a word.
fn wrappable(text: &str) -> Markup {
    html! {
        @for (i, part) in text.split_inclusive(['@', '.']).enumerate() {
            @if i > 0 { wbr; }
            (part)
        }
    }
}

const SORTS: [(&str, &str); 4] = [
    ("urgency", "most urgent first"),
    ("newest", "newest first"),
    ("oldest", "oldest first"),
    ("updated", "recently changed first"),
];

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
        .filter(|t| matches_search(t, &q.q))
        .collect();
    match q.sort.as_str() {
        "newest" => tickets.sort_by_key(|t| std::cmp::Reverse(t.created_at)),
        "oldest" => tickets.sort_by_key(|t| t.created_at),
        "updated" => tickets.sort_by_key(|t| std::cmp::Reverse(t.updated_at)),
        _ => tickets.sort_by_key(|t| urgency(t, now)),
    }
    let staff = storage::blocking(&state.storage, |s| s.list_staff()).await?;
    let colleagues: Vec<_> = staff.iter().filter(|m| m.active).collect();
    let pages = tickets.len().div_ceil(QUEUE_PAGE).max(1);
    let page_no = q.page.min(pages - 1);
    let shown = &tickets[page_no * QUEUE_PAGE..tickets.len().min((page_no + 1) * QUEUE_PAGE)];
    let link = |p: usize| {
        format!(
            "/console?status={}&tier={}&q={}&sort={}&page={p}",
            q.status.as_deref().unwrap_or(""),
            tier.map(|t| t.to_string()).unwrap_or_default(),
            url_encode(&q.q),
            url_encode(&q.sort),
        )
    };
    let back_to = link(page_no);
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
                input type="search" name="q" value=(q.q) placeholder="subject, customer or id" aria-label="Search" data-testid="queue-search";
                select name="sort" aria-label="Order" data-testid="queue-sort" {
                    @for (value, label) in SORTS { option value=(value) selected[q.sort == value] { (label) } }
                }
                button { "Show" }
            }
            // Changes for the checked tickets (their boxes belong to this form).
            form.inline.card id="bulk" method="post" action="/console/bulk" data-testid="bulk" { (csrf::field())
                input type="hidden" name="back" value=(back_to);
                strong { "Checked tickets: " }
                select name="status" aria-label="New status for the checked tickets" {
                    option value="" { "status unchanged" }
                    @for s in Status::ALL { option value=(s.as_str()) { (s.as_str()) } }
                }
                select name="tier" aria-label="New tier for the checked tickets" {
                    option value="" { "tier unchanged" }
                    @for t in 1..=3u8 { option value=(t) { "tier " (t) } }
                }
                select name="assignee" aria-label="Assign the checked tickets" {
                    option value="" { "assignee unchanged" }
                    option value="nobody" { "nobody" }
                    @for m in &colleagues { option value=(m.id) { (m.name) } }
                }
                button data-testid="bulk-apply" { "Apply" }
            }
            script src="/console/live.js" defer {}
            p { button type="button" data-testid="notify-toggle" hidden { "Turn on desktop notifications" } " "
                small { "Keys: " kbd { "j" } "/" kbd { "k" } " move, " kbd { "Enter" } " opens, " kbd { "/" } " searches, " kbd { "?" } " lists them all." } }
            table data-testid="queue" {
                tr { th { span.sr-only { "Choose" } } th { "Subject" } th { "Customer" } th { "Site" } th { "Status" } th { "Tier" } th { "Priority" } th { "Category" } th { "First response due" } }
                @for t in shown {
                    tr data-testid="queue-row" {
                        td { input type="checkbox" form="bulk" name={ "t:" (t.id) } aria-label={ "Choose " (t.subject) } data-testid="queue-check"; }
                        td { a href={ "/console/tickets/" (t.id) } { (t.subject) } }
                        td { (wrappable(&t.customer.as_ref().and_then(|c| c.name.clone().or(c.email.clone())).or(t.email.clone()).unwrap_or_else(|| "–".into()))) }
                        td { (t.site) }
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

/// Changes every checked ticket (`t:<id>` fields) of the queue: status, tier
/// and/or assignee, each as one update (with its hand-off, if any); then back
/// to the queue as it was shown. Tickets the change does not apply to are named.
pub(super) async fn bulk(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Result<Response, AppError> {
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let status = field("status")
        .map(|s| Status::parse(s).ok_or_else(|| AppError::bad_request("unknown status")))
        .transpose()?;
    let tier = field("tier")
        .map(|t| {
            t.parse::<u8>()
                .map_err(|_| AppError::bad_request("tier is 1, 2 or 3"))
        })
        .transpose()?;
    let assignee = match field("assignee") {
        None => None,
        Some("nobody") => Some(None),
        Some(id) => Some(Some(
            id.parse::<i64>()
                .map_err(|_| AppError::bad_request("bad assignee"))?,
        )),
    };
    let mut ids: Vec<&str> = form.keys().filter_map(|k| k.strip_prefix("t:")).collect();
    ids.sort_unstable();
    if ids.is_empty() {
        return Err(AppError::bad_request("check the tickets to change first"));
    }
    let mut refused = Vec::new();
    for id in ids {
        let update = Update {
            status,
            tier,
            priority: None,
            assignee,
            note: None,
        };
        let done = match ticket_id(id) {
            Ok(ticket) => requests::update(&state, &user, ticket, update)
                .await
                .map(drop)
                .map_err(|err| err.to_string()),
            Err(_) => Err("no such ticket".into()),
        };
        if let Err(why) = done {
            refused.push(format!("{id}: {why}"));
        }
    }
    if !refused.is_empty() {
        return Err(AppError::bad_request(format!(
            "not every checked ticket was changed: {}",
            refused.join("; ")
        )));
    }
    let back = form
        .get("back")
        .filter(|b| b.starts_with("/console?") || b.as_str() == "/console")
        .map_or("/console", String::as_str);
    Ok(see_other(back))
}
