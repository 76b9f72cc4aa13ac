//! Prints what the widget costs a host page, measured in headless Chromium
//! on the loopback (`cargo xtask bench` runs it): the bytes and requests of a
//! first-time visitor's page over 60 s idle (`STUFE_WEIGHT_IDLE_SECS`),
//! never opening it; and, with a cold cache and the frame made by the click
//! (`data-load="click"`), the time from a click on the launcher until Help
//! and until the ticket form are usable, and the bytes then loaded. Times are
//! taken in the browser (the click by a listener on the launcher, Help by the
//! shell's `stufe:help` User Timing mark, the form by a MutationObserver in
//! the frame) and, for comparison, by polling the page over WebDriver, which
//! is tens of milliseconds late.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fantoccini::Locator;
use stufe_e2e::{Browser, HostSite, Stufe};

/// In a frame: every response it got (its own page included), as
/// [path, bytes on the wire with headers, body bytes as sent].
const FETCHED: &str = "return performance.getEntriesByType('navigation')
    .concat(performance.getEntriesByType('resource'))
    .map(e => [new URL(e.name).pathname, e.transferSize, e.encodedBodySize]);";

async fn frame_fetched(browser: &Browser) -> Result<Vec<(String, u64, u64)>> {
    browser.enter_closed_or_open_widget_frame().await?;
    let fetched = browser.client.execute(FETCHED, vec![]).await?;
    browser.client.enter_parent_frame().await?;
    Ok(serde_json::from_value(fetched)?)
}

