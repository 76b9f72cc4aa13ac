//! Erasure as a customer's browser meets it: the widget that holds an erased
//! request is told, drops it from the list and from the device, says why in
//! the customer's language, and does not bring it back after a reload.

use anyhow::{ensure, Result};
use fantoccini::Locator;
use reqwest::Method;
use stufe_e2e::{finish, Browser, Stufe};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widget_holding_an_erased_request_drops_it_and_says_why() -> Result<()> {
    let stufe = Stufe::start().await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&stufe.demo_url()).await?;
        browser.open_widget().await?;
        browser.click("[data-testid=new-ticket-tab]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=email]"))
            .await?
            .send_keys("erase.me@example.com")
            .await?;
        browser.submit_ticket("Delete my data", "Please forget me.").await?;
        let id = browser.ticket_id("Delete my data").await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        browser.click(&format!("[data-ticket-id='{id}']")).await?;
        browser
            .wait_for(Locator::Css("[data-testid=thread-subject]"))
            .await?;

        let erased = stufe
            .staff_send(
                Method::POST,
                "/api/staff/sites/demo/customers/erase",
                serde_json::json!({ "email": "erase.me@example.com", "confirm": "erase.me@example.com" }),
            )
            .await?;
        ensure!(erased["erased"] == serde_json::json!([id]), "{erased}");
        // The open widget is told at once: the request leaves the list and
        // the thread, and the customer reads why.
        browser
            .wait_script(&format!(
                "const n = document.querySelector('[data-testid=notice]');
                 return !!n && n.textContent === 'One of your requests was deleted for data protection.'
                     && !document.querySelector(\"[data-ticket-id='{id}']\")
                     && !document.querySelector('[data-testid=thread-subject]');"
            ))
            .await?;
        // Nothing of it is left on the device (the widget's IndexedDB):
        // neither in the list of requests nor its document.
        let started = std::time::Instant::now();
        loop {
            let stored = browser
                .client
                .execute_async(
                    "const [id, done] = arguments;
                     const open = indexedDB.open('stufe');
                     open.onerror = () => done('unreadable');
                     open.onsuccess = () => {
                         const store = open.result.transaction('kv').objectStore('kv');
                         const index = store.get('stufe:demo:tickets');
                         const doc = store.get('stufe:demo:doc:' + id);
                         doc.onsuccess = () => {
                             open.result.close();
                             done((index.result || '').includes(id) || doc.result !== undefined ? 'kept' : 'gone');
                         };
                     };",
                    vec![serde_json::json!(id)],
                )
                .await?;
            if stored == "gone" {
                break;
            }
            ensure!(started.elapsed().as_secs() < 20, "the device still keeps it: {stored}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        // After a reload (the widget reads its storage before it shows
        // anything) the list is empty.
        browser.client.refresh().await?;
        browser.open_widget().await?;
        browser.click("[data-testid=my-tickets-tab]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=ticket-list] li.empty"))
            .await?;
        let listed = browser
            .client
            .execute(
                "return document.querySelectorAll('[data-testid=ticket-item]').length;",
                vec![],
            )
            .await?;
        ensure!(listed == 0, "the erased request came back: {listed}");
        Ok(())
    }
    .await;
    finish(browser, &stufe, "erased", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_form_links_the_sites_privacy_notice_in_the_customers_language() -> Result<()> {
    let stufe = Stufe::start().await?;
    let mut site = stufe.staff_get("/api/sites/demo/config").await?;
    site["privacy_url"] = "https://shop.example/privacy".into();
    stufe
        .staff_send(Method::PUT, "/api/staff/sites/demo", site)
        .await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&stufe.demo_url()).await?;
        browser.open_widget().await?;
        browser.click("[data-testid=new-ticket-tab]").await?;
        browser
            .wait_script(
                "const p = document.querySelector('[data-testid=privacy-notice]');
                 const a = p && p.querySelector('a');
                 return !!a && a.getAttribute('href') === 'https://shop.example/privacy'
                     && a.target === '_blank' && a.rel.includes('noopener')
                     && p.textContent === 'How we handle what you send us: privacy notice';",
            )
            .await?;
        browser.set_locale("de").await?;
        browser
            .wait_script(
                "const p = document.querySelector('[data-testid=privacy-notice]');
                 return !!p && p.textContent === 'Wie wir mit Ihren Angaben umgehen: Datenschutzerklärung';",
            )
            .await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "privacy-notice", result).await
}
