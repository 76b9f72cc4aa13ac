//! Webhooks over HTTP: admins set endpoints up (bad ones refused, nothing
//! stored), and a site's events reach a real receiver process signed, once
//! each, also when the receiver fails for a while, is down, or the server
//! restarts meanwhile.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use stufe_server::storage::{prelude::*, SqliteStorage};
use stufe_server::tokens::token_hash;

use crate::helpers::*;

const TIER3_TOKEN: &str = "tier3-webhooks-token";

/// A receiver process (`webhook_receiver.py`) and the file it logs to.
struct Receiver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Receiver {
    /// Starts one on `port` (0: any) that answers 503 to its first `failures` requests.
    fn start(port: u16, failures: u32, log: &Path) -> Receiver {
        let python = std::env::var("STUFE_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/webhook_receiver.py");
        let mut child = Command::new(python)
            .args([script, &port.to_string(), &failures.to_string()])
            .arg(log)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the receiver");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the receiver says its port");
        Receiver {
            child,
            port,
            log: log.to_path_buf(),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// SIGKILL: the endpoint is down.
    fn kill(mut self) -> (u16, PathBuf) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        (self.port, self.log.clone())
    }

    /// Every request it got so far.
    fn requests(log: &Path) -> Vec<Value> {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The events it accepted (answered 200), once `wanted` holds of them.
    /// (Within a minute: a delivery claimed by a killed server waits out
    /// its 30 s claim.)
    async fn accepted_until(log: &Path, wanted: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let accepted: Vec<Value> = Self::requests(log)
                .into_iter()
                .filter(|r| r["status"] == 200)
                .collect();
            if wanted(&accepted) {
                return accepted;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not get what was expected; it got: {:#?}",
                Self::requests(log)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn events(accepted: &[Value]) -> Vec<String> {
    accepted
        .iter()
        .map(|r| r["headers"]["stufe-event"].as_str().unwrap().to_owned())
        .collect()
}

/// What a receiver does: the signature over `timestamp.body` with the secret.
fn signed_by(request: &Value, secret: &str) -> bool {
    let (timestamp, body) = (
        request["headers"]["stufe-timestamp"].as_str().unwrap(),
        request["body"].as_str().unwrap(),
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    request["headers"]["stufe-signature"] == expected.as_str()
}

/// An endpoint's deliveries once `n` of them are marked delivered (the
/// receiver logs a request before it answers, so its log can be ahead).
async fn delivered(app: &TestApp, endpoint: i64, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed = app
            .staff_json(&format!(
                "/api/staff/webhooks/{endpoint}/deliveries?site=demo"
            ))
            .await;
        let listed = listed.as_array().unwrap().clone();
        if listed.iter().filter(|d| d["delivered_at"].is_i64()).count() >= n {
            return listed;
        }
        assert!(Instant::now() < deadline, "not delivered: {listed:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn add_endpoint(app: &TestApp, url: &str, events: &[&str]) -> Value {
    let response = app
        .staff_send(
            Method::POST,
            "/api/staff/webhooks",
            &json!({ "site": "demo", "url": url, "events": events }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

#[tokio::test]
async fn endpoints_are_checked_and_for_admins_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(dir.path(), |c| c.webhooks_allow_http = false).await;
    let add = |body: Value| {
        let app = &app;
        async move {
            app.staff_send(Method::POST, "/api/staff/webhooks", &body)
                .await
        }
    };
    for (body, says) in [
        (
            json!({"site": "demo", "url": "http://hooks.example.com/x", "events": ["request.created"]}),
            "https://",
        ),
        (
            json!({"site": "demo", "url": "https://hooks.example.com/x", "events": ["request.exploded"]}),
            "unknown event",
        ),
        (
            json!({"site": "demo", "url": "https://hooks.example.com/x", "events": []}),
            "at least one event",
        ),
        (
            json!({"site": "demo", "url": "https://u:p@hooks.example.com/x", "events": ["request.created"]}),
            "user name or password",
        ),
        (
            json!({"site": "demo", "url": "https://hooks.example.com/x", "events": ["request.created"], "format": "xml"}),
            "unknown format",
        ),
    ] {
        let response = add(body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"].as_str().unwrap().contains(says),
            "{body}: {error}"
        );
    }
    let response = add(json!({"site": "nowhere", "url": "https://hooks.example.com/x", "events": ["request.created"]})).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.staff_json("/api/staff/webhooks?site=demo").await,
        json!([])
    );

    // Added: its secret is shown once, never listed.
    let response = add(json!({"site": "demo", "url": "https://hooks.example.com/x", "events": ["request.created", "request.created"], "format": "slack"})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let added: Value = response.json().await.unwrap();
    assert_eq!(added["secret"].as_str().map(str::len), Some(64));
    assert_eq!(added["events"], json!(["request.created"]));
    let listed = app.staff_json("/api/staff/webhooks?site=demo").await;
    assert_eq!(listed[0]["url"], "https://hooks.example.com/x");
    assert_eq!(listed[0]["format"], "slack");
    assert!(listed[0].get("secret").is_none(), "{listed}");

    // Only admins see or change a site's webhooks.
    SqliteStorage::open(&dir.path().join("stufe.sqlite"))
        .unwrap()
        .add_staff("Ola", "tier3", &token_hash(TIER3_TOKEN))
        .unwrap();
    let as_tier3 = reqwest::Client::new()
        .get(app.url("/api/staff/webhooks?site=demo"))
        .bearer_auth(TIER3_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(as_tier3.status(), StatusCode::FORBIDDEN);
    let id = added["id"].as_i64().unwrap();
    let removed = reqwest::Client::new()
        .delete(app.url(&format!("/api/staff/webhooks/{id}?site=demo")))
        .bearer_auth(TIER3_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.staff_json("/api/staff/webhooks?site=demo")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let path = format!("/api/staff/webhooks/{id}?site=demo");
    assert_eq!(
        app.staff_send(Method::DELETE, &path, &json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.staff_send(Method::DELETE, &path, &json!({}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

#[tokio::test]
async fn events_reach_a_real_receiver_signed_once_each_through_failures() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("received.jsonl");
    let app = TestApp::spawn(dir.path()).await;
    // The receiver fails its first two requests (503): those are tried again.
    let receiver = Receiver::start(0, 2, &log);
    let endpoint = add_endpoint(
        &app,
        &receiver.url(),
        &[
            "request.created",
            "request.staff_replied",
            "request.status_changed",
            "request.customer_replied",
        ],
    )
    .await;
    let secret = endpoint["secret"].as_str().unwrap().to_owned();

    let (mut local, token) = create_ticket(&app).await;
    assert!(app
        .staff_reply(local.id, "Have you tried turning it off?")
        .await
        .status()
        .is_success());
    let accepted = Receiver::accepted_until(&log, |a| a.len() >= 3).await;
    let mut names = events(&accepted);
    names.sort();
    assert_eq!(
        names,
        [
            "request.created",
            "request.staff_replied",
            "request.status_changed"
        ],
        "one of each, whatever failed on the way"
    );
    for request in &accepted {
        assert!(signed_by(request, &secret), "{request}");
        let body: Value = serde_json::from_str(request["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["event"], request["headers"]["stufe-event"]);
        assert_eq!(body["site"], "demo");
        assert_eq!(body["request"]["id"], local.id.to_string());
        assert_eq!(request["headers"]["content-type"], "application/json");
    }
    let reply = accepted
        .iter()
        .find(|r| r["headers"]["stufe-event"] == "request.staff_replied")
        .unwrap();
    let reply: Value = serde_json::from_str(reply["body"].as_str().unwrap()).unwrap();
    assert_eq!(reply["message"]["body"], "Have you tried turning it off?");
    assert!(
        !signed_by(&accepted[0], "not-the-secret"),
        "the signature depends on the secret"
    );
    let failed = Receiver::requests(&log)
        .iter()
        .filter(|r| r["status"] == 503)
        .count();
    assert_eq!(failed, 2);
    let id = endpoint["id"].as_i64().unwrap();
    let deliveries = delivered(&app, id, 3).await;
    assert_eq!(deliveries.len(), 3);
    let tries: i64 = deliveries
        .iter()
        .map(|d| d["attempts"].as_i64().unwrap())
        .sum();
    assert_eq!(tries, 5, "three deliveries, two tries failed");

    // The receiver is down: the customer's answer waits, tried again and again.
    let (port, log) = receiver.kill();
    let mut client = app.client().await;
    client.open(&mut local, &token).await;
    stufe_shared::ticket::append_message(&mut local.doc, &customer_message("c1", "Yes, twice."))
        .unwrap();
    let frames = client.sync(&mut local).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let waiting = loop {
        assert!(Instant::now() < deadline, "the answer was not tried again");
        let listed = app
            .staff_json(&format!("/api/staff/webhooks/{id}/deliveries?site=demo"))
            .await;
        let newest = listed[0].clone();
        if newest["event"] == "request.customer_replied" && newest["attempts"].as_i64() >= Some(2) {
            break newest;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(waiting["delivered_at"], Value::Null);
    assert!(waiting["next_at"].is_i64(), "{waiting}");
    assert_eq!(waiting["last_error"], "could not connect to the endpoint");

    // Back up on the same address: it arrives, once.
    let receiver = Receiver::start(port, 0, &log);
    let accepted = Receiver::accepted_until(&receiver.log, |a| a.len() >= 4).await;
    assert_eq!(events(&accepted)[3], "request.customer_replied");
    let body: Value = serde_json::from_str(accepted[3]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["message"]["body"], "Yes, twice.");

    // Sent again on request: the same event (same id), signed anew.
    delivered(&app, id, 4).await;
    let delivery = waiting["id"].as_i64().unwrap();
    let resend = app
        .staff_send(
            Method::POST,
            &format!("/api/staff/webhooks/deliveries/{delivery}/resend?site=demo"),
            &json!({}),
        )
        .await;
    assert_eq!(resend.status(), StatusCode::ACCEPTED);
    let accepted = Receiver::accepted_until(&receiver.log, |a| a.len() >= 5).await;
    let again: Value = serde_json::from_str(accepted[4]["body"].as_str().unwrap()).unwrap();
    assert_eq!(again["id"], body["id"]);
    assert!(signed_by(&accepted[4], &secret));
    app.stop().await;
}

#[tokio::test]
async fn queued_deliveries_survive_a_restart_while_the_endpoint_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("received.jsonl");
    // Find a free port for the receiver, then leave it down.
    let (port, log) = Receiver::start(0, 0, &log).kill();
    let app = TestApp::spawn(dir.path()).await;
    add_endpoint(
        &app,
        &format!("http://127.0.0.1:{port}/hook"),
        &["request.created"],
    )
    .await;
    let (local, _) = create_ticket(&app).await;
    app.stop().await;

    let app = TestApp::spawn(dir.path()).await;
    let receiver = Receiver::start(port, 0, &log);
    let accepted = Receiver::accepted_until(&receiver.log, |a| !a.is_empty()).await;
    let body: Value = serde_json::from_str(accepted[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["request"]["id"], local.id.to_string());
    assert_eq!(events(&accepted), ["request.created"]);
    app.stop().await;
}

#[tokio::test]
async fn admins_set_endpoints_up_on_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("received.jsonl");
    let app = TestApp::spawn(dir.path()).await;
    let receiver = Receiver::start(0, 0, &log);
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let (status, site_page) = sam.get("/console/sites/demo").await;
    assert_eq!(status, StatusCode::OK);
    assert!(site_page.contains("/console/sites/demo/webhooks"));

    // A bad URL is refused with the reason; nothing is stored.
    let (status, page) = sam
        .post_page(
            "/console/sites/demo/webhooks",
            &[("url", "ftp://example.com/"), ("events", "request.created")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("must start with https://"), "{page}");
    assert_eq!(
        app.staff_json("/api/staff/webhooks?site=demo").await,
        json!([])
    );

    // Two events chosen: the endpoint gets both, and its secret is shown once.
    let url = receiver.url();
    let (status, page) = sam
        .post_page(
            "/console/sites/demo/webhooks",
            &[
                ("url", url.as_str()),
                ("events", "request.created"),
                ("events", "request.rated"),
                ("format", "json"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let listed = app.staff_json("/api/staff/webhooks?site=demo").await;
    assert_eq!(
        listed[0]["events"],
        json!(["request.created", "request.rated"])
    );
    let secret_at = page
        .find(r#"data-testid="webhook-secret">"#)
        .expect("the secret is shown");
    let secret = &page[secret_at + r#"data-testid="webhook-secret">"#.len()..][..64];
    let (_, again) = sam.get("/console/sites/demo/webhooks").await;
    assert!(!again.contains(secret), "shown only once");

    // Its deliveries show on the page.
    create_ticket(&app).await;
    let accepted = Receiver::accepted_until(&log, |a| !a.is_empty()).await;
    assert!(signed_by(&accepted[0], secret));
    delivered(&app, listed[0]["id"].as_i64().unwrap(), 1).await;
    let (_, page) = sam.get("/console/sites/demo/webhooks").await;
    assert!(
        page.contains("webhook-delivery") && page.contains("delivered"),
        "{page}"
    );

    // Tier 1 staff cannot see the page.
    let tia = log_in(&app, "tia", STAFF_PASSWORD).await.unwrap();
    let (status, _) = tia.get("/console/sites/demo/webhooks").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn two_servers_on_postgresql_deliver_each_event_once_and_one_killed_loses_none() {
    let url = new_postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let a = TestApp::spawn_node(&url, &dir.path().join("a"));
    let b = TestApp::spawn_node(&url, &dir.path().join("b"));
    let log = dir.path().join("received.jsonl");
    // Down at first: the events wait in the shared outbox.
    let (port, log) = Receiver::start(0, 0, &log).kill();
    add_endpoint(
        &a,
        &format!("http://127.0.0.1:{port}/hook"),
        &["request.created"],
    )
    .await;
    let mut created = Vec::new();
    for node in [&a, &b, &a, &b, &a, &b] {
        created.push(create_ticket(node).await.0.id.to_string());
    }
    // Node A dies (SIGKILL) with the events queued; B delivers them all.
    a.kill();
    let receiver = Receiver::start(port, 0, &log);
    Receiver::accepted_until(&receiver.log, |a| a.len() >= created.len()).await;
    // Every delivery recorded as done: no try of any of them is left, so
    // the receiver's log is complete.
    let endpoint = b.staff_json("/api/staff/webhooks?site=demo").await[0]["id"]
        .as_i64()
        .unwrap();
    let deliveries = delivered(&b, endpoint, created.len()).await;
    assert_eq!(deliveries.len(), created.len());
    let accepted: Vec<Value> = Receiver::requests(&receiver.log)
        .into_iter()
        .filter(|r| r["status"] == 200)
        .collect();
    let bodies: Vec<Value> = accepted
        .iter()
        .map(|r| serde_json::from_str(r["body"].as_str().unwrap()).unwrap())
        .collect();
    let ids: std::collections::BTreeSet<String> =
        bodies.iter().map(|b| b["id"].to_string()).collect();
    assert_eq!(
        ids.len(),
        bodies.len(),
        "an event delivered twice: {bodies:#?}"
    );
    let mut requests: Vec<String> = bodies
        .iter()
        .map(|b| b["request"]["id"].as_str().unwrap().to_owned())
        .collect();
    requests.sort();
    created.sort();
    assert_eq!(requests, created);
    b.stop().await;
}
