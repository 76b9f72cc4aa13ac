//! HTTP and WebSocket routes, one module per area, each exposing its own `Router`.

mod accounts;
mod assets;
mod audit;
mod automation;
pub mod client_errors;
mod console;
mod demo;
mod email_confirm;
mod files;
mod kb;
mod kpis;
pub(crate) mod saved_replies;
mod sites;
pub(crate) mod staff;
pub(crate) mod webhooks;
mod ws;

use axum::extract::{Request, State};
use axum::http::header::{
    HeaderValue, CONTENT_SECURITY_POLICY, HOST, ORIGIN, REFERER, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use stufe_shared::{SiteKey, TicketId};

use crate::error::AppError;
use crate::sites as site_setup;
use crate::AppState;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;

/// The widget's frame page and files: its own scripts and styles only (wasm
/// needs `wasm-unsafe-eval`), its own server for data and the socket, images
/// in articles from https. The frame page adds the site's `frame-ancestors`.
const FRAME_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob: https:; connect-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'";

/// The staff console: nothing from elsewhere, no inline script or style, never framed.
const CONSOLE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The page that confirms a customer's email address: nothing but its own
/// stylesheet and its own form, never framed.
const CONFIRM_POLICY: &str = "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The site a request is for: `?site=` of the frame page and the socket, or
/// the `{site}` of `/api/sites/{site}/…`.
fn site_of(request: &Request) -> Option<SiteKey> {
    let uri = request.uri();
    if let Some(rest) = uri.path().strip_prefix("/api/sites/") {
        return rest.split('/').next()?.parse().ok();
    }
    uri.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("site="))?
        .parse()
        .ok()
}

/// The ticket a path names; "no such ticket" (404) when it is not an id.
pub(crate) fn ticket_id(text: &str) -> Result<TicketId, AppError> {
    text.parse()
        .map_err(|_| AppError::not_found("no such ticket"))
}

/// The site a path names; "unknown site" (404) when it is not a site key.
pub(crate) fn site_key(site: &str) -> Result<SiteKey, AppError> {
    site.parse()
        .map_err(|_| AppError::not_found("unknown site"))
}

/// The article a path names (400 when it is not an article id).
pub(crate) fn article_id(id: &str) -> Result<crate::kb::article::ArticleId, AppError> {
    id.parse()
        .map_err(|err: crate::kb::article::BadArticleId| AppError::bad_request(err.to_string()))
}

/// Whom a customer-data export is about: `sub` or `email` (query or form).
#[derive(serde::Deserialize)]
pub(crate) struct CustomerQuery {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

impl CustomerQuery {
    pub(crate) fn customer(self) -> Result<crate::desk::privacy::Customer, AppError> {
        // (A form sends both fields, the one not used empty.)
        let given = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        match (given(self.sub), given(self.email)) {
            (Some(sub), None) => Ok(crate::desk::privacy::Customer::Signed(sub)),
            (None, Some(email)) => Ok(crate::desk::privacy::Customer::Email(email)),
            _ => Err(AppError::bad_request(
                "name the customer by exactly one of `sub` and `email`",
            )),
        }
    }
}

/// A customer's data as a JSON file to download (staff API and console).
pub(crate) fn export_file(
    export: &crate::desk::privacy::CustomerExport,
) -> Result<Response, AppError> {
    let body = serde_json::to_vec_pretty(export)
        .map_err(|e| AppError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let name = format!("stufe-customer-{}-{}.json", export.site, export.exported_at);
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/json".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// The address the request came from (see [`crate::client_ip`]).
pub struct ClientIp(pub std::net::IpAddr);

impl axum::extract::FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(state.client_ip(parts)))
    }
}

fn header<'r>(request: &'r Request, name: &axum::http::HeaderName) -> Option<&'r str> {
    request.headers().get(name)?.to_str().ok()
}

/// A browser request to the socket or a site's API from a page of another
/// origin must come from one of the site's allowed origins. Requests without
/// `Origin` (not from a browser page) and from the server's own pages (the
/// widget frame) pass; an unknown site is left to the handler (404).
async fn check_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path != "/ws" && !path.starts_with("/api/sites/") {
        return next.run(request).await;
    }
    let (Some(origin), Some(site)) = (header(&request, &ORIGIN), site_of(&request)) else {
        return next.run(request).await;
    };
    if site_setup::is_same_origin(origin, header(&request, &HOST)) {
        return next.run(request).await;
    }
    match state.site(&site).await {
        Ok(Some(config)) if !config.allows_origin(origin) => AppError::new(
            StatusCode::FORBIDDEN,
            format!(
                "pages of {origin} may not use the site {site:?}: add the origin to the site's allowed origins in the Stufe console"
            ),
        )
        .into_response(),
        Ok(_) => next.run(request).await,
        Err(err) => AppError::from(err).into_response(),
    }
}

