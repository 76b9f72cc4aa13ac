//! The happy path: create, sync from a second client, staff changes fan out, restart keeps data.

use automerge::AutoCommit;
use stufe_shared::protocol::ServerFrame;
use stufe_shared::ticket::{self, Author, NewMessage, Status};

use crate::helpers::*;

#[tokio::test]
async fn a_created_ticket_is_acked_and_reaches_a_second_client() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (id, token) = random_ticket();
    let mut local = LocalDoc::new(id, new_ticket_doc(id));
    let created_heads: Vec<String> = local
        .doc
        .get_heads()
        .iter()
        .map(ToString::to_string)
        .collect();

    let mut first = app.client().await;
    let frames = first.open(&mut local, &token).await;
    assert!(
        matches!(&frames[0], ServerFrame::Opened { exists: false, .. }),
        "{frames:?}"
    );
    let acked = last_ack(&frames).expect("an ack");
    // The server adds its own change (SLA stamps) on top of ours, so the ack covers ours.
    let mut acked_doc = local.doc.clone();
    let acked_hashes: Vec<automerge::ChangeHash> =
        acked.iter().map(|h| h.parse().unwrap()).collect();
    for head in &created_heads {
        let hash: automerge::ChangeHash = head.parse().unwrap();
        assert!(
            acked_doc
                .get_changes(&acked_hashes)
                .iter()
                .all(|c| c.hash() != hash),
            "our change is part of the acked history"
        );
    }
    let ticket = read(&local.doc);
    assert!(
        ticket.first_response_due.is_some(),
        "server stamped the SLA and synced it back"
    );

    let mut second = app.client().await;
    let mut copy = LocalDoc::new(id, AutoCommit::new());
    let frames = second.open(&mut copy, &token).await;
    assert!(
        matches!(&frames[0], ServerFrame::Opened { exists: true, .. }),
        "{frames:?}"
    );
    assert_eq!(read(&copy.doc), read(&local.doc));
    app.stop().await;
}

#[tokio::test]
async fn customer_replies_and_staff_changes_fan_out_live() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let id = local.id;

    let mut watcher = app.client().await;
    let mut watched = LocalDoc::new(id, AutoCommit::new());
    watcher.open(&mut watched, &token).await;

    // Staff change status and tier and reply; the open watcher sees all of it.
    let response = app
        .staff_patch(id, serde_json::json!({ "status": "pending", "tier": 2 }))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.staff_reply(id, "Please try a restart.").await.status(),
        200
    );
    watcher.sync(&mut watched).await;
    let seen = read(&watched.doc);
    assert_eq!(seen.status, Status::Pending);
    assert_eq!(seen.tier.get(), 2);
    let reply = seen.messages.last().expect("staff reply arrived");
    assert_eq!(
        (reply.author, reply.body.as_str()),
        (Author::Staff, "Please try a restart.")
    );
    assert!(seen.first_response_at.is_some());

    // The customer replies from the first client; the watcher receives it.
    let mut writer = app.client().await;
    writer.open(&mut local, &token).await;
    ticket::append_message(
        &mut local.doc,
        &NewMessage {
            id: "c2".into(),
            author: Author::Customer,
            name: "Ada".into(),
            body: "Restarted, still red.".into(),
            at: 1,
        },
    )
    .unwrap();
    let frames = writer.sync(&mut local).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    assert!(last_ack(&frames).is_some());
    watcher.sync(&mut watched).await;
    assert_eq!(
        read(&watched.doc).messages.last().unwrap().body,
        "Restarted, still red."
    );
    // The hand-off notice (tier 1 → 2), the staff reply, the customer's reply.
    assert_eq!(
        app.staff_ticket(id).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    app.stop().await;
}

#[tokio::test]
async fn tickets_survive_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, token) = create_ticket(&app).await;
    app.stop().await;

    let app = TestApp::spawn(dir.path()).await;
    let mut client = app.client().await;
    let mut copy = LocalDoc::new(local.id, AutoCommit::new());
    let frames = client.open(&mut copy, &token).await;
    assert!(
        matches!(&frames[0], ServerFrame::Opened { exists: true, .. }),
        "{frames:?}"
    );
    assert_eq!(read(&copy.doc).subject, "Printer offline");
    let listed = app.staff().bearer_auth(STAFF_TOKEN).send().await.unwrap();
    let listed: serde_json::Value = listed.json().await.unwrap();
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == local.id.to_string()));
    app.stop().await;
}

