/* Stufe frame start-up: the frame page's only script. It decides when the
   Help shell (help.js and its stylesheet) and the widget itself (the wasm
   with its CRDT engine, its JS glue, its WebSocket and its service worker)
   load. A first-time visitor's frame, made when the host page is idle, gets
   neither: it says it runs, passes the site's launcher settings to the
   loader and looks in its own storage. The Help shell loads when the panel
   opens (or the pointer comes to the launcher) and serves them from plain JS;
   the widget starts when the panel opens. It starts at once for a
   returning customer, found in this frame's own storage (requests kept on
   this device, or a signed-in customer), and on a page of its own (a link
   from an email), so their unread badge, live status
   and unsent changes carry on as before; and when the host page gives the
   widget work. This script says "waiting" once it listens; the loader
   answers "opened" when the panel is open, "start" when the page signed a
   customer in (Stufe('identify')) and "soon" when the pointer or focus comes
   to the launcher; other commands (prefill, setLocale, logout) wait until
   the widget runs.
   Looking writes nothing: a database that does not exist yet is not created.
   The build fills in the hashed names of the glue, the wasm, the widget's
   stylesheet, the Help shell and the shell's stylesheet. */
(function () {
  "use strict";
  var GLUE = "./__GLUE__";
  var WASM = "./__WASM__";
  var CSS = "__CSS__";
  var SHELL_CSS = "__SHELL_CSS__";
  var HELP = "__HELP__";
  var site = new URLSearchParams(location.search).get("site") || "";
  var german = /^de/i.test(navigator.language);
  var started = false, helped = false;

  // Tells the loader this frame runs (a frame refused by the site's
  // frame-ancestors never says it), with what its launcher should say should
  // the widget crash twice. Nothing private, so any target may hear it.
  if (parent !== window) {
    parent.postMessage({ stufe: "started", down: german
      ? "Der Support ist gerade nicht verfügbar – bitte laden Sie die Seite neu."
      : "Support is unavailable – reload the page." }, "*");
  }
  // The site's public settings, fetched once: the launcher on the host page
  // takes the site's colour, corner, label and icon now (public, so any
  // target may hear them); the Help shell reads the rest (window.stufeConfig).
  var config = window.stufeConfig = fetch("/api/sites/" + encodeURIComponent(site) + "/config")
    .then(function (r) { return r.ok ? r.json() : null; })
    .catch(function () { return null; });
  config.then(function (config) {
    var launcher = config && config.launcher || {};
    if (config && parent !== window) parent.postMessage({ stufe: "look", look: { color: config.brand_color,
      position: launcher.position, label: launcher.label, icon: launcher.icon } }, "*");
  });

  // A stylesheet, added once; resolves when it has loaded (or failed).
  var sheets = {};
  function stylesheet(href) {
    if (sheets[href]) return sheets[href];
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    sheets[href] = new Promise(function (done) { link.onload = link.onerror = done; });
    document.head.appendChild(link);
    return sheets[href];
  }

  // The Help shell, unless the widget already shows itself: its script is
  // fetched beside its stylesheet and runs once the stylesheet is here, so
  // it never shows unstyled.
  function help() {
    if (helped || window.stufeUp) return;
    helped = true;
    var preload = document.createElement("link");
    preload.rel = "preload";
    preload.as = "script";
    preload.href = HELP;
    document.head.appendChild(preload);
    stylesheet(SHELL_CSS).then(function () {
      var script = document.createElement("script");
      script.src = HELP;
      document.body.appendChild(script);
    });
  }

  function start() {
    if (started) return;
    started = true;
    // The widget's views need the shell's stylesheet and their own: they
    // load beside the wasm, and the widget starts once all are here, so it
    // never shows unstyled.
    var styled = Promise.all([stylesheet(SHELL_CSS), stylesheet(CSS)]);
    // The wasm is fetched at once too, not after the glue has arrived.
    // (A failure is reported once, below, not as an unhandled rejection too.)
    var wasm = fetch(WASM);
    wasm.catch(function () {});
    Promise.all([import(GLUE), styled])
      .then(function (loaded) { return loaded[0].default({ module_or_path: wasm }); })
      // The widget has taken the shell's place (or had none to take): a
      // shell still on its way stays away (help.js looks).
      .then(function () { window.stufeUp = true; })
      .catch(function (e) {
        console.warn("Stufe: the widget could not load; the help articles still work.", e);
        help();
      });
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(function () {});
  }

  // What the widget keeps for a customer with something in progress
  // (see widget/src/state/tickets.rs): the index of their requests, and who
  // signed in.
  var TICKETS = "stufe:" + site + ":tickets";
  var IDENTITY = "stufe:" + site + ":identity";

  function inProgress(tickets, identity) {
    if (identity) return true;
    try { return JSON.parse(tickets || "[]").length > 0; } catch (e) { return true; }
  }

  function inLocalStorage() {
    try { return inProgress(localStorage.getItem(TICKETS), localStorage.getItem(IDENTITY)); } catch (e) { return false; }
  }

  // Resolves whether the widget's IndexedDB holds work in progress. Opening it
  // at version 1 where it does not exist would create it: that upgrade is
  // aborted, which leaves no database behind.
  function inIndexedDb(answer) {
    var request;
    try { request = indexedDB.open("stufe", 1); } catch (e) { return answer(false); }
    request.onupgradeneeded = function () { request.transaction.abort(); };
    request.onerror = function (event) { event.preventDefault(); answer(false); };
    request.onsuccess = function () {
      var db = request.result;
      try {
        var store = db.transaction("kv").objectStore("kv");
        var tickets = store.get(TICKETS);
        var identity = store.get(IDENTITY);
        identity.onsuccess = function () {
          db.close();
          answer(inProgress(tickets.result, identity.result));
        };
        identity.onerror = function () { db.close(); answer(false); };
      } catch (e) {
        db.close();
        answer(false);
      }
    };
  }

  window.addEventListener("message", function (event) {
    if (event.source !== parent || !event.data) return;
    var kind = event.data.stufe;
    if (kind === "opened" || kind === "soon") help();
    if (kind === "opened" || kind === "start") start();
  });
  if (parent !== window) parent.postMessage({ stufe: "waiting" }, "*");
  // A page of its own (a link from an email opens the frame page itself,
  // with the ticket in the fragment): the widget is what it is for.
  if (parent === window || /(^#|&)ticket=/.test(location.hash)) help(), start();
  else if (inLocalStorage()) start();
  else inIndexedDb(function (yes) { if (yes) start(); });
})();
