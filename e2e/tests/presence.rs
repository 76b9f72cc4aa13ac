//! Someone is there: typing shows both ways between the widget and the
//! console, the widget's header says the team is in, and an agent is warned
//! before a reply collides with a colleague's.

use anyhow::{ensure, Result};
use fantoccini::Locator;
use stufe_e2e::{finish, Browser, Stufe};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_shows_both_ways_and_an_agent_is_warned_before_replying_over_a_colleague(
) -> Result<()> {
    let stufe = Stufe::start().await?;
    let browser = Browser::launch().await?;
    let result = async {
        let c = &browser.client;
        browser.console_login_as(&stufe, "tia").await?;
        let console = c.window().await?;

        // The customer sees that the team is in, files a request and opens it.
        let customer = c.new_window(false).await?;
        c.switch_to_window(customer.handle.clone()).await?;
        c.goto(&stufe.demo_url()).await?;
        browser.open_widget().await?;
        browser
            .wait_script(
                "const a = document.querySelector('[data-testid=availability]');
                 return !!a && a.dataset.open === 'true' && a.textContent.startsWith(\"We're online\");",
            )
            .await?;
        browser
            .submit_ticket("Is anyone there?", "My order has not arrived.")
            .await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        let id = browser.ticket_id("Is anyone there?").await?;
        browser.click(&format!("[data-ticket-id='{id}']")).await?;
        browser.wait_for(Locator::Css("[data-testid=reply-body]")).await?;

        // Tia opens it in the console.
        c.enter_parent_frame().await?;
        c.switch_to_window(console.clone()).await?;
        c.goto(&stufe.api(&format!("/console/tickets/{id}"))).await?;
        browser.wait_for(Locator::Css("[data-testid=presence]")).await?;

        // The customer types: Tia sees it.
        c.switch_to_window(customer.handle.clone()).await?;
        browser.enter_widget_frame().await?;
        c.find(Locator::Css("[data-testid=reply-body]"))
            .await?
            .send_keys("It was due on Monday")
            .await?;
        c.enter_parent_frame().await?;
        c.switch_to_window(console.clone()).await?;
        browser
            .wait_script(
                "return document.querySelector('[data-testid=presence]').textContent.includes('The customer is typing');",
            )
            .await?;

        // Tia types: the customer sees her name (the demo site shows names).
        c.find(Locator::Css("[data-testid=reply-box]"))
            .await?
            .send_keys("Let me look at the parcel's tracking.")
            .await?;
        c.switch_to_window(customer.handle.clone()).await?;
        browser.enter_widget_frame().await?;
        browser
            .wait_script(
                "const t = document.querySelector('[data-testid=staff-typing]');
                 return !!t && t.textContent === 'Tia First-Level is typing…';",
            )
            .await?;
        browser.screenshot("presence-1-widget-staff-typing").await;

        // Sam starts a reply too (through the API): Tia sees it, and her Save
        // first warns her instead of sending.
        c.enter_parent_frame().await?;
        c.switch_to_window(console.clone()).await?;
        let typing = reqwest::Client::new()
            .post(stufe.api(&format!("/api/staff/tickets/{id}/typing")))
            .bearer_auth(stufe_e2e::STAFF_TOKEN)
            .send()
            .await?;
        ensure!(typing.status() == 204, "typing: {}", typing.status());
        browser
            .wait_script(
                "return document.querySelector('[data-testid=presence]').textContent.includes('Sam Support is typing a reply');",
            )
            .await?;
        browser.click("[data-testid=save-ticket]").await?;
        browser
            .wait_script(
                "const w = document.querySelector('[data-testid=collision]');
                 return !w.hidden && w.textContent.includes('Sam Support is also')
                     && document.activeElement === w;",
            )
            .await?;
        browser.screenshot("presence-2-console-collision").await;
        let ticket = stufe.staff_get(&format!("/api/staff/tickets/{id}")).await?;
        ensure!(
            ticket["messages"].as_array().is_some_and(Vec::is_empty),
            "the first Save sent nothing: {ticket}"
        );
        // Saved again: sent.
        browser.click("[data-testid=save-ticket]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=console-message]"))
            .await?;

        // The reply reaches the customer, and "typing" goes with it.
        c.switch_to_window(customer.handle.clone()).await?;
        browser.enter_widget_frame().await?;
        browser
            .wait_script(
                "return [...document.querySelectorAll('[data-testid=message][data-author=staff] .text')]
                    .some(m => m.textContent.includes('tracking'))
                    && !document.querySelector('[data-testid=staff-typing]');",
            )
            .await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "presence", result).await
}
