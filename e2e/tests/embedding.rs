//! End-to-end: the widget on a host page of a careful owner, whose
//! Content-Security-Policy allows scripts only from itself and Stufe, frames
//! only from Stufe, styles only from itself, and nothing inline but the
//! README's `Stufe` stub (by the hash the README gives).

use anyhow::{ensure, Result};
use fantoccini::Locator;
use stufe_e2e::{finish, Browser, HostSite, Stufe};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_works_on_a_host_page_with_a_strict_policy_and_violates_none() -> Result<()> {
    let stufe = Stufe::start().await?;
    let host = HostSite::start_strict(&stufe).await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        // The launcher is styled (its stylesheet is not inline CSS).
        let width = browser
            .client
            .execute(
                "return getComputedStyle(document.getElementById('stufe-widget').shadowRoot.querySelector('button')).width;",
                vec![],
            )
            .await?;
        ensure!(width == "56px", "the launcher is unstyled: width {width}");
        // The frame runs its wasm, syncs over its socket and stores the ticket.
        browser.open_widget().await?;
        browser
            .submit_ticket("Strict page", "Sent from a page with a strict policy.")
            .await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        browser.client.enter_parent_frame().await?;
        // The README's inline stub ran under the policy (by its hash) and
        // queued a handler before the loader arrived.
        let queued = browser
            .client
            .execute("return window.openedViaQueue === true;", vec![])
            .await?;
        ensure!(queued == true, "the call queued through the stub did not run");
        let violations = browser
            .client
            .execute("return window.violations;", vec![])
            .await?;
        ensure!(
            violations.as_array().is_some_and(Vec::is_empty),
            "the host page saw policy violations: {violations}"
        );
        // The frame's own policy: nothing it loads or runs is refused.
        let refused: Vec<_> = browser
            .log()
            .await?
            .into_iter()
            .filter(|e| e.message.contains("Content Security Policy"))
            .collect();
        ensure!(refused.is_empty(), "refused by a policy: {refused:#?}");
        Ok(())
    }
    .await;
    finish(browser, &stufe, "strict-policy", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_works_before_the_widget_has_loaded_and_the_widget_carries_on_with_it() -> Result<()> {
    let stufe = Stufe::start().await?;
    stufe
        .publish("returns", "Returns", "Send the parcel back within 30 days.")
        .await?;
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch().await?;
    // Later the test starts the widget again by hand, with an injected script.
    browser.bypass_content_security_policy().await?;
    let result = async {
        // The widget's wasm (with the CRDT engine) does not arrive.
        browser.block_urls(&["*.wasm"]).await?;
        browser.client.goto(&host.url()).await?;
        let launcher = browser.wait_for(Locator::Css("#stufe-widget")).await?;
        launcher
            .shadow_root()
            .await?
            .find(Locator::Css("[data-testid=launcher]"))
            .await?
            .click()
            .await?;
        browser.in_launcher("iframe.open").await?.enter_frame().await?;
        // The Help tab is usable all the same: search, results, the article.
        browser
            .wait_for(Locator::Css("[data-testid=shell-search]"))
            .await?
            .send_keys("parc")
            .await?;
        browser
            .wait_for(Locator::Css("[data-testid=shell-result]"))
            .await?
            .click()
            .await?;
        let heading = browser.wait_for(Locator::Css("#stufe-shell article h2")).await?;
        ensure!(heading.text().await? == "Returns");
        ensure!(
            browser
                .client
                .find(Locator::Css("[data-testid=kb-search]"))
                .await
                .is_err(),
            "the widget itself has not started"
        );
        browser.click("#stufe-shell article button.link").await?;

        // The wasm arrives after all: the widget takes the shell's place and
        // carries on with the search typed there.
        browser.block_urls(&[]).await?;
        browser
            .client
            .execute(
                "const again = document.createElement('script');
                 again.src = document.querySelector('script[src*=boot-]').src + '?again';
                 document.body.appendChild(again); return true;",
                vec![],
            )
            .await?;
        browser
            .wait_script(
                "const search = document.querySelector('[data-testid=kb-search]');
                 return !!search && search.value === 'parc' && !document.getElementById('stufe-shell')
                   && !!document.querySelector('[data-testid=kb-result]');",
            )
            .await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "help-shell", result).await
}

/// In the widget's frame: the names of what it fetched.
const FRAME_FETCHED: &str =
    "return performance.getEntriesByType('resource').map(e => new URL(e.name).pathname);";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_time_visitor_who_never_opens_it_gets_only_the_frames_start_up() -> Result<()> {
    let stufe = Stufe::start().await?;
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.wait_for(Locator::Css("#stufe-widget")).await?;
        // The loader fetches its panel (which makes the frame) once the page
        // has loaded and the browser is idle; the frame's start-up passes the
        // site's launcher settings on and looks at the frame's storage.
        browser.wait_script(FRAME_REQUESTED).await?;
        let before_load = browser
            .client
            .execute(
                "const load = performance.getEntriesByType('navigation')[0].loadEventStart;
                 return performance.getEntriesByType('resource')
                   .filter(e => e.name.includes('/w/') && e.startTime < load)
                   .map(e => new URL(e.name).pathname);",
                vec![],
            )
            .await?;
        ensure!(
            before_load == serde_json::json!([]),
            "fetched from Stufe before the host page's load event, beside the loader: {before_load}"
        );
        browser.enter_closed_or_open_widget_frame().await?;
        browser
            .wait_script("return performance.getEntriesByType('resource').some(e => e.name.includes('/config'));")
            .await?;
        // Idle a while longer: nothing else arrives — not the Help shell, not
        // the widget.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        let fetched = browser.client.execute(FRAME_FETCHED, vec![]).await?;
        let fetched: Vec<String> = serde_json::from_value(fetched)?;
        let more: Vec<&String> = fetched
            .iter()
            .filter(|p| !(p.contains("/boot-") || p.ends_with("/config")))
            .collect();
        ensure!(
            more.is_empty(),
            "a first-time visitor's closed frame fetched {more:?} (all: {fetched:?})"
        );
        ensure!(
            browser
                .client
                .find(Locator::Css("[data-testid=help-shell]"))
                .await
                .is_err(),
            "the Help shell is there before the panel opened"
        );
        // Nothing written: no database, no keys, no service worker. The wasm
        // (the only code that opens the WebSocket) never ran.
        let stored = browser
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 Promise.all([indexedDB.databases(), navigator.serviceWorker.getRegistrations()])
                   .then(([dbs, workers]) => done({ dbs: dbs.map(d => d.name), workers: workers.length,
                     keys: localStorage.length, started: !!document.querySelector('[data-testid=kb-search]') }));",
                vec![],
            )
            .await?;
        ensure!(
            stored == serde_json::json!({ "dbs": [], "workers": 0, "keys": 0, "started": false }),
            "the frame wrote or started something: {stored}"
        );
        // The launcher gets focus (or the pointer): the Help shell is fetched
        // ahead of the click, the widget is not.
        browser.client.enter_parent_frame().await?;
        browser
            .client
            .execute(
                "document.getElementById('stufe-widget').shadowRoot
                   .querySelector('[data-testid=launcher]').focus(); return true;",
                vec![],
            )
            .await?;
        browser.enter_closed_or_open_widget_frame().await?;
        browser
            .wait_for(Locator::Css("[data-testid=help-shell]"))
            .await?;
        let fetched = browser.client.execute(FRAME_FETCHED, vec![]).await?;
        let fetched: Vec<String> = serde_json::from_value(fetched)?;
        ensure!(
            !fetched.iter().any(|p| p.ends_with(".wasm")),
            "the widget was fetched on focus: {fetched:?}"
        );
        // Opening it starts the widget: the ticket form becomes usable.
        browser.client.enter_parent_frame().await?;
        browser.open_widget().await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "first-visit", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_customer_gets_the_widget_at_idle_and_the_badge_without_opening() -> Result<()>
{
    let stufe = Stufe::start().await?;
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch().await?;
    let badge = "const badge = document.getElementById('stufe-widget').shadowRoot
        .querySelector('[data-testid=unread]');";
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.open_widget().await?;
        browser
            .submit_ticket("Back later", "I will come back for the answer.")
            .await?;
        let id = browser.ticket_id("Back later").await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        // The customer comes back to the page and does not open the widget:
        // the frame finds their request in its storage and connects.
        browser.client.enter_parent_frame().await?;
        browser.client.goto(&host.url()).await?;
        browser.wait_script(FRAME_REQUESTED).await?;
        browser.enter_closed_or_open_widget_frame().await?;
        browser
            .wait_script("return performance.getEntriesByType('resource').some(e => e.name.endsWith('.wasm'));")
            .await?;
        browser.client.enter_parent_frame().await?;
        stufe
            .staff_send(
                reqwest::Method::POST,
                &format!("/api/staff/tickets/{id}/messages"),
                serde_json::json!({ "body": "Here is your answer." }),
            )
            .await?;
        browser
            .wait_script(&format!(
                "{badge} return !badge.hidden && badge.textContent === '1';"
            ))
            .await?;
        let expanded = browser.launcher_attribute("aria-expanded").await?;
        ensure!(
            expanded.as_deref() == Some("false"),
            "the panel was opened: {expanded:?}"
        );
        Ok(())
    }
    .await;
    finish(browser, &stufe, "returning", result).await
}

