//! The gate's back doors, each as a hostile or unlucky client meets it:
//! orphaned changes, a borrowed server actor, concurrent replies in every
//! actor order, and what happens after a refusal.

use automerge::sync::{self, ChunkList, MessageVersion};
use automerge::{ActorId, AutoCommit, ReadDoc};
use stufe_shared::protocol::encode_sync_frame;
use stufe_shared::ticket::{self, Author, NewMessage, Tier};
use stufe_shared::DocId;

use crate::helpers::*;

fn reply(id: &str, author: Author, body: &str) -> NewMessage {
    NewMessage {
        id: id.into(),
        author,
        name: "Ada".into(),
        body: body.into(),
        at: 1,
    }
}

/// A sync message carrying exactly these changes (as a hostile client would build it).
fn message_with(doc: &mut AutoCommit, changes: Vec<Vec<u8>>) -> Vec<u8> {
    sync::Message {
        heads: doc.get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: ChunkList::from(changes),
        supported_capabilities: None,
        version: MessageVersion::V1,
    }
    .encode()
}

/// A valid reply plus a change whose dependency the server does not have
/// (forbidden edits built on a change held back): the server stores nothing
/// and asks for the missing change (`need`); sent, it is checked with the
/// rest and the message is refused whole; nothing is applied later when the
/// ticket is reloaded.
#[tokio::test]
async fn orphaned_changes_are_refused_whole_and_never_applied_later() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let mut client = app.client().await;
    client.open(&mut local, &token).await;

    let mut valid = local.doc.fork();
    ticket::append_message(&mut valid, &reply("ok1", Author::Customer, "Any news?")).unwrap();
    let valid_change = valid.get_last_local_change().unwrap().raw_bytes().to_vec();

    let mut hidden = local.doc.fork();
    ticket::set_tier(&mut hidden, Tier::new(3).unwrap()).unwrap();
    let parent = hidden.get_heads()[0]; // held back at first
    ticket::append_message(
        &mut hidden,
        &reply("evil", Author::Staff, "Refund of 500 EUR approved"),
    )
    .unwrap();
    let orphan = hidden.get_last_local_change().unwrap().raw_bytes().to_vec();

    let message = message_with(&mut hidden, vec![valid_change, orphan]);
    client
        .send_binary(encode_sync_frame(&DocId::Ticket(local.id), &message))
        .await;
    // Nothing can be checked yet: the server asks for the parent.
    let asked = loop {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        match tokio::time::timeout(std::time::Duration::from_secs(10), client.ws.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => break bytes,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            other => panic!("expected the server to ask for the parent, got {other:?}"),
        }
    };
    let asked = stufe_shared::protocol::SyncFrame::decode(&asked).unwrap();
    let asked = sync::Message::decode(&asked.message).unwrap();
    assert_eq!(asked.need, [parent]);
    // Sent, the parent (a tier change no customer may make) is checked with
    // the waiting changes, and all of them are refused.
    let parent_change = hidden
        .get_change_by_hash(&parent)
        .unwrap()
        .raw_bytes()
        .to_vec();
    let message = message_with(&mut hidden, vec![parent_change]);
    client
        .send_binary(encode_sync_frame(&DocId::Ticket(local.id), &message))
        .await;
    let mut codes = Vec::new();
    while let Some(frame) = client.next_control().await {
        codes.extend(error_codes(&[frame]));
    }
    assert_eq!(codes, ["rejected_change"]);

    // A staff change afterwards, then a restart: the ticket loads, and neither
    // the valid reply of the refused message nor the orphan is anywhere.
    assert_eq!(
        app.staff_reply(local.id, "We are on it").await.status(),
        200
    );
    app.stop().await;
    let app = TestApp::spawn(dir.path()).await;
    let staff_view = app.staff_ticket(local.id).await;
    assert_eq!(staff_view["tier"], 1);
    let bodies: Vec<&str> = staff_view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["We are on it"]);
    app.stop().await;
}

