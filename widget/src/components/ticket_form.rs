//! `TicketForm`: subject, description, optional email and topic. The draft is
//! saved as the customer types, so a reload or crash loses nothing.

use leptos::prelude::*;

use super::attachments::{read_files, AttachFiles, ReplyFiles};
use super::focus::ViewHeading;
use super::search_results::SearchResults;
use leptos::task::spawn_local_scoped_with_cancellation;

use crate::browser;
use crate::ui::{Hit, Screen, Ui};

const SUGGESTIONS: usize = 5;
const SUGGEST_AFTER_MS: i32 = 300;

/// The words to suggest articles for: the subject and the end of the description.
fn suggestion_query(form: &Form) -> String {
    let text = format!("{} {}", form.subject, form.description);
    let words: Vec<&str> = text.split_whitespace().collect();
    words[words.len().saturating_sub(6)..].join(" ")
}
use crate::state::tickets::{FormError, TicketForm as Form};

#[component]
pub fn TicketForm() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let t = move || ui.lang.get().texts();
    let form = RwSignal::new(browser::draft());
    // The host page prefilled the draft (`Stufe('prefill', …)`) while the form is shown.
    Effect::new(move |first: Option<()>| {
        ui.draft_version.track();
        if first.is_some() {
            form.set(browser::draft());
        }
    });
    let error = RwSignal::new(None::<FormError>);
    let suggestions = RwSignal::new(Vec::<Hit>::new());
    // Suggest articles as the customer describes the problem (any word may match).
    Effect::new(move |_| {
        let q = form.with(suggestion_query);
        ui.kb.track();
        if q.chars().count() < 3 {
            suggestions.set(Vec::new());
            return;
        }
        // Belongs to this effect run: cancelled by more typing or by leaving the form.
        spawn_local_scoped_with_cancellation(async move {
            browser::sleep(SUGGEST_AFTER_MS).await;
            if form.try_with_untracked(suggestion_query).as_ref() != Some(&q) {
                return;
            }
            let mut found = Vec::new();
            for word in q.split_whitespace().rev() {
                for hit in browser::search(word.to_owned(), SUGGESTIONS, false).await {
                    if found.len() < SUGGESTIONS && !found.iter().any(|h: &Hit| h.id == hit.id) {
                        found.push(hit);
                    }
                }
            }
            if form.try_with_untracked(suggestion_query).as_ref() == Some(&q) {
                let _ = suggestions.try_set(found);
            }
        });
    });
    let edit = move |apply: fn(&mut Form, String)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            form.update(|f| apply(f, value));
            browser::save_draft(&form.get_untracked());
            // Once the customer was told what is missing, the message follows
            // the form: it goes as soon as its field is right (or moves to
            // the next field that is not).
            if error.get_untracked().is_some() {
                error.set(form.with_untracked(|f| f.validate().err()));
            }
        }
    };
    // Files for a new request wait on the device until it has reached us,
    // then go as the first message of its thread.
    let files = ReplyFiles::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match browser::submit_ticket(&form.get_untracked()) {
            Ok(id) => {
                let waiting = files.waiting();
                files.clear();
                if !waiting.is_empty() {
                    leptos::task::spawn_local(async move {
                        let read = read_files(waiting).await;
                        browser::reply_later(id, "", Vec::new(), read);
                    });
                }
                let texts = t();
                let message = if browser::is_connected() {
                    texts.submitted
                } else {
                    texts.submitted_offline
                };
                // The notice is about the list the customer lands on.
                ui.screen.set(Screen::MyTickets);
                browser::notify(message.to_owned());
                form.set(Form::default());
                error.set(None);
            }
            Err(err) => error.set(Some(err)),
        }
    };
    // The message sits right below its own field.
    let error_for = move |field: FormError| {
        move || {
            (error.get() == Some(field)).then(|| {
                let texts = t();
                let text = match field {
                    FormError::MissingSubject => texts.missing_subject,
                    FormError::MissingDescription => texts.missing_description,
                    FormError::BadEmail => texts.bad_email,
                    FormError::MissingCategory => texts.missing_category,
                };
                view! { <span class="error" role="alert" id="form-error" data-testid="form-error">{text}</span> }
            })
        }
    };
    let categories = move || ui.config.get().map(|c| c.categories).unwrap_or_default();
    // Each error belongs to one field: that field is marked invalid and
    // described by the message, so screen readers read them together.
    let invalid = move |field: FormError| move || error.get() == Some(field);
    let described =
        move |field: FormError| move || (error.get() == Some(field)).then_some("form-error");
    let needs_sign_in =
        move || ui.config.get().is_some_and(|c| c.identity_required) && !ui.signed_in.get();
    view! {
        <ViewHeading text=|t| t.new_ticket/>
        <Show when=move || !needs_sign_in() fallback=move || view! {
            <p class="empty" data-testid="sign-in-required">{move || t().sign_in_required}</p>
        }>
        <form class="ticket-form" data-testid="ticket-form" on:submit=submit novalidate>
            <label>
                <span>{move || t().subject}</span>
                <input type="text" data-testid="subject" maxlength="200" required
                    aria-invalid=move || invalid(FormError::MissingSubject)().to_string()
                    aria-describedby=described(FormError::MissingSubject)
                    prop:value=move || form.with(|f| f.subject.clone()) on:input=edit(|f, v| f.subject = v)/>
                {error_for(FormError::MissingSubject)}
            </label>
            <label>
                <span>{move || t().category}</span>
                <select data-testid="category" required
                    aria-invalid=move || invalid(FormError::MissingCategory)().to_string()
                    aria-describedby=described(FormError::MissingCategory)
                    prop:value=move || form.with(|f| f.category.clone()) on:change=edit(|f, v| f.category = v)>
                    <option value="">{move || t().choose_category}</option>
                    {move || {
                        let lang = ui.lang.get();
                        let chosen = form.with_untracked(|f| f.category.clone());
                        categories().into_iter().map(|c| {
                            let label = if lang == crate::i18n::Lang::De { c.label_de } else { c.label_en };
                            let selected = c.id == chosen;
                            view! { <option value=c.id selected=selected>{label}</option> }
                        }).collect_view()
                    }}
                </select>
                {error_for(FormError::MissingCategory)}
            </label>
            <label>
                <span>{move || t().description}</span>
                <textarea data-testid="description" rows="5" maxlength="10000" required
                    aria-invalid=move || invalid(FormError::MissingDescription)().to_string()
                    aria-describedby=described(FormError::MissingDescription)
                    prop:value=move || form.with(|f| f.description.clone()) on:input=edit(|f, v| f.description = v)></textarea>
                {error_for(FormError::MissingDescription)}
            </label>
            <label>
                <span>{move || t().email_optional}</span>
                <input type="email" data-testid="email" autocomplete="email"
                    aria-invalid=move || invalid(FormError::BadEmail)().to_string()
                    aria-describedby=described(FormError::BadEmail)
                    prop:value=move || form.with(|f| f.email.clone()) on:input=edit(|f, v| f.email = v)/>
                {error_for(FormError::BadEmail)}
            </label>
            <AttachFiles files=files on_files=Callback::new(move |list| files.add(None, false, list))/>
            // The site's privacy notice, before anything is sent.
            {move || ui.config.get().and_then(|c| c.privacy_url).map(|url| view! {
                <p class="privacy" data-testid="privacy-notice">{t().privacy_before}" "
                    <a href=url target="_blank" rel="noopener noreferrer">{t().privacy_link}</a></p>
            })}
            <button type="submit" class="primary" data-testid="submit">{move || t().submit}</button>
            // Below the button: suggestions appear while the customer types, and
            // nothing may move the submit button under their pointer.
            {move || {
                let found = suggestions.get();
                (!found.is_empty()).then(|| view! {
                    <div class="suggestions" data-testid="suggestions" aria-live="polite">
                        <p>{t().suggestions}</p>
                        <SearchResults hits=found suggested=true testid="kb-suggestion"/>
                    </div>
                })
            }}
        </form>
        </Show>
    }
}
