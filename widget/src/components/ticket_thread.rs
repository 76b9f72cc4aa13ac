//! `TicketThread`: one ticket's description and messages, live, with a reply box.

use leptos::prelude::*;
use stufe_shared::ticket::{self, Author, Status};
use stufe_shared::TicketId;

use super::attachments::{files_of, read_files, AttachFiles, MessageFiles, ReplyFiles};
use super::focus::focus_heading_when_shown;
use crate::browser::{self, format_time};
use crate::ui::{Screen, Ui};

#[component]
pub fn TicketThread(id: TicketId) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let t = move || ui.lang.get().texts();
    let ticket = move || {
        ui.tickets
            .with(|all| all.iter().find(|v| v.id == id).cloned())
    };
    let asks_for_rating = move || {
        ticket().is_some_and(|t| {
            matches!(t.status, Status::Resolved | Status::Closed) && t.rating.is_none()
        })
    };
    let draft = RwSignal::new(browser::reply_draft(id));
    let heading = NodeRef::<leptos::html::H2>::new();
    focus_heading_when_shown(heading);
    let files = ReplyFiles::new();
    // Files need the ticket's token, which this device lacks for a request
    // that came with the customer's sign-in (the API takes tokens and grants).
    let can_attach =
        move || ticket().is_some_and(|t| t.refused.is_none()) && browser::has_file_token(id);
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if files.uploading() {
            return;
        }
        let (body, ready, waiting) = (draft.get_untracked(), files.ready(), files.waiting());
        if waiting.is_empty() {
            if browser::reply_with_files(id, &body, &ready) {
                draft.set(String::new());
                files.clear();
            }
            return;
        }
        // Some files could not be uploaded yet: the reply waits with them on
        // this device and goes, once, as soon as they can be.
        draft.set(String::new());
        browser::save_reply_draft(id, "");
        files.clear();
        leptos::task::spawn_local(async move {
            let read = read_files(waiting).await;
            browser::reply_later(id, &body, ready, read);
        });
    };
    let add = move |list: Vec<web_sys::File>| {
        let stored = ticket().is_some_and(|t| !t.waiting_to_send);
        files.add(stored.then_some(id), ui.online.get_untracked(), list);
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        if can_attach() {
            add(files_of(ev.data_transfer().and_then(|d| d.files())));
        }
    };
    let on_paste = move |ev: leptos::ev::ClipboardEvent| {
        let pasted = files_of(ev.clipboard_data().and_then(|d| d.files()));
        if !pasted.is_empty() && can_attach() {
            // A pasted screenshot is a file, not text.
            ev.prevent_default();
            add(pasted);
        }
    };
    view! {
        <section class="thread" data-testid="thread">
            <button type="button" class="link" data-testid="back" on:click=move |_| ui.screen.set(Screen::MyTickets)>
                {move || format!("← {}", t().back)}
            </button>
            {move || ticket().map(|ticket| {
                let staff_messages = browser::staff_messages(&ticket);
                let lang = ui.lang.get();
                let texts = lang.texts();
                view! {
                    <h2 data-testid="thread-subject" tabindex="-1" node_ref=heading>{ticket.subject.clone()}</h2>
                    <p class="meta">
                        <span class="status" data-testid="thread-status" data-status=ticket.status.as_str()>{texts.status(ticket.status)}</span>
                        <span data-testid="thread-tier">{texts.tier(ticket.tier)}</span>
                    </p>
                    <p class="description">{ticket.description.clone()}</p>
                    <ol class="messages" aria-live="polite">
                        {ticket.messages.into_iter().map(|m| {
                            // A hand-off, a resolution or a published article
                            // is a notice from the system, not the agent's words:
                            // said in the customer's language (the body has the
                            // site's) and shown as a notice.
                            // (One too old to be read says its body.)
                            if m.author == Author::Staff && ticket::is_system_notice(&m.id) {
                                let notice = ticket::SystemNotice::of(m.author, &m.id, &m.body);
                                let kind = notice.as_ref().map_or("notice", ticket::SystemNotice::kind);
                                let text = notice.map_or(m.body, |n| n.text(lang == crate::i18n::Lang::De));
                                return view! {
                                    <li class="message system" data-testid="message" data-author="staff" data-notice=kind>
                                        <p class="text">{text}</p>
                                        <span class="who">{format_time(m.at, lang)}</span>
                                    </li>
                                }.into_any();
                            }
                            let mine = m.author == Author::Customer;
                            let who = if mine { texts.you.to_owned() } else { format!("{} ({})", m.name, texts.support) };
                            view! {
                                <li class=if mine { "message mine" } else { "message staff" } data-testid="message" data-author=m.author.as_str()>
                                    <span class="who">{who}" · "{format_time(m.at, lang)}</span>
                                    <p class="text">{m.body}</p>
                                    <MessageFiles ticket=id files=m.files/>
                                    {m.waiting_to_send.then(|| view! { <span class="waiting" data-testid="message-waiting">{texts.waiting_to_send}</span> })}
                                </li>
                            }.into_any()
                        }).collect_view()}
                        {ui.waiting.get().into_iter().filter(|w| w.ticket == id).map(|w| view! {
                            <li class="message mine" data-testid="message-waiting-files">
                                {(!w.body.is_empty()).then(|| view! { <p class="text">{w.body.clone()}</p> })}
                                <ul class="files">
                                    {w.files.iter().map(|(name, size)| view! {
                                        <li><span class="file"><span class="file-name">{name.clone()}</span><span class="file-size">{texts.file_size(*size)}</span></span></li>
                                    }).collect_view()}
                                </ul>
                                <span class="waiting" data-testid="message-waiting">{texts.waiting_to_send}</span>
                            </li>
                        }).collect_view()}
                        {ticket.not_sent.into_iter().map(|n| view! {
                            <li class="message mine not-sent" data-testid="message-not-sent">
                                <p class="text">{n.body}</p>
                                <span class="refused">{format!("{} {}", texts.not_sent, n.reason)}</span>
                            </li>
                        }).collect_view()}
                    </ol>
                    {move || ui.staff_typing.get()
                        .filter(|typing| typing.ticket == id && typing.staff_messages == staff_messages)
                        .map(|typing| view! {
                            <p class="typing" data-testid="staff-typing" role="status">
                                {move || ui.lang.get().texts().typing(typing.name.as_deref())}
                            </p>
                        })}
                    {rating_part(id, ticket.status, ticket.rating)}
                }
            })}
            <form class=move || if asks_for_rating() { "reply" } else { "reply sticky" } on:submit=send
                on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=on_drop>
                <textarea data-testid="reply-body" rows="3" maxlength="10000"
                    placeholder=move || t().reply_placeholder aria-label=move || t().reply_placeholder
                    prop:value=move || draft.get()
                    on:paste=on_paste
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        browser::save_reply_draft(id, &value);
                        if !value.trim().is_empty() {
                            browser::typing(id);
                        }
                        draft.set(value);
                    }></textarea>
                {move || can_attach().then(|| view! { <AttachFiles files=files on_files=Callback::new(add)/> })}
                <button type="submit" class="primary" data-testid="reply-send" disabled=move || files.uploading()>{move || t().send}</button>
            </form>
        </section>
    }
}

