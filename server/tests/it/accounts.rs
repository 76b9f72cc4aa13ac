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
