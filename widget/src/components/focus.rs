//! Where keyboard focus goes when a view is shown: to the view's heading, so
//! keyboard and screen-reader users start at the top of what just appeared
//! (after opening an article or a request, going back, or sending a request).
//! A view reached through its tab leaves focus on the tab (WAI-ARIA tabs).

use leptos::prelude::*;

use crate::i18n::Texts;
use crate::ui::Ui;

/// Focuses `heading` once, when it first appears, unless the view was
/// reached through its tab or the panel is closed.
pub fn focus_heading_when_shown(heading: NodeRef<leptos::html::H2>) {
    let ui = expect_context::<Ui>();
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        let Some(h2) = heading.get() else {
            return false;
        };
        if ui.nav_by_tab.get_untracked() {
            ui.nav_by_tab.set(false);
        } else if ui.open.get_untracked() {
            let _ = h2.focus();
        }
        true
    });
}

/// A view's heading for views without a visible one: read by screen readers
/// and focused when the view appears, not shown.
#[component]
pub fn ViewHeading(text: fn(&Texts) -> &'static str) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let heading = NodeRef::<leptos::html::H2>::new();
    focus_heading_when_shown(heading);
    view! {
        <h2 class="sr-only" tabindex="-1" data-testid="view-heading" node_ref=heading>
            {move || text(ui.lang.get().texts())}
        </h2>
    }
}
