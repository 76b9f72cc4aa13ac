//! `TicketList`: the customer's tickets with live status, tier and expected reply.

use leptos::prelude::*;

use super::focus::ViewHeading;
use crate::browser::format_time;
use crate::ui::{Screen, Ui};

#[component]
pub fn TicketList() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let t = move || ui.lang.get().texts();
    view! {
        <ViewHeading text=|t| t.my_tickets/>
        <ul class="ticket-list" data-testid="ticket-list">
            {move || {
                let tickets = ui.tickets.get();
                if tickets.is_empty() {
                    return view! { <li class="empty">{t().no_tickets}</li> }.into_any();
                }
                let lang = ui.lang.get();
                tickets.into_iter().map(|ticket| {
                    let id = ticket.id;
                    let texts = lang.texts();
                    // The next promise, in the customer's time zone (the server
                    // computed it in the site's business hours).
                    let done = matches!(ticket.status, stufe_shared::ticket::Status::Resolved | stufe_shared::ticket::Status::Closed);
                    let reply = match (ticket.first_response_at, ticket.first_response_due, ticket.resolution_due) {
                        (Some(_), _, Some(solved)) if !done => Some(format!("{} {}", texts.expected_solution, format_time(solved, lang))),
                        (Some(_), _, _) => Some(texts.answered.to_owned()),
                        (None, Some(due), _) => Some(format!("{} {}", texts.expected_reply, format_time(due, lang))),
                        (None, None, _) => None,
                    };
                    view! {
                        <li>
                            <button type="button" class="ticket-item" data-testid="ticket-item" data-ticket-id=id.to_string()
                                on:click=move |_| ui.screen.set(Screen::Thread(id))>
                                <span class="subject" data-testid="ticket-subject">{ticket.subject}</span>
                                <span class="meta">
                                    <span class="status" data-testid="ticket-status" data-status=ticket.status.as_str()>
                                        {texts.status(ticket.status)}
                                    </span>
                                    <span data-testid="ticket-tier">{texts.tier(ticket.tier)}</span>
                                    {ticket.waiting_to_send.then(|| view! {
                                        <span class="waiting" data-testid="ticket-waiting">{texts.waiting_to_send}</span>
                                    })}
                                    {ticket.refused.clone().map(|reason| view! {
                                        <span class="refused" data-testid="ticket-refused">{format!("{} {reason}", texts.ticket_refused)}</span>
                                    })}
                                </span>
                                {reply.map(|r| view! { <span class="reply-due" data-testid="ticket-reply-due">{r}</span> })}
                            </button>
                        </li>
                    }
                }).collect_view().into_any()
            }}
        </ul>
    }
}
