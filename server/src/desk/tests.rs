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
    customer_creates(&state, id, "Printer offline").await;
    Desk {
        state,
        ticket: id,
        _dir: dir,
    }
}

/// A customer creates request `id` with `subject` on the demo site, through the hub.
async fn customer_creates(state: &AppState, id: TicketId, subject: &str) {
    let mut doc = automerge::AutoCommit::new();
    ticket::create(
        &mut doc,
        &NewTicket {
            id,
            site: "demo".into(),
            subject: subject.into(),
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
        match state.hub.generate(&entry, &mut server).await {
            Some(back) => doc
                .sync()
                .receive_sync_message(&mut client, sync::Message::decode(&back).unwrap())
                .unwrap(),
            None => break,
        }
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

mod automation {
    use super::*;
    use crate::desk::automation::{on_created, reminder, run_due, Route, Rules};
    use stufe_shared::ticket::Priority;

    const MINUTE: i64 = 60_000;
    const DAY: i64 = 24 * 60 * MINUTE;

    async fn rules(state: &AppState, rules: Rules) {
        let sam = staff(state, "Sam Support");
        crate::desk::automation::set_rules(state, &sam, "demo", rules)
            .await
            .unwrap();
    }

    fn summary(state: &AppState, id: TicketId) -> crate::storage::TicketSummary {
        state
            .storage
            .ticket_summary(&id.to_string())
            .unwrap()
            .unwrap()
    }

    /// Whether `id` is among the requests a run acted on (the demo data
    /// has a request of its own, due at about the same times).
    fn has(acted: &[String], id: TicketId) -> bool {
        acted.contains(&id.to_string())
    }

    fn rule_notes(state: &AppState, id: TicketId) -> Vec<String> {
        state
            .storage
            .notes(&id.to_string())
            .unwrap()
            .into_iter()
            .filter(|n| n.body.starts_with("Rule:"))
            .map(|n| format!("{} | {}", n.change, n.body))
            .collect()
    }

    #[tokio::test]
    async fn new_requests_are_routed_by_words_and_assigned_in_turn() {
        let d = desk().await;
        let s = &d.state;
        let site: SiteKey = "demo".parse().unwrap();
        let mut tier2 = Vec::new();
        for name in ["Bo", "Cy", "Di"] {
            let m = s
                .storage
                .add_staff(name, "tier2", &crate::tokens::token_hash(name))
                .unwrap();
            s.storage.grant_site(m.id, &site).unwrap();
            tier2.push(m.id);
        }
        // Di left: not given requests.
        s.storage.update_staff(tier2[2], None, Some(false)).unwrap();
        rules(
            s,
            Rules {
                round_robin: true,
                routes: vec![Route {
                    words: vec!["refund".into()],
                    tier: Some(2),
                    priority: Some(Priority::High),
                }],
                ..Rules::default()
            },
        )
        .await;
        let mut given = Vec::new();
        for n in 1..=3u8 {
            let id = TicketId::from_bytes([n; 16]);
            customer_creates(s, id, "Refund for order 1042").await;
            on_created(s, "demo", id).await;
            let t = summary(s, id);
            assert_eq!((t.tier, t.priority.as_str()), (2, "high"));
            given.push(t.assignee.unwrap());
            assert_eq!(
                rule_notes(s, id),
                [format!(
                    "tier 1 → tier 2, assigned to {} | Rule: the subject mentions \"refund\"; round robin among tier 2.",
                    if given[n as usize - 1] == tier2[0] { "Bo" } else { "Cy" }
                )]
            );
        }
        assert_eq!(given, [tier2[0], tier2[1], tier2[0]], "in turn, Di skipped");
        // No route: it stays in tier 1, for its one tier-1 colleague (Tia).
        let id = TicketId::from_bytes([9; 16]);
        customer_creates(s, id, "Printer offline").await;
        on_created(s, "demo", id).await;
        let t = summary(s, id);
        assert_eq!((t.tier, t.priority.as_str()), (1, "normal"));
        assert_eq!(t.assignee, Some(staff(s, "Tia First-Level").id));
    }

    #[tokio::test]
    async fn a_request_about_to_miss_its_first_response_is_escalated_once() {
        let d = desk().await;
        let s = &d.state;
        rules(
            s,
            Rules {
                escalate_minutes_before: Some(30),
                ..Rules::default()
            },
        )
        .await;
        let due = summary(s, d.ticket).first_response_due.unwrap();
        let escalated = |done: crate::desk::automation::Done| has(&done.escalated, d.ticket);
        assert!(!escalated(run_due(s, due - 31 * MINUTE).await.unwrap()));
        assert!(escalated(run_due(s, due - 29 * MINUTE).await.unwrap()));
        let t = summary(s, d.ticket);
        assert_eq!((t.tier, t.priority.as_str()), (2, "high"));
        let notes = rule_notes(s, d.ticket);
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("Rule: the first response is due"),
            "{notes:?}"
        );
        // The customer was told of the hand-off, as after a human's.
        let ticket = s.hub.read_ticket(d.ticket).await.unwrap();
        assert!(ticket
            .messages
            .iter()
            .any(|m| m.id.starts_with(HANDOFF_PREFIX)));
        // Once: not again, not even when overdue.
        assert!(!escalated(run_due(s, due + MINUTE).await.unwrap()));
        // The resolution is its own trigger, once too.
        let resolution = summary(s, d.ticket).resolution_due.unwrap();
        assert!(escalated(
            run_due(s, resolution - 10 * MINUTE).await.unwrap()
        ));
        assert_eq!(summary(s, d.ticket).tier, 3);
        assert!(!escalated(run_due(s, resolution + DAY).await.unwrap()));
    }

    #[tokio::test]
    async fn a_request_waiting_on_the_customer_is_reminded_then_closed() {
        let d = desk().await;
        let s = &d.state;
        let sam = staff(s, "Sam Support");
        rules(
            s,
            Rules {
                close_pending_after_days: Some(3),
                ..Rules::default()
            },
        )
        .await;
        let update = Update {
            status: Some(Status::Pending),
            ..Update::default()
        };
        requests::update(s, &sam, d.ticket, update).await.unwrap();
        let since = summary(s, d.ticket).pending_since.unwrap();
        // Two days on (no business hours: calendar days): reminded, once.
        let done = run_due(s, since + 2 * DAY - MINUTE).await.unwrap();
        assert!(done.reminded.is_empty() && done.closed.is_empty());
        let done = run_due(s, since + 2 * DAY).await.unwrap();
        assert_eq!(done.reminded, [d.ticket.to_string()]);
        let ticket = s.hub.read_ticket(d.ticket).await.unwrap();
        let last = ticket.messages.last().unwrap();
        assert_eq!(
            (last.author, last.body.as_str()),
            (Author::Staff, reminder(false))
        );
        assert_eq!(
            ticket.status,
            Status::Pending,
            "still waiting on the customer"
        );
        assert!(run_due(s, since + 2 * DAY + MINUTE)
            .await
            .unwrap()
            .reminded
            .is_empty());
        // Three days on: closed, with a note saying why.
        let done = run_due(s, since + 3 * DAY).await.unwrap();
        assert_eq!(done.closed, [d.ticket.to_string()]);
        assert_eq!(summary(s, d.ticket).status, "closed");
        assert!(rule_notes(s, d.ticket)
            .iter()
            .any(|n| n.contains("no answer from the customer for 3 business days")));
        assert_eq!(
            run_due(s, since + 9 * DAY).await.unwrap(),
            Default::default()
        );
    }

    #[tokio::test]
    async fn an_answer_from_the_customer_restarts_the_wait() {
        let d = desk().await;
        let s = &d.state;
        let sam = staff(s, "Sam Support");
        rules(
            s,
            Rules {
                close_pending_after_days: Some(2),
                ..Rules::default()
            },
        )
        .await;
        let pending = || Update {
            status: Some(Status::Pending),
            ..Update::default()
        };
        requests::update(s, &sam, d.ticket, pending())
            .await
            .unwrap();
        let first = summary(s, d.ticket).pending_since.unwrap();
        assert_eq!(run_due(s, first + DAY).await.unwrap().reminded.len(), 1);
        // Back to open and pending again later: a new wait, a new reminder.
        let open = Update {
            status: Some(Status::Open),
            ..Update::default()
        };
        requests::update(s, &sam, d.ticket, open).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        requests::update(s, &sam, d.ticket, pending())
            .await
            .unwrap();
        let second = summary(s, d.ticket).pending_since.unwrap();
        assert!(second > first);
        let done = run_due(s, second + DAY).await.unwrap();
        assert_eq!(done.reminded, [d.ticket.to_string()]);
        assert!(done.closed.is_empty());
    }
}
