//! A customer's data, exported as the GDPR's access and portability rights
//! ask: found by email or by the identity the site verified, complete (every
//! request with its messages, notes and emails), for admins only, and noted
//! on each request it covered.

use reqwest::StatusCode;
use serde_json::Value;
use stufe_server::storage::{prelude::*, SqliteStorage};
use stufe_server::tokens::token_hash;

use crate::email_confirmation::mailing_app;
use crate::helpers::*;

const TIER1_TOKEN: &str = "tier1-privacy-token";

async fn export(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url(&format!("/api/staff/sites/demo/customers/export?{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_customers_two_requests_are_exported_complete_for_admins_only_and_the_export_is_noted() {
    let dir = tempfile::tempdir().unwrap();
    let app = mailing_app(dir.path()).await;
    // Ada (ada@example.com) has two requests; the second has a reply, a note
    // and her answer. Both got a confirmation email.
    let (first, _) = create_ticket(&app).await;
    let (mut second, token) = create_ticket(&app).await;
    app.staff_reply(second.id, "Hold the power button.").await;
    let note = reqwest::Client::new()
        .post(app.url(&format!("/api/staff/tickets/{}/notes", second.id)))
        .bearer_auth(STAFF_TOKEN)
        .json(&serde_json::json!({ "body": "Firmware 4.2" }))
        .send()
        .await
        .unwrap();
    assert_eq!(note.status(), StatusCode::OK);
    let mut widget = app.client().await;
    widget.open(&mut second, &token).await;
    stufe_shared::ticket::append_message(&mut second.doc, &customer_message("c1", "Still red."))
        .unwrap();
    widget.sync(&mut second).await;

    let response = export(&app, STAFF_TOKEN, "email=ada@example.com").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"stufe-customer-demo-"));
    let file: Value = response.json().await.unwrap();
    assert_eq!(file["format"], "stufe.customer-export/1");
    assert_eq!(
        file["customer"],
        serde_json::json!({ "email": "ada@example.com" })
    );
    let requests = file["requests"].as_array().unwrap();
    let ids: Vec<&str> = requests
        .iter()
        .map(|r| r["ticket"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [first.id.to_string(), second.id.to_string()],
        "both, oldest first"
    );
    let full = &requests[1];
    assert_eq!(full["ticket"]["subject"], "Printer offline");
    assert_eq!(full["ticket"]["description"], "It blinks red.");
    let bodies: Vec<&str> = full["ticket"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["Hold the power button.", "Still red."]);
    assert_eq!(full["staff_notes"][0]["body"], "Firmware 4.2");
    let emails = full["emails"].as_array().unwrap();
    assert!(
        emails
            .iter()
            .any(|m| m["to"] == "ada@example.com"
                && m["subject"].as_str().unwrap().contains("confirm")),
        "the confirmation email: {emails:?}"
    );

    // The export is on record on each request it covered.
    for id in [first.id, second.id] {
        let notes = app
            .staff_json(&format!("/api/staff/tickets/{id}/notes"))
            .await;
        assert!(
            notes.as_array().unwrap().iter().any(|n| n["kind"] == "note"
                && n["by"] == "Sam Support"
                && n["body"] == stufe_server::desk::privacy::EXPORT_NOTE),
            "{notes}"
        );
    }

    // Only admins; exactly one of sub and email; unknown customers have nothing.
    SqliteStorage::open(&dir.path().join("stufe.sqlite"))
        .unwrap()
        .add_staff("Tia", "tier1", &token_hash(TIER1_TOKEN))
        .unwrap();
    let refused = export(&app, TIER1_TOKEN, "email=ada@example.com").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let both = export(&app, STAFF_TOKEN, "email=ada@example.com&sub=ada").await;
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    let neither = export(&app, STAFF_TOKEN, "").await;
    assert_eq!(neither.status(), StatusCode::BAD_REQUEST);
    let nobody: Value = export(&app, STAFF_TOKEN, "email=nobody@example.com")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(nobody["requests"], serde_json::json!([]));
    app.stop().await;
}
