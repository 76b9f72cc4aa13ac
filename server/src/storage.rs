//! Storage: the seam between the sync hub and a database.
//!
//! [`Storage`] is what the rest of the server sees; [`SqliteStorage`] is the
//! embedded default (one file, WAL), [`PostgresStorage`] the engine several
//! server processes share (`STUFE_DATABASE_URL`). The trait is blocking on
//! purpose: callers run it on tokio's blocking pool with [`blocking`].
//! Writing a ticket stores the Automerge bytes and the relational projection
//! in one transaction, so the index never disagrees with the document.

mod group_commit;
#[cfg(test)]
pub mod memory;
pub mod postgres;
mod sqlite;

use std::sync::Arc;

use serde::Serialize;
use stufe_shared::site::SiteConfig;

use crate::identity::VerifiedCustomer;
use crate::kb::article::{Article, ArticleWrite, KbCounts, KbEvent, QueryCount, SearchHit};
use crate::kb::query::SearchTerms;
use stufe_shared::{Locale, SiteKey, TicketId};

pub use group_commit::GroupCommit;

/// The documents alone: what the sync hub needs of storage.
pub type SharedDocStore = Arc<dyn DocStore + Send + Sync>;
pub use postgres::PostgresStorage;
pub use sqlite::SqliteStorage;

/// Opens the storage `database_url` names (`postgres://…` or
/// `postgresql://…`), or else the SQLite file `sqlite_path`.
pub fn open(
    database_url: Option<&str>,
    sqlite_path: &std::path::Path,
) -> Result<Arc<dyn Storage>, StorageError> {
    Ok(match database_url {
        Some(url) => Arc::new(PostgresStorage::connect(url)?),
        None => Arc::new(SqliteStorage::open(sqlite_path)?),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database engine failed (its own message, e.g. "sqlite: …").
    #[error("{0}")]
    Engine(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("storage task failed: {0}")]
    Task(String),
    #[error("migrating the database failed: {0}")]
    Migration(String),
    #[error("no database connection: {0}")]
    Pool(String),
    /// Another server wrote the document since the writer's copy was read
    /// (its `after` is behind): catch up with [`DocStore::changes_since`] and write again.
    #[error("{0} was written by another server meanwhile")]
    Conflict(String),
    /// The ticket was erased for its customer: its document is gone and
    /// may not be written again.
    #[error("ticket {0} was erased")]
    Erased(String),
}

// The engines' errors become messages: nothing above storage depends on
// which engine it is.
impl From<rusqlite::Error> for StorageError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Engine(format!("sqlite: {err}"))
    }
}

impl From<::postgres::Error> for StorageError {
    fn from(err: ::postgres::Error) -> Self {
        // The server's own message says what failed ("db error" alone does not).
        match err.as_db_error() {
            Some(db) => Self::Engine(format!("postgres: {db}")),
            None => Self::Engine(format!("postgres: {err}")),
        }
    }
}

/// A stored ticket document and who may open it.
#[derive(Debug, Clone)]
pub struct StoredTicket {
    pub site: SiteKey,
    /// SHA-256 (hex) of the ticket's capability token.
    pub token_hash: String,
    /// The snapshot followed by the appended chunks.
    pub bytes: Vec<u8>,
    /// How many of `bytes` (at the end) are appended chunks.
    pub appended: usize,
    /// The signed-in customer who created it, if one did.
    pub customer: Option<VerifiedCustomer>,
    /// The position of the newest write in `bytes` (see the `after` of [`DocWrite::Ticket`]).
    pub seq: i64,
}

/// A stored document other than a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDoc {
    /// The snapshot followed by the appended chunks.
    pub bytes: Vec<u8>,
    /// How many of `bytes` (at the end) are appended chunks.
    pub appended: usize,
    /// The position of the newest write in `bytes` (see the `after` of [`DocWrite::Ticket`]).
    pub seq: i64,
}

/// What other servers wrote to a document after a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocChanges {
    /// Chunks to load into the copy (`load_incremental`); a snapshot among
    /// them comes first, and what it holds is not repeated.
    pub bytes: Vec<u8>,
    /// The position the copy is at once it has loaded `bytes`.
    pub seq: i64,
    /// Whether `bytes` begins with a new snapshot (older chunks are gone).
    pub snapshot: bool,
}

