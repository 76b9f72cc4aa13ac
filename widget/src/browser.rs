//! The widget's browser side, split by what each part owns:
//!
//! - [`controller`]: the documents, the sync client and the socket in one
//!   page-owned `RefCell`, and the functions components call.
//! - `socket`: the WebSocket with reconnects; stale sockets are ignored.
//! - `storage`: IndexedDB (mirrored in memory) or `localStorage` as the key-value store.
//! - `http`: typed HTTP calls (bodies shared with the server via `stufe_shared::http`).
//! - `host`: messages to and from the loader (close, heartbeat, crash).
//! - `crash`: the panic hook and uncaught-error reporting.
//!
//! # The rule that keeps the widget alive
//!
//! A panic under `panic = "abort"` is a dead support panel, and Leptos panics
//! when a disposed signal is touched. So:
//!
//! 1. State that async work writes (socket callbacks, timers, fetches) is the
//!    root [`crate::ui::Ui`], created at start and owned by no component; it
//!    is written with `try_set`, after the controller's borrow has ended.
//! 2. A component that starts async work does so with
//!    `spawn_local_scoped_with_cancellation`, so the work is cancelled when the
//!    component (or the effect run that started it) is cleaned up, and reads
//!    or writes its own signals only with `try_*` accessors.
//! 3. The controller is never borrowed while a signal is written, and is
//!    borrowed with `try_borrow_mut`, so a re-entrant call is skipped, not a panic.
//! 4. No `expect`/`unwrap` on browser APIs: a missing `window`, `crypto` or
//!    storage degrades (no storage: the widget says tickets are not kept).

pub mod controller;
mod crash;
mod host;
mod http;
mod socket;
mod storage;

use leptos::prelude::*;
use stufe_shared::site::SiteConfig;
use stufe_shared::{Locale, SiteKey, TicketId};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::components::app::App;
use crate::i18n::Lang;
use crate::state::knowledge::KnowledgeBase;
use crate::state::kv::KeyValue;
use crate::state::sync_client::Docs;
use crate::state::tickets::TicketBook;
use crate::ui::{Screen, StorageState, Ui};
use controller::Controller;
use storage::BrowserKv;

pub use controller::{
    article, draft, file_access, has_file_token, is_connected, rate, reply_draft, reply_later,
    reply_with_files, save_draft, save_reply_draft, search, staff_messages, submit_ticket, typing,
    vote,
};
pub use host::request_close as close_widget;
pub use http::{file_url, upload_file, UploadRefused};
pub use socket::after as after_ms;

pub fn start() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let site =
        web_sys::UrlSearchParams::new_with_str(&window.location().search().unwrap_or_default())
            .ok()
            .and_then(|p| p.get("site"))
            .filter(|s| s.parse::<SiteKey>().is_ok())
            .unwrap_or_else(|| "demo".into());
    crash::install(&site);
    // The store is read once, asynchronously (IndexedDB), before anything shows.
    wasm_bindgen_futures::spawn_local(async move {
        let kv = storage::open().await;
        start_with(window, site, kv);
    });
}

