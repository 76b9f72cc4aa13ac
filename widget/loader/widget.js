/* Stufe loader: the one script a host page includes.
   <script src="https://HOST/widget.js" data-site="SITE" async></script>
   Draws the launcher in a shadow root, loads the widget (an iframe) on first
   open or when the browser is idle (with data-load="click": only on first open
   or after Stufe('consent')), and queues Stufe(...) calls made earlier.
   It watches the frame: a frame that reports a crash (or stops answering the
   heartbeat) is reloaded once (unsent work is in the frame's storage); after a
   second crash the launcher says support is unavailable instead of showing a
   dead panel.
   No framework, no cookies, no globals besides window.Stufe. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || (window.Stufe && window.Stufe.loaded)) return;
  var origin = new URL(script.src).origin;
  var site = script.getAttribute("data-site") || "";
  var color = script.getAttribute("data-color") || "#0b5fff";
  // data-load="click": nothing is fetched and no connection opened until the
  // customer opens the widget, or the owner calls Stufe('consent').
  var consented = script.getAttribute("data-load") !== "click";
  var queued = (window.Stufe && window.Stufe.q) || [];
  var host = document.createElement("div");
  host.id = "stufe-widget";
  host.style.cssText = "all:initial!important;position:fixed!important;right:0!important;bottom:0!important;z-index:2147483000!important;";
  var root = host.attachShadow({ mode: "open" });
  var css =
    ":host{all:initial}" +
    "button{all:initial;position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;background:" + color + ";" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer;display:flex;align-items:center;justify-content:center}" +
    "button:focus-visible{outline:3px solid #111;outline-offset:3px}button[hidden]{display:none}" +
    ".badge{all:initial;position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;box-sizing:border-box;" +
    "border-radius:10px;background:#d92d20;color:#fff;font:600 12px/20px system-ui,sans-serif;text-align:center}.badge[hidden]{display:none}" +
    "iframe{all:initial;position:fixed;right:20px;bottom:88px;width:380px;height:min(620px,calc(100vh - 108px));border:0;border-radius:12px;" +
    "box-shadow:0 8px 30px rgba(0,0,0,.3);background:#fff;display:none}" +
    "iframe.open{display:block}" +
    ".down{all:initial;position:fixed;right:20px;bottom:88px;width:300px;padding:14px 16px;border-radius:12px;background:#fff;color:#111;" +
    "font:15px/1.4 system-ui,sans-serif;box-shadow:0 8px 30px rgba(0,0,0,.3);display:none}.down.open{display:block}" +
    // Small screens, and large ones zoomed in (200% on a laptop leaves ~640×360
    // CSS pixels): the panel takes the whole window.
    "@media (max-width:480px),(max-height:560px){iframe{top:0;left:0;right:0;bottom:0;width:100%;height:100%;border-radius:0}}";
  root.innerHTML =
    '<button type="button" data-testid="launcher" aria-label="Support" aria-expanded="false">' +
    '<svg width="28" height="28" viewBox="0 0 24 24" fill="#fff" aria-hidden="true"><path d="M4 4h16v12H7l-3 3z"/></svg>' +
    '<span class="badge" data-testid="unread" aria-hidden="true" hidden></span></button>';
  // A constructed stylesheet is not inline CSS: host pages whose
  // Content-Security-Policy forbids inline styles still style the launcher.
  // Browsers without constructed stylesheets get a <style> element.
  if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    var style = document.createElement("style");
    style.textContent = css;
    root.appendChild(style);
  }
  var button = root.querySelector("button");
  var badge = root.querySelector(".badge");
  var german = (navigator.language || "").slice(0, 2).toLowerCase() === "de";
  var unreadCount = 0;
  // Stufe('on', event, fn) handlers. Handlers get ids and counts, never text.
  var EVENTS = ["open", "close", "ticket:created", "message", "unread"];
  var handlers = {};
  function emit(name, detail) {
    var list = (handlers[name] || []).slice();
    for (var i = 0; i < list.length; i++) {
      try { list[i](detail); } catch (e) { console.error("Stufe: an '" + name + "' handler threw", e); }
    }
  }
  // New staff replies while the panel is closed (the widget counts them).
  function showUnread(n) {
    if (n !== unreadCount) { unreadCount = n; emit("unread", { count: n }); }
    badge.hidden = !(n > 0);
    badge.textContent = n > 9 ? "9+" : String(n);
    button.setAttribute("aria-label", n > 0
      ? (german ? "Support – " + n + (n === 1 ? " neue Antwort" : " neue Antworten") : "Support – " + n + " new " + (n === 1 ? "reply" : "replies"))
      : "Support");
  }
  function tellFrame(kind) {
    if (frame && frame.contentWindow) frame.contentWindow.postMessage({ stufe: kind }, origin);
  }
  var frame = null;
  var isOpen = false;
  var down = null;
  var crashes = 0;
  var answering = false;
  var unanswered = 0;
  var pings = 0;
  var crashedThisLoad = false;
  var started = false;
  var waiting = false;
  var HEARTBEAT_MS = 5000;
  var MISSED_BEATS = 3;

  function ensureFrame() {
    if (frame || down) return;
    frame = document.createElement("iframe");
    frame.title = "Support";
    frame.setAttribute("data-testid", "widget-frame");
    // The page's origin goes with the frame request (whatever the page's own
    // referrer policy), so the server can tell where its widget is installed.
    frame.referrerPolicy = "origin";
    frame.src = origin + "/w/frame.html?site=" + encodeURIComponent(site);
    frame.addEventListener("load", function () {
      crashedThisLoad = false;
      // The frame's first script says "started" before its load event (the
      // message may still be on its way, hence the grace); a frame that loaded
      // without it was refused (this page's origin is not one the site allows:
      // frame-ancestors) or the server could not be reached.
      if (!started) setTimeout(function () { if (!started && frame) refused(); }, 2000);
    });
    root.appendChild(frame);
    setInterval(heartbeat, HEARTBEAT_MS);
  }
  // The frame answers every ping once it runs; a frame that answered before
  // and then misses several in a row is taken as crashed (hidden pages skip beats).
  function heartbeat() {
    if (!frame || !frame.contentWindow || document.hidden) return;
    if (answering && unanswered >= MISSED_BEATS) return crashed();
    if (answering) unanswered++;
    frame.contentWindow.postMessage({ stufe: "ping", n: ++pings }, origin);
  }
  function crashed() {
    // One crash per document: its panic and the error after it are one crash.
    if (crashedThisLoad) return;
    crashedThisLoad = true;
    crashes++;
    answering = false;
    unanswered = 0;
    if (crashes === 1) {
      ready = false;
      started = false;
      waiting = false;
      frame.src = frame.src;
      return;
    }
    showDown(false);
  }
  function refused() {
    console.error("Stufe: the support widget of site '" + site + "' could not start on this page (" + location.origin +
      "). If the browser reports \"Refused to frame\" (frame-ancestors), add " + location.origin +
      " to the site's allowed origins in the Stufe console (Sites); otherwise " + origin + " could not be reached.");
    showDown(true);
  }
  // `here`: the widget could not start on this page at all (not allowed
  // here, or unreachable), so reloading will not help.
  function showDown(here) {
    // Hidden, not removed: removing it would cancel the crash report the
    // frame is still sending. It is never shown or pinged again.
    frame.classList.remove("open");
    frame.setAttribute("hidden", "");
    frame.setAttribute("data-testid", "crashed-frame");
    frame = null;
    var de = /^de\b/i.test(navigator.language || "");
    down = document.createElement("div");
    down.className = "down";
    down.setAttribute("role", "alert");
    down.setAttribute("data-testid", "unavailable");
    down.setAttribute("data-reason", here ? "page" : "crash");
    down.textContent = here
      ? (de ? "Der Support ist auf dieser Seite nicht verfügbar." : "Support is not available on this page.")
      : (de ? "Der Support ist gerade nicht verfügbar – bitte laden Sie die Seite neu."
            : "Support is unavailable – reload the page.");
    root.appendChild(down);
    down.classList.toggle("open", isOpen);
  }
  function setOpen(open) {
    if (open) ensureFrame();
    if (!open && !isOpen) return;
    isOpen = open;
    if (frame) frame.classList.toggle("open", open);
    if (down) down.classList.toggle("open", open);
    button.setAttribute("aria-expanded", String(open));
    if (open && frame) frame.focus(); else if (!open) button.focus();
    tellFrame(open ? "opened" : "closed");
    emit(open ? "open" : "close", {});
  }
  var warned = {};
  var commands = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    toggle: function () { setOpen(!isOpen); },
    consent: function () { if (!consented) { consented = true; preloadWhenIdle(); } },
    hideLauncher: function () { button.hidden = true; },
    showLauncher: function () { button.hidden = false; },
    showArticle: function (id) { forward("showArticle", id); },
    search: function (query) { forward("search", query); },
    identify: function (user) {
      var token = user && typeof user === "object" ? user.token : user;
      if (typeof token !== "string" || !token) { console.warn("Stufe: 'identify' needs {token: '<JWT signed by your server>'}."); return; }
      send("identify", token);
    },
    prefill: function (fields) {
      if (!fields || typeof fields !== "object") { console.warn("Stufe: 'prefill' needs {subject, description, category, email}."); return; }
      send("prefill", JSON.stringify(fields));
    },
    logout: function () { unreadCount = -1; showUnread(0); send("logout"); },
    reset: function () { commands.logout(); },
    setLocale: function (tag) {
      if (tag !== "de" && tag !== "en") { console.warn("Stufe: 'setLocale' takes 'de' or 'en'."); return; }
      german = tag === "de";
      showUnread(unreadCount);
      send("setLocale", tag);
    },
    on: function (name, fn) {
      if (EVENTS.indexOf(name) < 0 || typeof fn !== "function") {
        console.warn("Stufe: 'on' takes one of " + EVENTS.join(", ") + " and a function.");
        return;
      }
      (handlers[name] = handlers[name] || []).push(fn);
    },
    off: function (name, fn) {
      if (!handlers[name]) return;
      handlers[name] = fn ? handlers[name].filter(function (h) { return h !== fn; }) : [];
    }
  };
  // Commands for the widget itself wait until it has said hello.
  var ready = false;
  var pending = [];
  function forward(name, arg) {
    if (typeof arg !== "string") { console.warn("Stufe: '" + name + "' needs a text argument."); return; }
    setOpen(true);
    send(name, arg);
  }
  // Without opening the panel; delivered once the widget runs.
  function send(name, arg) {
    pending.push({ stufe: "command", name: name, arg: arg });
    // A signed-in customer may have requests from another device (their
    // badge); other commands wait until the widget runs for another reason.
    if (name === "identify" && waiting && !ready) tellFrame("start");
    flush();
  }
  function flush() {
    if (!ready || !frame || !frame.contentWindow) return;
    while (pending.length) frame.contentWindow.postMessage(pending.shift(), origin);
  }
  var api = function (command, arg, more) {
    if (Object.prototype.hasOwnProperty.call(commands, command)) { commands[command](arg, more); return; }
    var name = String(command);
    if (!warned[name]) {
      warned[name] = true;
      console.warn("Stufe: unknown command '" + name + "' is ignored. Known commands: " + Object.keys(commands).join(", ") + ".");
    }
  };
  api.loaded = true;
  window.Stufe = api;
  button.addEventListener("click", function () { api("toggle"); });
  window.addEventListener("message", function (event) {
    if (!frame || event.source !== frame.contentWindow || event.origin !== origin || !event.data) return;
    var kind = event.data.stufe;
    if (kind === "started") started = true;
    // The frame starts the widget itself for a returning customer; otherwise
    // once the panel opens or the page signed a customer in (identify).
    else if (kind === "waiting") {
      waiting = true;
      if (isOpen || pending.some(function (c) { return c.name === "identify"; })) tellFrame("start");
    }
    else if (kind === "close") setOpen(false);
    else if (kind === "pong") { answering = true; unanswered = 0; }
    else if (kind === "hello") { ready = true; tellFrame(isOpen ? "opened" : "closed"); flush(); }
    else if (kind === "unread" && typeof event.data.n === "number") showUnread(event.data.n);
    else if (kind === "crashed") crashed();
    else if (kind === "event" && (event.data.name === "ticket:created" || event.data.name === "message")) {
      emit(event.data.name, { id: String(event.data.id) });
    }
  });
  function preloadWhenIdle() {
    var idle = window.requestIdleCallback || function (f) { setTimeout(f, 3000); };
    idle(ensureFrame, { timeout: 10000 });
  }
  function mount() {
    document.body.appendChild(host);
    for (var i = 0; i < queued.length; i++) api.apply(null, queued[i]);
    if (consented) preloadWhenIdle();
    // Pages that swap their <body> (Turbo-style navigation) keep the launcher;
    // the frame loads again inside it (its unsent work is in its own storage).
    new MutationObserver(function () {
      if (!host.isConnected && document.body) document.body.appendChild(host);
    }).observe(document.documentElement, { childList: true });
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
