/* Stufe help shell: the Help tab in a few kilobytes of plain JS, loaded by
   the frame's start-up (boot.js) when the panel opens and usable at once,
   while the widget itself (wasm with its CRDT engine, ~390 KB) loads behind it. It searches and shows published articles through
   the same HTTP API the widget uses; tickets wait for the widget. When the
   widget starts it takes the shell's place and carries over the search typed
   and the article open (`data-query`, `data-article` on #stufe-shell).
   No inline script or style: the frame's policy allows neither. */
(function () {
  "use strict";
  // One shell, and none once the widget runs (boot.js says so).
  if (window.stufeUp || document.getElementById("stufe-shell")) return;
  var site = new URLSearchParams(location.search).get("site") || "";
  var api = "/api/sites/" + encodeURIComponent(site);
  var TEXTS = {
    en: { search: "Search help articles", none: "No articles found.", back: "Back", close: "Close", loading: "Requests and tickets are loading…" },
    de: { search: "Hilfeartikel durchsuchen", none: "Keine Artikel gefunden.", back: "Zurück", close: "Schließen", loading: "Anfragen und Tickets werden geladen…" }
  };
  var browserLang = (navigator.language || "").slice(0, 2).toLowerCase();
  var lang = TEXTS[browserLang] ? browserLang : "en";

  var shell = document.createElement("div");
  shell.id = "stufe-shell";
  shell.className = "widget";
  shell.setAttribute("data-testid", "help-shell");
  var header = document.createElement("header");
  header.className = "header";
  var title = document.createElement("h1");
  var close = document.createElement("button");
  close.type = "button";
  close.className = "icon";
  close.textContent = "×";
  close.addEventListener("click", function () {
    if (parent !== window) parent.postMessage({ stufe: "close" }, "*");
  });
  header.appendChild(title);
  header.appendChild(close);
  var body = document.createElement("main");
  body.className = "body";
  var input = document.createElement("input");
  input.type = "search";
  input.className = "kb-search";
  input.autocomplete = "off";
  input.setAttribute("data-testid", "shell-search");
  var results = document.createElement("ul");
  results.className = "kb-results";
  var article = document.createElement("article");
  article.className = "article";
  article.hidden = true;
  var loading = document.createElement("p");
  loading.className = "connection";
  loading.setAttribute("role", "status");
  body.appendChild(input);
  body.appendChild(results);
  body.appendChild(article);
  shell.appendChild(header);
  shell.appendChild(body);
  shell.appendChild(loading);

  function texts() {
    var t = TEXTS[lang];
    shell.lang = lang;
    input.placeholder = t.search;
    input.setAttribute("aria-label", t.search);
    close.setAttribute("aria-label", t.close);
    loading.textContent = t.loading;
  }
  texts();
  document.body.insertBefore(shell, document.body.firstChild);
  // When Help became usable, for `cargo xtask bench` (a User Timing mark).
  if (performance.mark) performance.mark("stufe:help");

  // The site's settings, as the frame's start-up (boot.js) fetched them.
  window.stufeConfig.then(function (config) {
    if (!config) return;
    title.textContent = config.name || "";
    if (config.brand_color) shell.style.setProperty("--brand", config.brand_color);
    if (!TEXTS[browserLang] && TEXTS[config.locale]) { lang = config.locale; texts(); }
  });

  var asked = 0;
  var timer = null;
  input.addEventListener("input", function () {
    shell.setAttribute("data-query", input.value);
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });

  function search() {
    var q = input.value.trim();
    var mine = ++asked;
    if (!q) { results.textContent = ""; return; }
    fetch(api + "/search?locale=" + lang + "&q=" + encodeURIComponent(input.value))
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (found) {
        if (mine !== asked) return;
        results.textContent = "";
        if (!found.results.length) {
          var none = document.createElement("li");
          none.className = "empty";
          none.textContent = TEXTS[lang].none;
          results.appendChild(none);
        }
        found.results.forEach(function (hit) {
          var item = document.createElement("li");
          var button = document.createElement("button");
          button.type = "button";
          button.className = "kb-result";
          button.setAttribute("data-testid", "shell-result");
          var subject = document.createElement("span");
          subject.className = "subject";
          subject.textContent = hit.title;
          var snippet = document.createElement("span");
          snippet.className = "snippet";
          snippet.innerHTML = hit.snippet; // escaped by the server; only <mark> is markup
          button.appendChild(subject);
          button.appendChild(snippet);
          button.addEventListener("click", function () { open(hit.id); });
          item.appendChild(button);
          results.appendChild(item);
        });
      })
      .catch(function () {});
  }

  function open(id) {
    fetch(api + "/articles/" + encodeURIComponent(id))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (a) {
        if (!a) return;
        shell.setAttribute("data-article", id);
        article.textContent = "";
        var back = document.createElement("button");
        back.type = "button";
        back.className = "link";
        back.textContent = TEXTS[lang].back;
        back.addEventListener("click", function () {
          shell.removeAttribute("data-article");
          article.hidden = true;
          input.hidden = false;
          results.hidden = false;
          input.focus();
        });
        var h = document.createElement("h2");
        h.textContent = a.title;
        h.tabIndex = -1;
        var content = document.createElement("div");
        content.className = "article-body";
        content.innerHTML = a.html; // sanitised by the server
        article.appendChild(back);
        article.appendChild(h);
        article.appendChild(content);
        input.hidden = true;
        results.hidden = true;
        article.hidden = false;
        h.focus();
      })
      .catch(function () {});
  }
})();
