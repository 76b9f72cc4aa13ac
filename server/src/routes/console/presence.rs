//! Presence on the ticket page: who else is there or typing, the customer
//! typing, and the warning before a reply collides with a colleague's.

use super::*;

/// Shows who else is on the page and who is typing (server-sent events while
/// the page is open, which is what counts as viewing), says when the agent
/// types (at most every 2 s), and asks once more before a reply is sent while
/// a colleague is on the same ticket.
pub(super) const PRESENCE_SCRIPT: &str = r#"(function () {
  "use strict";
  var box = document.querySelector("[data-testid=reply-box]");
  var shown = document.querySelector("[data-testid=presence]");
  var warning = document.querySelector("[data-testid=collision]");
  if (!window.EventSource || !box || !shown || !warning) return;
  var form = box.form, base = location.pathname.replace(/\/$/, "");
  var csrf = form.querySelector("input[name=csrf]").value;
  var others = [], warned = false, said = 0;
  new EventSource(base + "/presence").addEventListener("presence", function (e) {
    var seen = JSON.parse(e.data), parts = [];
    if (seen.customer_typing) parts.push("The customer is typing\u2026");
    seen.staff.forEach(function (s) {
      parts.push(s.name + (s.typing ? " is typing a reply\u2026" : " is viewing this ticket"));
    });
    shown.textContent = parts.join(" \u00b7 ");
    others = seen.staff;
    if (!others.length) { warning.hidden = true; warned = false; }
  });
  box.addEventListener("input", function () {
    var now = Date.now();
    if (now - said < 2000 || !box.value.trim()) return;
    said = now;
    fetch(base + "/typing", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "csrf=" + encodeURIComponent(csrf)
    });
  });
  form.addEventListener("submit", function (e) {
    if (warned || !others.length || !box.value.trim()) return;
    e.preventDefault();
    warned = true;
    var names = others.map(function (s) { return s.name; }).join(", ");
    var typing = others.some(function (s) { return s.typing; });
    warning.textContent = names + (others.length > 1 ? " are" : " is") +
      (typing ? " also writing a reply to this ticket." : " also on this ticket.") +
      " Press Save again to send yours anyway.";
    warning.hidden = false;
    warning.focus();
  });
})();
"#;

pub(super) async fn script() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        PRESENCE_SCRIPT,
    )
}

/// `presence` events with what the agent sees of the others on the ticket
/// (JSON: `{"customer_typing":bool,"staff":[{"name","typing"}]}`), at once
/// and on every change, for as long as the page is open.
pub(super) async fn events(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    AppError,
> {
    use futures_util::StreamExt;
    let seen = crate::desk::presence::watch(&state, &user, ticket_id(&id)?).await?;
    let events = seen
        .map(|seen| {
            let json = serde_json::to_string(&seen).expect("presence serializes");
            Ok(axum::response::sse::Event::default()
                .event("presence")
                .data(json))
        })
        .take_until(state.shutdown.clone().cancelled_owned());
    Ok(axum::response::sse::Sse::new(events).keep_alive(axum::response::sse::KeepAlive::default()))
}

/// The agent is typing a reply.
pub(super) async fn typing(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    crate::desk::presence::typing(&state, &user, ticket_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
