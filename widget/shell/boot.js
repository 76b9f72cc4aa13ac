/* Stufe frame start-up: decides when the widget itself (the wasm with its
   CRDT engine, its JS glue, its WebSocket and its service worker) starts.
   A first-time visitor gets none of it until they open the panel: the Help
   shell (help.js) serves them from plain JS. It starts at once for a
   returning customer, found in this frame's own storage (requests kept on
   this device, or a signed-in customer), and on a page of its own (a link
   from an email), so their unread badge, live status
   and unsent changes carry on as before; and when the host page gives the
   widget work. This script says "waiting" once it listens; the loader
   answers "start" when the panel is open or the page signed a customer in
   (Stufe('identify')), and says "opened" when it opens; other commands
   (prefill, setLocale, logout) wait until the widget runs.
   Looking writes nothing: a database that does not exist yet is not created.
   The build fills in the hashed names of the glue, the wasm and the
   widget's stylesheet. */
(function () {
  "use strict";
  var GLUE = "./__GLUE__";
  var WASM = "./__WASM__";
  var CSS = "__CSS__";
  var site = new URLSearchParams(location.search).get("site") || "";
  var started = false;

  function start() {
    if (started) return;
    started = true;
    // The widget's own views need their stylesheet (the frame page has only
    // the shell's): it loads beside the wasm, and the widget starts once
    // both are here, so it never shows unstyled.
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = CSS;
    var styled = new Promise(function (done) { link.onload = link.onerror = done; });
    document.head.appendChild(link);
    // The wasm is fetched at once too, not after the glue has arrived.
    // (A failure is reported once, below, not as an unhandled rejection too.)
    var wasm = fetch(WASM);
    wasm.catch(function () {});
    Promise.all([import(GLUE), styled])
      .then(function (loaded) { return loaded[0].default({ module_or_path: wasm }); })
      .catch(function (e) {
        console.warn("Stufe: the widget could not load; the help articles still work.", e);
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
    if (kind === "opened" || kind === "start") start();
  });
  if (parent !== window) parent.postMessage({ stufe: "waiting" }, "*");
  // A page of its own (a link from an email opens the frame page itself,
  // with the ticket in the fragment): the widget is what it is for.
  if (parent === window || /(^#|&)ticket=/.test(location.hash)) start();
  else if (inLocalStorage()) start();
  else inIndexedDb(function (yes) { if (yes) start(); });
})();