/// Milliseconds from `since` until `css` is in the frame (entered anew each
/// time: the frame made by the click navigates after it is made).
async fn until_in_frame(browser: &Browser, css: &str, since: Instant) -> Result<f64> {
    let script = format!("return !!document.querySelector('{css}');");
    loop {
        browser.enter_closed_or_open_widget_frame().await?;
        if browser.client.execute(&script, vec![]).await? == serde_json::Value::Bool(true) {
            return Ok(since.elapsed().as_secs_f64() * 1000.0);
        }
        if since.elapsed() > Duration::from_secs(30) {
            let body = browser
                .client
                .execute(
                    "return location.href + ' ' + document.body.innerHTML.slice(0, 300);",
                    vec![],
                )
                .await?;
            anyhow::bail!("{css} never came: {body}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// On the host page: remembers when the launcher is clicked (epoch ms).
const CLICK_TIME: &str = "document.getElementById('stufe-widget').shadowRoot.querySelector('[data-testid=launcher]')
    .addEventListener('click', () => { window.__stufeClickAt = performance.timeOrigin + performance.now(); },
      { capture: true, once: true });
    return true;";

/// In the frame: notes when the widget's form tab appears (epoch ms).
const FORM_TIME: &str = "const seen = () => {
      if (!window.__stufeFormAt && document.querySelector('[data-testid=new-ticket-tab]')) {
        window.__stufeFormAt = performance.timeOrigin + performance.now();
      }
    };
    new MutationObserver(seen).observe(document.body, { childList: true, subtree: true });
    seen();
    return true;";

/// In the frame: when Help became usable (the shell's `stufe:help` mark)
/// and when the form tab appeared, both in epoch ms.
const FRAME_TIMES: &str = "const help = performance.getEntriesByName('stufe:help')[0];
    return [help ? performance.timeOrigin + help.startTime : null, window.__stufeFormAt || null];";

/// On the host page: what it fetched from Stufe (the loader, its panel; the
/// frame's page is counted in the frame), as
/// [path, bytes on the wire with headers, body bytes as sent, whether the
/// request started before the page's load event].
const HOST_FETCHED: &str = "const load = performance.getEntriesByType('navigation')[0].loadEventStart;
    return performance.getEntriesByType('resource')
      .filter(e => { const p = new URL(e.name).pathname; return p == '/widget.js' || (p.startsWith('/w/') && !p.endsWith('.html')); })
      .map(e => [new URL(e.name).pathname, e.transferSize, e.encodedBodySize, !load || e.startTime < load]);";

async fn host_fetched(browser: &Browser) -> Result<Vec<(String, u64, u64, bool)>> {
    browser.client.enter_parent_frame().await?;
    let fetched = browser.client.execute(HOST_FETCHED, vec![]).await?;
    Ok(serde_json::from_value(fetched)?)
}

/// Prints what the host page (`host`) and the frame (`frame`) fetched.
fn print_fetched(what: &str, host: &[(String, u64, u64, bool)], frame: &[(String, u64, u64)]) {
    let all = host
        .iter()
        .map(|h| (&h.0, h.1, h.2, if h.3 { "before load" } else { "" }))
        .chain(frame.iter().map(|f| (&f.0, f.1, f.2, "frame")))
        .collect::<Vec<_>>();
    let wire: u64 = all.iter().map(|f| f.1).sum();
    let body: u64 = all.iter().map(|f| f.2).sum();
    let before_load: u64 = host.iter().filter(|h| h.3).map(|h| h.2).sum();
    println!(
        "{what}: {} requests, {wire} B on the wire ({body} B bodies); before the host page's load event: {before_load} B bodies",
        all.len()
    );
    for (path, wire, body, when) in all {
        println!("    {path:<48} {wire:>8} B wire {body:>8} B body  {when}");
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let stufe = Stufe::start().await?;
    let host = HostSite::start(&stufe).await?;

    // A first-time visitor who never opens it.
    let browser = Browser::launch().await?;
    browser.client.goto(&host.url()).await?;
    browser.wait_for(Locator::Css("#stufe-widget")).await?;
    tokio::time::sleep(Duration::from_secs(
        std::env::var("STUFE_WEIGHT_IDLE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    ))
    .await;
    let idle = frame_fetched(&browser).await?;
    let idle_host = host_fetched(&browser).await?;
    print_fetched(
        "first-time visitor, 60 s idle, never opened",
        &idle_host,
        &idle,
    );
    let widget = idle
        .iter()
        .any(|f| f.0.ends_with(".wasm") || f.0.contains("/stufe_widget-"));
    println!("    the widget (wasm, glue, hence its WebSocket) loaded: {widget}");
    browser.quit().await?;

    // Cold cache: a new browser clicks the launcher as soon as it is there,
    // on a page whose tag says data-load="click", so the frame is made by the
    // click (with the default tag it is usually made at idle, before a click).
    let click_host = HostSite::start_with_tag(&stufe, "", "data-load=\"click\"").await?;
    let browser = Browser::launch().await?;
    browser.client.goto(&click_host.url()).await?;
    let launcher = browser.wait_for(Locator::Css("#stufe-widget")).await?;
    let button = launcher
        .shadow_root()
        .await?
        .find(Locator::Css("[data-testid=launcher]"))
        .await?;
    // The click's time as the page saw it (ms since the epoch, the
    // frame's clock is the same).
    browser.client.execute(CLICK_TIME, vec![]).await?;
    let clicked = Instant::now();
    button.click().await?;
    // Help is the shell's search, or the widget's once it has taken over.
    let help_polled = until_in_frame(
        &browser,
        "[data-testid=shell-search], [data-testid=kb-search]",
        clicked,
    )
    .await?;
    // In the frame, from here on: when the widget's form tab appears.
    browser.client.execute(FORM_TIME, vec![]).await?;
    let form_polled = until_in_frame(&browser, "[data-testid=new-ticket-tab]", clicked).await?;
    browser.client.enter_parent_frame().await?;
    let click_at = browser
        .client
        .execute("return window.__stufeClickAt;", vec![])
        .await?
        .as_f64()
        .context("the click's time")?;
    browser.enter_closed_or_open_widget_frame().await?;
    let in_frame = browser.client.execute(FRAME_TIMES, vec![]).await?;
    let help = in_frame[0].as_f64().context("the Help shell's mark")? - click_at;
    let form = in_frame[1].as_f64().context("the form tab's time")? - click_at;
    println!(
        "launcher click -> Help usable (cold cache): {help:.0} ms in the page ({help_polled:.0} ms polled over WebDriver)"
    );
    println!(
        "launcher click -> ticket form usable (cold cache): {form:.0} ms in the page ({form_polled:.0} ms polled over WebDriver)"
    );
    browser.client.enter_parent_frame().await?;
    let opened = frame_fetched(&browser).await?;
    let opened_host = host_fetched(&browser).await?;
    print_fetched("everything loaded once opened", &opened_host, &opened);
    browser.quit().await?;
    Ok(())
}