/// Server changes carry a fresh actor and a real time, so a client can
/// neither predict their hashes nor take their sequence numbers first.
#[tokio::test]
async fn a_client_using_the_servers_actor_cannot_break_the_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let mut client = app.client().await;
    client.open(&mut local, &token).await;
    // The server's SLA stamp is the newest change; write the next change under its actor.
    let heads = local.doc.get_heads();
    let stamp = local.doc.get_change_by_hash(&heads[0]).unwrap().clone();
    assert_ne!(stamp.timestamp(), 0, "server changes carry their time");
    let server_actor = stamp.actor_id().clone();
    local.doc.set_actor(server_actor.clone());
    ticket::append_message(&mut local.doc, &reply("m1", Author::Customer, "Hello")).unwrap();
    let frames = client.sync(&mut local).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");

    for n in 0..3 {
        let response = app.staff_reply(local.id, &format!("Staff reply {n}")).await;
        assert_eq!(response.status(), 200);
    }
    client.sync(&mut local).await;
    let staff_actors: Vec<ActorId> = local
        .doc
        .get_changes(&heads)
        .iter()
        .filter(|c| c.actor_id() != &server_actor)
        .map(|c| c.actor_id().clone())
        .collect();
    assert_eq!(staff_actors.len(), 3);
    assert!(
        staff_actors[0] != staff_actors[1] && staff_actors[1] != staff_actors[2],
        "each server change has its own actor"
    );
    app.stop().await;
    let app = TestApp::spawn(dir.path()).await;
    assert_eq!(
        app.staff_ticket(local.id).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        app.staff_reply(local.id, "After restart").await.status(),
        200
    );
    app.stop().await;
}

/// A staff reply and an offline customer reply are concurrent inserts; so are
/// replies from the same customer on two devices. Whatever order Automerge
/// gives them (it orders by actor id), both are kept.
#[tokio::test]
async fn concurrent_replies_merge_whatever_the_actor_order() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    for actor_byte in [0x00u8, 0x7f, 0xff] {
        let (mut device, token) = create_ticket(&app).await;
        device.doc.set_actor(ActorId::from(vec![actor_byte; 16]));
        let mut online = app.client().await;
        online.open(&mut device, &token).await;

        // Offline: the customer replies while staff reply.
        ticket::append_message(
            &mut device.doc,
            &reply("c1", Author::Customer, "Offline reply"),
        )
        .unwrap();
        assert_eq!(
            app.staff_reply(device.id, "Staff reply").await.status(),
            200
        );
        let mut back = app.client().await;
        device.peer = sync::State::new();
        let frames = back.open(&mut device, &token).await;
        assert!(
            error_codes(&frames).is_empty(),
            "{actor_byte:#x}: {frames:?}"
        );
        let acked = last_ack(&frames).expect("merged and acked");
        assert!(
            acked_everything(&mut device.doc, &acked),
            "both replies are committed: {acked:?}"
        );

        // Two devices of the same customer reply at once.
        let mut second = LocalDoc::new(device.id, AutoCommit::new());
        second
            .doc
            .set_actor(ActorId::from(vec![actor_byte ^ 0xff; 16]));
        let mut second_client = app.client().await;
        second_client.open(&mut second, &token).await;
        ticket::append_message(
            &mut device.doc,
            &reply("d1", Author::Customer, "From phone"),
        )
        .unwrap();
        ticket::append_message(
            &mut second.doc,
            &reply("d2", Author::Customer, "From laptop"),
        )
        .unwrap();
        assert!(error_codes(&back.sync(&mut device).await).is_empty());
        assert!(error_codes(&second_client.sync(&mut second).await).is_empty());

        let staff_view = app.staff_ticket(device.id).await;
        let mut bodies: Vec<&str> = staff_view["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap())
            .collect();
        bodies.sort_unstable();
        assert_eq!(
            bodies,
            ["From laptop", "From phone", "Offline reply", "Staff reply"],
            "actor {actor_byte:#x}"
        );
    }
    app.stop().await;
}

