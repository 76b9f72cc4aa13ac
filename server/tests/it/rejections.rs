//! Everything a customer may not do is refused whole: an error frame names the
//! reason, and nothing of the refused message is stored or forwarded.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ReadDoc, ROOT};
use stufe_shared::protocol::{encode_sync_frame, MAX_FRAME_BYTES};
use stufe_shared::ticket::{self, Author, NewMessage, Status, Tier};
use stufe_shared::DocId;

use crate::helpers::*;

/// After a refusal: the ticket as staff see it is unchanged, a subscriber that
/// was watching did not receive the change, and a fresh client after a restart
/// does not have it either.
async fn assert_refused_change_is_nowhere(
    app: TestApp,
    dir: &std::path::Path,
    watcher: (&mut Client, &mut LocalDoc),
    token: &str,
    refused: ChangeHash,
    expected_status: &str,
) {
    let (client, watched) = watcher;
    client.sync(watched).await;
    assert!(
        watched.doc.get_change_by_hash(&refused).is_none(),
        "refused change was forwarded"
    );
    assert_eq!(
        app.staff_ticket(watched.id).await["status"],
        expected_status
    );
    app.stop().await;
    let app = TestApp::spawn(dir).await;
    let mut fresh = LocalDoc::new(watched.id, AutoCommit::new());
    app.client().await.open(&mut fresh, token).await;
    assert!(read(&fresh.doc).messages.len() <= read(&watched.doc).messages.len());
    assert!(
        fresh.doc.get_change_by_hash(&refused).is_none(),
        "refused change was stored"
    );
    app.stop().await;
}

async fn watcher_for(app: &TestApp, id: stufe_shared::TicketId, token: &str) -> (Client, LocalDoc) {
    let mut client = app.client().await;
    let mut doc = LocalDoc::new(id, AutoCommit::new());
    client.open(&mut doc, token).await;
    (client, doc)
}

/// Makes an edit on an open ticket, syncs it, and returns the refused change's hash.
async fn push_edit(
    app: &TestApp,
    local: &mut LocalDoc,
    token: &str,
    edit: impl FnOnce(&mut AutoCommit),
) -> (ChangeHash, Vec<String>) {
    let mut client = app.client().await;
    client.open(local, token).await;
    edit(&mut local.doc);
    let hash = local.doc.get_heads()[0];
    let frames = client.sync(local).await;
    (hash, error_codes(&frames))
}

#[tokio::test]
async fn a_customer_cannot_change_status() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let (mut wc, mut wd) = watcher_for(&app, local.id, &token).await;
    let (hash, codes) = push_edit(&app, &mut local, &token, |d| {
        ticket::set_status(d, Status::Resolved).unwrap()
    })
    .await;
    assert_eq!(codes, ["rejected_change"]);
    assert_refused_change_is_nowhere(app, dir.path(), (&mut wc, &mut wd), &token, hash, "new")
        .await;
}

#[tokio::test]
async fn a_customer_cannot_change_tier() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let (mut wc, mut wd) = watcher_for(&app, local.id, &token).await;
    let (hash, codes) = push_edit(&app, &mut local, &token, |d| {
        ticket::set_tier(d, Tier::new(3).unwrap()).unwrap()
    })
    .await;
    assert_eq!(codes, ["rejected_change"]);
    assert_refused_change_is_nowhere(app, dir.path(), (&mut wc, &mut wd), &token, hash, "new")
        .await;
}

