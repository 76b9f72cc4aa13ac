//! The staff console: server-rendered pages (maud) with plain forms, behind a
//! login. Areas: the ticket queue, a ticket (reply, status, tier, "write
//! article"), the knowledge base (drafts, publishing, search insights), and
//! sites (settings, the tag to paste, allowed origins; in `console/sites.rs`).
//! Each area is one handler group below; later areas (triage, KPIs) add theirs.

use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;
use stufe_shared::ticket::{Author, Status, Ticket, HANDOFF_PREFIX};

use super::ticket_id;
use super::{article_id, site_key};
use crate::auth::{self, session_token};
use crate::clock::now_ms;
use crate::desk::publishing::{insights_since, publish_article, unpublish_article, INSIGHT_DAYS};
use crate::desk::requests::{self, Update};
use crate::desk::{can_publish, require_admin, require_site};
use crate::error::AppError;
use crate::kb::article::ArticleSubmission;
use crate::kb::drafts::{self, Draft, DraftFields};
use crate::kb::markdown;
use crate::storage::{self, StaffMember, TicketFilter};
use crate::tokens::token_hash;
use crate::AppState;

mod accounts;
pub(crate) mod csrf;
mod kpis;
mod sites;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/console/style.css", get(stylesheet))
        .route("/console/live.js", get(live_script))
        .route("/console/events", get(queue_events))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console", get(queue))
        .route("/console/tickets/{id}", get(ticket_page))
        .route("/console/tickets/{id}/update", post(ticket_update))
        .route("/console/tickets/{id}/reply", post(ticket_reply))
        .route("/console/tickets/{id}/article", post(article_from_ticket))
        .route("/console/tickets/{id}/revoke-links", post(revoke_links))
        .route("/console/kb", get(kb_page))
        .route("/console/drafts", post(new_draft))
        .route("/console/drafts/{id}", get(draft_page).post(save_draft))
        .route("/console/drafts/{id}/unpublish", post(unpublish_draft))
        .route("/console/articles/{id}/edit", post(edit_article))
        .route(
            "/console/saved-replies",
            get(saved_replies_page).post(add_saved_reply),
        )
        .route(
            "/console/saved-replies/{id}/delete",
            post(delete_saved_reply),
        )
        .route("/console/errors", get(errors_page))
        .route("/console/staff", get(accounts::list).post(accounts::create))
        .route("/console/staff/{id}", post(accounts::change))
        .route(
            "/console/password",
            get(accounts::password_page).post(accounts::change_password),
        )
        .route("/console/timezone", post(accounts::set_timezone))
        .route("/console/kpis", get(kpis::kpi_page))
        .route("/console/kpis.csv", get(kpis::kpi_csv))
        .route("/console/sites", get(sites::list).post(sites::create))
        .route("/console/sites/{site}", get(sites::show).post(sites::save))
        .route("/console/sites/{site}/secret", post(sites::secret))
        .layer(axum::middleware::from_fn_with_state(state, csrf::guard))
        .layer(axum::middleware::map_response(error_pages))
}

/// A refused or failed console request shows a page that says what went
/// wrong (the handlers share their errors with the JSON API).
async fn error_pages(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || !is_json {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "Something went wrong.".into());
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        s if s.is_server_error() => "Something went wrong",
        _ => "Not done",
    };
    (
        status,
        page(
            title,
            None,
            html! {
                p.error role="alert" data-testid="error-page" { (message) }
                p { a href="/console" { "Back to the queue" } }
            },
        ),
    )
        .into_response()
}

