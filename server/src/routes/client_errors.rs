//! Crashes widgets report: `POST /api/sites/{site}/client-errors` (public,
//! size- and rate-limited, kept [`RETENTION_DAYS`]), and the list for admins
//! (`GET /api/staff/client-errors`, and the console's errors page).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use stufe_shared::http::{
    ClientErrorReport, MAX_CLIENT_ERROR_FIELD_CHARS, MAX_CLIENT_ERROR_MESSAGE_CHARS,
};
use stufe_shared::SiteKey;

use super::site_key;
use super::ClientIp;
use crate::auth::Staff;
use crate::clock::now_ms;
use crate::desk::require_admin;
use crate::error::AppError;
use crate::storage::{self, ClientError};
use crate::AppState;

/// A report body larger than this is refused with 413.
pub const MAX_REPORT_BYTES: usize = 8 * 1024;
/// At most this many reports per site are kept per [`WINDOW`]; more get 429.
pub const REPORTS_PER_WINDOW: u32 = 30;
/// At most this many of them from one client address (a /64 for IPv6), so
/// one client cannot use up its site's share and drown the real reports.
pub const REPORTS_PER_ADDRESS_WINDOW: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(60);
/// Reports older than this are deleted (hourly).
pub const RETENTION_DAYS: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/sites/{site}/client-errors",
            post(report).layer(DefaultBodyLimit::max(MAX_REPORT_BYTES)),
        )
        .route("/api/staff/client-errors", get(list))
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Counted {
    Site(SiteKey),
    Address(IpAddr),
}

/// Counts reports per site and per client address in fixed windows, so a
/// crash loop on a busy site (or a hostile client) cannot fill the database.
#[derive(Default)]
pub struct ReportLimiter {
    windows: Mutex<HashMap<Counted, (Instant, u32)>>,
}

impl ReportLimiter {
    /// Whether a report from `ip` for `site` is kept; a refused one counts
    /// against neither.
    fn allow(&self, site: &SiteKey, ip: IpAddr, now: Instant) -> Result<(), &'static str> {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > 10_000 {
            windows.retain(|_, (started, _)| now.duration_since(*started) < WINDOW);
        }
        let keys = [
            (
                Counted::Address(crate::limits::counted_as(ip)),
                REPORTS_PER_ADDRESS_WINDOW,
                "from one address",
            ),
            (Counted::Site(site.clone()), REPORTS_PER_WINDOW, "per site"),
        ];
        for (key, limit, whose) in &keys {
            if let Some((started, count)) = windows.get_mut(key) {
                if now.duration_since(*started) >= WINDOW {
                    *started = now;
                    *count = 0;
                }
                if *count >= *limit {
                    return Err(whose);
                }
            }
        }
        for (key, _, _) in keys {
            windows.entry(key).or_insert((now, 0)).1 += 1;
        }
        Ok(())
    }
}

/// Deletes the reports older than [`RETENTION_DAYS`]; how many.
pub async fn prune(state: &AppState) -> Result<usize, crate::storage::StorageError> {
    let before = now_ms() - RETENTION_DAYS * 86_400_000;
    storage::blocking(&state.storage, move |s| s.prune_client_errors(before)).await
}

fn clip(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

async fn report(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    Path(site): Path<String>,
    Json(report): Json<ClientErrorReport>,
) -> Result<StatusCode, AppError> {
    let key = site_key(&site)?;
    state
        .site(&key)
        .await?
        .ok_or_else(|| AppError::not_found("unknown site"))?;
    if let Err(whose) = state
        .client_error_limit
        .allow(&key, address, Instant::now())
    {
        return Err(AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many reports {whose}: at most {REPORTS_PER_ADDRESS_WINDOW} a minute from one address and {REPORTS_PER_WINDOW} per site"
            ),
        ));
    }
    let error = ClientError {
        site: key.to_string(),
        message: clip(&report.message, MAX_CLIENT_ERROR_MESSAGE_CHARS),
        version: clip(&report.version, MAX_CLIENT_ERROR_FIELD_CHARS),
        user_agent: clip(&report.user_agent, MAX_CLIENT_ERROR_FIELD_CHARS),
        at: now_ms(),
    };
    // Structured fields, debug-formatted: a CR or LF in a report cannot fake a log line.
    tracing::warn!(site = %error.site, version = ?error.version, message = ?error.message, "a widget crashed");
    storage::blocking(&state.storage, move |s| s.record_client_error(&error)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct ListQuery {
    site: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/staff/client-errors",
    tag = "staff",
    summary = "Crashes widgets reported, newest first (admins)",
    params(
        ("site" = Option<String>, Query, description = "Only this site"),
    ),
    responses(
        (status = 200, description = "Crash reports", body = [Object]),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn list(
    Staff(member): Staff,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<ClientError>>, AppError> {
    require_admin(&member, "client errors")?;
    let site = query.site.map(|s| site_key(&s)).transpose()?;
    let errors = storage::blocking(&state.storage, move |s| {
        s.client_errors(site.as_ref().map(SiteKey::as_str), 200)
    })
    .await?;
    Ok(Json(errors))
}

/// This module's part of the staff API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list))]
pub(super) struct Api;
