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

/// The status a staff API `GET` of `path` answers (the demo admin's token).
async fn staff_status(app: &TestApp, path: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap()
        .status()
}

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
    let note = app
        .staff_send(
            reqwest::Method::POST,
            &format!("/api/staff/tickets/{}/notes", second.id),
            &serde_json::json!({ "body": "Firmware 4.2" }),
        )
        .await;
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

    // The console's erasure form: refused without the confirmation, then done.
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let form = |confirm: &'static str| {
        [
            ("email", "ada@example.com"),
            ("sub", ""),
            ("confirm", confirm),
        ]
    };
    let (status, _) = sam.post("/console/sites/demo/erase", &form("ada")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.staff_ticket(first.id).await["subject"],
        "Printer offline"
    );
    let (status, _) = sam
        .post("/console/sites/demo/erase", &form("ada@example.com"))
        .await;
    assert_eq!(status, StatusCode::OK);
    for id in [first.id, second.id] {
        assert_eq!(
            staff_status(&app, &format!("/api/staff/tickets/{id}")).await,
            StatusCode::GONE
        );
    }
    app.stop().await;
}

/// Whether `marker` occurs anywhere in the SQLite database file or its
/// write-ahead log, byte for byte.
fn in_database_files(dir: &std::path::Path, marker: &str) -> bool {
    ["stufe.sqlite", "stufe.sqlite-wal"].iter().any(|name| {
        std::fs::read(dir.join(name))
            .map(|bytes| bytes.windows(marker.len()).any(|w| w == marker.as_bytes()))
            .unwrap_or(false)
    })
}

#[tokio::test]
async fn an_erased_customer_leaves_no_byte_in_the_database_files_and_their_widget_drops_the_ticket()
{
    use stufe_shared::ticket::{self, NewMessage};
    let dir = tempfile::tempdir().unwrap();
    let app = mailing_app(dir.path()).await;
    // A customer with a marker in every field they or staff write about them.
    let email = "zq7731mail@example.com";
    let markers = [
        email,
        "Zq7731Subject",
        "Zq7731Description",
        "Zq7731Name",
        "Zq7731Reply",
        "Zq7731Rating",
        "Zq7731Note",
    ];
    let (id, token) = random_ticket();
    let mut local = LocalDoc::new(
        id,
        ticket_doc_with(id, "Zq7731Subject", "Zq7731Description", Some(email)),
    );
    let mut widget = app.client().await;
    widget.open(&mut local, &token).await;
    ticket::append_message(
        &mut local.doc,
        &NewMessage {
            id: "c1".into(),
            author: ticket::Author::Customer,
            name: "Zq7731Name".into(),
            body: "Zq7731Reply".into(),
            at: 1,
        },
    )
    .unwrap();
    widget.sync(&mut local).await;
    app.staff_reply(id, "About Zq7731Reply: fixed.").await;
    let note = app
        .staff_send(
            reqwest::Method::POST,
            &format!("/api/staff/tickets/{id}/notes"),
            &serde_json::json!({ "body": "Zq7731Note: Zq7731Subject again" }),
        )
        .await;
    assert_eq!(note.status(), StatusCode::OK);
    let resolved = app
        .staff_send(
            reqwest::Method::PATCH,
            &format!("/api/staff/tickets/{id}"),
            &serde_json::json!({ "status": "resolved" }),
        )
        .await;
    assert_eq!(resolved.status(), StatusCode::OK);
    widget.sync(&mut local).await;
    ticket::rate(&mut local.doc, 5, "Zq7731Rating").unwrap();
    widget.sync(&mut local).await;
    assert_eq!(
        app.staff_ticket(id).await["rating"]["comment"],
        "Zq7731Rating"
    );
    // Another customer's request stays whole.
    let (other, _) = create_ticket(&app).await;
    // The scan sees what is there (the mail to the customer, the subject).
    assert!(
        in_database_files(dir.path(), email),
        "the scan finds stored text"
    );
    assert!(in_database_files(dir.path(), "Zq7731Subject"));
    let created_before =
        app.staff_json("/api/staff/kpis?site=demo").await["total"]["created"].clone();

    let api = &app;
    let erase = |body: Value| async move {
        api.staff_send(
            reqwest::Method::POST,
            "/api/staff/sites/demo/customers/erase",
            &body,
        )
        .await
    };
    // Without the confirmation nothing is erased.
    let unconfirmed = erase(serde_json::json!({ "email": email, "confirm": "zq7731" })).await;
    assert_eq!(unconfirmed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.staff_ticket(id).await["subject"], "Zq7731Subject");
    let response = erase(serde_json::json!({ "email": email, "confirm": email })).await;
    assert_eq!(response.status(), StatusCode::OK);
    let done: Value = response.json().await.unwrap();
    assert_eq!(done["erased"], serde_json::json!([id.to_string()]));

    for marker in markers {
        assert!(
            !in_database_files(dir.path(), marker),
            "{marker} is still in the database files"
        );
    }
    // Gone from the API and the queue; still counted in the KPIs; the other request whole.
    assert_eq!(
        staff_status(&app, &format!("/api/staff/tickets/{id}")).await,
        StatusCode::GONE
    );
    let queue = app.staff_json("/api/staff/tickets").await;
    assert!(!queue.to_string().contains(&id.to_string()), "{queue}");
    assert_eq!(
        app.staff_ticket(other.id).await["subject"],
        "Printer offline"
    );
    assert_eq!(
        app.staff_json("/api/staff/kpis?site=demo").await["total"]["created"],
        created_before,
        "the figures stay"
    );

    // The widget still holding it is told, and its old copy and a new
    // change are never stored again.
    let frames = widget.sync(&mut local).await;
    assert!(
        error_codes(&frames).contains(&"erased".to_owned()),
        "the open widget is told: {frames:?}"
    );
    let mut returning = app.client().await;
    let opened = returning.open(&mut local, &token).await;
    assert_eq!(error_codes(&opened), ["erased"], "{opened:?}");
    ticket::append_message(&mut local.doc, &customer_message("c2", "Zq7731Again")).unwrap();
    let mut again = app.client().await;
    let resent = again.open(&mut local, &token).await;
    assert_eq!(error_codes(&resent), ["erased"], "{resent:?}");
    for marker in markers.iter().chain(&["Zq7731Again"]) {
        assert!(!in_database_files(dir.path(), marker), "{marker} came back");
    }
    app.stop().await;
}

