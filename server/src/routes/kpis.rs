//! `GET /api/staff/kpis?site=demo&period=day|week`: a site's KPI report as
//! JSON (the console's KPI page shows the same, with charts and CSV).

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::auth::Staff;
use crate::error::AppError;
use crate::kpi::{self, Period, Report};
use crate::routes::kb::site_key;
use crate::storage::{self, StaffMember};
use crate::sync::hub::now_ms;
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

async fn kpis(
    Staff(member): Staff,
    State(state): State<AppState>,
    Query(q): Query<KpiQuery>,
) -> Result<Json<Report>, AppError> {
    Ok(Json(site_report(&state, &member, &q.site, q.period).await?))
}

/// The report of `site` (staff of that site only).
pub(crate) async fn site_report(
    state: &AppState,
    user: &StaffMember,
    site: &str,
    period: Period,
) -> Result<Report, AppError> {
    crate::auth::require_site(user, site)?;
    let site = site_key(site)?.to_string();
    let tickets = storage::blocking(&state.storage, move |s| s.ticket_facts(&site, 0)).await?;
    Ok(kpi::report(
        &tickets,
        period,
        period.default_count(),
        now_ms(),
    ))
}
