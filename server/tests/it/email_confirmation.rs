//! Email only to confirmed addresses: a new request with an address gets one
//! confirmation email (nothing the customer wrote in it); replies are mailed
//! only after the link in it was followed and its button pressed, or at once
//! when the customer is signed in with that address. The outbox is read from
//! the SQLite file (the SMTP server is unreachable, so mail stays queued).

use reqwest::StatusCode;
use serde_json::json;
use stufe_server::identity::sign;
use stufe_shared::protocol::ServerFrame;

use crate::helpers::*;

/// A server whose mail stays in the outbox (its SMTP server does not answer).
pub(crate) async fn mailing_app(dir: &std::path::Path) -> TestApp {
    TestApp::spawn_with(dir, |config| {
        config.smtp_url = Some("smtp://127.0.0.1:9".into());
        config.mail_retry = std::time::Duration::from_secs(3_600);
    })
    .await
}

/// The outbox: (to, subject, body), oldest first.
pub(crate) fn outbox(dir: &std::path::Path) -> Vec<(String, String, String)> {
    let db = rusqlite::Connection::open(dir.join("stufe.sqlite")).unwrap();
    let mut stmt = db
        .prepare("SELECT to_addr, subject, body FROM outbox ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The outbox without the demo data's mail.
pub(crate) fn mail_to(dir: &std::path::Path, to: &str) -> Vec<(String, String, String)> {
    outbox(dir).into_iter().filter(|m| m.0 == to).collect()
}

pub(crate) fn link_in(body: &str) -> String {
    body.split_whitespace()
        .find(|w| w.starts_with("http"))
        .expect("a link in the email")
        .to_owned()
}

/// The path and token of a confirmation link.
pub(crate) fn confirm_parts(link: &str) -> (String, String) {
    let path = link
        .split_once("/email/")
        .map(|(_, p)| format!("/email/{p}"))
        .unwrap();
    let (path, token) = path.split_once("?token=").unwrap();
    (path.to_owned(), token.to_owned())
}

pub(crate) async fn press_confirm(app: &TestApp, path: &str, token: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(app.url(path))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn replies_are_emailed_only_after_the_customer_confirmed_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let app = mailing_app(dir.path()).await;
    let (local, _) = create_ticket(&app).await;

    // The ack came after the confirmation email was queued.
    let mails = mail_to(dir.path(), "ada@example.com");
    assert_eq!(mails.len(), 1, "{mails:?}");
    let (_, subject, body) = &mails[0];
    assert!(subject.contains("confirm"), "{subject}");
    for theirs in ["Printer offline", "It blinks red."] {
        assert!(
            !subject.contains(theirs) && !body.contains(theirs),
            "{body}"
        );
    }

    // Not confirmed: a staff reply reaches the widget, not the mailbox.
    assert!(app
        .staff_reply(local.id, "Please restart it.")
        .await
        .status()
        .is_success());
    assert_eq!(mail_to(dir.path(), "ada@example.com").len(), 1);

    // Opening the link changes nothing (mail scanners open links) …
    let (path, token) = confirm_parts(&link_in(body));
    let page = reqwest::get(app.url(&format!("{path}?token={token}")))
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("data-testid=\"confirm-email\""));
    assert!(app
        .staff_reply(local.id, "Still there?")
        .await
        .status()
        .is_success());
    assert_eq!(mail_to(dir.path(), "ada@example.com").len(), 1);

    // … a changed token confirms nothing …
    let last = if token.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}", &token[..token.len() - 1]);
    let (status, page) = press_confirm(&app, &path, &tampered).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("confirm-invalid"), "{page}");
    assert!(app
        .staff_reply(local.id, "Hello?")
        .await
        .status()
        .is_success());
    assert_eq!(mail_to(dir.path(), "ada@example.com").len(), 1);

    // … pressing the button does; the next reply is emailed.
    let (status, page) = press_confirm(&app, &path, &token).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("email-confirmed"), "{page}");
    assert!(app
        .staff_reply(local.id, "It is fixed now.")
        .await
        .status()
        .is_success());
    let mails = mail_to(dir.path(), "ada@example.com");
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(mails[1].1, "Re: Printer offline");
    assert!(mails[1].2.contains("It is fixed now."));

    // The token confirms only the ticket it was made for.
    let (other, _) = create_ticket(&app).await;
    let foreign = path.replace(&local.id.to_string(), &other.id.to_string());
    assert_eq!(
        press_confirm(&app, &foreign, &token).await.0,
        StatusCode::BAD_REQUEST
    );
    app.stop().await;
}

#[tokio::test]
async fn an_address_with_a_display_name_or_a_list_is_refused_and_nothing_is_mailed() {
    let dir = tempfile::tempdir().unwrap();
    let app = mailing_app(dir.path()).await;
    for email in [
        "Bank Support <victim@example.com>",
        "victim@example.com, other@example.com",
    ] {
        let (id, token) = random_ticket();
        let doc = ticket_doc_with(id, "Your account is locked", "x", Some(email));
        let mut local = LocalDoc::new(id, doc);
        let mut client = app.client().await;
        assert_eq!(
            error_codes(&client.open(&mut local, &token).await),
            ["rejected_change"],
            "{email}"
        );
    }
    assert!(
        outbox(dir.path()).iter().all(|m| !m.0.contains("victim")),
        "{:?}",
        outbox(dir.path())
    );
    app.stop().await;
}

#[tokio::test]
async fn a_customer_signed_in_with_the_address_gets_replies_without_confirming() {
    let dir = tempfile::tempdir().unwrap();
    let app = mailing_app(dir.path()).await;
    let mut site = serde_json::to_value(stufe_server::seed::demo_site()).unwrap();
    site["key"] = "shop".into();
    let created: serde_json::Value = app
        .staff_send(reqwest::Method::POST, "/api/staff/sites", &site)
        .await
        .json()
        .await
        .unwrap();
    let secret = created["identity_secret"].as_str().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // The new ticket's address (ada@example.com) is the one the site vouches for.
    let identity = sign(
        &json!({ "sub": "u-7", "email": "Ada@example.com", "exp": now + 600 }),
        secret,
    );
    let mut client = TestApp::client_for(app.addr, "shop").await;
    client
        .send_json(json!({ "type": "identify", "token": identity }))
        .await;
    assert!(matches!(
        client.next_control().await,
        Some(ServerFrame::Identified { .. })
    ));
    let (id, token) = random_ticket();
    let mut local = LocalDoc::new(id, new_ticket_doc_on(id, "shop"));
    let frames = client.open(&mut local, &token).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    assert!(last_ack(&frames).is_some(), "{frames:?}");
    assert!(
        mail_to(dir.path(), "ada@example.com").is_empty(),
        "no confirmation needed"
    );
    assert!(app
        .staff_reply(id, "Here is your answer.")
        .await
        .status()
        .is_success());
    let mails = mail_to(dir.path(), "ada@example.com");
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].1, "Re: Printer offline");
    app.stop().await;
}

#[tokio::test]
async fn one_address_gets_a_few_confirmation_emails_a_day_however_many_requests_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = mailing_app(dir.path()).await;
    for _ in 0..6 {
        create_ticket(&app).await;
    }
    assert_eq!(
        mail_to(dir.path(), "ada@example.com").len(),
        stufe_server::limits::CONFIRMATIONS_PER_RECIPIENT_DAY as usize
    );
    app.stop().await;
}
