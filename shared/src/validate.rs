//! Who may change what in a ticket. The server applies every incoming change,
//! reads the ticket before and after and calls [`check_ticket_change`] (or,
//! for a change that only set fields and appended messages, checks just those
//! with [`check_appended`]); any error rejects the whole sync message.

use crate::ticket::{Author, Message, ObjectIds, Priority, Status, Ticket, Tier};

pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_TEXT_CHARS: usize = 10_000;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_MESSAGES: usize = 500;

/// The role of the peer whose change is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A widget holding the ticket's capability token.
    Customer,
    /// Support staff (and the server acting for them).
    Staff,
}

/// Site settings that the rules depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRules {
    /// Category ids a ticket may be filed under.
    pub categories: Vec<String>,
}

/// Whether `text` is a bare email address, `local@domain.tld`, as a new
/// ticket may carry it: no display name, no list, no spaces, quotes, angle
/// brackets or control characters, one `@`, a dot in the domain, at most
/// [`MAX_EMAIL_CHARS`] characters. (Replies are mailed to it once the
/// customer confirmed it, see the README.)
pub fn is_plain_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let allowed = |c: char| !c.is_control() && !c.is_whitespace() && !"<>\"(),;:[]\\@".contains(c);
    text.chars().count() <= MAX_EMAIL_CHARS
        && !local.is_empty()
        && local.chars().all(allowed)
        && domain.chars().all(allowed)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

/// Why a change was refused. The message is safe to show to the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejection(pub String);

fn reject<T>(why: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection(why.into()))
}

/// Checks that going from `before` (None: the document was empty) to `after`
/// is allowed for `role`.
pub fn check_ticket_change(
    role: Role,
    before: Option<&Ticket>,
    after: &Ticket,
    rules: &SiteRules,
) -> Result<(), Rejection> {
    check_change(role, before, after, rules, Kept::NONE)
}

/// Earlier messages a check leaves out: both tickets it is given hold only
/// the messages after these, which the change did not touch (see
/// `ticket::read_delta`). They still count towards the limit, and their ids
/// stay taken.
#[derive(Clone, Copy)]
pub struct Kept<'a> {
    pub count: usize,
    pub ids: Option<&'a std::collections::HashSet<String>>,
}

impl Kept<'_> {
    pub const NONE: Kept<'static> = Kept {
        count: 0,
        ids: None,
    };

    fn has(&self, id: &str) -> bool {
        self.ids.is_some_and(|ids| ids.contains(id))
    }
}

/// [`check_ticket_change`] for a change to a ticket with `kept` earlier
/// messages left out of `before` and `after`.
pub fn check_appended(
    role: Role,
    before: &Ticket,
    after: &Ticket,
    rules: &SiteRules,
    kept: Kept<'_>,
) -> Result<(), Rejection> {
    check_change(role, Some(before), after, rules, kept)
}

fn check_change(
    role: Role,
    before: Option<&Ticket>,
    after: &Ticket,
    rules: &SiteRules,
    kept: Kept<'_>,
) -> Result<(), Rejection> {
    check_limits(after, kept.count)?;
    match before {
        None => check_creation(role, after, rules),
        Some(before) => match role {
            Role::Customer => check_customer_update(before, after, kept),
            Role::Staff => check_staff_update(before, after, kept),
        },
    }
}

fn check_limits(t: &Ticket, kept: usize) -> Result<(), Rejection> {
    let chars = |s: &str| s.chars().count();
    if t.subject.trim().is_empty() {
        return reject("the subject must not be empty");
    }
    if chars(&t.subject) > MAX_SUBJECT_CHARS {
        return reject(format!(
            "the subject is longer than {MAX_SUBJECT_CHARS} characters"
        ));
    }
    if chars(&t.description) > MAX_TEXT_CHARS {
        return reject(format!(
            "the description is longer than {MAX_TEXT_CHARS} characters"
        ));
    }
    if let Some(email) = &t.email {
        if chars(email) > MAX_EMAIL_CHARS || !email.contains('@') {
            return reject("the email address is not valid");
        }
    }
    if kept + t.messages.len() > MAX_MESSAGES {
        return reject(format!("a ticket holds at most {MAX_MESSAGES} messages"));
    }
    for m in &t.messages {
        if m.body.trim().is_empty() && m.files.is_empty() {
            return reject("a message must not be empty");
        }
        if let Err(why) = crate::files::check_refs(&m.files) {
            return reject(why);
        }
        if chars(&m.body) > MAX_TEXT_CHARS {
            return reject(format!(
                "a message is longer than {MAX_TEXT_CHARS} characters"
            ));
        }
        if chars(&m.name) > MAX_NAME_CHARS || m.id.is_empty() || m.id.len() > 64 {
            return reject("a message has an invalid id or name");
        }
    }
    if let Some(rating) = &t.rating {
        if !(1..=5).contains(&rating.score) {
            return reject("a rating is between 1 and 5");
        }
        if chars(&rating.comment) > MAX_TEXT_CHARS {
            return reject("the rating comment is too long");
        }
    }
    Ok(())
}

