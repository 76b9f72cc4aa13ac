//! `SearchResults`: a list of knowledge-base hits; choosing one opens the article.

use leptos::prelude::*;

use crate::ui::{Hit, Screen, Ui};

#[component]
pub fn SearchResults(hits: Vec<Hit>, suggested: bool, testid: &'static str) -> impl IntoView {
    let ui = expect_context::<Ui>();
    view! {
        <ul class="kb-results">
            {hits.into_iter().map(|hit| {
                let id = hit.id.clone();
                let open = move |_| ui.screen.set(Screen::Article { id: id.clone(), suggested });
                view! {
                    <li>
                        <button type="button" class="kb-result" data-testid=testid data-article-id=hit.id.clone() on:click=open>
                            <span class="subject">{hit.title}</span>
                            // Escaped by the server; only <mark> is markup.
                            {hit.snippet_html.map(|html| view! { <span class="snippet" inner_html=html></span> })}
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
