//! The ticket document: its schema, a strict reader and the writers every peer uses.
//!
//! A ticket is one Automerge document whose root map holds exactly these keys
//! (T = Automerge text object, S = scalar string, I = scalar int, TS = scalar timestamp in ms):
//!
//! | key | type | written by |
//! |---|---|---|
//! | `schema` | S `"stufe.ticket/1"` | creator |
//! | `id`, `site`, `category` | S | creator |
//! | `subject`, `description` | T | creator; the customer may edit while status is `new` |
//! | `email` | S, optional | creator |
//! | `priority` | S `low`/`normal`/`high`/`urgent` | staff (creator: `normal`) |
//! | `status` | S `new`/`open`/`pending`/`resolved`/`closed` | staff (creator: `new`) |
//! | `tier` | I 1–3 | staff (creator: 1) |
//! | `created_at`, `first_response_due`, `resolution_due` | TS | server, right after creation |
//! | `first_response_at` | TS, optional | server, on the first staff reply |
//! | `messages` | list of maps `{id: S, author: S customer/staff, name: S, body: T, at: TS}` | append-only |
//! | `rating` | map `{score: I 1–5, comment: T}`, optional | customer, once resolved |

use automerge::transaction::Transactable;
use automerge::{AutomergeError, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};

use crate::ids::TicketId;

mod after;
mod notice;
pub use after::{read_delta, Delta, Projection};
pub use notice::{
    article_notice_text, handoff_id, handoff_text, handoff_tiers, is_system_notice, notice_id,
    SystemNotice, HANDOFF_PREFIX,
};

/// A new ticket ("Printer offline" on site `demo`) for this crate's tests.
#[cfg(test)]
pub(crate) fn sample_doc() -> automerge::AutoCommit {
    let mut doc = automerge::AutoCommit::new();
    create(
        &mut doc,
        &NewTicket {
            id: "00112233445566778899aabbccddeeff".parse().unwrap(),
            site: "demo".into(),
            subject: "Printer offline".into(),
            description: "It blinks red.".into(),
            email: None,
            category: "technical".into(),
        },
    )
    .unwrap();
    doc
}

pub const SCHEMA: &str = "stufe.ticket/1";

/// Everything a ticket holds, read from its document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ticket {
    pub id: String,
    pub site: String,
    pub subject: String,
    pub description: String,
    pub email: Option<String>,
    pub category: String,
    pub priority: Priority,
    pub status: Status,
    pub tier: Tier,
    pub created_at: Option<i64>,
    pub first_response_due: Option<i64>,
    pub resolution_due: Option<i64>,
    pub first_response_at: Option<i64>,
    pub messages: Vec<Message>,
    pub rating: Option<Rating>,
}

/// One message in a ticket's thread.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    pub id: String,
    pub author: Author,
    pub name: String,
    pub body: String,
    pub at: i64,
    /// Files attached to the message (uploaded over HTTP first; the document
    /// holds only these references).
    pub files: Vec<FileRef>,
}

/// A file attached to a message: what the document says of an uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileRef {
    /// SHA-256 of the stored bytes, 64 lowercase hex characters.
    pub hash: String,
    /// The file's name as the uploader gave it (1–255 characters, no `/`, `\` or control characters).
    pub name: String,
    /// The media type the server found in the content (see [`crate::files::ALLOWED_TYPES`]).
    #[serde(rename = "type")]
    pub mime: String,
    /// Bytes as stored.
    pub size: i64,
}

/// The customer's rating of a resolved ticket.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rating {
    pub score: i64,
    pub comment: String,
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Where a ticket is in its life.
    Status { New = "new", Open = "open", Pending = "pending", Resolved = "resolved", Closed = "closed" }
);
string_enum!(
    /// How urgent staff judge a ticket to be.
    Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" }
);
string_enum!(
    /// Who wrote a message.
    Author { Customer = "customer", Staff = "staff" }
);

/// The support tier working a ticket: 1 general, 2 technical, 3 advanced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Tier(u8);

