//! Crashes widgets report: `POST /api/sites/{site}/client-errors` (public,
//! size- and rate-limited), and the list for admins
//! (`GET /api/staff/client-errors`, and the console's errors page).

use std::collections::HashMap;
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

use super::kb::site_key;
use super::staff::Staff;
use crate::auth::require_admin;
use crate::error::AppError;
use crate::storage::{self, ClientError};
use crate::sync::hub::now_ms;
use crate::AppState;

/// A report body larger than this is refused with 413.
pub const MAX_REPORT_BYTES: usize = 8 * 1024;
/// At most this many reports per site are kept per [`WINDOW`]; more get 429.
pub const REPORTS_PER_WINDOW: u32 = 30;
pub const WINDOW: Duration = Duration::from_secs(60);

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/sites/{site}/client-errors",
            post(report).layer(DefaultBodyLimit::max(MAX_REPORT_BYTES)),
        )
        .route("/api/staff/client-errors", get(list))
}

/// Counts reports per site in fixed windows, so a crash loop on a busy site
/// (or a hostile client) cannot fill the database.
#[derive(Default)]
pub struct ReportLimiter {
    windows: Mutex<HashMap<SiteKey, (Instant, u32)>>,
}

impl ReportLimiter {
    fn allow(&self, site: &SiteKey, now: Instant) -> bool {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > 10_000 {
            windows.retain(|_, (started, _)| now.duration_since(*started) < WINDOW);
        }
        let (started, count) = windows.entry(site.clone()).or_insert((now, 0));
        if now.duration_since(*started) >= WINDOW {
            *started = now;
            *count = 0;
        }
        *count += 1;
        *count <= REPORTS_PER_WINDOW
    }
}

fn clip(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

async fn report(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Json(report): Json<ClientErrorReport>,
) -> Result<StatusCode, AppError> {
    let key = site_key(&site)?;
    state
        .site(&key)
        .await?
        .ok_or_else(|| AppError::not_found("unknown site"))?;
    if !state.client_error_limit.allow(&key, Instant::now()) {
        return Err(AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("at most {REPORTS_PER_WINDOW} reports a minute per site"),
        ));
    }
    let error = ClientError {
        site: key.to_string(),
        message: clip(&report.message, MAX_CLIENT_ERROR_MESSAGE_CHARS),
        version: clip(&report.version, MAX_CLIENT_ERROR_FIELD_CHARS),
        user_agent: clip(&report.user_agent, MAX_CLIENT_ERROR_FIELD_CHARS),
        at: now_ms(),
    };
    tracing::warn!(site = %error.site, version = %error.version, "a widget crashed: {}", error.message);
    storage::blocking(&state.storage, move |s| s.record_client_error(&error)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct ListQuery {
    site: Option<String>,
}

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
