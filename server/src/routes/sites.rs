//! `GET /api/sites/{site}/config`: a site's public configuration for widgets.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use stufe_shared::site::SiteConfig;
use stufe_shared::SiteKey;

use crate::error::AppError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/sites/{site}/config", get(site_config))
}

async fn site_config(
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<SiteConfig>, AppError> {
    let key: SiteKey = site
        .parse()
        .map_err(|_| AppError::bad_request("bad site key"))?;
    let config = state.site(&key).await?;
    config
        .map(Json)
        .ok_or_else(|| AppError::not_found("unknown site"))
}
