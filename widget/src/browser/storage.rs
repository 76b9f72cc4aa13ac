//! `window.localStorage` as the widget's [`KeyValue`] store.

use crate::state::kv::KeyValue;

/// `localStorage`, or nothing when the browser gives the frame no storage
/// (third-party storage blocked, private modes). Failures are reported by
/// `set` returning false; the ticket book turns that into what the UI shows.
#[derive(Clone)]
pub struct LocalStorageKv(Option<web_sys::Storage>);

impl LocalStorageKv {
    /// The frame's storage, if it may keep anything: a probe write must succeed.
    pub fn open() -> Self {
        let storage = web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .filter(|s| {
                let probe = "stufe:probe";
                let writable = s.set_item(probe, "1").is_ok();
                let _ = s.remove_item(probe);
                writable
            });
        Self(storage)
    }

    pub fn is_available(&self) -> bool {
        self.0.is_some()
    }
}

impl KeyValue for LocalStorageKv {
    fn get(&self, key: &str) -> Option<String> {
        self.0.as_ref()?.get_item(key).ok()?
    }
    fn set(&self, key: &str, value: &str) -> bool {
        self.0
            .as_ref()
            .is_some_and(|s| s.set_item(key, value).is_ok())
    }
    fn remove(&self, key: &str) {
        if let Some(s) = &self.0 {
            let _ = s.remove_item(key);
        }
    }
}
