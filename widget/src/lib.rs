//! Stufe's customer widget: Leptos (client-side rendering) compiled to wasm,
//! running inside an iframe that the `widget.js` loader puts on the host page.
//!
//! # Layout
//!
//! - [`state`]: plain-Rust stores and logic (tickets, sync client, persistence), tested natively.
//! - `i18n`: English and German texts.
//! - `browser` (wasm only): localStorage, the WebSocket with reconnects, and the controller gluing them to signals.
//! - `components` (wasm only): one Leptos component per file.

pub mod i18n;
pub mod state;

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
mod components;

/// Entry point called by the wasm-bindgen glue when the module loads.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    browser::start();
}