/// Headers every response carries, and each area's Content-Security-Policy.
/// The frame page may be framed only by the site's allowed origins; which
/// page origins loaded it is remembered for the console's "installed on".
async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let frame_of = if path == "/w/frame.html" {
        site_of(&request).map(|site| {
            let page = header(&request, &REFERER).and_then(site_setup::origin_of_url);
            // The server's own pages (the demo page, a link from an email)
            // may always frame the widget: not a refused origin.
            let own = page
                .as_deref()
                .is_some_and(|p| site_setup::is_same_origin(p, header(&request, &HOST)));
            (site, page, own)
        })
    } else {
        None
    };
    let mut response = next.run(request).await;
    let frame_policy = match &frame_of {
        _ if !path.starts_with("/w/") => String::new(),
        Some((site, page, own)) => {
            let config = state.site(site).await.ok().flatten();
            if let (Some(config), Some(page)) = (&config, page.as_deref()) {
                let allowed = *own || config.allows_origin(page);
                state
                    .installs
                    .record(site, page, allowed, crate::clock::now_ms());
            }
            format!(
                "{FRAME_POLICY}; {}",
                site_setup::frame_ancestors(config.as_deref())
            )
        }
        None if path == "/w/frame.html" => format!("{FRAME_POLICY}; frame-ancestors 'none'"),
        None => FRAME_POLICY.to_owned(),
    };
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
    } else if path.starts_with("/email/") {
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONFIRM_POLICY),
        );
    } else if path.starts_with("/w/") && (path.ends_with(".html") || path == "/w/sw.js") {
        // Only documents and workers obey a policy: the frame's scripts,
        // styles and wasm are sent without one, which every visitor's
        // first load would otherwise pay for on each of them.
        if let Ok(value) = HeaderValue::from_str(&frame_policy) {
            headers.insert(CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}

/// Records the staff requests that change or reveal customer data in the
/// audit trail (see `crate::audit`): every request to the staff API or the
/// console that a staff member signed in for, but for reading the console's
/// scripts, styles and live streams and for typing signals; after it was
/// answered, with its outcome. A record that cannot be stored is logged
/// (the request stands).
async fn audit_trail(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let staff_area =
        path.starts_with("/api/staff/") || path == "/console" || path.starts_with("/console/");
    let quiet_read = request.method() == axum::http::Method::GET
        && (path.ends_with(".js")
            || path.ends_with(".css")
            || path == "/console/events"
            || path.ends_with("/presence")
            || path == "/console/login");
    // Typing signals say nothing of customer data (and come every 2 s).
    let typing = path.ends_with("/typing");
    if !staff_area || quiet_read || typing {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let source = state.client_ip(&parts).to_string();
    let action = format!(
        "{} {}",
        parts.method,
        parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map_or(path.as_str(), |m| m.as_str())
    );
    let slot = crate::audit::AuditSlot::default();
    parts.extensions.insert(slot.clone());
    let response = next.run(Request::from_parts(parts, body)).await;
    if let Some((staff_id, staff)) = slot.who() {
        let entry = crate::storage::AuditEntry {
            at: crate::clock::now_ms(),
            staff,
            staff_id: Some(staff_id),
            source,
            action,
            target: path,
            outcome: response.status().as_u16(),
        };
        crate::desk::audit::record(&state, entry).await;
    }
    response
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ws::router())
        .merge(sites::router())
        .merge(client_errors::router())
        .merge(staff::router())
        .merge(files::router())
        .merge(accounts::router())
        .merge(audit::router())
        .merge(kb::router())
        .merge(kpis::router())
        .merge(saved_replies::router())
        .merge(webhooks::router())
        .merge(automation::router())
        .merge(openapi_router())
        .merge(console::router(state.clone()))
        .merge(demo::router())
        .merge(email_confirm::router())
        .merge(assets::router(&state.config.site_dir))
        .layer(middleware::from_fn_with_state(state.clone(), audit_trail))
        .layer(middleware::from_fn_with_state(state.clone(), check_origin))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Stufe staff API",
        description = "Read and work support requests, publish help articles and run sites. \
Send a staff member's API token as `Authorization: Bearer TOKEN` (or be signed in to the \
console). Bodies are JSON; every refusal answers `{\"error\": \"…\"}` with a 4xx status and \
changes nothing. Webhooks and their signatures: docs/integrate.md."
    ),
    components(schemas(crate::error::ErrorBody))
)]
struct Base;

/// The staff API as an OpenAPI 3.1 document, made from the
/// `#[utoipa::path]` annotation on each handler (every routes module adds
/// its part, `Api`). `tests/it/openapi.rs` checks it against the routes the
/// code registers: a staff route without a description fails the tests.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    for part in [
        staff::Api::openapi(),
        files::Api::openapi(),
        kb::Api::openapi(),
        kpis::Api::openapi(),
        accounts::Api::openapi(),
        audit::Api::openapi(),
        client_errors::Api::openapi(),
        saved_replies::Api::openapi(),
        sites::Api::openapi(),
        automation::Api::openapi(),
        webhooks::Api::openapi(),
    ] {
        doc.merge(part);
    }
    let scheme = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some("A staff member's API token"))
        .build();
    if let Some(components) = doc.components.as_mut() {
        components.add_security_scheme("staff_token", SecurityScheme::Http(scheme));
    }
    doc
}

/// `GET /api/staff/openapi.json`: the document (no credential needed).
fn openapi_router() -> Router<AppState> {
    let document = std::sync::Arc::new(openapi_document());
    Router::new().route(
        "/api/staff/openapi.json",
        axum::routing::get(move || {
            let document = document.clone();
            async move { axum::Json((*document).clone()) }
        }),
    )
}
