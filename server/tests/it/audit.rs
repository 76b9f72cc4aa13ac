//! The audit trail: every staff request that changes or reveals customer
//! data is recorded with who, when, from where, what and its outcome; logins
//! and failed logins too; admins read and filter it (API and console, CSV),
//! others may not, and nothing changes a record.

use reqwest::StatusCode;
use serde_json::{json, Value};
use stufe_server::storage::{prelude::*, SqliteStorage};
use stufe_server::tokens::token_hash;

use crate::helpers::*;

const TIER1_TOKEN: &str = "tier1-audit-token";

async fn audit(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url(&format!("/api/staff/audit?{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn staff_actions_and_logins_are_recorded_for_admins_to_read_and_never_changed() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, _) = create_ticket(&app).await;
    let id = local.id.to_string();
    // A change, a read of the request, a failed and a good console login,
    // a reply from the console.
    let patched = app
        .staff_send(
            reqwest::Method::PATCH,
            &format!("/api/staff/tickets/{id}"),
            &json!({ "priority": "high" }),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    app.staff_ticket(local.id).await;
    assert!(log_in(&app, "sam", "wrong password").await.is_err());
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    sam.post(
        &format!("/console/tickets/{id}/reply"),
        &[("body", "On it.")],
    )
    .await;

    let response = audit(&app, STAFF_TOKEN, "").await;
    assert_eq!(response.status(), StatusCode::OK);
    let records: Vec<Value> = response.json().await.unwrap();
    let find = |action: &str| {
        records
            .iter()
            .find(|r| r["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {records:#?}"))
            .clone()
    };
    let change = find("PATCH /api/staff/tickets/{id}");
    assert_eq!(change["staff"], "Sam Support");
    assert_eq!(change["source"], "127.0.0.1");
    assert_eq!(change["target"], format!("/api/staff/tickets/{id}"));
    assert_eq!(change["outcome"], 200);
    let read = find("GET /api/staff/tickets/{id}");
    assert_eq!(read["target"], format!("/api/staff/tickets/{id}"));
    let failed = find("login failed");
    assert_eq!(
        (failed["staff"].as_str(), &failed["staff_id"]),
        (Some("sam"), &Value::Null)
    );
    assert_eq!(failed["outcome"], 401);
    assert_eq!(find("login")["staff"], "Sam Support");
    let reply = find("POST /console/tickets/{id}/reply");
    assert_eq!(reply["staff"], "Sam Support");
    // Newest first.
    let times: Vec<i64> = records.iter().map(|r| r["at"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    // Filtered by action; the reading itself is on record.
    let logins: Vec<Value> = audit(&app, STAFF_TOKEN, "action=login")
        .await
        .json()
        .await
        .unwrap();
    assert!(logins
        .iter()
        .all(|r| r["action"].as_str().unwrap().contains("login")));
    assert_eq!(logins.len(), 2, "{logins:#?}");
    let again: Vec<Value> = audit(&app, STAFF_TOKEN, "action=/api/staff/audit")
        .await
        .json()
        .await
        .unwrap();
    assert!(!again.is_empty(), "reading the trail is recorded too");

    // Admins only; no route changes or deletes a record.
    SqliteStorage::open(&dir.path().join("stufe.sqlite"))
        .unwrap()
        .add_staff("Tia", "tier1", &token_hash(TIER1_TOKEN))
        .unwrap();
    assert_eq!(
        audit(&app, TIER1_TOKEN, "").await.status(),
        StatusCode::FORBIDDEN
    );
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::POST,
    ] {
        let response = reqwest::Client::new()
            .request(method.clone(), app.url("/api/staff/audit"))
            .bearer_auth(STAFF_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
    }

    // The console's page and its CSV export.
    let (status, page) = sam.get("/console/audit?action=PATCH").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("PATCH /api/staff/tickets/{id}"), "{page}");
    assert!(!page.contains("login failed"), "filtered");
    let (status, csv) = sam.get("/console/audit.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        csv.starts_with("at,staff,staff_id,source,action,target,outcome\r\n"),
        "{csv}"
    );
    assert!(csv.contains("\"login failed\""), "{csv}");
    app.stop().await;
}