#[tokio::test]
async fn a_long_ticket_is_stored_as_appended_changes_and_reads_back_whole_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, _token) = create_ticket(&app).await;
    const REPLIES: usize = 120;
    for i in 0..REPLIES {
        let body = format!("Reply {i}: we looked into it and here is one more detail.");
        assert_eq!(app.staff_reply(local.id, &body).await.status(), 200);
    }
    app.stop().await;

    let db = rusqlite::Connection::open(dir.path().join("stufe.sqlite")).unwrap();
    let key = format!("ticket:{}", local.id);
    let (chunks, largest): (i64, i64) = db
        .query_row(
            "SELECT COUNT(*), COALESCE(MAX(length(bytes)), 0) FROM doc_changes WHERE doc_id = ?1",
            [&key],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    let snapshot: i64 = db
        .query_row(
            "SELECT length(doc) FROM tickets WHERE id = ?1",
            [local.id.to_string()],
            |row| row.get(0),
        )
        .unwrap();
    // Each reply appended only its own change; now and then a new snapshot
    // replaced the appended chunks.
    assert!(chunks > 0, "replies are appended");
    assert!(
        chunks < REPLIES as i64,
        "snapshots were taken: {chunks} chunks"
    );
    assert!(largest < 1_000, "a reply's chunk weighs {largest} bytes");
    assert!(snapshot > largest * 4, "snapshot {snapshot} B");

    let app = TestApp::spawn(dir.path()).await;
    let stored = app.staff_ticket(local.id).await;
    let messages = stored["messages"].as_array().unwrap();
    assert_eq!(messages.len(), REPLIES);
    assert_eq!(
        messages[REPLIES - 1]["body"],
        format!(
            "Reply {}: we looked into it and here is one more detail.",
            REPLIES - 1
        )
    );
    app.stop().await;
}

