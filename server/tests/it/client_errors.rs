//! Widget crash reports: stored, size- and rate-limited, listed for admins only.

use reqwest::StatusCode;
use serde_json::{json, Value};
use stufe_server::storage::{prelude::*, SqliteStorage};
use stufe_server::sync::hub::token_hash;

use crate::helpers::*;

async fn report(app: &TestApp, site: &str, body: Value) -> StatusCode {
    reqwest::Client::new()
        .post(app.url(&format!("/api/sites/{site}/client-errors")))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

fn crash(message: &str) -> Value {
    json!({ "message": message, "version": "0.1.0", "user_agent": "Chromium" })
}

#[tokio::test]
async fn crash_reports_are_kept_limited_and_shown_to_admins_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    assert_eq!(
        report(&app, "demo", crash("panicked at widget/src/x.rs:1:1")).await,
        StatusCode::NO_CONTENT
    );
    // Bad input: unknown site, unknown fields, a body over 8 KiB; nothing is stored.
    assert_eq!(
        report(&app, "nope", crash("x")).await,
        StatusCode::NOT_FOUND
    );
    let extra = json!({ "message": "x", "version": "1", "user_agent": "y", "cookie": "z" });
    assert_eq!(
        report(&app, "demo", extra).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let huge = crash(&"x".repeat(10_000));
    assert_eq!(
        report(&app, "demo", huge).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // A long message is kept up to its limit.
    let long = crash(&"y".repeat(5_000));
    assert_eq!(report(&app, "demo", long).await, StatusCode::NO_CONTENT);

    let list = |token: &'static str| {
        reqwest::Client::new()
            .get(app.url("/api/staff/client-errors?site=demo"))
            .bearer_auth(token)
            .send()
    };
    let errors: Vec<Value> = list(STAFF_TOKEN).await.unwrap().json().await.unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["message"].as_str().unwrap().len(), 2_000);
    assert_eq!(errors[1]["message"], "panicked at widget/src/x.rs:1:1");
    assert_eq!(errors[1]["user_agent"], "Chromium");

    SqliteStorage::open(&dir.path().join("stufe.sqlite"))
        .unwrap()
        .add_staff("Tia", "tier1", &token_hash("tier1-errors"))
        .unwrap();
    assert_eq!(
        list("tier1-errors").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    // A crash loop is capped per site and minute.
    let mut statuses = Vec::new();
    for n in 0..40 {
        statuses.push(report(&app, "demo", crash(&format!("loop {n}"))).await);
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS));
    let stored: Vec<Value> = list(STAFF_TOKEN).await.unwrap().json().await.unwrap();
    assert_eq!(
        stored.len(),
        30,
        "30 a minute, the two earlier ones included"
    );
    app.stop().await;
}