fn check_creation(role: Role, t: &Ticket, rules: &SiteRules) -> Result<(), Rejection> {
    if role != Role::Customer {
        return reject("tickets are created by customers");
    }
    if !rules.categories.contains(&t.category) {
        return reject(format!("unknown category {:?}", t.category));
    }
    if t.status != Status::New || t.tier != Tier::ONE || t.priority != Priority::Normal {
        return reject("a new ticket starts with status new, tier 1 and priority normal");
    }
    if t.created_at.is_some()
        || t.first_response_due.is_some()
        || t.resolution_due.is_some()
        || t.first_response_at.is_some()
    {
        return reject("only the server sets times and SLA due dates");
    }
    if t.email.as_deref().is_some_and(|e| !is_plain_email(e)) {
        return reject(
            "the email address is not valid: give a bare address such as jo@example.com",
        );
    }
    if t.rating.is_some() {
        return reject("a new ticket cannot be rated");
    }
    if t.messages.iter().any(|m| m.author != Author::Customer) {
        return reject("customers may only write messages as the customer");
    }
    Ok(())
}

/// Fields that neither customers nor staff may change after creation.
fn check_identity_unchanged(before: &Ticket, after: &Ticket) -> Result<(), Rejection> {
    if before.id != after.id || before.site != after.site {
        return reject("a ticket's id and site cannot change");
    }
    Ok(())
}

/// Existing messages stay exactly as they are; returns the new ones.
///
/// Messages are matched by id, not by position: concurrent appends (a staff
/// reply and an offline customer reply) are ordered by Automerge by actor id,
/// so an existing message may end up after a new one. What may never happen
/// is that an existing message changes or disappears.
fn appended_messages<'a>(
    before: &Ticket,
    after: &'a Ticket,
    kept: Kept<'_>,
) -> Result<Vec<&'a Message>, Rejection> {
    let mut by_id = std::collections::HashMap::with_capacity(after.messages.len());
    if !after
        .messages
        .iter()
        .all(|m| !kept.has(&m.id) && by_id.insert(m.id.as_str(), m).is_none())
    {
        return reject("message ids must be unique");
    }
    for old in &before.messages {
        match by_id.remove(old.id.as_str()) {
            Some(kept) if kept == old => {}
            _ => return reject("existing messages cannot be edited or removed"),
        }
    }
    // What is left is new, in the order of the thread.
    Ok(after
        .messages
        .iter()
        .filter(|m| by_id.contains_key(m.id.as_str()))
        .collect())
}

/// The objects that hold a ticket's text and messages stay the same objects:
/// replacing one by an identical copy would hide concurrent edits to the old one.
pub fn check_same_objects(before: &ObjectIds, after: &ObjectIds) -> Result<(), Rejection> {
    if before.subject != after.subject || before.description != after.description {
        return reject("the subject and description cannot be replaced, only edited");
    }
    if before.messages != after.messages {
        return reject("the message list cannot be replaced");
    }
    let after_objects: std::collections::HashMap<_, _> = after
        .message_objects
        .iter()
        .map(|(id, obj, body)| ((id.as_str(), obj), body))
        .collect();
    for (id, obj, body) in &before.message_objects {
        if after_objects.get(&(id.as_str(), obj)) != Some(&body) {
            return reject("existing messages cannot be replaced or removed");
        }
    }
    if let Some(rating) = &before.rating {
        if after.rating.as_ref() != Some(rating) {
            return reject("a rating cannot be changed once given");
        }
    }
    Ok(())
}

