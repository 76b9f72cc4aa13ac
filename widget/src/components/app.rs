//! `App`: the widget's frame — header, connection state, tabs, and the current screen.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::article_view::ArticleView;
use super::help::Help;
use super::ticket_form::TicketForm;
use super::ticket_list::TicketList;
use super::ticket_thread::TicketThread;
use crate::browser::close_widget;
use crate::ui::{Screen, StorageState, Ui};

#[component]
pub fn App() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let t = move || ui.lang.get().texts();
    let brand = move || {
        ui.config
            .get()
            .map(|c| c.brand_color)
            .filter(|c| {
                c.starts_with('#')
                    && c.len() <= 9
                    && c[1..].chars().all(|ch| ch.is_ascii_hexdigit())
            })
            .unwrap_or_else(|| "#0b5fff".into())
    };
    // On the frame's window, not on an element: Escape closes the panel from
    // the moment it opens, before anything inside has focus.
    let on_escape = window_event_listener(leptos::ev::keydown, |ev| {
        if ev.key() == "Escape" {
            close_widget();
        }
    });
    on_cleanup(move || on_escape.remove());
    // A notice belongs to the screen it was shown on: moving on drops it
    // (it is not shown there meanwhile either, see below).
    Effect::new(move |_| {
        let screen = ui.screen.get();
        if ui
            .notice
            .with_untracked(|n| n.as_ref().is_some_and(|(_, on)| *on != screen))
        {
            ui.notice.set(None);
        }
    });
    // The site may fix the colours; otherwise they follow the visitor's system.
    Effect::new(move |_| {
        let theme = ui.config.with(|c| c.as_ref().map(|c| c.theme));
        if let Some(root) = document().document_element() {
            let _ = match theme {
                Some(stufe_shared::site::Theme::Light) => root.set_attribute("data-theme", "light"),
                Some(stufe_shared::site::Theme::Dark) => root.set_attribute("data-theme", "dark"),
                _ => root.remove_attribute("data-theme"),
            };
        }
    });
    // The frame's document speaks the widget's language (screen readers,
    // hyphenation, spelling).
    Effect::new(move |_| {
        let tag = ui.lang.get().tag();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", tag);
        }
    });
    // When the panel opens, focus goes to its heading (inside the frame), so
    // keyboard and screen-reader users start at the top of the widget.
    let heading = NodeRef::<leptos::html::H1>::new();
    Effect::new(move |_| {
        if ui.open.get() {
            if let Some(h1) = heading.get() {
                let _ = h1.focus();
            }
        }
    });
    // Tabs as WAI-ARIA describes them: one tab in the Tab order (the
    // selected one); arrow keys, Home and End move between tabs and open them.
    let on_tab_key = move |ev: web_sys::KeyboardEvent| {
        let tabs = [Screen::Help, Screen::NewTicket, Screen::MyTickets];
        let current = tabs
            .iter()
            .position(|t| tab_id(t) == tab_id(&ui.screen.get_untracked()))
            .unwrap_or(0);
        let next = match ev.key().as_str() {
            "ArrowRight" => (current + 1) % tabs.len(),
            "ArrowLeft" => (current + tabs.len() - 1) % tabs.len(),
            "Home" => 0,
            "End" => tabs.len() - 1,
            _ => return,
        };
        ev.prevent_default();
        let id = tab_id(&tabs[next]);
        show_by_tab(ui, tabs[next].clone());
        if let Some(tab) = document().get_element_by_id(id) {
            if let Ok(tab) = tab.dyn_into::<web_sys::HtmlElement>() {
                let _ = tab.focus();
            }
        }
    };
    let tab = move |screen: Screen,
                    label: fn(&crate::i18n::Texts) -> &'static str,
                    testid: &'static str| {
        let wanted = screen.clone();
        let selected = move || match (ui.screen.get(), &wanted) {
            (Screen::Thread(_), Screen::MyTickets) => true,
            (
                Screen::Article {
                    suggested: false, ..
                },
                Screen::Help,
            ) => true,
            (
                Screen::Article {
                    suggested: true, ..
                },
                Screen::NewTicket,
            ) => true,
            (current, wanted) => current == *wanted,
        };
        let is_my_tickets = screen == Screen::MyTickets;
        let is_selected = selected.clone();
        view! {
            <button
                type="button"
                role="tab"
                class="tab"
                id=format!("tab-{testid}")
                aria-controls="stufe-panel"
                data-testid=testid
                aria-selected=move || selected().to_string()
                tabindex=move || if is_selected() { "0" } else { "-1" }
                on:click=move |_| show_by_tab(ui, screen.clone())
            >
                {move || label(t())}
                {move || is_my_tickets.then(|| {
                    let n = ui.tickets.get().len();
                    (n > 0).then(|| view! { <span class="count">{n}</span> })
                })}
            </button>
        }
    };
    view! {
        <div class="widget" style:--brand=brand lang=move || ui.lang.get().tag()
            role="dialog" aria-labelledby="stufe-title">
            <header class="header">
                <h1 id="stufe-title" tabindex="-1" node_ref=heading>{move || ui.config.get().map(|c| c.name).unwrap_or_default()}</h1>
                <button type="button" class="icon" data-testid="close" aria-label=move || t().close on:click=move |_| close_widget()>
                    "×"
                </button>
            </header>
            {move || ui.availability.get().map(|a| {
                let lang = ui.lang.get();
                let texts = lang.texts();
                let mut line = match (a.open, a.opens_at) {
                    (true, _) => texts.online.to_owned(),
                    (false, Some(at)) => format!("{} {}", texts.away_until, crate::browser::format_time(at, lang)),
                    (false, None) => texts.away.to_owned(),
                };
                if let Some(minutes) = a.typical_first_reply_minutes {
                    line = format!("{line} · {}", texts.typical_reply(minutes));
                }
                view! { <p class="availability" data-testid="availability" data-open=a.open.to_string()>{line}</p> }
            })}
            {move || ui.config.get().and_then(|c| c.announcement).map(|text| view! { <p class="announcement" role="status">{text}</p> })}
            <p class="connection" data-testid="connection" data-online=move || ui.online.get().to_string() role="status" aria-live="polite">
                {move || (!ui.online.get()).then(|| t().offline)}
            </p>
            {move || match ui.storage.get() {
                StorageState::Ok => None,
                StorageState::Unavailable => Some(view! { <p class="notice warning" role="status" data-testid="storage-warning" data-storage="unavailable">{t().no_storage}</p> }),
                StorageState::Failing => Some(view! { <p class="notice warning" role="status" data-testid="storage-warning" data-storage="failing">{t().storage_failed}</p> }),
            }}
            {move || ui.notice.get().filter(|(_, on)| *on == ui.screen.get()).map(|(text, _)| view! {
                <p class="notice" role="alert" data-testid="notice" on:click=move |_| ui.notice.set(None)>{text}</p>
            })}
            <nav class="tabs" role="tablist" on:keydown=on_tab_key>
                {tab(Screen::Help, |t| t.help, "help-tab")}
                {tab(Screen::NewTicket, |t| t.new_ticket, "new-ticket-tab")}
                {tab(Screen::MyTickets, |t| t.my_tickets, "my-tickets-tab")}
            </nav>
            <main class="body">
                <div role="tabpanel" id="stufe-panel" aria-labelledby=move || tab_id(&ui.screen.get())>
                {move || match ui.screen.get() {
                    Screen::Help => view! { <Help/> }.into_any(),
                    Screen::Article { id, suggested } => view! { <ArticleView id=id suggested=suggested/> }.into_any(),
                    Screen::NewTicket => view! { <TicketForm/> }.into_any(),
                    Screen::MyTickets => view! { <TicketList/> }.into_any(),
                    Screen::Thread(id) => view! { <TicketThread id=id/> }.into_any(),
                }}
                </div>
            </main>
        </div>
    }
}

/// The id of the tab a screen belongs to (a thread belongs to "My requests",
/// an article to Help, or to the new request it was suggested for).
fn tab_id(screen: &Screen) -> &'static str {
    match screen {
        Screen::NewTicket
        | Screen::Article {
            suggested: true, ..
        } => "tab-new-ticket-tab",
        Screen::MyTickets | Screen::Thread(_) => "tab-my-tickets-tab",
        Screen::Help | Screen::Article { .. } => "tab-help-tab",
    }
}

/// Shows the view of a tab; focus stays on the tab.
fn show_by_tab(ui: Ui, screen: Screen) {
    if ui.screen.get_untracked() != screen {
        ui.nav_by_tab.set(true);
        ui.screen.set(screen);
    }
}
