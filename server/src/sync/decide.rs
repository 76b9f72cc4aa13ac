//! The commit decision, pure: given the stored document and a fork with a
//! peer's sync message applied, decide whether the change stands, and make the
//! server's own additions (the SLA stamp on a new ticket) at the time `now`.
//! No storage, no sockets, no clock: the hub supplies all three, and the tests
//! below call it with fixed times.

use automerge::{ActorId, AutoCommit, ChangeHash};
use stufe_shared::site::SiteConfig;
use stufe_shared::ticket::{self, FileRef, Priority, Projection, Status, Tier};
use stufe_shared::validate::Role;
use stufe_shared::{SiteKey, TicketId};

use super::error::HubError;
use super::projected::{project, Projected};

/// What the fork holds, as far as committing is concerned.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing new (only sync bookkeeping).
    NothingNew,
    /// The message carries changes built on changes the server does not
    /// have (the peer's bloom filter claimed them wrongly): nothing can be
    /// checked yet; these are the hashes to ask the peer for.
    Incomplete { missing: Vec<ChangeHash> },
    /// A valid change to commit; `created` when it created the ticket;
    /// `checked`: the ticket as checked, when the server added nothing to the
    /// fork after the check (the commit then need not project it again).
    Commit {
        created: bool,
        checked: Option<Box<Projected>>,
        /// The files the change's new messages refer to: the hub checks
        /// that each was uploaded for the ticket before it commits.
        new_files: Vec<FileRef>,
    },
}

/// Who sent the change and under which site's rules it is judged.
pub struct Judged<'a> {
    pub role: Role,
    pub site: &'a SiteKey,
    pub config: &'a SiteConfig,
    /// Since when the stored ticket waits on the customer (status `pending`),
    /// when it does and the sender is that customer.
    pub pending_since: Option<i64>,
}

/// Decides whether the change from the stored ticket (`before`, `None` when
/// the document is empty, at `stored_heads`) to `fork` may be committed to
/// ticket `id`, and stamps the SLA due times (from `now`, in ms) on a new ticket.
pub fn decide_ticket(
    before: Option<&Projection>,
    stored_heads: &[ChangeHash],
    fork: &mut AutoCommit,
    id: TicketId,
    who: &Judged<'_>,
    now: i64,
) -> Result<Decision, HubError> {
    // Automerge keeps changes whose dependencies it lacks and applies them
    // later; such a change is invisible to the checks below, so a message is
    // checked only when every change in it was applied. The stored document
    // never holds such changes, so any missing dependency came with the
    // message: the peer is asked for it, and nothing is committed meanwhile.
    let missing = fork.get_missing_deps(&[]);
    if !missing.is_empty() {
        return Ok(Decision::Incomplete { missing });
    }
    if fork.get_heads() == stored_heads {
        return Ok(Decision::NothingNew);
    }
    numbered_without_gaps(fork)?;
    let projected = project(fork, before, stored_heads)?;
    let after = projected
        .fields()
        .ok_or_else(|| HubError::Rejected("the ticket document is empty".into()))?;
    if after.site != who.site.as_str() || after.id != id.to_string() {
        return Err(HubError::Rejected(
            "the ticket's id or site does not match".into(),
        ));
    }
    projected.check(who.role, before, &who.config.rules())?;
    let new_files = projected.new_files(before.map(|b| &b.ticket));
    if let Some(Projection { ticket: before, .. }) = before {
        // A customer's reply to a request waiting on them, resolved or
        // closed reopens it: it goes back to the queue, with its history.
        let waits_or_done = matches!(
            before.status,
            Status::Pending | Status::Resolved | Status::Closed
        );
        let reopens =
            who.role == Role::Customer && waits_or_done && projected.adds_customer_message(before);
        if !reopens {
            return Ok(Decision::Commit {
                created: false,
                new_files,
                checked: Some(Box::new(projected)),
            });
        }
        server_actor(fork);
        let fail = |err: automerge::AutomergeError| HubError::Rejected(err.to_string());
        ticket::set_status(fork, Status::Open).map_err(fail)?;
        // The wait paused the SLA clock: the due times move on by it.
        let paused = who
            .pending_since
            .filter(|_| before.status == Status::Pending);
        if let (Some(since), Some(created)) = (paused, before.created_at) {
            let dues = (
                before.first_response_due.unwrap_or(created),
                before.resolution_due.unwrap_or(created),
            );
            let hours = who.config.business_hours.as_ref();
            let (first, resolution) = crate::business_hours::after_pause(hours, dues, since, now);
            ticket::stamp_sla(fork, created, first, resolution).map_err(fail)?;
        }
        return Ok(Decision::Commit {
            created: false,
            checked: None,
            new_files,
        });
    }
    // The category routes a new request to its tier and priority; the due
    // times are that priority's, in business hours.
    let category = who
        .config
        .categories
        .iter()
        .find(|c| c.id == after.category);
    let tier = category
        .and_then(|c| c.tier)
        .and_then(|t| Tier::new(i64::from(t)));
    let priority = category
        .and_then(|c| c.priority.as_deref())
        .and_then(Priority::parse);
    let sla = who
        .config
        .sla_for(priority.map_or("normal", |p| p.as_str()));
    let hours = who.config.business_hours.as_ref();
    server_actor(fork);
    let fail = |err: automerge::AutomergeError| HubError::Rejected(err.to_string());
    if let Some(tier) = tier.filter(|t| t.get() != 1) {
        ticket::set_tier(fork, tier).map_err(fail)?;
    }
    if let Some(priority) = priority.filter(|p| *p != Priority::Normal) {
        ticket::set_priority(fork, priority).map_err(fail)?;
    }
    ticket::stamp_sla(
        fork,
        now,
        crate::business_hours::due(hours, now, sla.first_response_minutes),
        crate::business_hours::due(hours, now, sla.resolution_minutes),
    )
    .map_err(|err| HubError::Rejected(err.to_string()))?;
    Ok(Decision::Commit {
        created: true,
        checked: None,
        new_files,
    })
}

