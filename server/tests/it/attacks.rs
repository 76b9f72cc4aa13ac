//! What an attacker (or a flood) meets: throttled logins, console forms and
//! cookie sessions that cannot be driven from other pages, limits on new
//! tickets and open sockets, and sync messages the server asks about instead
//! of refusing, or refuses clearly. Real HTTP and WebSocket clients.

use automerge::sync::{self, SyncDoc};
use reqwest::header::{COOKIE, ORIGIN, RETRY_AFTER};
use reqwest::StatusCode;
use stufe_shared::protocol::{encode_sync_frame, ServerFrame};
use stufe_shared::ticket;
use stufe_shared::DocId;

use crate::helpers::*;

/// Sends the stock client's next sync message for `local` with `changes`
/// in place of the changes it carries; the client does not count `left_out`
/// as sent (as when the server's bloom filter claimed them).
async fn send_with_changes(
    client: &mut Client,
    local: &mut LocalDoc,
    changes: Vec<Vec<u8>>,
    left_out: &[automerge::ChangeHash],
) {
    let mut message = local
        .doc
        .sync()
        .generate_sync_message(&mut local.peer)
        .unwrap();
    for hash in left_out {
        local.peer.sent_hashes.remove(hash);
    }
    message.changes = sync::ChunkList::from(changes);
    client
        .send_binary(encode_sync_frame(
            &DocId::Ticket(local.id),
            &message.encode(),
        ))
        .await;
}

/// The bytes of the newest change of `local`.
fn head_change(local: &mut LocalDoc) -> Vec<u8> {
    let head = local.doc.get_heads()[0];
    local
        .doc
        .get_change_by_hash(&head)
        .unwrap()
        .raw_bytes()
        .to_vec()
}

#[tokio::test]
async fn wrong_passwords_lock_the_login_even_against_the_right_one_and_not_other_logins() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    for _ in 0..5 {
        assert_eq!(
            log_in(&app, "sam", "wrong").await.err(),
            Some(StatusCode::UNAUTHORIZED)
        );
    }
    // The sixth failure locks the login for a second, the next for two …
    assert_eq!(
        log_in(&app, "sam", "wrong").await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (cookie, token) = login_page(&http, &app).await;
    let locked = http
        .post(app.url("/console/login"))
        .header(COOKIE, &cookie)
        .form(&[
            ("login", "sam"),
            ("password", STAFF_PASSWORD),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = locked.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    assert!(locked
        .text()
        .await
        .unwrap()
        .contains("Too many failed logins"));
    // Another agent from the same address is not affected.
    assert!(log_in(&app, "tia", STAFF_PASSWORD).await.is_ok());
    // Once the window has passed, the right password works and clears the count.
    tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
    assert!(log_in(&app, "sam", STAFF_PASSWORD).await.is_ok());
    assert_eq!(
        log_in(&app, "sam", "wrong").await.err(),
        Some(StatusCode::UNAUTHORIZED),
        "a fresh count after the right password"
    );
    app.stop().await;
}

#[tokio::test]
async fn console_forms_without_their_token_or_from_another_origin_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, _) = create_ticket(&app).await;
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let update = format!("/console/tickets/{}/update", local.id);
    let fields = [
        ("body", "forged reply"),
        ("status", "closed"),
        ("tier", "3"),
    ];
    let post = |form: Vec<(&'static str, String)>, headers: Vec<(&'static str, &'static str)>| {
        let mut request = sam
            .http
            .post(app.url(&update))
            .header(COOKIE, &sam.cookie)
            .form(&form);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let plain: Vec<_> = fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    let mut with_token = plain.clone();
    with_token.push(("csrf", sam.csrf.clone()));
    let mut wrong_token = plain.clone();
    wrong_token.push(("csrf", "00".repeat(32)));
    let refused = [
        (plain.clone(), vec![]),
        (wrong_token, vec![]),
        (with_token.clone(), vec![("sec-fetch-site", "same-site")]),
        (with_token.clone(), vec![("origin", "http://127.0.0.1:1")]),
    ];
    for (form, headers) in refused {
        let response = post(form, headers.clone()).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("nothing was changed"));
    }
    let ticket = app.staff_ticket(local.id).await;
    assert_eq!(ticket["status"], "new");
    assert!(!ticket.to_string().contains("forged reply"));

    // The console's own page, with its token and from its origin, works.
    let origin = app.url("");
    let origin = origin.trim_end_matches('/');
    let response = sam
        .http
        .post(app.url(&update))
        .header(COOKIE, &sam.cookie)
        .header(ORIGIN, origin)
        .header("sec-fetch-site", "same-origin")
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.staff_ticket(local.id).await["status"], "closed");
    app.stop().await;
}