/// The relational projection of a ticket, kept for listing and triage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketSummary {
    pub id: String,
    pub site: String,
    pub subject: String,
    pub status: String,
    pub tier: u8,
    pub priority: String,
    pub category: String,
    pub email: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub first_response_due: Option<i64>,
    /// When the request is due to be resolved (from the document).
    #[serde(default)]
    pub resolution_due: Option<i64>,
    pub message_count: u32,
    /// When staff first answered (from the document).
    pub first_response_at: Option<i64>,
    /// Staff replies so far.
    pub staff_messages: u32,
    /// The customer's rating, 1–5.
    pub rating: Option<u8>,
    /// Kept by storage across writes: when the ticket was last resolved or
    /// closed (None while open), the highest tier it reached, and how often
    /// it went from resolved back to open. What callers pass is ignored.
    pub resolved_at: Option<i64>,
    pub max_tier: u8,
    pub reopened: u32,
    /// Since when the ticket waits on the customer (status `pending`); kept
    /// by storage like the facts above.
    pub pending_since: Option<i64>,
    /// When the customer rated the ticket (kept by storage, like the facts
    /// above, even when the ticket is reopened later).
    #[serde(default)]
    pub rated_at: Option<i64>,
    /// The staff member the ticket is assigned to (set by [`TicketStore::assign`],
    /// kept across writes; what writers pass is ignored).
    pub assignee: Option<i64>,
    /// The signed-in customer who created the ticket (verified by the site).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<VerifiedCustomer>,
}

/// How a document's bytes are written.
///
/// A stored document is one snapshot (a full Automerge save) followed by the
/// change chunks appended since; reading it returns them concatenated, which
/// `AutoCommit::load` reads as one document. Appending costs what the new
/// changes weigh, not what the document weighs; the writer takes a new
/// snapshot (which drops the appended chunks) now and then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocBytes {
    /// A full save that replaces the stored snapshot and every appended chunk.
    Snapshot(Vec<u8>),
    /// Change chunks to append after what is stored.
    Append(Vec<u8>),
}

impl DocBytes {
    pub fn len(&self) -> usize {
        match self {
            DocBytes::Snapshot(bytes) | DocBytes::Append(bytes) => bytes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One document write. Several are committed in one transaction by
/// [`DocStore::write_docs`] (group commit: one disk sync for all of them).
///
/// `after` is the position of the newest write the writer's copy holds (0
/// for a document it did not find stored). Storage shared by several servers
/// (PostgreSQL) numbers every write of a document and refuses one whose
/// `after` is not the newest ([`StorageError::Conflict`]): no server then
/// overwrites or compacts away what another wrote, and each write's projection
/// is made from a copy holding every earlier change. SQLite is written by one
/// server only; it neither numbers writes (positions are 0) nor checks.
#[derive(Debug, Clone)]
pub enum DocWrite {
    /// A ticket document and its relational projection, written together.
    /// Appending needs the ticket to have been stored with a snapshot first.
    Ticket {
        token_hash: String,
        bytes: DocBytes,
        summary: Box<TicketSummary>,
        after: i64,
        /// What the change means for the site's webhooks, queued in the
        /// same transaction (so an event is never lost or made up).
        events: Vec<NewEvent>,
    },
    /// A server-written document other than a ticket (e.g. `kb:demo:en`).
    Document {
        doc_id: String,
        bytes: DocBytes,
        after: i64,
    },
}

impl DocWrite {
    /// The id of the written document (`ticket:<id>` for a ticket).
    pub fn doc_id(&self) -> String {
        match self {
            DocWrite::Ticket { summary, .. } => format!("ticket:{}", summary.id),
            DocWrite::Document { doc_id, .. } => doc_id.clone(),
        }
    }
}

/// Which tickets to list.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub site: Option<String>,
    pub status: Option<String>,
    pub tier: Option<u8>,
    /// Only tickets of this signed-in customer (their id at the site).
    pub customer: Option<String>,
}

/// Where a published article is, and at which version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedVersion {
    pub site: String,
    pub locale: String,
    pub id: String,
    pub version: u32,
}

/// A crash a widget reported, as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientError {
    pub site: String,
    pub message: String,
    pub version: String,
    pub user_agent: String,
    pub at: i64,
}

/// A staff-only note on a ticket: never in the ticket document, never sent
/// to a widget. Hand-offs (tier or assignee changed) leave one too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffNote {
    pub ticket: String,
    pub at: i64,
    /// Who wrote it.
    pub by: String,
    /// `note`, or `handoff` (with what changed in `change`).
    pub kind: String,
    /// For a hand-off, e.g. "tier 1 → tier 2" or "assigned to Tia".
    #[serde(skip_serializing_if = "String::is_empty")]
    pub change: String,
    pub body: String,
}

