//! The hub's own tests.

use super::*;
use crate::seed::demo_site;
use crate::storage::{SiteStore, SqliteStorage};
use stufe_shared::ticket::{Author, NewMessage};

/// A hub on a fresh SQLite file holding one ticket a customer created.
async fn hub_with_ticket(dir: &std::path::Path) -> (Hub, TicketId) {
    let storage = SqliteStorage::open(&dir.join("stufe.db")).unwrap();
    let (site, config): (SiteKey, _) = ("demo".parse().unwrap(), demo_site());
    storage.create_site(&site, &config, "secret").unwrap();
    let hub = Hub::new(Arc::new(storage));
    let id = TicketId::from_bytes([7; 16]);
    let mut doc = crate::sync::sample_ticket(id);
    let entry = hub.entry(&DocId::Ticket(id)).await.unwrap();
    let token = "a".repeat(64);
    entry.authorize(&site, &token, None, false).await.unwrap();
    let sender = Sender {
        id: 1,
        role: Role::Customer,
        site: &site,
        config: &config,
        may_create: &|_| Ok(()),
    };
    // The sync exchange as a widget runs it, until the server commits.
    let (mut ours, mut theirs) = (sync::State::new(), sync::State::new());
    loop {
        let message = doc.sync().generate_sync_message(&mut ours).unwrap();
        let received = hub
            .receive(&entry, &mut theirs, &sender, &message.encode(), &[])
            .await
            .unwrap();
        if let Received::Committed { .. } = received {
            return (hub, id);
        }
        let reply = entry.generate(&mut theirs).await.unwrap();
        let reply = sync::Message::decode(&reply).unwrap();
        doc.sync().receive_sync_message(&mut ours, reply).unwrap();
    }
}

#[tokio::test]
async fn a_change_in_place_that_never_finished_leaves_the_stored_ticket_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, id) = hub_with_ticket(dir.path()).await;
    let stored = hub.read_ticket(id).await.unwrap();
    // A caller that went away mid-commit drops its future with the
    // document lent out.
    let entry = hub.entry(&DocId::Ticket(id)).await.unwrap();
    drop(entry.state().lock().await.lend().unwrap());
    assert_eq!(hub.read_ticket(id).await.unwrap(), stored);
    let replied = hub
        .staff_change(id, |doc, _| {
            ticket::append_message(
                doc,
                &NewMessage {
                    id: "s1".into(),
                    author: Author::Staff,
                    name: "Sam".into(),
                    body: "On it.".into(),
                    at: now_ms(),
                },
            )
            .map_err(|err| HubError::Rejected(err.to_string()))
        })
        .await
        .unwrap();
    assert_eq!(replied.messages.len(), stored.messages.len() + 1);
}

#[tokio::test]
async fn a_refused_change_in_place_leaves_the_ticket_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, id) = hub_with_ticket(dir.path()).await;
    let stored = hub.read_ticket(id).await.unwrap();
    let refused = hub
        .staff_change(id, |doc, _| {
            // Staff may not rate a ticket.
            ticket::rate(doc, 5, "Great").map_err(|err| HubError::Rejected(err.to_string()))
        })
        .await;
    assert!(matches!(refused, Err(HubError::Rejected(_))), "{refused:?}");
    assert_eq!(hub.read_ticket(id).await.unwrap(), stored);
    // The next change starts from the stored ticket, without the refused rating.
    let next = hub
        .staff_change(id, |doc, _| {
            ticket::set_status(doc, Status::Open).map_err(|err| HubError::Rejected(err.to_string()))
        })
        .await
        .unwrap();
    assert_eq!((next.status, next.rating), (Status::Open, None));
}
