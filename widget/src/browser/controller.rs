//! The controller: the customer's documents, the sync client and the socket,
//! in one `RefCell` that belongs to the page, not to any component.
//!
//! Two rules keep it panic-free by construction:
//!
//! - **No signal is written while the controller is borrowed.** Work on the
//!   controller returns a [`Refresh`] (what the UI should now show), and
//!   [`apply`] writes the signals after the borrow has ended. Should anything
//!   re-enter anyway, [`with`] uses `try_borrow_mut` and skips the call
//!   instead of panicking.
//! - **Only root-owned signals are written from here** (the [`Ui`] created at
//!   start, owned by no component), and with `try_set`, so a late socket
//!   callback can never touch a disposed value.

use std::cell::{Cell, RefCell};

use stufe_shared::kb::CatalogueEntry;
use stufe_shared::protocol::ErrorCode;
use stufe_shared::{DocId, Locale, TicketId};

use super::socket::{self, Socket};
use super::storage::BrowserKv;
use crate::i18n::Lang;
use crate::state::knowledge::ArticleCopy;
use crate::state::outbox::{Outbox, WaitingFile, WaitingReply};
use crate::state::sync_client::{Docs, Event, Outgoing, SyncClient};
use crate::state::tickets::{FormError, IdentityChange, TicketForm, TicketView};
use crate::ui::{Hit, Screen, StaffTyping, StorageState, Ui, WaitingView};

use leptos::prelude::*;

pub struct Controller {
    pub docs: Docs<BrowserKv>,
    pub sync: SyncClient,
    socket: Option<Socket>,
    generation: u64,
    ws_url: String,
    retry_ms: i32,
    storage_available: bool,
    /// When the customer's typing was last said, and in which ticket.
    typing_said: Option<(TicketId, i64)>,
    /// Replies with files waiting to be sent.
    outbox: Outbox<BrowserKv>,
}

impl Controller {
    pub fn new(docs: Docs<BrowserKv>, ws_url: String, storage_available: bool) -> Self {
        let outbox = Outbox::new(docs.tickets.kv().clone(), docs.kb.site().as_str());
        Self {
            outbox,
            docs,
            sync: SyncClient::default(),
            socket: None,
            generation: 0,
            ws_url,
            retry_ms: 500,
            storage_available,
            typing_said: None,
        }
    }

    fn send(&self, out: Vec<Outgoing>) {
        if let Some(socket) = &self.socket {
            socket.send_all(out);
        }
    }

    fn storage_state(&self) -> StorageState {
        if !self.storage_available {
            StorageState::Unavailable
        } else if self.docs.tickets.storage_failed() {
            StorageState::Failing
        } else {
            StorageState::Ok
        }
    }

    /// What the UI shows after the ticket book changed.
    fn tickets_changed(&mut self) -> Refresh {
        Refresh {
            tickets: Some(self.docs.tickets.views()),
            storage: Some(self.storage_state()),
            waiting: Some(self.waiting_views()),
            ..Refresh::default()
        }
    }

    /// The replies with files waiting to be sent, for the threads.
    pub fn waiting_views(&self) -> Vec<WaitingView> {
        self.docs
            .tickets
            .ids_to_sync()
            .into_iter()
            .flat_map(|ticket| {
                self.outbox
                    .waiting(ticket)
                    .into_iter()
                    .map(move |reply| WaitingView {
                        ticket,
                        message_id: reply.message_id,
                        body: reply.body,
                        files: reply
                            .files
                            .iter()
                            .map(|f| (f.name.clone(), f.size))
                            .collect(),
                    })
            })
            .collect()
    }

    /// Whether any reply waits to be sent for ticket `id`.
    fn has_waiting(&self, id: TicketId) -> bool {
        !self.outbox.waiting(id).is_empty()
    }