/// A saved reply staff can send with one choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedReply {
    pub id: i64,
    pub site: String,
    pub title: String,
    pub body: String,
}

/// A staff account as the API sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffMember {
    pub id: i64,
    pub name: String,
    /// `tier1`, `tier2`, `tier3` or `admin`.
    pub role: String,
    /// The sites this member works on (admins work on every site).
    pub sites: Vec<String>,
    /// A deactivated account can neither log in nor use its API token.
    pub active: bool,
    /// The time zone the console shows times in (IANA name).
    pub timezone: String,
}

impl StaffMember {
    /// Whether this member may see and change `site`'s tickets and articles.
    pub fn works_on(&self, site: &str) -> bool {
        self.role == "admin" || self.sites.iter().any(|s| s == site)
    }
}

/// An email waiting in the outbox (kept until the SMTP server took it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// The ticket it is about, if any.
    pub ticket: Option<String>,
    /// Where the customer's answer goes (the ticket's reply address), if
    /// it may be answered by mail.
    pub reply_to: Option<String>,
}

/// An email to put in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub ticket: Option<String>,
    pub reply_to: Option<String>,
}

/// An email in the outbox as it was written, for a customer's data export.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MailRecord {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// When it was queued (ms).
    pub queued_at: i64,
    /// When the SMTP server took it (ms); None: not (yet) sent.
    pub sent_at: Option<i64>,
}

/// One record of the audit trail: who did what with customer data, when,
/// from where, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When (ms).
    pub at: i64,
    /// The staff member's name, or for a failed login the login tried.
    pub staff: String,
    /// The staff member's id; None for a failed login.
    pub staff_id: Option<i64>,
    /// The client's address.
    pub source: String,
    /// The route (`PATCH /api/staff/tickets/{id}`), `login` or `login failed`.
    pub action: String,
    /// The path asked for (naming the request, site or account), or the console.
    pub target: String,
    /// The HTTP status answered.
    pub outcome: u16,
}

/// Which audit records to read (newest first).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub staff_id: Option<i64>,
    /// A part of the action (`login`, `PATCH`, `export`).
    pub action: Option<String>,
    /// From (ms, inclusive) and until (ms, exclusive).
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub limit: u32,
}

/// Something that happened on a site, for its webhooks (see
/// `crate::events`): queued once for every endpoint of the site that wants
/// this kind of event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub site: String,
    /// The event's name (`request.created`, …).
    pub event: String,
    /// The request it is about, if any (its deliveries go with its erasure).
    pub ticket: Option<String>,
    /// The JSON body delivered.
    pub payload: String,
}

/// A site's webhook endpoint (its secret is only shown once, when it is added).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    pub id: i64,
    pub site: String,
    pub url: String,
    pub events: Vec<String>,
    /// `json` or `slack`.
    pub format: String,
    pub created_at: i64,
}

/// An endpoint to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub site: String,
    pub url: String,
    pub secret: String,
    pub events: Vec<String>,
    pub format: String,
}

/// A delivery claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedDelivery {
    pub id: i64,
    pub endpoint_id: i64,
    pub url: String,
    pub secret: String,
    pub format: String,
    pub event: String,
    pub payload: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Until when it is claimed (the `lease_until` of the claim).
    pub claim: i64,
}

/// A delivery as the site's admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    pub id: i64,
    pub endpoint_id: i64,
    pub event: String,
    pub ticket: Option<String>,
    pub payload: String,
    /// When the event happened (ms).
    pub created_at: i64,
    pub attempts: u32,
    /// When the endpoint took it (ms).
    pub delivered_at: Option<i64>,
    /// When it is tried next (ms); None once delivered or given up.
    pub next_at: Option<i64>,
    /// The endpoint's last HTTP status, if it answered.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
}

/// Everything Stufe stores, by area: one implementation per engine
/// (SQLite, PostgreSQL), checked by the conformance suite.
pub trait Storage:
    SiteStore
    + DocStore
    + TicketStore
    + StaffStore
    + KbStore
    + MailStore
    + ClientErrorStore
    + PresenceStore
    + FileStore
    + AuditStore
    + WebhookStore
    + AutomationStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Storage for T where
    T: SiteStore
        + DocStore
        + TicketStore
        + StaffStore
        + KbStore
        + MailStore
        + ClientErrorStore
        + PresenceStore
        + AuditStore
        + WebhookStore
        + AutomationStore
        + FileStore
        + Send
        + Sync
        + 'static
{
}

