//! `/demo`: a host page that embeds the widget with the one script tag a site
//! owner pastes. Its own CSS is deliberately rude (global resets, huge fonts,
//! styled buttons and inputs) to show that the widget is isolated from it.

use axum::extract::State;
use axum::response::{Html, Redirect};
use axum::routing::get;
use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/demo") }))
        .route("/demo", get(demo_page))
}

async fn demo_page(State(state): State<AppState>) -> Html<String> {
    Html(DEMO_PAGE.replace("{PUBLIC_URL}", &state.public_url))
}

const DEMO_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Gadgets — Stufe demo host page</title>
<style>
  /* Deliberately rude host CSS: the widget must look the same regardless. */
  * { box-sizing: content-box !important; margin: 0; padding: 0; font-family: "Comic Sans MS", cursive !important; color: #6b0000; }
  html { font-size: 28px; }
  body { background: repeating-linear-gradient(45deg, #fff7d6, #fff7d6 20px, #ffe9a8 20px, #ffe9a8 40px); padding: 2rem; line-height: 3; }
  div { border: 3px dashed magenta; padding: 12px; }
  button { background: lime !important; border: 6px solid red !important; font-size: 40px !important; transform: rotate(-3deg); }
  input, textarea, select { background: black !important; color: yellow !important; font-size: 36px !important; border: 5px dotted orange; }
  iframe { border: 10px solid blue; opacity: 0.5; }
</style>
</head>
<body>
  <h1>Acme Gadgets</h1>
  <div><p>Welcome to our shop. Need help? Use the support button in the corner.</p></div>
  <button type="button" onclick="Stufe('open')">Contact support (via the JS API)</button>
  <script>window.Stufe = window.Stufe || function () { (Stufe.q = Stufe.q || []).push(arguments); };</script>
  <script src="{PUBLIC_URL}/widget.js" data-site="demo" async></script>
</body>
</html>
"#;
