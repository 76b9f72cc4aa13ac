//! Reading a ticket after new changes from what those changes touched, so
//! that checking and committing a reply costs the same on the fifth message
//! as on the five-hundredth.
//!
//! The changes' operations say which objects they wrote to. When they wrote
//! only to the root map's plain fields, to the subject, description or rating,
//! and appended new message maps at the end of the messages list (with
//! whatever those new maps hold), every earlier message is exactly as it was:
//! [`read_delta`] reads the rest and the new messages only, as a [`Delta`].
//! Anything else — an operation on an earlier message, a deletion from the
//! list, a new message that Automerge ordered before an earlier one, a
//! replaced list or text — answers `None`, and the caller reads the whole
//! document. Either way the ticket is what [`read_ticket`] and
//! [`object_ids`] would return.

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
    /// The ids of its messages.
    pub message_ids: HashSet<String>,
}

/// What changes did to a ticket, read from what they touched: every field as
/// it is now, and the messages (and their objects) they appended — only
/// those; the earlier messages are as they were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub fields: Ticket,
    pub objects: ObjectIds,
}

impl Projection {
    /// Reads the whole document: `Ok(None)` for an empty one.
    pub fn read<R: ReadDoc>(doc: &R) -> Result<Option<Projection>, SchemaError> {
        let Some(ticket) = read_ticket(doc)? else {
            return Ok(None);
        };
        let objects = object_ids(doc)?.ok_or(SchemaError::Missing("messages"))?;
        let message_ids = ticket.messages.iter().map(|m| m.id.clone()).collect();
        Ok(Some(Projection {
            ticket,
            objects,
            message_ids,
        }))
    }

    /// The ticket's fields and objects without its messages: what a
    /// [`Delta`] is checked against.
    pub fn fields(&self) -> (Ticket, ObjectIds) {
        let t = &self.ticket;
        let ticket = Ticket {
            id: t.id.clone(),
            site: t.site.clone(),
            subject: t.subject.clone(),
            description: t.description.clone(),
            email: t.email.clone(),
            category: t.category.clone(),
            priority: t.priority,
            status: t.status,
            tier: t.tier,
            created_at: t.created_at,
            first_response_due: t.first_response_due,
            resolution_due: t.resolution_due,
            first_response_at: t.first_response_at,
            messages: Vec::new(),
            rating: t.rating.clone(),
        };
        let o = &self.objects;
        let objects = ObjectIds {
            subject: o.subject.clone(),
            description: o.description.clone(),
            messages: o.messages.clone(),
            message_objects: Vec::new(),
            rating: o.rating.clone(),
        };
        (ticket, objects)
    }

    /// The projection after `delta`.
    pub fn apply(&mut self, delta: Delta) {
        let Delta {
            mut fields,
            mut objects,
        } = delta;
        let mut messages = std::mem::take(&mut self.ticket.messages);
        self.message_ids
            .extend(fields.messages.iter().map(|m| m.id.clone()));
        messages.append(&mut fields.messages);
        let mut message_objects = std::mem::take(&mut self.objects.message_objects);
        message_objects.append(&mut objects.message_objects);
        self.ticket = Ticket { messages, ..fields };
        self.objects = ObjectIds {
            message_objects,
            ..objects
        };
    }
}

/// Reads `doc`, which read as `before` until `changes` (everything applied
/// since, decoded) were applied to it, reading only what they touched.
/// `Ok(None)` when the changes touched more than this follows (see the module
/// documentation); an error is the one a full read would give.
pub fn read_delta<R: ReadDoc>(
    doc: &R,
    before: &Projection,
    changes: &[ExpandedChange],
) -> Result<Option<Delta>, SchemaError> {
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
    let mut messages = Vec::with_capacity(appended.len());
    let mut message_objects = Vec::with_capacity(appended.len());
    for index in kept..kept + appended.len() {
        let (obj, message) = read_message_at(doc, &messages_obj, index)?;
        if !appended.contains(&obj.to_string()) {
            // Ordered before an earlier message: positions moved.
            return Ok(None);
        }
        message_objects.push(message_objects_of(doc, obj)?);
        messages.push(message);
    }
    let fields = read_fields(doc, messages)?;
    let objects = object_ids_with(doc, messages_obj, message_objects)?;
    Ok(Some(Delta { fields, objects }))
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
    use crate::ticket::{self, Author, NewMessage, Status};
    use automerge::transaction::Transactable;
    use automerge::{ActorId, AutoCommit, ChangeHash};

    fn new_doc() -> AutoCommit {
        let mut doc = ticket::sample_doc();
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

    /// Applies `edit` to a copy of `doc` and reads it both ways: whole, and
    /// as the projection before with the delta applied.
    #[allow(clippy::type_complexity)]
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
        let full = Projection::read(&before_doc);
        (full, applied(&mut before_doc, before, &since))
    }

    /// `before` with the delta since `since` applied, if the delta reads.
    fn applied(
        doc: &mut AutoCommit,
        mut before: Projection,
        since: &[ChangeHash],
    ) -> Result<Option<Projection>, SchemaError> {
        let changes: Vec<ExpandedChange> = doc
            .get_changes(since)
            .into_iter()
            .map(|c| c.decode())
            .collect();
        Ok(read_delta(&*doc, &before, &changes)?.map(|delta| {
            before.apply(delta);
            before
        }))
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
        let after = applied(&mut before_doc, before, &since).unwrap();
        assert_eq!(after, Projection::read(&before_doc).unwrap());
        assert!(after.is_some(), "both replies are at the end: followed");
    }
}
