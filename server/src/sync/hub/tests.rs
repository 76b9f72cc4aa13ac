//! The hub's own tests, on the in-memory document store and a clock the test moves.

use std::sync::atomic::{AtomicI64, Ordering};

use super::*;
use crate::seed::demo_site;
use crate::storage::memory::MemoryDocs;
use crate::storage::DocStore;
use stufe_shared::ticket::{Author, NewMessage};

/// 2026-12-03 09:00 UTC, in milliseconds.
const T0: i64 = 1_796_288_400_000;
const HOUR_MS: i64 = 3_600_000;
const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

/// A hub on an in-memory store, reading the time from `clock`, holding one
/// ticket a customer created.
struct Fixture {
    hub: Hub,
    docs: Arc<MemoryDocs>,
    clock: Arc<AtomicI64>,
    id: TicketId,
}

async fn hub_with_ticket() -> Fixture {
    let docs = Arc::new(MemoryDocs::default());
    let clock = Arc::new(AtomicI64::new(T0));
    let hub = Hub::with_clock(docs.clone(), {
        let clock = Arc::clone(&clock);
        Arc::new(move || clock.load(Ordering::SeqCst))
    });
    let (site, config): (SiteKey, _) = ("demo".parse().unwrap(), demo_site());
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
            return Fixture {
                hub,
                docs,
                clock,
                id,
            };
        }
        let reply = hub.generate(&entry, &mut theirs).await.unwrap();
        let reply = sync::Message::decode(&reply).unwrap();
        doc.sync().receive_sync_message(&mut ours, reply).unwrap();
    }
}

fn staff_reply(body: &str) -> impl FnOnce(&mut AutoCommit, &Ticket) -> Result<(), HubError> + '_ {
    move |doc, _| {
        ticket::append_message(
            doc,
            &NewMessage {
                id: format!("s-{body}"),
                author: Author::Staff,
                name: "Sam".into(),
                body: body.into(),
                at: T0,
            },
        )
        .map_err(|err| HubError::Rejected(err.to_string()))
    }
}

#[tokio::test]
async fn every_commit_takes_its_time_from_the_injected_clock() {
    let f = hub_with_ticket().await;
    let created = f.docs.summary(&f.id.to_string()).unwrap();
    assert_eq!(
        created.updated_at, T0,
        "the creation is stamped by the hub's clock"
    );
    f.clock.store(T0 + HOUR_MS, Ordering::SeqCst);
    f.hub
        .staff_change(f.id, staff_reply("On it."))
        .await
        .unwrap();
    let replied = f.docs.summary(&f.id.to_string()).unwrap();
    assert_eq!(replied.updated_at, T0 + HOUR_MS);
    // The Automerge change carries the same time.
    let stored = f.docs.ticket(f.id).unwrap().unwrap();
    let mut doc = AutoCommit::load(&stored.bytes).unwrap();
    let newest = doc.get_changes(&[]).iter().map(|c| c.timestamp()).max();
    assert_eq!(newest, Some(T0 + HOUR_MS));
}

#[tokio::test]
async fn a_ticket_sleeps_once_idle_by_the_injected_clock() {
    let f = hub_with_ticket().await;
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(
        f.hub.sleep_idle_tickets(hour, usize::MAX).await,
        0,
        "used just now by the hub's clock"
    );
    f.clock.store(T0 + HOUR_MS, Ordering::SeqCst);
    assert_eq!(f.hub.sleep_idle_tickets(hour, usize::MAX).await, 1);
    // A sleeping ticket still reads, and using it wakes it.
    assert_eq!(f.hub.read_ticket(f.id).await.unwrap().id, f.id.to_string());
    assert_eq!(f.hub.sleep_idle_tickets(hour, usize::MAX).await, 0);
}

