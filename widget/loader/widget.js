/* Stufe loader: the one script a host page includes.
   <script src="https://HOST/widget.js" data-site="SITE" async></script>
   Draws the launcher in a shadow root and queues Stufe(...) calls. Every byte
   here is paid by every page view before the host page's load event (the
   build minifies it; `cargo xtask build` prints its brotli size, aimed at
   2 KiB), so the rest — the widget's frame, its heartbeat and crash handling,
   the commands and events — is panel.js, which this file fetches when the
   browser is idle (with data-load="click": only on first open or after
   Stufe('consent')) and hands the launcher and the queued calls to.
   No framework, no cookies, no globals besides window.Stufe. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || (window.Stufe && window.Stufe.loaded)) return;
  var attr = function (name) { return script.getAttribute("data-" + name); };
  var origin = new URL(script.src).origin;
  // data-load="click": nothing is fetched and no connection opened until the
  // customer opens the widget, or the owner calls Stufe('consent').
  var consented = attr("load") != "click";
  var queued = (window.Stufe && window.Stufe.q) || [];
  var host = document.createElement("div");
  host.id = "stufe-widget";
  host.style.cssText = "all:initial!important;position:fixed!important;z-index:2147483000!important";
  var root = host.attachShadow({ mode: "open" });
  // The launcher's look: the tag's data-color, data-position (right, left),
  // data-label and data-icon (chat, help, mail), until the frame says the
  // site's settings (the console's), which then win.
  var look = { color: attr("color"), position: attr("position"), label: attr("label"), icon: attr("icon") };
  var ICONS = {
    chat: '<path d="M4 4h16v12H7l-3 3z"/>',
    help: '<path fill=none stroke=#fff stroke-width=2.4 stroke-linecap=round d="M9 9a3 3 0 1 1 4.2 2.75c-.7.35-1.2.95-1.2 1.75v1M12 18v.5"/>',
    mail: '<path fill=none stroke=#fff stroke-width=2 stroke-linejoin=round d="M3 6h18v12H3zm0 0 9 7 9-7"/>'
  };
  root.innerHTML =
    '<button type=button data-testid=launcher aria-label=Support aria-expanded=false>' +
    '<svg width=28 height=28 viewBox="0 0 24 24" fill=#fff aria-hidden=true></svg><span hidden></span>' +
    '<b data-testid=unread aria-hidden=true hidden></b></button>';
  var button = root.firstChild;
  var icon = button.firstChild;
  var label = icon.nextSibling;
  // A constructed stylesheet is not inline CSS: host pages whose
  // Content-Security-Policy forbids inline styles still style the launcher.
  // Browsers without constructed stylesheets get a <style> element.
  var sheet;
  try {
    sheet = new CSSStyleSheet();
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    sheet = root.appendChild(document.createElement("style"));
  }
  // Draws the launcher (and the panel's box) with `look`; panel.js calls it
  // again with the site's settings.
  function draw(newLook) {
    look = newLook || look;
    var side = look.position == "left" ? "left" : "right";
    var box = "position:fixed;" + side + ":20px;bottom:88px;border-radius:12px;box-shadow:0 8px 30px #0005;background:#fff;display:none;";
    var css =
      "button{all:initial;position:fixed;" + side + ":20px;bottom:20px;min-width:56px;height:56px;padding:0 14px;box-sizing:border-box;border-radius:28px;background:" +
      (/^#[0-9a-f]{6}$/i.test(look.color) ? look.color : "#0b5fff") +
      ";box-shadow:0 4px 14px #0004;cursor:pointer;display:flex;gap:8px;align-items:center;justify-content:center}" +
      "button:focus-visible{outline:3px solid #111;outline-offset:3px}[hidden]{display:none!important}" +
      "span{color:#fff;font:600 16px system-ui,sans-serif}" +
      "b{position:absolute;top:-4px;right:-4px;min-width:20px;padding:0 5px;box-sizing:border-box;" +
      "border-radius:10px;background:#d92d20;color:#fff;font:600 12px/20px system-ui,sans-serif;text-align:center}" +
      "iframe{" + box + "width:380px;height:min(620px,100vh - 108px);border:0}" +
      "div{" + box + "width:300px;padding:14px 16px;color:#111;font:15px/1.4 system-ui,sans-serif}" +
      ".open{display:block}" +
      // Small screens, and large ones zoomed in (200% on a laptop leaves ~640×360
      // CSS pixels): the panel takes the whole window.
      "@media (max-width:480px),(max-height:560px){iframe{inset:0;width:100%;height:100%;border-radius:0}}";
    if (sheet.replaceSync) sheet.replaceSync(css); else sheet.textContent = css;
    icon.innerHTML = ICONS[look.icon] || ICONS.chat;
    label.textContent = look.label = ("" + (look.label || "")).slice(0, 24);
    label.hidden = !look.label;
    button.setAttribute("aria-label", look.label || "Support");
    return look;
  }
  draw();
  // panel.js, fetched once: at idle, on the first open, or for a command
  // that opens the panel.
  var panel;
  function loadPanel() {
    if (panel) return;
    panel = root.appendChild(document.createElement("script"));
    panel.src = origin + "/w/__PANEL__";
    // Unreachable now: the next open tries again.
    panel.onerror = function () { panel.remove(); panel = 0; };
  }
  // Never before the host page's load event: then when the browser is idle.
  function loadWhenIdle() {
    if (document.readyState != "complete") return addEventListener("load", loadWhenIdle);
    (window.requestIdleCallback || function (f) { setTimeout(f, 3000); })(loadPanel, { timeout: 10000 });
  }
  // Until panel.js runs, calls wait in `queue` (it takes them over with
  // window.Stufe); the launcher's visibility changes at once.
  var queue = [];
  var api = function (command) {
    // (A page that kept this function calls panel.js's once it runs.)
    if (window.Stufe != api) return window.Stufe.apply(null, arguments);
    if (/^(hide|show)Launcher$/.test(command)) button.hidden = command == "hideLauncher";
    else queue.push(arguments);
    if (/^(open|toggle|search|showArticle)$/.test(command)) loadPanel();
    if (command == "consent" && !consented) consented = 1, loadWhenIdle();
  };
  api.loaded = true;
  // What panel.js takes over. A loader cached from one release may meet the
  // panel of the next (both are kept 5 minutes), so these names stay.
  api._ = { origin: origin, site: attr("site") || "", root: root, button: button, draw: draw, queue: queue };
  window.Stufe = api;
  // Until panel.js runs the panel is closed: a click opens it (clicks made
  // while panel.js is on its way, or after it failed to load, are one open).
  button.onclick = function () { api("open"); };
  function mount() {
    document.body.appendChild(host);
    queued.forEach(function (call) { api.apply(null, call); });
    if (consented) loadWhenIdle();
    // Pages that swap their <body> (Turbo-style navigation) keep the launcher;
    // the frame loads again inside it (its unsent work is in its own storage).
    new MutationObserver(function () {
      if (!host.isConnected && document.body) document.body.appendChild(host);
    }).observe(document.documentElement, { childList: true });
  }
  if (document.body) mount(); else addEventListener("DOMContentLoaded", mount);
})();
