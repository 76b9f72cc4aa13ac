//! Several server processes sharing one PostgreSQL database: what one commits
//! reaches widgets on the other live, concurrent changes merge, and a killed
//! server loses nothing it acknowledged.

use automerge::AutoCommit;
use serde_json::{json, Value};
use stufe_shared::kb::read_catalogue;
use stufe_shared::protocol::ServerFrame;
use stufe_shared::ticket;
use stufe_shared::DocId;

use crate::helpers::*;

/// Two servers on one new database (the first seeds the demo site and staff).
async fn two_nodes() -> (TestApp, TestApp, tempfile::TempDir) {
    let url = new_postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let a = TestApp::spawn_node(&url, &dir.path().join("a"));
    let b = TestApp::spawn_node(&url, &dir.path().join("b"));
    (a, b, dir)
}

fn bodies(t: &ticket::Ticket) -> Vec<&str> {
    t.messages.iter().map(|m| m.body.as_str()).collect()
}

#[tokio::test]
async fn a_change_committed_on_one_node_reaches_widgets_on_the_other_live() {
    let (a, b, _dir) = two_nodes().await;
    // The customer files a request through node A.
    let (mut local, token) = create_ticket(&a).await;
    let id = local.id;
    let mut on_a = a.client().await;
    on_a.open(&mut local, &token).await;
    // Their other device is connected to node B and opens it there.
    let mut device = LocalDoc::new(id, AutoCommit::new());
    let mut on_b = b.client().await;
    let frames = on_b.open(&mut device, &token).await;
    assert!(
        matches!(&frames[0], ServerFrame::Opened { exists: true, .. }),
        "{frames:?}"
    );
    assert_eq!(read(&device.doc).subject, "Printer offline");

    // Staff answer through node B; the widget on node A gets it live.
    assert_eq!(b.staff_reply(id, "Try a restart.").await.status(), 200);
    on_a.sync_until(&mut local, |t| bodies(t).contains(&"Try a restart."))
        .await;

    // The customer answers on node A: staff see it through node B, and the
    // device on node B gets it live.
    ticket::append_message(&mut local.doc, &customer_message("c2", "Still red.")).unwrap();
    let frames = on_a.sync(&mut local).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    assert!(last_ack(&frames).is_some(), "{frames:?}");
    on_b.sync_until(&mut device, |t| bodies(t).contains(&"Still red."))
        .await;
    let seen = b.staff_ticket(id).await;
    let messages: Vec<&str> = seen["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(messages, bodies(&read(&local.doc)));
    // In the same order on both devices, each message once.
    assert_eq!(bodies(&read(&device.doc)), bodies(&read(&local.doc)));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_customer_and_staff_writing_at_once_on_two_nodes_both_keep_their_change() {
    let (a, b, _dir) = two_nodes().await;
    let (mut local, token) = create_ticket(&a).await;
    let id = local.id;
    let mut on_a = a.client().await;
    on_a.open(&mut local, &token).await;
    // Node B holds the ticket too (its copy is what it validates against).
    assert_eq!(b.staff_ticket(id).await["id"], id.to_string());

    for round in 0..5 {
        let body = format!("customer {round}");
        ticket::append_message(
            &mut local.doc,
            &customer_message(&format!("c{round}"), &body),
        )
        .unwrap();
        let reply = format!("staff {round}");
        let (frames, response) = tokio::join!(on_a.sync(&mut local), b.staff_reply(id, &reply));
        assert!(error_codes(&frames).is_empty(), "{frames:?}");
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
    }
    on_a.sync_until(&mut local, |t| bodies(t).contains(&"staff 4"))
        .await;
    let all = bodies(&read(&local.doc)).len();
    // Five customer messages and five staff replies, none lost.
    assert_eq!(all, 10, "{:?}", bodies(&read(&local.doc)));
    // Both nodes' projections count every message, whichever wrote last.
    for node in [&a, &b] {
        let listed = node.staff_json("/api/staff/tickets").await;
        let row = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id.to_string())
            .unwrap()
            .clone();
        assert_eq!(row["message_count"], all, "{row}");
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_node_killed_mid_flight_loses_no_acknowledged_change_and_its_widgets_resume_on_the_other()
{
    let (a, b, _dir) = two_nodes().await;
    let (mut local, token) = create_ticket(&a).await;
    let id = local.id;
    let mut on_a = a.client().await;
    on_a.open(&mut local, &token).await;
    ticket::append_message(
        &mut local.doc,
        &customer_message("c2", "Acked before the crash."),
    )
    .unwrap();
    let frames = on_a.sync(&mut local).await;
    let acked = last_ack(&frames).expect("acked");
    assert!(acked_everything(&mut local.doc, &acked));

    a.kill();

    // The widget reconnects, lands on node B, opens its ticket with a fresh
    // sync state (as the protocol asks) and finds everything acked there.
    let mut on_b = b.client().await;
    let frames = on_b.open(&mut local, &token).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    let acked = last_ack(&frames).expect("the other node acks what it holds");
    assert!(
        acked_everything(&mut local.doc, &acked),
        "node B holds every change node A acknowledged"
    );
    // And goes on there.
    ticket::append_message(&mut local.doc, &customer_message("c3", "After the crash.")).unwrap();
    let frames = on_b.sync(&mut local).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    let messages = b.staff_ticket(id).await["messages"].clone();
    let messages: Vec<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(
        messages.contains(&"Acked before the crash."),
        "{messages:?}"
    );
    assert!(messages.contains(&"After the crash."), "{messages:?}");
    b.stop().await;
}

#[tokio::test]
async fn an_article_published_on_one_node_reaches_widgets_on_the_other_and_its_search() {
    let (a, b, _dir) = two_nodes().await;
    let doc_id: DocId = "kb:demo:en".parse().unwrap();
    let (mut catalogue, mut peer) = (AutoCommit::new(), automerge::sync::State::new());
    let mut widget = a.client().await;
    widget.open_doc(&doc_id, &mut catalogue, &mut peer).await;
    assert!(read_catalogue(&catalogue).is_empty());

    let response = b
        .staff_send(
            reqwest::Method::PUT,
            "/api/staff/articles/rucksendung",
            &json!({ "site": "demo", "locale": "en", "title": "Sending a parcel back",
                     "body": "Print the return label and drop the parcel off.",
                     "category": "general" }),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);

    let started = std::time::Instant::now();
    while read_catalogue(&catalogue).is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the article never reached the widget on the other node"
        );
        widget.sync_doc(&doc_id, &mut catalogue, &mut peer).await;
    }
    let titles: Vec<String> = read_catalogue(&catalogue)
        .into_iter()
        .map(|e| e.title)
        .collect();
    assert_eq!(titles, ["Sending a parcel back"]);
    // Node A's search finds it (one index, in the shared database).
    let found: Value = reqwest::get(a.url("/api/sites/demo/search?q=label&locale=en"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["results"][0]["id"], "rucksendung", "{found}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn site_settings_changed_on_one_node_apply_on_the_other() {
    let (a, b, _dir) = two_nodes().await;
    let config = |node: &TestApp| {
        let url = node.url("/api/sites/demo/config");
        async move {
            let config: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
            config["name"].as_str().unwrap().to_owned()
        }
    };
    // Node A has the settings cached now.
    let before = config(&a).await;
    let sites = b.staff_json("/api/staff/sites").await;
    let mut settings = sites
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "demo")
        .unwrap()
        .clone();
    let settings = settings.as_object_mut().unwrap();
    settings.retain(|key, _| key != "key" && key != "tag");
    settings.insert("name".into(), json!("Renamed on B"));
    let response = b
        .staff_send(
            reqwest::Method::PUT,
            "/api/staff/sites/demo",
            &json!(settings),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_ne!(before, "Renamed on B");
    let started = std::time::Instant::now();
    while config(&a).await != "Renamed on B" {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "node A kept the old settings"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_change_made_while_a_node_was_not_listening_still_reaches_its_widgets() {
    let url = new_postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let a = TestApp::spawn_node(&url, &dir.path().join("a"));
    let b = TestApp::spawn_node(&url, &dir.path().join("b"));
    let (mut local, token) = create_ticket(&a).await;
    let id = local.id;
    let mut on_a = a.client().await;
    on_a.open(&mut local, &token).await;

    // Every server's listening connection is cut (as a network blip or a
    // database restart would), and staff answer at once, while they are down.
    let admin = url.clone();
    let cut = tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        let listening = "datname = current_database() AND query LIKE 'LISTEN stufe_docs%'";
        // Both servers listen (each starts its listener as it starts).
        let started = std::time::Instant::now();
        loop {
            let count: i64 = client
                .query_one(
                    &format!("SELECT COUNT(*) FROM pg_stat_activity WHERE {listening}"),
                    &[],
                )
                .unwrap()
                .get(0);
            if count == 2 {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "{count} listening"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        client
            .query(
                &format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {listening}"
                ),
                &[],
            )
            .unwrap()
            .len()
    })
    .await
    .unwrap();
    assert_eq!(cut, 2, "one listening connection per server");
    assert_eq!(
        b.staff_reply(id, "Sent during the blip.").await.status(),
        200
    );

    // Node A listens again, catches up what it holds, and its widget gets it.
    on_a.sync_until(&mut local, |t| bodies(t).contains(&"Sent during the blip."))
        .await;
    a.stop().await;
    b.stop().await;
}
