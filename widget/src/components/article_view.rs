//! `ArticleView`: one article (server-sanitised HTML), "Was this helpful?", and
//! the way back. A new version published while it is open replaces it live.

use leptos::prelude::*;

use leptos::task::spawn_local_scoped_with_cancellation;

use super::focus::focus_heading_when_shown;
use crate::browser;
use crate::state::knowledge::ArticleCopy;
use crate::ui::{Screen, Ui};

#[component]
pub fn ArticleView(id: String, suggested: bool) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let t = move || ui.lang.get().texts();
    let article = RwSignal::new(None::<ArticleCopy>);
    let missing = RwSignal::new(false);
    let voted = RwSignal::new(false);
    let heading = NodeRef::<leptos::html::H2>::new();
    focus_heading_when_shown(heading);
    ui.read_article.set(Some(id.clone()));
    let load_id = id.clone();
    Effect::new(move |_| {
        // Reload when the catalogue shows a new version (or removal) of this article.
        let listed = ui
            .kb
            .with(|kb| kb.iter().find(|e| e.id == load_id).map(|e| e.version));
        let id = load_id.clone();
        // Cancelled when the article is closed or reloaded; late results are dropped.
        spawn_local_scoped_with_cancellation(async move {
            match browser::article(id).await {
                Some(copy) if listed.is_none_or(|v| i64::from(copy.version) >= v) => {
                    let _ = missing.try_set(false);
                    let _ = article.try_set(Some(copy));
                }
                Some(copy) => {
                    let _ = article.try_set(Some(copy));
                }
                None => {
                    let _ = missing.try_set(true);
                }
            }
        });
    });
    let back = move |_| {
        ui.screen.set(if suggested {
            Screen::NewTicket
        } else {
            Screen::Help
        })
    };
    let vote_id = id.clone();
    let vote = move |helpful: bool| {
        browser::vote(vote_id.clone(), helpful);
        voted.set(true);
    };
    let vote_no = vote.clone();
    view! {
        <article class="article" data-testid="article">
            <button type="button" class="link" data-testid="back" on:click=back>{move || format!("← {}", t().back)}</button>
            {move || missing.get().then(|| view! { <p class="empty">{t().article_missing}</p> })}
            {move || article.get().map(|a| view! {
                <h2 data-testid="article-title" tabindex="-1" node_ref=heading>{a.title}</h2>
                <div class="article-body" data-testid="article-body" inner_html=a.html></div>
            })}
            <div class="helpful">
                {move || if voted.get() {
                    view! { <p data-testid="helpful-thanks">{t().thanks_feedback}</p> }.into_any()
                } else {
                    let (yes, no) = (vote.clone(), vote_no.clone());
                    view! {
                        <span>{t().was_helpful}</span>
                        <button type="button" data-testid="helpful-yes" on:click=move |_| yes(true)>{t().yes}</button>
                        <button type="button" data-testid="helpful-no" on:click=move |_| no(false)>{t().no}</button>
                    }.into_any()
                }}
            </div>
        </article>
    }
}