#[tokio::test]
async fn a_customer_cannot_edit_a_staff_message() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    assert_eq!(
        app.staff_reply(local.id, "Your refund is declined.")
            .await
            .status(),
        200
    );
    let (mut wc, mut wd) = watcher_for(&app, local.id, &token).await;
    let (hash, codes) = push_edit(&app, &mut local, &token, |d| {
        let (_, list) = d.get(ROOT, "messages").unwrap().unwrap();
        let (_, message) = d.get(&list, 0).unwrap().unwrap();
        let (_, body) = d.get(&message, "body").unwrap().unwrap();
        d.splice_text(&body, 18, 0, " not").unwrap();
    })
    .await;
    assert_eq!(codes, ["rejected_change"]);
    assert_eq!(
        app.staff_ticket(local.id).await["messages"][0]["body"],
        "Your refund is declined."
    );
    assert_refused_change_is_nowhere(app, dir.path(), (&mut wc, &mut wd), &token, hash, "open")
        .await;
}

#[tokio::test]
async fn a_reply_cannot_reuse_an_earlier_message_id() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    assert_eq!(
        app.staff_reply(local.id, "Which model?").await.status(),
        200
    );
    let (mut wc, mut wd) = watcher_for(&app, local.id, &token).await;
    let (hash, codes) = push_edit(&app, &mut local, &token, |d| {
        let (_, list) = d.get(ROOT, "messages").unwrap().unwrap();
        let (_, first) = d.get(&list, 0).unwrap().unwrap();
        let (taken, _) = d.get(&first, "id").unwrap().unwrap();
        let taken = taken.to_str().unwrap().to_owned();
        ticket::append_message(
            d,
            &NewMessage {
                id: taken,
                author: Author::Customer,
                name: "Ada".into(),
                body: "The LaserJet 4.".into(),
                at: 1_700_000_000_000,
            },
        )
        .unwrap();
    })
    .await;
    assert_eq!(codes, ["rejected_change"]);
    assert_eq!(
        app.staff_ticket(local.id).await["messages"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_refused_change_is_nowhere(app, dir.path(), (&mut wc, &mut wd), &token, hash, "open")
        .await;
}

#[tokio::test]
async fn a_customer_cannot_write_as_staff_or_add_unknown_fields() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let (mut wc, mut wd) = watcher_for(&app, local.id, &token).await;
    let (forged, codes) = push_edit(&app, &mut local, &token, |d| {
        let message = NewMessage {
            id: "x".into(),
            author: Author::Staff,
            name: "Support".into(),
            body: "Refund approved".into(),
            at: 1,
        };
        ticket::append_message(d, &message).unwrap();
    })
    .await;
    assert_eq!(codes, ["rejected_change"]);
    let (mut other, _) = (LocalDoc::new(local.id, AutoCommit::new()), ());
    let (injected, codes) = push_edit(&app, &mut other, &token, |d| {
        d.put(ROOT, "is_vip", true).unwrap()
    })
    .await;
    assert_eq!(codes, ["rejected_change"]);
    wc.sync(&mut wd).await;
    assert!(wd.doc.get_change_by_hash(&injected).is_none());
    assert_refused_change_is_nowhere(app, dir.path(), (&mut wc, &mut wd), &token, forged, "new")
        .await;
}

#[tokio::test]
async fn a_new_ticket_cannot_start_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (id, token) = random_ticket();
    let mut doc = new_ticket_doc(id);
    ticket::set_status(&mut doc, Status::Resolved).unwrap();
    let mut local = LocalDoc::new(id, doc);
    let frames = app.client().await.open(&mut local, &token).await;
    let codes = error_codes(&frames);
    // The refusal closes the document on this connection: a stock client that
    // offers the change once more gets `not_open`, and then both sides are quiet.
    assert_eq!(
        codes.first().map(String::as_str),
        Some("rejected_change"),
        "{codes:?}"
    );
    assert!(
        codes[1..].iter().all(|c| c == "not_open") && codes.len() <= 2,
        "{codes:?}"
    );
    assert!(last_ack(&frames).is_none(), "nothing was acked");
    let response = reqwest::Client::new()
        .get(app.url(&format!("/api/staff/tickets/{id}")))
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "nothing was stored");
    app.stop().await;
}