/// Every author's changes are numbered 1, 2, 3, … without a gap or a repeat.
/// Automerge 0.5 applies a change whose sequence number skips ahead, and then
/// panics reading the document's changes since earlier heads (which every
/// later check and sync message does): such a change would make the ticket
/// unusable for everyone, so it is refused before anything reads it.
fn numbered_without_gaps(fork: &mut AutoCommit) -> Result<(), HubError> {
    let mut authors: std::collections::HashMap<ActorId, (u64, u64)> =
        std::collections::HashMap::new();
    // From the empty clock: this read walks every change without slicing by
    // sequence number, so it is safe on a document with a gap.
    for change in fork.get_changes(&[]) {
        let (count, highest) = authors.entry(change.actor_id().clone()).or_default();
        *count += 1;
        *highest = (*highest).max(change.seq());
    }
    if authors.values().all(|(count, highest)| count == highest) {
        Ok(())
    } else {
        Err(HubError::Rejected(
            "a change's sequence number does not follow its author's earlier changes".into(),
        ))
    }
}

/// Gives a fork a fresh random actor before the server writes to it: server
/// changes never share an actor and sequence number a client could have
/// guessed and used first.
pub fn server_actor(fork: &mut AutoCommit) {
    fork.set_actor(ActorId::random());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::demo_site;
    use crate::sync::sample_ticket as new_ticket;
    use stufe_shared::ticket::Status;

    const NOW: i64 = 1_700_000_000_000;

    /// Judges `fork` against `stored` as the hub does.
    fn decide(
        stored: &mut AutoCommit,
        fork: &mut AutoCommit,
        id: TicketId,
        who: &Judged<'_>,
        now: i64,
    ) -> Result<Decision, HubError> {
        let before = Projection::read(&*stored).unwrap();
        decide_ticket(before.as_ref(), &stored.get_heads(), fork, id, who, now)
    }

    #[test]
    fn a_new_ticket_is_stamped_from_the_given_clock() {
        let (site, config) = ("demo".parse().unwrap(), demo_site());
        let who = Judged {
            role: Role::Customer,
            site: &site,
            config: &config,
            pending_since: None,
        };
        let id = TicketId::from_bytes([1; 16]);
        let mut stored = AutoCommit::new();
        let mut fork = new_ticket(id);
        let decision = decide(&mut stored, &mut fork, id, &who, NOW).unwrap();
        assert_eq!(
            decision,
            Decision::Commit {
                created: true,
                checked: None,
                new_files: Vec::new(),
            }
        );
        let stamped = ticket::read_ticket(&fork).unwrap().unwrap();
        assert_eq!(stamped.created_at, Some(NOW));
        assert_eq!(
            stamped.first_response_due,
            Some(NOW + i64::from(config.sla.first_response_minutes) * 60_000)
        );
        // The same fork judged again is nothing new.
        let mut again = fork.clone();
        assert_eq!(
            decide(&mut fork, &mut again, id, &who, NOW + 1).unwrap(),
            Decision::NothingNew
        );
    }

    #[test]
    fn a_customer_status_change_or_another_id_is_refused() {
        let (site, config) = ("demo".parse().unwrap(), demo_site());
        let who = Judged {
            role: Role::Customer,
            site: &site,
            config: &config,
            pending_since: None,
        };
        let id = TicketId::from_bytes([2; 16]);
        let mut stored = new_ticket(id);
        let mut fork = stored.fork();
        ticket::set_status(&mut fork, Status::Closed).unwrap();
        assert!(matches!(
            decide(&mut stored, &mut fork, id, &who, NOW),
            Err(HubError::Rejected(_))
        ));
        let other = TicketId::from_bytes([3; 16]);
        let mut fresh = new_ticket(id);
        assert!(matches!(
            decide(&mut AutoCommit::new(), &mut fresh, other, &who, NOW),
            Err(HubError::Rejected(_))
        ));
    }

    #[test]
    fn a_change_whose_sequence_number_skips_ahead_is_refused() {
        let (site, config) = ("demo".parse().unwrap(), demo_site());
        let who = Judged {
            role: Role::Customer,
            site: &site,
            config: &config,
            pending_since: None,
        };
        let id = TicketId::from_bytes([6; 16]);
        let mut stored = new_ticket(id);
        let reply = stufe_shared::ticket::NewMessage {
            id: "a".into(),
            author: stufe_shared::ticket::Author::Customer,
            name: "Ada".into(),
            body: "More detail".into(),
            at: 1,
        };
        let mut customer = stored.fork().with_actor(ActorId::from(vec![7, 7, 7]));
        ticket::append_message(&mut customer, &reply).unwrap();
        let heads = stored.get_heads();
        let honest = customer.get_changes(&heads)[0].clone();
        // The same change, numbered as its author's second: its first is nowhere.
        let mut expanded = honest.decode();
        expanded.seq = 2;
        let skipping = automerge::Change::from(expanded);
        let mut fork = stored.fork();
        fork.apply_changes([skipping]).unwrap();
        match decide(&mut stored, &mut fork, id, &who, NOW) {
            Err(HubError::Rejected(why)) => assert!(why.contains("sequence number"), "{why}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Numbered as it was: an ordinary reply.
        let mut fork = stored.fork();
        fork.apply_changes([honest]).unwrap();
        assert!(matches!(
            decide(&mut stored, &mut fork, id, &who, NOW),
            Ok(Decision::Commit { .. })
        ));
    }

    #[test]
    fn a_customer_reply_to_a_request_waiting_on_them_reopens_it_and_resumes_the_sla() {
        let (site, config) = ("demo".parse().unwrap(), demo_site());
        assert!(
            config.business_hours.is_none(),
            "around the clock, for round figures"
        );
        let created = Judged {
            role: Role::Customer,
            site: &site,
            config: &config,
            pending_since: None,
        };
        let id = TicketId::from_bytes([4; 16]);
        let mut stored = AutoCommit::new();
        let mut new = new_ticket(id);
        decide(&mut stored, &mut new, id, &created, NOW).unwrap();
        let mut stored = new;
        ticket::set_status(&mut stored, Status::Pending).unwrap();
        let before = ticket::read_ticket(&stored).unwrap().unwrap();
        const HOUR: i64 = 3_600_000;
        // Waiting on the customer since one hour after creation; they answer
        // two hours after creation: the clock stood still for one hour.
        let replying = Judged {
            pending_since: Some(NOW + HOUR),
            ..created
        };
        let mut fork = stored.fork();
        ticket::append_message(
            &mut fork,
            &ticket::NewMessage {
                id: "m-reply".into(),
                author: ticket::Author::Customer,
                name: String::new(),
                body: "Here is the serial number.".into(),
                at: NOW + 2 * HOUR,
            },
        )
        .unwrap();
        let decision = decide(&mut stored, &mut fork, id, &replying, NOW + 2 * HOUR);
        assert_eq!(
            decision.unwrap(),
            Decision::Commit {
                created: false,
                checked: None,
                new_files: Vec::new(),
            }
        );
        let after = ticket::read_ticket(&fork).unwrap().unwrap();
        assert_eq!(after.status, Status::Open);
        assert_eq!(
            after.first_response_due,
            before.first_response_due.map(|due| due + HOUR)
        );
        assert_eq!(
            after.resolution_due,
            before.resolution_due.map(|due| due + HOUR)
        );
        assert_eq!(after.created_at, before.created_at);
    }
}
