//! Where the widget keeps what must survive a reload: IndexedDB when the
//! browser allows it (hundreds of megabytes, so large ticket documents fit),
//! else `localStorage` (about 5 MB), else nothing (the UI says so).
//!
//! [`BrowserKv`] is a synchronous [`KeyValue`] over either: with IndexedDB,
//! everything is read into memory once at start ([`open`]), reads come from
//! memory, and each write updates memory and is queued to IndexedDB. A write
//! IndexedDB refuses (quota) is reported by the next `set` returning false,
//! which the ticket book turns into the "not kept on this device" notice.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransactionMode};

use crate::state::kv::KeyValue;

const DB_NAME: &str = "stufe";
const STORE: &str = "kv";
/// Keys of this prefix are the widget's; only they are moved from localStorage.
const PREFIX: &str = "stufe:";

/// The widget's store, whichever the browser gives it.
#[derive(Clone)]
pub enum BrowserKv {
    Indexed(IndexedKv),
    Local(LocalStorageKv),
}

impl BrowserKv {
    /// Whether anything is kept across reloads at all.
    pub fn is_available(&self) -> bool {
        match self {
            BrowserKv::Indexed(_) => true,
            BrowserKv::Local(local) => local.is_available(),
        }
    }

    /// Waits until every write queued so far is on disk (IndexedDB writes
    /// are queued; localStorage writes are done when they return). Before
    /// the page reloads itself, or they may be lost.
    pub async fn flushed(&self) {
        if let BrowserKv::Indexed(kv) = self {
            kv.flushed().await;
        }
    }
}

impl KeyValue for BrowserKv {
    fn get(&self, key: &str) -> Option<String> {
        match self {
            BrowserKv::Indexed(kv) => kv.get(key),
            BrowserKv::Local(kv) => kv.get(key),
        }
    }
    fn set(&self, key: &str, value: &str) -> bool {
        match self {
            BrowserKv::Indexed(kv) => kv.set(key, value),
            BrowserKv::Local(kv) => kv.set(key, value),
        }
    }
    fn remove(&self, key: &str) {
        match self {
            BrowserKv::Indexed(kv) => kv.remove(key),
            BrowserKv::Local(kv) => kv.remove(key),
        }
    }
}

/// Opens the best store the browser allows.
pub async fn open() -> BrowserKv {
    match IndexedKv::open().await {
        Some(kv) => BrowserKv::Indexed(kv),
        None => BrowserKv::Local(LocalStorageKv::open()),
    }
}

/// IndexedDB, mirrored in memory.
#[derive(Clone)]
pub struct IndexedKv {
    db: IdbDatabase,
    cache: Rc<RefCell<HashMap<String, String>>>,
    /// A queued write failed and none has succeeded since.
    failed: Rc<Cell<bool>>,
}

/// Waits for an IndexedDB request; its result, or None if it failed.
async fn done(request: &IdbRequest) -> Option<JsValue> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    JsFuture::from(promise).await.ok()?;
    request.result().ok()
}

impl IndexedKv {
    async fn open() -> Option<Self> {
        let factory = web_sys::window()?.indexed_db().ok()??;
        let request = factory.open_with_u32(DB_NAME, 1).ok()?;
        let upgrade_request = request.clone();
        let on_upgrade = Closure::once_into_js(move |_: JsValue| {
            if let Some(db) = upgrade_request
                .result()
                .ok()
                .and_then(|r| r.dyn_into::<IdbDatabase>().ok())
            {
                if !db.object_store_names().contains(STORE) {
                    let _ = db.create_object_store(STORE);
                }
            }
        });
        request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
        let db: IdbDatabase = done(&request).await?.dyn_into().ok()?;
        let store = db
            .transaction_with_str(STORE)
            .ok()?
            .object_store(STORE)
            .ok()?;
        let keys = done(&store.get_all_keys().ok()?).await?;
        let values = done(&store.get_all().ok()?).await?;
        let (keys, values) = (js_sys::Array::from(&keys), js_sys::Array::from(&values));
        let mut cache = HashMap::with_capacity(keys.length() as usize);
        for (key, value) in keys.iter().zip(values.iter()) {
            if let (Some(key), Some(value)) = (key.as_string(), value.as_string()) {
                cache.insert(key, value);
            }
        }
        let kv = IndexedKv {
            db,
            cache: Rc::new(RefCell::new(cache)),
            failed: Rc::new(Cell::new(false)),
        };
        kv.adopt_local_storage();
        Some(kv)
    }

    /// Earlier versions kept everything in localStorage: move it over once.
    fn adopt_local_storage(&self) {
        let Some(local) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) else {
            return;
        };
        let length = local.length().unwrap_or(0);
        let keys: Vec<String> = (0..length)
            .filter_map(|i| local.key(i).ok().flatten())
            .filter(|k| k.starts_with(PREFIX))
            .collect();
        for key in keys {
            if self.cache.borrow().contains_key(&key) {
                continue;
            }
            if let Ok(Some(value)) = local.get_item(&key) {
                self.set(&key, &value);
                let _ = local.remove_item(&key);
            }
        }
    }

    /// Resolves once a read-write transaction queued after every earlier one
    /// completed: IndexedDB runs transactions over the same store in the
    /// order they were made, so every earlier write has completed then.
    async fn flushed(&self) {
        let Ok(tx) = self
            .db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
        else {
            return;
        };
        if let Ok(store) = tx.object_store(STORE) {
            let _ = store.count();
        }
        let finished = js_sys::Promise::new(&mut |resolve, _| {
            tx.set_oncomplete(Some(&resolve));
            tx.set_onabort(Some(&resolve));
            tx.set_onerror(Some(&resolve));
        });
        let _ = JsFuture::from(finished).await;
    }

    /// Queues a write; the transaction's outcome updates `failed`.
    fn write(&self, key: &str, value: Option<&str>) {
        let queued = (|| {
            let tx = self
                .db
                .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
                .ok()?;
            let store = tx.object_store(STORE).ok()?;
            match value {
                Some(value) => {
                    store.put_with_key(&JsValue::from_str(value), &JsValue::from_str(key))
                }
                None => store.delete(&JsValue::from_str(key)),
            }
            .ok()?;
            let ok = self.failed.clone();
            let on_complete = Closure::once_into_js(move |_: JsValue| ok.set(false));
            let failed = self.failed.clone();
            let on_abort = Closure::once_into_js(move |_: JsValue| failed.set(true));
            tx.set_oncomplete(Some(on_complete.unchecked_ref()));
            tx.set_onabort(Some(on_abort.unchecked_ref()));
            Some(())
        })();
        if queued.is_none() {
            self.failed.set(true);
        }
    }
}

impl KeyValue for IndexedKv {
    fn get(&self, key: &str) -> Option<String> {
        self.cache.borrow().get(key).cloned()
    }
    fn set(&self, key: &str, value: &str) -> bool {
        let earlier_failure = self.failed.get();
        self.cache
            .borrow_mut()
            .insert(key.to_owned(), value.to_owned());
        self.write(key, Some(value));
        !earlier_failure && !self.failed.get()
    }
    fn remove(&self, key: &str) {
        self.cache.borrow_mut().remove(key);
        self.write(key, None);
    }
}

/// `localStorage`, or nothing when the browser gives the frame no storage
/// (third-party storage blocked, private modes).
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
