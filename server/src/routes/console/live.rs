//! The live queue: the script that reloads the queue when tickets change, and its event stream.

use super::*;

/// Refreshes the queue table in place when a ticket on one of the agent's
/// sites changes (server-sent events), without reloading the page. While the
/// tab is in the background it counts the changes in the title ("(2) Queue")
/// and, if the agent turned them on, shows a desktop notification.
pub(super) const LIVE_SCRIPT: &str = r#"(function () {
  "use strict";
  if (!window.EventSource || !document.querySelector("[data-testid=queue]")) return;
  var waiting = false, unseen = 0, title = document.title;
  var button = document.querySelector("[data-testid=notify-toggle]");
  function notifying() {
    return window.Notification && Notification.permission === "granted" && localStorage.getItem("stufe:notify") === "on";
  }
  function label() {
    if (button) button.textContent = notifying() ? "Desktop notifications: on" : "Turn on desktop notifications";
  }
  if (button && window.Notification) {
    button.hidden = false;
    label();
    button.addEventListener("click", function () {
      if (notifying()) { localStorage.setItem("stufe:notify", "off"); label(); return; }
      Notification.requestPermission().then(function (p) {
        if (p === "granted") localStorage.setItem("stufe:notify", "on");
        label();
      });
    });
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { unseen = 0; document.title = title; }
  });
  new EventSource("/console/events").addEventListener("queue", function (e) {
    if (document.hidden) {
      unseen++;
      document.title = "(" + unseen + ") " + title;
      if (notifying()) new Notification("Stufe: the queue changed", { body: e.data === "*" ? "Several requests changed." : "A request on " + e.data + " is new or changed.", tag: "stufe-queue" });
    }
    if (waiting) return;
    waiting = true;
    setTimeout(function () {
      waiting = false;
      fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-testid=queue]");
        var shown = document.querySelector("[data-testid=queue]");
        if (fresh && shown) shown.replaceWith(fresh);
      });
    }, 300);
  });
})();
"#;

pub(super) async fn live_script() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        LIVE_SCRIPT,
    )
}

/// `queue` events whenever a ticket on one of the agent's sites changes;
/// the stream ends when the server shuts down.
pub(super) async fn queue_events(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
) -> axum::response::sse::Sse<
    impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
> {
    use futures_util::StreamExt;
    let changes = state.hub.watch_tickets();
    let events = futures_util::stream::unfold(changes, move |mut changes| {
        let user = user.clone();
        async move {
            loop {
                match changes.recv().await {
                    Ok(site) if !user.works_on(site.as_str()) => continue,
                    Ok(site) => {
                        let event = axum::response::sse::Event::default()
                            .event("queue")
                            .data(site.as_str());
                        return Some((Ok(event), changes));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let event = axum::response::sse::Event::default()
                            .event("queue")
                            .data("*");
                        return Some((Ok(event), changes));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    })
    .take_until(state.shutdown.clone().cancelled_owned());
    axum::response::sse::Sse::new(events).keep_alive(axum::response::sse::KeepAlive::default())
}