impl Tier {
    pub const ONE: Tier = Tier(1);
    pub fn new(tier: i64) -> Option<Tier> {
        (1..=3).contains(&tier).then_some(Tier(tier as u8))
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

/// Why a document is not a well-formed ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("missing field `{0}`")]
    Missing(&'static str),
    #[error("field `{0}` has the wrong type")]
    WrongType(String),
    #[error("field `{0}` has conflicting concurrent values")]
    Conflict(String),
    #[error("field `{0}` has an unknown value")]
    BadValue(String),
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("document is not a ticket (schema is not {SCHEMA})")]
    NotATicket,
    #[error("automerge: {0}")]
    Automerge(String),
}

impl From<AutomergeError> for SchemaError {
    fn from(err: AutomergeError) -> Self {
        SchemaError::Automerge(err.to_string())
    }
}

const ROOT_KEYS: &[&str] = &[
    "schema",
    "id",
    "site",
    "subject",
    "description",
    "email",
    "category",
    "priority",
    "status",
    "tier",
    "created_at",
    "first_response_due",
    "resolution_due",
    "first_response_at",
    "messages",
    "rating",
];
const MESSAGE_KEYS: &[&str] = &["id", "author", "name", "body", "at", "files"];
const FILE_KEYS: &[&str] = &["hash", "name", "type", "size"];
const RATING_KEYS: &[&str] = &["score", "comment"];

/// Reads a ticket strictly: `Ok(None)` for an empty document, an error for
/// anything that does not match the schema exactly (unknown keys, wrong
/// types, concurrent conflicting values).
pub fn read_ticket<R: ReadDoc>(doc: &R) -> Result<Option<Ticket>, SchemaError> {
    if doc.length(ROOT) == 0 {
        return Ok(None);
    }
    let messages_obj = check_root(doc)?;
    let mut messages = Vec::with_capacity(doc.length(&messages_obj));
    for index in 0..doc.length(&messages_obj) {
        messages.push(read_message_at(doc, &messages_obj, index)?.1);
    }
    read_fields(doc, messages).map(Some)
}

/// Checks the root's keys and schema; returns the messages list.
fn check_root<R: ReadDoc>(doc: &R) -> Result<ObjId, SchemaError> {
    only_known_keys(doc, &ROOT, ROOT_KEYS, "")?;
    if string(doc, &ROOT, "schema")? != SCHEMA {
        return Err(SchemaError::NotATicket);
    }
    object(doc, &ROOT, "messages", ObjType::List)?.ok_or(SchemaError::Missing("messages"))
}

/// The message at `index` of the messages list, and its map.
fn read_message_at<R: ReadDoc>(
    doc: &R,
    messages_obj: &ObjId,
    index: usize,
) -> Result<(ObjId, Message), SchemaError> {
    let path = format!("messages[{index}]");
    let (value, obj) = doc
        .get(messages_obj, index)?
        .ok_or_else(|| SchemaError::WrongType(path.clone()))?;
    if value != Value::Object(ObjType::Map) {
        return Err(SchemaError::WrongType(path));
    }
    only_known_keys(doc, &obj, MESSAGE_KEYS, &path)?;
    let author = string(doc, &obj, "author")?;
    let message = Message {
        id: string(doc, &obj, "id")?,
        author: Author::parse(&author).ok_or(SchemaError::BadValue(format!("{path}.author")))?,
        name: string(doc, &obj, "name")?,
        body: text(doc, &obj, "body")?,
        at: timestamp(doc, &obj, "at")?.ok_or(SchemaError::Missing("at"))?,
        files: read_files(doc, &obj, &path)?,
    };
    Ok((obj, message))
}

/// A message's `files`: absent is none; else a list of maps with exactly
/// [`FILE_KEYS`].
fn read_files<R: ReadDoc>(
    doc: &R,
    message: &ObjId,
    path: &str,
) -> Result<Vec<FileRef>, SchemaError> {
    let Some(list) = object(doc, message, "files", ObjType::List)? else {
        return Ok(Vec::new());
    };
    (0..doc.length(&list))
        .map(|index| {
            let path = format!("{path}.files[{index}]");
            let (value, obj) = doc
                .get(&list, index)?
                .ok_or_else(|| SchemaError::WrongType(path.clone()))?;
            if value != Value::Object(ObjType::Map) {
                return Err(SchemaError::WrongType(path));
            }
            only_known_keys(doc, &obj, FILE_KEYS, &path)?;
            Ok(FileRef {
                hash: string(doc, &obj, "hash")?,
                name: string(doc, &obj, "name")?,
                mime: string(doc, &obj, "type")?,
                size: int(doc, &obj, "size")?,
            })
        })
        .collect()
}

/// Everything but the messages (read already), after [`check_root`].
fn read_fields<R: ReadDoc>(doc: &R, messages: Vec<Message>) -> Result<Ticket, SchemaError> {
    let rating = match object(doc, &ROOT, "rating", ObjType::Map)? {
        None => None,
        Some(obj) => {
            only_known_keys(doc, &obj, RATING_KEYS, "rating")?;
            Some(Rating {
                score: int(doc, &obj, "score")?,
                comment: text(doc, &obj, "comment")?,
            })
        }
    };
    let status = string(doc, &ROOT, "status")?;
    let priority = string(doc, &ROOT, "priority")?;
    Ok(Ticket {
        id: string(doc, &ROOT, "id")?,
        site: string(doc, &ROOT, "site")?,
        subject: text(doc, &ROOT, "subject")?,
        description: text(doc, &ROOT, "description")?,
        email: optional_string(doc, &ROOT, "email")?,
        category: string(doc, &ROOT, "category")?,
        priority: Priority::parse(&priority).ok_or(SchemaError::BadValue("priority".into()))?,
        status: Status::parse(&status).ok_or(SchemaError::BadValue("status".into()))?,
        tier: Tier::new(int(doc, &ROOT, "tier")?).ok_or(SchemaError::BadValue("tier".into()))?,
        created_at: timestamp(doc, &ROOT, "created_at")?,
        first_response_due: timestamp(doc, &ROOT, "first_response_due")?,
        resolution_due: timestamp(doc, &ROOT, "resolution_due")?,
        first_response_at: timestamp(doc, &ROOT, "first_response_at")?,
        messages,
        rating,
    })
}

/// The Automerge objects a ticket's fields live in. Two documents with the
/// same visible content can differ here: deleting `messages` and writing an
/// identical list makes a new object, and with it a concurrent staff reply to
/// the old list would vanish. The gate compares these before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectIds {
    pub subject: ObjId,
    pub description: ObjId,
    pub messages: ObjId,
    /// Each message's map and body text, by message id.
    pub message_objects: Vec<(String, ObjId, ObjId)>,
    /// The rating map and its comment text.
    pub rating: Option<(ObjId, ObjId)>,
}

