//! Reading a ticket after new changes from what those changes touched, so
//! that checking and committing a reply costs the same on the fifth message
//! as on the five-hundredth.
//!
//! The changes' operations say which objects they wrote to. When they wrote
//! only to the root map's plain fields, to the subject, description or rating,
//! and appended new message maps at the end of the messages list (with
//! whatever those new maps hold), every earlier message is exactly as it was
//! and only the rest is read again. Anything else — an operation on an
//! earlier message, a deletion from the list, a new message that Automerge
//! ordered before an earlier one, a replaced list or text — answers `None`,
//! and the caller reads the whole document. Either way the result is what
//! [`read_ticket`] and [`object_ids`] would return.

use std::collections::HashSet;

use automerge::{ExpandedChange, ObjType, ReadDoc, ROOT};

use super::{
    check_root, message_objects_of, object_ids, object_ids_with, read_fields, read_message_at,
    read_ticket, ObjectIds, SchemaError, Ticket,
};

/// A ticket as read from its document, with the objects its fields live in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    pub ticket: Ticket,
    pub objects: ObjectIds,
}

impl Projection {
    /// Reads the whole document: `Ok(None)` for an empty one.
    pub fn read<R: ReadDoc>(doc: &R) -> Result<Option<Projection>, SchemaError> {
        let Some(ticket) = read_ticket(doc)? else {
            return Ok(None);
        };
        let objects = object_ids(doc)?.ok_or(SchemaError::Missing("messages"))?;
        Ok(Some(Projection { ticket, objects }))
    }
}

/// Reads `doc`, which read as `before` until `changes` (everything applied
/// since, decoded) were applied to it, reading only what they touched.
/// `Ok(None)` when the changes touched more than this follows (see the module
/// documentation); an error is the one a full read would give.
pub fn read_after<R: ReadDoc>(
    doc: &R,
    before: &Projection,
    changes: &[ExpandedChange],
) -> Result<Option<Projection>, SchemaError> {
    let Some(appended) = appended_messages(before, changes) else {
        return Ok(None);
    };
    let messages_obj = check_root(doc)?;
    if messages_obj != before.objects.messages {
        return Ok(None);
    }
    let kept = before.ticket.messages.len();
    if doc.length(&messages_obj) != kept + appended.len() {
        return Ok(None);
    }
    let mut messages = before.ticket.messages.clone();
    let mut message_objects = before.objects.message_objects.clone();
    for index in kept..kept + appended.len() {
        let (obj, message) = read_message_at(doc, &messages_obj, index)?;
        if !appended.contains(&obj.to_string()) {
            // Ordered before an earlier message: positions moved.
            return Ok(None);
        }
        message_objects.push(message_objects_of(doc, obj)?);
        messages.push(message);
    }
    let ticket = read_fields(doc, messages)?;
    let objects = object_ids_with(doc, messages_obj, message_objects)?;
    Ok(Some(Projection { ticket, objects }))
}

