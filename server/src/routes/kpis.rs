//! `GET /api/staff/kpis?site=demo&period=day|week`: a site's KPI report as
//! JSON (the console's KPI page shows the same, with charts and CSV).

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::auth::Staff;
use crate::desk::kpis::site_report;
use crate::error::AppError;
use crate::kpi::{Period, Report};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/staff/kpis", get(kpis))
}

#[derive(Deserialize)]
struct KpiQuery {
    site: String,
    #[serde(default)]
    period: Period,
}

#[utoipa::path(
    get,
    path = "/api/staff/kpis",
    tag = "staff",
    summary = "The support KPIs of a site",
    params(
        ("site" = String, Query, description = "The site key, e.g. `demo`"),
        ("period" = Option<String>, Query, description = "`day`, `week` (default) or `month`"),
    ),
    responses(
        (status = 200, description = "The KPI report", body = Object),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn kpis(
    Staff(member): Staff,
    State(state): State<AppState>,
    Query(q): Query<KpiQuery>,
) -> Result<Json<Report>, AppError> {
    Ok(Json(site_report(&state, &member, &q.site, q.period).await?))
}

/// This module's part of the staff API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(kpis))]
pub(super) struct Api;