fn check_customer_update(before: &Ticket, after: &Ticket, kept: Kept<'_>) -> Result<(), Rejection> {
    check_identity_unchanged(before, after)?;
    if before.status != after.status {
        return reject("customers cannot change a ticket's status");
    }
    if before.tier != after.tier {
        return reject("customers cannot change a ticket's tier");
    }
    if before.priority != after.priority || before.category != after.category {
        return reject("customers cannot change a ticket's priority or category");
    }
    if before.email != after.email {
        return reject("customers cannot change a ticket's email");
    }
    if before.created_at != after.created_at
        || before.first_response_due != after.first_response_due
        || before.resolution_due != after.resolution_due
        || before.first_response_at != after.first_response_at
    {
        return reject("customers cannot change times or SLA due dates");
    }
    if (before.subject != after.subject || before.description != after.description)
        && before.status != Status::New
    {
        return reject("the subject and description can only be edited while the ticket is new");
    }
    if appended_messages(before, after, kept)?
        .into_iter()
        .any(|m| m.author != Author::Customer)
    {
        return reject("customers may only write messages as the customer");
    }
    match (&before.rating, &after.rating) {
        (None, None) => Ok(()),
        (Some(b), Some(a)) if a == b => Ok(()),
        (None, Some(_)) if matches!(after.status, Status::Resolved | Status::Closed) => Ok(()),
        (None, Some(_)) => reject("only a resolved ticket can be rated"),
        _ => reject("a rating cannot be changed once given"),
    }
}

