//! The widget's browser side: localStorage, the WebSocket (reconnecting with
//! backoff), the site config fetch, and the controller that connects the
//! [`crate::state`] logic to the UI's signals.

use std::cell::RefCell;

use leptos::prelude::*;
use stufe_shared::site::SiteConfig;
use stufe_shared::TicketId;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::components::app::App;
use crate::i18n::Lang;
use crate::state::kv::KeyValue;
use crate::state::sync_client::{Event, Outgoing, SyncClient};
use crate::state::tickets::{FormError, TicketBook, TicketForm, TicketView};

/// Which screen the widget shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    NewTicket,
    MyTickets,
    Thread(TicketId),
}

/// The reactive state the components read. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Ui {
    pub config: RwSignal<Option<SiteConfig>>,
    pub lang: RwSignal<Lang>,
    pub tickets: RwSignal<Vec<TicketView>>,
    pub online: RwSignal<bool>,
    pub notice: RwSignal<Option<String>>,
    pub screen: RwSignal<Screen>,
}

/// `window.localStorage`, with failures (private mode, quota) treated as "not stored".
pub struct LocalStorageKv(Option<web_sys::Storage>);

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

struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

struct Controller {
    book: TicketBook<LocalStorageKv>,
    sync: SyncClient,
    socket: Option<Socket>,
    ui: Ui,
    ws_url: String,
    retry_ms: i32,
}

thread_local! {
    static CONTROLLER: RefCell<Option<Controller>> = const { RefCell::new(None) };
}

fn with_controller<T>(f: impl FnOnce(&mut Controller) -> T) -> Option<T> {
    CONTROLLER.with(|c| c.borrow_mut().as_mut().map(f))
}

pub fn start() {
    let window = web_sys::window().expect("a window");
    let location = window.location();
    let params =
        web_sys::UrlSearchParams::new_with_str(&location.search().unwrap_or_default()).ok();
    let site = params
        .as_ref()
        .and_then(|p| p.get("site"))
        .unwrap_or_else(|| "demo".into());
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
    let kv = LocalStorageKv(window.local_storage().ok().flatten());
    let cached_config: Option<SiteConfig> = kv
        .get(&format!("stufe:{site}:config"))
        .and_then(|json| serde_json::from_str(&json).ok());
    let browser_lang = window
        .navigator()
        .language()
        .as_deref()
        .and_then(Lang::from_tag);
    let mut book = TicketBook::load(kv, &site);
    let ui = Ui {
        lang: RwSignal::new(
            browser_lang
                .or_else(|| {
                    cached_config
                        .as_ref()
                        .and_then(|c| Lang::from_tag(&c.locale))
                })
                .unwrap_or(Lang::En),
        ),
        config: RwSignal::new(cached_config),
        tickets: RwSignal::new(book.views()),
        online: RwSignal::new(false),
        notice: RwSignal::new(None),
        screen: RwSignal::new(Screen::NewTicket),
    };
    if !ui.tickets.get_untracked().is_empty() {
        ui.screen.set(Screen::MyTickets);
    }
    CONTROLLER.with(|c| {
        *c.borrow_mut() = Some(Controller {
            book,
            sync: SyncClient::default(),
            socket: None,
            ui,
            ws_url,
            retry_ms: 500,
        })
    });
    connect();
    let on_online = Closure::<dyn FnMut()>::new(|| {
        if with_controller(|c| c.socket.is_none()).unwrap_or(false) {
            connect();
        }
    });
    let _ = window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
    on_online.forget(); // lives as long as the page
    leptos::mount::mount_to_body(move || {
        provide_context(ui);
        view! { <App/> }
    });
    // Only after mounting: mounting sets up the executor that runs futures.
    leptos::task::spawn_local(load_config(site, ui, browser_lang));
}

async fn load_config(site: String, ui: Ui, browser_lang: Option<Lang>) {
    let url = format!("/api/sites/{}/config", js_sys::encode_uri_component(&site));
    let Some(text) = fetch_text(&url).await else {
        return;
    };
    let Ok(config) = serde_json::from_str::<SiteConfig>(&text) else {
        return;
    };
    with_controller(|c| {
        let key = format!("stufe:{}:config", c.book.site());
        c.book.kv().set(&key, &text)
    });
    if browser_lang.is_none() {
        if let Some(lang) = Lang::from_tag(&config.locale) {
            ui.lang.set(lang);
        }
    }
    ui.config.set(Some(config));
}

async fn fetch_text(url: &str) -> Option<String> {
    let window = web_sys::window()?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(url))
        .await
        .ok()?;
    let response: web_sys::Response = response.dyn_into().ok()?;
    if !response.ok() {
        return None;
    }
    let text = wasm_bindgen_futures::JsFuture::from(response.text().ok()?)
        .await
        .ok()?;
    text.as_string()
}