#[tokio::test]
async fn a_ticket_cannot_be_synced_without_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, token) = create_ticket(&app).await;
    let (mut wc, mut wd) = watcher_for(&app, local.id, &token).await;

    let mut thief = app.client().await;
    let mut stolen = LocalDoc::new(local.id, AutoCommit::new());
    let (_, wrong_token) = random_ticket();
    let frames = thief.open(&mut stolen, &wrong_token).await;
    assert_eq!(error_codes(&frames), ["forbidden"]);
    assert_eq!(stolen.doc.length(ROOT), 0, "nothing of the ticket was sent");

    // Sync frames for a document that was never opened are refused too.
    let mut forged = local.doc.clone();
    ticket::set_status(&mut forged, Status::Closed).unwrap();
    let refused = forged.get_heads()[0];
    let mut forged = LocalDoc::new(local.id, forged);
    let frames = thief.sync(&mut forged).await;
    assert_eq!(error_codes(&frames), ["not_open"]);
    assert_refused_change_is_nowhere(app, dir.path(), (&mut wc, &mut wd), &token, refused, "new")
        .await;
}

#[tokio::test]
async fn oversized_and_garbage_frames_get_clear_errors_and_the_socket_lives_on() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, token) = create_ticket(&app).await;
    let doc = DocId::Ticket(local.id);
    let mut client = app.client().await;
    let mut mine = LocalDoc::new(local.id, AutoCommit::new());
    client.open(&mut mine, &token).await;
    let heads_before = mine.doc.get_heads();

    client
        .send_binary(encode_sync_frame(&doc, &vec![0x42; MAX_FRAME_BYTES + 1]))
        .await;
    assert_eq!(
        error_codes(&[client.next_control().await.unwrap()]),
        ["frame_too_large"]
    );

    client
        .send_binary(encode_sync_frame(&doc, b"\x42not a sync message at all"))
        .await;
    assert_eq!(
        error_codes(&[client.next_control().await.unwrap()]),
        ["invalid_sync_message"]
    );

    client.send_binary(b"\xffgarbage".to_vec()).await;
    assert_eq!(
        error_codes(&[client.next_control().await.unwrap()]),
        ["bad_frame"]
    );

    client
        .send_json(serde_json::json!({ "type": "open", "doc": "ticket:nope" }))
        .await;
    assert_eq!(
        error_codes(&[client.next_control().await.unwrap()]),
        ["bad_frame"]
    );

    client
        .send_json(serde_json::json!([{ "type": "open", "doc": doc.to_string() }]))
        .await;
    assert_eq!(
        error_codes(&[client.next_control().await.unwrap()]),
        ["bad_frame"],
        "a JSON array is not a control frame"
    );

    // The connection still works and the ticket is unchanged.
    let frames = client.sync(&mut mine).await;
    assert!(error_codes(&frames).is_empty());
    let mut fresh = LocalDoc::new(local.id, AutoCommit::new());
    app.client().await.open(&mut fresh, &token).await;
    assert_eq!(fresh.doc.get_heads(), heads_before);
    app.stop().await;
}

/// Messages the socket layer cannot take end the connection with the close
/// code that says why, not with a dropped TCP connection.
#[tokio::test]
async fn unreadable_messages_close_with_a_code_that_says_why() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::Message;

    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    async fn close_code(client: &mut Client) -> Option<CloseCode> {
        loop {
            match client.ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    }

    let mut huge = app.client().await;
    huge.ws
        .send(Message::Binary(vec![0u8; 1_200_000].into()))
        .await
        .unwrap();
    assert_eq!(close_code(&mut huge).await, Some(CloseCode::Size));

    let mut garbled = app.client().await;
    let frame = Frame::message(vec![0xff, 0xfe, 0x41], OpCode::Data(Data::Text), true);
    garbled.ws.send(Message::Frame(frame)).await.unwrap();
    assert_eq!(close_code(&mut garbled).await, Some(CloseCode::Invalid));
    app.stop().await;
}