    fn handle(&mut self, events: Vec<Event>, lang: Lang) -> Refresh {
        let mut refresh = Refresh::default();
        for event in events {
            match event {
                Event::Changed(DocId::Kb { .. }) => refresh.kb = Some(self.docs.kb.entries()),
                Event::Changed(DocId::Ticket(id)) => {
                    refresh.tickets = Some(self.docs.tickets.views());
                    refresh.storage = Some(self.storage_state());
                    // Acknowledged: its waiting files may be uploaded now.
                    refresh.drain_outbox |= self.has_waiting(id);
                }
                Event::StaffTyping { ticket, name } => {
                    let staff_messages = self
                        .docs
                        .tickets
                        .views()
                        .iter()
                        .find(|t| t.id == ticket)
                        .map(staff_messages);
                    if let Some(staff_messages) = staff_messages {
                        refresh.staff_typing = Some(StaffTyping {
                            ticket,
                            name,
                            staff_messages,
                        });
                    }
                }
                Event::Refused {
                    code: ErrorCode::IdentityRefused,
                    message,
                    ..
                } => {
                    // For the site owner, not the customer: their page's token.
                    web_sys::console::warn_1(
                        &format!("Stufe: Stufe('identify', …) was refused: {message}").into(),
                    );
                    refresh.signed_in = Some(false);
                }
                Event::Refused {
                    code: ErrorCode::Erased,
                    doc,
                    ..
                } => {
                    // Its waiting replies and files go with it.
                    if let Some(DocId::Ticket(id)) = doc {
                        self.outbox.forget(id);
                        refresh.waiting = Some(self.waiting_views());
                    }
                    refresh.notice = Some(lang.texts().erased.to_owned());
                }
                Event::Refused { message, .. } => {
                    refresh.notice = Some(format!("{} {message}", lang.texts().refused));
                }
            }
        }
        refresh
    }
}

/// What the UI should show now; applied after the controller's borrow ended.
#[derive(Default)]
pub struct Refresh {
    pub tickets: Option<Vec<TicketView>>,
    pub kb: Option<Vec<CatalogueEntry>>,
    pub online: Option<bool>,
    pub notice: Option<String>,
    pub storage: Option<StorageState>,
    pub signed_in: Option<bool>,
    pub staff_typing: Option<StaffTyping>,
    pub waiting: Option<Vec<WaitingView>>,
    /// Try sending the replies with files that wait.
    pub drain_outbox: bool,
}

/// A ticket's messages from staff (hand-off notices included).
pub fn staff_messages(ticket: &TicketView) -> usize {
    ticket
        .messages
        .iter()
        .filter(|m| m.author == stufe_shared::ticket::Author::Staff)
        .count()
}

thread_local! {
    static CONTROLLER: RefCell<Option<Controller>> = const { RefCell::new(None) };
    static UI: Cell<Option<Ui>> = const { Cell::new(None) };
    static NOTICE_SEQ: Cell<u32> = const { Cell::new(0) };
    static TYPING_SEQ: Cell<u32> = const { Cell::new(0) };
    /// The outbox is being sent (0: no; 1: yes; 2: yes, and asked again meanwhile).
    static DRAINING: Cell<u8> = const { Cell::new(0) };
}

/// Installs the controller and the root view state (once, at start).
pub fn install(controller: Controller, ui: Ui) {
    CONTROLLER.with(|c| {
        if let Ok(mut slot) = c.try_borrow_mut() {
            *slot = Some(controller);
        }
    });
    UI.with(|u| u.set(Some(ui)));
}

/// Runs `f` on the controller; None if there is none or it is busy (a
/// re-entrant call, which the rules above rule out, is skipped, not a panic).
pub fn with<T>(f: impl FnOnce(&mut Controller) -> T) -> Option<T> {
    CONTROLLER.with(|c| c.try_borrow_mut().ok()?.as_mut().map(f))
}

fn ui() -> Option<Ui> {
    UI.with(Cell::get)
}

/// Writes a [`Refresh`] to the root signals. Never call with the controller borrowed.
pub fn apply(refresh: Refresh) {
    let Some(ui) = ui() else { return };
    if let Some(tickets) = refresh.tickets {
        let _ = ui.tickets.try_set(tickets);
    }
    if let Some(kb) = refresh.kb {
        let _ = ui.kb.try_set(kb);
    }
    if let Some(online) = refresh.online {
        let _ = ui.online.try_set(online);
    }
    if let Some(storage) = refresh.storage {
        if ui.storage.try_get_untracked() != Some(storage) {
            let _ = ui.storage.try_set(storage);
        }
    }
    if let Some(notice) = refresh.notice {
        show_notice(notice);
    }
    if let Some(signed_in) = refresh.signed_in {
        let _ = ui.signed_in.try_set(signed_in);
    }
    if let Some(typing) = refresh.staff_typing {
        show_staff_typing(ui, typing);
    }
    if let Some(waiting) = refresh.waiting {
        let _ = ui.waiting.try_set(waiting);
    }
    if refresh.drain_outbox {
        socket::after(0, drain_outbox);
    }
}

