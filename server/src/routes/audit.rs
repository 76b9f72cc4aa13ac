//! The audit trail for admins: `GET /api/staff/audit?staff=&action=&since=&until=&limit=`
//! — records newest first (`staff`: a staff id; `action`: a part of the
//! action, e.g. `login` or `export`; `since`/`until`: ms). There is no
//! route that changes or deletes a record.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};

use crate::auth::Staff;
use crate::desk::audit::audit_entries;
use crate::error::AppError;
use crate::storage::{AuditEntry, AuditFilter};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/staff/audit", get(list))
}

/// The filter as a query string gives it.
#[derive(serde::Deserialize, Default)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    pub staff: Option<i64>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub since: Option<i64>,
    #[serde(default)]
    pub until: Option<i64>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/staff/audit",
    tag = "staff",
    summary = "The audit trail, newest first (admins)",
    params(
        ("staff" = Option<i64>, Query, description = "Only this staff member's"),
        ("action" = Option<String>, Query, description = "Actions containing this text"),
        ("since" = Option<i64>, Query, description = "From (ms since 1970, inclusive)"),
        ("until" = Option<i64>, Query, description = "Until (ms, exclusive)"),
        ("limit" = Option<u32>, Query, description = "At most this many (default 500, at most 5,000)"),
    ),
    responses(
        (status = 200, description = "Records `{\"at\", \"staff\", \"staff_id\", \"source\", \"action\", \"target\", \"outcome\"}`", body = [Object]),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn list(
    Staff(member): Staff,
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    let filter = AuditFilter {
        staff_id: query.staff,
        action: query.action.filter(|a| !a.trim().is_empty()),
        since: query.since,
        until: query.until,
        limit: query.limit.unwrap_or(500),
    };
    Ok(Json(audit_entries(&state, &member, filter).await?))
}

/// This module's part of the staff API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list))]
pub(super) struct Api;
