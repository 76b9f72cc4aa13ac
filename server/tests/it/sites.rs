//! Sites: created by admins (API, console), their settings checked, and
//! their allowed origins enforced — the frame's `frame-ancestors`, `Origin`
//! on the socket and the site API — and where the widget was seen.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::*;

fn shop(origins: &[&str]) -> Value {
    json!({
        "key": "shop",
        "name": "Shop",
        "brand_color": "#aa3300",
        "locale": "de",
        "categories": [{ "id": "orders", "label_en": "Orders", "label_de": "Bestellungen" }],
        "sla": { "first_response_minutes": 60, "resolution_minutes": 480 },
        "allowed_origins": origins,
    })
}

async fn post_site(app: &TestApp, body: &Value) -> reqwest::Response {
    app.staff_send(reqwest::Method::POST, "/api/staff/sites", body)
        .await
}

async fn get_with(app: &TestApp, path: &str, header: (&str, &str)) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url(path))
        .header(header.0, header.1)
        .send()
        .await
        .unwrap()
}

/// Opens the socket for `site` as a page of `origin` would; the HTTP status
/// of a refused upgrade, or 101.
async fn socket_status(app: &TestApp, site: &str, origin: &str) -> u16 {
    let mut request = format!("ws://{}/ws?site={site}", app.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_str(origin).unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test]
async fn an_admin_creates_a_site_and_gets_its_tag_and_secret_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let response = post_site(&app, &shop(&["https://shop.example"])).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let secret = created["identity_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 64);
    assert!(created["tag"]
        .as_str()
        .unwrap()
        .ends_with("/widget.js\" data-site=\"shop\" data-color=\"#aa3300\" async></script>"));

    // Widgets get the new site's settings at once.
    let config: Value = reqwest::get(app.url("/api/sites/shop/config"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["name"], "Shop");
    assert_eq!(config["categories"][0]["id"], "orders");

    // The key is taken now; the listing shows the tag but never the secret.
    assert_eq!(
        post_site(&app, &shop(&[])).await.status(),
        StatusCode::CONFLICT
    );
    let listed = reqwest::Client::new()
        .get(app.url("/api/staff/sites"))
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains("\"key\":\"shop\"") && listed.contains("data-site=\\\"shop\\\""));
    assert!(!listed.contains(secret), "the secret is shown only once");

    // The launcher's corner, label and icon go into the tag (escaped) and
    // the config the frame passes on to the launcher.
    let mut settings = shop(&["https://shop.example"]);
    settings.as_object_mut().unwrap().remove("key");
    settings["launcher"] =
        json!({ "position": "left", "label": "Help \"now\" <here>", "icon": "help" });
    let response = app
        .staff_send(reqwest::Method::PUT, "/api/staff/sites/shop", &settings)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
    let sites: Value = reqwest::Client::new()
        .get(app.url("/api/staff/sites"))
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tag = sites
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "shop")
        .unwrap()["tag"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        tag.ends_with(
            "/widget.js\" data-site=\"shop\" data-color=\"#aa3300\" data-position=\"left\" \
             data-label=\"Help &quot;now&quot; &lt;here&gt;\" data-icon=\"help\" async></script>"
        ),
        "{tag}"
    );
    let config: Value = reqwest::get(app.url("/api/sites/shop/config"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        config["launcher"],
        json!({ "position": "left", "label": "Help \"now\" <here>", "icon": "help" })
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_site_settings_are_refused_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let cases = [
        ("brand_color", json!("red;background:url(//evil)"), "colour"),
        ("allowed_origins", json!(["shop.example"]), "not an origin"),
        (
            "allowed_origins",
            json!(["https://shop.example/path"]),
            "not an origin",
        ),
        ("locale", json!("fr"), "locale"),
        ("categories", json!([]), "categories"),
        ("key", json!("Shop Key"), "key"),
        (
            "launcher",
            json!({ "position": "right", "label": "A label far longer than the launcher has room for", "icon": "chat" }),
            "launcher label",
        ),
    ];
    for (field, value, says) in cases {
        let mut body = shop(&["https://shop.example"]);
        body[field] = value;
        let response = post_site(&app, &body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{field}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"].as_str().unwrap().contains(says),
            "{field}: {error}"
        );
    }
    assert_eq!(
        reqwest::get(app.url("/api/sites/shop/config"))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

#[tokio::test]
async fn pages_of_other_origins_cannot_frame_or_use_a_site() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    post_site(
        &app,
        &shop(&["https://shop.example", "https://*.shop.example"]),
    )
    .await;

    // The frame page may be framed by the allowed origins only.
    let frame = get_with(
        &app,
        "/w/frame.html?site=shop",
        ("referer", "https://www.shop.example/cart"),
    )
    .await;
    let policy = frame.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.ends_with("; frame-ancestors https://shop.example https://*.shop.example"),
        "{policy}"
    );
    let unknown = get_with(
        &app,
        "/w/frame.html?site=nobody",
        ("referer", "https://x.example/"),
    )
    .await;
    assert!(unknown.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .ends_with("frame-ancestors 'none'"));

    // The site's API and socket answer pages of allowed origins (and the
    // server's own frame, and clients that are not browser pages) only.
    for (origin, expected) in [
        ("https://shop.example", StatusCode::OK),
        ("https://www.shop.example", StatusCode::OK),
        ("https://evil.example", StatusCode::FORBIDDEN),
        ("http://shop.example", StatusCode::FORBIDDEN),
        ("null", StatusCode::FORBIDDEN),
    ] {
        let response = get_with(&app, "/api/sites/shop/config", ("origin", origin)).await;
        assert_eq!(response.status(), expected, "{origin}");
        if expected == StatusCode::FORBIDDEN {
            let error: Value = response.json().await.unwrap();
            assert!(error["error"].as_str().unwrap().contains("allowed origins"));
        }
    }
    let own = format!("http://{}", app.addr);
    assert_eq!(
        get_with(&app, "/api/sites/shop/config", ("origin", &own))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        socket_status(&app, "shop", "https://shop.example").await,
        101
    );
    assert_eq!(
        socket_status(&app, "shop", "https://evil.example").await,
        403
    );
    assert_eq!(socket_status(&app, "shop", &own).await, 101);
    let search = get_with(
        &app,
        "/api/sites/shop/search?q=printer&locale=en",
        ("origin", "https://evil.example"),
    )
    .await;
    assert_eq!(search.status(), StatusCode::FORBIDDEN);

    // Changing the allowed origins takes effect at once.
    let mut settings = shop(&["https://evil.example"]);
    settings.as_object_mut().unwrap().remove("key");
    let response = app
        .staff_send(reqwest::Method::PUT, "/api/staff/sites/shop", &settings)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        socket_status(&app, "shop", "https://evil.example").await,
        101
    );
    assert_eq!(
        socket_status(&app, "shop", "https://shop.example").await,
        403
    );

    // Where the widget was loaded, allowed or not, is listed for staff.
    get_with(
        &app,
        "/w/frame.html?site=shop",
        ("referer", "https://elsewhere.example/"),
    )
    .await;
    let seen: Value = app.staff_json("/api/staff/sites/shop/installs").await;
    let seen = seen.as_array().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0]["origin"], "https://elsewhere.example");
    assert_eq!(seen[0]["allowed"], false);
    assert_eq!(seen[1]["origin"], "https://www.shop.example");
    assert_eq!(seen[1]["allowed"], true, "allowed when it was seen");
    // The server's own pages (its demo page, the frame itself) are no
    // refused origin, whatever the allowed origins say.
    let own = format!("http://{}/demo", app.addr);
    get_with(&app, "/w/frame.html?site=shop", ("referer", own.as_str())).await;
    let seen: Value = app.staff_json("/api/staff/sites/shop/installs").await;
    let own_origin = format!("http://{}", app.addr);
    let entry = seen
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["origin"] == own_origin.as_str())
        .unwrap_or_else(|| panic!("{seen:?}"));
    assert_eq!(entry["allowed"], true, "{seen:?}");
    app.stop().await;
}