/// The objects of a ticket that [`read_ticket`] reads without error.
pub fn object_ids<R: ReadDoc>(doc: &R) -> Result<Option<ObjectIds>, SchemaError> {
    if doc.length(ROOT) == 0 {
        return Ok(None);
    }
    let messages =
        object(doc, &ROOT, "messages", ObjType::List)?.ok_or(SchemaError::Missing("messages"))?;
    let mut message_objects = Vec::with_capacity(doc.length(&messages));
    for index in 0..doc.length(&messages) {
        let (_, obj) = doc
            .get(&messages, index)?
            .ok_or_else(|| SchemaError::WrongType(format!("messages[{index}]")))?;
        message_objects.push(message_objects_of(doc, obj)?);
    }
    object_ids_with(doc, messages, message_objects).map(Some)
}

/// The objects of a message: its map's id under its id, and its body text.
fn message_objects_of<R: ReadDoc>(
    doc: &R,
    obj: ObjId,
) -> Result<(String, ObjId, ObjId), SchemaError> {
    let body = object(doc, &obj, "body", ObjType::Text)?.ok_or(SchemaError::Missing("body"))?;
    Ok((string(doc, &obj, "id")?, obj, body))
}

/// [`ObjectIds`] with the messages' objects known already.
fn object_ids_with<R: ReadDoc>(
    doc: &R,
    messages: ObjId,
    message_objects: Vec<(String, ObjId, ObjId)>,
) -> Result<ObjectIds, SchemaError> {
    let text_of = |obj: &ObjId, key: &'static str| {
        object(doc, obj, key, ObjType::Text)?.ok_or(SchemaError::Missing(key))
    };
    let rating = match object(doc, &ROOT, "rating", ObjType::Map)? {
        None => None,
        Some(obj) => {
            let comment = text_of(&obj, "comment")?;
            Some((obj, comment))
        }
    };
    Ok(ObjectIds {
        subject: text_of(&ROOT, "subject")?,
        description: text_of(&ROOT, "description")?,
        messages,
        message_objects,
        rating,
    })
}

