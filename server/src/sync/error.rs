//! What can go wrong with a document: refused changes and access, limits,
//! storage failures; and the protocol error code a client is told for each.

use stufe_shared::protocol::{ErrorCode, MAX_TICKET_DOC_BYTES};

use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("not an automerge sync message: {0}")]
    InvalidSyncMessage(String),
    #[error("change rejected: {0}")]
    Rejected(String),
    #[error("this token does not open this ticket")]
    Forbidden,
    #[error("this document belongs to another site")]
    OtherSite,
    #[error("the document would exceed {MAX_TICKET_DOC_BYTES} bytes")]
    DocTooLarge,
    #[error("no such ticket")]
    NotFound,
    /// A new ticket over the sender's or the site's limit (nothing stored).
    #[error("{0}")]
    RateLimited(String),
    /// A change made in place was interrupted (its caller went away) before
    /// the document was put back; the next use loads it again.
    #[error("the document is being loaded again; try again")]
    Interrupted,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl HubError {
    pub fn code(&self) -> ErrorCode {
        match self {
            HubError::InvalidSyncMessage(_) => ErrorCode::InvalidSyncMessage,
            HubError::Rejected(_) => ErrorCode::RejectedChange,
            HubError::Forbidden | HubError::OtherSite | HubError::NotFound => ErrorCode::Forbidden,
            HubError::DocTooLarge => ErrorCode::DocTooLarge,
            HubError::RateLimited(_) => ErrorCode::RateLimited,
            HubError::Storage(StorageError::Erased(_)) => ErrorCode::Erased,
            HubError::Storage(_) | HubError::Interrupted => ErrorCode::Internal,
        }
    }
}