/// Rows of every table in the PostgreSQL database that hold `marker`, as
/// text or as bytes: `table: count` for each table with any.
fn postgres_rows_with(url: &str, marker: &str) -> Vec<String> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(tables.len() > 10, "{tables:?}");
    let hex: String = marker.bytes().map(|b| format!("{b:02x}")).collect();
    tables
        .into_iter()
        .filter_map(|table| {
            let count: i64 = client
                .query_one(
                    &format!(
                        "SELECT count(*) FROM \"{table}\" t
                         WHERE t::text LIKE '%' || $1 || '%' OR t::text LIKE '%' || $2 || '%'"
                    ),
                    &[&marker, &hex],
                )
                .unwrap()
                .get(0);
            (count > 0).then(|| format!("{table}: {count}"))
        })
        .collect()
}

#[tokio::test]
async fn on_postgresql_an_erased_customer_is_in_no_table_and_the_other_nodes_widgets_are_told() {
    use stufe_shared::ticket;
    let url = new_postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let a = TestApp::spawn_node(&url, &dir.path().join("a"));
    let b = TestApp::spawn_node(&url, &dir.path().join("b"));
    let email = "zq8842mail@example.com";
    let markers = [email, "Zq8842Subject", "Zq8842Reply", "Zq8842Note"];
    // Filed and followed through node B; staff work through node A.
    let (id, token) = random_ticket();
    let mut local = LocalDoc::new(
        id,
        ticket_doc_with(id, "Zq8842Subject", "It blinks.", Some(email)),
    );
    let mut on_b = b.client().await;
    on_b.open(&mut local, &token).await;
    ticket::append_message(&mut local.doc, &customer_message("c1", "Zq8842Reply")).unwrap();
    on_b.sync(&mut local).await;
    let note = a
        .staff_send(
            reqwest::Method::POST,
            &format!("/api/staff/tickets/{id}/notes"),
            &serde_json::json!({ "body": "Zq8842Note" }),
        )
        .await;
    assert_eq!(note.status(), StatusCode::OK);
    let scan = |marker: &'static str| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || postgres_rows_with(&url, marker))
                .await
                .unwrap()
        }
    };
    assert!(
        !scan("Zq8842Subject").await.is_empty(),
        "the scan finds stored text"
    );
    assert!(
        !scan("Zq8842Reply").await.is_empty(),
        "and text inside documents"
    );

    let response = a
        .staff_send(
            reqwest::Method::POST,
            "/api/staff/sites/demo/customers/erase",
            &serde_json::json!({ "email": email, "confirm": email }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    for marker in markers {
        assert_eq!(scan(marker).await, Vec::<String>::new(), "{marker}");
    }
    // Node B held the ticket for its widget: it hears of the erasure and tells it.
    let started = std::time::Instant::now();
    loop {
        let frames = on_b.sync(&mut local).await;
        if error_codes(&frames).contains(&"erased".to_owned()) {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "node B never told its widget: {frames:?}"
        );
    }
    // Neither node stores it again.
    ticket::append_message(&mut local.doc, &customer_message("c2", "Zq8842Again")).unwrap();
    for node in [&a, &b] {
        let mut widget = node.client().await;
        let frames = widget.open(&mut local, &token).await;
        assert_eq!(error_codes(&frames), ["erased"], "{frames:?}");
    }
    assert_eq!(scan("Zq8842Again").await, Vec::<String>::new());
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_site_links_its_privacy_notice_and_previews_its_retention_period() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let api = &app;
    let put = |settings: Value| async move {
        api.staff_send(reqwest::Method::PUT, "/api/staff/sites/demo", &settings)
            .await
    };
    let mut settings = app.staff_json("/api/sites/demo/config").await;
    for (field, bad) in [
        ("privacy_url", serde_json::json!("javascript:alert(1)")),
        ("retention_days", serde_json::json!(0)),
    ] {
        let mut refused = settings.clone();
        refused[field] = bad;
        assert_eq!(
            put(refused).await.status(),
            StatusCode::BAD_REQUEST,
            "{field}"
        );
    }
    settings["privacy_url"] = "https://shop.example/privacy".into();
    settings["retention_days"] = 30.into();
    assert_eq!(put(settings).await.status(), StatusCode::OK);
    // Widgets get the link.
    let config = app.staff_json("/api/sites/demo/config").await;
    assert_eq!(config["privacy_url"], "https://shop.example/privacy");
    // The dry run: the demo's requests are new, so none is due.
    let preview = app.staff_json("/api/staff/sites/demo/retention").await;
    assert_eq!(
        preview,
        serde_json::json!({ "retention_days": 30, "due": 0 })
    );
    SqliteStorage::open(&dir.path().join("stufe.sqlite"))
        .unwrap()
        .add_staff("Tia", "tier1", &token_hash(TIER1_TOKEN))
        .unwrap();
    let refused = reqwest::Client::new()
        .get(app.url("/api/staff/sites/demo/retention"))
        .bearer_auth(TIER1_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}