/// The ids of the message maps `changes` inserted into the messages list, when
/// every operation in them is one this module follows; `None` otherwise.
fn appended_messages(before: &Projection, changes: &[ExpandedChange]) -> Option<HashSet<String>> {
    let objects = &before.objects;
    let messages = objects.messages.to_string();
    // Objects whose every field is read again: the root's plain fields, the
    // subject, description and rating.
    let mut reread = vec![
        ROOT.to_string(),
        objects.subject.to_string(),
        objects.description.to_string(),
    ];
    if let Some((rating, comment)) = &objects.rating {
        reread.extend([rating.to_string(), comment.to_string()]);
    }
    let mut created = HashSet::new();
    let mut appended = HashSet::new();
    for change in changes {
        for (offset, op) in change.operations.iter().enumerate() {
            let id = format!(
                "{}@{}",
                change.start_op.get() + offset as u64,
                change.actor_id
            );
            let obj = op.obj.to_string();
            if obj == messages {
                if !(op.insert && op.obj_type() == Some(ObjType::Map)) {
                    return None;
                }
                appended.insert(id.clone());
            } else if obj == "_root" {
                // Replacing the objects that hold the messages, subject or
                // description (or a given rating) is not followed; a first
                // rating is a new object, read again with the rest.
                let replaces = ["messages", "subject", "description"]
                    .into_iter()
                    .any(|key| op.key == key.into());
                let rerates = objects.rating.is_some() && op.key == "rating".into();
                if replaces || rerates {
                    return None;
                }
            } else if !reread.contains(&obj) && !created.contains(&obj) {
                return None;
            }
            if op.obj_type().is_some() {
                created.insert(id);
            }
        }
    }
    Some(appended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::{self, Author, NewMessage, NewTicket, Status};
    use automerge::transaction::Transactable;
    use automerge::{ActorId, AutoCommit, ChangeHash};

    fn new_doc() -> AutoCommit {
        let mut doc = AutoCommit::new();
        ticket::create(
            &mut doc,
            &NewTicket {
                id: "00112233445566778899aabbccddeeff".parse().unwrap(),
                site: "demo".into(),
                subject: "Printer offline".into(),
                description: "It blinks red.".into(),
                email: Some("ada@example.com".into()),
                category: "technical".into(),
            },
        )
        .unwrap();
        for i in 0..3 {
            append(&mut doc, &format!("m{i}"), Author::Customer);
        }
        doc.commit();
        doc
    }

    fn append(doc: &mut AutoCommit, id: &str, author: Author) {
        ticket::append_message(
            doc,
            &NewMessage {
                id: id.into(),
                author,
                name: "Ada".into(),
                body: format!("Message {id}"),
                at: 1_700_000_000_000,
            },
        )
        .unwrap();
    }

    /// Applies `edit` to a copy of `doc` and reads it both ways.
    fn both_ways(
        doc: &AutoCommit,
        edit: impl FnOnce(&mut AutoCommit),
    ) -> (
        Result<Option<Projection>, SchemaError>,
        Result<Option<Projection>, SchemaError>,
    ) {
        let mut before_doc = doc.clone();
        let before = Projection::read(&before_doc).unwrap().unwrap();
        let since: Vec<ChangeHash> = before_doc.get_heads();
        let mut after_doc = doc.clone().with_actor(ActorId::random());
        edit(&mut after_doc);
        after_doc.commit();
        before_doc.merge(&mut after_doc).unwrap();
        let changes: Vec<ExpandedChange> = before_doc
            .get_changes(&since)
            .into_iter()
            .map(|c| c.decode())
            .collect();
        let full = Projection::read(&before_doc);
        (full, read_after(&before_doc, &before, &changes))
    }

    #[test]
    fn an_appended_reply_and_status_change_read_as_a_full_read_does() {
        let (full, after) = both_ways(&new_doc(), |doc| {
            append(doc, "s1", Author::Staff);
            append(doc, "s2", Author::Staff);
            ticket::set_status(doc, Status::Open).unwrap();
        });
        let after = after.unwrap().expect("followed");
        assert_eq!(Some(&after), full.unwrap().as_ref());
        assert_eq!(after.ticket.messages.len(), 5);
        assert_eq!(after.ticket.status, Status::Open);
    }

    #[test]
    fn edits_of_subject_and_a_first_rating_are_read_again() {
        let (full, after) = both_ways(&new_doc(), |doc| {
            ticket::edit_subject(doc, "Printer still offline").unwrap();
            ticket::rate(doc, 4, "Quick").unwrap();
        });
        let after = after.unwrap().expect("followed");
        assert_eq!(Some(&after), full.unwrap().as_ref());
        assert_eq!(after.ticket.subject, "Printer still offline");
        assert_eq!(after.ticket.rating.map(|r| r.score), Some(4));
    }

    #[test]
    fn an_edit_of_an_earlier_message_is_not_followed() {
        let (_, after) = both_ways(&new_doc(), |doc| {
            let list = doc.get(ROOT, "messages").unwrap().unwrap().1;
            let first = doc.get(&list, 0).unwrap().unwrap().1;
            let body = doc.get(&first, "body").unwrap().unwrap().1;
            doc.splice_text(&body, 0, 7, "Changed").unwrap();
        });
        assert_eq!(after, Ok(None));
    }

    #[test]
    fn deleting_or_inserting_before_earlier_messages_is_not_followed() {
        let (_, deleted) = both_ways(&new_doc(), |doc| {
            let list = doc.get(ROOT, "messages").unwrap().unwrap().1;
            doc.delete(&list, 1).unwrap();
        });
        assert_eq!(deleted, Ok(None));
        let (full, inserted) = both_ways(&new_doc(), |doc| {
            let list = doc.get(ROOT, "messages").unwrap().unwrap().1;
            let map = doc.insert_object(&list, 0, ObjType::Map).unwrap();
            doc.put(&map, "id", "early").unwrap();
        });
        // The insert is followed as far as the list goes, but the new map is
        // not at the end: the caller reads the whole document.
        assert_eq!(inserted, Ok(None));
        assert!(full.is_err(), "an incomplete message does not read");
    }

    #[test]
    fn replacing_the_message_list_is_not_followed() {
        let (_, after) = both_ways(&new_doc(), |doc| {
            doc.put_object(ROOT, "messages", ObjType::List).unwrap();
        });
        assert_eq!(after, Ok(None));
    }

    #[test]
    fn a_new_message_with_an_unknown_field_fails_as_a_full_read_does() {
        let (full, after) = both_ways(&new_doc(), |doc| {
            append(doc, "s1", Author::Staff);
            let list = doc.get(ROOT, "messages").unwrap().unwrap().1;
            let last = doc.get(&list, 3).unwrap().unwrap().1;
            doc.put(&last, "extra", 1).unwrap();
        });
        let err = after.expect_err("refused");
        assert!(matches!(err, SchemaError::UnknownField(ref f) if f == "messages[3].extra"));
        assert_eq!(full, Err(err));
    }

    #[test]
    fn concurrent_replies_read_as_a_full_read_does() {
        let doc = new_doc();
        let mut before_doc = doc.clone();
        let before = Projection::read(&before_doc).unwrap().unwrap();
        let since = before_doc.get_heads();
        let mut staff = doc.clone().with_actor(ActorId::random());
        let mut customer = doc.clone().with_actor(ActorId::random());
        append(&mut staff, "s1", Author::Staff);
        append(&mut customer, "c1", Author::Customer);
        before_doc.merge(&mut staff).unwrap();
        before_doc.merge(&mut customer).unwrap();
        let changes: Vec<ExpandedChange> = before_doc
            .get_changes(&since)
            .into_iter()
            .map(|c| c.decode())
            .collect();
        let after = read_after(&before_doc, &before, &changes).unwrap();
        assert_eq!(after, Projection::read(&before_doc).unwrap());
    }
}
