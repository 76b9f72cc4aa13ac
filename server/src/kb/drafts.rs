//! Article drafts: one Automerge document per draft, so several staff can edit
//! the same draft at once and all their edits survive.
//!
//! The console is plain HTML forms, so an editor does not hold a CRDT. Instead
//! every edit carries the draft's heads at the moment the editor opened it
//! (`base`). The server forks the document *at those heads*, applies the
//! submitted title and body there as a text diff, and merges the fork back.
//! Two editors who started from the same version therefore produce two
//! concurrent text changes that Automerge merges — not last-writer-wins.
//!
//! Root map: `title` (T), `body` (T, Markdown), `category`, `locale`, `tags`
//! (S, space separated), `source_tickets` (S, space separated ticket ids),
//! `created_by` (S), `proposed` (bool, a tier-1/2 author asks tier 3 to
//! publish), `published_version` (I, 0 while not published).

use automerge::transaction::Transactable;
use automerge::{
    AutoCommit, AutomergeError, ChangeHash, ObjType, ReadDoc, ScalarValue, Value, ROOT,
};

/// What an editor submits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DraftFields {
    pub title: String,
    pub body: String,
    pub category: String,
    pub locale: String,
    pub tags: String,
    pub source_tickets: String,
}

/// A draft as read, with the heads an editor must send back with an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub fields: DraftFields,
    pub created_by: String,
    pub proposed: bool,
    pub published_version: i64,
    pub heads: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("this draft changed in a way the edit cannot be merged into; reload it")]
    UnknownBase,
    #[error("automerge: {0}")]
    Automerge(#[from] AutomergeError),
}

/// A new draft document.
pub fn create(fields: &DraftFields, created_by: &str) -> Result<AutoCommit, AutomergeError> {
    let mut doc = AutoCommit::new();
    let title = doc.put_object(ROOT, "title", ObjType::Text)?;
    doc.splice_text(&title, 0, 0, &fields.title)?;
    let body = doc.put_object(ROOT, "body", ObjType::Text)?;
    doc.splice_text(&body, 0, 0, &fields.body)?;
    put_scalars(&mut doc, fields)?;
    doc.put(ROOT, "created_by", created_by)?;
    doc.put(ROOT, "published_version", 0_i64)?;
    Ok(doc)
}

fn put_scalars(doc: &mut AutoCommit, fields: &DraftFields) -> Result<(), AutomergeError> {
    doc.put(ROOT, "category", fields.category.as_str())?;
    doc.put(ROOT, "locale", fields.locale.as_str())?;
    doc.put(ROOT, "tags", fields.tags.as_str())?;
    doc.put(ROOT, "source_tickets", fields.source_tickets.as_str())?;
    Ok(())
}

/// Applies an editor's submission made on top of `base` and merges it with
/// whatever others changed since.
pub fn edit(
    doc: &mut AutoCommit,
    base: &[ChangeHash],
    fields: &DraftFields,
) -> Result<(), DraftError> {
    if base.is_empty() || base.iter().any(|h| doc.get_change_by_hash(h).is_none()) {
        return Err(DraftError::UnknownBase);
    }
    let mut branch = doc.fork_at(base)?;
    for (key, value) in [("title", &fields.title), ("body", &fields.body)] {
        if let Some((Value::Object(ObjType::Text), text)) = branch.get(ROOT, key)? {
            branch.update_text(&text, value)?;
        }
    }
    let before = read(&branch);
    if before.fields.category != fields.category
        || before.fields.locale != fields.locale
        || before.fields.tags != fields.tags
        || before.fields.source_tickets != fields.source_tickets
    {
        put_scalars(&mut branch, fields)?;
    }
    doc.merge(&mut branch)?;
    Ok(())
}

/// Records that the draft was published as `version` (0: unpublished).
pub fn mark_published(doc: &mut AutoCommit, version: u32) -> Result<(), AutomergeError> {
    doc.put(ROOT, "published_version", i64::from(version))?;
    doc.put(ROOT, "proposed", false)
}

/// Marks the draft as proposed for publishing.
pub fn propose(doc: &mut AutoCommit) -> Result<(), AutomergeError> {
    doc.put(ROOT, "proposed", true)
}

pub fn read(doc: &AutoCommit) -> Draft {
    let text = |key: &str| match doc.get(ROOT, key) {
        Ok(Some((Value::Object(ObjType::Text), id))) => doc.text(&id).unwrap_or_default(),
        _ => String::new(),
    };
    let scalar = |key: &str| match doc.get(ROOT, key) {
        Ok(Some((Value::Scalar(v), _))) => v.into_owned(),
        _ => ScalarValue::Null,
    };
    let string = |key: &str| match scalar(key) {
        ScalarValue::Str(s) => s.to_string(),
        _ => String::new(),
    };
    let mut doc = doc.clone();
    Draft {
        fields: DraftFields {
            title: text("title"),
            body: text("body"),
            category: string("category"),
            locale: string("locale"),
            tags: string("tags"),
            source_tickets: string("source_tickets"),
        },
        created_by: string("created_by"),
        proposed: matches!(scalar("proposed"), ScalarValue::Boolean(true)),
        published_version: match scalar("published_version") {
            ScalarValue::Int(v) => v,
            _ => 0,
        },
        heads: doc.get_heads().iter().map(ToString::to_string).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(title: &str, body: &str) -> DraftFields {
        DraftFields {
            title: title.into(),
            body: body.into(),
            category: "technical".into(),
            locale: "en".into(),
            ..Default::default()
        }
    }

    fn heads(draft: &Draft) -> Vec<ChangeHash> {
        draft.heads.iter().map(|h| h.parse().unwrap()).collect()
    }

    #[test]
    fn two_editors_from_the_same_version_both_keep_their_edits() {
        let mut doc = create(&fields("Printer", "Hold the button.\nWait."), "sam").unwrap();
        let opened = read(&doc);
        // Both open the draft, then both save; the second save does not erase the first.
        edit(
            &mut doc,
            &heads(&opened),
            &fields("Printer reset", "Hold the button.\nWait."),
        )
        .unwrap();
        edit(
            &mut doc,
            &heads(&opened),
            &fields("Printer", "Hold the power button.\nWait.\nDone."),
        )
        .unwrap();
        let merged = read(&doc).fields;
        assert_eq!(merged.title, "Printer reset");
        assert_eq!(merged.body, "Hold the power button.\nWait.\nDone.");
    }

    #[test]
    fn proposing_and_publishing_are_recorded() {
        let mut doc = create(&fields("A", "B"), "tia").unwrap();
        assert!(!read(&doc).proposed);
        propose(&mut doc).unwrap();
        assert!(read(&doc).proposed);
        mark_published(&mut doc, 2).unwrap();
        let draft = read(&doc);
        assert_eq!((draft.proposed, draft.published_version), (false, 2));
    }

    #[test]
    fn an_edit_from_unknown_heads_is_refused() {
        let mut doc = create(&fields("A", "B"), "sam").unwrap();
        let stranger = create(&fields("X", "Y"), "eve").unwrap();
        let foreign = heads(&read(&stranger));
        assert!(matches!(
            edit(&mut doc, &foreign, &fields("A", "C")),
            Err(DraftError::UnknownBase)
        ));
        assert!(matches!(
            edit(&mut doc, &[], &fields("A", "C")),
            Err(DraftError::UnknownBase)
        ));
        assert_eq!(read(&doc).fields.body, "B");
    }
}
