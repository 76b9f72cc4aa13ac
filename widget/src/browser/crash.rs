//! A crash is seen, not silent: a panic (or any uncaught error in the frame)
//! is logged to the console, reported once per page load to the server
//! (`POST /api/sites/{site}/client-errors`), and announced to the loader,
//! which reloads the frame once and after a second crash shows "Support is
//! unavailable". Unsent work is in storage, so a reload loses nothing.

use std::sync::atomic::{AtomicBool, Ordering};

use stufe_shared::http::ClientErrorReport;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::{host, http};

static REPORTED: AtomicBool = AtomicBool::new(false);

/// Installs the panic hook and the uncaught-error listeners. Called first
/// thing at start, so even a crash while starting is reported.
pub fn install(site: &str) {
    let hook_site = site.to_owned();
    std::panic::set_hook(Box::new(move |info| {
        let message = format!("panicked at {info}");
        web_sys::console::error_1(&format!("Stufe widget: {message}").into());
        report_once(&hook_site, message);
    }));
    let Some(window) = web_sys::window() else {
        return;
    };
    let error_site = site.to_owned();
    let on_error =
        Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |event: web_sys::ErrorEvent| {
            let message = format!(
                "uncaught error: {} ({}:{})",
                event.message(),
                event.filename(),
                event.lineno()
            );
            report_once(&error_site, message);
        });
    let _ = window.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
    on_error.forget(); // lives as long as the page
    let rejection_site = site.to_owned();
    let on_rejection = Closure::<dyn FnMut(web_sys::PromiseRejectionEvent)>::new(
        move |event: web_sys::PromiseRejectionEvent| {
            let reason = event
                .reason()
                .as_string()
                .or_else(|| {
                    js_sys::JSON::stringify(&event.reason())
                        .ok()
                        .and_then(|s| s.as_string())
                })
                .unwrap_or_default();
            report_once(&rejection_site, format!("unhandled rejection: {reason}"));
        },
    );
    let _ = window.add_event_listener_with_callback(
        "unhandledrejection",
        on_rejection.as_ref().unchecked_ref(),
    );
    on_rejection.forget();
}

fn report_once(site: &str, message: String) {
    if !REPORTED.swap(true, Ordering::SeqCst) {
        let user_agent = web_sys::window()
            .and_then(|w| w.navigator().user_agent().ok())
            .unwrap_or_default();
        let report = ClientErrorReport {
            message,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            user_agent,
        };
        http::report_client_error(site, &report);
    }
    host::announce_crash();
}