fn start_with(window: web_sys::Window, site: String, kv: BrowserKv) {
    let location = window.location();
    let Ok(site_key) = site.parse::<SiteKey>() else {
        return;
    };
    let host = location.host().unwrap_or_default();
    let scheme = if location.protocol().ok().as_deref() == Some("https:") {
        "wss"
    } else {
        "ws"
    };
    let ws_url = format!(
        "{scheme}://{host}/ws?site={}",
        js_sys::encode_uri_component(&site)
    );
    let storage_available = kv.is_available();
    let cached_config: Option<SiteConfig> = kv
        .get(&format!("stufe:{site}:config"))
        .and_then(|json| crate::json::from_str(&json));
    let browser_lang = window
        .navigator()
        .language()
        .as_deref()
        .and_then(Lang::from_tag);
    let lang = browser_lang
        .or_else(|| {
            cached_config
                .as_ref()
                .and_then(|c| Lang::from_tag(&c.locale))
        })
        .unwrap_or(Lang::En);
    let locale = if lang == Lang::De {
        Locale::De
    } else {
        Locale::En
    };
    let mut docs = Docs {
        tickets: TicketBook::load(kv.clone(), &site),
        kb: KnowledgeBase::load(kv, site_key, locale),
    };
    let linked = ticket_link(&window);
    if let Some((id, grant)) = &linked {
        docs.tickets.adopt_link(*id, grant);
    }
    let tickets = docs.tickets.views();
    let shell = take_over_help_shell(&window);
    let start_screen = match (&linked, &shell) {
        (Some((id, _)), _) => Screen::Thread(*id),
        (
            _,
            HelpShell {
                article: Some(id), ..
            },
        ) => Screen::Article {
            id: id.clone(),
            suggested: false,
        },
        (_, HelpShell { query: Some(_), .. }) => Screen::Help,
        _ if tickets.is_empty() => Screen::Help,
        _ => Screen::MyTickets,
    };
    // Created before mounting, outside any component: these live as long as the page.
    let ui = Ui {
        lang: RwSignal::new(lang),
        config: RwSignal::new(cached_config),
        tickets: RwSignal::new(tickets),
        online: RwSignal::new(false),
        notice: RwSignal::new(None),
        screen: RwSignal::new(start_screen),
        kb: RwSignal::new(docs.kb.entries()),
        read_article: RwSignal::new(None),
        query: RwSignal::new(shell.query.unwrap_or_default()),
        // Opened on its own (a link from an email), not in a host page's frame.
        open: RwSignal::new(is_top_level(&window)),
        signed_in: RwSignal::new(docs.tickets.identity().is_some()),
        draft_version: RwSignal::new(0),
        nav_by_tab: RwSignal::new(false),
        staff_typing: RwSignal::new(None),
        availability: RwSignal::new(None),
        waiting: RwSignal::new(Vec::new()),
        storage: RwSignal::new(if storage_available {
            StorageState::Ok
        } else {
            StorageState::Unavailable
        }),
    };
    controller::install(Controller::new(docs, ws_url, storage_available), ui);
    // Replies that waited with their files when the page was left.
    if let Some(waiting) = controller::with(|c| c.waiting_views()) {
        ui.waiting.set(waiting);
    }
    controller::connect();
    host::listen(
        move |open| {
            if !open {
                controller::report_deflection();
            }
            ui.open.set(open);
        },
        move |command| match command {
            host::Command::ShowArticle(id) => ui.screen.set(Screen::Article {
                id,
                suggested: false,
            }),
            host::Command::Search(query) => {
                // Setting the screen it is on already would build the Help tab
                // again, and a new visit starts with an empty search.
                if ui.screen.get_untracked() != Screen::Help {
                    ui.screen.set(Screen::Help);
                }
                ui.query.set(query);
            }
            host::Command::Identify(token) => controller::identify(&token),
            host::Command::Prefill(json) => {
                if controller::prefill(&json) {
                    ui.draft_version.update(|v| *v += 1);
                }
            }
            host::Command::Logout => controller::logout(),
            host::Command::SetLocale(tag) => {
                if let Some(lang) = Lang::from_tag(&tag) {
                    ui.lang.set(lang);
                }
            }
        },
    );
    let on_online = Closure::<dyn FnMut()>::new(controller::on_online);
    let _ = window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
    on_online.forget(); // lives as long as the page
    leptos::mount::mount_to_body(move || {
        provide_context(ui);
        view! { <App/> }
    });
    track_unread_replies(ui, format!("stufe:{site}:seen-replies"));
    ask_availability_when_opened(ui, site.clone());
    // Only after mounting: mounting sets up the executor that runs futures.
    leptos::task::spawn_local(load_config(site, ui, browser_lang));
}

/// Keeps the launcher's badge: staff replies that arrived since the customer
/// last had the panel open. How many were seen is kept per site, so a reload
/// does not show old replies as new; on a device without that count, the
/// replies already there count as seen.
fn track_unread_replies(ui: Ui, seen_key: String) {
    fn staff_replies(tickets: &[crate::state::tickets::TicketView]) -> usize {
        tickets
            .iter()
            .flat_map(|t| &t.messages)
            .filter(|m| m.author == stufe_shared::ticket::Author::Staff)
            .count()
    }
    let stored = controller::with(|c| c.docs.tickets.kv().get(&seen_key))
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    let seen =
        StoredValue::new(stored.unwrap_or_else(|| ui.tickets.with_untracked(|t| staff_replies(t))));
    let announced = StoredValue::new(None::<(usize, Lang)>);
    // Staff replies per ticket, to tell the host page which ticket one arrived on.
    let per_ticket = StoredValue::new(replies_per_ticket(&ui.tickets.get_untracked()));
    Effect::new(move |_| {
        let now = ui.tickets.with(|t| replies_per_ticket(t));
        for (id, count) in &now {
            let before = per_ticket.with_value(|known| {
                known
                    .iter()
                    .find(|(known_id, _)| known_id == id)
                    .map(|(_, n)| *n)
            });
            if before.is_some_and(|b| b < *count) {
                host::announce_event("message", &id.to_string());
            }
        }
        per_ticket.set_value(now);
    });
    Effect::new(move |_| {
        let total = ui.tickets.with(|t| staff_replies(t));
        if ui.open.get() && seen.get_value() != total {
            seen.set_value(total);
            controller::with(|c| c.docs.tickets.kv().set(&seen_key, &total.to_string()));
        }
        let unread = total.saturating_sub(seen.get_value());
        let lang = ui.lang.get();
        if announced.get_value() != Some((unread, lang)) {
            announced.set_value(Some((unread, lang)));
            host::announce_unread(unread, &lang.texts().unread_label(unread));
        }
    });
}

