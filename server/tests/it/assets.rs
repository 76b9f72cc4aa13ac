//! The widget's static files: how long browsers may keep each, so that a
//! deploy never leaves a cached loader without its panel, and that host pages
//! may measure them.

use crate::helpers::TestApp;

#[tokio::test]
async fn the_loader_and_its_panel_are_kept_briefly_hashed_assets_for_good_and_all_are_measurable() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("w")).unwrap();
    for (file, body) in [
        ("widget.js", "/* loader */"),
        ("w/panel.js", "/* panel */"),
        ("w/boot-0123456789.js", "/* start-up */"),
        ("w/frame.html", "<!doctype html>"),
    ] {
        std::fs::write(site.join(file), body).unwrap();
    }
    let app = TestApp::spawn_with(dir.path(), |config| config.site_dir = site.clone()).await;
    for (path, cache) in [
        // The URL site owners paste, and the rest of the loader under a name
        // that stays across releases (a loader cached from the release before
        // a deploy fetches it): both short.
        ("/widget.js", "public, max-age=300"),
        ("/w/panel.js?v=0123456789", "public, max-age=300"),
        (
            "/w/boot-0123456789.js",
            "public, max-age=31536000, immutable",
        ),
        ("/w/frame.html", "no-cache"),
    ] {
        let response = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(header("cache-control").as_deref(), Some(cache), "{path}");
        assert_eq!(
            header("timing-allow-origin").as_deref(),
            Some("*"),
            "{path}"
        );
    }
    app.stop().await;
}
