//! Two Stufe servers on one PostgreSQL database, in a real browser: the
//! customer's widget talks to one, staff work in the console of the other.

use anyhow::Result;
use fantoccini::Locator;
use stufe_e2e::{finish, new_postgres_database, Browser, Stufe};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widget_on_one_server_and_the_console_on_another_work_one_request_live() -> Result<()> {
    let database = new_postgres_database().await?;
    let widget_node = Stufe::start_on_database(&database).await?;
    let console_node = Stufe::start_on_database(&database).await?;
    let browser = Browser::launch().await?;
    let result = async {
        let c = &browser.client;
        browser.console_login(&console_node).await?;
        c.execute("window.notReloaded = true; return true;", vec![])
            .await?;
        let console = c.window().await?;

        // The customer files a request through the other server.
        let customer = c.new_window(false).await?;
        c.switch_to_window(customer.handle.clone()).await?;
        c.goto(&widget_node.demo_url()).await?;
        browser.open_widget().await?;
        browser
            .submit_ticket("Across two servers", "Filed on one, answered on the other.")
            .await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        let id = browser.ticket_id("Across two servers").await?;
        browser
            .click(&format!("[data-ticket-id='{id}']"))
            .await?;

        // It appears in the other server's console queue without a reload.
        c.enter_parent_frame().await?;
        c.switch_to_window(console.clone()).await?;
        browser
            .wait_script(
                "return window.notReloaded === true
                    && document.querySelector('[data-testid=queue]').textContent.includes('Across two servers');",
            )
            .await?;

        // Staff answer there; the widget on the first server shows it live.
        c.goto(&console_node.api(&format!("/console/tickets/{id}")))
            .await?;
        c.find(Locator::Css("textarea[name=body]"))
            .await?
            .send_keys("Answered from the other server.")
            .await?;
        browser.click("[data-testid=save-ticket]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=console-message]"))
            .await?;
        c.switch_to_window(customer.handle).await?;
        browser.enter_widget_frame().await?;
        browser
            .wait_script(
                "return [...document.querySelectorAll('[data-testid=message][data-author=staff] .text')]
                    .some(e => e.textContent === 'Answered from the other server.');",
            )
            .await?;
        browser.screenshot("two-servers").await;
        Ok(())
    }
    .await;
    let outcome = finish(browser, &widget_node, "two-servers", result).await;
    drop(console_node);
    outcome
}