/// Passing ephemeral signals (who is typing or viewing a ticket) to the other
/// servers that share this storage. Nothing is stored.
pub trait PresenceStore {
    /// Tells every other server `payload` (at most 7,000 bytes). One server
    /// alone (SQLite) has nobody to tell.
    fn announce_presence(&self, payload: &str) -> Result<(), StorageError> {
        let _ = payload;
        Ok(())
    }
}

/// Sites, their settings and secrets, and the server's own secrets.
pub trait SiteStore {
    fn site(&self, key: &SiteKey) -> Result<Option<SiteConfig>, StorageError>;
    /// Creates or replaces a site's settings.
    fn put_site(&self, key: &SiteKey, config: &SiteConfig) -> Result<(), StorageError>;
    /// Creates a site with its identity secret; false (and nothing written)
    /// when the key is taken.
    fn create_site(
        &self,
        key: &SiteKey,
        config: &SiteConfig,
        identity_secret: &str,
    ) -> Result<bool, StorageError>;
    /// Every site, by key.
    fn sites(&self) -> Result<Vec<(SiteKey, SiteConfig)>, StorageError>;
    /// The secret the site's backend signs customer identities with.
    fn site_secret(&self, key: &SiteKey) -> Result<Option<String>, StorageError>;
    /// Replaces the site's identity secret (tokens signed with the old one stop working).
    fn set_site_secret(&self, key: &SiteKey, secret: &str) -> Result<(), StorageError>;
    /// True when no site exists yet (a fresh database to seed).
    fn is_empty(&self) -> Result<bool, StorageError>;
    /// A secret of the server's own (e.g. the key that signs ticket links in
    /// emails): made once, at first use, and the same ever after.
    fn server_secret(&self, name: &str) -> Result<String, StorageError>;
}

/// Synced documents: tickets (with their projection) and server-written documents, stored as a snapshot plus appended chunks.
pub trait DocStore {
    fn ticket(&self, id: TicketId) -> Result<Option<StoredTicket>, StorageError>;
    /// Writes documents (tickets with their projection, and others) in one
    /// transaction: all of them are durable when this returns, or none is.
    /// Returns each write's position (see [`DocWrite`]).
    fn write_docs(&self, writes: &[DocWrite]) -> Result<Vec<i64>, StorageError>;
    /// What was written to `doc_id` after position `after` (by other
    /// servers); None when nothing was.
    fn changes_since(&self, doc_id: &str, after: i64) -> Result<Option<DocChanges>, StorageError>;
    /// A server-written document other than a ticket (e.g. `kb:demo:en`):
    /// its snapshot and appended chunks, concatenated.
    fn document(&self, doc_id: &str) -> Result<Option<StoredDoc>, StorageError>;
    /// All documents whose id starts with `prefix`, by id.
    fn documents_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StorageError>;
    /// Since when a stored ticket has been pending (waiting on the customer;
    /// kept by [`DocStore::write_docs`] from the status the projections carry):
    /// None when it is not pending, or not stored.
    fn pending_since(&self, ticket: &str) -> Result<Option<i64>, StorageError>;
    /// The files uploaded for a ticket (its messages may refer to these only).
    fn ticket_files(&self, ticket: &str) -> Result<Vec<StoredFile>, StorageError>;
}

/// A file uploaded for a ticket, as stored (its name lives in the message
/// that refers to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub hash: String,
    pub mime: String,
    pub size: i64,
}

/// What adding a file to a ticket did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAdded {
    /// Stored (or it was already there); the ticket's files now total this many bytes.
    Added { total: i64 },
    /// Not stored: the ticket's files would total more than allowed.
    OverLimit { total: i64 },
}

/// Attachments: file bytes stored once by content address, and which ticket
/// each was uploaded for.
pub trait FileStore {
    /// Who may attach to a stored ticket: its site and token hash; None
    /// when no such ticket is stored.
    fn ticket_access(&self, ticket: &str) -> Result<Option<(String, String)>, StorageError>;
    /// Stores `bytes` under `hash` (once, whichever ticket) and records it as
    /// uploaded for `ticket` at `at`, unless the ticket's files would then
    /// total more than `max_total` bytes. In one transaction.
    fn add_ticket_file(
        &self,
        ticket: &str,
        file: &StoredFile,
        bytes: &[u8],
        at: i64,
        max_total: i64,
    ) -> Result<FileAdded, StorageError>;
    /// A file uploaded for `ticket`, with its bytes; None when it was not.
    fn ticket_file(
        &self,
        ticket: &str,
        hash: &str,
    ) -> Result<Option<(StoredFile, Vec<u8>)>, StorageError>;
}

