//! Automation rules over HTTP: admins set them (bad ones refused, nothing
//! changed), and a request a real widget creates is routed and assigned.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use stufe_server::storage::{prelude::*, SqliteStorage};
use stufe_server::tokens::token_hash;

use crate::helpers::*;

const PATH: &str = "/api/staff/sites/demo/automation";

#[tokio::test]
async fn rules_are_checked_and_a_new_request_is_routed_and_assigned() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    assert_eq!(
        app.staff_json(PATH).await,
        json!({"round_robin": false, "escalate_minutes_before": null, "close_pending_after_days": null, "routes": []}),
        "all off until set"
    );
    for (rules, says) in [
        (json!({"escalate_minutes_before": 0}), "1 to 10,080"),
        (json!({"close_pending_after_days": 1}), "2 to 60"),
        (json!({"routes": [{"words": ["refund"]}]}), "set a tier"),
        (
            json!({"routes": [{"words": ["refund"], "tier": 5}]}),
            "tier is 1, 2 or 3",
        ),
    ] {
        let response = app.staff_send(Method::PUT, PATH, &rules).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{rules}");
        let error: Value = response.json().await.unwrap();
        assert!(error["error"].as_str().unwrap().contains(says), "{error}");
    }
    let unknown = app
        .staff_send(Method::PUT, PATH, &json!({"close_after": 3}))
        .await;
    assert!(unknown.status().is_client_error());
    assert_eq!(
        app.staff_json(PATH).await["routes"],
        json!([]),
        "nothing changed"
    );

    // A tier-2 colleague on the site, and rules that send refunds to tier 2.
    let storage = SqliteStorage::open(&dir.path().join("stufe.sqlite")).unwrap();
    let bo = storage
        .add_staff("Bo", "tier2", &token_hash("tier2-automation"))
        .unwrap();
    storage.grant_site(bo.id, &"demo".parse().unwrap()).unwrap();
    let rules = json!({
        "round_robin": true,
        "routes": [{"words": ["refund"], "tier": 2, "priority": "high"}]
    });
    let saved = app.staff_send(Method::PUT, PATH, &rules).await;
    assert_eq!(saved.status(), StatusCode::OK);
    let as_tier2 = reqwest::Client::new()
        .get(app.url(PATH))
        .bearer_auth("tier2-automation")
        .send()
        .await
        .unwrap();
    assert_eq!(as_tier2.status(), StatusCode::FORBIDDEN, "admins only");

    let (id, token) = random_ticket();
    let mut local = LocalDoc::new(
        id,
        ticket_doc_with(id, "Refund please", "Twice charged", None),
    );
    let mut client = app.client().await;
    let frames = client.open(&mut local, &token).await;
    assert!(last_ack(&frames).is_some(), "{frames:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let ticket = loop {
        let listed = app.staff_json("/api/staff/tickets?site=demo").await;
        let ticket = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id.to_string())
            .cloned()
            .unwrap();
        if ticket["tier"] == 2 && ticket["assignee"].is_i64() {
            break ticket;
        }
        assert!(Instant::now() < deadline, "not routed: {ticket}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ticket["priority"], "high");
    assert_eq!(ticket["assignee"], bo.id);
    let notes = app
        .staff_json(&format!("/api/staff/tickets/{id}/notes"))
        .await;
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["by"] == "Automation"
                && n["body"]
                    .as_str()
                    .unwrap()
                    .starts_with("Rule: the subject mentions \"refund\"")),
        "{notes}"
    );
    app.stop().await;
}

#[tokio::test]
async fn admins_write_rules_on_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let (_, site) = sam.get("/console/sites/demo").await;
    assert!(site.contains("/console/sites/demo/automation"));
    let form = |routes: &'static str| {
        vec![
            ("round_robin", "on"),
            ("escalate_minutes_before", "30"),
            ("close_pending_after_days", ""),
            ("routes", routes),
        ]
    };
    let (status, page) = sam
        .post_page("/console/sites/demo/automation", &form("refund -> tier 9"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("tier is 1, 2 or 3"), "{page}");
    assert_eq!(
        app.staff_json(PATH).await["round_robin"],
        false,
        "nothing saved"
    );

    let (status, page) = sam
        .post_page(
            "/console/sites/demo/automation",
            &form("refund, invoice -> tier 2 priority high"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("automation-saved"), "{page}");
    assert_eq!(
        app.staff_json(PATH).await,
        json!({
            "round_robin": true,
            "escalate_minutes_before": 30,
            "close_pending_after_days": null,
            "routes": [{"words": ["refund", "invoice"], "tier": 2, "priority": "high"}]
        })
    );
    let (_, page) = sam.get("/console/sites/demo/automation").await;
    assert!(
        page.contains("refund invoice -&gt; tier 2 priority high"),
        "{page}"
    );

    let tia = log_in(&app, "tia", STAFF_PASSWORD).await.unwrap();
    assert_eq!(
        tia.get("/console/sites/demo/automation").await.0,
        StatusCode::FORBIDDEN
    );
    app.stop().await;
}