fn connect() {
    let Some(url) = with_controller(|c| c.ws_url.clone()) else {
        return;
    };
    let Ok(ws) = WebSocket::new(&url) else {
        schedule_reconnect();
        return;
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let on_open = Closure::<dyn FnMut()>::new(|| {
        with_controller(|c| {
            c.retry_ms = 500;
            c.ui.online.set(true);
            let out = c.sync.connected(&c.book);
            c.send_all(out);
        });
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        with_controller(|c| {
            let data = event.data();
            let (out, events) = if let Some(text) = data.as_string() {
                c.sync.on_text(&mut c.book, &text)
            } else if let Ok(buffer) = data.dyn_into::<js_sys::ArrayBuffer>() {
                let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                c.sync.on_binary(&mut c.book, &bytes)
            } else {
                return;
            };
            c.send_all(out);
            c.handle(events);
        });
    });
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(|_: CloseEvent| {
        with_controller(|c| {
            c.socket = None;
            c.sync.disconnected();
            c.ui.online.set(false);
        });
        schedule_reconnect();
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    with_controller(|c| {
        c.socket = Some(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    });
}

fn schedule_reconnect() {
    let Some(delay) = with_controller(|c| {
        let delay = c.retry_ms;
        c.retry_ms = (c.retry_ms * 2).min(5_000);
        delay
    }) else {
        return;
    };
    let retry = Closure::once_into_js(|| {
        if with_controller(|c| c.socket.is_none()).unwrap_or(false) {
            connect();
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(retry.unchecked_ref(), delay);
    }
}

impl Controller {
    fn send_all(&self, out: Vec<Outgoing>) {
        let Some(socket) = &self.socket else { return };
        for frame in out {
            // A failed send means the socket is closing; the sync resumes on reconnect.
            let _ = match frame {
                Outgoing::Text(text) => socket.ws.send_with_str(&text),
                Outgoing::Binary(bytes) => socket.ws.send_with_u8_array(&bytes),
            };
        }
    }

    fn handle(&mut self, events: Vec<Event>) {
        let mut changed = false;
        for event in events {
            match event {
                Event::Changed(_) => changed = true,
                Event::Refused { message, .. } => {
                    let prefix = self.ui.lang.get_untracked().texts().refused;
                    self.ui.notice.set(Some(format!("{prefix} {message}")));
                }
            }
        }
        if changed {
            self.refresh();
        }
    }

    fn refresh(&mut self) {
        self.ui.tickets.set(self.book.views());
    }

    fn local_change(&mut self, id: TicketId) {
        let out = self.sync.local_change(&mut self.book, id);
        self.send_all(out);
        self.refresh();
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    let crypto = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .expect("crypto is available");
    crypto
        .get_random_values_with_u8_array(&mut bytes)
        .expect("random values");
    bytes
}

pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Creates a ticket from the form; it is sent now or as soon as the widget is online.
pub fn submit_ticket(form: &TicketForm) -> Result<TicketId, FormError> {
    form.validate()?;
    let id = TicketId::from_bytes(random_bytes());
    let token = hex::encode(random_bytes::<32>());
    with_controller(|c| {
        let id = c.book.create(form, id, token)?;
        c.local_change(id);
        Ok(id)
    })
    .unwrap_or(Err(FormError::MissingSubject))
}

/// Appends the customer's reply to a ticket.
pub fn reply(id: TicketId, body: &str) -> bool {
    let message_id = hex::encode(random_bytes::<8>());
    with_controller(|c| {
        let name = c.ui.lang.get_untracked().texts().you;
        let sent = c.book.reply(id, message_id, name, body, now_ms());
        if sent {
            c.local_change(id);
        }
        sent
    })
    .unwrap_or(false)
}

pub fn draft() -> TicketForm {
    with_controller(|c| c.book.draft()).unwrap_or_default()
}

pub fn save_draft(form: &TicketForm) {
    with_controller(|c| c.book.save_draft(form));
}

pub fn reply_draft(id: TicketId) -> String {
    with_controller(|c| c.book.reply_draft(id)).unwrap_or_default()
}

pub fn save_reply_draft(id: TicketId, text: &str) {
    with_controller(|c| c.book.save_reply_draft(id, text));
}

pub fn is_connected() -> bool {
    with_controller(|c| c.sync.is_connected()).unwrap_or(false)
}

/// Asks the loader on the host page to close the widget.
pub fn close_widget() {
    if let Some(parent) = web_sys::window().and_then(|w| w.parent().ok().flatten()) {
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"stufe".into(), &"close".into());
        let _ = parent.post_message(&message, "*");
    }
}

/// A timestamp as local date and time in the widget's language.
pub fn format_time(ms: i64, lang: Lang) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    date.to_locale_string(lang.tag(), &options).into()
}
