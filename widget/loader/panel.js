/* Stufe's panel, on the host page: fetched by the loader (widget.js) when
   the browser is idle or the widget is first opened, never before the host
   page's load event unless the customer opens it. It makes the widget's frame
   (an iframe from Stufe's origin), passes Stufe(...) commands to it and its
   events to the page's handlers, and watches it: a frame that reports a crash
   (or stops answering the heartbeat) is reloaded once (unsent work is in the
   frame's storage); after a second crash the launcher says support is
   unavailable instead of showing a dead panel. */
(function () {
  "use strict";
  // What the loader hands over: its origin and site, the launcher and the
  // calls made so far. A loader cached from the release before may hand
  // over (both are kept 5 minutes): read only these names.
  var loader = window.Stufe && window.Stufe._;
  if (!loader || loader.taken) return;
  loader.taken = 1;
  var origin = loader.origin;
  var site = loader.site;
  var root = loader.root;
  var button = loader.button;
  var badge = button.lastChild;
  var german = /^de/i.test(navigator.language);
  var look = loader.draw();
  // Stufe('on', event, fn) handlers. Handlers get ids and counts, never text.
  var handlers = { open: [], close: [], "ticket:created": [], message: [], unread: [] };
  function emit(name, detail) {
    handlers[name].slice().forEach(function (fn) {
      try { fn(detail); } catch (e) { console.error(e); }
    });
  }
  var unreadCount = 0, unreadLabel;
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
    // The frame is there already (it comes with this file).
    consent: function () {},
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
  api._ = loader;
  window.Stufe = api;
  button.onclick = commands.toggle;
  // A customer about to open the panel: the frame fetches the Help shell now.
  button.onpointerenter = button.onfocus = function () { tellFrame("soon"); };
  addEventListener("message", function (event) {
    var data = event.data;
    if (!frame || event.source !== frame.contentWindow || event.origin !== origin || !data) return;
    var kind = data.stufe;
    // The frame runs, and says in its language what to show should it crash.
    if (kind == "started") started = 1, crashText = data.down || crashText;
    // The frame starts the widget itself for a returning customer; otherwise
    // once the panel opens or the page signed a customer in (identify).
    else if (kind == "waiting" && (isOpen || identified)) tellFrame(isOpen ? "opened" : "start");
    else if (kind == "close") setOpen(false);
    // The site's launcher settings, from the frame: they win over the tag's.
    else if (kind == "look" && data.look) look = loader.draw(data.look), showUnread(unreadCount);
    else if (kind == "pong") answering = 1, unanswered = 0;
    else if (kind == "hello") { ready = 1; tellFrame(isOpen ? "opened" : "closed"); flush(); }
    else if (kind == "unread" && typeof data.n == "number") showUnread(data.n, data.label);
    else if (kind == "crashed") crashed();
    else if (kind == "event" && /^(ticket:created|message)$/.test(data.name)) emit(data.name, { id: "" + data.id });
  });
  // Made now: this file is fetched when the frame is wanted (idle, or an open).
  ensureFrame();
  loader.queue.splice(0).forEach(function (call) { api.apply(null, call); });
})();