/// Shows "… is typing" for as long as the protocol says, unless said again.
fn show_staff_typing(ui: Ui, typing: StaffTyping) {
    let seq = TYPING_SEQ.with(|s| {
        s.set(s.get().wrapping_add(1));
        s.get()
    });
    let _ = ui.staff_typing.try_set(Some(typing));
    let shown = i32::try_from(stufe_shared::protocol::TYPING_SHOWN_MS).unwrap_or(6_000);
    socket::after(shown, move || {
        if TYPING_SEQ.with(Cell::get) == seq {
            let _ = ui.staff_typing.try_set(None);
        }
    });
}

/// Shows a notice that goes away by itself after a while (or when clicked).
pub fn show_notice(text: String) {
    let Some(ui) = ui() else { return };
    let seq = NOTICE_SEQ.with(|s| {
        s.set(s.get().wrapping_add(1));
        s.get()
    });
    let screen = ui.screen.try_get_untracked().unwrap_or(Screen::Help);
    let _ = ui.notice.try_set(Some((text, screen)));
    socket::after(8_000, move || {
        if NOTICE_SEQ.with(Cell::get) == seq {
            let _ = ui.notice.try_set(None);
        }
    });
}

fn lang() -> Lang {
    ui().and_then(|u| u.lang.try_get_untracked())
        .unwrap_or(Lang::En)
}

/// What a socket reported.
pub enum Incoming {
    Open,
    Text(String),
    Binary(Vec<u8>),
    Closed,
}

/// Called by the socket's callbacks; ignores those of replaced sockets.
pub fn on_socket(generation: u64, incoming: Incoming) {
    let lang = lang();
    let mut retired = None;
    let mut reconnect = false;
    let refresh = with(|c| {
        if c.generation != generation {
            return None;
        }
        Some(match incoming {
            Incoming::Open => {
                c.retry_ms = 500;
                let out = c.sync.connected(&c.docs);
                c.send(out);
                Refresh {
                    online: Some(true),
                    drain_outbox: true,
                    ..Refresh::default()
                }
            }
            Incoming::Text(text) => {
                let (out, events) = c.sync.on_text(&mut c.docs, &text);
                c.send(out);
                c.handle(events, lang)
            }
            Incoming::Binary(bytes) => {
                let (out, events) = c.sync.on_binary(&mut c.docs, &bytes);
                c.send(out);
                c.handle(events, lang)
            }
            Incoming::Closed => {
                // Dropped later: this runs inside the socket's own callback.
                retired = c.socket.take();
                c.sync.disconnected();
                reconnect = true;
                Refresh {
                    online: Some(false),
                    ..Refresh::default()
                }
            }
        })
    })
    .flatten();
    if let Some(old) = retired {
        socket::after(0, move || drop(old));
    }
    if reconnect {
        schedule_reconnect();
    }
    if let Some(refresh) = refresh {
        apply(refresh);
    }
}

/// Opens a new socket (a new generation).
pub fn connect() {
    let failed = with(|c| {
        c.generation += 1;
        c.socket = socket::open(&c.ws_url, c.generation);
        c.socket.is_none()
    });
    if failed == Some(true) {
        schedule_reconnect();
    }
}

fn schedule_reconnect() {
    let Some(delay) = with(|c| {
        let delay = c.retry_ms;
        c.retry_ms = (c.retry_ms * 2).min(5_000);
        delay
    }) else {
        return;
    };
    socket::after(delay, || {
        if with(|c| c.socket.is_none()).unwrap_or(false) {
            connect();
        }
    });
}

/// The browser says it is online again: connect now instead of waiting.
pub fn on_online() {
    if with(|c| c.socket.is_none()).unwrap_or(false) {
        connect();
    }
}

// ---- what components call ----

fn random_bytes<const N: usize>() -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    let crypto = web_sys::window()?.crypto().ok()?;
    crypto.get_random_values_with_u8_array(&mut bytes).ok()?;
    Some(bytes)
}

pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// The host page signed its user in (`Stufe('identify', {token})`): keep the
/// token for every connection and sign the current one in. Another customer
/// than the one signed in before starts over with this device's data cleared.
pub fn identify(token: &str) {
    let switched = with(|c| match c.docs.tickets.set_identity(token) {
        IdentityChange::Unchanged => false,
        IdentityChange::Renewed | IdentityChange::SignedIn => {
            let out = c.sync.identify(token);
            c.send(out);
            false
        }
        IdentityChange::OtherCustomer => true,
    });
    if switched == Some(true) {
        reload_when_stored();
    } else {
        apply(Refresh {
            signed_in: Some(true),
            ..Refresh::default()
        });
    }
}

/// `Stufe('logout')`: forgets this customer's tickets, drafts and identity on
/// this device, then starts the widget afresh.
pub fn logout() {
    with(|c| c.docs.tickets.clear());
    reload_when_stored();
}

/// Starts the widget afresh once what was just written (or removed) is on
/// disk: a reload before that would read the old data back.
fn reload_when_stored() {
    let Some(kv) = with(|c| c.docs.tickets.kv().clone()) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        kv.flushed().await;
        if let Some(window) = web_sys::window() {
            let _ = window.location().reload();
        }
    });
}

/// `Stufe('prefill', {…})`: puts the given fields into the ticket draft.
/// Returns whether anything was taken.
pub fn prefill(json: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Fields {
        subject: Option<String>,
        description: Option<String>,
        category: Option<String>,
        email: Option<String>,
    }
    let Some(fields) = crate::json::from_str::<Fields>(json) else {
        web_sys::console::warn_1(
            &"Stufe: 'prefill' takes {subject, description, category, email} (texts).".into(),
        );
        return false;
    };
    let mut draft = draft();
    let take = |into: &mut String, value: Option<String>| {
        if let Some(value) = value {
            *into = value.chars().take(10_000).collect();
        }
    };
    take(&mut draft.subject, fields.subject);
    take(&mut draft.description, fields.description);
    take(&mut draft.category, fields.category);
    take(&mut draft.email, fields.email);
    save_draft(&draft);
    true
}

/// Creates a ticket from the form; it is sent now or as soon as the widget is online.
pub fn submit_ticket(form: &TicketForm) -> Result<TicketId, FormError> {
    form.validate()?;
    let (Some(id), Some(token)) = (random_bytes::<16>(), random_bytes::<32>()) else {
        return Err(FormError::MissingSubject);
    };
    let id = TicketId::from_bytes(id);
    let token = hex::encode(token);
    let result = with(|c| {
        let id = c.docs.tickets.create(form, id, token)?;
        let out = c.sync.local_change(&mut c.docs, id);
        c.send(out);
        Ok((id, c.tickets_changed()))
    })
    .unwrap_or(Err(FormError::MissingSubject));
    result.map(|(id, refresh)| {
        if let Some(ui) = ui() {
            let _ = ui.read_article.try_set(None);
        }
        apply(refresh);
        super::host::announce_event("ticket:created", &id.to_string());
        id
    })
}

/// The customer is typing a reply: the staff are told, at most once per
/// [`stufe_shared::protocol::TYPING_EVERY_MS`] (and only while online).
pub fn typing(id: TicketId) {
    with(|c| {
        let now = now_ms();
        let every = i64::try_from(stufe_shared::protocol::TYPING_EVERY_MS).unwrap_or(2_000);
        if c.typing_said
            .is_some_and(|(said, at)| said == id && now - at < every)
        {
            return;
        }
        if let Some(frame) = c.sync.typing(id) {
            c.typing_said = Some((id, now));
            c.send(vec![frame]);
        }
    });
}

/// The site and the credential the files of ticket `id` travel with: None
/// while the ticket is not stored yet, or when this device holds no token for
/// it (a ticket that came with the customer's sign-in).
pub fn file_access(id: TicketId) -> Option<(String, String)> {
    with(|c| {
        let token = c.docs.tickets.token(id)?.to_owned();
        let stored = c
            .docs
            .tickets
            .views()
            .iter()
            .any(|t| t.id == id && !t.waiting_to_send);
        (stored && !token.is_empty()).then(|| (c.docs.kb.site().to_string(), token))
    })
    .flatten()
}

/// Whether this device holds the token that files of ticket `id` travel with
/// (a request that came with the customer's sign-in has none here).
pub fn has_file_token(id: TicketId) -> bool {
    with(|c| c.docs.tickets.token(id).is_some_and(|t| !t.is_empty())).unwrap_or(false)
}

