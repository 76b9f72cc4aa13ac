//! `Help`: search the knowledge base as you type, or browse it by category.
//! Results follow publishing live: a change to the synced catalogue re-runs the search.

use leptos::prelude::*;

use super::focus::ViewHeading;
use super::search_results::SearchResults;
use leptos::task::spawn_local_scoped_with_cancellation;

use crate::browser;
use crate::ui::{Hit, Screen, Ui};

const DEBOUNCE_MS: i32 = 150;

#[component]
pub fn Help() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let t = move || ui.lang.get().texts();
    let query = ui.query;
    // Each visit of the Help tab starts with an empty search, unless one was
    // carried in (from the help shell or the host page's `Stufe('search', …)`).
    on_cleanup(move || {
        let _ = query.try_set(String::new());
    });
    let hits = RwSignal::new(None::<Vec<Hit>>);
    // Search when the query settles, and again whenever the knowledge base
    // changes. The task belongs to this effect run: typing again or leaving the
    // screen cancels it, and it touches this screen's signals only with `try_*`.
    Effect::new(move |_| {
        let q = query.get();
        ui.kb.track();
        if q.trim().is_empty() {
            hits.set(None);
            return;
        }
        spawn_local_scoped_with_cancellation(async move {
            browser::sleep(DEBOUNCE_MS).await;
            if query.try_get_untracked().as_ref() != Some(&q) {
                return;
            }
            let found = browser::search(q.clone(), 10, true).await;
            if query.try_get_untracked().as_ref() == Some(&q) {
                let _ = hits.try_set(Some(found));
            }
        });
    });
    let categories = move || {
        let config = ui.config.get();
        let lang = ui.lang.get();
        let entries = ui.kb.get();
        config
            .map(|c| c.categories)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| {
                let articles: Vec<_> = entries
                    .iter()
                    .filter(|e| e.category == c.id)
                    .cloned()
                    .collect();
                let label = if lang == crate::i18n::Lang::De {
                    c.label_de
                } else {
                    c.label_en
                };
                (!articles.is_empty()).then_some((label, articles))
            })
            .collect::<Vec<_>>()
    };
    view! {
        <section class="help">
            <ViewHeading text=|t| t.help/>
            <input type="search" class="kb-search" data-testid="kb-search" autocomplete="off"
                placeholder=move || t().search_placeholder aria-label=move || t().search_placeholder
                prop:value=move || query.get() on:input=move |ev| query.set(event_target_value(&ev))/>
            {move || match hits.get() {
                Some(found) if found.is_empty() => view! {
                    <p class="empty" data-testid="kb-no-results">{t().no_results}</p>
                    <button type="button" class="link" on:click=move |_| ui.screen.set(Screen::NewTicket)>{t().ask_us}</button>
                }.into_any(),
                Some(found) => view! { <SearchResults hits=found suggested=false testid="kb-result"/> }.into_any(),
                None if ui.kb.with(Vec::is_empty) => view! {
                    <p class="empty" data-testid="kb-empty">{t().kb_empty}</p>
                    <button type="button" class="link" on:click=move |_| ui.screen.set(Screen::NewTicket)>{t().ask_us}</button>
                }.into_any(),
                None => view! {
                    <div class="kb-browse">
                        {categories().into_iter().map(|(label, articles)| view! {
                            <h2 class="kb-category" data-testid="kb-category">{label}</h2>
                            <ul class="kb-results">
                                {articles.into_iter().map(|e| {
                                    let id = e.id.clone();
                                    view! {
                                        <li><button type="button" class="link" data-testid="kb-article-link"
                                            on:click=move |_| ui.screen.set(Screen::Article { id: id.clone(), suggested: false })>
                                            {e.title}
                                        </button></li>
                                    }
                                }).collect_view()}
                            </ul>
                        }).collect_view()}
                    </div>
                }.into_any(),
            }}
        </section>
    }
}
