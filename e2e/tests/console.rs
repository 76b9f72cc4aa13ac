//! The console in a real browser: a saved reply is put into the reply box
//! with its placeholders filled, edited and sent; several tickets of the
//! queue are changed at once.

use anyhow::{ensure, Result};
use fantoccini::Locator;
use reqwest::Method;
use stufe_e2e::{finish, Browser, Stufe};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_reply_is_edited_before_sending_and_the_queue_changes_tickets_in_bulk() -> Result<()>
{
    let stufe = Stufe::start().await?;
    let browser = Browser::launch().await?;
    let result = async {
        let c = &browser.client;
        stufe
            .staff_send(
                Method::POST,
                "/api/staff/saved-replies",
                serde_json::json!({"site": "demo", "title": "Tracking", "body": "Hello {customer}, your parcel is on its way. – {agent}"}),
            )
            .await?;
        let tickets = stufe.staff_get("/api/staff/tickets").await?;
        let id = tickets[0]["id"].as_str().unwrap_or_default().to_owned();
        browser.console_login(&stufe).await?;
        c.goto(&stufe.api(&format!("/console/tickets/{id}"))).await?;
        c.find(Locator::Css("[data-testid=saved-reply]"))
            .await?
            .select_by_label("Tracking")
            .await?;
        browser
            .wait_script(
                "const box = document.querySelector('[data-testid=reply-box]');
                 return box.value.includes('your parcel is on its way. – Sam Support')
                     && !box.value.includes('{agent}') && document.activeElement === box;",
            )
            .await?;
        c.find(Locator::Css("[data-testid=reply-box]"))
            .await?
            .send_keys(" See you soon.")
            .await?;
        browser.submit("[data-testid=save-ticket]").await?;
        let ticket = stufe.staff_get(&format!("/api/staff/tickets/{id}")).await?;
        let staff: Vec<&serde_json::Value> = ticket["messages"]
            .as_array()
            .map(|m| m.iter().filter(|m| m["author"] == "staff").collect())
            .unwrap_or_default();
        ensure!(staff.len() == 1, "one reply: {ticket}");
        let body = staff[0]["body"].as_str().unwrap_or_default();
        ensure!(
            body.ends_with("– Sam Support See you soon.") && !body.contains("{customer}"),
            "sent as edited, once: {body}"
        );

        // The queue: check the ticket, set it pending.
        c.goto(&stufe.api("/console?status=all")).await?;
        browser
            .click(&format!("[data-testid=queue-check][name='t:{id}']"))
            .await?;
        c.find(Locator::Css("#bulk select[name=status]"))
            .await?
            .select_by_value("pending")
            .await?;
        browser.submit("[data-testid=bulk-apply]").await?;
        let ticket = stufe.staff_get(&format!("/api/staff/tickets/{id}")).await?;
        ensure!(ticket["status"] == "pending", "{ticket}");
        Ok(())
    }
    .await;
    finish(browser, &stufe, "console", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_answers_to_keys_and_counts_changes_while_in_the_background() -> Result<()> {
    let stufe = Stufe::start().await?;
    let browser = Browser::launch().await?;
    let result = async {
        let c = &browser.client;
        browser.console_login(&stufe).await?;
        let keys = |text: &'static str| async move {
            let body = c.find(Locator::Css("body")).await?;
            body.send_keys(text).await?;
            anyhow::Ok(())
        };
        // "/" searches; "j" chooses the first request, "x" checks it, Enter opens it.
        keys("/").await?;
        browser
            .wait_script("return document.activeElement.dataset.testid === 'queue-search';")
            .await?;
        c.execute("document.activeElement.blur(); return true;", vec![])
            .await?;
        keys("j").await?;
        browser
            .wait_script(
                "return document.querySelector('[data-testid=queue-row].current') !== null
                    && document.activeElement.closest('[data-testid=queue-row]') !== null;",
            )
            .await?;
        c.active_element().await?.send_keys("x").await?;
        browser
            .wait_script("return document.querySelector('[data-testid=queue-row].current [data-testid=queue-check]').checked;")
            .await?;
        c.active_element().await?.send_keys("\u{E007}").await?;
        browser
            .wait_for(Locator::Css("[data-testid=reply-box]"))
            .await?;
        // "r" writes a reply; Ctrl+Enter sends it.
        keys("r").await?;
        browser
            .wait_script("return document.activeElement.dataset.testid === 'reply-box';")
            .await?;
        c.active_element()
            .await?
            .send_keys("Sent by keyboard.\u{E009}\u{E007}\u{E000}")
            .await?;
        browser
            .wait_script(
                "return [...document.querySelectorAll('[data-testid=console-message]')]
                    .some(m => m.textContent.includes('Sent by keyboard.'));",
            )
            .await?;
        // "?" lists the keys.
        keys("?").await?;
        browser
            .wait_script(
                "const d = document.querySelector('[data-testid=shortcuts]');
                 return !!d && d.open && d.textContent.includes('Ctrl+Enter');",
            )
            .await?;

        // In the background, the queue's title counts what changed.
        c.goto(&stufe.api("/console")).await?;
        browser.wait_for(Locator::Css("[data-testid=queue]")).await?;
        c.execute(
            "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true}); return true;",
            vec![],
        )
        .await?;
        let tickets = stufe.staff_get("/api/staff/tickets").await?;
        let id = tickets[0]["id"].as_str().unwrap_or_default().to_owned();
        stufe
            .staff_send(
                Method::PATCH,
                &format!("/api/staff/tickets/{id}"),
                serde_json::json!({"priority": "high"}),
            )
            .await?;
        browser
            .wait_script("return document.title.startsWith('(1) Queue');")
            .await?;
        c.execute(
            "Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
             document.dispatchEvent(new Event('visibilitychange')); return true;",
            vec![],
        )
        .await?;
        browser
            .wait_script("return document.title.startsWith('Queue');")
            .await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "console-keys", result).await
}
