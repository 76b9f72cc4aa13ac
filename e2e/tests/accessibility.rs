//! Accessibility, checked with axe-core (every rule it runs by default:
//! WCAG 2.x A and AA, and best practices) on every widget view and every
//! console page, and the focus order a keyboard user meets.

use anyhow::{ensure, Result};
use fantoccini::Locator;
use stufe_e2e::{finish, Browser, HostSite, Stufe, STAFF_PASSWORD};

/// Fails with every violation axe found on the current page, named by `view`.
async fn no_violations(browser: &Browser, view: &str, failures: &mut Vec<String>) -> Result<()> {
    for violation in browser.axe_violations().await? {
        failures.push(format!("{view}: {violation}"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_widget_view_passes_axe() -> Result<()> {
    widget_views_pass_axe(Browser::launch().await?, "axe-widget").await
}

/// The same views on a system that prefers dark colours: the widget follows
/// it, and its dark colours pass axe's contrast rules too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_widget_view_passes_axe_in_dark_mode() -> Result<()> {
    widget_views_pass_axe(Browser::launch_dark().await?, "axe-widget-dark").await
}

async fn widget_views_pass_axe(browser: Browser, name: &str) -> Result<()> {
    let stufe = Stufe::start().await?;
    stufe
        .publish(
            "printer-offline",
            "Printer offline",
            "## Steps\n\nSwitch the printer off and on again.",
        )
        .await?;
    let host = HostSite::start(&stufe).await?;
    let result = async {
        let mut failures = Vec::new();
        browser.client.goto(&host.url()).await?;
        browser.open_widget().await?;
        // Light or dark as the system prefers (no site setting).
        let dark = browser
            .client
            .execute("return matchMedia('(prefers-color-scheme: dark)').matches && getComputedStyle(document.body).backgroundColor !== 'rgb(255, 255, 255)';", vec![])
            .await?;
        ensure!(
            dark == serde_json::Value::Bool(name.ends_with("dark")),
            "the widget's colours follow the system: dark = {dark}"
        );
        browser.click("[data-testid=help-tab]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=kb-article-link]"))
            .await?;
        no_violations(&browser, "help", &mut failures).await?;

        browser
            .wait_for(Locator::Css("[data-testid=kb-search]"))
            .await?
            .send_keys("printer")
            .await?;
        browser
            .wait_for(Locator::Css("[data-testid=kb-result] mark"))
            .await?;
        no_violations(&browser, "search results", &mut failures).await?;
        browser.click("[data-testid=kb-result]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=article-body]"))
            .await?;
        no_violations(&browser, "article", &mut failures).await?;

        browser.click("[data-testid=new-ticket-tab]").await?;
        browser
            .wait_for(Locator::Css(
                "[data-testid=category] option[value=technical]",
            ))
            .await?;
        no_violations(&browser, "new request", &mut failures).await?;
        browser.click("[data-testid=submit]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=form-error]"))
            .await?;
        no_violations(&browser, "new request with an error", &mut failures).await?;

        browser
            .submit_ticket("Printer offline", "It blinks red.")
            .await?;
        let id = browser.ticket_id("Printer offline").await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        no_violations(&browser, "my requests", &mut failures).await?;
        browser.click("[data-testid=ticket-item]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=thread]"))
            .await?;
        no_violations(&browser, "request thread", &mut failures).await?;
        stufe
            .staff_send(
                reqwest::Method::PATCH,
                &format!("/api/staff/tickets/{id}"),
                serde_json::json!({ "status": "resolved" }),
            )
            .await?;
        browser
            .wait_for(Locator::Css("[data-testid=rating-form]"))
            .await?;
        no_violations(&browser, "rating a resolved request", &mut failures).await?;

        // A site that chose dark colours gets them whatever the system prefers.
        let mut site = stufe.staff_get("/api/sites/demo/config").await?;
        site["theme"] = "dark".into();
        stufe
            .staff_send(reqwest::Method::PUT, "/api/staff/sites/demo", site)
            .await?;
        browser.client.refresh().await?;
        browser.open_widget().await?;
        browser
            .wait_script(
                "return document.documentElement.dataset.theme === 'dark'
                    && getComputedStyle(document.body).backgroundColor === 'rgb(21, 24, 30)';",
            )
            .await?;
        no_violations(&browser, "help, dark by the site's choice", &mut failures).await?;
        ensure!(failures.is_empty(), "axe found:\n{}", failures.join("\n"));
        Ok(())
    }
    .await;
    finish(browser, &stufe, name, result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_page_passes_axe() -> Result<()> {
    console_pages_pass_axe(Browser::launch().await?, "axe-console").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_page_passes_axe_in_dark_mode() -> Result<()> {
    console_pages_pass_axe(Browser::launch_dark().await?, "axe-console-dark").await
}

async fn console_pages_pass_axe(browser: Browser, name: &str) -> Result<()> {
    let stufe = Stufe::start().await?;
    let result = async {
        let mut failures = Vec::new();
        let c = &browser.client;
        c.goto(&stufe.api("/console/login")).await?;
        no_violations(&browser, "login", &mut failures).await?;
        c.find(Locator::Css("input[name=login]"))
            .await?
            .send_keys("sam")
            .await?;
        c.find(Locator::Css("input[name=password]"))
            .await?
            .send_keys(STAFF_PASSWORD)
            .await?;
        browser.click("form button").await?;
        browser
            .wait_for(Locator::Css("[data-testid=queue]"))
            .await?;
        no_violations(&browser, "queue", &mut failures).await?;
        browser.click("[data-testid=queue] a").await?;
        browser
            .wait_for(Locator::Css("textarea[name=body]"))
            .await?;
        no_violations(&browser, "ticket", &mut failures).await?;
        for (page, path) in [
            ("knowledge base", "/console/kb"),
            ("KPIs", "/console/kpis?site=demo"),
            ("staff", "/console/staff"),
            ("saved replies", "/console/saved-replies?site=demo"),
            ("settings", "/console/password"),
            ("sites", "/console/sites"),
            ("site", "/console/sites/demo"),
            ("automation rules", "/console/sites/demo/automation"),
            ("webhooks", "/console/sites/demo/webhooks"),
            ("audit trail", "/console/audit"),
            ("widget errors", "/console/errors"),
        ] {
            c.goto(&stufe.api(path)).await?;
            browser.wait_for(Locator::Css("main h1")).await?;
            no_violations(&browser, page, &mut failures).await?;
        }
        c.goto(&stufe.api("/console/kb")).await?;
        browser
            .wait_for(Locator::Css("[data-testid=new-draft-title]"))
            .await?
            .send_keys("Reset the router")
            .await?;
        browser.click("[data-testid=new-draft]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=draft-body]"))
            .await?;
        no_violations(&browser, "draft", &mut failures).await?;
        ensure!(failures.is_empty(), "axe found:\n{}", failures.join("\n"));
        Ok(())
    }
    .await;
    finish(browser, &stufe, name, result).await
}

/// Waits until the focused element of the current frame matches `css`.
async fn focus_is_on(browser: &Browser, css: &str) -> Result<()> {
    browser
        .wait_script(&format!(
            "return !!document.activeElement && document.activeElement.matches({css:?});"
        ))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn focus_moves_to_each_views_heading_and_back_to_the_launcher() -> Result<()> {
    let stufe = Stufe::start().await?;
    stufe
        .publish(
            "printer-offline",
            "Printer offline",
            "Switch it off and on.",
        )
        .await?;
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch().await?;
    let result = async {
        browser.client.goto(&host.url()).await?;
        browser.open_widget().await?;
        browser.click("[data-testid=help-tab]").await?;
        browser.click("[data-testid=kb-article-link]").await?;
        focus_is_on(&browser, "[data-testid=article-title]").await?;
        browser.click("[data-testid=back]").await?;
        focus_is_on(&browser, "[data-testid=view-heading]").await?;
        // Through a tab, focus stays on the tab.
        browser.click("[data-testid=new-ticket-tab]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=ticket-form]"))
            .await?;
        focus_is_on(&browser, "[data-testid=new-ticket-tab]").await?;
        browser
            .submit_ticket("Printer offline", "It blinks red.")
            .await?;
        browser.ticket_id("Printer offline").await?;
        focus_is_on(&browser, "[data-testid=view-heading]").await?;
        browser.click("[data-testid=ticket-item]").await?;
        focus_is_on(&browser, "[data-testid=thread-subject]").await?;
        // Escape closes the panel and focus returns to the launcher.
        browser
            .client
            .active_element()
            .await?
            .send_keys("\u{E00C}")
            .await?;
        browser.client.enter_parent_frame().await?;
        browser
            .wait_script(
                "const root = document.getElementById('stufe-widget').shadowRoot;
                 return !root.querySelector('iframe.open')
                     && !!root.activeElement && root.activeElement.dataset.testid === 'launcher';",
            )
            .await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "focus", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_works_at_200_percent_zoom() -> Result<()> {
    let stufe = Stufe::start().await?;
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch().await?;
    let result = async {
        // A 1280×800 screen at 200% zoom lays pages out in about 640×400 CSS
        // pixels (the window's own bars take the rest of its height).
        browser.client.set_window_size(640, 540).await?;
        browser.client.goto(&host.url()).await?;
        browser.open_widget().await?;
        browser.client.enter_parent_frame().await?;
        let fits = browser
            .client
            .execute(
                "const f = document.getElementById('stufe-widget').shadowRoot.querySelector('iframe.open').getBoundingClientRect();
                 return f.left >= 0 && f.top >= 0 && f.right <= innerWidth && f.bottom <= innerHeight && f.height >= 200;",
                vec![],
            )
            .await?;
        ensure!(fits == true, "the panel does not fit a 640×400 viewport");
        browser.enter_widget_frame().await?;
        browser
            .submit_ticket("Zoomed in", "Sent at 200% zoom.")
            .await?;
        browser.ticket_id("Zoomed in").await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        // Nothing in the panel needs sideways scrolling.
        let sideways = browser
            .client
            .execute(
                "return document.documentElement.scrollWidth > document.documentElement.clientWidth;",
                vec![],
            )
            .await?;
        ensure!(sideways == false, "the panel scrolls sideways");
        Ok(())
    }
    .await;
    finish(browser, &stufe, "zoom", result).await
}
