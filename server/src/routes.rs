//! HTTP and WebSocket routes, one module per area, each exposing its own `Router`.

mod assets;
pub mod client_errors;
mod console;
mod demo;
mod kb;
mod sites;
mod staff;
mod ws;

use axum::Router;

use crate::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ws::router())
        .merge(sites::router())
        .merge(client_errors::router())
        .merge(staff::router())
        .merge(kb::router())
        .merge(console::router())
        .merge(demo::router())
        .merge(assets::router(&state.config.site_dir))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