#[tokio::test]
async fn a_sleeping_ticket_wakes_for_staff_changes_and_for_its_widget() {
    use std::sync::Arc;
    use std::time::Duration;

    use automerge::sync::{self, SyncDoc};
    use stufe_server::seed::demo_site;
    use stufe_server::storage::{prelude::*, SqliteStorage, Storage};
    use stufe_server::sync::hub::{Received, Sender};
    use stufe_server::sync::Hub;
    use stufe_shared::validate::Role;
    use stufe_shared::{DocId, SiteKey};

    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("db.sqlite")).unwrap();
    let site: SiteKey = "demo".parse().unwrap();
    storage.put_site(&site, &demo_site()).unwrap();
    let storage: Arc<dyn Storage> = Arc::new(storage);
    let config = demo_site();
    let hub = Hub::new(storage);
    let (id, token) = random_ticket();
    let entry = hub.entry(&DocId::Ticket(id)).await.unwrap();
    entry.authorize(&site, &token, None, false).await.unwrap();
    let sender = Sender {
        id: 1,
        role: Role::Customer,
        site: &site,
        config: &config,
        may_create: &|_| Ok(()),
    };
    let mut local = new_ticket_doc(id);
    let mut peer = sync::State::new();
    // The widget's side of one exchange: send, then take what the hub answers.
    async fn exchange(
        hub: &Hub,
        entry: &stufe_server::sync::hub::DocEntry,
        sender: &Sender<'_>,
        local: &mut AutoCommit,
        peer: &mut sync::State,
        server_peer: &mut sync::State,
    ) -> bool {
        let mut committed = false;
        for _ in 0..4 {
            if let Some(message) = local.sync().generate_sync_message(peer) {
                let result = hub
                    .receive(entry, server_peer, sender, &message.encode(), &[])
                    .await
                    .unwrap();
                committed |= matches!(result, Received::Committed { .. });
            }
            if let Some(answer) = hub.generate(entry, server_peer).await {
                let message = sync::Message::decode(&answer).unwrap();
                local.sync().receive_sync_message(peer, message).unwrap();
            }
        }
        committed
    }
    let mut server_peer = sync::State::new();
    assert!(
        exchange(
            &hub,
            &entry,
            &sender,
            &mut local,
            &mut peer,
            &mut server_peer
        )
        .await
    );

    assert_eq!(
        hub.sleep_idle_tickets(Duration::ZERO, usize::MAX).await,
        1,
        "the ticket sleeps"
    );
    let reply = ticket::NewMessage {
        id: "m-staff".into(),
        author: Author::Staff,
        name: "Sam".into(),
        body: "We are on it.".into(),
        at: 1,
    };
    hub.staff_change(id, |doc, _| {
        ticket::append_message(doc, &reply)
            .map_err(|err| stufe_server::sync::HubError::Rejected(err.to_string()))
    })
    .await
    .unwrap();

    assert_eq!(
        hub.sleep_idle_tickets(Duration::ZERO, usize::MAX).await,
        1,
        "and sleeps again"
    );
    let bodies = |t: &stufe_shared::ticket::Ticket| {
        t.messages
            .iter()
            .map(|m| m.body.clone())
            .collect::<Vec<_>>()
    };
    // The widget takes the reply from the sleeping ticket before answering it.
    exchange(
        &hub,
        &entry,
        &sender,
        &mut local,
        &mut peer,
        &mut server_peer,
    )
    .await;
    assert_eq!(
        bodies(&read(&local)),
        ["We are on it."],
        "the widget got the reply"
    );

    assert_eq!(hub.sleep_idle_tickets(Duration::ZERO, usize::MAX).await, 1);
    ticket::append_message(
        &mut local,
        &NewMessage {
            id: "m-customer".into(),
            author: Author::Customer,
            name: "Ada".into(),
            body: "Thanks!".into(),
            at: 2,
        },
    )
    .unwrap();
    assert!(
        exchange(
            &hub,
            &entry,
            &sender,
            &mut local,
            &mut peer,
            &mut server_peer
        )
        .await
    );
    assert_eq!(bodies(&read(&local)), ["We are on it.", "Thanks!"]);
    // However recently used, tickets beyond the number kept awake sleep (a
    // reconnect storm wakes thousands at once).
    let hour = Duration::from_secs(3600);
    assert_eq!(
        hub.sleep_idle_tickets(hour, 1).await,
        0,
        "within the number kept awake"
    );
    assert_eq!(hub.sleep_idle_tickets(hour, 0).await, 1, "beyond it");
    assert_eq!(
        bodies(&hub.read_ticket(id).await.unwrap()),
        ["We are on it.", "Thanks!"]
    );
}

/// Staff edits are made on the live ticket, not a copy: one that is refused
/// (by the edit itself or by the checks after it) leaves nothing behind, in
/// memory or in storage, and the next edit starts from the stored ticket.
#[tokio::test]
async fn a_refused_staff_edit_leaves_the_ticket_as_it_was() {
    use std::sync::Arc;

    use automerge::transaction::Transactable;
    use stufe_server::storage::SqliteStorage;
    use stufe_server::sync::{Hub, HubError};
    use stufe_shared::ticket::Ticket;

    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, _) = create_ticket(&app).await;
    app.stop().await;
    let open_hub = || {
        Hub::new(Arc::new(
            SqliteStorage::open(&dir.path().join("stufe.sqlite")).unwrap(),
        ))
    };
    let hub = open_hub();
    let reply = |id: &str, body: &str| NewMessage {
        id: id.into(),
        author: Author::Staff,
        name: "Sam".into(),
        body: body.into(),
        at: 1,
    };
    // The edit itself gives up half-way.
    let refused = hub
        .staff_change(local.id, |doc, _| {
            ticket::append_message(doc, &reply("m-half", "Half an answer")).unwrap();
            Err(HubError::Rejected("changed my mind".into()))
        })
        .await;
    assert!(matches!(refused, Err(HubError::Rejected(_))));
    // The checks refuse it: the subject replaced by a new text object.
    let refused = hub
        .staff_change(local.id, |doc, _| {
            ticket::append_message(doc, &reply("m-bad", "With a new subject")).unwrap();
            doc.put_object(automerge::ROOT, "subject", automerge::ObjType::Text)
                .unwrap();
            Ok(())
        })
        .await;
    assert!(matches!(refused, Err(HubError::Rejected(_))), "{refused:?}");
    let bodies = |t: &Ticket| {
        t.messages
            .iter()
            .map(|m| m.body.clone())
            .collect::<Vec<_>>()
    };
    let now = hub.read_ticket(local.id).await.unwrap();
    assert!(
        bodies(&now).is_empty(),
        "nothing of the refused edits: {now:?}"
    );
    assert_eq!(now.subject, read(&local.doc).subject);
    let after = hub
        .staff_change(local.id, |doc, _| {
            ticket::append_message(doc, &reply("m-ok", "A real answer"))
                .map_err(|err| HubError::Rejected(err.to_string()))
        })
        .await
        .unwrap();
    assert_eq!(bodies(&after), ["A real answer"]);
    // And so it was stored.
    let stored = open_hub().read_ticket(local.id).await.unwrap();
    assert_eq!(bodies(&stored), ["A real answer"]);
}

