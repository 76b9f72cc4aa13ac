//! The staff console: server-rendered pages (maud) with plain forms, behind a
//! login. Areas: the ticket queue, a ticket (reply, status, tier, "write
//! article"), the knowledge base (drafts, publishing, search insights), and
//! sites (settings, the tag to paste, allowed origins; in `console/sites.rs`).
//! This file holds the router, the page frame, the login extractor and the
//! helpers every page uses; each page group is a module of its own:
//! `live` (the queue's live updates), `login`, `queue`, `ticket`, `kb`,
//! `saved_replies`, `errors`, `sites`, `accounts`, `kpis`, and `csrf` (the
//! form-token guard).

use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;
use stufe_shared::ticket::{is_system_notice, Author, Priority, Status, Ticket};

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
mod attach;
mod audit;
mod automation;
pub(crate) mod csrf;
mod errors;
mod kb;
mod keys;
mod live;
mod login;
mod presence;
mod queue;
mod saved_replies;
mod ticket;
mod webhooks;

use errors::*;
use kb::*;
use live::*;
use login::*;
use queue::*;
use saved_replies::*;
use ticket::*;
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
        .route("/console/bulk", post(bulk))
        .route("/console/tickets/{id}", get(ticket_page))
        .route("/console/tickets/{id}/update", post(ticket_update))
        .route("/console/tickets/{id}/reply", post(ticket_reply))
        .route("/console/tickets/{id}/article", post(article_from_ticket))
        .route("/console/tickets/{id}/revoke-links", post(revoke_links))
        .route("/console/tickets/{id}/presence", get(presence::events))
        .route("/console/tickets/{id}/typing", post(presence::typing))
        .route("/console/presence.js", get(presence::script))
        .route("/console/attach.js", get(attach::script))
        .route("/console/saved.js", get(saved_script))
        .route("/console/keys.js", get(keys::script))
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
        .route("/console/audit", get(audit::audit_page))
        .route("/console/audit.csv", get(audit::audit_csv_file))
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
        .route("/console/sites/{site}/export", post(sites::export))
        .route("/console/sites/{site}/erase", post(sites::erase))
        .route(
            "/console/sites/{site}/automation",
            get(automation::show).post(automation::save),
        )
        .route(
            "/console/sites/{site}/webhooks",
            get(webhooks::show).post(webhooks::add),
        )
        .route(
            "/console/sites/{site}/webhooks/{id}/delete",
            post(webhooks::remove),
        )
        .route(
            "/console/sites/{site}/webhooks/deliveries/{id}/resend",
            post(webhooks::resend),
        )
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
            Ok(Some(member)) => {
                crate::audit::AuditSlot::signed_in(&parts.extensions, member.id, &member.name);
                Ok(ConsoleUser(member))
            }
            Ok(None) => Err(to_login()),
            Err(err) => Err(AppError::from(err).into_response()),
        }
    }
}

const STYLE: &str = ":root{--c-bg:#f6f7fb;--c-fg:#1d2433;--c-card:#fff;--c-line:#e3e6ee;--c-link:#0b57d0;--c-mine:#eef4ff;--c-muted:#475467;--c-error:#b42318}\
@media (prefers-color-scheme:dark){:root{color-scheme:dark;--c-bg:#15181e;--c-fg:#e7eaf0;--c-card:#1e222b;--c-line:#343b48;--c-link:#9cc1ff;--c-mine:#1f2d47;--c-muted:#aeb6c4;--c-error:#ff9c90;\
--background-body:#15181e;--background:#2a303b;--background-alt:#222731;--text-main:#e7eaf0;--text-bright:#fff;--text-muted:#aeb6c4;--links:#9cc1ff;--border:#434b5a;--code:#e7eaf0;--button-base:#3a4150;--button-hover:#4a5262;--form-placeholder:#8c95a5;--form-text:#e7eaf0;--select-arrow:url(\"data:image/svg+xml;charset=utf-8,%3Csvg xmlns='http://www.w3.org/2000/svg' height='63' width='117' fill='%23e7eaf0'%3E%3Cpath d='M115 2c-1-2-4-2-5 0L59 53 7 2a4 4 0 00-5 5l54 54 2 2 3-2 54-54c2-1 2-4 0-5z'/%3E%3C/svg%3E\")}}\
body{font:15px/1.45 system-ui,sans-serif;margin:0;max-width:none;padding:0;color:var(--c-fg);background:var(--c-bg)}\
header{display:flex;gap:16px;align-items:center;padding:10px 20px;background:#1d2433;color:#fff}\
header a,header strong{color:#fff}a{color:var(--c-link)}main{max-width:1000px;margin:20px auto;padding:0 20px}\
table{border-collapse:collapse;width:100%;background:var(--c-card)}td,th{border-bottom:1px solid var(--c-line);padding:6px 8px;text-align:left}\
.card{background:var(--c-card);border:1px solid var(--c-line);border-radius:8px;padding:12px 16px;margin:12px 0}\
.staff{background:var(--c-mine)}.notice{background:none;border-style:dashed;font-style:italic}.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap}.presence{min-height:1.45em;margin:4px 0;color:var(--c-muted);font-style:italic}.error{color:var(--c-error)}.due{color:var(--c-error);font-weight:600}\
input,select,textarea{font:inherit;padding:4px 6px}textarea{width:100%;box-sizing:border-box}select{padding-right:2.2em}label:has(>textarea){display:block}\
form.inline{display:inline-flex;gap:8px;align-items:center}tr.current{outline:2px solid var(--c-link)}dialog dt{font-weight:600}.who{margin-left:auto}\
.files{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:8px}.files .thumb{max-width:200px;max-height:150px;display:block}figure.chart{margin:12px 0;background:#fff;color:#1d2433;border:1px solid var(--c-line);border-radius:8px;padding:4px}figure.chart svg{max-width:100%;height:auto}";

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
                @if user.is_some() { script src="/console/keys.js" defer {} }
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
                        @if user.role == "admin" { a href="/console/staff" { "Staff" } a href="/console/errors" { "Widget errors" } a href="/console/audit" { "Audit" } }
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
