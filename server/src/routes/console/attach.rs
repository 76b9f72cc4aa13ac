//! Attaching files to a reply on the ticket page: each picked file is
//! uploaded at once (through the staff API, with the console session), and
//! the answers go with the form in its hidden `files` field.

use super::*;

pub(super) const ATTACH_SCRIPT: &str = r#"(function () {
  "use strict";
  var input = document.querySelector("[data-testid=console-attach]");
  var list = document.querySelector("[data-testid=console-chosen]");
  var field = document.querySelector("[data-testid=console-files-field]");
  if (!input || !list || !field || !window.fetch) return;
  var form = field.form, save = form.querySelector("[data-testid=save-ticket]");
  var ticket = location.pathname.split("/").pop(), ready = [], pending = 0;
  function size(n) {
    return n < 1e3 ? n + " B" : n < 1e6 ? Math.round(n / 1e3) + " KB" : (n / 1e6).toFixed(1) + " MB";
  }
  function update() {
    field.value = ready.length ? JSON.stringify(ready) : "";
    save.disabled = pending > 0;
  }
  input.addEventListener("change", function () {
    Array.prototype.forEach.call(input.files, function (file) {
      var item = document.createElement("li");
      item.setAttribute("data-testid", "console-chosen-file");
      item.textContent = file.name + " (" + size(file.size) + "): uploading\u2026";
      list.appendChild(item);
      pending++;
      update();
      fetch("/api/staff/tickets/" + ticket + "/files?name=" + encodeURIComponent(file.name), {
        method: "POST", credentials: "same-origin", body: file
      }).then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (answer) {
        if (answer.ok) {
          ready.push(answer.body);
          item.textContent = answer.body.name + " (" + size(answer.body.size) + "): ready";
          item.setAttribute("data-state", "ready");
        } else {
          item.textContent = file.name + ": not attached: " + answer.body.error;
          item.setAttribute("data-state", "refused");
          item.className = "error";
        }
      }, function () {
        item.textContent = file.name + ": not attached: the upload failed; try again";
        item.setAttribute("data-state", "refused");
        item.className = "error";
      }).then(function () { pending--; update(); });
    });
    input.value = "";
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
        ATTACH_SCRIPT,
    )
}
