//! HTTP calls to the Stufe origin, with the typed bodies from
//! [`stufe_shared::http`]. Every call returns `None` on any failure (offline,
//! an error status, a body that does not parse); callers fall back to what
//! the device keeps.

use serde::de::DeserializeOwned;
use serde::Serialize;
use stufe_shared::http::{ClientErrorReport, Deflection, HelpfulVote, SearchResults};
use stufe_shared::site::SiteConfig;
use stufe_shared::Locale;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::state::knowledge::ArticleCopy;

fn enc(text: &str) -> String {
    js_sys::encode_uri_component(text).into()
}

async fn get_text(url: &str) -> Option<String> {
    let window = web_sys::window()?;
    let response = JsFuture::from(window.fetch_with_str(url)).await.ok()?;
    let response: web_sys::Response = response.dyn_into().ok()?;
    if !response.ok() {
        return None;
    }
    JsFuture::from(response.text().ok()?)
        .await
        .ok()?
        .as_string()
}

async fn get_json<T: DeserializeOwned>(url: &str) -> Option<T> {
    crate::json::from_str(&get_text(url).await?)
}

fn post_request(url: &str, body: &impl Serialize, keepalive: bool) -> Option<js_sys::Promise> {
    let window = web_sys::window()?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(&crate::json::to_string(body)?));
    let headers = web_sys::Headers::new().ok()?;
    headers.set("content-type", "application/json").ok()?;
    init.set_headers(&headers);
    // keepalive: the request outlives the page (a crash report sent while it dies).
    if keepalive {
        let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &true.into());
    }
    Some(window.fetch_with_str_and_init(url, &init))
}

async fn post_json(url: &str, body: &impl Serialize) -> Option<()> {
    JsFuture::from(post_request(url, body, false)?)
        .await
        .ok()
        .map(|_| ())
}

/// The site's public configuration, and its JSON for the offline cache.
pub async fn site_config(site: &str) -> Option<(SiteConfig, String)> {
    let text = get_text(&format!("/api/sites/{}/config", enc(site))).await?;
    let config = crate::json::from_str(&text)?;
    Some((config, text))
}

/// Why a file was not uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadRefused {
    /// Over 10 MiB, or the request's files would pass 50 MiB.
    TooLarge,
    /// Not a kind of file the server takes.
    NotAccepted,
    /// Offline, or the server failed: try again.
    Failed,
    /// Anything else, in the server's words.
    Other(String),
}

/// Uploads a file's bytes (`body`: a `File`, `Blob` or `Uint8Array`) named
/// `name` for ticket `id` with its token (or a link's grant); answers the
/// reference a message carries.
pub async fn upload_file(
    site: &str,
    id: stufe_shared::TicketId,
    credential: &str,
    name: &str,
    body: &JsValue,
) -> Result<stufe_shared::ticket::FileRef, UploadRefused> {
    let window = web_sys::window().ok_or(UploadRefused::Failed)?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(body);
    let headers = web_sys::Headers::new().map_err(|_| UploadRefused::Failed)?;
    headers
        .set("authorization", &format!("Bearer {credential}"))
        .map_err(|_| UploadRefused::Failed)?;
    init.set_headers(&headers);
    let url = format!(
        "/api/sites/{}/tickets/{id}/files?name={}",
        enc(site),
        enc(name)
    );
    let response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|_| UploadRefused::Failed)?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| UploadRefused::Failed)?;
    let status = response.status();
    let text = JsFuture::from(response.text().map_err(|_| UploadRefused::Failed)?)
        .await
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or_default();
    match status {
        201 => crate::json::from_str(&text).ok_or(UploadRefused::Failed),
        413 => Err(UploadRefused::TooLarge),
        415 => Err(UploadRefused::NotAccepted),
        500.. => Err(UploadRefused::Failed),
        _ => {
            #[derive(serde::Deserialize)]
            struct Refusal {
                error: String,
            }
            Err(crate::json::from_str::<Refusal>(&text)
                .map_or(UploadRefused::Failed, |r| UploadRefused::Other(r.error)))
        }
    }
}

/// A file of ticket `id` as a `blob:` URL (revoke it when done); None when
/// it cannot be had now.
pub async fn file_url(
    site: &str,
    id: stufe_shared::TicketId,
    credential: &str,
    hash: &str,
) -> Option<String> {
    let window = web_sys::window()?;
    let init = web_sys::RequestInit::new();
    let headers = web_sys::Headers::new().ok()?;
    headers
        .set("authorization", &format!("Bearer {credential}"))
        .ok()?;
    init.set_headers(&headers);
    let url = format!("/api/sites/{}/tickets/{id}/files/{}", enc(site), enc(hash));
    let response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .ok()?;
    let response: web_sys::Response = response.dyn_into().ok()?;
    if !response.ok() {
        return None;
    }
    let blob: web_sys::Blob = JsFuture::from(response.blob().ok()?)
        .await
        .ok()?
        .dyn_into()
        .ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

/// Whether the site's team is in, and how soon it typically answers.
pub async fn availability(site: &str) -> Option<stufe_shared::site::Availability> {
    get_json(&format!("/api/sites/{}/availability", enc(site))).await
}

pub async fn search(
    site: &str,
    query: &str,
    locale: Locale,
    record: bool,
) -> Option<SearchResults> {
    get_json(&format!(
        "/api/sites/{}/search?q={}&locale={locale}&record={record}",
        enc(site),
        enc(query),
    ))
    .await
}

pub async fn article(site: &str, id: &str) -> Option<ArticleCopy> {
    get_json(&format!("/api/sites/{}/articles/{}", enc(site), enc(id))).await
}

pub async fn vote(site: &str, article: &str, helpful: bool) -> Option<()> {
    let url = format!("/api/sites/{}/articles/{}/helpful", enc(site), enc(article));
    post_json(&url, &HelpfulVote { helpful }).await
}

pub async fn deflection(site: &str, article: String) -> Option<()> {
    let url = format!("/api/sites/{}/deflections", enc(site));
    post_json(&url, &Deflection { article }).await
}

/// Sends a crash report without waiting for the answer (the page may be dying).
pub fn report_client_error(site: &str, report: &ClientErrorReport) {
    let url = format!("/api/sites/{}/client-errors", enc(site));
    let _ = post_request(&url, report, true);
}
