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
use crate::state::knowledge::{ArticleCopy, KnowledgeBase};
use crate::state::kv::KeyValue;
use crate::state::sync_client::{Docs, Event, Outgoing, SyncClient};
use crate::state::tickets::{FormError, TicketBook, TicketForm, TicketView};
use stufe_shared::kb::CatalogueEntry;
use stufe_shared::{DocId, Locale, SiteKey};

/// Which screen the widget shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    Help,
    /// An article, and whether it was opened from the ticket form's suggestions.
    Article {
        id: String,
        suggested: bool,
    },
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
    /// The published knowledge base (synced, live).
    pub kb: RwSignal<Vec<CatalogueEntry>>,
    /// An article the customer read since the last ticket; reported as a
    /// deflection if the widget is closed without submitting one.
    pub read_article: RwSignal<Option<String>>,
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
    docs: Docs<LocalStorageKv>,
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
    let storage = window.local_storage().ok().flatten();
    let kv = LocalStorageKv(storage.clone());
    let cached_config: Option<SiteConfig> = kv
        .get(&format!("stufe:{site}:config"))
        .and_then(|json| serde_json::from_str(&json).ok());
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
    let site_key: SiteKey = site
        .parse()
        .unwrap_or_else(|_| "demo".parse().expect("a valid site key"));
    let locale = if lang == Lang::De {
        Locale::De
    } else {
        Locale::En
    };
    let mut docs = Docs {
        tickets: TicketBook::load(kv, &site),
        kb: KnowledgeBase::load(LocalStorageKv(storage), site_key, locale),
    };
    let ui = Ui {
        lang: RwSignal::new(lang),
        config: RwSignal::new(cached_config),
        tickets: RwSignal::new(docs.tickets.views()),
        online: RwSignal::new(false),
        notice: RwSignal::new(None),
        screen: RwSignal::new(Screen::Help),
        kb: RwSignal::new(docs.kb.entries()),
        read_article: RwSignal::new(None),
    };
    if !ui.tickets.get_untracked().is_empty() {
        ui.screen.set(Screen::MyTickets);
    }
    CONTROLLER.with(|c| {
        *c.borrow_mut() = Some(Controller {
            docs,
            sync: SyncClient::default(),
            socket: None,
            ui,
            ws_url,
            retry_ms: 500,
        })
    });
    connect();
    listen_for_host_close(&window);
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
        let key = format!("stufe:{}:config", c.docs.tickets.site());
        c.docs.tickets.kv().set(&key, &text)
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
            let out = c.sync.connected(&c.docs);
            c.send_all(out);
        });
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        with_controller(|c| {
            let data = event.data();
            let (out, events) = if let Some(text) = data.as_string() {
                c.sync.on_text(&mut c.docs, &text)
            } else if let Ok(buffer) = data.dyn_into::<js_sys::ArrayBuffer>() {
                let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                c.sync.on_binary(&mut c.docs, &bytes)
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
                Event::Changed(DocId::Kb { .. }) => self.ui.kb.set(self.docs.kb.entries()),
                Event::Changed(DocId::Ticket(_)) => changed = true,
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
        self.ui.tickets.set(self.docs.tickets.views());
    }

    fn local_change(&mut self, id: TicketId) {
        let out = self.sync.local_change(&mut self.docs, id);
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
        let id = c.docs.tickets.create(form, id, token)?;
        c.ui.read_article.set(None);
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
        let sent = c.docs.tickets.reply(id, message_id, name, body, now_ms());
        if sent {
            c.local_change(id);
        }
        sent
    })
    .unwrap_or(false)
}

pub fn draft() -> TicketForm {
    with_controller(|c| c.docs.tickets.draft()).unwrap_or_default()
}

pub fn save_draft(form: &TicketForm) {
    with_controller(|c| c.docs.tickets.save_draft(form));
}

pub fn reply_draft(id: TicketId) -> String {
    with_controller(|c| c.docs.tickets.reply_draft(id)).unwrap_or_default()
}

pub fn save_reply_draft(id: TicketId, text: &str) {
    with_controller(|c| c.docs.tickets.save_reply_draft(id, text));
}

pub fn is_connected() -> bool {
    with_controller(|c| c.sync.is_connected()).unwrap_or(false)
}