#[tokio::test]
async fn a_change_in_place_that_never_finished_leaves_the_stored_ticket_in_use() {
    let Fixture { hub, id, .. } = hub_with_ticket().await;
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
    let Fixture { hub, id, .. } = hub_with_ticket().await;
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

/// A widget's copy of the ticket `entry`, synced whole: the copy, its sync
/// state, and the hub's sync state for it.
async fn synced_copy(hub: &Hub, entry: &DocEntry) -> (AutoCommit, sync::State, sync::State) {
    let (mut copy, mut ours, mut theirs) =
        (AutoCommit::new(), sync::State::new(), sync::State::new());
    while let Some(message) = hub.generate(entry, &mut theirs).await {
        copy.sync()
            .receive_sync_message(&mut ours, sync::Message::decode(&message).unwrap())
            .unwrap();
        let answer = copy.sync().generate_sync_message(&mut ours).unwrap();
        hub.lock(entry)
            .await
            .unwrap()
            .doc()
            .unwrap()
            .sync()
            .receive_sync_message(&mut theirs, answer)
            .unwrap();
    }
    (copy, ours, theirs)
}

/// The fixture's ticket with a session subscribed to it, put to sleep an
/// hour later by the hub's clock.
async fn asleep_with_a_subscriber(f: &Fixture) -> (Arc<DocEntry>, Arc<Changed>) {
    let entry = f.hub.entry(&DocId::Ticket(f.id)).await.unwrap();
    let changed = Arc::new(Changed::default());
    entry.subscribe(99, Arc::clone(&changed));
    f.clock.store(T0 + HOUR_MS, Ordering::SeqCst);
    assert_eq!(f.hub.sleep_idle_tickets(HOUR, usize::MAX).await, 1);
    (entry, changed)
}

/// Another server on the fixture's storage answers its ticket with `body`.
async fn another_server_replies(f: &Fixture, body: &str) {
    let other = Hub::with_clock(f.docs.clone(), Arc::new(|| T0 + HOUR_MS));
    other.staff_change(f.id, staff_reply(body)).await.unwrap();
}

fn bodies(ticket: Ticket) -> Vec<String> {
    ticket.messages.into_iter().map(|m| m.body).collect()
}

#[tokio::test]
async fn peers_in_one_state_are_each_due_the_change_and_its_ack_and_a_peer_in_another_is_not_acked_early(
) {
    let f = hub_with_ticket().await;
    let entry = f.hub.entry(&DocId::Ticket(f.id)).await.unwrap();
    // Two widgets holding the whole ticket, in the same sync state.
    let (_, _, up_to_date) = synced_copy(&f.hub, &entry).await;
    let (mut first, mut second) = (up_to_date.clone(), up_to_date);
    let mut stranger = sync::State::new();

    f.hub
        .staff_change(f.id, staff_reply("On it."))
        .await
        .unwrap();
    let heads = entry.state().lock().await.doc().unwrap().get_heads();
    for peer in [&mut first, &mut second] {
        let due = f.hub.due(&entry, peer).await;
        assert!(due.message.is_some(), "the reply goes out");
        assert_eq!(due.ackable, Some(heads.clone()), "and with it the ack");
        assert!(!due.erased);
    }
    let due = f.hub.due(&entry, &mut stranger).await;
    assert_eq!(
        due.ackable, None,
        "a peer that has told nothing and been sent nothing is not acked"
    );
}

#[tokio::test]
async fn a_ticket_asleep_here_that_another_server_wrote_wakes_with_that_write_and_its_peers_are_told(
) {
    let f = hub_with_ticket().await;
    let id = DocId::Ticket(f.id);
    // A widget holding the whole ticket, subscribed to it.
    let entry = f.hub.entry(&id).await.unwrap();
    let (mut copy, mut ours, mut theirs) = synced_copy(&f.hub, &entry).await;
    let (entry, changed) = asleep_with_a_subscriber(&f).await;

    another_server_replies(&f, "From the other server.").await;
    let seq = f.docs.ticket(f.id).unwrap().unwrap().seq;
    // Its notice wakes the ticket here with that write, and the widget is told.
    f.hub.remote_change(&id, seq).await.unwrap();
    assert_eq!(changed.news().docs, [id], "the widget is told");
    let due = f.hub.due(&entry, &mut theirs).await;
    let message = due.message.expect("the write goes out");
    copy.sync()
        .receive_sync_message(&mut ours, sync::Message::decode(&message).unwrap())
        .unwrap();
    let bodies = bodies(Projection::read(&copy).unwrap().unwrap().ticket);
    assert!(
        bodies.contains(&"From the other server.".to_owned()),
        "{bodies:?}"
    );
}

#[tokio::test]
async fn catching_up_with_other_servers_leaves_asleep_tickets_asleep_and_tells_the_peers_of_those_written(
) {
    let f = hub_with_ticket().await;
    let (entry, changed) = asleep_with_a_subscriber(&f).await;

    f.hub.catch_up_all().await;
    assert!(changed.news().is_empty(), "nothing new: nobody told");
    assert!(entry.state().lock().await.is_asleep(), "and still asleep");

    another_server_replies(&f, "Missed notice.").await;
    f.hub.catch_up_all().await;
    assert_eq!(
        changed.news().docs,
        [DocId::Ticket(f.id)],
        "told of the write"
    );
    assert!(entry.state().lock().await.is_asleep(), "still asleep");
    let bodies = bodies(f.hub.read_ticket(f.id).await.unwrap());
    assert!(bodies.contains(&"Missed notice.".to_owned()), "{bodies:?}");
}
