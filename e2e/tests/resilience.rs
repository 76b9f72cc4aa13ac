//! End-to-end: the widget never breaks, whatever the customer, the network or
//! the browser does — screens switched while work is in flight, closing during
//! a sync, reconnect storms, a crash, a browser that keeps no storage. Every
//! test fails on a panic or uncaught error in the browser's log or a crash
//! reported to the server (see `stufe_e2e::finish`).

use anyhow::Result;
use fantoccini::Locator;
use reqwest::Method;
use stufe_e2e::{finish, Browser, HostSite, Stufe};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_screens_while_work_is_in_flight_never_breaks_the_widget() -> Result<()> {
    let stufe = Stufe::start().await?;
    let browser = Browser::launch().await?;
    let result = async {
        stufe
            .publish(
                "printer-reset",
                "Reset the printer",
                "Hold the power button.",
            )
            .await?;
        stufe
            .publish("printer-paper", "Printer paper jams", "Open the tray.")
            .await?;
        browser.client.goto(&stufe.demo_url()).await?;
        browser.open_widget().await?;
        browser
            .wait_for(Locator::Css("[data-testid=kb-article-link]"))
            .await?;
        for round in 0..6 {
            // A search starts debouncing (or is in flight) and the screen goes away.
            browser
                .wait_for(Locator::Css("[data-testid=kb-search]"))
                .await?
                .send_keys("prin")
                .await?;
            browser.click("[data-testid=new-ticket-tab]").await?;
            // Suggestions start debouncing, and the form goes away too.
            browser
                .wait_for(Locator::Css("[data-testid=description]"))
                .await?
                .send_keys("my printer ")
                .await?;
            browser.click("[data-testid=my-tickets-tab]").await?;
            browser.click("[data-testid=help-tab]").await?;
            // An article loads while a new version is published and the customer goes back.
            browser.click("[data-testid=kb-article-link]").await?;
            stufe
                .publish(
                    "printer-reset",
                    "Reset the printer",
                    &format!("Hold the power button, round {round}."),
                )
                .await?;
            browser.click("[data-testid=back]").await?;
        }
        // Still alive: a search finds the article, and it opens with the latest text.
        let search = browser
            .wait_for(Locator::Css("[data-testid=kb-search]"))
            .await?;
        search.clear().await?;
        search.send_keys("jams").await?;
        browser
            .wait_for(Locator::Css(
                "[data-testid=kb-result][data-article-id=printer-paper]",
            ))
            .await?;
        browser.click("[data-testid=kb-result]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=article-body]"))
            .await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "screens", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_during_a_sync_and_a_reconnect_storm_lose_nothing() -> Result<()> {
    let mut stufe = Stufe::start().await?;
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.open_widget().await?;
        browser
            .submit_ticket(
                "Closed while syncing",
                "Sent, then the widget closed at once.",
            )
            .await?;
        // The customer closes the widget while the ticket is being synced.
        browser.click("[data-testid=close]").await?;
        browser.open_widget().await?;
        let id = browser.ticket_id("Closed while syncing").await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;

        // Several restarts in a row: the widget reconnects each time.
        for _ in 0..5 {
            stufe.restart().await?;
        }
        browser
            .wait_for(Locator::Css("[data-testid=connection][data-online=true]"))
            .await?;
        browser.click(&format!("[data-ticket-id='{id}']")).await?;
        stufe
            .staff_send(
                Method::POST,
                &format!("/api/staff/tickets/{id}/messages"),
                serde_json::json!({ "body": "We got it after the storm." }),
            )
            .await?;
        let reply = browser
            .wait_for(Locator::Css(
                "[data-testid=message][data-author=staff] .text",
            ))
            .await?;
        assert_eq!(reply.text().await?, "We got it after the storm.");
        let stored = stufe.staff_get("/api/staff/tickets").await?;
        let count = stored
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["subject"] == "Closed while syncing")
            .count();
        assert_eq!(count, 1, "delivered exactly once");
        Ok(())
    }
    .await;
    finish(browser, &stufe, "storm", result).await
}

/// Raises an uncaught error inside the widget's frame, as a crash would.
async fn crash_the_widget(browser: &Browser, marker: &str) -> Result<()> {
    browser.enter_widget_frame().await?;
    browser
        .client
        .execute(
            // An inline script of the frame's own document, so the error is
            // reported in full (errors of injected scripts are muted by the browser).
            &format!(
                "const s = document.createElement('script');
                 s.textContent = 'setTimeout(() => {{ throw new Error(' + JSON.stringify({marker:?}) + '); }}, 0);';
                 document.head.appendChild(s);
                 return true;"
            ),
            vec![],
        )
        .await?;
    browser.client.enter_parent_frame().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_widget_is_reloaded_once_then_says_support_is_unavailable() -> Result<()> {
    let stufe = Stufe::start().await?;
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch().await?;
    // The crash is simulated with an inline script in the frame, which the
    // frame's own policy refuses.
    browser.bypass_content_security_policy().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.open_widget().await?;
        // Unsent work: a half-written ticket.
        browser.click("[data-testid=new-ticket-tab]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=subject]"))
            .await?
            .send_keys("Half written")
            .await?;
        browser
            .client
            .execute("window.stufeBeforeCrash = true; return true;", vec![])
            .await?;
        browser.client.enter_parent_frame().await?;

        crash_the_widget(&browser, "first crash").await?;
        // The loader reloads the frame (a new document) and the draft is still there.
        browser.enter_widget_frame().await?;
        browser
            .wait_script("return window.stufeBeforeCrash === undefined && !!document.querySelector('[data-testid=new-ticket-tab]');")
            .await?;
        browser.click("[data-testid=new-ticket-tab]").await?;
        browser
            .wait_script("return document.querySelector('[data-testid=subject]').value === 'Half written';")
            .await?;
        browser.client.enter_parent_frame().await?;

        crash_the_widget(&browser, "second crash").await?;
        browser
            .wait_script(
                "const root = document.getElementById('stufe-widget').shadowRoot;
                 const down = root.querySelector('[data-testid=unavailable]');
                 return !!down && down.textContent.includes('unavailable')
                     && !root.querySelector('iframe.open') && !root.querySelector('iframe[data-testid=widget-frame]');",
            )
            .await?;
        // The browser log shows the crashes: the check every other test ends
        // with (`finish`) does see errors inside the widget's frame.
        let logged = browser.breakage().await?;
        assert!(
            logged.iter().any(|e| e.message.contains("second crash")),
            "{logged:#?}"
        );
        // Each page load reported its crash once.
        let reported = stufe.wait_for_client_errors(2).await?;
        let messages: Vec<&str> = reported
            .iter()
            .map(|e| e["message"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(reported.len(), 2, "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("first crash")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("second crash")), "{messages:?}");
        Ok(())
    }
    .await;
    // The crashes were the point of this test: only its own checks apply.
    if result.is_err() {
        browser.screenshot("failed-crash").await;
    }
    browser.quit().await?;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_that_keeps_no_storage_is_told_so_and_still_works() -> Result<()> {
    let stufe = Stufe::start().await?;
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch_without_site_storage().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.open_widget().await?;
        browser
            .wait_for(Locator::Css(
                "[data-testid=storage-warning][data-storage=unavailable]",
            ))
            .await?;
        browser
            .submit_ticket("No storage here", "My browser blocks third-party storage.")
            .await?;
        browser.ticket_id("No storage here").await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "nostorage", result).await
}
