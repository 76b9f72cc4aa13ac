//! The host page: another origin, as a customer's site would be, embedding the real script tag.

use super::*;

/// The README's optional inline stub (byte for byte) and the CSP hash the
/// README gives for it.
pub const STUB: &str =
    "window.Stufe = window.Stufe || function () { (Stufe.q = Stufe.q || []).push(arguments); };";
pub const STUB_HASH: &str = "sha256-e82CFZWfgji1dP9mGnwb/2kfuxS5lcCZRghLrjuVxBs=";

/// A customer's website on its own origin, embedding Stufe with the demo page's script tag.
pub struct HostSite {
    pub addr: SocketAddr,
    _server: JoinHandle<()>,
}

impl HostSite {
    pub async fn start(stufe: &Stufe) -> Result<Self> {
        Self::start_with(stufe, "").await
    }

    /// Like [`HostSite::start`], with `script` run by the page before the loader arrives.
    pub async fn start_with(stufe: &Stufe, script: &str) -> Result<Self> {
        Self::start_with_tag(stufe, script, "").await
    }

    /// Like [`HostSite::start_with`], with `attributes` added to the script tag
    /// (e.g. `data-load="click"`).
    pub async fn start_with_tag(stufe: &Stufe, script: &str, attributes: &str) -> Result<Self> {
        Self::from_demo_page(stufe, script, &format!("data-site=\"demo\" {attributes}")).await
    }

    /// The demo page with the tag of another site.
    pub async fn start_for_site(stufe: &Stufe, site: &str) -> Result<Self> {
        Self::start_for_site_with(stufe, site, "").await
    }

    /// The demo page with the tag of another site, and `script` run before the loader arrives.
    pub async fn start_for_site_with(stufe: &Stufe, site: &str, script: &str) -> Result<Self> {
        Self::from_demo_page(stufe, script, &format!("data-site=\"{site}\"")).await
    }

    /// The demo page, with `script` run before the loader arrives and the
    /// tag's `data-site="demo"` replaced by `tag_attributes`.
    async fn from_demo_page(stufe: &Stufe, script: &str, tag_attributes: &str) -> Result<Self> {
        let demo = reqwest::get(stufe.demo_url())
            .await?
            .error_for_status()?
            .text()
            .await?;
        let html = demo
            .replace(
                "<script src=",
                &format!("<script>{script}</script>\n  <script src="),
            )
            .replace("data-site=\"demo\"", tag_attributes);
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || async move { axum::response::Html(html) }),
        );
        Self::serve(app).await
    }

    /// A host page under the strictest policy a careful owner would set:
    /// scripts only from itself and Stufe, frames only from Stufe, styles only
    /// from itself, nothing else; the one inline script is the README's
    /// `Stufe` stub, allowed by the hash the README gives. It records every
    /// policy violation in `window.violations` (from a script of its own;
    /// other inline ones are refused), and a handler queued through the stub
    /// (before the loader arrives) sets `window.openedViaQueue` on `open`.
    pub async fn start_strict(stufe: &Stufe) -> Result<Self> {
        let stufe_origin = stufe.api("");
        let policy = format!(
            "default-src 'none'; script-src 'self' {stufe_origin} '{STUB_HASH}'; frame-src {stufe_origin}; style-src 'self'"
        );
        let html = format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Strict shop</title>
<script src="/watch.js"></script></head>
<body><h1>Strict shop</h1><input id="host-input" aria-label="Search the shop">
<script>{STUB}</script>
<script src="/queue.js"></script>
<script src="{stufe_origin}/widget.js" data-site="demo" async></script>
</body></html>
"#
        );
        let watch = "window.violations = [];\n\
            document.addEventListener('securitypolicyviolation', function (e) {\n\
              window.violations.push(e.violatedDirective + ' ' + e.blockedURI);\n\
            });\n";
        let page = move || {
            let (html, policy) = (html.clone(), policy.clone());
            async move {
                (
                    [(axum::http::header::CONTENT_SECURITY_POLICY, policy)],
                    axum::response::Html(html),
                )
            }
        };
        let script = move || async move {
            (
                [(axum::http::header::CONTENT_TYPE, "text/javascript")],
                watch,
            )
        };
        let queue = || async {
            (
                [(axum::http::header::CONTENT_TYPE, "text/javascript")],
                "Stufe('on', 'open', function () { window.openedViaQueue = true; });",
            )
        };
        let app = axum::Router::new()
            .route("/", axum::routing::get(page))
            .route("/watch.js", axum::routing::get(script))
            .route("/queue.js", axum::routing::get(queue));
        Self::serve(app).await
    }

    /// A page of its own (`html` at `/`) on another port of the same host as
    /// Stufe (`127.0.0.1`): a sibling origin of the same site, as a shop on a
    /// subdomain of the support site's domain would be. Its URL: [`HostSite::sibling_url`].
    pub async fn start_page(html: String) -> Result<Self> {
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || async move { axum::response::Html(html) }),
        );
        Self::serve(app).await
    }

    /// This page's URL on Stufe's host name (`127.0.0.1`, another port).
    pub fn sibling_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.addr.port())
    }

    /// Serves `app` on a port of its own.
    async fn serve(app: axum::Router) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            _server: server,
        })
    }

    pub fn url(&self) -> String {
        format!("http://localhost:{}/", self.addr.port())
    }
}
