//! Hand-offs between tiers and colleagues: the customer is told in words in
//! the thread, staff see who, when and the note, and no staff note ever
//! reaches a widget — not in the document, not in any byte on the socket.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn patch(app: &TestApp, id: &str, body: Value) -> reqwest::Response {
    let path = format!("/api/staff/tickets/{id}");
    app.staff_send(reqwest::Method::PATCH, &path, &body).await
}

#[tokio::test]
async fn an_escalation_tells_the_customer_in_words_and_keeps_its_note_from_every_widget_byte() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let id = local.id.to_string();
    // The customer's widget stays connected through everything below.
    let mut widget = app.client().await;
    widget.open(&mut local, &token).await;

    let staff: Value = app.staff_json("/api/staff/me").await;
    let response = patch(
        &app,
        &id,
        json!({ "tier": 2, "assignee": staff["id"], "note": "SECRET-HANDOFF: printer firmware 4.2, see logs" }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = reqwest::Client::new()
        .post(app.url(&format!("/api/staff/tickets/{id}/notes")))
        .bearer_auth(STAFF_TOKEN)
        .json(&json!({ "body": "SECRET-NOTE: customer sounds annoyed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    app.staff_reply(local.id, "We are looking at it.").await;
    widget.sync(&mut local).await;

    // The customer sees the hand-off in words, and the reply.
    let thread = read(&local.doc);
    let bodies: Vec<&str> = thread.messages.iter().map(|m| m.body.as_str()).collect();
    assert!(
        bodies.contains(&"Your request was passed to our specialists. They will answer you here."),
        "{bodies:?}"
    );
    assert!(bodies.contains(&"We are looking at it."));
    assert_eq!(thread.tier.get(), 2);
    // Nothing of the notes, anywhere the widget could look.
    let seen = String::from_utf8_lossy(&widget.received).into_owned();
    for secret in ["SECRET-HANDOFF", "SECRET-NOTE", "firmware 4.2", "annoyed"] {
        assert!(!seen.contains(secret), "{secret} reached the widget");
        assert!(
            !format!("{thread:?}").contains(secret),
            "{secret} is in the ticket document"
        );
    }
    assert!(
        widget.received.len() > 100,
        "the widget did receive the changes"
    );

    // Staff see who handed it on, when, to whom, and why.
    let notes: Value = app
        .staff_json(&format!("/api/staff/tickets/{id}/notes"))
        .await;
    assert_eq!(notes[0]["kind"], "handoff");
    assert_eq!(notes[0]["by"], "Sam Support");
    assert_eq!(
        notes[0]["change"],
        "tier 1 → tier 2, assigned to Sam Support"
    );
    assert_eq!(
        notes[0]["body"],
        "SECRET-HANDOFF: printer firmware 4.2, see logs"
    );
    assert_eq!(notes[1]["kind"], "note");
    let listed = app
        .staff()
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains(&format!("\"assignee\":{}", staff["id"])),
        "{listed}"
    );

    // Back to tier 1: told too. An unknown colleague is refused, nothing changes.
    patch(&app, &id, json!({ "tier": 1 })).await;
    widget.sync(&mut local).await;
    assert!(read(&local.doc)
        .messages
        .iter()
        .any(|m| m.body == "Your request is back with our support team. We will answer you here."));
    let refused = patch(&app, &id, json!({ "assignee": 999, "tier": 3 })).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(app.staff_ticket(local.id).await["tier"], 1);
    app.stop().await;
}

#[tokio::test]
async fn resolved_then_reopened_by_a_customer_reply_goes_back_to_the_queue_with_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    app.staff_reply(local.id, "Try turning it off and on.")
        .await;
    patch(&app, &local.id.to_string(), json!({ "status": "resolved" })).await;
    let mut widget = app.client().await;
    widget.open(&mut local, &token).await;
    stufe_shared::ticket::append_message(
        &mut local.doc,
        &stufe_shared::ticket::NewMessage {
            id: "c2".into(),
            author: stufe_shared::ticket::Author::Customer,
            name: "Ada".into(),
            body: "It is broken again.".into(),
            at: 5,
        },
    )
    .unwrap();
    let frames = widget.sync(&mut local).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    let ticket = app.staff_ticket(local.id).await;
    assert_eq!(ticket["status"], "open", "back in the queue");
    let history: Vec<&str> = ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "Try turning it off and on.",
            "Your request was marked as resolved. If anything is still open, just reply here.",
            "It is broken again."
        ],
        "with its history"
    );
    let queue: Value = app.staff_json("/api/staff/tickets?status=open").await;
    let listed = queue
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == local.id.to_string())
        .expect("in the open queue");
    assert_eq!(listed["reopened"], 1);
    app.stop().await;
}