/// A logged-in console user; anyone else is sent to the login page.
struct ConsoleUser(StaffMember);

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        // Back to this page after logging in (a deep link keeps working).
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let to_login = || {
            let next: String = url_encode(&here);
            Redirect::to(&format!("/console/login?next={next}")).into_response()
        };
        let session = session_token(parts).ok_or_else(to_login)?;
        let hash = token_hash(&session);
        match storage::blocking(&state.storage, move |s| s.staff_by_session(&hash, now_ms())).await
        {
            Ok(Some(member)) => Ok(ConsoleUser(member)),
            Ok(None) => Err(to_login()),
            Err(err) => Err(AppError::from(err).into_response()),
        }
    }
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0;max-width:none;padding:0;color:#1d2433;background:#f6f7fb}\
header{display:flex;gap:16px;align-items:center;padding:10px 20px;background:#1d2433;color:#fff}\
header a,header strong{color:#fff}a{color:#0b57d0}main{max-width:1000px;margin:20px auto;padding:0 20px}\
table{border-collapse:collapse;width:100%;background:#fff}td,th{border-bottom:1px solid #e3e6ee;padding:6px 8px;text-align:left}\
.card{background:#fff;border:1px solid #e3e6ee;border-radius:8px;padding:12px 16px;margin:12px 0}\
.staff{background:#eef4ff}.error{color:#b42318}.due{color:#b42318;font-weight:600}\
input,select,textarea{font:inherit;padding:4px 6px}textarea{width:100%;box-sizing:border-box}\
form.inline{display:inline-flex;gap:8px;align-items:center}.who{margin-left:auto}\
figure.chart{margin:12px 0;background:#fff;border:1px solid #e3e6ee;border-radius:8px;padding:4px}figure.chart svg{max-width:100%;height:auto}";

/// The CSS base: Water.css 2.1.1 (light, MIT; vendored in `server/assets`
/// with its licence), a classless stylesheet, so plain forms and tables look
/// right with no external request.
const BASE_STYLE: &str = include_str!("../../assets/water-2.1.1-light.min.css");

/// The console's stylesheet, a file of its own (the console's policy allows no
/// inline style): the base, then the console's own rules.
async fn stylesheet() -> impl IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        format!("{BASE_STYLE}\n{STYLE}"),
    )
}

fn page(title: &str, user: Option<&StaffMember>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (title) " — Stufe console" }
                link rel="stylesheet" href="/console/style.css";
            }
            body {
                header {
                    strong { "Stufe" }
                    @if let Some(user) = user {
                        a href="/console" { "Queue" }
                        a href="/console/kb" { "Knowledge base" }
                        a href="/console/saved-replies" { "Saved replies" }
                        a href="/console/kpis" { "KPIs" }
                        a href="/console/sites" { "Sites" }
                        @if user.role == "admin" { a href="/console/staff" { "Staff" } a href="/console/errors" { "Widget errors" } }
                        a href="/console/password" { "Settings" }
                        span.who { (user.name) " (" (user.role) ")" }
                        form.inline method="post" action="/console/logout" { (csrf::field()) button { "Log out" } }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// A time in the agent's time zone (an IANA name; UTC when unknown).
fn format_time(ms: i64, timezone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(at) => at
            .to_zoned_datetime(tz)
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string(),
        Err(_) => "–".into(),
    }
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response()
}

// ---- the live queue ----

/// Refreshes the queue table in place when a ticket on one of the agent's
/// sites changes (server-sent events), without reloading the page.
const LIVE_SCRIPT: &str = r#"(function () {
  "use strict";
  if (!window.EventSource || !document.querySelector("[data-testid=queue]")) return;
  var waiting = false;
  new EventSource("/console/events").addEventListener("queue", function () {
    if (waiting) return;
    waiting = true;
    setTimeout(function () {
      waiting = false;
      fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-testid=queue]");
        var shown = document.querySelector("[data-testid=queue]");
        if (fresh && shown) shown.replaceWith(fresh);
      });
    }, 300);
  });
})();
"#;

async fn live_script() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        LIVE_SCRIPT,
    )
}

/// `queue` events whenever a ticket on one of the agent's sites changes;
/// the stream ends when the server shuts down.
async fn queue_events(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
) -> axum::response::sse::Sse<
    impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