#[tokio::test]
async fn a_cookie_session_changes_nothing_through_the_api_from_another_origin() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, _) = create_ticket(&app).await;
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let path = app.url(&format!("/api/staff/tickets/{}", local.id));
    for (name, value) in [
        ("origin", "http://127.0.0.1:1"),
        ("sec-fetch-site", "same-site"),
    ] {
        let response = sam
            .http
            .patch(&path)
            .header(COOKIE, &sam.cookie)
            .header(name, value)
            .json(&serde_json::json!({ "status": "closed" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}: {value}");
    }
    assert_eq!(app.staff_ticket(local.id).await["status"], "new");
    // Reading with the cookie, and changing with a bearer token, still work.
    let read = sam
        .http
        .get(&path)
        .header(COOKIE, &sam.cookie)
        .header("sec-fetch-site", "same-site")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let patched = app
        .staff_patch(local.id, serde_json::json!({ "status": "open" }))
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn new_tickets_beyond_an_address_limit_are_refused_and_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(dir.path(), |config| {
        config.limits.tickets_per_address_hour = 2;
    })
    .await;
    create_ticket(&app).await;
    let (second, token) = create_ticket(&app).await;
    let (id, third_token) = random_ticket();
    let mut third = LocalDoc::new(id, new_ticket_doc(id));
    let mut client = app.client().await;
    let frames = client.open(&mut third, &third_token).await;
    let refusal = frames.iter().find_map(|frame| match frame {
        ServerFrame::Error { doc, message, .. } => Some((doc.clone(), message.clone())),
        _ => None,
    });
    assert_eq!(error_codes(&frames), ["rate_limited"], "{frames:?}");
    let (doc, message) = refusal.unwrap();
    assert_eq!(doc, Some(DocId::Ticket(id).to_string()));
    assert!(message.contains("try again in"), "{message}");
    let stored = reqwest::Client::new()
        .get(app.url(&format!("/api/staff/tickets/{id}")))
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), StatusCode::NOT_FOUND, "nothing stored");
    // Replies to existing tickets are not new tickets.
    let mut second = second;
    let mut writer = app.client().await;
    writer.open(&mut second, &token).await;
    ticket::append_message(&mut second.doc, &customer_message("c1", "Still red.")).unwrap();
    let frames = writer.sync(&mut second).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    app.stop().await;
}

#[tokio::test]
async fn sockets_beyond_an_address_limit_are_refused_until_one_closes() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(dir.path(), |config| {
        config.limits.sockets_per_address = 2;
    })
    .await;
    let first = app.client().await;
    let _second = app.client().await;
    let url = format!("ws://{}/ws?site=demo", app.addr);
    match tokio_tungstenite::connect_async(&url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        }
        other => panic!("a third socket was not refused: {:?}", other.map(|_| ())),
    }
    drop(first);
    // The server counts the socket until its session has ended.
    let started = std::time::Instant::now();
    loop {
        if tokio_tungstenite::connect_async(&url).await.is_ok() {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the closed socket is still counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.stop().await;
}

/// The stock client left out a change the server's bloom filter falsely
/// claimed (about 1 in 100 per change), and sent the change built on it.
/// The server asks for the missing one (`need`) and commits both.
#[tokio::test]
async fn a_change_whose_dependency_a_bloom_filter_hid_is_asked_for_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let mut client = app.client().await;
    client.open(&mut local, &token).await;
    ticket::append_message(&mut local.doc, &customer_message("c1", "First reply")).unwrap();
    local.doc.commit();
    let first = local.doc.get_heads()[0];
    ticket::append_message(
        &mut local.doc,
        &customer_message("c2", "Second reply, 10 ms later"),
    )
    .unwrap();
    local.doc.commit();
    // What the client's Automerge sends when the server's bloom filter claims
    // the first change: only the second, and it never counts the first as sent.
    let second = head_change(&mut local);
    send_with_changes(&mut client, &mut local, vec![second], &[first]).await;
    let frames = client.sync(&mut local).await;
    assert!(error_codes(&frames).is_empty(), "refused: {frames:?}");
    let acked = last_ack(&frames).expect("both replies acked");
    assert!(acked_everything(&mut local.doc, &acked), "{acked:?}");
    let stored = app.staff_ticket(local.id).await.to_string();
    assert!(
        stored.contains("First reply") && stored.contains("Second reply"),
        "{stored}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_sync_message_with_a_corrupted_change_checksum_is_answered_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let mut client = app.client().await;
    client.open(&mut local, &token).await;
    ticket::append_message(
        &mut local.doc,
        &customer_message("c1", "Corrupted on the way"),
    )
    .unwrap();
    local.doc.commit();
    let mut change = head_change(&mut local);
    change[5] ^= 0xff; // a checksum byte
    send_with_changes(&mut client, &mut local, vec![change], &[]).await;
    let answer = client.next_control().await;
    assert!(
        matches!(
            &answer,
            Some(ServerFrame::Error { code, message, .. })
                if serde_json::to_value(code).unwrap() == "invalid_sync_message"
                    && message.contains("checksum")
        ),
        "{answer:?}"
    );
    assert!(!app
        .staff_ticket(local.id)
        .await
        .to_string()
        .contains("Corrupted"));
    app.stop().await;
}

/// A change that makes Automerge's own parser panic (an op counter beyond
/// u32; found by `cargo xtask fuzz`, kept in the corpus) is refused like any
/// broken message, and the connection goes on working.
#[tokio::test]
async fn a_change_that_panics_automerges_parser_is_refused_and_the_connection_lives() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let mut client = app.client().await;
    client.open(&mut local, &token).await;
    let message = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/corpus/regress-op-counter-overflow.sync"),
    )
    .unwrap();
    client
        .send_binary(encode_sync_frame(&DocId::Ticket(local.id), &message))
        .await;
    let answer = client.next_control().await;
    assert!(
        matches!(
            &answer,
            Some(ServerFrame::Error { code, .. })
                if serde_json::to_value(code).unwrap() == "invalid_sync_message"
        ),
        "{answer:?}"
    );
    // The same connection still syncs a valid reply.
    let frames = client.open(&mut local, &token).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    ticket::append_message(&mut local.doc, &customer_message("c2", "Still here")).unwrap();
    local.doc.commit();
    let frames = client.sync(&mut local).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    assert!(last_ack(&frames).is_some(), "{frames:?}");
    assert!(app
        .staff_ticket(local.id)
        .await
        .to_string()
        .contains("Still here"));
    app.stop().await;
}
