//! End-to-end: headless Chromium on a host page that embeds the real script
//! tag, the real widget (wasm) in its iframe, the real server and SQLite file.
//! Organised by what the customer does.

use anyhow::{ensure, Result};
use fantoccini::Locator;
use reqwest::Method;
use stufe_e2e::{finish, Browser, HostSite, Stufe};

/// Tickets the customer created (the seeded demo ticket excluded).
async fn tickets_titled(stufe: &Stufe, subject: &str) -> Result<Vec<serde_json::Value>> {
    let all = stufe.staff_get("/api/staff/tickets").await?;
    Ok(all
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["subject"] == subject)
        .cloned()
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_submits_a_ticket_and_sees_staff_changes_live() -> Result<()> {
    let stufe = Stufe::start().await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&stufe.demo_url()).await?;
        browser.open_widget().await?;
        browser
            .submit_ticket("Printer offline", "It blinks red since this morning.")
            .await?;
        let id = browser.ticket_id("Printer offline").await?;
        // The thank-you notice is about the list; it goes with the first move
        // elsewhere (long before it would time out) and does not come back.
        browser.wait_for(Locator::Css("[data-testid=notice]")).await?;
        browser.click("[data-testid=help-tab]").await?;
        browser.click("[data-testid=my-tickets-tab]").await?;
        browser.wait_for(Locator::Css("[data-testid=ticket-item]")).await?;
        let notice = browser
            .client
            .execute("return !!document.querySelector('[data-testid=notice]');", vec![])
            .await?;
        ensure!(notice == false, "the notice stayed on other screens");
        // Delivered and acknowledged: the "waiting to send" badge goes away.
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        let stored = tickets_titled(&stufe, "Printer offline").await?;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0]["id"], id.as_str());
        assert_eq!(stored[0]["status"], "new");
        browser.screenshot("1-submitted").await;

        // Staff change status and tier: the open widget shows it without reload.
        let path = format!("/api/staff/tickets/{id}");
        stufe
            .staff_send(
                Method::PATCH,
                &path,
                serde_json::json!({ "status": "pending", "tier": 2 }),
            )
            .await?;
        let item = format!("[data-ticket-id='{id}']");
        browser
            .wait_for(Locator::Css(&format!(
                "{item} [data-testid=ticket-status][data-status=pending]"
            )))
            .await?;
        let tier = browser
            .client
            .find(Locator::Css(&format!("{item} [data-testid=ticket-tier]")))
            .await?;
        assert_eq!(tier.text().await?, "With our specialists");

        // Staff reply arrives live in the thread; the customer answers.
        browser.click(&item).await?;
        stufe
            .staff_send(
                Method::POST,
                &format!("{path}/messages"),
                serde_json::json!({ "body": "Please restart it." }),
            )
            .await?;
        // The hand-off to tier 2 left a notice in words, then the reply came.
        browser
            .wait_script(
                "const staff = [...document.querySelectorAll('[data-testid=message][data-author=staff] .text')]
                     .map(e => e.textContent);
                 return staff.length === 2
                     && staff[0] === 'Your request was passed to our specialists. They will answer you here.'
                     && staff[1] === 'Please restart it.';",
            )
            .await?;
        // The hand-off is a notice in the customer's language, whatever the
        // site's (English here): switched to German, it says it in German.
        browser.set_locale("de").await?;
        browser
            .wait_script(
                "const notice = document.querySelector('[data-testid=message][data-notice=handoff] .text');
                 return !!notice && notice.textContent
                     === 'Ihre Anfrage wurde an unsere Spezialisten weitergegeben. Sie antworten Ihnen hier.';",
            )
            .await?;
        browser.set_locale("en").await?;
        browser
            .client
            .find(Locator::Css("[data-testid=reply-body]"))
            .await?
            .send_keys("Restarted, still red.")
            .await?;
        browser.click("[data-testid=reply-send]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=message][data-author=customer]"))
            .await?;
        browser.wait_gone("[data-testid=message-waiting]").await?;
        let ticket = stufe.staff_get(&path).await?;
        let messages = ticket["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3, "hand-off notice, staff reply, customer reply");
        assert_eq!(messages[2]["body"], "Restarted, still red.");
        assert_eq!(messages[2]["author"], "customer");
        // The request waited on the customer; their answer puts it back in
        // the queue.
        assert_eq!(ticket["status"], "open");
        browser.screenshot("2-thread").await;

        // The ticket's document is kept in IndexedDB (room for large
        // documents), not in the 5 MB localStorage.
        let kept = browser
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const open = indexedDB.open('stufe');
                 open.onsuccess = () => {
                   const keys = open.result.transaction('kv').objectStore('kv').getAllKeys();
                   keys.onsuccess = () => done({
                     indexed: keys.result.includes('stufe:demo:doc:' + arguments[0]),
                     local: localStorage.getItem('stufe:demo:doc:' + arguments[0]) !== null,
                   });
                 };
                 open.onerror = () => done(null);",
                vec![serde_json::json!(id)],
            )
            .await?;
        assert_eq!(
            kept,
            serde_json::json!({ "indexed": true, "local": false }),
            "where the ticket is kept"
        );

        // A reload keeps "My tickets", with the request open again.
        browser.client.refresh().await?;
        browser.open_widget().await?;
        browser
            .wait_for(Locator::Css(&format!(
                "{item} [data-testid=ticket-status][data-status=open]"
            )))
            .await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "live", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_works_offline_and_nothing_is_lost_or_sent_twice() -> Result<()> {
    let mut stufe = Stufe::start().await?;
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch().await?;
    let result = async {
        let article = serde_json::json!({
            "site": "demo", "locale": "en", "title": "Password reset mail",
            "body": "Check your **spam** folder first.", "category": "general"
        });
        stufe
            .staff_send(Method::PUT, "/api/staff/articles/password-mail", article)
            .await?;
        browser.client.goto(&host.url()).await?;
        browser.open_widget().await?;
        // Reading an article online keeps it for reading offline.
        browser.click("[data-testid=kb-article-link]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=article-body] strong"))
            .await?;
        browser
            .submit_ticket("Login fails", "The password reset mail never comes.")
            .await?;
        let first = browser.ticket_id("Login fails").await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        // The widget's offline cache is in place once its service worker controls the frame.
        browser
            .wait_script("return navigator.serviceWorker.controller !== null;")
            .await?;

        stufe.stop().await?;
        browser
            .wait_for(Locator::Css("[data-testid=connection][data-online=false]"))
            .await?;

        // Offline: a new ticket and a reply to the first one are queued.
        browser
            .submit_ticket("Invoice missing", "I did not get an invoice for order 17.")
            .await?;
        let second = browser.ticket_id("Invoice missing").await?;
        browser
            .wait_for(Locator::Css(&format!(
                "[data-ticket-id='{second}'] [data-testid=ticket-waiting]"
            )))
            .await?;
        browser
            .click(&format!("[data-ticket-id='{first}']"))
            .await?;
        browser
            .wait_for(Locator::Css("[data-testid=reply-body]"))
            .await?
            .send_keys("Any news?")
            .await?;
        browser.click("[data-testid=reply-send]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=message-waiting]"))
            .await?;
        browser.screenshot("3-offline").await;

        // A reload while the server is still down keeps everything queued.
        browser.client.refresh().await?;
        browser.open_widget().await?;
        browser
            .wait_for(Locator::Css(&format!(
                "[data-ticket-id='{second}'] [data-testid=ticket-waiting]"
            )))
            .await?;

        browser.click("[data-testid=help-tab]").await?;
        browser.click("[data-testid=kb-article-link]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=article-body] strong"))
            .await?;
        let body = browser
            .client
            .find(Locator::Css("[data-testid=article-body]"))
            .await?;
        assert!(
            body.text().await?.contains("spam"),
            "the article read earlier opens offline"
        );

        // The server comes back: the widget reconnects and delivers, once.
        stufe.restart().await?;
        browser
            .wait_for(Locator::Css("[data-testid=connection][data-online=true]"))
            .await?;
        // Watch the list itself (the article is on screen now, and a badge
        // that is not shown is trivially "gone").
        browser.click("[data-testid=my-tickets-tab]").await?;
        browser
            .wait_for(Locator::Css(&format!("[data-ticket-id='{second}']")))
            .await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        browser
            .click(&format!("[data-ticket-id='{first}']"))
            .await?;
        browser
            .wait_for(Locator::Css("[data-testid=message]"))
            .await?;
        browser.wait_gone("[data-testid=message-waiting]").await?;
        let delivered = tickets_titled(&stufe, "Invoice missing").await?;
        assert_eq!(
            delivered.len(),
            1,
            "the offline ticket arrived exactly once"
        );
        assert_eq!(delivered[0]["id"], second.as_str());
        assert_eq!(tickets_titled(&stufe, "Login fails").await?.len(), 1);
        let thread = stufe
            .staff_get(&format!("/api/staff/tickets/{first}"))
            .await?;
        let bodies: Vec<&str> = thread["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap())
            .collect();
        assert_eq!(
            bodies,
            ["Any news?"],
            "the offline reply arrived exactly once"
        );
        Ok(())
    }
    .await;
    finish(browser, &stufe, "offline", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_finds_a_just_published_article_and_gets_it_suggested() -> Result<()> {
    let stufe = Stufe::start().await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&stufe.demo_url()).await?;
        browser.open_widget().await?;
        browser
            .wait_for(Locator::Css("[data-testid=kb-search]"))
            .await?;

        // Tier-3 staff publish in the console (another window) while the widget is open.
        browser
            .publish_in_console(
                &stufe,
                "Reset the printer",
                "Hold the **power** button for ten seconds until the light blinks green.",
                "technical",
            )
            .await?;
        browser.enter_widget_frame().await?;

        // The synced catalogue shows it under its category, without reload.
        let link = browser
            .wait_for(Locator::Css("[data-testid=kb-article-link]"))
            .await?;
        assert_eq!(link.text().await?, "Reset the printer");

        // Search as you type finds it, with the match highlighted.
        browser
            .client
            .find(Locator::Css("[data-testid=kb-search]"))
            .await?
            .send_keys("pow")
            .await?;
        let hit = browser
            .wait_for(Locator::Css("[data-testid=kb-result]"))
            .await?;
        let article_id = hit.attr("data-article-id").await?.unwrap_or_default();
        assert!(article_id.starts_with("reset-the-printer"), "{article_id}");
        assert!(hit.html(true).await?.contains("<mark>power</mark>"));
        browser.screenshot("4-search").await;
        hit.click().await?;
        let body = browser
            .wait_for(Locator::Css("[data-testid=article-body]"))
            .await?;
        assert!(body.html(true).await?.contains("<strong>power</strong>"));
        browser.click("[data-testid=helpful-yes]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=helpful-thanks]"))
            .await?;

        // Describing a problem in the ticket form suggests the article.
        browser.click("[data-testid=new-ticket-tab]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=description]"))
            .await?
            .send_keys("My printer shows a red light")
            .await?;
        browser
            .wait_for(Locator::Css(&format!(
                "[data-testid=kb-suggestion][data-article-id='{article_id}']"
            )))
            .await?;
        browser.screenshot("5-suggestion").await;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "kb", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_page_opens_the_widget_before_the_loader_has_arrived() -> Result<()> {
    let stufe = Stufe::start().await?;
    let host = HostSite::start_with(&stufe, "Stufe('open');").await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        // No click: the queued call opened it, and the widget inside is usable.
        browser.enter_widget_frame().await?;
        browser
            .wait_for(Locator::Css("[data-testid=kb-search]"))
            .await?;
        browser.client.enter_parent_frame().await?;
        let expanded = browser.launcher_attribute("aria-expanded").await?;
        assert_eq!(expanded.as_deref(), Some("true"));
        Ok(())
    }
    .await;
    finish(browser, &stufe, "queued", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_rates_a_resolved_request_once_and_the_kpi_page_shows_it() -> Result<()> {
    let stufe = Stufe::start().await?;
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.open_widget().await?;
        browser
            .submit_ticket("Rate me", "Please fix it and I will rate you.")
            .await?;
        let id = browser.ticket_id("Rate me").await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        browser.click(&format!("[data-ticket-id='{id}']")).await?;
        // Not resolved yet: nothing to rate.
        ensure!(
            browser
                .client
                .find_all(Locator::Css("[data-testid=rating-form]"))
                .await?
                .is_empty(),
            "a rating form on an open request"
        );
        stufe
            .staff_send(
                Method::PATCH,
                &format!("/api/staff/tickets/{id}"),
                serde_json::json!({ "status": "resolved" }),
            )
            .await?;
        browser
            .wait_for(Locator::Css("[data-testid=rating-form]"))
            .await?;
        // The thread says it was resolved, as a notice from the system, in
        // the customer's language (German here, though the site is English).
        browser.set_locale("de").await?;
        browser
            .wait_script(
                "const n = document.querySelector('li.system[data-testid=message][data-notice=resolved] .text');
                 return !!n && n.textContent
                     === 'Ihre Anfrage wurde als gelöst markiert. Ist noch etwas offen, antworten Sie einfach hier.';",
            )
            .await?;
        browser.set_locale("en").await?;
        browser
            .wait_script("return !!document.querySelector('[data-testid=send-rating]') && document.documentElement.lang === 'en';")
            .await?;
        // Sending without a score says what is missing.
        browser.click("[data-testid=send-rating]").await?;
        browser.wait_for(Locator::Css("#rating-error")).await?;
        // A row of 1–5 by mouse and keyboard: 3 clicked, then the right
        // arrow key moves the choice to 4.
        browser.click("[data-testid=score-3]").await?;
        browser
            .wait_script("return document.querySelector('[data-testid=score-word]').textContent !== '';")
            .await?;
        browser
            .client
            .execute("document.querySelector('[data-testid=score-3] input').focus(); return true;", vec![])
            .await?;
        browser
            .client
            .active_element()
            .await?
            .send_keys(&fantoccini::key::Key::Right.to_string())
            .await?;
        browser
            .wait_script("return document.querySelector('[data-testid=score-4] input').checked;")
            .await?;
        browser
            .client
            .find(Locator::Css("[data-testid=rating-comment]"))
            .await?
            .send_keys("Quick and friendly.")
            .await?;
        browser.click("[data-testid=send-rating]").await?;
        browser
            .wait_script(
                "const r = document.querySelector('[data-testid=rated]');
                 return !!r && r.textContent.includes('4') && !document.querySelector('[data-testid=rating-form]');",
            )
            .await?;
        // The rating is in the ticket the server keeps.
        let started = std::time::Instant::now();
        loop {
            let ticket = stufe.staff_get(&format!("/api/staff/tickets/{id}")).await?;
            if ticket["rating"]["score"] == 4 {
                ensure!(ticket["rating"]["comment"] == "Quick and friendly.", "{ticket}");
                break;
            }
            ensure!(started.elapsed().as_secs() < 20, "the rating did not arrive: {ticket}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        // The team lead sees it on the KPI page.
        browser.client.enter_parent_frame().await?;
        browser.console_login(&stufe).await?;
        browser.client.goto(&stufe.api("/console/kpis?site=demo")).await?;
        let csat = browser
            .wait_for(Locator::Css("[data-testid=kpi-csat]"))
            .await?
            .text()
            .await?;
        ensure!(csat.starts_with("4.00 (1 ratings)"), "CSAT shown: {csat}");
        let fours = browser
            .client
            .find(Locator::Css("[data-testid=kpi-ratings] tr:nth-child(2) td:nth-child(4)"))
            .await?
            .text()
            .await?;
        ensure!(fours == "1", "ratings of 4: {fours}");
        browser
            .wait_for(Locator::Css("[data-testid=chart-csat] svg"))
            .await?;
        browser.screenshot("kpi-page").await;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "rating", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_queue_shows_a_new_request_live_without_a_reload() -> Result<()> {
    let stufe = Stufe::start().await?;
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch().await?;
    let result = async {
        let c = &browser.client;
        browser.console_login(&stufe).await?;
        c.execute("window.notReloaded = true; return true;", vec![])
            .await?;
        let console = c.window().await?;
        // A customer files a request in another window.
        let customer = c.new_window(false).await?;
        c.switch_to_window(customer.handle).await?;
        c.goto(&host.url()).await?;
        browser.open_widget().await?;
        browser
            .submit_ticket("Live in the queue", "Staff should see this at once.")
            .await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        c.enter_parent_frame().await?;
        c.close_window().await?;
        c.switch_to_window(console).await?;
        browser
            .wait_script(
                "return window.notReloaded === true
                    && document.querySelector('[data-testid=queue]').textContent.includes('Live in the queue');",
            )
            .await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "live-queue", result).await
}