/// Asks the loader on the host page to close the widget (the loader answers
/// with `closed`, which reports a deflection if there is one).
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

/// The loader tells the frame when the host page closed the widget.
fn listen_for_host_close(window: &web_sys::Window) {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        let closed = js_sys::Reflect::get(&event.data(), &"stufe".into())
            .ok()
            .and_then(|v| v.as_string())
            .is_some_and(|v| v == "closed");
        if closed {
            report_deflection();
        }
    });
    let _ = window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    on_message.forget(); // lives as long as the page
}

/// The widget closed after the customer read an article and sent no ticket.
fn report_deflection() {
    let Some((site, ui)) = with_controller(|c| (c.docs.tickets.site().to_owned(), c.ui)) else {
        return;
    };
    let Some(article) = ui.read_article.get_untracked() else {
        return;
    };
    ui.read_article.set(None);
    let body = serde_json::json!({ "article": article }).to_string();
    leptos::task::spawn_local(async move {
        let _ = post_json(&format!("/api/sites/{site}/deflections"), &body).await;
    });
}

fn site() -> String {
    with_controller(|c| c.docs.tickets.site().to_owned()).unwrap_or_default()
}

/// The locale of the synced knowledge base.
pub fn kb_locale() -> Locale {
    with_controller(|c| c.docs.kb.locale()).unwrap_or(Locale::En)
}

async fn post_json(url: &str, body: &str) -> Option<()> {
    let window = web_sys::window()?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    let headers = web_sys::Headers::new().ok()?;
    headers.set("content-type", "application/json").ok()?;
    init.set_headers(&headers);
    let promise = window.fetch_with_str_and_init(url, &init);
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .ok()
        .map(|_| ())
}

/// One search result as the UI shows it. `snippet_html` is escaped by the
/// server (matches in `<mark>`); offline results carry plain text instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub id: String,
    pub title: String,
    pub snippet_html: Option<String>,
    pub snippet_text: String,
}

/// Searches the knowledge base: the server when online, the synced catalogue otherwise.
pub async fn search(query: String, limit: usize, record: bool) -> Vec<Hit> {
    let locale = kb_locale();
    if is_connected() {
        let url = format!(
            "/api/sites/{}/search?q={}&locale={locale}&record={record}",
            js_sys::encode_uri_component(&site()),
            js_sys::encode_uri_component(&query),
        );
        if let Some(text) = fetch_text(&url).await {
            if let Ok(body) = serde_json::from_str::<serde_json::Value>(&text) {
                let hits = body["results"].as_array().cloned().unwrap_or_default();
                return hits
                    .into_iter()
                    .take(limit)
                    .map(|h| Hit {
                        id: h["id"].as_str().unwrap_or_default().to_owned(),
                        title: h["title"].as_str().unwrap_or_default().to_owned(),
                        snippet_html: h["snippet"].as_str().map(str::to_owned),
                        snippet_text: String::new(),
                    })
                    .collect();
            }
        }
    }
    with_controller(|c| c.docs.kb.search_offline(&query, limit))
        .unwrap_or_default()
        .into_iter()
        .map(|e| Hit {
            id: e.id,
            title: e.title,
            snippet_html: None,
            snippet_text: e.excerpt.chars().take(160).collect(),
        })
        .collect()
}

/// An article: from the server (then kept for offline reading), else the kept copy.
pub async fn article(id: String) -> Option<ArticleCopy> {
    let url = format!(
        "/api/sites/{}/articles/{}",
        js_sys::encode_uri_component(&site()),
        js_sys::encode_uri_component(&id)
    );
    if let Some(text) = fetch_text(&url).await {
        if let Ok(copy) = serde_json::from_str::<ArticleCopy>(&text) {
            with_controller(|c| c.docs.kb.cache_article(&copy));
            return Some(copy);
        }
    }
    with_controller(|c| c.docs.kb.cached_article(&id)).flatten()
}

/// Records the customer's "Was this helpful?" answer.
pub fn vote(article: String, helpful: bool) {
    let url = format!("/api/sites/{}/articles/{article}/helpful", site());
    let body = serde_json::json!({ "helpful": helpful }).to_string();
    leptos::task::spawn_local(async move {
        let _ = post_json(&url, &body).await;
    });
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
