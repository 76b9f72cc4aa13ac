//! Widget crash reports: stored, size- and rate-limited, listed for admins only.

use reqwest::StatusCode;
use serde_json::{json, Value};
use stufe_server::storage::{prelude::*, SqliteStorage};
use stufe_server::tokens::token_hash;

use crate::helpers::*;

async fn report(app: &TestApp, site: &str, body: Value) -> StatusCode {
    report_from(app, "192.0.2.1", site, body).await
}

/// A report from the client at `address` (the test server trusts `X-Forwarded-For`).
async fn report_from(app: &TestApp, address: &str, site: &str, body: Value) -> StatusCode {
    reqwest::Client::new()
        .post(app.url(&format!("/api/sites/{site}/client-errors")))
        .header("x-forwarded-for", address)
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
    let app = TestApp::spawn_with(dir.path(), |c| c.trust_forwarded_for = true).await;
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

    // A crash loop is capped per site and minute, however many clients send it.
    let mut statuses = Vec::new();
    for n in 0..40 {
        let address = format!("198.51.100.{n}");
        statuses.push(report_from(&app, &address, "demo", crash(&format!("loop {n}"))).await);
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

#[tokio::test]
async fn one_client_cannot_use_up_its_sites_share_of_reports() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(dir.path(), |c| c.trust_forwarded_for = true).await;
    let per_address = stufe_server::routes::client_errors::REPORTS_PER_ADDRESS_WINDOW;
    for n in 0..per_address {
        assert_eq!(
            report_from(&app, "203.0.113.7", "demo", crash(&format!("noise {n}"))).await,
            StatusCode::NO_CONTENT
        );
    }
    let refused = reqwest::Client::new()
        .post(app.url("/api/sites/demo/client-errors"))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&crash("more noise"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.text().await.unwrap().contains("from one address"));
    // A real crash from another client is still kept.
    assert_eq!(
        report_from(&app, "203.0.113.8", "demo", crash("the real one")).await,
        StatusCode::NO_CONTENT
    );
    let stored: Vec<Value> = reqwest::Client::new()
        .get(app.url("/api/staff/client-errors?site=demo"))
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored.len() as u32, per_address + 1);
    assert_eq!(stored[0]["message"], "the real one");
    app.stop().await;
}
