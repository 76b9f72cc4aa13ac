//! Customers signed in by their site (`identify` with an HS256 JWT): their
//! tickets follow them to every device, nobody else's do, forged and expired
//! tokens are refused, and a site can let only signed-in customers in.

use serde_json::{json, Value};
use stufe_server::identity::sign;
use stufe_shared::protocol::ServerFrame;

use crate::helpers::*;

/// Creates the site `shop` (demo categories); returns its identity secret.
async fn shop(app: &TestApp, identity_required: bool) -> String {
    let mut site = serde_json::to_value(stufe_server::seed::demo_site()).unwrap();
    site["key"] = "shop".into();
    site["identity_required"] = identity_required.into();
    let created: Value = reqwest::Client::new()
        .post(app.url("/api/staff/sites"))
        .bearer_auth(STAFF_TOKEN)
        .json(&site)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["identity_secret"].as_str().unwrap().to_owned()
}

fn token_for(user: &str, secret: &str, expires_in_secs: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    sign(
        &json!({ "sub": user, "name": "Jo Customer", "email": "jo@example.com", "exp": now + expires_in_secs }),
        secret,
    )
}

/// Sends `identify`; the frame the server answered with.
async fn identify(client: &mut Client, token: &str) -> ServerFrame {
    client
        .send_json(json!({ "type": "identify", "token": token }))
        .await;
    client.next_control().await.expect("an answer to identify")
}

fn identified_tickets(frame: &ServerFrame) -> Vec<String> {
    match frame {
        ServerFrame::Identified { tickets, .. } => tickets.clone(),
        other => panic!("not identified: {other:?}"),
    }
}

#[tokio::test]
async fn a_signed_in_customers_tickets_follow_them_to_another_device_and_nobody_else() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let secret = shop(&app, false).await;

    // Laptop: signs in, files a ticket (with its own token, as always).
    let mut laptop = TestApp::client_for(app.addr, "shop").await;
    let answer = identify(&mut laptop, &token_for("u-1", &secret, 600)).await;
    assert_eq!(identified_tickets(&answer), Vec::<String>::new());
    let (id, token) = random_ticket();
    let mut local = LocalDoc::new(id, new_ticket_doc_on(id, "shop"));
    let frames = laptop.open(&mut local, &token).await;
    assert!(last_ack(&frames).is_some(), "{frames:?}");

    // Phone: the same customer, signed in again, sees the ticket and opens it
    // without its token.
    let mut phone = TestApp::client_for(app.addr, "shop").await;
    let answer = identify(&mut phone, &token_for("u-1", &secret, 600)).await;
    assert_eq!(identified_tickets(&answer), vec![id.to_string()]);
    let mut copy = LocalDoc::new(id, automerge::AutoCommit::new());
    let frames = phone.open(&mut copy, "").await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    assert_eq!(read(&copy.doc).subject, "Printer offline");

    // Someone else signed in, and someone not signed in, get nothing.
    let mut other = TestApp::client_for(app.addr, "shop").await;
    let answer = identify(&mut other, &token_for("u-2", &secret, 600)).await;
    assert!(identified_tickets(&answer).is_empty());
    let mut nothing = LocalDoc::new(id, automerge::AutoCommit::new());
    assert_eq!(
        error_codes(&other.open(&mut nothing, "").await),
        ["forbidden"]
    );
    let mut anonymous = TestApp::client_for(app.addr, "shop").await;
    assert_eq!(
        error_codes(&anonymous.open(&mut nothing, "").await),
        ["forbidden"]
    );

    // Staff see who the customer is, as the site vouched for them.
    let listed: Value = app
        .staff_json("/api/staff/tickets?site=shop&customer=u-1")
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(
        listed[0]["customer"],
        json!({ "id": "u-1", "name": "Jo Customer", "email": "jo@example.com" })
    );
    app.stop().await;
}

#[tokio::test]
async fn forged_expired_and_foreign_identities_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let secret = shop(&app, false).await;
    let mut client = TestApp::client_for(app.addr, "shop").await;
    let refused = |frame: ServerFrame| match frame {
        ServerFrame::Error { code, message, .. } => {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                "identity_refused",
                "{message}"
            );
            message
        }
        other => panic!("not refused: {other:?}"),
    };
    let forged = token_for("u-1", "not-the-site-secret", 600);
    assert!(refused(identify(&mut client, &forged).await).contains("signature"));
    let expired = token_for("u-1", &secret, -1);
    assert!(refused(identify(&mut client, &expired).await).contains("expired"));
    assert!(refused(identify(&mut client, "not a token").await).contains("not a JWT"));
    // The demo site's secret does not sign customers of the shop.
    let demo_secret = {
        let storage =
            stufe_server::storage::SqliteStorage::open(&dir.path().join("stufe.sqlite")).unwrap();
        use stufe_server::storage::prelude::*;
        storage
            .site_secret(&"demo".parse().unwrap())
            .unwrap()
            .unwrap()
    };
    let foreign = token_for("u-1", &demo_secret, 600);
    assert!(refused(identify(&mut client, &foreign).await).contains("signature"));

    // Signed in once, a connection does not become someone else.
    identified_tickets(&identify(&mut client, &token_for("u-1", &secret, 600)).await);
    assert!(
        refused(identify(&mut client, &token_for("u-2", &secret, 600)).await)
            .contains("another customer")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_site_that_requires_identity_lets_only_signed_in_customers_open_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let secret = shop(&app, true).await;
    let (id, token) = random_ticket();
    let mut local = LocalDoc::new(id, new_ticket_doc_on(id, "shop"));

    let mut anonymous = TestApp::client_for(app.addr, "shop").await;
    assert_eq!(
        error_codes(&anonymous.open(&mut local, &token).await),
        ["identity_required"]
    );
    // Nothing was created: the ticket id is still free.
    assert!(app
        .staff()
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .find(&id.to_string())
        .is_none());

    let mut signed_in = TestApp::client_for(app.addr, "shop").await;
    identified_tickets(&identify(&mut signed_in, &token_for("u-1", &secret, 600)).await);
    let frames = signed_in.open(&mut local, &token).await;
    assert!(last_ack(&frames).is_some(), "{frames:?}");
    app.stop().await;
}