> {
    use futures_util::StreamExt;
    let changes = state.hub.watch_tickets();
    let events = futures_util::stream::unfold(changes, move |mut changes| {
        let user = user.clone();
        async move {
            loop {
                match changes.recv().await {
                    Ok(site) if !user.works_on(site.as_str()) => continue,
                    Ok(site) => {
                        let event = axum::response::sse::Event::default()
                            .event("queue")
                            .data(site.as_str());
                        return Some((Ok(event), changes));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let event = axum::response::sse::Event::default()
                            .event("queue")
                            .data("*");
                        return Some((Ok(event), changes));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    })
    .take_until(state.shutdown.clone().cancelled_owned());
    axum::response::sse::Sse::new(events).keep_alive(axum::response::sse::KeepAlive::default())
}

// ---- login ----

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Percent-encodes a path for a query value.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where to go after logging in: a console page of this server, else the queue.
fn safe_next(next: &str) -> &str {
    let console_page =
        (next == "/console" || next.starts_with("/console/") || next.starts_with("/console?"))
            && !next.contains("//")
            && !next.contains('\\')
            && !next.starts_with("/console/logout");
    if console_page {
        next
    } else {
        "/console"
    }
}

async fn login_page(Query(q): Query<NextQuery>) -> Markup {
    login_form(None, safe_next(&q.next))
}

fn login_form(error: Option<&str>, next: &str) -> Markup {
    page(
        "Log in",
        None,
        html! {
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form.card method="post" action="/console/login" { (csrf::field())
                input type="hidden" name="next" value=(next);
                p { label { "Login " input name="login" autocomplete="username" required autofocus; } }
                p { label { "Password " input type="password" name="password" autocomplete="current-password" required; } }
                button { "Log in" }
            }
        },
    )
}

async fn login(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let address = state.client_ip(&parts);
    let next = safe_next(&form.next);
    match auth::log_in(&state, &form.login, &form.password, address).await? {
        auth::LoginOutcome::LoggedIn(token) => Ok((
            StatusCode::SEE_OTHER,
            [
                (LOCATION, next.to_owned()),
                (SET_COOKIE, auth::session_cookie(&token, state.is_https())),
            ],
        )
            .into_response()),
        auth::LoginOutcome::Wrong => Ok((
            StatusCode::UNAUTHORIZED,
            login_form(Some("Wrong login or password."), next),
        )
            .into_response()),
        auth::LoginOutcome::Throttled(throttled) => {
            let secs = throttled.retry_after_secs();
            let (status, message) = match throttled {
                auth::Throttled::Locked { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Too many failed logins. Try again in {secs} seconds."),
                ),
                auth::Throttled::Busy { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "The server is busy checking other logins. Try again in {secs} seconds."
                    ),
                ),
            };
            Ok((
                status,
                [(axum::http::header::RETRY_AFTER, secs.to_string())],
                login_form(Some(&message), next),
            )
                .into_response())
        }
    }
}

async fn logout(State(state): State<AppState>, parts: Parts) -> Result<Response, AppError> {
    if let Some(token) = session_token(&parts) {
        let hash = token_hash(&token);
        storage::blocking(&state.storage, move |s| s.delete_session(&hash)).await?;
    }
    Ok((
        StatusCode::SEE_OTHER,
        [
            (LOCATION, "/console/login".to_owned()),
            (SET_COOKIE, auth::clear_session_cookie(state.is_https())),
        ],
    )
        .into_response())
}

// ---- the queue ----

#[derive(Deserialize)]
struct QueueQuery {
    /// A status, `all`, or (absent) the active ones: new, open, pending.
    status: Option<String>,
    tier: Option<String>,
    #[serde(default)]
    page: usize,
}

/// Tickets per queue page.
const QUEUE_PAGE: usize = 50;

/// How urgent a ticket's first response is: overdue first, then due within
/// the hour, then the rest; answered ones last.
fn urgency(t: &crate::storage::TicketSummary, now: i64) -> (u8, i64) {
    match (t.first_response_at, t.first_response_due) {
        (None, Some(due)) if due < now => (0, due),
        (None, Some(due)) if due < now + 3_600_000 => (1, due),
        (None, Some(due)) => (2, due),
        (None, None) => (2, i64::MAX),
        (Some(_), _) => (3, t.updated_at),
    }
}

async fn queue(
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

// ---- one ticket ----

/// How many of the customer's other requests the ticket page lists.
const CUSTOMER_HISTORY: u32 = 20;

async fn ticket_page(
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
                @if let Some(email) = &ticket.email { " · " (email)
                    @if confirmed.as_ref() == Some(email) { " " span data-testid="email-state" { "(confirmed)" } }
                    @else { " " span data-testid="email-state" title="The customer has not confirmed this address: replies are not emailed to it (they see them in the widget)." { "(not confirmed: replies are not emailed)" } } }
                @if let Some(r) = &ticket.rating { " · rated " strong { (r.score) "/5" } } }
            div.card { (ticket.description) }
            @for m in &ticket.messages {
                div.card.staff[m.author == Author::Staff] data-testid="console-message" {
                    small { @if m.author == Author::Customer { (customer_name) } @else { (m.name) } " · " (format_time(m.at, &user.timezone)) } p { (m.body) }
                }
            }
            // One form: a reply typed here survives changing status, tier or assignee.
            form.card method="post" action={ "/console/tickets/" (id) "/update" } { (csrf::field())
                p { label { "Reply to the customer" textarea name="body" rows="4" placeholder="Sent to the customer (and by email, if they gave one)" {} } }
                @if !saved.is_empty() {
                    p { label { "Saved reply (added after what you typed) " select name="saved_reply" data-testid="saved-reply" {
                        option value="" { "none" }
                        @for r in &saved { option value=(r.id) { (r.title) } } } } }
                }
                p {
                    label { "Status " select name="status" { @for s in Status::ALL { option value=(s.as_str()) selected[*s == ticket.status] { (s.as_str()) } } } }
                    " " label { "Tier " select name="tier" { @for t in 1..=3u8 { option value=(t) selected[t == ticket.tier.get()] { "tier " (t) } } } }
                    " " label { "Assigned to " select name="assignee" {
                        option value="" { "nobody" }
                        @for m in &colleagues { option value=(m.id) selected[assignee == Some(m.id)] { (m.name) } } } }
                }
                p { label { "Internal note (staff only; with a tier or assignee change it is the hand-off note)"
                    textarea name="note" rows="2" data-testid="note" {} } }
                button data-testid="save-ticket" { "Save" }
            }
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

async fn revoke_links(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    requests::revoke_links(&state, &user, ticket_id(&id)?).await?;
    Ok(see_other(&format!("/console/tickets/{id}")))
}

#[derive(Deserialize)]
struct UpdateForm {
    status: Status,
    tier: u8,
    #[serde(default)]
    body: String,
    /// Absent in older forms: assignment unchanged.
    assignee: Option<String>,
    #[serde(default)]
    note: String,
    /// A saved reply's id, added to the reply.
    #[serde(default)]
    saved_reply: String,
}

async fn ticket_update(
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
        body.push_str(&reply.body);
    }
    if !body.is_empty() {
        requests::reply(&state, &user, ticket, body).await?;
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
        priority: None,
        assignee,
        note: Some(form.note).filter(|n| !n.trim().is_empty()),
    };
    requests::update(&state, &user, ticket, update).await?;
    Ok(see_other(&format!("/console/tickets/{id}")))
}

#[derive(Deserialize)]
struct ReplyForm {
    body: String,
}

async fn ticket_reply(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, AppError> {
    requests::reply(&state, &user, ticket_id(&id)?, form.body).await?;
    Ok(see_other(&format!("/console/tickets/{id}")))
}

// ---- knowledge base: drafts ----

fn draft_key(site: &str, id: &str) -> String {
    format!("draft:{site}:{id}")
}

fn new_draft_id(title: &str) -> String {
    let slug: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|w| !w.is_empty())
        .take(6)
        .collect::<Vec<_>>()
        .join("-");
    // Article ids are at most 64 characters: the slug leaves room for "-" and the suffix.
    let slug = slug[..slug.len().min(55)].trim_end_matches('-');
    let suffix = hex::encode(rand::random::<[u8; 4]>());
    if slug.is_empty() {
        format!("article-{suffix}")
    } else {
        format!("{slug}-{suffix}")
    }
}

async fn store_draft(
    state: &AppState,
    site: &str,
    id: &str,
    doc: &mut automerge::AutoCommit,
) -> Result<(), AppError> {
    // Another server may have stored the draft since it was loaded here:
    // what it stored is merged in, never overwritten.
    let (key, mut doc) = (draft_key(site, id), doc.clone());
    storage::blocking(&state.storage, move |s| loop {
        let stored = s.document(&key)?;
        let after = stored.as_ref().map_or(0, |d| d.seq);
        if let Some(stored) = stored {
            doc.load_incremental(&stored.bytes)
                .map_err(|err| storage::StorageError::Corrupt(err.to_string()))?;
        }
        let write = storage::DocWrite::Document {
            doc_id: key.clone(),
            bytes: storage::DocBytes::Snapshot(doc.save()),
            after,
        };
        match s.write_docs(&[write]) {
            Err(storage::StorageError::Conflict(_)) => continue,
            written => return written.map(drop),
        }
    })
    .await?;
    Ok(())
}

async fn load_draft(
    state: &AppState,
    site: &str,
    id: &str,
) -> Result<automerge::AutoCommit, AppError> {
    let key = draft_key(site, id);
    let stored = storage::blocking(&state.storage, move |s| s.document(&key))
        .await?
        .ok_or_else(|| AppError::not_found("no such draft"))?;
    automerge::AutoCommit::load(&stored.bytes)
        .map_err(|err| AppError::from(storage::StorageError::Corrupt(err.to_string())))
}

async fn create_draft(
    state: &AppState,
    user: &StaffMember,
    site: &str,
    fields: &DraftFields,
) -> Result<String, AppError> {
    let mut doc =
        drafts::create(fields, &user.name).map_err(|err| AppError::bad_request(err.to_string()))?;
    let _guard = state.drafts.lock().await;
    // An id no draft and no article of the site has yet: a new draft never
    // overwrites another's work, however alike their titles.
    let id = loop {
        let id = new_draft_id(&fields.title);
        let (key, site_key, wanted) = (draft_key(site, &id), site.to_owned(), id.clone());
        let taken = storage::blocking(&state.storage, move |s| {
            Ok(s.document(&key)?.is_some() || s.article_source(&site_key, &wanted)?.is_some())
        })
        .await?;
        if !taken {
            break id;
        }
    };
    store_draft(state, site, &id, &mut doc).await?;
    Ok(id)
}

async fn article_from_ticket(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let ticket = requests::ticket_for(&state, &user, ticket_id(&id)?).await?;
    let mut body = format!("## Problem\n\n{}\n\n## Solution\n\n", ticket.description);
    let answers = ticket
        .messages
        .iter()
        .filter(|m| m.author == Author::Staff && !m.id.starts_with(HANDOFF_PREFIX));
    for m in answers {
        body.push_str(&m.body);
        body.push_str("\n\n");
    }
    let site_locale = {
        let site = site_key(&ticket.site)?;
        state.site(&site).await?.map(|c| c.locale.clone())
    };
    let fields = DraftFields {
        title: ticket.subject.clone(),
        body,
        category: ticket.category.clone(),
        locale: site_locale.unwrap_or_else(|| "en".into()),
        tags: String::new(),
        source_tickets: ticket.id.clone(),
    };
    let draft = create_draft(&state, &user, &ticket.site, &fields).await?;
    Ok(see_other(&format!(
        "/console/drafts/{draft}?site={}",
        ticket.site
    )))
}

#[derive(Deserialize)]
struct SiteQuery {
    #[serde(default = "demo_site")]
    site: String,
}

fn demo_site() -> String {
    crate::seed::DEMO_SITE.to_owned()
}

async fn kb_page(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
) -> Result<Markup, AppError> {
    require_site(&user, &q.site)?;
    let site = site_key(&q.site)?.to_string();
    let (prefix, insight_site) = (format!("draft:{site}:"), site.clone());
    let docs = storage::blocking(&state.storage, move |s| s.documents_with_prefix(&prefix)).await?;
    let since = insights_since();
    let (top, zero, counts) = storage::blocking(&state.storage, move |s| {
        Ok((
            s.top_searches(&insight_site, false, 10)?,
            s.top_searches(&insight_site, true, 10)?,
            s.kb_counts(&insight_site, since)?,
        ))
    })
    .await?;
    let published_site = site.clone();
    let published: Vec<_> = storage::blocking(&state.storage, |s| s.published_versions())
        .await?
        .into_iter()
        .filter(|p| p.site == published_site)
        .collect();
    let drafts: Vec<(String, Draft)> = docs
        .into_iter()
        .filter_map(|(key, bytes)| {
            let id = key.rsplit(':').next()?.to_owned();
            Some((id, drafts::read(&automerge::AutoCommit::load(&bytes).ok()?)))
        })
        .collect();
    Ok(page(
        "Knowledge base",
        Some(&user),
        html! {
            form.card method="post" action={ "/console/drafts?site=" (site) } { (csrf::field())
                strong { "New draft " }
                input name="title" placeholder="Title" required data-testid="new-draft-title";
                select name="locale" aria-label="Language" { option value="en" { "English" } option value="de" { "Deutsch" } }
                input name="category" placeholder="Category" value="general" required;
                button data-testid="new-draft" { "Create" }
            }
            h2 { "Drafts and articles" }
            table {
                tr { th { "Title" } th { "Locale" } th { "Created by" } th { "State" } }
                @for (id, d) in &drafts {
                    tr {
                        td { a href={ "/console/drafts/" (id) "?site=" (site) } { (d.fields.title) } }
                        td { (d.fields.locale) } td { (d.created_by) }
                        td {
                            @if d.published_version > 0 { "published, version " (d.published_version) }
                            @else if d.proposed { strong { "proposed for publishing" } }
                            @else { "draft" }
                        }
                    }
                }
            }
            h2 { "Published articles" }
            p { small { "Every published article, however it was published (console or API), can be edited here: editing opens its draft (made from the published text if it has none), where it can be published again or unpublished." } }
            table data-testid="published" {
                tr { th { "Article" } th { "Locale" } th { "Version" } th { "Edit" } }
                @for p in &published {
                    tr {
                        td { a href={ "/api/sites/" (site) "/articles/" (p.id) } { (p.id) } }
                        td { (p.locale) } td { (p.version) }
                        td { form.inline method="post" action={ "/console/articles/" (p.id) "/edit?site=" (site) } { (csrf::field())
                            button data-testid={ "edit-" (p.id) } { "Edit" } } }
                    }
                }
            }
            h2 { "Self-service, last " (INSIGHT_DAYS) " days" }
            table data-testid="kb-counts" {
                tr { th { "Searches" } th { "… found nothing" } th { "Article views" } th { "Helpful yes / no" } th { "Deflections" } }
                tr {
                    td { (counts.searches) } td { (counts.zero_result_searches) } td { (counts.article_views) }
                    td { (counts.helpful_yes) " / " (counts.helpful_no) } td { (counts.deflections) }
                }
            }
            h2 { "Top searches" }
            ul { @for q in &top { li { (q.query) " — " (q.count) } } }
            h2 { "Searches that found nothing (articles to write)" }
            ul data-testid="zero-results" { @for q in &zero { li { (q.query) " — " (q.count) } } }
        },
    ))
}

#[derive(Deserialize)]
struct NewDraftForm {
    title: String,
    locale: String,
    category: String,
}

async fn new_draft(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
    Form(form): Form<NewDraftForm>,
) -> Result<Response, AppError> {
    require_site(&user, &q.site)?;
    let fields = DraftFields {
        title: form.title,
        body: String::new(),
        category: form.category,
        locale: form.locale,
        ..Default::default()
    };
    let id = create_draft(&state, &user, &q.site, &fields).await?;
    Ok(see_other(&format!("/console/drafts/{id}?site={}", q.site)))
}

async fn draft_page(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SiteQuery>,
) -> Result<Markup, AppError> {
    require_site(&user, &q.site)?;
    let doc = load_draft(&state, &q.site, &id).await?;
    let draft = drafts::read(&doc);
    let f = &draft.fields;
    Ok(page(
        &format!("Draft: {}", f.title),
        Some(&user),
        html! {
            @if draft.published_version > 0 { p { "Published as version " (draft.published_version) ". Publishing again makes a new version." } }
            form.card method="post" action={ "/console/drafts/" (id) "?site=" (q.site) } { (csrf::field())
                input type="hidden" name="base" value=(draft.heads.join(","));
                p { label { "Title " input name="title" value=(f.title) required size="60" data-testid="draft-title"; } }
                p { label { "Body (Markdown)" textarea name="body" rows="14" data-testid="draft-body" { (f.body) } } }
                p {
                    label { "Locale " select name="locale" {
                        option value="en" selected[f.locale == "en"] { "English" }
                        option value="de" selected[f.locale == "de"] { "Deutsch" } } }
                    " " label { "Category " input name="category" value=(f.category) required; }
                    " " label { "Tags " input name="tags" value=(f.tags); }
                }
                input type="hidden" name="source_tickets" value=(f.source_tickets);
                @if !f.source_tickets.is_empty() { p { small { "Written from ticket " (f.source_tickets) } } }
                button name="action" value="save" { "Save draft" }
                " "
                @if can_publish(&user) {
                    button name="action" value="publish" data-testid="publish" { "Publish" }
                } @else if draft.proposed {
                    small { "Proposed; tier-3 staff or an admin will review and publish it." }
                } @else {
                    button name="action" value="propose" data-testid="propose" { "Propose for publishing" }
                }
            }
            section.card data-testid="draft-preview" {
                h2 { "Preview — what customers will see" }
                p { small { "Markdown is formatted; HTML tags are shown as typed, never interpreted. Save to update the preview." } }
                // Sanitised by the same function that renders published articles.
                (PreEscaped(markdown::to_safe_html(&f.body)))
            }
            @if draft.published_version > 0 && can_publish(&user) {
                form.card method="post" action={ "/console/drafts/" (id) "/unpublish?site=" (q.site) } { (csrf::field())
                    button data-testid="unpublish" { "Unpublish" }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
struct DraftForm {
    base: String,
    title: String,
    body: String,
    locale: String,
    category: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    source_tickets: String,
    action: String,
}

async fn save_draft(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SiteQuery>,
    Form(form): Form<DraftForm>,
) -> Result<Response, AppError> {
    require_site(&user, &q.site)?;
    let base: Vec<automerge::ChangeHash> = form
        .base
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| {
            h.parse()
                .map_err(|_| AppError::bad_request("bad draft version"))
        })
        .collect::<Result<_, _>>()?;
    let fields = DraftFields {
        title: form.title,
        body: form.body,
        category: form.category,
        locale: form.locale,
        tags: form.tags,
        source_tickets: form.source_tickets,
    };
    let guard = state.drafts.lock().await;
    let mut doc = load_draft(&state, &q.site, &id).await?;
    drafts::edit(&mut doc, &base, &fields)
        .map_err(|err| AppError::new(StatusCode::CONFLICT, err.to_string()))?;
    store_draft(&state, &q.site, &id, &mut doc).await?;
    drop(guard);
    if form.action == "propose" {
        let _guard = state.drafts.lock().await;
        let mut doc = load_draft(&state, &q.site, &id).await?;
        drafts::propose(&mut doc).map_err(|err| AppError::bad_request(err.to_string()))?;
        store_draft(&state, &q.site, &id, &mut doc).await?;
    }
    if form.action == "publish" {
        let merged = drafts::read(&doc).fields;
        let submission = ArticleSubmission {
            site: q.site.clone(),
            locale: merged.locale,
            title: merged.title,
            body: merged.body,
            category: merged.category,
            tags: merged.tags.split_whitespace().map(str::to_owned).collect(),
            source_tickets: merged
                .source_tickets
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        };
        let published = publish_article(&state, &user, &article_id(&id)?, submission).await?;
        let _guard = state.drafts.lock().await;
        let mut doc = load_draft(&state, &q.site, &id).await?;
        drafts::mark_published(&mut doc, published.version)
            .map_err(|err| AppError::bad_request(err.to_string()))?;
        store_draft(&state, &q.site, &id, &mut doc).await?;
    }
    Ok(see_other(&format!("/console/drafts/{id}?site={}", q.site)))
}

async fn unpublish_draft(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SiteQuery>,
) -> Result<Response, AppError> {
    require_site(&user, &q.site)?;
    let site = site_key(&q.site)?;
    unpublish_article(&state, &user, &site, &article_id(&id)?).await?;
    let _guard = state.drafts.lock().await;
    let mut doc = load_draft(&state, &q.site, &id).await?;
    drafts::mark_published(&mut doc, 0).map_err(|err| AppError::bad_request(err.to_string()))?;
    store_draft(&state, &q.site, &id, &mut doc).await?;
    Ok(see_other(&format!("/console/drafts/{id}?site={}", q.site)))
}

/// Opens a published article in the draft editor: its draft if it has one,
/// else a new draft (under the article's id) made from the published text.
async fn edit_article(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SiteQuery>,
) -> Result<Response, AppError> {
    require_site(&user, &q.site)?;
    let article = article_id(&id)?;
    let key = draft_key(&q.site, article.as_str());
    let (site, wanted) = (q.site.clone(), article.as_str().to_owned());
    let (draft, source) = storage::blocking(&state.storage, move |s| {
        Ok((s.document(&key)?, s.article_source(&site, &wanted)?))
    })
    .await?;
    if draft.is_none() {
        let (article_now, markdown) =
            source.ok_or_else(|| AppError::not_found("no such published article"))?;
        let fields = DraftFields {
            title: article_now.title,
            body: markdown,
            category: article_now.category,
            locale: article_now.locale,
            tags: article_now.tags.join(" "),
            source_tickets: article_now.source_tickets.join(" "),
        };
        let mut doc = drafts::create(&fields, &user.name)
            .map_err(|err| AppError::bad_request(err.to_string()))?;
        drafts::mark_published(&mut doc, article_now.version)
            .map_err(|err| AppError::bad_request(err.to_string()))?;
        let _guard = state.drafts.lock().await;
        store_draft(&state, &q.site, article.as_str(), &mut doc).await?;
    }
    Ok(see_other(&format!(
        "/console/drafts/{}?site={}",
        article.as_str(),
        q.site
    )))
}

// ---- saved replies ----

async fn saved_replies_page(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
) -> Result<Markup, AppError> {
    let saved = crate::desk::saved_replies::saved_replies_of(&state, &user, &q.site).await?;
    Ok(page(
        "Saved replies",
        Some(&user),
        html! {
            p { "Replies the team sends often, for site " (q.site) ". Choose one under a ticket's reply box." }
            @for r in &saved {
                div.card data-testid="saved-reply-item" {
                    strong { (r.title) } p { (r.body) }
                    form.inline method="post" action={ "/console/saved-replies/" (r.id) "/delete?site=" (q.site) } { (csrf::field())
                        button { "Delete" }
                    }
                }
            }
            form.card method="post" action={ "/console/saved-replies?site=" (q.site) } { (csrf::field())
                p { label { "Title " input name="title" required maxlength="100"; } }
                p { label { "Reply" textarea name="body" rows="4" required {} } }
                button data-testid="add-saved-reply" { "Add" }
            }
        },
    ))
}

#[derive(Deserialize)]
struct SavedReplyForm {
    title: String,
    body: String,
}

async fn add_saved_reply(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
    Form(form): Form<SavedReplyForm>,
) -> Result<Response, AppError> {
    let new = crate::desk::saved_replies::NewReply {
        site: q.site.clone(),
        title: form.title,
        body: form.body,
    };
    crate::desk::saved_replies::add_saved_reply(&state, &user, new).await?;
    Ok(see_other(&format!(
        "/console/saved-replies?site={}",
        q.site
    )))
}

async fn delete_saved_reply(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<SiteQuery>,
) -> Result<Response, AppError> {
    require_site(&user, &q.site)?;
    let site = site_key(&q.site)?.to_string();
    storage::blocking(&state.storage, move |s| s.delete_saved_reply(&site, id)).await?;
    Ok(see_other(&format!(
        "/console/saved-replies?site={}",
        q.site
    )))
}

// ---- widget errors (admins) ----

async fn errors_page(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
) -> Result<Markup, AppError> {
    require_admin(&user, "widget errors")?;
    let errors = storage::blocking(&state.storage, |s| s.client_errors(None, 200)).await?;
    Ok(page(
        "Widget errors",
        Some(&user),
        html! {
            p { "Crashes that customers' widgets reported (at most one per page load), newest first." }
            @if errors.is_empty() {
                p data-testid="no-client-errors" { "No widget has reported an error." }
            } @else {
                table data-testid="client-errors" {
                    thead { tr { th { "When" } th { "Site" } th { "Version" } th { "Message" } th { "Browser" } } }
                    tbody {
                        @for e in &errors {
                            tr {
                                td { (format_time(e.at, &user.timezone)) }
                                td { (e.site) }
                                td { (e.version) }
                                td { code { (e.message) } }
                                td { small { (e.user_agent) } }
                            }
                        }
                    }
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_as_utc_dates() {
        assert_eq!(format_time(0, "UTC"), "1970-01-01 00:00 UTC");
        assert_eq!(
            format_time(1_795_330_254_000, "UTC"),
            "2026-11-22 06:50 UTC"
        );
        // In the agent's zone, daylight saving included.
        assert_eq!(
            format_time(1_795_330_254_000, "Europe/Berlin"),
            "2026-11-22 07:50 CET"
        );
        assert_eq!(
            format_time(1_784_000_000_000, "Europe/Berlin"),
            "2026-07-14 05:33 CEST"
        );
        assert_eq!(format_time(0, "Nowhere/Land"), "1970-01-01 00:00 UTC");
    }

    #[test]
    fn draft_ids_are_article_slugs() {
        let id = new_draft_id("Reset the Printer!");
        assert!(id.starts_with("reset-the-printer-"), "{id}");
        assert!(id.parse::<crate::kb::article::ArticleId>().is_ok());
        assert!(new_draft_id("???").starts_with("article-"));
        let long = new_draft_id(&"Donaudampfschifffahrtsgesellschaftskapitän ".repeat(6));
        assert!(
            long.parse::<crate::kb::article::ArticleId>().is_ok(),
            "{long}"
        );
    }
}
