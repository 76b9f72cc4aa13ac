//! PostgreSQL storage, for several Stufe servers sharing one database
//! (`STUFE_DATABASE_URL=postgres://…`).
//!
//! The same areas as SQLite, with what sharing needs: every write of a synced
//! document is a numbered row of `doc_chunks` (a snapshot, or change chunks
//! appended after it), written under the document's advisory lock and only
//! if the writer's copy holds every earlier row (see [`DocWrite`]); each new
//! row is announced on the `stufe_docs` channel (see [`listen`]), so the other
//! servers load it and pass it to their widgets. Full-text search uses
//! PostgreSQL's German and English configurations, without diacritics.
//!
//! This file opens the engine (connections, migrations, the search index's
//! set-up); each area trait is implemented in a file of its own beside it:
//! `sites`, `documents`, `tickets`, `staff`, `kb`, `mail`, `client_errors`.

use std::time::Duration;

use ::postgres::types::Type;
use ::postgres::{GenericClient, NoTls, Row};
use r2d2_postgres::PostgresConnectionManager;
use stufe_shared::site::SiteConfig;
use stufe_shared::{Locale, SiteKey, TicketId};

use super::prelude::*;
use super::{
    json_list, parse_list, parse_site, parse_site_key, site_json, ClientError, DocBytes,
    DocChanges, DocWrite, OutgoingMail, PublishedVersion, QueuedMail, SavedReply, StaffMember,
    StaffNote, StorageError, StoredDoc, StoredTicket, TicketFilter, TicketSummary,
};
use super::{AuditEntry, AuditFilter, FileAdded, MailRecord, StoredFile};
use crate::identity::VerifiedCustomer;
use crate::kb::article::{Article, ArticleWrite, KbCounts, KbEvent, QueryCount, SearchHit};
use crate::kb::query::SearchTerms;
use crate::kb::snippet::snippet_html;

mod audit;
mod automation;
mod client_errors;
mod documents;
mod files;
mod kb;
pub mod listen;
mod mail;
pub mod scratch;
mod sites;
mod staff;
mod tickets;
mod webhooks;

/// Presence travels as a notification on `stufe_presence`; listeners hear it
/// when the (single-statement) transaction commits.
impl PresenceStore for PostgresStorage {
    fn announce_presence(&self, payload: &str) -> Result<(), StorageError> {
        self.client()?
            .execute("SELECT pg_notify('stufe_presence', $1)", &[&payload])?;
        Ok(())
    }
}

/// The schema's versioned migrations (`server/migrations/postgres/V{n}__{name}.sql`),
/// run at connect; applied versions are recorded in `refinery_schema_history`.
mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
type Pooled = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

/// Connections one server keeps to the database, at most (`STUFE_DATABASE_POOL`).
const DEFAULT_POOL_SIZE: u32 = 16;

pub struct PostgresStorage {
    /// Always present; taken only when the storage is dropped.
    pool: Option<Pool>,
    config: ::postgres::Config,
}