/// On the host page: whether the widget's frame was requested.
const FRAME_REQUESTED: &str =
    "return performance.getEntriesByType('resource').some(e => e.name.includes('/w/frame.html'));";

/// On the host page: whether anything but the loader was fetched from Stufe
/// (its panel.js, the frame).
const BEYOND_THE_LOADER: &str =
    "return performance.getEntriesByType('resource').some(e => e.name.includes('/w/'));";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_load_on_click_nothing_loads_until_the_customer_or_the_owner_says_so() -> Result<()> {
    let stufe = Stufe::start().await?;
    let host = HostSite::start_with_tag(&stufe, "", r#"data-load="click""#).await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.wait_for(Locator::Css("#stufe-widget")).await?;
        // Wait until the browser has been idle after the loader's idle callback
        // (registered earlier, so it ran before this one).
        browser
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 requestIdleCallback(() => setTimeout(done, 100), { timeout: 10000 });",
                vec![],
            )
            .await?;
        let requested = browser.client.execute(BEYOND_THE_LOADER, vec![]).await?;
        ensure!(
            requested == false,
            "more than the loader was fetched before any click"
        );

        // The owner's consent: preloading starts (the panel stays closed).
        // A page that kept the loader's `Stufe` keeps reaching the widget
        // once the rest of the loader has taken over.
        browser
            .client
            .execute(
                "window.keptStufe = Stufe; Stufe('consent'); return true;",
                vec![],
            )
            .await?;
        browser.wait_script(FRAME_REQUESTED).await?;
        browser
            .client
            .execute(
                "keptStufe('on', 'open', () => { window.openedSeen = true; }); return keptStufe !== Stufe;",
                vec![],
            )
            .await?;
        browser.open_widget().await?;
        browser.client.enter_parent_frame().await?;
        ensure!(
            browser.client.execute("return window.openedSeen === true;", vec![]).await? == true,
            "a handler added through the kept Stufe was not called on open"
        );
        Ok(())
    }
    .await;
    finish(browser, &stufe, "load-on-click", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_while_the_loaders_panel_cannot_load_leaves_the_next_click_to_open_it() -> Result<()>
{
    let stufe = Stufe::start().await?;
    let host = HostSite::start_with_tag(&stufe, "", r#"data-load="click""#).await?;
    let browser = Browser::launch().await?;
    let shadow_root = "document.getElementById('stufe-widget').shadowRoot";
    let result = async {
        // The rest of the loader (panel.js) cannot be fetched for now.
        browser.block_urls(&["*/w/panel.js*"]).await?;
        browser.client.goto(&host.url()).await?;
        let button = browser.in_launcher("[data-testid=launcher]").await?;
        browser
            .client
            .execute(
                &format!(
                    "{shadow_root}.addEventListener('error', () => {{ window.panelFailed = true; }}, true);
                     return true;"
                ),
                vec![],
            )
            .await?;
        button.click().await?;
        browser.wait_script("return window.panelFailed === true;").await?;
        // Reachable again: the next click opens the panel, and it stays open
        // (the first click is not taken as a second toggle).
        browser.block_urls(&[]).await?;
        button.click().await?;
        browser
            .wait_script(&format!(
                "return !!{shadow_root}.querySelector('iframe.open');"
            ))
            .await?;
        browser.enter_closed_or_open_widget_frame().await?;
        browser
            .wait_for(Locator::Css("[data-testid=new-ticket-tab]"))
            .await?;
        browser.client.enter_parent_frame().await?;
        let open = browser.launcher_attribute("aria-expanded").await?;
        ensure!(
            open.as_deref() == Some("true"),
            "the panel did not stay open: aria-expanded {open:?}"
        );
        Ok(())
    }
    .await;
    finish(browser, &stufe, "panel-unreachable", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_js_api_hides_the_launcher_warns_once_about_unknown_commands_and_survives_a_new_body(
) -> Result<()> {
    let stufe = Stufe::start().await?;
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch().await?;
    let launcher_display = "return getComputedStyle(document.getElementById('stufe-widget')
        .shadowRoot.querySelector('[data-testid=launcher]')).display;";
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.wait_for(Locator::Css("#stufe-widget")).await?;
        browser
            .client
            .execute("Stufe('hideLauncher'); return true;", vec![])
            .await?;
        ensure!(browser.client.execute(launcher_display, vec![]).await? == "none");
        browser
            .client
            .execute("Stufe('showLauncher'); return true;", vec![])
            .await?;
        ensure!(browser.client.execute(launcher_display, vec![]).await? == "flex");

        browser.log().await?; // start the log afresh
        browser
            .client
            .execute(
                "Stufe('boot'); Stufe('boot'); Stufe('update'); return true;",
                vec![],
            )
            .await?;
        // The warnings come from the loader's panel: at once if it runs
        // already, else when it runs (at idle) and takes the queued calls.
        let unknown_commands = |log: Vec<stufe_e2e::LogEntry>| {
            log.into_iter()
                .filter(|e| e.message.contains("unknown command"))
        };
        let mut warnings = Vec::new();
        let since = std::time::Instant::now();
        loop {
            let panel_ran = browser.client.execute(FRAME_REQUESTED, vec![]).await? == true;
            warnings.extend(unknown_commands(browser.log().await?));
            if panel_ran && warnings.len() >= 2 || since.elapsed().as_secs() > 20 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // A third (a repeated name warned again) would be in the log by now.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        warnings.extend(unknown_commands(browser.log().await?));
        ensure!(
            warnings.len() == 2,
            "one warning per unknown command: {warnings:#?}"
        );

        // Turbo-style navigation swaps <body>: the launcher comes back and works.
        browser
            .client
            .execute(
                "const body = document.createElement('body');
                 body.innerHTML = '<h1>Next page</h1>';
                 document.body.replaceWith(body); return true;",
                vec![],
            )
            .await?;
        browser
            .wait_script("return !!document.getElementById('stufe-widget');")
            .await?;
        browser.open_widget().await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "js-api", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_reply_while_the_widget_is_closed_shows_an_unread_badge_until_opened() -> Result<()>
{
    let stufe = Stufe::start().await?;
    // The host page listens to every event the JS API offers.
    let script = format!(
        "{QUEUE}\nwindow.events = [];\
         ['open', 'close', 'unread', 'message'].forEach(function (name) {{\
           Stufe('on', name, function (e) {{ window.events.push(name + ' ' + JSON.stringify(e)); }});\
         }});"
    );
    let host = HostSite::start_with(&stufe, &script).await?;
    let browser = Browser::launch().await?;
    let badge = "const badge = document.getElementById('stufe-widget').shadowRoot
        .querySelector('[data-testid=unread]');";
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.open_widget().await?;
        browser
            .submit_ticket("Badge please", "Tell me when you answer.")
            .await?;
        let id = browser.ticket_id("Badge please").await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        browser.client.enter_parent_frame().await?;
        browser
            .client
            .execute("Stufe('close'); return true;", vec![])
            .await?;
        stufe
            .staff_send(
                reqwest::Method::POST,
                &format!("/api/staff/tickets/{id}/messages"),
                serde_json::json!({ "body": "We are on it." }),
            )
            .await?;
        browser
            .wait_script(&format!(
                "{badge} return !badge.hidden && badge.textContent === '1';"
            ))
            .await?;
        let label = browser.launcher_attribute("aria-label").await?;
        ensure!(
            label.as_deref() == Some("Support – 1 new reply"),
            "launcher label: {label:?}"
        );
        browser
            .wait_script(&format!(
                "return window.events.includes('message {{\"id\":\"{id}\"}}')
                    && window.events.includes('unread {{\"count\":1}}')
                    && window.events.includes('open {{}}') && window.events.includes('close {{}}');"
            ))
            .await?;
        // Opening the panel shows the reply: the badge goes. A handler taken
        // off hears nothing more.
        browser
            .client
            .execute(
                "Stufe('off', 'unread'); Stufe('open'); return true;",
                vec![],
            )
            .await?;
        browser
            .wait_script(&format!("{badge} return badge.hidden;"))
            .await?;
        let events = browser
            .client
            .execute("return window.events;", vec![])
            .await?;
        ensure!(
            !events.to_string().contains(r#"unread {\"count\":0}"#),
            "an unread handler was called after Stufe('off'): {events}"
        );
        Ok(())
    }
    .await;
    finish(browser, &stufe, "unread", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_closes_the_panel_right_after_opening_and_the_frame_speaks_its_language(
) -> Result<()> {
    let stufe = Stufe::start().await?;
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.open_widget().await?;
        // Focus went to the panel's heading when it opened.
        browser
            .wait_script("return document.activeElement && document.activeElement.id === 'stufe-title';")
            .await?;
        let lang = browser
            .client
            .execute("return document.documentElement.lang;", vec![])
            .await?;
        ensure!(lang == "en" || lang == "de", "the frame's <html lang> is {lang}");
        let dialog = browser
            .client
            .execute(
                "const d = document.querySelector('[role=dialog]');
                 return d && d.getAttribute('aria-labelledby');",
                vec![],
            )
            .await?;
        ensure!(dialog == "stufe-title", "the panel is a labelled dialog: {dialog}");
        // Escape, with nothing clicked inside yet, closes it.
        browser
            .client
            .active_element()
            .await?
            .send_keys("\u{E00C}")
            .await?;
        browser.client.enter_parent_frame().await?;
        browser
            .wait_script(
                "return !document.getElementById('stufe-widget').shadowRoot.querySelector('iframe.open');",
            )
            .await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "escape", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_page_can_open_a_search_or_an_article_in_the_widget() -> Result<()> {
    let stufe = Stufe::start().await?;
    stufe
        .publish("returns", "Returns", "Send the parcel back within 30 days.")
        .await?;
    // Called before the loader has arrived: queued, then run once the widget is up.
    let host = HostSite::start_with(
        &stufe,
        "window.Stufe = window.Stufe || function () { (Stufe.q = Stufe.q || []).push(arguments); };
         Stufe('search', 'parcel');",
    )
    .await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.enter_widget_frame().await?;
        browser
            .wait_script(
                "const s = document.querySelector('[data-testid=kb-search]');
                 return !!s && s.value === 'parcel' && !!document.querySelector('[data-testid=kb-result]');",
            )
            .await?;
        browser.client.enter_parent_frame().await?;
        browser
            .client
            .execute("Stufe('showArticle', 'returns'); return true;", vec![])
            .await?;
        browser.enter_widget_frame().await?;
        browser
            .wait_script("return [...document.querySelectorAll('h2')].some(h => h.textContent === 'Returns');")
            .await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "host-commands", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tabs_are_tabs_arrow_keys_move_between_them() -> Result<()> {
    let stufe = Stufe::start().await?;
    let browser = Browser::launch().await?;
    // Waits until the focused element is the tab `testid`, selected, and the
    // panel is labelled by it.
    let focused_tab = |testid: &str| {
        format!(
            "const a = document.activeElement;
             return a.getAttribute('data-testid') === '{testid}'
               && a.getAttribute('aria-selected') === 'true'
               && document.querySelector('[role=tabpanel]').getAttribute('aria-labelledby') === 'tab-{testid}';"
        )
    };
    let result = async {
        browser.client.goto(&stufe.demo_url()).await?;
        browser.open_widget().await?;
        browser.click("[data-testid=help-tab]").await?;
        browser.wait_script(&focused_tab("help-tab")).await?;
        for (key, testid) in [
            ("\u{E014}", "new-ticket-tab"), // ArrowRight
            ("\u{E011}", "help-tab"),       // Home
            ("\u{E012}", "my-tickets-tab"), // ArrowLeft wraps to the last tab
            ("\u{E014}", "help-tab"),       // ArrowRight wraps to the first
            ("\u{E010}", "my-tickets-tab"), // End
        ] {
            browser
                .client
                .active_element()
                .await?
                .send_keys(key)
                .await?;
            browser.wait_script(&focused_tab(testid)).await?;
        }
        // Only the selected tab is in the Tab order.
        let in_tab_order = browser
            .client
            .execute(
                "return document.querySelectorAll('[role=tab][tabindex=\"0\"]').length;",
                vec![],
            )
            .await?;
        ensure!(in_tab_order == 1, "tabs in the Tab order: {in_tab_order}");
        Ok(())
    }
    .await;
    finish(browser, &stufe, "tabs", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_an_origin_the_site_does_not_allow_gets_no_widget_and_a_clear_message(
) -> Result<()> {
    let stufe = Stufe::start().await?;
    stufe.create_site("shop", &["https://shop.example"]).await?;
    let host = HostSite::start_for_site(&stufe, "shop").await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        let root = browser
            .wait_for(Locator::Css("#stufe-widget"))
            .await?
            .shadow_root()
            .await?;
        root.find(Locator::Css("[data-testid=launcher]"))
            .await?
            .click()
            .await?;
        // The browser refuses the frame (the site's frame-ancestors), and the
        // launcher says support is unavailable instead of an empty box.
        browser
            .wait_script(
                "const root = document.getElementById('stufe-widget').shadowRoot;
                 const down = root.querySelector('[data-testid=unavailable].open');
                 return !!down && !root.querySelector('iframe.open')
                     && down.textContent === 'Support is not available on this page.';",
            )
            .await?;
        let log = browser.log().await?;
        ensure!(
            log.iter().any(|e| e.message.contains("frame-ancestors")),
            "no refusal by frame-ancestors in the log: {log:#?}"
        );
        let page_origin = host.url().trim_end_matches('/').to_owned();
        ensure!(
            log.iter()
                .any(|e| e.message.contains("could not start on this page")
                    && e.message.contains(&page_origin)
                    && e.message.contains("allowed origins")),
            "no message for the site owner in the log: {log:#?}"
        );
        // The owner sees where the tag was tried.
        let seen = stufe.staff_get("/api/staff/sites/shop/installs").await?;
        ensure!(
            seen[0]["origin"] == page_origin.as_str() && seen[0]["allowed"] == false,
            "{seen}"
        );
        Ok(())
    }
    .await;
    finish(browser, &stufe, "origin-refused", result).await
}

/// The snippet the README gives: calls before the loader arrives are queued.
const QUEUE: &str =
    "window.Stufe = window.Stufe || function () { (Stufe.q = Stufe.q || []).push(arguments); };";

/// A token the site's backend would sign for its user `sub`.
fn identity_token(secret: &str, sub: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    stufe_server::identity::sign(
        &serde_json::json!({ "sub": sub, "name": "Jo Customer", "exp": now + 3600 }),
        secret,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_customers_tickets_follow_them_to_another_browser_until_logout() -> Result<()> {
    let stufe = Stufe::start().await?;
    let secret = stufe.create_site("shop", &["http://localhost:*"]).await?;
    let token = identity_token(&secret, "user-7");
    let script = format!(
        "{QUEUE}\nwindow.created = []; Stufe('identify', {{ token: '{token}' }});\
         Stufe('on', 'ticket:created', function (e) {{ window.created.push(e.id); }});"
    );
    let host = HostSite::start_for_site_with(&stufe, "shop", &script).await?;
    let laptop = Browser::launch().await?;
    let result = async {
        laptop.client.goto(&host.url()).await?;
        laptop.open_widget().await?;
        laptop
            .submit_ticket("Signed in", "Filed while signed in by the shop.")
            .await?;
        let id = laptop.ticket_id("Signed in").await?;
        laptop.wait_gone("[data-testid=ticket-waiting]").await?;
        laptop.client.enter_parent_frame().await?;
        laptop
            .wait_script(&format!("return window.created.includes('{id}');"))
            .await?;
        // Staff see who the customer is.
        let listed = stufe
            .staff_get("/api/staff/tickets?site=shop&customer=user-7")
            .await?;
        ensure!(listed[0]["id"] == id.as_str(), "{listed}");
        ensure!(listed[0]["customer"]["name"] == "Jo Customer", "{listed}");
        Ok(id)
    }
    .await;
    let id = match result {
        Ok(id) => {
            finish(laptop, &stufe, "identity-laptop", Ok(())).await?;
            id
        }
        Err(err) => return finish(laptop, &stufe, "identity-laptop", Err(err)).await,
    };

    // Another browser, the same customer signed in: the ticket is there.
    let phone = Browser::launch().await?;
    let result = async {
        phone.client.goto(&host.url()).await?;
        phone.open_widget().await?;
        phone.click("[data-testid=my-tickets-tab]").await?;
        ensure!(phone.ticket_id("Signed in").await? == id);
        // Logging out forgets the customer's tickets on this device.
        phone.client.enter_parent_frame().await?;
        phone
            .client
            .execute("Stufe('logout'); Stufe('open');", vec![])
            .await?;
        phone.enter_widget_frame().await?;
        phone
            .wait_script(
                "return !!document.querySelector('[data-testid=my-tickets-tab]') \
                 && document.querySelectorAll('[data-testid=ticket-item]').length === 0;",
            )
            .await?;
        phone.click("[data-testid=my-tickets-tab]").await?;
        ensure!(
            phone
                .client
                .find_all(Locator::Css("[data-testid=ticket-item]"))
                .await?
                .is_empty(),
            "tickets still listed after logout"
        );
        Ok(())
    }
    .await;
    finish(phone, &stufe, "identity-phone", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_page_prefills_the_form_and_chooses_the_language() -> Result<()> {
    let stufe = Stufe::start().await?;
    let script = format!(
        "{QUEUE}\nStufe('prefill', {{ subject: 'Order 1042', category: 'billing', email: 'jo@example.com' }});\
         Stufe('setLocale', 'de');"
    );
    let host = HostSite::start_with(&stufe, &script).await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.open_widget().await?;
        browser.click("[data-testid=new-ticket-tab]").await?;
        browser
            .wait_script(
                "const s = document.querySelector('[data-testid=subject]');
                 return !!s && s.value === 'Order 1042'
                     && document.querySelector('[data-testid=category]').value === 'billing'
                     && document.querySelector('[data-testid=email]').value === 'jo@example.com'
                     && document.documentElement.lang === 'de'
                     && document.querySelector('[data-testid=submit]').textContent.includes('Anfrage senden');",
            )
            .await?;
        // An error is tied to its field.
        browser.click("[data-testid=submit]").await?;
        browser
            .wait_script(
                "const d = document.querySelector('[data-testid=description]');
                 return d.getAttribute('aria-invalid') === 'true'
                     && d.getAttribute('aria-describedby') === 'form-error'
                     && !!document.getElementById('form-error')
                     && document.querySelector('[data-testid=subject]').getAttribute('aria-invalid') === 'false'
                     && d.closest('label').contains(document.getElementById('form-error'));",
            )
            .await?;
        // It goes as soon as the field is right.
        browser
            .client
            .find(Locator::Css("[data-testid=description]"))
            .await?
            .send_keys("Die Rechnung fehlt.")
            .await?;
        browser
            .wait_script(
                "return !document.getElementById('form-error')
                     && document.querySelector('[data-testid=description]').getAttribute('aria-invalid') === 'false';",
            )
            .await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "prefill", result).await
}

/// The launcher as the host page shows it: corner, colour, label, icon (a JS expression).
const LAUNCHER_LOOK: &str = "(() => { const b = document.getElementById('stufe-widget').shadowRoot.querySelector('[data-testid=launcher]');
    const r = b.getBoundingClientRect(), label = b.querySelector('span');
    return JSON.stringify({ left: r.left < innerWidth / 2, background: getComputedStyle(b).backgroundColor,
        label: label.hidden ? '' : label.textContent, icon: b.querySelector('path').getAttribute('d').slice(0, 8),
        name: b.getAttribute('aria-label') }); })()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_launcher_looks_as_the_tag_says_at_once_and_as_the_site_says_once_the_frame_runs(
) -> Result<()> {
    let stufe = Stufe::start().await?;
    // The site's settings (the console's): green, bottom left, "Hilfe", an envelope.
    let mut site = stufe.staff_get("/api/sites/demo/config").await?;
    site["brand_color"] = "#1a7f37".into();
    site["launcher"] = serde_json::json!({ "position": "left", "label": "Hilfe", "icon": "mail" });
    stufe
        .staff_send(reqwest::Method::PUT, "/api/staff/sites/demo", site)
        .await?;
    // A tag pasted earlier, with an older look; nothing loads until a click.
    let host = HostSite::start_with_tag(
        &stufe,
        "",
        r##"data-load="click" data-color="#aa3300" data-position="left" data-label="Fragen?" data-icon="help""##,
    )
    .await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.wait_for(Locator::Css("#stufe-widget")).await?;
        let look = browser
            .client
            .execute(&format!("return {LAUNCHER_LOOK};"), vec![])
            .await?;
        let tag_look = serde_json::json!({ "left": true, "background": "rgb(170, 51, 0)",
            "label": "Fragen?", "icon": "M9 9a3 3", "name": "Fragen?" });
        ensure!(
            serde_json::from_str::<serde_json::Value>(look.as_str().unwrap_or(""))? == tag_look,
            "the tag's look at once: {look}"
        );
        // Once the frame runs it says the site's settings, which win.
        browser
            .client
            .execute("Stufe('consent'); return true;", vec![])
            .await?;
        browser
            .wait_script(&format!(
                "return {LAUNCHER_LOOK} === JSON.stringify({{ left: true, background: 'rgb(26, 127, 55)', label: 'Hilfe', icon: 'M3 6h18v', name: 'Hilfe' }});"
            ))
            .await?;
        // The panel opens in the same corner.
        browser.open_widget().await?;
        browser.client.enter_parent_frame().await?;
        let panel_left = browser
            .client
            .execute(
                "const f = document.getElementById('stufe-widget').shadowRoot.querySelector('iframe');
                 return f.getBoundingClientRect().left < innerWidth / 2;",
                vec![],
            )
            .await?;
        ensure!(panel_left == true, "the panel opened on the other side");
        Ok(())
    }
    .await;
    finish(browser, &stufe, "launcher-look", result).await
}
