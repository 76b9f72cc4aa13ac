//! A ticket after a change, as the gate checks it and the commit stores its
//! summary: read from what the change touched when it only appended messages
//! and set fields (a [`Delta`], the usual case, whose cost does not grow with
//! the ticket's history), or read whole otherwise. Both are checked by the
//! same rules (`stufe_shared::validate`); debug builds (every test) also read
//! and check the whole ticket and compare.

use automerge::{AutoCommit, ChangeHash, ExpandedChange};
use stufe_shared::ticket::{self, Author, Delta, Projection, Ticket};
use stufe_shared::validate::{
    check_appended, check_same_objects, check_ticket_change, Kept, Role, SiteRules,
};

use super::error::HubError;

/// A ticket after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projected {
    /// Read from what the change touched, relative to the projection before.
    Delta(Delta),
    /// Read whole; `None`: the document is empty.
    Whole(Option<Projection>),
}

/// Projects `doc`, which read as `before` at `since` (no pending transaction).
/// A document that does not read is a rejected change.
pub fn project(
    doc: &mut AutoCommit,
    before: Option<&Projection>,
    since: &[ChangeHash],
) -> Result<Projected, HubError> {
    let rejected = |err: ticket::SchemaError| HubError::Rejected(err.to_string());
    let delta = match before {
        Some(before) => {
            let changes: Vec<ExpandedChange> = doc
                .get_changes(since)
                .into_iter()
                .map(|c| c.decode())
                .collect();
            ticket::read_delta(&*doc, before, &changes)
        }
        None => Ok(None),
    };
    let projected = match delta {
        Ok(Some(delta)) => Projected::Delta(delta),
        Ok(None) => Projected::Whole(Projection::read(&*doc).map_err(rejected)?),
        Err(err) => {
            #[cfg(debug_assertions)]
            assert_eq!(
                Projection::read(&*doc).err(),
                Some(err.clone()),
                "a delta that does not read fails as the whole document does"
            );
            return Err(rejected(err));
        }
    };
    #[cfg(debug_assertions)]
    assert_eq!(
        projected.clone().applied_to(before.cloned()),
        Projection::read(&*doc).expect("read above"),
        "a ticket read from what changed reads as the whole document"
    );
    Ok(projected)
}

impl Projected {
    /// The ticket after the change: its fields, and for a delta only the
    /// messages it appended.
    pub fn fields(&self) -> Option<&Ticket> {
        match self {
            Projected::Delta(delta) => Some(&delta.fields),
            Projected::Whole(projection) => projection.as_ref().map(|p| &p.ticket),
        }
    }

    /// Whether the change added a message written by the customer.
    pub fn adds_customer_message(&self, before: &Ticket) -> bool {
        let customers = |messages: &[ticket::Message]| {
            messages
                .iter()
                .filter(|m| m.author == Author::Customer)
                .count()
        };
        match self {
            Projected::Delta(delta) => customers(&delta.fields.messages) > 0,
            Projected::Whole(after) => after
                .as_ref()
                .is_some_and(|a| customers(&a.ticket.messages) > customers(&before.messages)),
        }
    }

    /// The messages the change added (`before`: the ticket before it,
    /// `None` when the document was empty).
    pub fn added_messages(&self, before: Option<&Ticket>) -> Vec<&ticket::Message> {
        match self {
            Projected::Delta(delta) => delta.fields.messages.iter().collect(),
            Projected::Whole(after) => {
                let known: std::collections::HashSet<&str> = before
                    .map(|b| b.messages.iter().map(|m| m.id.as_str()).collect())
                    .unwrap_or_default();
                after
                    .iter()
                    .flat_map(|a| &a.ticket.messages)
                    .filter(|m| !known.contains(m.id.as_str()))
                    .collect()
            }
        }
    }

    /// The files referred to by the messages the change added.
    pub fn new_files(&self, before: Option<&Ticket>) -> Vec<ticket::FileRef> {
        self.added_messages(before)
            .into_iter()
            .flat_map(|m| m.files.clone())
            .collect()
    }

    /// Checks the change from `before` (`None`: the document was empty) for
    /// `role` under `rules`; a delta with the earlier messages left out.
    pub fn check(
        &self,
        role: Role,
        before: Option<&Projection>,
        rules: &SiteRules,
    ) -> Result<(), HubError> {
        let verdict = self.check_now(role, before, rules);
        #[cfg(debug_assertions)]
        if let Projected::Delta(_) = self {
            let whole = Projected::Whole(self.clone().applied_to(before.cloned()));
            assert_eq!(
                whole.check_now(role, before, rules).is_ok(),
                verdict.is_ok(),
                "a delta is judged as the whole ticket is ({verdict:?})"
            );
        }
        verdict.map_err(|rejection| HubError::Rejected(rejection.0))
    }

    fn check_now(
        &self,
        role: Role,
        before: Option<&Projection>,
        rules: &SiteRules,
    ) -> Result<(), stufe_shared::validate::Rejection> {
        match (self, before) {
            (Projected::Delta(delta), Some(before)) => {
                let (fields, objects) = before.fields();
                let kept = Kept {
                    count: before.ticket.messages.len(),
                    ids: Some(&before.message_ids),
                };
                check_appended(role, &fields, &delta.fields, rules, kept)?;
                check_same_objects(&objects, &delta.objects)
            }
            (Projected::Whole(Some(after)), before) => {
                check_ticket_change(role, before.map(|b| &b.ticket), &after.ticket, rules)?;
                match before {
                    Some(before) => check_same_objects(&before.objects, &after.objects),
                    None => Ok(()),
                }
            }
            (Projected::Whole(None), _) | (Projected::Delta(_), None) => Err(
                stufe_shared::validate::Rejection("the ticket document is empty".into()),
            ),
        }
    }

    /// The projection after the change, given the one before (a delta is
    /// applied to it in place).
    pub fn applied_to(self, before: Option<Projection>) -> Option<Projection> {
        match self {
            Projected::Delta(delta) => before.map(|mut projection| {
                projection.apply(delta);
                projection
            }),
            Projected::Whole(projection) => projection,
        }
    }
}
