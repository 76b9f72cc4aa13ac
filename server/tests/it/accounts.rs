//! Staff accounts: admins create them, change roles and deactivate them
//! (sessions and API token stop at once); everyone changes their own password.

use reqwest::header::COOKIE;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn admin(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> reqwest::Response {
    app.staff_send(method, path, &body).await
}

#[tokio::test]
async fn admins_create_and_deactivate_accounts_and_deactivation_takes_effect_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let new = json!({ "name": "Bo Second-Level", "login": "bo", "password": "long enough pw", "role": "tier2", "sites": ["demo"] });
    let response = admin(
        &app,
        reqwest::Method::POST,
        "/api/staff/accounts",
        new.clone(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let bo_id = created["account"]["id"].as_i64().unwrap();
    assert_eq!(created["account"]["sites"], json!(["demo"]));
    let bo_token = created["api_token"].as_str().unwrap().to_owned();
    let me = |token: String| {
        let url = app.url("/api/staff/me");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(me(bo_token.clone()).await, StatusCode::OK);
    let bo = log_in(&app, "bo", "long enough pw").await.unwrap();
    assert_eq!(bo.get("/console").await.0, StatusCode::OK);

    // Refused: a taken login, a short password, an unknown role.
    assert_eq!(
        admin(
            &app,
            reqwest::Method::POST,
            "/api/staff/accounts",
            new.clone()
        )
        .await
        .status(),
        StatusCode::CONFLICT
    );
    let mut short = new.clone();
    (short["login"], short["password"]) = ("bo2".into(), "short".into());
    assert_eq!(
        admin(&app, reqwest::Method::POST, "/api/staff/accounts", short)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    let mut odd = new.clone();
    (odd["login"], odd["role"]) = ("bo3".into(), "boss".into());
    assert_eq!(
        admin(&app, reqwest::Method::POST, "/api/staff/accounts", odd)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    // Tier-1 staff manage no accounts.
    let tia = log_in(&app, "tia", STAFF_PASSWORD).await.unwrap();
    let by_tia = tia
        .http
        .post(app.url("/api/staff/accounts"))
        .header(COOKIE, &tia.cookie)
        .json(&json!({ "name": "X", "login": "x1", "password": "long enough pw", "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(by_tia.status(), StatusCode::FORBIDDEN);

    // Deactivated: the session, the API token and the login stop at once.
    let response = admin(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/staff/accounts/{bo_id}"),
        json!({ "active": false }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        bo.get("/console").await.0,
        StatusCode::SEE_OTHER,
        "sent to the login"
    );
    assert_eq!(me(bo_token).await, StatusCode::UNAUTHORIZED);
    assert!(log_in(&app, "bo", "long enough pw").await.is_err());
    // An admin cannot lock themselves out.
    let me_json: Value = app.staff_json("/api/staff/me").await;
    let own = admin(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/staff/accounts/{}", me_json["id"]),
        json!({ "active": false }),
    )
    .await;
    assert_eq!(own.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
}

#[tokio::test]
async fn the_console_chooses_sites_from_the_existing_ones_and_keeps_a_refused_form() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let (_, page) = sam.get("/console/staff").await;
    assert!(page.contains(r#"name="site:demo""#), "a checkbox per site");

    // A refused form comes back with what was typed and why.
    let (status, page) = sam
        .post_page(
            "/console/staff",
            &[
                ("name", "Bo Second-Level"),
                ("login", "bo"),
                ("password", "short"),
                ("role", "tier2"),
                ("site:demo", "on"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains(r#"data-testid="form-error""#), "{page}");
    assert!(page.contains("at least 10 characters"), "{page}");
    assert!(
        page.contains(r#"value="Bo Second-Level""#),
        "the name is kept"
    );
    assert!(page.contains(r#"value="bo""#), "the login is kept");

    // An unknown site is refused by name (the API too).
    let unknown = app
        .staff_send(
            reqwest::Method::POST,
            "/api/staff/accounts",
            &json!({ "name": "Bo", "login": "bo", "password": "long enough pw", "role": "tier2", "sites": ["demo,"] }),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let why: Value = unknown.json().await.unwrap();
    assert_eq!(why["error"], "there is no site \"demo,\"");

    // Created with the checked site; its sites change later, in the console.
    let (status, page) = sam
        .post_page(
            "/console/staff",
            &[
                ("name", "Bo Second-Level"),
                ("login", "bo"),
                ("password", "long enough pw"),
                ("role", "tier2"),
                ("sites_shown", "1"),
                ("site:demo", "on"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let accounts = app.staff_json("/api/staff/accounts").await;
    let bo = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Bo Second-Level")
        .unwrap()
        .clone();
    assert_eq!(bo["sites"], json!(["demo"]));
    let id = bo["id"].as_i64().unwrap();
    let (status, _) = sam
        .post(
            &format!("/console/staff/{id}"),
            &[("role", "tier2"), ("active", "on"), ("sites_shown", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let accounts = app.staff_json("/api/staff/accounts").await;
    let bo = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap();
    assert_eq!(bo["sites"], json!([]), "unchecked: no sites");
    // Through the API.
    let changed = app
        .staff_send(
            reqwest::Method::PATCH,
            &format!("/api/staff/accounts/{id}"),
            &json!({ "sites": ["demo"] }),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let accounts = app.staff_json("/api/staff/accounts").await;
    let bo = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap();
    assert_eq!(bo["sites"], json!(["demo"]));
    app.stop().await;
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_every_session() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let tia = log_in(&app, "tia", STAFF_PASSWORD).await.unwrap();
    let change = |current: &str, new: &str| {
        tia.http
            .post(app.url("/api/staff/password"))
            .header(COOKIE, &tia.cookie)
            .json(&json!({ "current": current, "new": new }))
            .send()
    };
    assert_eq!(
        change("wrong", "a brand new secret")
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        change(STAFF_PASSWORD, "short").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        change(STAFF_PASSWORD, "a brand new secret")
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        tia.get("/console").await.0,
        StatusCode::SEE_OTHER,
        "the session ended"
    );
    assert!(log_in(&app, "tia", STAFF_PASSWORD).await.is_err());
    assert!(log_in(&app, "tia", "a brand new secret").await.is_ok());
    app.stop().await;
}

#[tokio::test]
async fn the_console_shows_times_in_the_agents_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let (_, queue) = sam.get("/console").await;
    assert!(queue.contains(" UTC"), "UTC until chosen");
    let (status, _) = sam
        .post("/console/timezone", &[("timezone", "Mars/Base")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = sam
        .post("/console/timezone", &[("timezone", "Asia/Tokyo")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, queue) = sam.get("/console").await;
    assert!(queue.contains(" JST"), "{queue}");
    app.stop().await;
}
