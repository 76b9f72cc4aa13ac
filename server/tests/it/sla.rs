//! SLA due times over the real server: counted in the site's business hours,
//! set by priority, and paused while a request waits on the customer.

use serde_json::{json, Value};
use stufe_server::business_hours::Calendar;
use stufe_shared::site::{BusinessHours, OpenHours};

use crate::helpers::*;

const MINUTE: i64 = 60_000;

async fn put_demo_settings(app: &TestApp, change: impl FnOnce(&mut Value)) {
    let mut site = serde_json::to_value(stufe_server::seed::demo_site()).unwrap();
    change(&mut site);
    let response = app
        .staff_send(reqwest::Method::PUT, "/api/staff/sites/demo", &site)
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

fn dues(ticket: &Value) -> (i64, i64, i64) {
    let ms = |key: &str| {
        ticket[key]
            .as_i64()
            .unwrap_or_else(|| panic!("{key}: {ticket}"))
    };
    (
        ms("created_at"),
        ms("first_response_due"),
        ms("resolution_due"),
    )
}

#[tokio::test]
async fn due_times_count_business_hours_and_priorities_bring_their_own_targets() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let hours = BusinessHours {
        timezone: "Europe/Berlin".into(),
        week: ["mon", "wed", "fri"]
            .map(|d| OpenHours {
                day: d.into(),
                open: "09:00".into(),
                close: "12:00".into(),
            })
            .to_vec(),
        holidays: vec!["2026-12-25".into()],
    };
    let configured = hours.clone();
    put_demo_settings(&app, move |site| {
        site["business_hours"] = serde_json::to_value(&configured).unwrap();
        site["sla_by_priority"] =
            json!({ "urgent": { "first_response_minutes": 30, "resolution_minutes": 120 } });
    })
    .await;
    let (local, _) = create_ticket(&app).await;
    let (created, first, resolution) = dues(&app.staff_ticket(local.id).await);
    let calendar = Calendar::new(&hours).unwrap();
    // The demo's targets (4 h and 48 h), in three-hour working days.
    assert_eq!(first, calendar.add(created, 4 * 60));
    assert_eq!(resolution, calendar.add(created, 48 * 60));
    assert!(
        first >= created + 4 * 60 * MINUTE,
        "never sooner than around the clock"
    );

    let response = app
        .staff_patch(local.id, json!({ "priority": "urgent" }))
        .await;
    assert_eq!(response.status(), 200);
    let (_, first, resolution) = dues(&app.staff_ticket(local.id).await);
    assert_eq!(first, calendar.add(created, 30));
    assert_eq!(resolution, calendar.add(created, 120));

    // A time zone the server does not know is refused.
    let mut site = serde_json::to_value(stufe_server::seed::demo_site()).unwrap();
    site["business_hours"] = json!({ "timezone": "Mars/Olympus", "week": [{ "day": "mon", "open": "09:00", "close": "17:00" }] });
    let refused = app
        .staff_send(reqwest::Method::PUT, "/api/staff/sites/demo", &site)
        .await;
    assert_eq!(refused.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn waiting_on_the_customer_pauses_the_sla_clock() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, _) = create_ticket(&app).await;
    let (_, first, resolution) = dues(&app.staff_ticket(local.id).await);
    app.staff_patch(local.id, json!({ "status": "pending" }))
        .await;
    let (_, still, _) = dues(&app.staff_ticket(local.id).await);
    assert_eq!(still, first, "going pending changes no due time");
    // Some time passes while the request waits (so the pause is not empty).
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.staff_patch(local.id, json!({ "status": "open" })).await;
    // Around the clock, the pause (under a minute here) moves both due times
    // by the paused time, rounded up to whole minutes.
    let (_, first_after, resolution_after) = dues(&app.staff_ticket(local.id).await);
    assert_eq!(first_after - first, MINUTE);
    assert_eq!(resolution_after - resolution, MINUTE);
    app.stop().await;
}

#[tokio::test]
async fn a_customer_reply_to_a_request_waiting_on_them_reopens_it_and_resumes_the_clock() {
    use stufe_shared::ticket::{self, Author, NewMessage};

    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let (_, first, resolution) = dues(&app.staff_ticket(local.id).await);
    app.staff_patch(local.id, json!({ "status": "pending" }))
        .await;
    let mut widget = app.client().await;
    widget.open(&mut local, &token).await;
    assert_eq!(read(&local.doc).status, ticket::Status::Pending);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    ticket::append_message(
        &mut local.doc,
        &NewMessage {
            id: "c-answer".into(),
            author: Author::Customer,
            name: "Ada".into(),
            body: "The serial number is 4711.".into(),
            at: 1,
        },
    )
    .unwrap();
    let frames = widget.sync(&mut local).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");

    let ticket = app.staff_ticket(local.id).await;
    assert_eq!(ticket["status"], "open", "back in the queue");
    // The wait (under a minute) moved both due times, rounded up to a minute.
    let (_, first_after, resolution_after) = dues(&ticket);
    assert_eq!(first_after - first, MINUTE);
    assert_eq!(resolution_after - resolution, MINUTE);
    assert_eq!(
        read(&local.doc).status,
        ticket::Status::Open,
        "the widget sees it"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_category_routes_new_requests_to_its_tier_and_priority() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    put_demo_settings(&app, |site| {
        let technical = site["categories"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|c| c["id"] == "technical")
            .unwrap();
        technical["tier"] = 2.into();
        technical["priority"] = "high".into();
        site["sla_by_priority"] =
            json!({ "high": { "first_response_minutes": 60, "resolution_minutes": 480 } });
    })
    .await;
    let (local, _) = create_ticket(&app).await; // category "technical"
    let ticket = app.staff_ticket(local.id).await;
    assert_eq!(
        (ticket["tier"].as_i64(), ticket["priority"].as_str()),
        (Some(2), Some("high"))
    );
    let (created, first, resolution) = dues(&ticket);
    assert_eq!(first - created, 60 * MINUTE);
    assert_eq!(resolution - created, 480 * MINUTE);
    // A routing to a tier that does not exist is refused.
    let mut site = serde_json::to_value(stufe_server::seed::demo_site()).unwrap();
    site["categories"][0]["tier"] = 4.into();
    let refused = app
        .staff_send(reqwest::Method::PUT, "/api/staff/sites/demo", &site)
        .await;
    assert_eq!(refused.status(), 400);
    app.stop().await;
}