fn only_known_keys<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    known: &[&str],
    path: &str,
) -> Result<(), SchemaError> {
    match doc.keys(obj).find(|key| !known.contains(&key.as_str())) {
        Some(key) if path.is_empty() => Err(SchemaError::UnknownField(key)),
        Some(key) => Err(SchemaError::UnknownField(format!("{path}.{key}"))),
        None => Ok(()),
    }
}

/// The single value under `key`, or an error when concurrent writes left several.
fn single<'a, R: ReadDoc>(
    doc: &'a R,
    obj: &ObjId,
    key: &str,
) -> Result<Option<(Value<'a>, ObjId)>, SchemaError> {
    let mut all = doc.get_all(obj, key)?;
    match all.len() {
        0 => Ok(None),
        1 => Ok(all.pop()),
        _ => Err(SchemaError::Conflict(key.to_owned())),
    }
}

fn scalar<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<Option<ScalarValue>, SchemaError> {
    match single(doc, obj, key)? {
        None => Ok(None),
        Some((Value::Scalar(value), _)) => Ok(Some(value.into_owned())),
        Some(_) => Err(SchemaError::WrongType(key.to_owned())),
    }
}

fn optional_string<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
) -> Result<Option<String>, SchemaError> {
    match scalar(doc, obj, key)? {
        None => Ok(None),
        Some(ScalarValue::Str(s)) => Ok(Some(s.to_string())),
        Some(_) => Err(SchemaError::WrongType(key.to_owned())),
    }
}

fn string<R: ReadDoc>(doc: &R, obj: &ObjId, key: &'static str) -> Result<String, SchemaError> {
    optional_string(doc, obj, key)?.ok_or(SchemaError::Missing(key))
}

fn int<R: ReadDoc>(doc: &R, obj: &ObjId, key: &'static str) -> Result<i64, SchemaError> {
    match scalar(doc, obj, key)? {
        None => Err(SchemaError::Missing(key)),
        Some(ScalarValue::Int(i)) => Ok(i),
        Some(ScalarValue::Uint(u)) => {
            i64::try_from(u).map_err(|_| SchemaError::BadValue(key.into()))
        }
        Some(_) => Err(SchemaError::WrongType(key.to_owned())),
    }
}

fn timestamp<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<Option<i64>, SchemaError> {
    match scalar(doc, obj, key)? {
        None => Ok(None),
        Some(ScalarValue::Timestamp(ms)) => Ok(Some(ms)),
        Some(_) => Err(SchemaError::WrongType(key.to_owned())),
    }
}

fn object<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
    kind: ObjType,
) -> Result<Option<ObjId>, SchemaError> {
    match single(doc, obj, key)? {
        None => Ok(None),
        Some((Value::Object(found), id)) if found == kind => Ok(Some(id)),
        Some(_) => Err(SchemaError::WrongType(key.to_owned())),
    }
}

fn text<R: ReadDoc>(doc: &R, obj: &ObjId, key: &'static str) -> Result<String, SchemaError> {
    let id = object(doc, obj, key, ObjType::Text)?.ok_or(SchemaError::Missing(key))?;
    Ok(doc.text(&id)?)
}

/// What a customer fills in to open a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub id: TicketId,
    pub site: String,
    pub subject: String,
    pub description: String,
    pub email: Option<String>,
    pub category: String,
}

/// A message to append to a ticket's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub id: String,
    pub author: Author,
    pub name: String,
    pub body: String,
    pub at: i64,
}