fn check_staff_update(before: &Ticket, after: &Ticket, kept: Kept<'_>) -> Result<(), Rejection> {
    check_identity_unchanged(before, after)?;
    appended_messages(before, after, kept)?;
    if before.rating != after.rating {
        return reject("only the customer rates a ticket");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::{self, NewMessage};
    use automerge::AutoCommit;

    fn rules() -> SiteRules {
        SiteRules {
            categories: vec!["technical".into(), "billing".into()],
        }
    }

    fn new_doc() -> AutoCommit {
        ticket::sample_doc()
    }

    fn read(doc: &AutoCommit) -> Ticket {
        ticket::read_ticket(doc).unwrap().unwrap()
    }

    fn message(author: Author, body: &str) -> NewMessage {
        NewMessage {
            id: body.into(),
            author,
            name: "x".into(),
            body: body.into(),
            at: 1,
        }
    }

    /// Applies `edit` to a copy of `doc` and checks the result for `role`.
    fn check(
        doc: &AutoCommit,
        role: Role,
        edit: impl FnOnce(&mut AutoCommit),
    ) -> Result<(), Rejection> {
        let mut after = doc.clone();
        edit(&mut after);
        check_ticket_change(role, Some(&read(doc)), &read(&after), &rules())
    }

    #[test]
    fn customers_create_only_plain_new_tickets() {
        let doc = new_doc();
        assert_eq!(
            check_ticket_change(Role::Customer, None, &read(&doc), &rules()),
            Ok(())
        );
        let mut escalated = doc.clone();
        ticket::set_tier(&mut escalated, Tier::new(3).unwrap()).unwrap();
        assert!(check_ticket_change(Role::Customer, None, &read(&escalated), &rules()).is_err());
        let mut stamped = doc.clone();
        ticket::stamp_sla(&mut stamped, 1, 2, 3).unwrap();
        assert!(check_ticket_change(Role::Customer, None, &read(&stamped), &rules()).is_err());
        let mut elsewhere = read(&doc);
        elsewhere.category = "secret".into();
        assert!(check_ticket_change(Role::Customer, None, &elsewhere, &rules()).is_err());
    }

    #[test]
    fn customers_cannot_touch_status_tier_or_sla() {
        let doc = new_doc();
        assert!(check(&doc, Role::Customer, |d| ticket::set_status(
            d,
            Status::Resolved
        )
        .unwrap())
        .is_err());
        assert!(check(&doc, Role::Customer, |d| ticket::set_tier(
            d,
            Tier::new(2).unwrap()
        )
        .unwrap())
        .is_err());
        assert!(check(&doc, Role::Customer, |d| ticket::set_priority(
            d,
            Priority::Urgent
        )
        .unwrap())
        .is_err());
        assert!(
            check(&doc, Role::Customer, |d| ticket::set_first_response_at(
                d, 9
            )
            .unwrap())
            .is_err()
        );
        assert_eq!(
            check(&doc, Role::Staff, |d| ticket::set_status(d, Status::Open)
                .unwrap()),
            Ok(())
        );
    }

    #[test]
    fn customers_append_only_their_own_messages() {
        let doc = new_doc();
        let ok = check(&doc, Role::Customer, |d| {
            ticket::append_message(d, &message(Author::Customer, "more info")).unwrap()
        });
        assert_eq!(ok, Ok(()));
        let forged = check(&doc, Role::Customer, |d| {
            ticket::append_message(d, &message(Author::Staff, "all fixed")).unwrap()
        });
        assert!(forged.is_err());
    }

    fn file(hash: &str) -> ticket::FileRef {
        ticket::FileRef {
            hash: hash.repeat(64),
            name: "error.png".into(),
            mime: "image/png".into(),
            size: 10,
        }
    }

    #[test]
    fn files_come_with_a_new_message_and_never_change_after() {
        let mut doc = new_doc();
        let only_files = check(&doc, Role::Customer, |d| {
            ticket::append_message_with_files(d, &message(Author::Customer, " "), &[file("a")])
                .unwrap()
        });
        assert_eq!(only_files, Ok(()), "a message of files alone is fine");
        let too_many = check(&doc, Role::Customer, |d| {
            let files = vec![file("a"); crate::files::MAX_FILES_PER_MESSAGE + 1];
            ticket::append_message_with_files(d, &message(Author::Customer, "x"), &files).unwrap()
        });
        assert!(too_many.is_err());
        let bad_type = check(&doc, Role::Customer, |d| {
            let html = ticket::FileRef {
                mime: "text/html".into(),
                ..file("a")
            };
            ticket::append_message_with_files(d, &message(Author::Customer, "x"), &[html]).unwrap()
        });
        assert!(bad_type.is_err());

        ticket::append_message_with_files(
            &mut doc,
            &message(Author::Customer, "see"),
            &[file("a")],
        )
        .unwrap();
        let swap_file = |d: &mut AutoCommit| {
            use automerge::{transaction::Transactable, ReadDoc, ROOT};
            let (_, list) = d.get(ROOT, "messages").unwrap().unwrap();
            let (_, msg) = d.get(&list, 0).unwrap().unwrap();
            let (_, files) = d.get(&msg, "files").unwrap().unwrap();
            let (_, first) = d.get(&files, 0).unwrap().unwrap();
            d.put(&first, "hash", "b".repeat(64)).unwrap();
        };
        assert!(check(&doc, Role::Customer, swap_file).is_err());
        assert!(check(&doc, Role::Staff, swap_file).is_err());
        let add_file = |d: &mut AutoCommit| {
            use automerge::{transaction::Transactable, ReadDoc, ROOT};
            let (_, list) = d.get(ROOT, "messages").unwrap().unwrap();
            let (_, msg) = d.get(&list, 0).unwrap().unwrap();
            let (_, files) = d.get(&msg, "files").unwrap().unwrap();
            let map = d.insert_object(&files, 1, automerge::ObjType::Map).unwrap();
            d.put(&map, "hash", "c".repeat(64)).unwrap();
            d.put(&map, "name", "more.png").unwrap();
            d.put(&map, "type", "image/png").unwrap();
            d.put(&map, "size", 10_i64).unwrap();
        };
        assert!(check(&doc, Role::Customer, add_file).is_err());
    }

    #[test]
    fn nobody_edits_existing_messages() {
        let mut doc = new_doc();
        ticket::append_message(&mut doc, &message(Author::Staff, "try a restart")).unwrap();
        let edit_staff_message = |d: &mut AutoCommit| {
            use automerge::{transaction::Transactable, ReadDoc, ROOT};
            let (_, list) = d.get(ROOT, "messages").unwrap().unwrap();
            let (_, msg) = d.get(&list, 0).unwrap().unwrap();
            let (_, body) = d.get(&msg, "body").unwrap().unwrap();
            d.splice_text(&body, 0, 3, "don't").unwrap();
        };
        assert!(check(&doc, Role::Customer, edit_staff_message).is_err());
        assert!(check(&doc, Role::Staff, edit_staff_message).is_err());
    }

    /// A staff reply and a customer reply made concurrently merge, whatever
    /// order Automerge gives them (it orders concurrent inserts by actor id).
    #[test]
    fn concurrent_replies_merge_in_any_actor_order() {
        use automerge::ActorId;
        let mut orders = std::collections::HashSet::new();
        for n in 0..40u8 {
            let mut base = new_doc();
            let mut staff = base.fork().with_actor(ActorId::from(vec![n, 1, 2]));
            ticket::append_message(&mut staff, &message(Author::Staff, "staff reply")).unwrap();
            let mut customer = base
                .fork()
                .with_actor(ActorId::from(vec![n.wrapping_mul(7), 9]));
            ticket::append_message(&mut customer, &message(Author::Customer, "offline reply"))
                .unwrap();
            // The server holds base + staff; the customer's change arrives.
            let mut merged = staff.clone();
            merged.merge(&mut customer.clone()).unwrap();
            let after = read(&merged);
            orders.insert(after.messages[0].author);
            assert_eq!(
                check_ticket_change(Role::Customer, Some(&read(&staff)), &after, &rules()),
                Ok(())
            );
            let ids = |d: &AutoCommit| ticket::object_ids(d).unwrap().unwrap();
            assert_eq!(check_same_objects(&ids(&staff), &ids(&merged)), Ok(()));
            // And the other way round: the server holds the customer's reply first.
            assert_eq!(
                check_ticket_change(Role::Staff, Some(&read(&customer)), &after, &rules()),
                Ok(())
            );
        }
        assert_eq!(orders.len(), 2, "both orders were tried");
    }

    #[test]
    fn replacing_objects_with_identical_copies_is_refused() {
        use automerge::{transaction::Transactable, ObjType, ROOT};
        let mut doc = new_doc();
        ticket::append_message(&mut doc, &message(Author::Staff, "try a restart")).unwrap();
        let ids = |d: &AutoCommit| ticket::object_ids(d).unwrap().unwrap();
        let mut copy = doc.clone();
        let list = copy.put_object(ROOT, "messages", ObjType::List).unwrap();
        let _ = list;
        ticket::append_message(&mut copy, &message(Author::Staff, "try a restart")).unwrap();
        assert_eq!(read(&copy).messages, read(&doc).messages, "looks the same");
        assert!(check_same_objects(&ids(&doc), &ids(&copy)).is_err());
        let mut subject = doc.clone();
        let text = subject.put_object(ROOT, "subject", ObjType::Text).unwrap();
        subject.splice_text(&text, 0, 0, "Printer offline").unwrap();
        assert_eq!(read(&subject).subject, read(&doc).subject);
        assert!(check_same_objects(&ids(&doc), &ids(&subject)).is_err());
    }

    #[test]
    fn duplicate_message_ids_are_refused() {
        let mut doc = new_doc();
        ticket::append_message(&mut doc, &message(Author::Customer, "same")).unwrap();
        assert!(check(&doc, Role::Customer, |d| ticket::append_message(
            d,
            &message(Author::Customer, "same")
        )
        .unwrap())
        .is_err());
    }

    #[test]
    fn new_tickets_carry_only_a_bare_email_address() {
        for good in ["jo@example.com", "jo.doe+shop@mail.example.de"] {
            assert!(is_plain_email(good), "{good}");
        }
        for bad in [
            "Support <evil@example.com>",
            "\"Bank\" evil@example.com",
            "a@example.com, b@example.com",
            "jo@example.com\r\nBcc: x@example.com",
            "jo@localhost",
            "@example.com",
            "jo@@example.com",
            "jo@.example.com",
            "not-an-email",
        ] {
            assert!(!is_plain_email(bad), "{bad:?}");
            let mut doc = AutoCommit::new();
            let new = ticket::NewTicket {
                id: "00112233445566778899aabbccddeeff".parse().unwrap(),
                site: "demo".into(),
                subject: "Printer offline".into(),
                description: "It blinks red.".into(),
                email: Some(bad.into()),
                category: "technical".into(),
            };
            ticket::create(&mut doc, &new).unwrap();
            assert!(
                check_ticket_change(Role::Customer, None, &read(&doc), &rules()).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn subject_edits_only_while_new() {
        let mut doc = new_doc();
        assert_eq!(
            check(&doc, Role::Customer, |d| ticket::edit_subject(
                d,
                "Printer dead"
            )
            .unwrap()),
            Ok(())
        );
        ticket::set_status(&mut doc, Status::Open).unwrap();
        assert!(check(&doc, Role::Customer, |d| ticket::edit_subject(
            d,
            "Printer dead"
        )
        .unwrap())
        .is_err());
    }

    #[test]
    fn ratings_only_once_resolved_and_only_once() {
        let mut doc = new_doc();
        assert!(check(&doc, Role::Customer, |d| ticket::rate(d, 5, "great")
            .unwrap())
        .is_err());
        ticket::set_status(&mut doc, Status::Resolved).unwrap();
        assert_eq!(
            check(&doc, Role::Customer, |d| ticket::rate(d, 5, "great")
                .unwrap()),
            Ok(())
        );
        assert!(check(&doc, Role::Customer, |d| ticket::rate(d, 9, "great")
            .unwrap())
        .is_err());
        ticket::rate(&mut doc, 4, "ok").unwrap();
        assert!(check(&doc, Role::Customer, |d| ticket::rate(d, 5, "better")
            .unwrap())
        .is_err());
        assert!(check(&doc, Role::Staff, |d| ticket::rate(d, 5, "better").unwrap()).is_err());
    }

    #[test]
    fn limits_hold_for_everyone() {
        let doc = new_doc();
        let long = "x".repeat(MAX_SUBJECT_CHARS + 1);
        assert!(check(&doc, Role::Staff, |d| ticket::edit_subject(d, &long)
            .unwrap())
        .is_err());
        assert!(
            check(&doc, Role::Customer, |d| ticket::edit_subject(d, "  ")
                .unwrap())
            .is_err()
        );
    }

    /// A ticket's fields without messages, and one holding only `appended`.
    fn delta(appended: &[(&str, Author)]) -> (Ticket, Ticket) {
        let before = Ticket {
            messages: Vec::new(),
            ..read(&new_doc())
        };
        let after = Ticket {
            messages: appended
                .iter()
                .map(|(id, author)| Message {
                    id: (*id).into(),
                    author: *author,
                    name: "x".into(),
                    body: "More detail".into(),
                    at: 1,
                    files: Vec::new(),
                })
                .collect(),
            ..before.clone()
        };
        (before, after)
    }

    #[test]
    fn earlier_messages_left_out_keep_their_ids_taken() {
        let ids: std::collections::HashSet<String> = ["m1".into(), "m2".into()].into();
        let kept = Kept {
            count: 2,
            ids: Some(&ids),
        };
        let (before, reused) = delta(&[("m2", Author::Customer)]);
        assert_eq!(
            check_appended(Role::Customer, &before, &reused, &rules(), kept),
            reject("message ids must be unique")
        );
        let (before, fresh) = delta(&[("m3", Author::Customer)]);
        assert_eq!(
            check_appended(Role::Customer, &before, &fresh, &rules(), kept),
            Ok(())
        );
        let (before, as_staff) = delta(&[("m3", Author::Staff)]);
        assert!(check_appended(Role::Customer, &before, &as_staff, &rules(), kept).is_err());
    }

    #[test]
    fn earlier_messages_left_out_still_count_towards_the_limit() {
        let ids = std::collections::HashSet::new();
        let (before, after) = delta(&[("new", Author::Customer)]);
        let full = Kept {
            count: MAX_MESSAGES,
            ids: Some(&ids),
        };
        assert_eq!(
            check_appended(Role::Customer, &before, &after, &rules(), full),
            reject(format!("a ticket holds at most {MAX_MESSAGES} messages"))
        );
        let room = Kept {
            count: MAX_MESSAGES - 1,
            ids: Some(&ids),
        };
        assert_eq!(
            check_appended(Role::Customer, &before, &after, &rules(), room),
            Ok(())
        );
    }
}
