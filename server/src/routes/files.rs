//! Attachments over HTTP (the documents only refer to them):
//!
//! * `POST /api/sites/{site}/tickets/{id}/files?name=` — the customer uploads
//!   (the raw bytes as the body; `Authorization: Bearer` the ticket's token or
//!   an email link's grant); answers the reference for a message
//! * `GET  /api/sites/{site}/tickets/{id}/files/{hash}?name=` — the customer reads one back
//! * `POST /api/staff/tickets/{id}/files?name=`, `GET /api/staff/tickets/{id}/files/{hash}?name=` — the same for staff
//!
//! Downloads are served so that no file can act as a page of this origin:
//! `nosniff`, a sandboxing policy, and `attachment` unless it is a picture.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use stufe_shared::files::{clean_name, is_image, MAX_FILE_BYTES};
use stufe_shared::ticket::FileRef;

use super::{site_key, ticket_id};
use crate::auth::Staff;
use crate::desk::attachments::{download, upload, Party, UploadError};
use crate::error::AppError;
use crate::files::FileError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/sites/{site}/tickets/{id}/files",
            post(customer_upload),
        )
        .route(
            "/api/sites/{site}/tickets/{id}/files/{hash}",
            get(customer_download),
        )
        .route("/api/staff/tickets/{id}/files", post(staff_upload))
        .route("/api/staff/tickets/{id}/files/{hash}", get(staff_download))
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    name: String,
}

/// The bearer credential (a ticket's token or a grant); 401 without one.
fn credential(headers: &HeaderMap) -> Result<String, AppError> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            AppError::new(
                StatusCode::UNAUTHORIZED,
                "send the ticket's token as `Authorization: Bearer TOKEN`",
            )
        })
}

/// The body, at most one byte over the limit (413 beyond).
async fn file_bytes(body: Body) -> Result<Vec<u8>, AppError> {
    axum::body::to_bytes(body, MAX_FILE_BYTES)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                FileError::TooLarge.to_string(),
            )
        })
}

impl From<UploadError> for AppError {
    fn from(err: UploadError) -> Self {
        let message = err.to_string();
        match err {
            UploadError::Desk(err) => err.into(),
            UploadError::File(FileError::TooLarge) | UploadError::TicketFull { .. } => {
                AppError::new(StatusCode::PAYLOAD_TOO_LARGE, message)
            }
            UploadError::File(FileError::NotAllowed) => {
                AppError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message)
            }
            UploadError::File(FileError::Empty | FileError::Unreadable(_)) => {
                AppError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
            }
        }
    }
}

async fn customer_upload(
    State(state): State<AppState>,
    Path((site, id)): Path<(String, String)>,
    Query(named): Query<Named>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<FileRef>), AppError> {
    let (site, ticket) = (site_key(&site)?, ticket_id(&id)?);
    let credential = credential(&headers)?;
    let bytes = file_bytes(body).await?;
    let party = Party::Customer {
        site: &site,
        credential: &credential,
    };
    let file = upload(&state, party, ticket, &named.name, bytes).await?;
    Ok((StatusCode::CREATED, Json(file)))
}

async fn customer_download(
    State(state): State<AppState>,
    Path((site, id, hash)): Path<(String, String, String)>,
    Query(named): Query<Named>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (site, ticket) = (site_key(&site)?, ticket_id(&id)?);
    let credential = credential(&headers)?;
    let party = Party::Customer {
        site: &site,
        credential: &credential,
    };
    let (file, bytes) = download(&state, party, ticket, &hash).await?;
    Ok(served(&file.mime, &named.name, bytes))
}

#[utoipa::path(
    post,
    path = "/api/staff/tickets/{id}/files",
    tag = "staff",
    summary = "Upload a file for a request (the raw file as the body)",
    params(
        ("id" = String, Path, description = "The request (ticket) id: 32 hex characters"),
        ("name" = String, Query, description = "The file's name"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes (at most 10 MB; images, PDF, text, office documents, archives; image location data is removed)"),
    responses(
        (status = 201, description = "The file reference to send with a reply: `{\"hash\", \"name\", \"mime\", \"size\"}`", body = Object),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
        (status = 413, description = "The file is larger than 10 MB, or the request would exceed 50 MB", body = crate::error::ErrorBody),
        (status = 415, description = "A file type that is not allowed (checked by its content)", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn staff_upload(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(named): Query<Named>,
    body: Body,
) -> Result<(StatusCode, Json<FileRef>), AppError> {
    let ticket = ticket_id(&id)?;
    let bytes = file_bytes(body).await?;
    let file = upload(&state, Party::Staff(&member), ticket, &named.name, bytes).await?;
    Ok((StatusCode::CREATED, Json(file)))
}

#[utoipa::path(
    get,
    path = "/api/staff/tickets/{id}/files/{hash}",
    tag = "staff",
    summary = "Download a file of a request",
    params(
        ("id" = String, Path, description = "The request (ticket) id: 32 hex characters"),
        ("hash" = String, Path, description = "The file's SHA-256, hex"),
        ("name" = Option<String>, Query, description = "The name to save it as"),
    ),
    responses(
        (status = 200, description = "The file (`Content-Disposition: attachment`, images inline)", content_type = "application/octet-stream"),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
async fn staff_download(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path((id, hash)): Path<(String, String)>,
    Query(named): Query<Named>,
) -> Result<Response, AppError> {
    let (file, bytes) = download(&state, Party::Staff(&member), ticket_id(&id)?, &hash).await?;
    Ok(served(&file.mime, &named.name, bytes))
}

/// A stored file as a response that cannot run as a page: its type as found
/// at upload, never sniffed; pictures inline, everything else a download;
/// sandboxed; cached privately (content-addressed: it never changes).
fn served(mime: &str, name: &str, bytes: Vec<u8>) -> Response {
    let name = clean_name(name).unwrap_or_else(|| "file".into());
    let disposition = if is_image(mime) {
        "inline"
    } else {
        "attachment"
    };
    let content_type = if mime == "text/plain" {
        "text/plain; charset=utf-8".to_owned()
    } else {
        mime.to_owned()
    };
    let header = |value: &str| HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static(""));
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, header(&content_type));
    headers.insert(
        CONTENT_DISPOSITION,
        header(&format!(
            "{disposition}; filename*=UTF-8''{}",
            rfc5987(&name)
        )),
    );
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; sandbox"),
    );
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// A file name as an RFC 5987 `filename*` value (UTF-8, percent-encoded
/// but for the characters it allows as they are).
fn rfc5987(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'!'
            | b'#'
            | b'$'
            | b'&'
            | b'+'
            | b'-'
            | b'.'
            | b'^'
            | b'_'
            | b'`'
            | b'|'
            | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_are_encoded_for_content_disposition() {
        assert_eq!(
            super::rfc5987("Rechnung März.pdf"),
            "Rechnung%20M%C3%A4rz.pdf"
        );
        assert_eq!(super::rfc5987("a;b'c\"d"), "a%3Bb%27c%22d");
    }
}

/// This module's part of the staff API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(staff_upload, staff_download))]
pub(super) struct Api;