#[tokio::test]
async fn the_console_sends_a_reply_and_a_status_change_in_one_form_and_shows_notes_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (first, _) = create_ticket(&app).await;
    let (second, _) = create_ticket(&app).await;
    let id = second.id.to_string();
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let (status, _) = sam
        .post(
            &format!("/console/tickets/{id}/update"),
            &[
                ("body", "Fixed on our side."),
                ("status", "resolved"),
                ("tier", "2"),
                ("assignee", ""),
                ("note", "Escalated for the firmware question."),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let ticket = app.staff_ticket(second.id).await;
    assert_eq!(ticket["status"], "resolved", "the status change was kept");
    assert!(
        ticket["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"] == "Fixed on our side."),
        "the typed reply was kept: {ticket}"
    );
    let (status, page) = sam.get(&format!("/console/tickets/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Escalated for the firmware question."),
        "the note"
    );
    assert!(page.contains("tier 1 → tier 2"), "the hand-off");
    // The customer (same email) and their other request, by name, not "You".
    assert!(page.contains("ada@example.com"));
    assert!(
        page.contains(&format!("/console/tickets/{}", first.id)),
        "history"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_queue_shows_active_requests_most_urgent_first_and_a_deep_link_survives_login() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (done, _) = create_ticket(&app).await;
    patch(&app, &done.id.to_string(), json!({ "status": "resolved" })).await;
    let (open, _) = create_ticket(&app).await;

    // Logged out, a deep link leads to the login and back to it.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let target = format!("/console/tickets/{}", open.id);
    let to_login = http.get(app.url(&target)).send().await.unwrap();
    let location = to_login.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/console/login?next={target}"));
    let login_page = http
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login_page.contains(&format!("name=\"next\" value=\"{target}\"")));
    let (login_cookie, token) = crate::helpers::login_page(&http, &app).await;
    let logged_in = http
        .post(app.url("/console/login"))
        .header("cookie", &login_cookie)
        .form(&[
            ("login", "sam"),
            ("password", STAFF_PASSWORD),
            ("next", target.as_str()),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(logged_in.headers()["location"], target.as_str());
    // Only pages of this console: anything else goes to the queue.
    let elsewhere = http
        .post(app.url("/console/login"))
        .header("cookie", &login_cookie)
        .form(&[
            ("login", "sam"),
            ("password", STAFF_PASSWORD),
            ("next", "//evil.example/console"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.headers()["location"], "/console");

    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let (_, queue) = sam.get("/console").await;
    assert!(queue.contains(&open.id.to_string()));
    assert!(
        !queue.contains(&done.id.to_string()),
        "resolved requests are hidden"
    );
    let (_, all) = sam.get("/console?status=all").await;
    assert!(all.contains(&done.id.to_string()));
    // Errors are pages, not JSON.
    let (status, missing) = sam
        .get("/console/tickets/00000000000000000000000000000000")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        missing.contains("data-testid=\"error-page\"") && missing.contains("no such ticket"),
        "{missing}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_saved_reply_is_sent_with_one_choice() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, _) = create_ticket(&app).await;
    let created: Value = reqwest::Client::new()
        .post(app.url("/api/staff/saved-replies"))
        .bearer_auth(STAFF_TOKEN)
        .json(&json!({ "site": "demo", "title": "Restart", "body": "Please switch it off and on again. ({ticket}, {agent})" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let saved_id = created["id"].as_i64().unwrap().to_string();
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let id = local.id.to_string();
    let (_, page) = sam.get(&format!("/console/tickets/{id}")).await;
    assert!(
        page.contains("data-testid=\"saved-reply\""),
        "offered on the ticket page"
    );
    // With its placeholders filled, for the page's script to put into the box.
    assert!(
        page.contains(&format!(
            "data-body=\"Please switch it off and on again. ({id}, Sam Support)\""
        )),
        "{page}"
    );
    assert!(page.contains(r#"src="/console/saved.js""#));
    sam.post(
        &format!("/console/tickets/{id}/update"),
        &[
            ("body", "Hello Ada,"),
            ("saved_reply", &saved_id),
            ("status", "new"),
            ("tier", "1"),
        ],
    )
    .await;
    let ticket = app.staff_ticket(local.id).await;
    assert_eq!(
        ticket["messages"][0]["body"],
        format!("Hello Ada,\n\nPlease switch it off and on again. ({id}, Sam Support)")
    );
    // Staff of other sites neither see nor use it.
    let tia = log_in(&app, "tia", STAFF_PASSWORD).await.unwrap();
    let (status, _) = tia.get("/console/saved-replies?site=elsewhere").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn a_rating_counts_once_and_only_on_a_resolved_request() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let mut widget = app.client().await;
    widget.open(&mut local, &token).await;
    // Not resolved yet: refused, and the ticket closes on this connection.
    let mut early = local.doc.fork();
    stufe_shared::ticket::rate(&mut early, 5, "too early").unwrap();
    let mut early_local = LocalDoc::new(local.id, early);
    let frames = widget.open(&mut early_local, &token).await;
    assert_eq!(error_codes(&frames), ["rejected_change"], "{frames:?}");

    patch(&app, &local.id.to_string(), json!({ "status": "resolved" })).await;
    let mut widget = app.client().await;
    widget.open(&mut local, &token).await;
    stufe_shared::ticket::rate(&mut local.doc, 4, "good").unwrap();
    let frames = widget.sync(&mut local).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    assert_eq!(app.staff_ticket(local.id).await["rating"]["score"], 4);
    // A second rating (a new rating map) is refused; the first one stands.
    stufe_shared::ticket::rate(&mut local.doc, 1, "changed my mind").unwrap();
    let frames = widget.sync(&mut local).await;
    assert_eq!(error_codes(&frames), ["rejected_change"], "{frames:?}");
    assert_eq!(app.staff_ticket(local.id).await["rating"]["score"], 4);
    let kpis: Value = app.staff_json("/api/staff/kpis?site=demo").await;
    assert_eq!(
        kpis["total"]["ratings"],
        json!([0, 0, 0, 1, 0]),
        "counted once"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_resolution_and_a_published_article_are_notices_to_the_customer_never_a_reply() {
    use stufe_shared::ticket::{Status, SystemNotice};
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let id = local.id.to_string();
    let mut widget = app.client().await;
    widget.open(&mut local, &token).await;

    // Resolved without a word from staff, then an article (in German) from it.
    assert_eq!(
        patch(&app, &id, json!({ "status": "resolved" }))
            .await
            .status(),
        200
    );
    let response = app
        .staff_send(reqwest::Method::PUT, "/api/staff/articles/drucker-blinkt", &json!({ "site": "demo", "locale": "de", "title": "Drucker blinkt rot",
                       "body": "Zehn Sekunden drücken.", "category": "general", "source_tickets": [id] }))
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    widget.sync(&mut local).await;

    let thread = read(&local.doc);
    let notices: Vec<Option<SystemNotice>> = thread
        .messages
        .iter()
        .map(|m| SystemNotice::of(m.author, &m.id, &m.body))
        .collect();
    assert_eq!(
        notices,
        [
            Some(SystemNotice::Resolved),
            Some(SystemNotice::Article {
                title: "Drucker blinkt rot".into()
            })
        ],
        "{:?}",
        thread.messages
    );
    // Bodies in the site's language (English) and the article's (German).
    assert_eq!(
        thread.messages[0].body,
        "Your request was marked as resolved. If anything is still open, just reply here."
    );
    assert_eq!(
        thread.messages[1].body,
        "Wir haben einen Hilfeartikel zu Ihrer Anfrage veröffentlicht: „Drucker blinkt rot“"
    );
    // Neither is an answer: no first response, no staff reply counted.
    assert_eq!(thread.first_response_at, None);
    assert_eq!(thread.status, Status::Resolved);
    let listed: Value = app.staff_json("/api/staff/tickets").await;
    let summary = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(summary["first_response_at"], Value::Null, "{summary}");
    assert_eq!(summary["staff_messages"], 0, "{summary}");
    app.stop().await;
}
