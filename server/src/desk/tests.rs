//! The desk's rules, without HTTP: on a real SQLite file with the demo data,
//! through the same hub every change takes.

use automerge::sync::{self, SyncDoc};
use stufe_shared::ticket::{self, Author, NewTicket, Status, HANDOFF_PREFIX};
use stufe_shared::validate::Role;
use stufe_shared::{DocId, SiteKey, TicketId};

use super::requests::{self, Update};
use super::DeskError;
use crate::storage::{StaffMember, TicketFilter};
use crate::sync::hub::Sender;
use crate::AppState;

/// A desk on the demo data, and a ticket a customer created through the hub.
struct Desk {
    state: AppState,
    ticket: TicketId,
    _dir: tempfile::TempDir,
}

async fn desk() -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::for_tests(dir.path());
    let id = TicketId::from_bytes([7; 16]);
    let mut doc = automerge::AutoCommit::new();
    ticket::create(
        &mut doc,
        &NewTicket {
            id,
            site: "demo".into(),
            subject: "Printer offline".into(),
            description: "It blinks red.".into(),
            email: None,
            category: "technical".into(),
        },
    )
    .unwrap();
    let site: SiteKey = "demo".parse().unwrap();
    let config = state.site(&site).await.unwrap().unwrap();
    let entry = state.hub.entry(&DocId::Ticket(id)).await.unwrap();
    entry
        .authorize(&site, &"ab".repeat(32), None, false)
        .await
        .unwrap();
    let sender = Sender {
        id: 1,
        role: Role::Customer,
        site: &site,
        config: &config,
        may_create: &|_| Ok(()),
    };
    let (mut client, mut server) = (sync::State::new(), sync::State::new());
    loop {
        let Some(message) = doc.sync().generate_sync_message(&mut client) else {
            break;
        };
        state
            .hub
            .receive(&entry, &mut server, &sender, &message.encode(), &[])
            .await
            .unwrap();
        match entry.generate(&mut server).await {
            Some(back) => doc
                .sync()
                .receive_sync_message(&mut client, sync::Message::decode(&back).unwrap())
                .unwrap(),
            None => break,
        }
    }
    Desk {
        state,
        ticket: id,
        _dir: dir,
    }
}

fn staff(state: &AppState, name: &str) -> StaffMember {
    state
        .storage
        .list_staff()
        .unwrap()
        .into_iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{name} is in the demo data"))
}

#[tokio::test]
async fn a_hand_off_tells_the_customer_and_leaves_a_note_for_staff() {
    let d = desk().await;
    let sam = staff(&d.state, "Sam Support");
    let update = Update {
        tier: Some(2),
        note: Some("Needs the printer logs.".into()),
        ..Update::default()
    };
    let ticket = requests::update(&d.state, &sam, d.ticket, update)
        .await
        .unwrap();
    assert_eq!(ticket.tier.get(), 2);
    let notice = ticket.messages.last().expect("the customer is told");
    assert_eq!(notice.author, Author::Staff);
    assert!(notice.id.starts_with(HANDOFF_PREFIX), "{notice:?}");
    assert!(notice.body.contains("specialists"), "{}", notice.body);
    assert!(
        ticket.first_response_at.is_none(),
        "a hand-off notice is not the first response"
    );
    let notes = d.state.storage.notes(&d.ticket.to_string()).unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].kind, "handoff");
    assert_eq!(notes[0].change, "tier 1 → tier 2");
    assert_eq!(notes[0].body, "Needs the printer logs.");
    assert!(
        !ticket
            .messages
            .iter()
            .any(|m| m.body.contains("printer logs")),
        "the note stays with staff"
    );
}

#[tokio::test]
async fn the_first_reply_is_the_first_response_and_opens_the_request() {
    let d = desk().await;
    let sam = staff(&d.state, "Sam Support");
    let ticket = requests::reply(&d.state, &sam, d.ticket, "Please restart it.".into())
        .await
        .unwrap();
    assert_eq!(ticket.status, Status::Open);
    let first = ticket.first_response_at.expect("stamped");
    let again = requests::reply(&d.state, &sam, d.ticket, "Did it help?".into())
        .await
        .unwrap();
    assert_eq!(again.first_response_at, Some(first), "stamped once");
    assert!(matches!(
        requests::reply(&d.state, &sam, d.ticket, "   ".into()).await,
        Err(DeskError::Invalid(_))
    ));
}

