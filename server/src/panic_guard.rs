//! Running a parser of untrusted bytes that may panic. The Automerge crate
//! (0.5.12) panics on some malformed changes instead of returning an error
//! (an op counter beyond `u32`, found by `cargo xtask fuzz`); a client must
//! get a clear refusal for those, not a dead connection, and must not be
//! able to fill the log with panic messages. [`catching`] runs such a call
//! and turns a panic into `None`; [`install_hook`] makes the panic hook
//! stay silent for those (and only those) panics. A leaf: nothing of sync
//! or HTTP.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`; None if it panicked. Only for code that reads bytes into new
/// values: whatever it was building when it panicked is dropped whole.
pub fn catching<T>(f: impl FnOnce() -> T) -> Option<T> {
    let was = GUARDED.with(|g| g.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    result.ok()
}

/// Wraps the current panic hook so that panics inside [`catching`] are not
/// reported (the caller reports them as refused input); every other panic
/// goes to the hook as before. Call once at start-up.
pub fn install_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !GUARDED.with(Cell::get) {
            previous(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_becomes_none_and_the_value_otherwise_comes_back() {
        assert_eq!(catching(|| 7), Some(7));
        assert_eq!(catching(|| -> u32 { u64::MAX.try_into().unwrap() }), None);
        // Nested calls keep the outer guard.
        assert_eq!(
            catching(|| catching(|| panic!("inner")).is_none()),
            Some(true)
        );
    }
}
