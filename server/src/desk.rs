//! The support desk: what staff do, as operations that the staff API, the
//! console and the automation rules all call. Handlers extract the
//! request, call one operation and answer; the rules a support organisation
//! depends on live here, tested without HTTP (`desk/tests.rs`).
//!
//! - [`requests`]: reading, changing, handing off and answering tickets,
//!   revoking their email links.
//! - [`attachments`]: uploading files for a ticket and reading them back.
//! - [`email_replies`]: a customer's answer by email, posted as their reply.
//! - [`accounts`]: staff accounts and passwords.
//! - [`automation`]: rules that route, assign, escalate and close by themselves.
//! - [`sites`]: setting sites up.
//! - [`saved_replies`]: a site's saved replies.
//! - [`webhooks`]: a site's webhook endpoints and their deliveries.
//! - [`kpis`]: a site's KPI report.
//! - [`publishing`]: publishing and unpublishing knowledge-base articles.
//! - [`presence`]: staff typing in and viewing a ticket, and what they see of the others.
//! - who may do what: [`require_site`], [`require_admin`], [`can_publish`].
//!
//! Operations return [`DeskError`]; the HTTP layer maps it to a status
//! (`crate::error`).

pub mod accounts;
pub mod attachments;
pub mod audit;
pub mod automation;
pub mod email_replies;
pub mod kpis;
pub mod presence;
pub mod privacy;
pub mod publishing;
pub mod requests;
pub mod saved_replies;
pub mod sites;
pub mod webhooks;

#[cfg(test)]
mod tests;

use crate::storage::{StaffMember, StorageError};
use crate::sync::HubError;

/// Why an operation did not happen (or, for [`DeskError::AfterCommit`],
/// happened only in part). The message is safe to show to the staff member.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// No such thing, or not on a site the staff member works on.
    #[error("{0}")]
    NotFound(String),
    /// The input breaks a rule; nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// The staff member's role or sites do not allow it; nothing was changed.
    #[error("{0}")]
    NotAllowed(String),
    /// It is taken already (a login, a site key); nothing was changed.
    #[error("{0}")]
    Conflict(String),
    /// The ticket change was committed, then a later step failed.
    #[error("{0}")]
    AfterCommit(String),
    #[error(transparent)]
    Hub(#[from] HubError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl DeskError {
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    pub fn not_allowed(message: impl Into<String>) -> Self {
        Self::NotAllowed(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    /// The input was refused (invalid, or taken): the sender can correct it.
    pub fn is_input_error(&self) -> bool {
        matches!(self, Self::Invalid(_) | Self::Conflict(_))
    }
}

/// The site `text` names; "unknown site" when it is not a site key.
pub fn site_key(text: &str) -> Result<stufe_shared::SiteKey, DeskError> {
    text.parse()
        .map_err(|_| DeskError::not_found("unknown site"))
}

/// The site `text` names, and its settings; "unknown site" when there is none.
pub async fn existing_site(
    state: &crate::AppState,
    text: &str,
) -> Result<
    (
        stufe_shared::SiteKey,
        std::sync::Arc<stufe_shared::site::SiteConfig>,
    ),
    DeskError,
> {
    let key = site_key(text)?;
    let config = state
        .site(&key)
        .await?
        .ok_or_else(|| DeskError::not_found("unknown site"))?;
    Ok((key, config))
}

/// Only staff of `site` (and admins) pass.
pub fn require_site(member: &StaffMember, site: &str) -> Result<(), DeskError> {
    if member.works_on(site) {
        Ok(())
    } else {
        Err(DeskError::not_allowed("you do not work on this site"))
    }
}

/// Only admins pass; `what` names what the others may not see.
pub fn require_admin(member: &StaffMember, what: &str) -> Result<(), DeskError> {
    if member.role == "admin" {
        Ok(())
    } else {
        Err(DeskError::not_allowed(format!("only admins see {what}")))
    }
}

/// Whether a staff member may publish, unpublish and version articles.
pub fn can_publish(member: &StaffMember) -> bool {
    matches!(member.role.as_str(), "tier3" | "admin")
}
