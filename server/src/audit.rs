//! Who made a staff request, for the audit trail: the HTTP layer puts an
//! empty [`AuditSlot`] into each request it records, the staff sign-in
//! (API token or console session) fills it with whom it found, and the
//! layer records the answered request under that name. A request nobody
//! signed in for is not recorded there (failed logins are, by the login).

use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct AuditSlot(Arc<Mutex<Option<(i64, String)>>>);

impl AuditSlot {
    /// The request is made by staff member `id`, `name`.
    pub fn signed_in(extensions: &axum::http::Extensions, id: i64, name: &str) {
        if let Some(slot) = extensions.get::<AuditSlot>() {
            *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((id, name.to_owned()));
        }
    }

    /// Whom the request was made by, if anyone signed in.
    pub fn who(&self) -> Option<(i64, String)> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