/// Appends the customer's reply with files uploaded for the ticket.
pub fn reply_with_files(id: TicketId, body: &str, files: &[stufe_shared::ticket::FileRef]) -> bool {
    let Some(message_id) = random_bytes::<8>().map(hex::encode) else {
        return false;
    };
    append_reply(id, message_id, body, files)
}

/// Keeps a reply whose files are not uploaded yet (`files`: names and
/// bytes; `ready`: those uploaded already) to send as soon as it can.
pub fn reply_later(
    id: TicketId,
    body: &str,
    ready: Vec<stufe_shared::ticket::FileRef>,
    files: Vec<(String, Vec<u8>)>,
) -> bool {
    let Some(message_id) = random_bytes::<8>().map(hex::encode) else {
        return false;
    };
    let reply = WaitingReply {
        message_id,
        body: body.trim().to_owned(),
        files: ready
            .into_iter()
            .map(WaitingFile::uploaded)
            .chain(
                files
                    .into_iter()
                    .map(|(name, bytes)| WaitingFile::new(name, &bytes)),
            )
            .collect(),
    };
    let refresh = with(|c| {
        let kept = c.outbox.add(id, reply);
        let mut refresh = c.tickets_changed();
        refresh.drain_outbox = true;
        (kept, refresh)
    });
    let Some((kept, refresh)) = refresh else {
        return false;
    };
    apply(refresh);
    if !kept {
        show_notice(lang().texts().storage_failed.to_owned());
    }
    kept
}

/// Sends the replies that wait, each once: their files uploaded, then the
/// message. Stops at the first upload that fails for want of a connection
/// (tried again when the widget connects, or a ticket is acknowledged).
pub fn drain_outbox() {
    let running = DRAINING.with(|d| {
        let was = d.get();
        d.set(if was == 0 { 1 } else { 2 });
        was != 0
    });
    if running {
        return;
    }
    wasm_bindgen_futures::spawn_local(async {
        loop {
            send_waiting().await;
            let again = DRAINING.with(|d| {
                let again = d.get() == 2;
                d.set(u8::from(again));
                again
            });
            if !again {
                break;
            }
        }
    });
}

async fn send_waiting() {
    let tickets = with(|c| {
        c.docs
            .tickets
            .ids_to_sync()
            .into_iter()
            .filter(|id| c.has_waiting(*id))
            .collect::<Vec<_>>()
    })
    .unwrap_or_default();
    for ticket in tickets {
        let Some((site, credential)) = file_access(ticket) else {
            continue;
        };
        let replies = with(|c| c.outbox.waiting(ticket)).unwrap_or_default();
        for reply in replies {
            if !send_one(ticket, &site, &credential, reply).await {
                return;
            }
        }
    }
}

/// Uploads a waiting reply's files (keeping each answer), then appends it.
/// False when an upload failed for want of a connection.
async fn send_one(ticket: TicketId, site: &str, credential: &str, reply: WaitingReply) -> bool {
    let mut files = reply.files;
    let mut index = 0;
    while index < files.len() {
        if files[index].uploaded.is_some() {
            index += 1;
            continue;
        }
        let body = js_sys::Uint8Array::from(files[index].bytes().as_slice());
        let name = files[index].name.clone();
        match super::http::upload_file(site, ticket, credential, &name, &body).await {
            Ok(file) => {
                with(|c| {
                    c.outbox
                        .uploaded(ticket, &reply.message_id, index, file.clone())
                });
                files[index].uploaded = Some(file);
                index += 1;
            }
            Err(super::http::UploadRefused::Failed) => return false,
            Err(_) => {
                // Never taken (its kind or size): the reply goes without it.
                show_notice(format!("{name}: {}", lang().texts().upload_not_sent));
                with(|c| c.outbox.drop_file(ticket, &reply.message_id, index));
                files.remove(index);
            }
        }
    }
    let references: Vec<_> = files.iter().filter_map(|f| f.uploaded.clone()).collect();
    let name = lang().texts().you;
    let refresh = with(|c| {
        if !c.docs.tickets.has_message(ticket, &reply.message_id)
            && c.docs.tickets.reply_with_files(
                ticket,
                reply.message_id.clone(),
                name,
                &reply.body,
                &references,
                now_ms(),
            )
        {
            let out = c.sync.local_change(&mut c.docs, ticket);
            c.send(out);
        }
        c.outbox.sent(ticket, &reply.message_id);
        c.tickets_changed()
    });
    if let Some(refresh) = refresh {
        apply(refresh);
    }
    true
}