/// Writes a new ticket into an empty document.
pub fn create<D: Transactable>(doc: &mut D, new: &NewTicket) -> Result<(), AutomergeError> {
    doc.put(ROOT, "schema", SCHEMA)?;
    doc.put(ROOT, "id", new.id.to_string())?;
    doc.put(ROOT, "site", new.site.as_str())?;
    let subject = doc.put_object(ROOT, "subject", ObjType::Text)?;
    doc.splice_text(&subject, 0, 0, &new.subject)?;
    let description = doc.put_object(ROOT, "description", ObjType::Text)?;
    doc.splice_text(&description, 0, 0, &new.description)?;
    if let Some(email) = &new.email {
        doc.put(ROOT, "email", email.as_str())?;
    }
    doc.put(ROOT, "category", new.category.as_str())?;
    doc.put(ROOT, "priority", Priority::Normal.as_str())?;
    doc.put(ROOT, "status", Status::New.as_str())?;
    doc.put(ROOT, "tier", 1_i64)?;
    doc.put_object(ROOT, "messages", ObjType::List)?;
    Ok(())
}

/// Appends a message at the end of the thread.
pub fn append_message<D: Transactable>(
    doc: &mut D,
    message: &NewMessage,
) -> Result<(), AutomergeError> {
    append_message_with_files(doc, message, &[])
}

/// Appends a message with files attached (uploaded for this ticket first).
pub fn append_message_with_files<D: Transactable>(
    doc: &mut D,
    message: &NewMessage,
    files: &[FileRef],
) -> Result<(), AutomergeError> {
    let messages = match doc.get(ROOT, "messages")? {
        Some((Value::Object(ObjType::List), id)) => id,
        _ => return Err(AutomergeError::InvalidOp(ObjType::List)),
    };
    let at = doc.length(&messages);
    let obj = doc.insert_object(&messages, at, ObjType::Map)?;
    doc.put(&obj, "id", message.id.as_str())?;
    doc.put(&obj, "author", message.author.as_str())?;
    doc.put(&obj, "name", message.name.as_str())?;
    let body = doc.put_object(&obj, "body", ObjType::Text)?;
    doc.splice_text(&body, 0, 0, &message.body)?;
    doc.put(&obj, "at", ScalarValue::Timestamp(message.at))?;
    if !files.is_empty() {
        let list = doc.put_object(&obj, "files", ObjType::List)?;
        for (index, file) in files.iter().enumerate() {
            let map = doc.insert_object(&list, index, ObjType::Map)?;
            doc.put(&map, "hash", file.hash.as_str())?;
            doc.put(&map, "name", file.name.as_str())?;
            doc.put(&map, "type", file.mime.as_str())?;
            doc.put(&map, "size", file.size)?;
        }
    }
    Ok(())
}

/// Stamps the server's creation time and SLA due times.
pub fn stamp_sla<D: Transactable>(
    doc: &mut D,
    created_at: i64,
    first_response_due: i64,
    resolution_due: i64,
) -> Result<(), AutomergeError> {
    doc.put(ROOT, "created_at", ScalarValue::Timestamp(created_at))?;
    doc.put(
        ROOT,
        "first_response_due",
        ScalarValue::Timestamp(first_response_due),
    )?;
    doc.put(
        ROOT,
        "resolution_due",
        ScalarValue::Timestamp(resolution_due),
    )?;
    Ok(())
}

pub fn set_first_response_at<D: Transactable>(doc: &mut D, at: i64) -> Result<(), AutomergeError> {
    doc.put(ROOT, "first_response_at", ScalarValue::Timestamp(at))
}

pub fn set_status<D: Transactable>(doc: &mut D, status: Status) -> Result<(), AutomergeError> {
    doc.put(ROOT, "status", status.as_str())
}

pub fn set_tier<D: Transactable>(doc: &mut D, tier: Tier) -> Result<(), AutomergeError> {
    doc.put(ROOT, "tier", i64::from(tier.get()))
}

pub fn set_priority<D: Transactable>(
    doc: &mut D,
    priority: Priority,
) -> Result<(), AutomergeError> {
    doc.put(ROOT, "priority", priority.as_str())
}

