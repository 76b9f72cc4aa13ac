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

async fn kpis(
    Staff(member): Staff,
    State(state): State<AppState>,
    Query(q): Query<KpiQuery>,
) -> Result<Json<Report>, AppError> {
    Ok(Json(site_report(&state, &member, &q.site, q.period).await?))
}
