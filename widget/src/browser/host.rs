//! Messages between the widget (in its frame) and the loader on the host page:
//! `close` (the widget asks to be closed), `opened`/`closed` (the panel was
//! opened or closed; the loader also answers `hello` with one of them),
//! `unread` with `n` and `label` (staff replies the customer has not seen,
//! for the launcher's badge, and its accessible name saying so), `command`
//! with `name` and `arg` (the host page's
//! `Stufe('showArticle' | 'search' | 'identify' | 'prefill' | 'logout' |
//! 'setLocale', …)`, sent once the widget said `hello`), `event` with `name`
//! and `id` (for the host page's `Stufe('on', …)` handlers: `ticket:created`,
//! `message`), `ping`/`pong` (the loader's heartbeat) and `crashed`
//! (see [`super::crash`]).

use std::sync::atomic::{AtomicBool, Ordering};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::MessageEvent;

/// Set once the widget has crashed; from then on heartbeats go unanswered, so
/// the loader notices even if the crash message was lost.
static CRASHED: AtomicBool = AtomicBool::new(false);

fn post_to_host(kind: &str) {
    post_with(kind, |_| {});
}

fn post_with(kind: &str, fill: impl FnOnce(&js_sys::Object)) {
    let Some(parent) = web_sys::window().and_then(|w| w.parent().ok().flatten()) else {
        return;
    };
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"stufe".into(), &kind.into());
    fill(&message);
    // The loader checks that a message comes from its own frame. Nothing
    // secret is ever posted: the host page's scripts may read all of it.
    let _ = parent.post_message(&message, "*");
}

/// Tells the host page's `Stufe('on', name, …)` handlers that something
/// happened (`ticket:created` with the ticket's id, `message` with the id of
/// the ticket a staff reply arrived on). Ids only: never a token or text.
pub fn announce_event(name: &str, id: &str) {
    post_with("event", |message| {
        let _ = js_sys::Reflect::set(message, &"name".into(), &name.into());
        let _ = js_sys::Reflect::set(message, &"id".into(), &id.into());
    });
}

/// Asks the loader to close the widget; it answers with `closed`.
pub fn request_close() {
    post_to_host("close");
}

/// Tells the loader the widget crashed (it reloads the frame once). Said
/// once per page load: a panic and the error that follows it are one crash.
pub fn announce_crash() {
    if !CRASHED.swap(true, Ordering::SeqCst) {
        post_to_host("crashed");
    }
}

/// Tells the loader how many staff replies the customer has not seen (0
/// hides the badge) and the launcher's accessible name that says so, in the
/// widget's language (the loader keeps no texts of its own for it).
pub fn announce_unread(n: usize, label: &str) {
    post_with("unread", |message| {
        let _ = js_sys::Reflect::set(message, &"n".into(), &(n as f64).into());
        let _ = js_sys::Reflect::set(message, &"label".into(), &label.into());
    });
}

fn warn(text: &str) {
    web_sys::console::warn_1(&format!("Stufe: {text}").into());
}

/// What the host page asked for through the loader's API.
pub enum Command {
    /// `Stufe('showArticle', id)`
    ShowArticle(String),
    /// `Stufe('search', query)`
    Search(String),
    /// `Stufe('identify', {token})`: the site's signed token for its user.
    Identify(String),
    /// `Stufe('prefill', {subject, description, category, email})`, as JSON.
    Prefill(String),
    /// `Stufe('logout')` / `Stufe('reset')`: forget this customer's local data.
    Logout,
    /// `Stufe('setLocale', 'de' | 'en')`
    SetLocale(String),
}

impl Command {
    /// The command in a `command` message. The loader passes the host page's
    /// arguments on unchecked (objects as JSON), so they are checked here and
    /// a wrong one is ignored with a warning in the browser console.
    fn from_message(data: &wasm_bindgen::JsValue) -> Option<Command> {
        let field = |name: &str| {
            js_sys::Reflect::get(data, &name.into())
                .ok()
                .and_then(|v| v.as_string())
        };
        let name = field("name")?;
        let text = field("arg");
        // An empty search is a search (Help with nothing typed); nothing
        // else takes an empty text.
        if let ("search", Some(query)) = (name.as_str(), &text) {
            return Some(Command::Search(query.clone()));
        }
        let arg = text.filter(|a| !a.is_empty());
        let command = match (name.as_str(), arg) {
            ("showArticle", Some(id)) => Command::ShowArticle(id),
            ("identify", Some(token)) => Command::Identify(identify_token(token)?),
            ("prefill", Some(json)) if json.starts_with('{') => Command::Prefill(json),
            ("logout", _) => Command::Logout,
            ("setLocale", Some(tag)) if tag == "de" || tag == "en" => Command::SetLocale(tag),
            ("showArticle" | "search", _) => {
                warn(&format!("'{name}' needs a text argument."));
                return None;
            }
            ("identify", None) => {
                warn(IDENTIFY_TAKES);
                return None;
            }
            ("prefill", _) => {
                warn("'prefill' needs {subject, description, category, email}.");
                return None;
            }
            ("setLocale", _) => {
                warn("'setLocale' takes 'de' or 'en'.");
                return None;
            }
            _ => return None,
        };
        Some(command)
    }
}

const IDENTIFY_TAKES: &str = "'identify' needs {token: '<JWT signed by your server>'}.";

/// `Stufe('identify', {token})` arrives as that object in JSON; the token
/// alone is taken too.
fn identify_token(arg: String) -> Option<String> {
    if !arg.starts_with('{') {
        return Some(arg);
    }
    let token = js_sys::JSON::parse(&arg)
        .ok()
        .and_then(|object| js_sys::Reflect::get(&object, &"token".into()).ok())
        .and_then(|token| token.as_string())
        .filter(|token| !token.is_empty());
    if token.is_none() {
        warn(IDENTIFY_TAKES);
    }
    token
}

/// Answers heartbeats, calls `on_open(true)` when the panel is opened and
/// `on_open(false)` when it is closed, passes the host page's commands to
/// `on_command`, and asks the loader which state the panel is in now.
pub fn listen(on_open: impl Fn(bool) + 'static, on_command: impl Fn(Command) + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        let kind = js_sys::Reflect::get(&data, &"stufe".into())
            .ok()
            .and_then(|v| v.as_string());
        match kind.as_deref() {
            Some("closed") => on_open(false),
            Some("opened") => on_open(true),
            Some("command") => {
                if let Some(command) = Command::from_message(&data) {
                    on_command(command);
                }
            }
            Some("ping") if !CRASHED.load(Ordering::SeqCst) => post_to_host("pong"),
            _ => {}
        }
    });
    let _ = window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    on_message.forget(); // lives as long as the page
    post_to_host("hello");
}