#[tokio::test]
async fn only_admins_change_sites_and_the_console_shows_the_tag() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let form = [
        ("key", "shop"),
        ("name", "Shop"),
        ("brand_color", "#AA3300"),
        ("locale", "de"),
        (
            "categories",
            "orders | Orders | Bestellungen\nreturns | Returns | Rücksendungen",
        ),
        (
            "allowed_origins",
            "https://shop.example\n\nhttp://localhost:*",
        ),
        ("first_response_minutes", "60"),
        ("resolution_minutes", "480"),
    ];
    let tia = log_in(&app, "tia", STAFF_PASSWORD).await.unwrap();
    let (status, _) = tia.post_page("/console/sites", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let (status, page) = sam.post_page("/console/sites", &form).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("data-site=&quot;shop&quot;"), "{page}");
    assert!(page.contains("Identity secret"));
    let config: Value = reqwest::get(app.url("/api/sites/shop/config"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["brand_color"], "#aa3300");
    assert_eq!(config["categories"][1]["label_de"], "Rücksendungen");
    assert_eq!(
        config["allowed_origins"],
        json!(["https://shop.example", "http://localhost:*"])
    );

    // A mistake is a page that says what is wrong, and nothing changes.
    let mut bad = form;
    bad[6] = ("first_response_minutes", "soon");
    let (status, page) = sam.post_page("/console/sites/shop", &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("first response: a whole number of minutes"),
        "{page}"
    );
    let (status, page) = sam.get("/console/sites/shop").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("value=\"60\""));
    // Tier-1 staff may look at their own sites only, and change nothing.
    let (status, _) = tia.get("/console/sites/shop").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = tia.post_page("/console/sites/demo", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}
