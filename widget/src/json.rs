//! JSON text to typed values and back, for the wire's control frames, the
//! HTTP API and what the widget keeps in storage.
//!
//! In the browser the text is parsed and written by the browser's own
//! `JSON` and the values cross into Rust with `serde-wasm-bindgen`, so no
//! JSON parser or number formatter is compiled into the wasm. Natively (the
//! state tests) serde_json does the same job. Either way a text that is not
//! the expected shape is `None`, never a panic.

use serde::de::DeserializeOwned;
use serde::Serialize;

#[cfg(target_arch = "wasm32")]
pub fn from_str<T: DeserializeOwned>(text: &str) -> Option<T> {
    let value = js_sys::JSON::parse(text).ok()?;
    serde_wasm_bindgen::from_value(value).ok()
}

#[cfg(target_arch = "wasm32")]
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    // JSON-compatible: maps as plain objects, absent values as null, 64-bit
    // integers as numbers (timestamps in ms and counts are far below 2^53).
    let value = value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .ok()?;
    js_sys::JSON::stringify(&value).ok()?.as_string()
}

#[cfg(not(target_arch = "wasm32"))]
pub fn from_str<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_str(text).ok()
}

#[cfg(not(target_arch = "wasm32"))]
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}