/// "How did we do?" once a request is resolved and not rated yet; the
/// rating given, after.
fn rating_part(id: TicketId, status: Status, rating: Option<i64>) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let t = move || ui.lang.get().texts();
    let rateable = matches!(status, Status::Resolved | Status::Closed);
    match (rateable, rating) {
        (_, Some(score)) => Some(
            view! {
                <p class="rated" data-testid="rated">{move || t().rated.replace('N', &score.to_string())}</p>
            }
            .into_any(),
        ),
        (true, None) => Some(view! { <RatingForm id=id/> }.into_any()),
        (false, None) => None,
    }
}

#[component]
fn RatingForm(id: TicketId) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let t = move || ui.lang.get().texts();
    let score = RwSignal::new(None::<i64>);
    let comment = RwSignal::new(String::new());
    let missing = RwSignal::new(false);
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match score.get_untracked() {
            Some(s) => {
                browser::rate(id, s, &comment.get_untracked());
            }
            None => missing.set(true),
        }
    };
    view! {
        <form class="rating" data-testid="rating-form" on:submit=send novalidate>
            // One compact row of 1–5, a radio group underneath: Tab enters it,
            // the arrow keys move the choice; the word for the chosen score
            // (and each score's word for screen readers) beside the numbers.
            <fieldset aria-describedby=move || missing.get().then_some("rating-error")>
                <legend>{move || t().how_did_we_do}</legend>
                <div class="scores">
                    {(1..=5i64).map(|n| {
                        let word = move || t().scores[usize::try_from(n - 1).unwrap_or(0)];
                        view! {
                            <label class="score" data-testid=format!("score-{n}") title=word>
                                <input type="radio" name="score" value=n.to_string()
                                    on:change=move |_| { score.set(Some(n)); missing.set(false); }/>
                                <span class="pill" aria-hidden="true">{n}</span>
                                <span class="sr-only">{move || format!("{n} – {}", word())}</span>
                            </label>
                        }
                    }).collect_view()}
                    <span class="score-word" data-testid="score-word" aria-hidden="true">
                        {move || score.get().map(|n| t().scores[usize::try_from(n - 1).unwrap_or(0)])}
                    </span>
                </div>
            </fieldset>
            <textarea data-testid="rating-comment" rows="2" maxlength="10000"
                aria-label=move || t().rating_comment placeholder=move || t().rating_comment
                prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
            {move || missing.get().then(|| view! { <p class="error" role="alert" id="rating-error">{t().choose_score}</p> })}
            <button type="submit" class="primary" data-testid="send-rating">{move || t().send_rating}</button>
        </form>
    }
}
