//! Where the widget keeps what must survive a reload: a string key-value store
//! (browser `localStorage` in the widget, a map in tests).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

pub trait KeyValue {
    fn get(&self, key: &str) -> Option<String>;
    /// Returns false when the store refused (e.g. quota exceeded).
    fn set(&self, key: &str, value: &str) -> bool;
    fn remove(&self, key: &str);
}

/// An in-memory store for tests. Clones share one map, as every page of a
/// browser shares its localStorage (so a clone stands for "after a reload").
/// [`MemoryKv::refuse_writes`] makes it behave like a full store.
#[derive(Default, Clone)]
pub struct MemoryKv {
    map: Rc<RefCell<HashMap<String, String>>>,
    refusing: Rc<Cell<bool>>,
}

impl MemoryKv {
    /// From now on every write is refused, as a browser does when its quota is used up.
    pub fn refuse_writes(&self, refuse: bool) {
        self.refusing.set(refuse);
    }

    /// Puts a raw value in place (for tests that plant damaged data).
    pub fn plant(&self, key: &str, value: &str) {
        self.map
            .borrow_mut()
            .insert(key.to_owned(), value.to_owned());
    }
}

impl KeyValue for MemoryKv {
    fn get(&self, key: &str) -> Option<String> {
        self.map.borrow().get(key).cloned()
    }
    fn set(&self, key: &str, value: &str) -> bool {
        if self.refusing.get() {
            return false;
        }
        self.map
            .borrow_mut()
            .insert(key.to_owned(), value.to_owned());
        true
    }
    fn remove(&self, key: &str) {
        self.map.borrow_mut().remove(key);
    }
}
