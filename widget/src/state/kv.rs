//! Where the widget keeps what must survive a reload: a string key-value store
//! (browser `localStorage` in the widget, a map in tests).

use std::cell::RefCell;
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
#[derive(Default, Clone)]
pub struct MemoryKv(Rc<RefCell<HashMap<String, String>>>);

impl KeyValue for MemoryKv {
    fn get(&self, key: &str) -> Option<String> {
        self.0.borrow().get(key).cloned()
    }
    fn set(&self, key: &str, value: &str) -> bool {
        self.0.borrow_mut().insert(key.to_owned(), value.to_owned());
        true
    }
    fn remove(&self, key: &str) {
        self.0.borrow_mut().remove(key);
    }
}
