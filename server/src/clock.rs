//! The time, in milliseconds since the epoch. A leaf: everything that needs
//! "now" reads it here, or takes a [`Clock`] so that tests can fix it.

use std::sync::Arc;

/// Milliseconds since the epoch; injected so tests can fix the time.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The wall clock, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// The wall clock as a [`Clock`].
pub fn system() -> Clock {
    Arc::new(now_ms)
}