/// What staff see beside the ticket documents: the queue, projections, history, notes, assignments and saved replies.
pub trait TicketStore {
    fn list_tickets(&self, filter: &TicketFilter) -> Result<Vec<TicketSummary>, StorageError>;
    /// One ticket's projection.
    fn ticket_summary(&self, id: &str) -> Result<Option<TicketSummary>, StorageError>;
    /// A customer's other tickets on `site` (all but `except`), newest first,
    /// at most `limit`: those of the same signed-in customer (`customer_id`),
    /// and, where either side is not signed in, those with the same `email`.
    fn customer_history(
        &self,
        site: &str,
        except: &str,
        customer_id: Option<&str>,
        email: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TicketSummary>, StorageError>;
    /// Erases a ticket for its customer (GDPR): its document and appended
    /// changes, staff notes, the emails about it, its confirmed address,
    /// revoked links and files (those no other ticket holds) are deleted;
    /// its row keeps the figures (status, tier, priority, category, times,
    /// the score) with subject, email and the signed-in customer blanked, so
    /// the KPIs still count it, and is marked erased at `at`: reading or
    /// writing its document is [`StorageError::Erased`] from then on, on
    /// every server, and it is listed nowhere. On SQLite freed space is
    /// overwritten and the write-ahead log emptied. False: no such ticket, or
    /// erased before.
    fn erase_ticket(&self, id: &str, at: i64) -> Result<bool, StorageError>;
    /// The requests of `site` a retention period lets go: resolved or
    /// closed, last changed before `before` (ms), not erased yet; oldest
    /// first, at most `limit`.
    fn retention_due(
        &self,
        site: &str,
        before: i64,
        limit: u32,
    ) -> Result<Vec<String>, StorageError>;
    /// Every ticket of `site` created at or after `since` (ms), oldest first,
    /// for the KPIs (no page limit).
    fn ticket_facts(&self, site: &str, since: i64) -> Result<Vec<TicketSummary>, StorageError>;
    /// A site's saved replies, by title.
    fn saved_replies(&self, site: &str) -> Result<Vec<SavedReply>, StorageError>;
    fn add_saved_reply(&self, site: &str, title: &str, body: &str) -> Result<i64, StorageError>;
    /// Removes a saved reply of `site`; false if it has none with `id`.
    fn delete_saved_reply(&self, site: &str, id: i64) -> Result<bool, StorageError>;
    /// Adds a staff-only note to a ticket.
    fn add_note(&self, note: &StaffNote) -> Result<(), StorageError>;
    /// A ticket's staff-only notes, oldest first.
    fn notes(&self, ticket: &str) -> Result<Vec<StaffNote>, StorageError>;
    /// Gives a ticket to a staff member (None: to nobody); false if no such ticket.
    fn assign(&self, ticket: &str, staff_id: Option<i64>) -> Result<bool, StorageError>;
}

/// Staff accounts, their sites, console logins and sessions.
pub trait StaffStore {
    fn staff_by_token_hash(&self, token_hash: &str) -> Result<Option<StaffMember>, StorageError>;
    fn add_staff(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
    ) -> Result<StaffMember, StorageError>;
    /// Changes an account's role and/or whether it is active; deactivating
    /// ends its sessions. False if no such account.
    fn update_staff(
        &self,
        staff_id: i64,
        role: Option<&str>,
        active: Option<bool>,
    ) -> Result<bool, StorageError>;
    /// The time zone an account's console shows times in.
    fn set_staff_timezone(&self, staff_id: i64, timezone: &str) -> Result<(), StorageError>;
    /// Ends every console session of an account (e.g. after a password change).
    fn delete_sessions_of(&self, staff_id: i64) -> Result<(), StorageError>;
    /// Creates an account with a console login and its sites in one
    /// transaction; None (and nothing written) when the login is taken.
    fn create_staff_account(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
        login: &str,
        password_hash: &str,
        sites: &[SiteKey],
    ) -> Result<Option<StaffMember>, StorageError>;
    /// An account's console login and password hash.
    fn staff_login_of(&self, staff_id: i64) -> Result<Option<(String, String)>, StorageError>;
    /// Every staff account, by name.
    fn list_staff(&self) -> Result<Vec<StaffMember>, StorageError>;
    /// Lets a staff member work on a site.
    fn grant_site(&self, staff_id: i64, site: &SiteKey) -> Result<(), StorageError>;
    /// The sites a staff member works on, replaced by `sites`.
    fn set_staff_sites(&self, staff_id: i64, sites: &[SiteKey]) -> Result<(), StorageError>;
    /// Gives a staff account a console login and password hash (argon2, PHC string).
    fn set_staff_login(
        &self,
        staff_id: i64,
        login: &str,
        password_hash: &str,
    ) -> Result<(), StorageError>;
    /// The account and its password hash for a console login.
    fn staff_by_login(&self, login: &str) -> Result<Option<(StaffMember, String)>, StorageError>;
    fn create_session(
        &self,
        token_hash: &str,
        staff_id: i64,
        expires_at: i64,
    ) -> Result<(), StorageError>;
    /// The staff member of an unexpired session.
    fn staff_by_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<StaffMember>, StorageError>;
    fn delete_session(&self, token_hash: &str) -> Result<(), StorageError>;
    /// Removes every session that expired at or before `now`; returns how many.
    fn delete_expired_sessions(&self, now: i64) -> Result<usize, StorageError>;
}

/// Knowledge-base articles, their full-text index and what customers searched.
pub trait KbStore {
    /// Publishes articles (new, or new versions) and indexes them, all in one
    /// transaction; returns each article's new version.
    fn publish_articles(&self, writes: &[ArticleWrite<'_>]) -> Result<Vec<u32>, StorageError>;
    /// Takes an article out of the knowledge base and the index; false if it was not published.
    fn unpublish_article(&self, site: &str, id: &str) -> Result<bool, StorageError>;
    /// A published article.
    fn article(&self, site: &str, id: &str) -> Result<Option<Article>, StorageError>;
    /// Site, locale, id and version of every published article (to check the
    /// synced catalogues at start without reading every article).
    fn published_versions(&self) -> Result<Vec<PublishedVersion>, StorageError>;
    /// A published article with its Markdown source.
    fn article_source(
        &self,
        site: &str,
        id: &str,
    ) -> Result<Option<(Article, String)>, StorageError>;
    /// Ranked full-text search over a site's published articles in one locale.
    /// Only typed values reach the query: a validated site key, a locale and
    /// terms made of letters and digits.
    fn search_articles(
        &self,
        site: &SiteKey,
        locale: Locale,
        terms: &SearchTerms,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StorageError>;
    fn record_kb_event(&self, site: &str, event: &KbEvent, at: i64) -> Result<(), StorageError>;
    /// Counts of KB events since `since` (ms).
    fn kb_counts(&self, site: &str, since: i64) -> Result<KbCounts, StorageError>;
    /// The most frequent searches, or only those that found nothing.
    fn top_searches(
        &self,
        site: &str,
        zero_results_only: bool,
        limit: u32,
    ) -> Result<Vec<QueryCount>, StorageError>;
}

/// The outbox of emails to customers.
pub trait MailStore {
    /// Puts an email in the outbox, due at `now`.
    fn queue_mail(&self, mail: &OutgoingMail, now: i64) -> Result<(), StorageError>;
    /// Claims emails due at `now` (not sent, next attempt at or before now),
    /// at most `limit`, in the order they were queued: none of them is due
    /// again before `lease_until` (so two servers sharing the outbox never
    /// both send one), unless [`MailStore::mail_failed`] says when.
    fn claim_due_mail(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
    ) -> Result<Vec<QueuedMail>, StorageError>;
    /// The emails about `ticket`, in the order they were queued.
    fn mail_about(&self, ticket: &str) -> Result<Vec<MailRecord>, StorageError>;
    /// The SMTP server took the email.
    fn mail_sent(&self, id: i64, now: i64) -> Result<(), StorageError>;
    /// Sending failed; try again at `next_at` (None: give up).
    fn mail_failed(&self, id: i64, error: &str, next_at: Option<i64>) -> Result<(), StorageError>;
    /// The customer of `ticket` confirmed `email` at `at` (ms); replaces an
    /// earlier confirmation of the ticket.
    fn confirm_email(&self, ticket: &str, email: &str, at: i64) -> Result<(), StorageError>;
    /// The address of `ticket` its customer confirmed, if any.
    fn confirmed_email(&self, ticket: &str) -> Result<Option<String>, StorageError>;
    /// Links to `ticket` issued at or before `at` (seconds) open nothing any more.
    fn revoke_links(&self, ticket: &str, at: i64) -> Result<(), StorageError>;
    /// When links to `ticket` were last revoked (seconds), if ever.
    fn links_revoked_at(&self, ticket: &str) -> Result<Option<i64>, StorageError>;
}

/// The audit trail: records are added and read, never changed or deleted.
pub trait AuditStore {
    fn record_audit(&self, entry: &AuditEntry) -> Result<(), StorageError>;
    /// The records matching `filter`, newest first.
    fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StorageError>;
}

/// The mark of a request escalated before its first response was due.
pub const ESCALATED_FIRST: &str = "escalated first response";
/// The mark of a request escalated before its resolution was due.
pub const ESCALATED_RESOLUTION: &str = "escalated resolution";

/// Automation rules per site, their round robin, and the requests they look at.
pub trait AutomationStore {
    /// A site's rules (JSON as stored), if it has any.
    fn automation_rules(&self, site: &str) -> Result<Option<String>, StorageError>;
    fn set_automation_rules(&self, site: &str, rules: &str, now: i64) -> Result<(), StorageError>;
    /// Every site that has rules, with them.
    fn all_automation_rules(&self) -> Result<Vec<(String, String)>, StorageError>;
    /// The member of `staff` (ids) after the one the round robin gave a
    /// request of (`site`, `tier`) last (the first after the last, in id
    /// order, wrapping round), recorded as given this one. None: no staff.
    fn next_in_rotation(
        &self,
        site: &str,
        tier: u8,
        staff: &[i64],
    ) -> Result<Option<i64>, StorageError>;
    /// Marks that a rule did `mark` to `ticket`; false when it was marked so
    /// already (by this server or another): then the rule does nothing.
    fn mark_automation(&self, ticket: &str, mark: &str, at: i64) -> Result<bool, StorageError>;
    /// `site`'s new and open requests whose first response is due (and not
    /// given) by `first_by` and not marked [`ESCALATED_FIRST`], or whose
    /// resolution is due by `resolution_by` and not marked
    /// [`ESCALATED_RESOLUTION`]; the most urgent first.
    fn escalation_candidates(
        &self,
        site: &str,
        first_by: i64,
        resolution_by: i64,
        limit: u32,
    ) -> Result<Vec<TicketSummary>, StorageError>;
    /// `site`'s pending requests waiting on the customer since before
    /// `since_before` and not marked `<mark_prefix><pending_since>`, longest
    /// waiting first.
    fn pending_candidates(
        &self,
        site: &str,
        since_before: i64,
        mark_prefix: &str,
        limit: u32,
    ) -> Result<Vec<TicketSummary>, StorageError>;
}

/// Webhook endpoints and the outbox of their deliveries.
pub trait WebhookStore {
    fn add_webhook(&self, hook: &NewWebhook, now: i64) -> Result<i64, StorageError>;
    /// A site's endpoints, oldest first.
    fn webhooks(&self, site: &str) -> Result<Vec<Webhook>, StorageError>;
    /// Removes an endpoint of `site` and its deliveries; false: no such endpoint.
    fn delete_webhook(&self, site: &str, id: i64) -> Result<bool, StorageError>;
    /// Queues `event` for each endpoint of its site that wants it, due at
    /// `now`; how many deliveries were queued. (A ticket's events are queued
    /// with its write instead, see [`DocWrite::Ticket`].)
    fn queue_event(&self, event: &NewEvent, now: i64) -> Result<usize, StorageError>;
    /// Claims up to `limit` due deliveries: they are not due again before
    /// `lease_until`, so servers sharing the outbox never send one twice at once.
    fn claim_due_deliveries(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
    ) -> Result<Vec<QueuedDelivery>, StorageError>;
    /// Records a try of a claimed delivery (`claim`: the `lease_until` it
    /// was claimed with). A delivery sent again or claimed by another server
    /// since is not changed: the newer claim decides.
    fn delivery_done(&self, id: i64, claim: i64, status: u16, now: i64)
        -> Result<(), StorageError>;
    /// `next_at`: when to try again; None: given up.
    fn delivery_failed(
        &self,
        id: i64,
        claim: i64,
        status: Option<u16>,
        error: &str,
        next_at: Option<i64>,
    ) -> Result<(), StorageError>;
    /// The newest deliveries to an endpoint of `site`, newest first.
    fn deliveries(
        &self,
        site: &str,
        endpoint: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StorageError>;
    /// Makes a delivery to an endpoint of `site` due again at `now`, with
    /// its attempts counted from zero; false: no such delivery.
    fn resend_delivery(&self, site: &str, id: i64, now: i64) -> Result<bool, StorageError>;
}

/// Crashes widgets reported.
pub trait ClientErrorStore {
    /// Keeps a crash a widget reported (fields already size-limited by the caller).
    fn record_client_error(&self, error: &ClientError) -> Result<(), StorageError>;
    /// Deletes the crashes reported before `before` (ms); how many.
    fn prune_client_errors(&self, before: i64) -> Result<usize, StorageError>;
    /// The newest reported crashes, newest first; of one site, or of all.
    fn client_errors(
        &self,
        site: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ClientError>, StorageError>;
}

// How both engines keep values in text columns.

/// A list as a JSON array (article tags, source tickets).
fn json_list(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

/// A list kept by [`json_list`] (empty if unreadable).
fn parse_list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// A site's settings as JSON.
fn site_json(config: &SiteConfig) -> Result<String, StorageError> {
    serde_json::to_string(config).map_err(|err| StorageError::Corrupt(err.to_string()))
}

/// Settings kept by [`site_json`].
fn parse_site(json: &str) -> Result<SiteConfig, StorageError> {
    serde_json::from_str(json).map_err(|err| StorageError::Corrupt(err.to_string()))
}

/// A stored site key.
fn parse_site_key(key: String) -> Result<SiteKey, StorageError> {
    key.parse()
        .map_err(|_| StorageError::Corrupt(format!("site key {key:?}")))
}

/// A round robin's next: the first id in `staff` after `last`, wrapping round.
fn next_after(staff: &[i64], last: Option<i64>) -> Option<i64> {
    let mut sorted = staff.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    last.and_then(|last| sorted.iter().copied().find(|id| *id > last))
        .or_else(|| sorted.first().copied())
}

#[cfg(test)]
mod rotation_tests {
    #[test]
    fn the_rotation_goes_round_in_id_order() {
        let staff = [7, 3, 9];
        assert_eq!(super::next_after(&staff, None), Some(3));
        assert_eq!(super::next_after(&staff, Some(3)), Some(7));
        assert_eq!(super::next_after(&staff, Some(7)), Some(9));
        assert_eq!(super::next_after(&staff, Some(9)), Some(3));
        assert_eq!(super::next_after(&staff, Some(5)), Some(7), "one who left");
        assert_eq!(super::next_after(&[], Some(5)), None);
    }
}

/// The storage areas' traits, for calling their methods on a `dyn Storage`.
pub mod prelude {
    pub use super::{
        AuditStore, AutomationStore, ClientErrorStore, DocStore, FileStore, KbStore, MailStore,
        PresenceStore, SiteStore, StaffStore, TicketStore, WebhookStore,
    };
}

/// Runs a storage call on the blocking pool (`S` is the whole [`Storage`]
/// or one area of it, e.g. the hub's [`DocStore`]).
pub async fn blocking<S, T, F>(storage: &Arc<S>, call: F) -> Result<T, StorageError>
where
    S: ?Sized + Send + Sync + 'static,
    T: Send + 'static,
    F: FnOnce(&S) -> Result<T, StorageError> + Send + 'static,
{
    let storage = Arc::clone(storage);
    tokio::task::spawn_blocking(move || call(storage.as_ref()))
        .await
        .map_err(|err| StorageError::Task(err.to_string()))?
}

#[cfg(test)]
mod conformance;

impl TicketSummary {
    /// The summary of ticket `t` as its document reads, last changed at
    /// `updated_at`; what only storage knows (customer, assignee, resolution,
    /// reopenings, pauses) is left empty for the engine to keep.
    pub fn of(t: &stufe_shared::ticket::Ticket, updated_at: i64) -> TicketSummary {
        TicketSummary {
            id: t.id.clone(),
            site: t.site.clone(),
            subject: t.subject.clone(),
            status: t.status.to_string(),
            tier: t.tier.get(),
            priority: t.priority.to_string(),
            category: t.category.clone(),
            email: t.email.clone(),
            created_at: t.created_at.unwrap_or(updated_at),
            updated_at,
            first_response_due: t.first_response_due,
            resolution_due: t.resolution_due,
            message_count: u32::try_from(t.messages.len()).unwrap_or(u32::MAX),
            customer: None,
            first_response_at: t.first_response_at,
            staff_messages: u32::try_from(
                t.messages
                    .iter()
                    .filter(|m| {
                        m.author == stufe_shared::ticket::Author::Staff
                            && !stufe_shared::ticket::is_system_notice(&m.id)
                    })
                    .count(),
            )
            .unwrap_or(u32::MAX),
            rating: t.rating.as_ref().and_then(|r| u8::try_from(r.score).ok()),
            resolved_at: None,
            max_tier: t.tier.get(),
            reopened: 0,
            assignee: None,
            pending_since: None,
            rated_at: None,
        }
    }
}