/// Appends the customer's reply (with files uploaded for the ticket) as message `message_id`.
fn append_reply(
    id: TicketId,
    message_id: String,
    body: &str,
    files: &[stufe_shared::ticket::FileRef],
) -> bool {
    let name = lang().texts().you;
    let refresh = with(|c| {
        if !c
            .docs
            .tickets
            .reply_with_files(id, message_id, name, body, files, now_ms())
        {
            return None;
        }
        let out = c.sync.local_change(&mut c.docs, id);
        c.send(out);
        Some(c.tickets_changed())
    })
    .flatten();
    let sent = refresh.is_some();
    if let Some(refresh) = refresh {
        apply(refresh);
    }
    sent
}

/// Rates a resolved ticket (1–5, with an optional comment).
pub fn rate(id: TicketId, score: i64, comment: &str) -> bool {
    let refresh = with(|c| {
        if !c.docs.tickets.rate(id, score, comment) {
            return None;
        }
        let out = c.sync.local_change(&mut c.docs, id);
        c.send(out);
        Some(c.tickets_changed())
    })
    .flatten();
    let rated = refresh.is_some();
    if let Some(refresh) = refresh {
        apply(refresh);
    }
    rated
}

pub fn draft() -> TicketForm {
    with(|c| c.docs.tickets.draft()).unwrap_or_default()
}

pub fn save_draft(form: &TicketForm) {
    if let Some(storage) = with(|c| {
        c.docs.tickets.save_draft(form);
        c.storage_state()
    }) {
        apply(Refresh {
            storage: Some(storage),
            ..Refresh::default()
        });
    }
}

pub fn reply_draft(id: TicketId) -> String {
    with(|c| c.docs.tickets.reply_draft(id)).unwrap_or_default()
}

pub fn save_reply_draft(id: TicketId, text: &str) {
    with(|c| c.docs.tickets.save_reply_draft(id, text));
}

pub fn is_connected() -> bool {
    with(|c| c.sync.is_connected()).unwrap_or(false)
}

fn site() -> String {
    with(|c| c.docs.tickets.site().to_owned()).unwrap_or_default()
}

/// The locale of the synced knowledge base.
pub fn kb_locale() -> Locale {
    with(|c| c.docs.kb.locale()).unwrap_or(Locale::En)
}

/// Searches the knowledge base: the server when online, the synced catalogue otherwise.
pub async fn search(query: String, limit: usize, record: bool) -> Vec<Hit> {
    if is_connected() {
        if let Some(found) = super::http::search(&site(), &query, kb_locale(), record).await {
            return found
                .results
                .into_iter()
                .take(limit)
                .map(|h| Hit {
                    id: h.id,
                    title: h.title,
                    snippet_html: Some(h.snippet),
                })
                .collect();
        }
    }
    with(|c| c.docs.kb.search_offline(&query, limit))
        .unwrap_or_default()
        .into_iter()
        .map(|e| Hit {
            id: e.id,
            title: e.title,
            snippet_html: None,
        })
        .collect()
}

/// An article: from the server (then kept for offline reading), else the kept copy.
pub async fn article(id: String) -> Option<ArticleCopy> {
    if let Some(copy) = super::http::article(&site(), &id).await {
        with(|c| c.docs.kb.cache_article(&copy));
        return Some(copy);
    }
    with(|c| c.docs.kb.cached_article(&id)).flatten()
}

/// Records the customer's "Was this helpful?" answer.
pub fn vote(article: String, helpful: bool) {
    let site = site();
    leptos::task::spawn_local(async move {
        let _ = super::http::vote(&site, &article, helpful).await;
    });
}

/// The widget closed after the customer read an article and sent no ticket.
pub fn report_deflection() {
    let Some(ui) = ui() else { return };
    let Some(Some(article)) = ui.read_article.try_get_untracked() else {
        return;
    };
    let _ = ui.read_article.try_set(None);
    let site = site();
    leptos::task::spawn_local(async move {
        let _ = super::http::deflection(&site, article).await;
    });
}
