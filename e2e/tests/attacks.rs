//! End-to-end: a page of another origin of the same site (another port of
//! Stufe's host, as a shop on a sibling subdomain would be) cannot drive a
//! logged-in agent's console. `SameSite=Strict` lets the browser send the
//! session cookie with such a page's form posts; the console refuses them
//! (its form token and the browser's `Sec-Fetch-Site`) and nothing changes.

use anyhow::{ensure, Result};
use fantoccini::Locator;
use stufe_e2e::{finish, Browser, HostSite, Stufe};

/// An attacker's page that posts `fields` to `action` as soon as it loads.
fn auto_posting_page(action: &str, fields: &[(&str, &str)]) -> String {
    let inputs: String = fields
        .iter()
        .map(|(name, value)| format!(r#"<input type="hidden" name="{name}" value="{value}">"#))
        .collect();
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><form id="f" method="post" action="{action}">{inputs}</form>
<script>document.getElementById('f').submit();</script></body></html>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sibling_page_cannot_reply_change_log_out_or_log_the_agent_in_as_another() -> Result<()> {
    let stufe = Stufe::start().await?;
    let browser = Browser::launch().await?;
    let result = async {
        let tickets = stufe.staff_get("/api/staff/tickets").await?;
        let id = tickets[0]["id"].as_str().unwrap_or_default().to_owned();
        ensure!(!id.is_empty(), "the demo has a request: {tickets}");
        browser.console_login(&stufe).await?;

        let attacks = [
            (
                format!("/console/tickets/{id}/update"),
                vec![
                    ("body", "Sent by another page"),
                    ("status", "closed"),
                    ("tier", "3"),
                ],
            ),
            ("/console/logout".to_owned(), vec![]),
            (
                "/console/login".to_owned(),
                vec![("login", "tia"), ("password", stufe_e2e::STAFF_PASSWORD)],
            ),
        ];
        for (path, fields) in attacks {
            let page = HostSite::start_page(auto_posting_page(&stufe.api(&path), &fields)).await?;
            browser.client.goto(&page.sibling_url()).await?;
            let refused = browser
                .wait_for(Locator::Css("[data-testid=error-page]"))
                .await?
                .text()
                .await?;
            ensure!(
                refused.contains("another origin") && refused.contains("nothing was changed"),
                "{path}: {refused}"
            );
        }

        // Nothing changed: no reply, same status and tier, and the agent is
        // still logged in as themselves.
        let ticket = stufe.staff_get(&format!("/api/staff/tickets/{id}")).await?;
        let text = ticket.to_string();
        ensure!(
            !text.contains("Sent by another page"),
            "a reply got in: {text}"
        );
        ensure!(
            ticket["status"] != "closed" && ticket["tier"] != 3,
            "changed: {text}"
        );
        browser.client.goto(&stufe.api("/console")).await?;
        browser
            .wait_for(Locator::Css("[data-testid=queue]"))
            .await?;
        let who = browser
            .client
            .find(Locator::Css(".who"))
            .await?
            .text()
            .await?;
        ensure!(who.contains("admin"), "logged in as someone else: {who}");

        // The console's own form still works from the console.
        browser
            .client
            .goto(&stufe.api(&format!("/console/tickets/{id}")))
            .await?;
        browser
            .wait_for(Locator::Css("textarea[name=body]"))
            .await?
            .send_keys("Sent from the console")
            .await?;
        browser.click("[data-testid=save-ticket]").await?;
        browser
            .wait_script("return document.body.textContent.includes('Sent from the console');")
            .await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "console-csrf", result).await
}
