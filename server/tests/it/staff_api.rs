//! The staff API: authentication, filters and input errors.

use crate::helpers::*;

#[tokio::test]
async fn staff_api_needs_a_valid_token() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    assert_eq!(app.staff().send().await.unwrap().status(), 401);
    assert_eq!(
        app.staff()
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.staff()
            .bearer_auth(STAFF_TOKEN)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn tickets_are_listed_by_status_and_tier() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, _) = create_ticket(&app).await;
    assert_eq!(
        app.staff_patch(local.id, serde_json::json!({ "tier": 3 }))
            .await
            .status(),
        200
    );
    let list = |query: &'static str| {
        let request = reqwest::Client::new()
            .get(app.url(&format!("/api/staff/tickets?{query}")))
            .bearer_auth(STAFF_TOKEN);
        async move {
            let rows: Vec<serde_json::Value> = request.send().await.unwrap().json().await.unwrap();
            rows.into_iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let id = local.id.to_string();
    assert!(list("tier=3").await.contains(&id));
    assert!(!list("tier=1").await.contains(&id));
    assert!(list("status=new&tier=3").await.contains(&id));
    assert!(!list("status=open").await.contains(&id));
    app.stop().await;
}

#[tokio::test]
async fn bad_staff_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, _) = create_ticket(&app).await;
    let bad_tier = app
        .staff_patch(local.id, serde_json::json!({ "tier": 7 }))
        .await;
    assert_eq!(bad_tier.status(), 400);
    let bad_status = app
        .staff_patch(local.id, serde_json::json!({ "status": "done" }))
        .await;
    assert_eq!(bad_status.status(), 422);
    assert_eq!(app.staff_reply(local.id, "   ").await.status(), 400);
    let unknown = "ffffffffffffffffffffffffffffffff".parse().unwrap();
    assert_eq!(
        app.staff_patch(unknown, serde_json::json!({ "tier": 2 }))
            .await
            .status(),
        404
    );
    let ticket = app.staff_ticket(local.id).await;
    assert_eq!(
        (ticket["status"].as_str(), ticket["tier"].as_u64()),
        (Some("new"), Some(1))
    );
    assert!(ticket["messages"].as_array().unwrap().is_empty());
    app.stop().await;
}

/// Staff of one site neither see nor change another site's tickets or articles.
#[tokio::test]
async fn staff_see_only_the_sites_they_work_on() {
    use stufe_server::storage::{prelude::*, SqliteStorage};
    use stufe_server::tokens::token_hash;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, _) = create_ticket(&app).await;
    let storage = SqliteStorage::open(&dir.path().join("stufe.sqlite")).unwrap();
    let other: stufe_shared::SiteKey = "other".parse().unwrap();
    storage
        .put_site(&other, &stufe_server::seed::demo_site())
        .unwrap();
    let outsider = storage
        .add_staff("Olga Other", "tier3", &token_hash("other-staff"))
        .unwrap();
    storage.grant_site(outsider.id, &other).unwrap();
    let client = reqwest::Client::new();
    let as_outsider = |request: reqwest::RequestBuilder| request.bearer_auth("other-staff").send();

    let list: serde_json::Value = as_outsider(client.get(app.url("/api/staff/tickets")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list, serde_json::json!([]), "no demo tickets listed");
    let path = app.url(&format!("/api/staff/tickets/{}", local.id));
    assert_eq!(as_outsider(client.get(&path)).await.unwrap().status(), 404);
    let patch = client
        .patch(&path)
        .json(&serde_json::json!({ "status": "closed" }));
    assert_eq!(as_outsider(patch).await.unwrap().status(), 404);
    let reply = client
        .post(format!("{path}/messages"))
        .json(&serde_json::json!({ "body": "Hi from elsewhere" }));
    assert_eq!(as_outsider(reply).await.unwrap().status(), 404);
    let publish = client
        .put(app.url("/api/staff/articles/intrusion"))
        .json(&serde_json::json!({ "site": "demo", "locale": "en", "title": "X", "body": "Y", "category": "general" }));
    assert_eq!(as_outsider(publish).await.unwrap().status(), 403);
    let insights = client.get(app.url("/api/staff/kb/insights?site=demo"));
    assert_eq!(as_outsider(insights).await.unwrap().status(), 403);

    // Nothing changed, and the admin still sees everything.
    let ticket = app.staff_ticket(local.id).await;
    assert_eq!(ticket["status"], "new");
    assert!(ticket["messages"].as_array().unwrap().is_empty());
    let own = client
        .put(app.url("/api/staff/articles/own"))
        .json(&serde_json::json!({ "site": "other", "locale": "en", "title": "Own", "body": "Fine", "category": "general" }));
    assert_eq!(as_outsider(own).await.unwrap().status(), 200);
    app.stop().await;
}
