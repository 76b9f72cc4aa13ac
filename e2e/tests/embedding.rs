//! End-to-end: the widget on a host page of a careful owner, whose
//! Content-Security-Policy allows scripts only from itself and Stufe, frames
//! only from Stufe, styles only from itself, and nothing inline.

use anyhow::{ensure, Result};
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
