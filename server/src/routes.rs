//! HTTP and WebSocket routes, one module per area, each exposing its own `Router`.

mod assets;
pub mod client_errors;
mod console;
mod demo;
mod kb;
mod sites;
mod staff;
mod ws;

use axum::extract::Request;
use axum::http::header::{
    HeaderValue, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;

use crate::AppState;

/// The widget's frame page and files: its own scripts and styles only (wasm
/// needs `wasm-unsafe-eval`), its own server for data and the socket, images
/// in articles from https. Any site may frame it.
const FRAME_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'";

/// The staff console: nothing from elsewhere, no inline script or style, never framed.
const CONSOLE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Headers every response carries, and each area's Content-Security-Policy.
async fn security_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if path == "/console" || path.starts_with("/console/") {
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONSOLE_POLICY),
        );
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    } else if path.starts_with("/w/") {
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(FRAME_POLICY),
        );
    }
    response
}

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
        .layer(middleware::from_fn(security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
