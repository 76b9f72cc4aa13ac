//! The view state every component reads: signals created once at start, owned
//! by no component, so they live as long as the page. Screens come and go;
//! this state does not.

use leptos::prelude::*;
use stufe_shared::kb::CatalogueEntry;
use stufe_shared::site::{Availability, SiteConfig};
use stufe_shared::TicketId;

use crate::i18n::Lang;
use crate::state::tickets::TicketView;

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

/// What the device can keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageState {
    Ok,
    /// No storage at all (e.g. third-party storage blocked): nothing is kept.
    Unavailable,
    /// The store refuses writes (quota): recent changes are not kept.
    Failing,
}

/// The reactive state the components read. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Ui {
    pub config: RwSignal<Option<SiteConfig>>,
    pub lang: RwSignal<Lang>,
    pub tickets: RwSignal<Vec<TicketView>>,
    pub online: RwSignal<bool>,
    /// A passing message and the screen it is about: it goes when the
    /// customer moves to another screen (or after a while, or on a click).
    pub notice: RwSignal<Option<(String, Screen)>>,
    pub screen: RwSignal<Screen>,
    /// The published knowledge base (synced, live).
    pub kb: RwSignal<Vec<CatalogueEntry>>,
    /// An article the customer read since the last ticket; reported as a
    /// deflection if the widget is closed without submitting one.
    pub read_article: RwSignal<Option<String>>,
    pub storage: RwSignal<StorageState>,
    /// What the Help tab searches for (typed there, carried over from the
    /// help shell, or asked for by the host page with `Stufe('search', …)`).
    pub query: RwSignal<String>,
    /// Whether the panel is open on the host page (the loader says so).
    pub open: RwSignal<bool>,
    /// Whether the site signed the customer in (`Stufe('identify', …)`).
    pub signed_in: RwSignal<bool>,
    /// Bumped when the ticket draft changed from outside the form
    /// (`Stufe('prefill', …)`), so a form on screen shows it.
    pub draft_version: RwSignal<u32>,
    /// The last view change came from a tab (focus stays on the tab rather
    /// than moving to the view's heading).
    pub nav_by_tab: RwSignal<bool>,
    /// Someone of the staff is typing in a ticket (for a few seconds).
    pub staff_typing: RwSignal<Option<StaffTyping>>,
    /// Whether the team is in and how soon it answers (asked when the panel opens).
    pub availability: RwSignal<Option<Availability>>,
    /// Replies with files waiting to be sent (offline, or before the request reached us).
    pub waiting: RwSignal<Vec<WaitingView>>,
}

/// A reply with files waiting to be sent, as the thread shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingView {
    pub ticket: TicketId,
    pub message_id: String,
    pub body: String,
    /// Its files' names and sizes.
    pub files: Vec<(String, i64)>,
}

/// "Sam is typing…" in a ticket's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffTyping {
    pub ticket: TicketId,
    /// None: the site does not show staff names ("Support").
    pub name: Option<String>,
    /// The ticket's staff messages when the signal came: once their reply
    /// arrives (one more), the indicator goes.
    pub staff_messages: usize,
}

/// One search result as the UI shows it. `snippet_html` is escaped by the
/// server (matches in `<mark>`); offline results (title and tag matches) have none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub id: String,
    pub title: String,
    pub snippet_html: Option<String>,
}