impl Drop for PostgresStorage {
    fn drop(&mut self) {
        // Closing a connection blocks on the client's own runtime, which
        // must not happen on a thread driving async tasks (the server drops
        // its storage there): the pool is closed on a thread of its own.
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl PostgresStorage {
    /// Connects to the database at `url` (a `postgres://` URL or a
    /// `key=value` connection string) and brings its schema up to date.
    pub fn connect(url: &str) -> Result<Self, StorageError> {
        let config: ::postgres::Config = url.parse()?;
        let size = std::env::var("STUFE_DATABASE_POOL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_POOL_SIZE);
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(PostgresConnectionManager::new(config.clone(), NoTls))
            .map_err(|err| StorageError::Pool(err.to_string()))?;
        let storage = Self {
            pool: Some(pool),
            config,
        };
        let mut client = storage.client()?;
        // Several servers may start at once: one migrates, the others wait.
        client.execute("SELECT pg_advisory_lock(7406361)", &[])?;
        let migrated = embedded::migrations::runner()
            .run(&mut *client)
            .map_err(|err| StorageError::Migration(err.to_string()));
        client.execute("SELECT pg_advisory_unlock(7406361)", &[])?;
        migrated?;
        drop(client);
        Ok(storage)
    }

    /// The connection settings (the listener opens a connection of its own).
    pub fn config(&self) -> &::postgres::Config {
        &self.config
    }

    fn client(&self) -> Result<Pooled, StorageError> {
        self.pool
            .as_ref()
            .expect("present until dropped")
            .get()
            .map_err(|err| StorageError::Pool(err.to_string()))
    }

    /// The versions of the migrations applied, in order.
    pub fn applied_migrations(&self) -> Result<Vec<i32>, StorageError> {
        Ok(self
            .client()?
            .query(
                "SELECT version FROM refinery_schema_history ORDER BY version",
                &[],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect())
    }
}

fn corrupt(what: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(what.to_string())
}

fn to_u32(value: i64) -> Result<u32, StorageError> {
    u32::try_from(value).map_err(|_| corrupt(format!("{value} is out of range")))
}

fn to_u8(value: i32) -> Result<u8, StorageError> {
    u8::try_from(value).map_err(|_| corrupt(format!("{value} is out of range")))
}

/// The text-search configuration of a locale.
fn text_config(locale: &str) -> &'static str {
    match locale {
        "de" => "german",
        _ => "english",
    }
}

/// A `to_tsquery` expression of the terms: every word, the last as a prefix
/// while the customer types it. The words are letters and digits only, so no
/// query syntax can come through.
fn ts_query(terms: &SearchTerms) -> String {
    let words = terms.words();
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, word)| {
            let word: String = word.chars().filter(|c| c.is_alphanumeric()).collect();
            if i == last && terms.last_is_prefix() {
                format!("{word}:*")
            } else {
                word
            }
        })
        .filter(|word| !word.is_empty() && word != ":*")
        .collect::<Vec<_>>()
        .join(" & ")
}

fn customer_from_row(row: &Row) -> Option<VerifiedCustomer> {
    row.get::<_, Option<String>>("customer_id")
        .map(|id| VerifiedCustomer {
            id,
            name: row.get("customer_name"),
            email: row.get("customer_email"),
        })
}

fn summary_from_row(row: &Row) -> Result<TicketSummary, StorageError> {
    Ok(TicketSummary {
        id: row.get("id"),
        site: row.get("site"),
        subject: row.get("subject"),
        status: row.get("status"),
        tier: to_u8(row.get("tier"))?,
        priority: row.get("priority"),
        category: row.get("category"),
        email: row.get("email"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        first_response_due: row.get("first_response_due"),
        resolution_due: row.get("resolution_due"),
        message_count: to_u32(row.get::<_, i32>("message_count").into())?,
        customer: customer_from_row(row),
        first_response_at: row.get("first_response_at"),
        staff_messages: to_u32(row.get::<_, i32>("staff_messages").into())?,
        rating: row.get::<_, Option<i32>>("rating").map(to_u8).transpose()?,
        resolved_at: row.get("resolved_at"),
        max_tier: to_u8(row.get("max_tier"))?,
        reopened: to_u32(row.get::<_, i32>("reopened").into())?,
        assignee: row.get("assignee"),
        pending_since: row.get("pending_since"),
        rated_at: row.get("rated_at"),
    })
}

fn summaries(rows: Vec<Row>) -> Result<Vec<TicketSummary>, StorageError> {
    rows.iter().map(summary_from_row).collect()
}

/// A staff member from a row with `id, name, role, active, timezone`.
fn staff_from_row(row: &Row) -> StaffMember {
    StaffMember {
        id: row.get("id"),
        name: row.get("name"),
        role: row.get("role"),
        active: row.get("active"),
        timezone: row.get("timezone"),
        sites: Vec::new(),
    }
}

fn with_sites(
    client: &mut impl GenericClient,
    mut member: StaffMember,
) -> Result<StaffMember, StorageError> {
    member.sites = client
        .query(
            "SELECT site FROM staff_sites WHERE staff_id = $1 ORDER BY site",
            &[&member.id],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect();
    Ok(member)
}

/// An article from `site, id, locale, title, html, category, tags_json,
/// sources_json, version, updated_at` (in that order).
fn article_from_row(row: &Row) -> Result<Article, StorageError> {
    Ok(Article {
        site: row.get(0),
        id: row.get(1),
        locale: row.get(2),
        title: row.get(3),
        html: row.get(4),
        category: row.get(5),
        tags: parse_list(row.get(6)),
        source_tickets: parse_list(row.get(7)),
        version: to_u32(row.get::<_, i32>(8).into())?,
        updated_at: row.get(9),
    })
}

const ARTICLE_COLUMNS: &str =
    "site, id, locale, title, html, category, tags_json, sources_json, version, updated_at";

/// A document's stored rows: its snapshot and the chunks appended since.
fn read_chunks(
    client: &mut impl GenericClient,
    doc_id: &str,
) -> Result<Option<StoredDoc>, StorageError> {
    // Typed queries (here and on other hot paths) take one round trip;
    // untyped ones three (prepare, execute, close).
    let rows = client.query_typed(
        "SELECT seq, snapshot, bytes FROM doc_chunks WHERE doc_id = $1 ORDER BY seq",
        &[(&doc_id, Type::TEXT)],
    )?;
    Ok(assemble(
        rows.iter().map(|row| (row.get(0), row.get(1), row.get(2))),
    ))
}

/// A document from its rows (`seq, snapshot, bytes`), oldest first; None
/// without rows.
fn assemble<'a>(rows: impl IntoIterator<Item = (i64, bool, &'a [u8])>) -> Option<StoredDoc> {
    let mut bytes = Vec::new();
    let (mut snapshot_len, mut newest) = (0, None);
    for (seq, snapshot, chunk) in rows {
        if snapshot {
            // Only the newest snapshot counts (older rows are removed with it;
            // this keeps a read correct whatever it meets).
            bytes.clear();
            snapshot_len = chunk.len();
        }
        bytes.extend_from_slice(chunk);
        newest = Some(seq);
    }
    Some(StoredDoc {
        appended: bytes.len() - snapshot_len,
        bytes,
        seq: newest?,
    })
}

/// Statements prepared once per transaction: a batch of writes runs each
/// with one round trip to the database instead of two (prepare, execute).
#[derive(Default)]
struct Statements(Vec<(&'static str, ::postgres::Statement)>);

impl Statements {
    fn get(
        &mut self,
        tx: &mut ::postgres::Transaction<'_>,
        sql: &'static str,
    ) -> Result<::postgres::Statement, StorageError> {
        if let Some((_, prepared)) = self.0.iter().find(|(known, _)| *known == sql) {
            return Ok(prepared.clone());
        }
        let prepared = tx.prepare(sql)?;
        self.0.push((sql, prepared.clone()));
        Ok(prepared)
    }
}

/// Stores a document's bytes: a snapshot replaces every row of it.
fn write_chunk(
    tx: &mut ::postgres::Transaction<'_>,
    statements: &mut Statements,
    doc_id: &str,
    bytes: &DocBytes,
) -> Result<i64, StorageError> {
    let (snapshot, chunk) = match bytes {
        DocBytes::Snapshot(bytes) => (true, bytes),
        DocBytes::Append(bytes) => (false, bytes),
    };
    if snapshot {
        let delete = statements.get(tx, "DELETE FROM doc_chunks WHERE doc_id = $1")?;
        tx.execute(&delete, &[&doc_id])?;
    }
    let insert = statements.get(
        tx,
        "INSERT INTO doc_chunks (doc_id, snapshot, bytes) VALUES ($1, $2, $3) RETURNING seq",
    )?;
    Ok(tx.query_one(&insert, &[&doc_id, &snapshot, chunk])?.get(0))
}

/// Inserts a ticket's projection or replaces it, keeping the facts storage
/// keeps across writes (when it was resolved, its highest tier, how often it
/// was reopened, since when it waits on the customer).
const UPSERT_TICKET: &str = "
    INSERT INTO tickets (id, site, token_hash, subject, status, tier, priority, category,
                         email, created_at, updated_at, first_response_due, message_count,
                         customer_id, customer_name, customer_email,
                         first_response_at, staff_messages, rating, resolved_at, max_tier, rated_at,
                         resolution_due)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
            CASE WHEN $5::text IN ('resolved', 'closed') THEN $11::bigint END, $6,
            CASE WHEN $19::int IS NOT NULL THEN $11::bigint END, $20)
    ON CONFLICT (id) DO UPDATE SET
        rated_at = COALESCE(tickets.rated_at,
                            CASE WHEN EXCLUDED.rating IS NOT NULL THEN EXCLUDED.updated_at END),
        resolved_at = CASE WHEN EXCLUDED.status IN ('resolved', 'closed')
                           THEN COALESCE(tickets.resolved_at, EXCLUDED.updated_at) END,
        max_tier = GREATEST(tickets.max_tier, EXCLUDED.tier),
        reopened = tickets.reopened + (tickets.status IN ('resolved', 'closed')
                                       AND EXCLUDED.status NOT IN ('resolved', 'closed'))::int,
        pending_since = CASE WHEN EXCLUDED.status = 'pending'
                             THEN COALESCE(tickets.pending_since, EXCLUDED.updated_at) END,
        subject = EXCLUDED.subject, status = EXCLUDED.status, tier = EXCLUDED.tier,
        priority = EXCLUDED.priority, category = EXCLUDED.category, email = EXCLUDED.email,
        updated_at = EXCLUDED.updated_at, first_response_due = EXCLUDED.first_response_due,
        message_count = EXCLUDED.message_count, first_response_at = EXCLUDED.first_response_at,
        staff_messages = EXCLUDED.staff_messages, rating = EXCLUDED.rating,
        resolution_due = EXCLUDED.resolution_due";

/// Updates the projection of a stored ticket (same facts kept as above).
const UPDATE_TICKET: &str = "
    UPDATE tickets SET
        rated_at = COALESCE(rated_at, CASE WHEN $15::int IS NOT NULL THEN $8::bigint END),
        resolved_at = CASE WHEN $3::text IN ('resolved', 'closed')
                           THEN COALESCE(resolved_at, $8::bigint) END,
        max_tier = GREATEST(max_tier, $4::int),
        reopened = reopened + (status IN ('resolved', 'closed')
                               AND $3::text NOT IN ('resolved', 'closed'))::int,
        pending_since = CASE WHEN $3::text = 'pending'
                             THEN COALESCE(pending_since, $8::bigint) END,
        subject = $2, status = $3, tier = $4, priority = $5, category = $6, email = $7,
        updated_at = $8, first_response_due = $9, message_count = $10,
        first_response_at = $13, staff_messages = $14, rating = $15, resolution_due = $16
    WHERE id = $1 AND site = $11 AND token_hash = $12";

fn write_ticket(
    tx: &mut ::postgres::Transaction<'_>,
    statements: &mut Statements,
    token_hash: &str,
    bytes: &DocBytes,
    s: &TicketSummary,
) -> Result<i64, StorageError> {
    let tier = i32::from(s.tier);
    let message_count = i64::from(s.message_count) as i32;
    let staff_messages = i64::from(s.staff_messages) as i32;
    let rating = s.rating.map(i32::from);
    let customer = s.customer.as_ref();
    match bytes {
        DocBytes::Snapshot(_) => {
            let upsert = statements.get(tx, UPSERT_TICKET)?;
            tx.execute(
                &upsert,
                &[
                    &s.id,
                    &s.site,
                    &token_hash,
                    &s.subject,
                    &s.status,
                    &tier,
                    &s.priority,
                    &s.category,
                    &s.email,
                    &s.created_at,
                    &s.updated_at,
                    &s.first_response_due,
                    &message_count,
                    &customer.map(|c| c.id.as_str()),
                    &customer.and_then(|c| c.name.as_deref()),
                    &customer.and_then(|c| c.email.as_deref()),
                    &s.first_response_at,
                    &staff_messages,
                    &rating,
                    &s.resolution_due,
                ],
            )?;
        }
        DocBytes::Append(_) => {
            let update = statements.get(tx, UPDATE_TICKET)?;
            let updated = tx.execute(
                &update,
                &[
                    &s.id,
                    &s.subject,
                    &s.status,
                    &tier,
                    &s.priority,
                    &s.category,
                    &s.email,
                    &s.updated_at,
                    &s.first_response_due,
                    &message_count,
                    &s.site,
                    &token_hash,
                    &s.first_response_at,
                    &staff_messages,
                    &rating,
                    &s.resolution_due,
                ],
            )?;
            if updated == 0 {
                return Err(corrupt(format!(
                    "changes appended to ticket {} before its first snapshot",
                    s.id
                )));
            }
        }
    }
    write_chunk(tx, statements, &format!("ticket:{}", s.id), bytes)
}

const STAFF_COLUMNS: &str = "id, name, role, active, timezone";

#[cfg(test)]
mod tests {
    use super::*;

    fn document(doc_id: &str, bytes: DocBytes, after: i64) -> DocWrite {
        DocWrite::Document {
            doc_id: doc_id.into(),
            bytes,
            after,
        }
    }

    /// Two servers' storages on one new database.
    fn two_servers() -> (PostgresStorage, PostgresStorage) {
        let url = scratch::shared().database().unwrap();
        (
            PostgresStorage::connect(&url).unwrap(),
            PostgresStorage::connect(&url).unwrap(),
        )
    }

    #[test]
    fn a_write_from_a_copy_behind_another_servers_is_refused_until_it_catches_up() {
        let (one, two) = two_servers();
        let doc = "kb:shop:en";
        let [first] = one
            .write_docs(&[document(doc, DocBytes::Snapshot(b"S".to_vec()), 0)])
            .unwrap()[..]
        else {
            panic!("one position per write")
        };
        let theirs = two
            .write_docs(&[document(doc, DocBytes::Append(b"t".to_vec()), first)])
            .unwrap()[0];
        assert!(theirs > first);

        // Server one still holds only its snapshot: refused, nothing written.
        let behind = one.write_docs(&[document(doc, DocBytes::Append(b"o".to_vec()), first)]);
        assert!(
            matches!(behind, Err(StorageError::Conflict(_))),
            "{behind:?}"
        );
        assert_eq!(one.document(doc).unwrap().unwrap().bytes, b"St");

        // It catches up with what it missed and writes after that.
        let missed = one.changes_since(doc, first).unwrap().unwrap();
        assert_eq!(
            missed,
            DocChanges {
                bytes: b"t".to_vec(),
                seq: theirs,
                snapshot: false
            }
        );
        let ours = one
            .write_docs(&[document(doc, DocBytes::Append(b"o".to_vec()), theirs)])
            .unwrap()[0];
        assert_eq!(one.changes_since(doc, ours).unwrap(), None);
        let stored = two.document(doc).unwrap().unwrap();
        assert_eq!(
            (stored.bytes, stored.appended, stored.seq),
            (b"Sto".to_vec(), 2, ours)
        );

        // A new snapshot replaces the chunks; a copy behind it gets the snapshot.
        let compacted = two
            .write_docs(&[document(doc, DocBytes::Snapshot(b"N".to_vec()), ours)])
            .unwrap()[0];
        assert_eq!(
            one.changes_since(doc, theirs).unwrap(),
            Some(DocChanges {
                bytes: b"N".to_vec(),
                seq: compacted,
                snapshot: true
            })
        );
    }

    #[test]
    fn one_refused_write_in_a_batch_writes_nothing_of_it() {
        let (one, two) = two_servers();
        one.write_docs(&[document("kb:a:en", DocBytes::Snapshot(b"A".to_vec()), 0)])
            .unwrap();
        let batch = two.write_docs(&[
            document("kb:b:en", DocBytes::Snapshot(b"B".to_vec()), 0),
            document("kb:a:en", DocBytes::Snapshot(b"X".to_vec()), 0),
        ]);
        assert!(matches!(batch, Err(StorageError::Conflict(id)) if id == "kb:a:en"));
        assert_eq!(one.document("kb:b:en").unwrap(), None);
        assert_eq!(one.document("kb:a:en").unwrap().unwrap().bytes, b"A");
    }

    #[test]
    fn another_server_hears_each_write_in_order() {
        let (one, _) = two_servers();
        let (sink, mut heard) = tokio::sync::mpsc::unbounded_channel();
        listen::spawn(one.config().clone(), sink).unwrap();
        assert_eq!(heard.blocking_recv(), Some(listen::Announcement::Listening));
        let mut positions = Vec::new();
        let mut after = 0;
        for chunk in [b"S", b"1", b"2"] {
            let bytes = if after == 0 {
                DocBytes::Snapshot(chunk.to_vec())
            } else {
                DocBytes::Append(chunk.to_vec())
            };
            after = one
                .write_docs(&[document("kb:shop:en", bytes, after)])
                .unwrap()[0];
            positions.push(after);
        }
        for seq in positions {
            assert_eq!(
                heard.blocking_recv(),
                Some(listen::Announcement::Doc {
                    doc_id: "kb:shop:en".into(),
                    seq
                })
            );
        }
    }
}

#[cfg(test)]
mod migration_tests {
    use super::*;

    #[test]
    fn a_new_database_records_its_migrations_and_connects_again_unchanged() {
        let url = scratch::shared().database().unwrap();
        let first = PostgresStorage::connect(&url).unwrap();
        let applied = first.applied_migrations().unwrap();
        assert_eq!(applied.first(), Some(&1));
        assert!(first.is_empty().unwrap());
        first
            .put_site(&"shop".parse().unwrap(), &crate::seed::demo_site())
            .unwrap();
        drop(first);
        let again = PostgresStorage::connect(&url).unwrap();
        assert_eq!(again.applied_migrations().unwrap(), applied);
        assert!(!again.is_empty().unwrap(), "the data is still there");
    }
}