/// A peer's bloom filter may claim a change the peer lacks (a false positive,
/// about 1 in 100 per change). The server then sends the changes built on it
/// without it, and the peer can only queue them. Such a peer must not be told
/// those heads are committed before it asked for and received the missing
/// change — the helper's exchange fails on any ack naming a change the client
/// has not applied.
#[tokio::test]
async fn an_ack_waits_for_a_change_the_peers_bloom_filter_wrongly_claimed() {
    use automerge::sync::{BloomFilter, Have, SyncDoc};
    use stufe_shared::protocol::encode_sync_frame;
    use stufe_shared::DocId;

    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut fresh, token) = create_ticket(&app).await;
    let mut stale_doc = fresh.doc.clone();
    app.staff_reply(fresh.id, "First answer.").await;
    app.staff_reply(fresh.id, "Second answer.").await;
    let mut up_to_date = app.client().await;
    up_to_date.open(&mut fresh, &token).await;
    let added: Vec<_> = fresh
        .doc
        .get_changes(&stale_doc.get_heads())
        .iter()
        .map(|c| (c.hash(), c.deps().to_vec()))
        .collect();
    assert!(added.len() >= 2, "two replies, two changes: {added:?}");
    // The first reply's change, on which the second one is built.
    let claimed = added[0].0;
    assert!(added.iter().any(|(_, deps)| deps.contains(&claimed)));

    let mut stale = LocalDoc::new(fresh.id, stale_doc);
    let doc_id = DocId::Ticket(stale.id);
    let mut client = app.client().await;
    client
        .send_json(serde_json::json!({ "type": "open", "doc": doc_id.to_string(), "token": token }))
        .await;
    assert!(matches!(
        client.next_control().await,
        Some(ServerFrame::Opened { .. })
    ));
    let mut first = stale
        .doc
        .sync()
        .generate_sync_message(&mut stale.peer)
        .unwrap();
    let mut claims: Vec<_> = stale
        .doc
        .get_changes(&[])
        .iter()
        .map(|c| c.hash())
        .collect();
    claims.push(claimed);
    first.have = vec![Have {
        last_sync: Vec::new(),
        bloom: BloomFilter::from_hashes(claims.iter()),
    }];
    client
        .send_binary(encode_sync_frame(&doc_id, &first.encode()))
        .await;
    let frames = client.sync(&mut stale).await;

    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    let bodies: Vec<String> = read(&stale.doc)
        .messages
        .iter()
        .map(|m| m.body.clone())
        .collect();
    assert!(bodies.contains(&"First answer.".to_owned()), "{bodies:?}");
    assert!(bodies.contains(&"Second answer.".to_owned()), "{bodies:?}");
    let acked = last_ack(&frames).expect("acked once up to date");
    assert!(acked_everything(&mut stale.doc, &acked), "{acked:?}");
}
