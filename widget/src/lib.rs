//! Stufe's customer widget: Leptos (client-side rendering) compiled to wasm,
//! running inside an iframe that the `widget.js` loader puts on the host page.
//!
//! # Layout
//!
//! - [`state`]: plain-Rust stores and logic (tickets, sync client, persistence), tested natively.
//! - `i18n`: English and German texts.
//! - `ui` (wasm only): the root view state (signals owned by the page, not by a component).
//! - `browser` (wasm only): the controller, socket, storage, HTTP, loader messages and
//!   crash reporting; its module docs state the rule that keeps the widget panic-free.
//! - `components` (wasm only): one Leptos component per file.

pub mod i18n;
pub mod json;
pub mod state;

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
mod components;
#[cfg(target_arch = "wasm32")]
mod ui;

/// Entry point called by the wasm-bindgen glue when the module loads.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    browser::start();
}
