//! The widget's static files, built by `cargo xtask build` into the site dir:
//! `/widget.js` (the loader; short cache, it is the URL site owners paste),
//! `/w/panel.js` (the rest of the loader, fetched by it; short cache too: a
//! loader of the release before finds it after a deploy) and `/w/*` (frame
//! page and service worker, always revalidated; hashed JS glue, wasm and CSS,
//! cached forever).
//! Pre-compressed `.br` and `.gz` siblings are served with `Content-Encoding`.

use std::path::Path;

use axum::extract::Request;
use axum::http::header::{HeaderName, HeaderValue, CACHE_CONTROL};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

use crate::AppState;

pub fn router(site_dir: &Path) -> Router<AppState> {
    let loader = ServeFile::new(site_dir.join("widget.js"))
        .precompressed_br()
        .precompressed_gzip();
    let assets = ServeDir::new(site_dir.join("w"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .route_service("/widget.js", loader)
        .nest_service("/w", assets)
        .layer(middleware::from_fn(cache_headers))
}

async fn cache_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let revalidate = path.ends_with(".html") || path == "/w/sw.js";
        let policy = if path == "/widget.js" || path == "/w/panel.js" {
            "public, max-age=300"
        } else if path.starts_with("/w/") && !revalidate {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(policy));
        // Public files: a host page may see their sizes and timings in its
        // own measurements (Resource Timing), as `cargo xtask bench` does.
        headers.insert(
            HeaderName::from_static("timing-allow-origin"),
            HeaderValue::from_static("*"),
        );
    }
    response
}
