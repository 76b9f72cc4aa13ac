//! Links from emails: a signed grant opens its one ticket, as its customer,
//! until it expires; a changed, expired or foreign grant opens nothing.

use stufe_server::links::{grant, KEY_NAME};
use stufe_server::storage::{prelude::*, SqliteStorage};

use crate::helpers::*;

#[tokio::test]
async fn a_grant_from_an_email_opens_its_ticket_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let key = SqliteStorage::open(&dir.path().join("stufe.sqlite"))
        .unwrap()
        .server_secret(KEY_NAME)
        .unwrap();
    let (local, _) = create_ticket(&app).await;
    let (other, _) = create_ticket(&app).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;

    let mut client = app.client().await;
    let mut copy = LocalDoc::new(local.id, automerge::AutoCommit::new());
    let frames = client
        .open(&mut copy, &grant(&key, local.id, now + 600))
        .await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    assert_eq!(read(&copy.doc).subject, "Printer offline");

    let valid = grant(&key, local.id, now + 600);
    // One hex digit of the signature changed (to another digit, whatever it was).
    let last = if valid.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}", &valid[..valid.len() - 1]);
    assert_ne!(tampered, valid);
    for (why, bad) in [
        ("expired", grant(&key, local.id, now - 1)),
        (
            "signed by another key",
            grant("not-the-key", local.id, now + 600),
        ),
        ("changed", tampered),
        ("for another ticket", grant(&key, other.id, now + 600)),
    ] {
        let mut nothing = LocalDoc::new(local.id, automerge::AutoCommit::new());
        let mut client = app.client().await;
        assert_eq!(
            error_codes(&client.open(&mut nothing, &bad).await),
            ["forbidden"],
            "{why}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn staff_revoke_the_links_sent_so_far_and_later_links_work() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let key = SqliteStorage::open(&dir.path().join("stufe.sqlite"))
        .unwrap()
        .server_secret(KEY_NAME)
        .unwrap();
    let (local, _) = create_ticket(&app).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let valid = stufe_server::links::VALID_DAYS * 86_400;
    let sent = grant(&key, local.id, now + valid);
    let opens = |grant: String| {
        let app = &app;
        async move {
            let mut copy = LocalDoc::new(local.id, automerge::AutoCommit::new());
            error_codes(&app.client().await.open(&mut copy, &grant).await)
        }
    };
    assert!(opens(sent.clone()).await.is_empty());

    // Staff revoke them (the API; the console's ticket page has the button).
    let response = app
        .staff_send(
            reqwest::Method::POST,
            &format!("/api/staff/tickets/{}/revoke-links", local.id),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
    assert_eq!(opens(sent).await, ["forbidden"]);
    // A link issued later (the next email's) opens it.
    assert!(opens(grant(&key, local.id, now + 5 + valid))
        .await
        .is_empty());
    let notes = app
        .staff_json(&format!("/api/staff/tickets/{}/notes", local.id))
        .await;
    assert_eq!(notes[0]["change"], "email links revoked", "{notes}");
    app.stop().await;
}
