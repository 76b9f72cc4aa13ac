//! Presence over the real server: staff typing reaches the customer's widget
//! (named as the site says), a customer typing and colleagues on the same
//! ticket reach the console's ticket page, across servers on PostgreSQL too;
//! bad typing frames are refused; the widget header's availability.

use std::time::Duration;

use reqwest::header::COOKIE;
use serde_json::{json, Value};
use stufe_shared::protocol::ServerFrame;
use stufe_shared::DocId;

use crate::helpers::*;

/// Waits (at most 10 s) for a control frame that `wanted` accepts.
async fn control_until(client: &mut Client, wanted: impl Fn(&ServerFrame) -> bool) -> ServerFrame {
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if let Some(frame) = client.next_control().await {
            if wanted(&frame) {
                return frame;
            }
        }
    }
    panic!("no such control frame within 10 s")
}

fn is_typing(frame: &ServerFrame) -> bool {
    matches!(frame, ServerFrame::Typing { .. })
}

/// A console ticket page's presence stream, as its script reads it.
struct PresenceEvents {
    response: reqwest::Response,
    buffer: String,
}

impl PresenceEvents {
    async fn open(user: &ConsoleUser, id: stufe_shared::TicketId) -> Self {
        let response = user
            .http
            .get(format!("{}/console/tickets/{id}/presence", user.base))
            .header(COOKIE, &user.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next `presence` event's data.
    async fn next(&mut self) -> Value {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                if let Some(data) = event
                    .lines()
                    .find_map(|line| line.strip_prefix("data: "))
                    .filter(|_| event.contains("event: presence"))
                {
                    return serde_json::from_str(data).unwrap();
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("a presence event within 10 s")
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Events until one that `wanted` accepts.
    async fn until(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let seen = self.next().await;
            if wanted(&seen) {
                return seen;
            }
        }
    }
}

fn staff_names(seen: &Value) -> Vec<(String, bool)> {
    seen["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["typing"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn staff_typing_reaches_the_customers_widget_named_as_the_site_says() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let id = local.id;
    let mut widget = app.client().await;
    widget.open(&mut local, &token).await;

    // The demo site shows staff names.
    let typing = |app: &TestApp| {
        reqwest::Client::new()
            .post(app.url(&format!("/api/staff/tickets/{id}/typing")))
            .bearer_auth(STAFF_TOKEN)
            .send()
    };
    assert_eq!(typing(&app).await.unwrap().status(), 204);
    let frame = control_until(&mut widget, is_typing).await;
    assert_eq!(
        frame,
        ServerFrame::Typing {
            doc: DocId::Ticket(id).to_string(),
            name: Some("Sam Support".into())
        }
    );

    // A site that does not show names: the widget is told no name ("Support").
    let mut config = app.staff_json("/api/sites/demo/config").await;
    config["show_staff_names"] = json!(false);
    let saved = app
        .staff_send(reqwest::Method::PUT, "/api/staff/sites/demo", &config)
        .await;
    assert_eq!(saved.status(), 200, "{:?}", saved.text().await);
    // Typing said again after the minimum gap is passed on.
    tokio::time::sleep(Duration::from_millis(
        stufe_shared::protocol::TYPING_EVERY_MS,
    ))
    .await;
    assert_eq!(typing(&app).await.unwrap().status(), 204);
    let frame = control_until(&mut widget, is_typing).await;
    assert_eq!(
        frame,
        ServerFrame::Typing {
            doc: DocId::Ticket(id).to_string(),
            name: None
        }
    );
    // The frame as the wire carries it.
    let text = String::from_utf8_lossy(&widget.received);
    assert!(
        text.contains(&format!(r#"{{"type":"typing","doc":"ticket:{id}"}}"#)),
        "{text}"
    );

    // Nothing of it was stored: the ticket is as it was.
    let seen = app.staff_ticket(id).await;
    assert_eq!(seen["messages"].as_array().unwrap().len(), 0);

    // A ticket the staff member cannot see: 404, nobody told.
    let missing = reqwest::Client::new()
        .post(app.url(&format!("/api/staff/tickets/{}/typing", random_ticket().0)))
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn the_ticket_page_shows_the_customer_typing_and_colleagues_viewing_and_typing() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let id = local.id;
    let mut widget = app.client().await;
    widget.open(&mut local, &token).await;
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let tia = log_in(&app, "tia", STAFF_PASSWORD).await.unwrap();

    // Sam opens the ticket alone: nobody else there.
    let mut sams = PresenceEvents::open(&sam, id).await;
    assert_eq!(
        sams.next().await,
        json!({"customer_typing": false, "staff": []})
    );
    // Tia opens it too: each sees the other, not themselves.
    let mut tias = PresenceEvents::open(&tia, id).await;
    let seen = sams
        .until(|s| !s["staff"].as_array().unwrap().is_empty())
        .await;
    assert_eq!(staff_names(&seen), vec![("Tia First-Level".into(), false)]);
    let seen = tias.next().await;
    assert_eq!(staff_names(&seen), vec![("Sam Support".into(), false)]);

    // The customer types: both see it.
    widget
        .send_json(json!({"type": "typing", "doc": DocId::Ticket(id).to_string()}))
        .await;
    sams.until(|s| s["customer_typing"] == json!(true)).await;
    tias.until(|s| s["customer_typing"] == json!(true)).await;
    assert!(
        widget.next_control().await.is_none(),
        "a typing frame is not answered"
    );

    // Tia types a reply: Sam sees it, and so does the customer's widget.
    let (status, _) = tia
        .post(&format!("/console/tickets/{id}/typing"), &[])
        .await;
    assert_eq!(status, 204);
    let seen = sams
        .until(|s| staff_names(s).iter().any(|(_, typing)| *typing))
        .await;
    assert_eq!(staff_names(&seen), vec![("Tia First-Level".into(), true)]);
    let frame = control_until(&mut widget, is_typing).await;
    assert!(
        matches!(&frame, ServerFrame::Typing { name: Some(name), .. } if name == "Tia First-Level"),
        "{frame:?}"
    );

    // Tia closes the page: Sam sees her go.
    drop(tias);
    sams.until(|s| s["staff"].as_array().unwrap().is_empty())
        .await;

    // The page carries what shows it, and its script.
    let (_, page) = sam.get(&format!("/console/tickets/{id}")).await;
    assert!(page.contains(r#"data-testid="presence""#));
    assert!(page.contains(r#"data-testid="collision""#));
    assert!(page.contains(r#"src="/console/presence.js""#));

    // Typing without the form token changes nothing: refused.
    let refused = tia
        .http
        .post(format!("{}/console/tickets/{id}/typing", tia.base))
        .header(COOKIE, &tia.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn typing_frames_for_documents_not_open_or_not_tickets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, _token) = create_ticket(&app).await;
    let mut widget = app.client().await;
    let code = |frame: Option<ServerFrame>| match frame {
        Some(ServerFrame::Error { code, doc, .. }) => (
            serde_json::to_value(code)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned(),
            doc,
        ),
        other => panic!("expected an error, got {other:?}"),
    };
    // A ticket this connection has not opened (it exists, someone else has it).
    let doc = DocId::Ticket(local.id).to_string();
    widget
        .send_json(json!({"type": "typing", "doc": doc}))
        .await;
    assert_eq!(
        code(widget.next_control().await),
        ("not_open".to_owned(), Some(doc.clone()))
    );
    // Not a ticket.
    widget
        .send_json(json!({"type": "open", "doc": "kb:demo:en"}))
        .await;
    assert!(matches!(
        widget.next_control().await,
        Some(ServerFrame::Opened { .. })
    ));
    widget
        .send_json(json!({"type": "typing", "doc": "kb:demo:en"}))
        .await;
    assert_eq!(code(widget.next_control().await).0, "bad_frame");
    // Malformed: no document, an unknown field, a bad id.
    for bad in [
        json!({"type": "typing"}),
        json!({"type": "typing", "doc": doc, "name": "Sam"}),
        json!({"type": "typing", "doc": "ticket:XYZ"}),
    ] {
        widget.send_json(bad).await;
        assert_eq!(code(widget.next_control().await).0, "bad_frame");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_widget_header_learns_whether_the_team_is_in_and_how_fast_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, _token) = create_ticket(&app).await;
    assert_eq!(app.staff_reply(local.id, "On it.").await.status(), 200);
    let availability = reqwest::get(app.url("/api/sites/demo/availability"))
        .await
        .unwrap();
    assert_eq!(availability.status(), 200);
    // No business hours: always in; answered within seconds: one minute.
    assert_eq!(
        availability.json::<Value>().await.unwrap(),
        json!({"open": true, "typical_first_reply_minutes": 1})
    );

    // A site whose team is never in: closed, no time it is back.
    let mut config = app.staff_json("/api/sites/demo/config").await;
    config["business_hours"] = json!({"timezone": "Europe/Berlin", "week": [], "holidays": []});
    let saved = app
        .staff_send(reqwest::Method::POST, "/api/staff/sites", &{
            let mut new = config.clone();
            new["key"] = json!("closed-shop");
            new
        })
        .await;
    assert_eq!(
        saved.status(),
        400,
        "a week without a working day is refused"
    );
    config["business_hours"] = json!({"timezone": "Europe/Berlin",
        "week": [{"day": "mon", "open": "09:00", "close": "09:01"}],
        "holidays": []});
    config["key"] = json!("short-hours");
    let saved = app
        .staff_send(reqwest::Method::POST, "/api/staff/sites", &config)
        .await;
    assert_eq!(saved.status(), 201, "{:?}", saved.text().await);
    let seen: Value = reqwest::get(app.url("/api/sites/short-hours/availability"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Open one minute a week: whichever it is now, a closed answer says when.
    if seen["open"] == json!(false) {
        let opens_at = seen["opens_at"].as_i64().expect("when it opens");
        assert!(opens_at > stufe_server::clock::now_ms());
    }
    assert!(seen.get("typical_first_reply_minutes").is_none(), "{seen}");

    for (path, status) in [
        ("/api/sites/nope/availability", 404),
        ("/api/sites/NOPE!/availability", 400),
    ] {
        let response = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(response.status(), status, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn presence_crosses_servers_on_postgres() {
    let url = new_postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let a = TestApp::spawn_node(&url, &dir.path().join("a"));
    let b = TestApp::spawn_node(&url, &dir.path().join("b"));
    let (mut local, token) = create_ticket(&a).await;
    let id = local.id;
    let mut widget = a.client().await;
    widget.open(&mut local, &token).await;

    // Sam watches the ticket on server A; Tia opens it on server B.
    let sam = log_in(&a, "sam", STAFF_PASSWORD).await.unwrap();
    let tia = log_in(&b, "tia", STAFF_PASSWORD).await.unwrap();
    let mut sams = PresenceEvents::open(&sam, id).await;
    sams.next().await;
    let mut tias = PresenceEvents::open(&tia, id).await;
    let seen = sams
        .until(|s| !s["staff"].as_array().unwrap().is_empty())
        .await;
    assert_eq!(staff_names(&seen), vec![("Tia First-Level".into(), false)]);
    tias.until(|s| !s["staff"].as_array().unwrap().is_empty())
        .await;

    // Tia types on B: the widget on A shows it, and Sam sees it.
    let (status, _) = tia
        .post(&format!("/console/tickets/{id}/typing"), &[])
        .await;
    assert_eq!(status, 204);
    let frame = control_until(&mut widget, is_typing).await;
    assert!(
        matches!(&frame, ServerFrame::Typing { name: Some(name), .. } if name == "Tia First-Level"),
        "{frame:?}"
    );
    sams.until(|s| staff_names(s) == vec![("Tia First-Level".into(), true)])
        .await;

    // The customer types on A: Tia sees it on B.
    widget
        .send_json(json!({"type": "typing", "doc": DocId::Ticket(id).to_string()}))
        .await;
    tias.until(|s| s["customer_typing"] == json!(true)).await;
    a.stop().await;
    b.stop().await;
}