#[tokio::test]
async fn staff_of_another_site_neither_see_nor_change_a_request() {
    let d = desk().await;
    let mut outsider = staff(&d.state, "Tia First-Level");
    outsider.sites = vec!["elsewhere".into()];
    assert!(matches!(
        requests::ticket_for(&d.state, &outsider, d.ticket).await,
        Err(DeskError::NotFound(_))
    ));
    assert!(matches!(
        requests::reply(&d.state, &outsider, d.ticket, "Hi".into()).await,
        Err(DeskError::NotFound(_))
    ));
    let listed = requests::tickets_for(&d.state, &outsider, TicketFilter::default())
        .await
        .unwrap();
    assert!(listed.iter().all(|t| t.site != "demo"), "{listed:?}");
    let sam = staff(&d.state, "Sam Support");
    assert_eq!(
        requests::ticket_for(&d.state, &sam, d.ticket)
            .await
            .unwrap()
            .status,
        Status::New,
        "nothing changed"
    );
}

#[tokio::test]
async fn an_assignment_goes_only_to_a_colleague_on_the_site_and_is_noted() {
    let d = desk().await;
    let sam = staff(&d.state, "Sam Support");
    let tia = staff(&d.state, "Tia First-Level");
    let nobody = Update {
        assignee: Some(Some(9_999)),
        ..Update::default()
    };
    assert!(matches!(
        requests::update(&d.state, &sam, d.ticket, nobody).await,
        Err(DeskError::Invalid(_))
    ));
    let to_tia = Update {
        assignee: Some(Some(tia.id)),
        ..Update::default()
    };
    requests::update(&d.state, &sam, d.ticket, to_tia)
        .await
        .unwrap();
    let key = d.ticket.to_string();
    let summary = d.state.storage.ticket_summary(&key).unwrap().unwrap();
    assert_eq!(summary.assignee, Some(tia.id));
    let notes = d.state.storage.notes(&key).unwrap();
    assert_eq!(notes[0].change, "assigned to Tia First-Level");
}

#[tokio::test]
async fn revoking_email_links_is_recorded_with_who_did_it() {
    let d = desk().await;
    let sam = staff(&d.state, "Sam Support");
    requests::revoke_links(&d.state, &sam, d.ticket)
        .await
        .unwrap();
    let key = d.ticket.to_string();
    assert!(d.state.storage.links_revoked_at(&key).unwrap().is_some());
    let notes = d.state.storage.notes(&key).unwrap();
    assert_eq!(
        (notes[0].by.as_str(), notes[0].change.as_str()),
        ("Sam Support", "email links revoked")
    );
}

#[tokio::test]
async fn a_sites_retention_erases_resolved_requests_once_they_are_old_enough() {
    use super::privacy::{apply_retention, retention_preview};
    const DAY_MS: i64 = 86_400_000;
    let d = desk().await;
    let sam = staff(&d.state, "Sam Support");
    let resolve = Update {
        status: Some(Status::Resolved),
        ..Update::default()
    };
    requests::update(&d.state, &sam, d.ticket, resolve)
        .await
        .unwrap();
    let now = crate::clock::now_ms();
    // Without a retention period nothing is due, whatever its age.
    let preview = retention_preview(&d.state, &sam, "demo", now + 400 * DAY_MS)
        .await
        .unwrap();
    assert_eq!((preview.retention_days, preview.due), (None, 0));
    assert_eq!(
        apply_retention(&d.state, now + 400 * DAY_MS).await.unwrap(),
        0
    );

    let key: SiteKey = "demo".parse().unwrap();
    let mut config = (*d.state.site(&key).await.unwrap().unwrap()).clone();
    config.retention_days = Some(30);
    super::sites::update_site(&d.state, &sam, "demo", config)
        .await
        .unwrap();
    // Twenty-nine days on: kept, and the dry run says so.
    let soon = now + 29 * DAY_MS;
    let preview = retention_preview(&d.state, &sam, "demo", soon)
        .await
        .unwrap();
    assert_eq!((preview.retention_days, preview.due), (Some(30), 0));
    assert_eq!(apply_retention(&d.state, soon).await.unwrap(), 0);
    assert!(d.state.hub.read_ticket(d.ticket).await.is_ok());
    // Thirty-one days on: the dry run counts it, the run erases it, once.
    let later = now + 31 * DAY_MS;
    let preview = retention_preview(&d.state, &sam, "demo", later)
        .await
        .unwrap();
    assert_eq!(preview.due, 1);
    assert_eq!(apply_retention(&d.state, later).await.unwrap(), 1);
    assert!(matches!(
        d.state.hub.read_ticket(d.ticket).await,
        Err(crate::sync::HubError::Storage(
            crate::storage::StorageError::Erased(_)
        ))
    ));
    assert_eq!(apply_retention(&d.state, later).await.unwrap(), 0);
    let preview = retention_preview(&d.state, &sam, "demo", later)
        .await
        .unwrap();
    assert_eq!(preview.due, 0);
}