/// After a refusal the document is closed on the connection: offering the
/// refused change again gets one `not_open` and no sync traffic, and opening
/// again with a copy of the server's state works.
#[tokio::test]
async fn a_refusal_closes_the_document_and_starts_no_storm() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let mut client = app.client().await;
    client.open(&mut local, &token).await;
    let mut forged = local.doc.clone();
    ticket::set_tier(&mut forged, Tier::new(3).unwrap()).unwrap();
    let mut forged = LocalDoc::new(local.id, forged);
    forged.peer = local.peer.clone();
    let frames = client.sync(&mut forged).await;
    assert_eq!(error_codes(&frames)[0], "rejected_change");

    // A stock client would offer the change again: it is not answered with sync traffic.
    forged.peer = sync::State::new();
    let message = {
        use automerge::sync::SyncDoc;
        forged
            .doc
            .sync()
            .generate_sync_message(&mut forged.peer)
            .unwrap()
    };
    client
        .send_binary(encode_sync_frame(
            &DocId::Ticket(local.id),
            &message.encode(),
        ))
        .await;
    let mut codes = Vec::new();
    while let Some(frame) = client.next_control().await {
        codes.extend(error_codes(&[frame]));
    }
    assert_eq!(codes, ["not_open"]);

    // Opening again, from the acknowledged state, works on the same connection.
    let mut fresh = LocalDoc::new(local.id, local.doc.clone());
    let frames = client.open(&mut fresh, &token).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    assert_eq!(read(&fresh.doc).tier.get(), 1);
    ticket::append_message(&mut fresh.doc, &reply("after", Author::Customer, "Thanks")).unwrap();
    let frames = client.sync(&mut fresh).await;
    assert!(error_codes(&frames).is_empty() && last_ack(&frames).is_some());
    app.stop().await;
}

/// Deleting and re-creating the message list (or the subject text) with the
/// same content looks harmless but would drop concurrent staff replies: refused.
#[tokio::test]
async fn replacing_the_message_list_or_subject_with_a_copy_is_refused() {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT};
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    assert_eq!(app.staff_reply(local.id, "Staff reply").await.status(), 200);
    let mut client = app.client().await;
    client.open(&mut local, &token).await;
    let before = read(&local.doc);

    let mut copy = local.doc.fork();
    let list = copy.put_object(ROOT, "messages", ObjType::List).unwrap();
    for (i, m) in before.messages.iter().enumerate() {
        let obj = copy.insert_object(&list, i, ObjType::Map).unwrap();
        copy.put(&obj, "id", m.id.as_str()).unwrap();
        copy.put(&obj, "author", m.author.as_str()).unwrap();
        copy.put(&obj, "name", m.name.as_str()).unwrap();
        let body = copy.put_object(&obj, "body", ObjType::Text).unwrap();
        copy.splice_text(&body, 0, 0, &m.body).unwrap();
        copy.put(&obj, "at", automerge::ScalarValue::Timestamp(m.at))
            .unwrap();
    }
    assert_eq!(read(&copy).messages, before.messages, "looks the same");
    let mut copied = LocalDoc::new(local.id, copy);
    copied.peer = local.peer.clone();
    assert_eq!(
        error_codes(&client.sync(&mut copied).await),
        ["rejected_change"]
    );

    let mut fresh = app.client().await;
    let mut again = LocalDoc::new(local.id, local.doc.clone());
    fresh.open(&mut again, &token).await;
    let mut subject = again.doc.fork();
    let text = subject.put_object(ROOT, "subject", ObjType::Text).unwrap();
    subject.splice_text(&text, 0, 0, &before.subject).unwrap();
    let mut replaced = LocalDoc::new(local.id, subject);
    replaced.peer = again.peer.clone();
    assert_eq!(
        error_codes(&fresh.sync(&mut replaced).await),
        ["rejected_change"]
    );
    assert_eq!(
        app.staff_ticket(local.id).await["messages"][0]["body"],
        "Staff reply"
    );
    app.stop().await;
}