/// Records the customer's rating of a resolved ticket.
pub fn rate<D: Transactable>(doc: &mut D, score: i64, comment: &str) -> Result<(), AutomergeError> {
    let rating = doc.put_object(ROOT, "rating", ObjType::Map)?;
    doc.put(&rating, "score", score)?;
    let text = doc.put_object(&rating, "comment", ObjType::Text)?;
    doc.splice_text(&text, 0, 0, comment)?;
    Ok(())
}

/// Replaces the subject text, keeping concurrent edits mergeable.
pub fn edit_subject<D: Transactable>(doc: &mut D, subject: &str) -> Result<(), AutomergeError> {
    edit_text(doc, "subject", subject)
}

/// Replaces the description text, keeping concurrent edits mergeable.
pub fn edit_description<D: Transactable>(
    doc: &mut D,
    description: &str,
) -> Result<(), AutomergeError> {
    edit_text(doc, "description", description)
}

fn edit_text<D: Transactable>(doc: &mut D, key: &str, value: &str) -> Result<(), AutomergeError> {
    match doc.get(ROOT, key)? {
        Some((Value::Object(ObjType::Text), id)) => doc.update_text(&id, value),
        _ => Err(AutomergeError::InvalidOp(ObjType::Text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::AutoCommit;

    pub(crate) fn sample() -> NewTicket {
        NewTicket {
            id: "00112233445566778899aabbccddeeff".parse().unwrap(),
            site: "demo".into(),
            subject: "Printer offline".into(),
            description: "It blinks red.".into(),
            email: Some("ada@example.com".into()),
            category: "technical".into(),
        }
    }

    #[test]
    fn a_created_ticket_reads_back() {
        let mut doc = AutoCommit::new();
        assert_eq!(read_ticket(&doc).unwrap(), None);
        create(&mut doc, &sample()).unwrap();
        append_message(
            &mut doc,
            &NewMessage {
                id: "m1".into(),
                author: Author::Customer,
                name: "Ada".into(),
                body: "Hello".into(),
                at: 5,
            },
        )
        .unwrap();
        let ticket = read_ticket(&doc).unwrap().unwrap();
        assert_eq!(ticket.subject, "Printer offline");
        assert_eq!(ticket.status, Status::New);
        assert_eq!(ticket.tier, Tier::ONE);
        assert_eq!(ticket.email.as_deref(), Some("ada@example.com"));
        assert_eq!(ticket.messages.len(), 1);
        assert_eq!(ticket.messages[0].body, "Hello");
        assert_eq!(ticket.messages[0].author, Author::Customer);
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_schema_errors() {
        let mut doc = AutoCommit::new();
        create(&mut doc, &sample()).unwrap();
        let mut extra = doc.clone();
        extra.put(ROOT, "is_admin", true).unwrap();
        assert_eq!(
            read_ticket(&extra),
            Err(SchemaError::UnknownField("is_admin".into()))
        );
        let mut wrong = doc.clone();
        wrong.put_object(ROOT, "status", ObjType::Text).unwrap();
        assert_eq!(
            read_ticket(&wrong),
            Err(SchemaError::WrongType("status".into()))
        );
        let mut bad = doc.clone();
        bad.put(ROOT, "tier", 9_i64).unwrap();
        assert_eq!(read_ticket(&bad), Err(SchemaError::BadValue("tier".into())));
    }

    #[test]
    fn concurrent_values_on_a_field_are_a_conflict() {
        let mut doc = AutoCommit::new();
        create(&mut doc, &sample()).unwrap();
        let mut other = doc.fork();
        set_status(&mut doc, Status::Open).unwrap();
        set_status(&mut other, Status::Closed).unwrap();
        doc.merge(&mut other).unwrap();
        assert_eq!(
            read_ticket(&doc),
            Err(SchemaError::Conflict("status".into()))
        );
    }

    #[test]
    fn text_edits_merge_instead_of_overwriting() {
        let mut doc = AutoCommit::new();
        create(&mut doc, &sample()).unwrap();
        let mut other = doc.fork();
        edit_subject(&mut doc, "Printer offline again").unwrap();
        edit_subject(&mut other, "Office printer offline").unwrap();
        doc.merge(&mut other).unwrap();
        let subject = read_ticket(&doc).unwrap().unwrap().subject;
        assert_eq!(subject, "Office printer offline again");
    }
}
