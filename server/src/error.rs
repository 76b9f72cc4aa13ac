//! [`AppError`]: what every HTTP handler returns on failure. The client gets
//! a clear, sanitised message and the right status; the cause of a server
//! error is logged when the response is made (never in a conversion).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::storage::StorageError;
use crate::sync::HubError;

#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    message: String,
    /// What went wrong inside, for the log only.
    cause: Option<String>,
}

impl AppError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            cause: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// The request's content was refused (400, 409): the sender can correct it.
    pub fn is_input_error(&self) -> bool {
        matches!(self.status, StatusCode::BAD_REQUEST | StatusCode::CONFLICT)
    }

    /// What the client is told.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "a valid staff token is required")
    }
}

impl From<StorageError> for AppError {
    fn from(err: StorageError) -> Self {
        if let StorageError::Erased(_) = err {
            // Gone for good, at the customer's request: no such request.
            return Self::new(StatusCode::GONE, "this request was erased");
        }
        Self {
            cause: Some(format!("storage failed: {err}")),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; nothing was changed",
            )
        }
    }
}

impl From<HubError> for AppError {
    fn from(err: HubError) -> Self {
        match err {
            HubError::Storage(err) => err.into(),
            HubError::NotFound | HubError::Forbidden | HubError::OtherSite => {
                Self::not_found("no such ticket")
            }
            HubError::Rejected(_) | HubError::InvalidSyncMessage(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, err.to_string())
            }
            HubError::DocTooLarge => Self::new(StatusCode::PAYLOAD_TOO_LARGE, err.to_string()),
            HubError::RateLimited(_) => Self::new(StatusCode::TOO_MANY_REQUESTS, err.to_string()),
            HubError::Interrupted => Self::new(StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
        }
    }
}

impl From<crate::desk::DeskError> for AppError {
    fn from(err: crate::desk::DeskError) -> Self {
        use crate::desk::DeskError;
        match err {
            DeskError::NotFound(message) => Self::not_found(message),
            DeskError::Invalid(message) => Self::bad_request(message),
            DeskError::NotAllowed(message) => Self::new(StatusCode::FORBIDDEN, message),
            DeskError::Conflict(message) => Self::new(StatusCode::CONFLICT, message),
            DeskError::AfterCommit(message) => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
            }
            DeskError::Hub(err) => err.into(),
            DeskError::Storage(err) => err.into(),
        }
    }
}

/// What every refusal and failure of the API answers: `{"error": "…"}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person to read.
    pub error: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(status = %self.status, cause = ?cause, "request failed");
        }
        (
            self.status,
            Json(ErrorBody {
                error: self.message,
            }),
        )
            .into_response()
    }
}
