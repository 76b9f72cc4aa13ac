/* Stufe loader: the one script a host page includes.
   <script src="https://HOST/widget.js" data-site="SITE" async></script>
   Draws the launcher in a shadow root, loads the widget (an iframe) on first
   open or when the browser is idle (with data-load="click": only on first open
   or after Stufe('consent')), and queues Stufe(...) calls made earlier.
   It watches the frame: a frame that reports a crash (or stops answering the
   heartbeat) is reloaded once (unsent work is in the frame's storage); after a
   second crash the launcher says support is unavailable instead of showing a
   dead panel.
   No framework, no cookies, no globals besides window.Stufe. Every byte here
   is paid by every page view (the build minifies it; `cargo xtask build`
   prints its brotli size, aimed at 2 KiB): what matters only once the
   widget runs lives in the frame. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || (window.Stufe && window.Stufe.loaded)) return;
  var attr = function (name) { return script.getAttribute("data-" + name); };
  var origin = new URL(script.src).origin;
  var site = attr("site") || "";
  // data-load="click": nothing is fetched and no connection opened until the
  // customer opens the widget, or the owner calls Stufe('consent').
  var consented = attr("load") != "click";
  var queued = (window.Stufe && window.Stufe.q) || [];
  var german = /^de/i.test(navigator.language);
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
  var badge = button.lastChild;
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
  function draw() {
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
    showUnread(unreadCount);
  }
  var unreadCount = 0, unreadLabel;
  draw();
  // Stufe('on', event, fn) handlers. Handlers get ids and counts, never text.
  var handlers = { open: [], close: [], "ticket:created": [], message: [], unread: [] };
  function emit(name, detail) {
    handlers[name].slice().forEach(function (fn) {
      try { fn(detail); } catch (e) { console.error(e); }
    });
  }
  // New staff replies while the panel is closed (the widget counts them).
  // `text`: the launcher's name with the count, in the widget's language.
  function showUnread(n, text) {
    if (n != unreadCount) { unreadCount = n; emit("unread", { count: n }); }
    if (text) unreadLabel = text;
    badge.hidden = !(n > 0);
    badge.textContent = n > 9 ? "9+" : n;
    button.setAttribute("aria-label", n > 0 && unreadLabel || look.label || "Support");
  }
  function tellFrame(kind) {
    if (frame && frame.contentWindow) frame.contentWindow.postMessage({ stufe: kind }, origin);
  }
  var crashText;
  var frame, down, isOpen, answering, started, ready, identified, crashedThisLoad;
  var crashes = 0, unanswered = 0;
  // Commands for the widget itself wait until it has said hello.
  var pending = [];

  function ensureFrame() {
    if (frame || down) return;
    frame = root.appendChild(document.createElement("iframe"));
    frame.title = "Support";
    frame.setAttribute("data-testid", "widget-frame");
    // The page's origin goes with the frame request (whatever the page's own
    // referrer policy), so the server can tell where its widget is installed.
    frame.referrerPolicy = "origin";
    frame.src = origin + "/w/frame.html?site=" + encodeURIComponent(site);
    frame.onload = function () {
      crashedThisLoad = 0;
      // The frame's first script says "started" before its load event (the
      // message may still be on its way, hence the grace); a frame that loaded
      // without it was refused (this page's origin is not one the site allows:
      // frame-ancestors) or the server could not be reached.
      setTimeout(function () {
        if (!started && frame) {
          console.error("Stufe: site '" + site + "' could not start on this page: add " + location.origin +
            " to its allowed origins, or " + origin + " is unreachable.");
          showDown(1);
        }
      }, 2000);
    };
    // The frame answers every ping once it runs; a frame that answered before
    // and then misses several in a row is taken as crashed (hidden pages skip beats).
    setInterval(function () {
      if (!frame || !frame.contentWindow || document.hidden) return;
      if (answering && unanswered > 2) return crashed();
      if (answering) unanswered++;
      tellFrame("ping");
    }, 5000);
  }
  function crashed() {
    // One crash per document: its panic and the error after it are one crash.
    if (crashedThisLoad) return;
    crashedThisLoad = 1;
    answering = ready = started = unanswered = 0;
    if (++crashes < 2) frame.src = frame.src;
    else showDown();
  }
  // `here`: the widget could not start on this page at all (not allowed
  // here, or unreachable), so reloading will not help.
  function showDown(here) {
    // Hidden, not removed: removing it would cancel the crash report the
    // frame is still sending. It is never shown or pinged again.
    frame.className = "";
    frame.hidden = true;
    frame.setAttribute("data-testid", "crashed-frame");
    frame = null;
    down = root.appendChild(document.createElement("div"));
    down.setAttribute("role", "alert");
    down.setAttribute("data-testid", "unavailable");
    down.textContent = here
      ? (german ? "Der Support ist auf dieser Seite nicht verfügbar." : "Support is not available on this page.")
      // (A frame from before the frame sent its text: English.)
      : crashText || "Support is unavailable – reload the page.";
    down.classList.toggle("open", !!isOpen);
  }
  function setOpen(open) {
    if (open) ensureFrame();
    if (!open && !isOpen) return;
    isOpen = open;
    (frame || down).classList.toggle("open", open);
    button.setAttribute("aria-expanded", open);
    if (!open) button.focus(); else if (frame) frame.focus();
    tellFrame(open ? "opened" : "closed");
    emit(open ? "open" : "close", {});
  }
  // Passed to the widget once it runs, without opening the panel. A
  // signed-in customer may have requests from another device (their badge),
  // so identify starts the widget (now, or once the frame says it is
  // waiting); other commands wait until it runs for another reason.
  function send(name, arg) {
    pending.push({ stufe: "command", name: name, arg: arg });
    if (name == "identify") identified = 1, tellFrame("start");
    flush();
  }
  function flush() {
    while (ready && frame && pending.length) frame.contentWindow.postMessage(pending.shift(), origin);
  }
  function warn(text) { console.warn("Stufe: " + text); }
  var commands = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    toggle: function () { setOpen(!isOpen); },
    consent: function () { if (!consented) { consented = true; preloadWhenIdle(); } },
    hideLauncher: function () { button.hidden = true; },
    showLauncher: function () { button.hidden = false; },
    logout: function () { unreadCount = -1; showUnread(0); send("logout"); },
    on: function (name, fn) {
      if (handlers[name] && typeof fn == "function") handlers[name].push(fn);
      else warn("'on' takes one of " + Object.keys(handlers) + " and a function.");
    },
    off: function (name, fn) {
      if (handlers[name]) handlers[name] = fn ? handlers[name].filter(function (h) { return h !== fn; }) : [];
    }
  };
  commands.reset = commands.logout;
  // The widget checks these arguments (and warns about bad ones) once it runs.
  ["identify", "prefill", "setLocale", "search", "showArticle"].forEach(function (name, i) {
    commands[name] = function (arg) {
      if (i > 2) setOpen(true);
      send(name, arg && typeof arg == "object" ? JSON.stringify(arg) : arg);
    };
  });
  var warned = {};
  var api = function (command, arg, more) {
    if (commands.hasOwnProperty(command)) return void commands[command](arg, more);
    if (!warned[command]) {
      warned[command] = 1;
      warn("unknown command '" + command + "' is ignored. Known commands: " + Object.keys(commands) + ".");
    }
  };
  api.loaded = true;
  window.Stufe = api;
  button.onclick = commands.toggle;
  addEventListener("message", function (event) {
    var data = event.data;
    if (!frame || event.source !== frame.contentWindow || event.origin !== origin || !data) return;
    var kind = data.stufe;
    // The frame runs, and says in its language what to show should it crash.
    if (kind == "started") started = 1, crashText = data.down || crashText;
    // The frame starts the widget itself for a returning customer; otherwise
    // once the panel opens or the page signed a customer in (identify).
    else if (kind == "waiting" && (isOpen || identified)) tellFrame("start");
    else if (kind == "close") setOpen(false);
    // The site's launcher settings, from the frame: they win over the tag's.
    else if (kind == "look" && data.look) look = data.look, draw();
    else if (kind == "pong") answering = 1, unanswered = 0;
    else if (kind == "hello") { ready = 1; tellFrame(isOpen ? "opened" : "closed"); flush(); }
    else if (kind == "unread" && typeof data.n == "number") showUnread(data.n, data.label);
    else if (kind == "crashed") crashed();
    else if (kind == "event" && /^(ticket:created|message)$/.test(data.name)) emit(data.name, { id: "" + data.id });
  });
  function preloadWhenIdle() {
    (window.requestIdleCallback || function (f) { setTimeout(f, 3000); })(ensureFrame, { timeout: 10000 });
  }
  function mount() {
    document.body.appendChild(host);
    queued.forEach(function (call) { api.apply(null, call); });
    if (consented) preloadWhenIdle();
    // Pages that swap their <body> (Turbo-style navigation) keep the launcher;
    // the frame loads again inside it (its unsent work is in its own storage).
    new MutationObserver(function () {
      if (!host.isConnected && document.body) document.body.appendChild(host);
    }).observe(document.documentElement, { childList: true });
  }
  if (document.body) mount(); else addEventListener("DOMContentLoaded", mount);
})();