/// Asks whether the team is in (and how soon it answers) each time the panel
/// opens, at most once a minute: visitors who never open it never ask.
fn ask_availability_when_opened(ui: Ui, site: String) {
    let asked_at = StoredValue::new(None::<i64>);
    Effect::new(move |_| {
        if !ui.open.get() {
            return;
        }
        let now = controller::now_ms();
        if asked_at.get_value().is_some_and(|at| now - at < 60_000) {
            return;
        }
        asked_at.set_value(Some(now));
        let site = site.clone();
        leptos::task::spawn_local(async move {
            if let Some(availability) = http::availability(&site).await {
                let _ = ui.availability.try_set(Some(availability));
            }
        });
    });
}

/// The ticket a link from an email opens: `#ticket=ID&grant=GRANT` (taken
/// out of the address, so it is not bookmarked or shared by accident).
fn ticket_link(window: &web_sys::Window) -> Option<(TicketId, String)> {
    let hash = window.location().hash().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(hash.strip_prefix('#')?).ok()?;
    let id = params.get("ticket")?.parse::<TicketId>().ok()?;
    let grant = params.get("grant").filter(|g| g.starts_with("g1."))?;
    if let Ok(history) = window.history() {
        let path = window.location().pathname().unwrap_or_default()
            + &window.location().search().unwrap_or_default();
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&path));
    }
    Some((id, grant))
}

/// Whether the widget runs in a window of its own rather than in a frame.
fn is_top_level(window: &web_sys::Window) -> bool {
    window
        .parent()
        .ok()
        .flatten()
        .is_none_or(|parent| js_sys::Object::is(&parent, window))
}

/// Staff replies on each ticket.
fn replies_per_ticket(
    tickets: &[crate::state::tickets::TicketView],
) -> Vec<(stufe_shared::TicketId, usize)> {
    tickets
        .iter()
        .map(|t| {
            let staff = t
                .messages
                .iter()
                .filter(|m| m.author == stufe_shared::ticket::Author::Staff)
                .count();
            (t.id, staff)
        })
        .collect()
}

/// What the customer did in the help shell (`widget/shell/help.js`, the Help
/// tab in plain JS that the frame shows while this wasm loads).
#[derive(Default)]
struct HelpShell {
    query: Option<String>,
    article: Option<String>,
}

/// Removes the help shell, if the frame shows one, and returns what the
/// customer searched or opened there, for the widget to carry on with.
fn take_over_help_shell(window: &web_sys::Window) -> HelpShell {
    let Some(element) = window
        .document()
        .and_then(|d| d.get_element_by_id("stufe-shell"))
    else {
        return HelpShell::default();
    };
    let attribute = |name: &str| element.get_attribute(name).filter(|v| !v.trim().is_empty());
    let shell = HelpShell {
        query: attribute("data-query"),
        article: attribute("data-article"),
    };
    element.remove();
    shell
}

async fn load_config(site: String, ui: Ui, browser_lang: Option<Lang>) {
    let Some((config, text)) = http::site_config(&site).await else {
        return;
    };
    controller::with(|c| {
        let key = format!("stufe:{site}:config");
        c.docs.tickets.kv().set(&key, &text)
    });
    if browser_lang.is_none() {
        if let Some(lang) = Lang::from_tag(&config.locale) {
            let _ = ui.lang.try_set(lang);
        }
    }
    let _ = ui.config.try_set(Some(config));
}

/// A timestamp as local date and time in the widget's language.
pub fn format_time(ms: i64, lang: Lang) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    date.to_locale_string(lang.tag(), &options).into()
}

/// Waits `ms` milliseconds (for debouncing input).
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Shows a notice that goes away by itself.
pub fn notify(text: String) {
    controller::show_notice(text);
}
