//! Keyboard shortcuts on every console page, and the overlay that lists
//! them (`?`). Keys typed into a field are the field's, except Ctrl+Enter.

use super::*;

pub(super) const KEYS_SCRIPT: &str = r#"(function () {
  "use strict";
  var keys = [
    ["?", "show or hide this list"],
    ["j / k", "queue: next / previous request"],
    ["Enter", "queue: open the chosen request"],
    ["x", "queue: check the chosen request (for changing several at once)"],
    ["/", "queue: search"],
    ["r", "request: write a reply"],
    ["Ctrl+Enter", "request: save (send the reply and changes)"],
    ["e", "request: mark resolved (then Save)"],
    ["u", "back to the queue"]
  ];
  var help = null, current = -1;
  function toggleHelp() {
    if (!help) {
      help = document.createElement("dialog");
      help.setAttribute("data-testid", "shortcuts");
      help.setAttribute("aria-label", "Keyboard shortcuts");
      var h = document.createElement("h2");
      h.textContent = "Keyboard shortcuts";
      var list = document.createElement("dl");
      keys.forEach(function (k) {
        var dt = document.createElement("dt"), kbd = document.createElement("kbd"), dd = document.createElement("dd");
        kbd.textContent = k[0]; dt.appendChild(kbd); dd.textContent = k[1];
        list.appendChild(dt); list.appendChild(dd);
      });
      var close = document.createElement("button");
      close.type = "button"; close.textContent = "Close";
      close.addEventListener("click", function () { help.close(); });
      help.appendChild(h); help.appendChild(list); help.appendChild(close);
      document.body.appendChild(help);
    }
    if (help.open) help.close(); else help.showModal();
  }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-testid=queue-row]")); }
  function choose(step) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(all.length - 1, current + step));
    all.forEach(function (r, i) { r.classList.toggle("current", i === current); });
    var link = all[current].querySelector("a");
    if (link) link.focus();
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target, typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      var save = document.querySelector("[data-testid=save-ticket]");
      if (save) { e.preventDefault(); save.click(); }
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    var reply = document.querySelector("[data-testid=reply-box]");
    var search = document.querySelector("[data-testid=queue-search]");
    switch (e.key) {
      case "?": e.preventDefault(); toggleHelp(); break;
      case "j": choose(1); break;
      case "k": choose(-1); break;
      case "x":
        var row = rows()[current], box = row && row.querySelector("[data-testid=queue-check]");
        if (box) box.checked = !box.checked;
        break;
      case "/": if (search) { e.preventDefault(); search.focus(); } break;
      case "r": if (reply) { e.preventDefault(); reply.focus(); } break;
      case "e":
        var status = document.querySelector("form select[name=status]");
        if (status && reply) { status.value = "resolved"; document.querySelector("[data-testid=save-ticket]").focus(); }
        break;
      case "u": location.href = "/console"; break;
    }
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
        KEYS_SCRIPT,
    )
}
