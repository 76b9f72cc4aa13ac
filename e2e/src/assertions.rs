//! How every browser test ends: [`finish`] fails it on a panic, an uncaught error or a crash report.

use super::*;

/// Ends a test: a screenshot if it failed, then the checks every test must
/// pass, whatever it did: no panic or uncaught error in the browser's log,
/// and no crash reported by the widget to the server.
pub async fn finish(browser: Browser, stufe: &Stufe, name: &str, result: Result<()>) -> Result<()> {
    if result.is_err() {
        browser.screenshot(&format!("failed-{name}")).await;
    }
    let broken = browser.breakage().await;
    browser.quit().await?;
    result?;
    let broken = broken?;
    if !broken.is_empty() {
        bail!("the browser log shows the widget broke: {broken:#?}");
    }
    let reported = stufe.client_errors().await?;
    if !reported.is_empty() {
        bail!("the widget reported crashes: {reported:#?}");
    }
    Ok(())
}
