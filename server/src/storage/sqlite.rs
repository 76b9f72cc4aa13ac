//! The embedded SQLite storage: one file in WAL mode with `synchronous=FULL`,
//! so a write that returned is on disk before the hub acknowledges it.
//!
//! This file opens the engine (connections, migrations, the search index's
//! set-up); each area trait is implemented in a file of its own beside it:
//! `sites`, `documents`, `tickets`, `staff`, `kb`, `mail`, `client_errors`.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
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
use crate::kb::query::{fold_sharp_s, SearchTerms};
use crate::kb::snippet::snippet_html;

mod audit;
mod automation;
mod client_errors;
mod documents;
mod files;
mod kb;
mod legacy;
mod mail;
mod sites;
mod staff;
mod tickets;
mod webhooks;

/// One server alone: nobody to tell.
impl PresenceStore for SqliteStorage {}

/// The schema's versioned migrations (`server/migrations/sqlite/V{n}__{name}.sql`),
/// run at open; applied versions are recorded in `refinery_schema_history`.
mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// The first migration: the whole schema as versioned migrations began.
const BASELINE: &str = include_str!("../../migrations/sqlite/V1__baseline.sql");

/// Takes an article out of both indexes.
fn unindex(conn: &Connection, indexed: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM articles_search WHERE rowid = ?1", [indexed])?;
    conn.execute("DELETE FROM article_titles WHERE rowid = ?1", [indexed])?;
    Ok(())
}

/// The rowids of articles in scope `id` span `id << 32 ..= id << 32 | ARTICLE_ROWID`.
const ARTICLE_ROWID: i64 = 0xFFFF_FFFF;

/// The rowid range of a site's articles in one locale; None when it has none.
fn scope_range(
    conn: &Connection,
    site: &str,
    locale: &str,
) -> rusqlite::Result<Option<(i64, i64)>> {
    let id: Option<i64> = conn
        .prepare_cached("SELECT id FROM search_scopes WHERE site = ?1 AND locale = ?2")?
        .query_row(params![site, locale], |row| row.get(0))
        .optional()?;
    Ok(id.map(|id| (id << 32, (id << 32) | ARTICLE_ROWID)))
}

/// The index rowid of article `rowid` of `site` in `locale` (its scope made if new).
fn search_rowid(
    conn: &Connection,
    site: &str,
    locale: &str,
    rowid: i64,
) -> Result<i64, StorageError> {
    if rowid > ARTICLE_ROWID {
        return Err(StorageError::Corrupt(format!(
            "article rowid {rowid} out of range"
        )));
    }
    conn.prepare_cached("INSERT OR IGNORE INTO search_scopes (site, locale) VALUES (?1, ?2)")?
        .execute(params![site, locale])?;
    let (start, _) = scope_range(conn, site, locale)?
        .ok_or_else(|| StorageError::Corrupt(format!("no search scope for {site}/{locale}")))?;
    Ok(start | rowid)
}

/// At most this many matches of one query are ranked: the newest ones. A query
/// matching more is broad (a very common word, a two-letter prefix), and
/// scoring every match is what makes it slow; among its newest matches the
/// best-ranked are shown. Queries with fewer matches are ranked exactly.
const MAX_RANKED_MATCHES: i64 = 1_000;

/// The two full-text indexes.
#[derive(Clone, Copy)]
enum SearchIndex {
    /// `article_titles`: titles only.
    Titles,
    /// `articles_search`: title, body and tags.
    Everything,
}

impl SearchIndex {
    fn table(self) -> &'static str {
        match self {
            SearchIndex::Titles => "article_titles",
            SearchIndex::Everything => "articles_search",
        }
    }
}

/// The index rowids of the best `limit` matches of an FTS expression within
/// one scope's rowid range, best first.
fn ranked_rowids(
    conn: &Connection,
    index: SearchIndex,
    expression: &str,
    (start, end): (i64, i64),
    limit: u32,
) -> rusqlite::Result<Vec<i64>> {
    let table = index.table();
    // The lowest rowid among the newest MAX_RANKED_MATCHES matches; None when fewer match.
    let floor: Option<i64> = conn
        .prepare_cached(&format!(
            "SELECT rowid FROM {table} WHERE {table} MATCH ?1
             AND rowid BETWEEN ?3 AND ?4 ORDER BY rowid DESC LIMIT 1 OFFSET ?2"
        ))?
        .query_row(
            params![expression, MAX_RANKED_MATCHES - 1, start, end],
            |row| row.get(0),
        )
        .optional()?;
    let mut ranked = conn.prepare_cached(&format!(
        "SELECT rowid FROM {table} WHERE {table} MATCH ?1
         AND rowid BETWEEN ?3 AND ?4 ORDER BY rank LIMIT ?2"
    ))?;
    let rows = ranked.query_map(
        params![expression, limit, floor.unwrap_or(start).max(start), end],
        |row| row.get(0),
    )?;
    rows.collect()
}

/// The key of a ticket's appended chunks: the ticket's document id (`ticket:<id>`).
fn ticket_doc_key(id: &str) -> String {
    format!("ticket:{id}")
}

/// `snapshot` followed by every chunk appended to `doc_id` since, in order.
fn with_appended(
    conn: &Connection,
    doc_id: &str,
    snapshot: Vec<u8>,
) -> rusqlite::Result<StoredDoc> {
    let mut stmt =
        conn.prepare_cached("SELECT bytes FROM doc_changes WHERE doc_id = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([doc_id])?;
    let snapshot_len = snapshot.len();
    let mut bytes = snapshot;
    while let Some(row) = rows.next()? {
        bytes.extend_from_slice(row.get_ref(0)?.as_blob()?);
    }
    Ok(StoredDoc {
        appended: bytes.len() - snapshot_len,
        bytes,
        seq: 0,
    })
}

fn append_chunk(conn: &Connection, doc_id: &str, chunk: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO doc_changes (doc_id, bytes) VALUES (?1, ?2)")?
        .execute(params![doc_id, chunk])?;
    Ok(())
}

fn drop_chunks(conn: &Connection, doc_id: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM doc_changes WHERE doc_id = ?1")?
        .execute([doc_id])?;
    Ok(())
}

/// The KPI facts kept across writes, as `SET` clauses: `OLD` is the stored
/// row, `NEW` the written values.
const KEEP_FACTS: &str = "
    resolved_at = CASE WHEN NEW.status IN ('resolved', 'closed')
                       THEN COALESCE(OLD.resolved_at, NEW.updated_at) END,
    max_tier = MAX(OLD.max_tier, NEW.tier),
    reopened = OLD.reopened + (OLD.status IN ('resolved', 'closed')
                               AND NEW.status NOT IN ('resolved', 'closed')),
    pending_since = CASE WHEN NEW.status = 'pending'
                         THEN COALESCE(OLD.pending_since, NEW.updated_at) END,
    rated_at = COALESCE(OLD.rated_at, CASE WHEN NEW.rating IS NOT NULL THEN NEW.updated_at END),";

/// Inserts a ticket's snapshot and projection, or replaces them (keeping the facts).
static INSERT_TICKET: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
                "INSERT INTO tickets (id, site, token_hash, doc, subject, status, tier, priority, category,
                                      email, created_at, updated_at, first_response_due, message_count,
                                      customer_id, customer_name, customer_email,
                                      first_response_at, staff_messages, rating, resolved_at, max_tier,
                                      rated_at, resolution_due)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                         ?18, ?19, ?20, CASE WHEN ?6 IN ('resolved', 'closed') THEN ?12 END, ?7,
                         CASE WHEN ?20 IS NOT NULL THEN ?12 END, ?21)
                 ON CONFLICT (id) DO UPDATE SET {}
                    doc = excluded.doc, subject = excluded.subject, status = excluded.status,
                    tier = excluded.tier, priority = excluded.priority, category = excluded.category,
                    email = excluded.email, updated_at = excluded.updated_at,
                    first_response_due = excluded.first_response_due,
                    resolution_due = excluded.resolution_due,
                    message_count = excluded.message_count,
                    first_response_at = excluded.first_response_at,
                    staff_messages = excluded.staff_messages, rating = excluded.rating
                 WHERE tickets.erased_at IS NULL",
                KEEP_FACTS.replace("OLD.", "tickets.").replace("NEW.", "excluded.")
            )
});

/// Updates a ticket's projection when changes are appended (keeping the facts).
static UPDATE_TICKET: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let new_values = KEEP_FACTS
        .replace("OLD.", "")
        .replace("NEW.status", "?3")
        .replace("NEW.tier", "?4")
        .replace("NEW.updated_at", "?8")
        .replace("NEW.rating", "?15");
    format!(
        "UPDATE tickets SET {new_values}
                    subject = ?2, status = ?3, tier = ?4, priority = ?5,
                    category = ?6, email = ?7, updated_at = ?8, first_response_due = ?9,
                    message_count = ?10, first_response_at = ?13, staff_messages = ?14, rating = ?15,
                    resolution_due = ?16
                 WHERE id = ?1 AND site = ?11 AND token_hash = ?12 AND erased_at IS NULL"
    )
});

fn write_ticket(
    conn: &Connection,
    token_hash: &str,
    bytes: &DocBytes,
    s: &TicketSummary,
) -> Result<(), StorageError> {
    let key = ticket_doc_key(&s.id);
    let customer = s.customer.as_ref();
    match bytes {
        DocBytes::Snapshot(snapshot) => {
            let sql: &str = &INSERT_TICKET;
            let written = conn.prepare_cached(sql)?.execute(params![
                s.id,
                s.site,
                token_hash,
                snapshot,
                s.subject,
                s.status,
                s.tier,
                s.priority,
                s.category,
                s.email,
                s.created_at,
                s.updated_at,
                s.first_response_due,
                s.message_count,
                customer.map(|c| &c.id),
                customer.and_then(|c| c.name.as_ref()),
                customer.and_then(|c| c.email.as_ref()),
                s.first_response_at,
                s.staff_messages,
                s.rating,
                s.resolution_due,
            ])?;
            // The upsert leaves an erased ticket alone (its WHERE).
            if written == 0 {
                return Err(StorageError::Erased(s.id.clone()));
            }
            drop_chunks(conn, &key)?;
        }
        DocBytes::Append(chunk) => {
            let sql: &str = &UPDATE_TICKET;
            let updated = conn.prepare_cached(sql)?.execute(params![
                s.id,
                s.subject,
                s.status,
                s.tier,
                s.priority,
                s.category,
                s.email,
                s.updated_at,
                s.first_response_due,
                s.message_count,
                s.site,
                token_hash,
                s.first_response_at,
                s.staff_messages,
                s.rating,
                s.resolution_due,
            ])?;
            if updated == 0 {
                // Erased, or never stored: only now is it worth asking which.
                let erased: Option<Option<i64>> = conn
                    .prepare_cached("SELECT erased_at FROM tickets WHERE id = ?1")?
                    .query_row([&s.id], |row| row.get(0))
                    .optional()?;
                if erased.flatten().is_some() {
                    return Err(StorageError::Erased(s.id.clone()));
                }
                return Err(StorageError::Corrupt(format!(
                    "changes appended to ticket {} before its first snapshot",
                    s.id
                )));
            }
            append_chunk(conn, &key, chunk)?;
        }
    }
    Ok(())
}

fn write_document(conn: &Connection, doc_id: &str, bytes: &DocBytes) -> rusqlite::Result<()> {
    match bytes {
        DocBytes::Snapshot(snapshot) => {
            conn.prepare_cached(
                "INSERT INTO documents (doc_id, bytes) VALUES (?1, ?2)
                 ON CONFLICT (doc_id) DO UPDATE SET bytes = excluded.bytes",
            )?
            .execute(params![doc_id, snapshot])?;
            drop_chunks(conn, doc_id)
        }
        DocBytes::Append(chunk) => append_chunk(conn, doc_id, chunk),
    }
}

/// A document's snapshot and appended chunks; None when neither exists.
fn read_document(conn: &Connection, doc_id: &str) -> rusqlite::Result<Option<StoredDoc>> {
    let snapshot: Option<Vec<u8>> = conn
        .prepare_cached("SELECT bytes FROM documents WHERE doc_id = ?1")?
        .query_row([doc_id], |row| row.get(0))
        .optional()?;
    let found = snapshot.is_some();
    let stored = with_appended(conn, doc_id, snapshot.unwrap_or_default())?;
    Ok((found || !stored.bytes.is_empty()).then_some(stored))
}

/// Connections kept open for reading, at most.
const MAX_IDLE_READERS: usize = 8;

/// One connection writes (writes are serialised anyway, and group commit
/// batches them); reads take a connection of their own from a small pool, so
/// in WAL mode they never wait for a write and its disk sync.
pub struct SqliteStorage {
    conn: Mutex<Connection>,
    path: std::path::PathBuf,
    readers: Mutex<Vec<Connection>>,
}

/// A reading connection, back to the pool when dropped.
struct Reader<'a> {
    conn: Option<Connection>,
    pool: &'a Mutex<Vec<Connection>>,
}

impl std::ops::Deref for Reader<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
    }
}

impl SqliteStorage {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted content is overwritten, not left in free space (erasure).
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        if legacy::is_legacy(&conn)? {
            legacy::bring_to_baseline(&mut conn)?;
            embedded::migrations::runner()
                .set_target(refinery::Target::FakeVersion(1))
                .run(&mut conn)
                .map_err(|err| StorageError::Migration(err.to_string()))?;
        }
        embedded::migrations::runner()
            .run(&mut conn)
            .map_err(|err| StorageError::Migration(err.to_string()))?;
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// A connection for reading: an idle one, or a new one.
    fn reader(&self) -> Result<Reader<'_>, StorageError> {
        let idle = self
            .readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &self.path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.busy_timeout(std::time::Duration::from_secs(5))?;
                conn
            }
        };
        Ok(Reader {
            conn: Some(conn),
            pool: &self.readers,
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written
        // (transactions roll back), so a poisoned lock is still usable.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A staff member from a row with `id, name, role, active`.
fn staff_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StaffMember> {
    Ok(StaffMember {
        id: row.get("id")?,
        name: row.get("name")?,
        role: row.get("role")?,
        active: row.get("active")?,
        timezone: row.get("timezone")?,
        sites: Vec::new(),
    })
}

/// An article from `site, id, locale, title, html, category, tags_json,
/// sources_json, version, updated_at` (in that order).
fn article_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Article> {
    Ok(Article {
        site: row.get(0)?,
        id: row.get(1)?,
        locale: row.get(2)?,
        title: row.get(3)?,
        html: row.get(4)?,
        category: row.get(5)?,
        tags: parse_list(&row.get::<_, String>(6)?),
        source_tickets: parse_list(&row.get::<_, String>(7)?),
        version: row.get(8)?,
        updated_at: row.get(9)?,
    })
}

/// Fills in the sites a staff member works on.
fn with_sites(conn: &Connection, mut member: StaffMember) -> rusqlite::Result<StaffMember> {
    let mut stmt =
        conn.prepare_cached("SELECT site FROM staff_sites WHERE staff_id = ?1 ORDER BY site")?;
    member.sites = stmt
        .query_map([member.id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(member)
}

fn summary_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TicketSummary> {
    Ok(TicketSummary {
        id: row.get("id")?,
        site: row.get("site")?,
        subject: row.get("subject")?,
        status: row.get("status")?,
        tier: row.get("tier")?,
        priority: row.get("priority")?,
        category: row.get("category")?,
        email: row.get("email")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        first_response_due: row.get("first_response_due")?,
        resolution_due: row.get("resolution_due")?,
        message_count: row.get("message_count")?,
        customer: customer_from_row(row)?,
        first_response_at: row.get("first_response_at")?,
        staff_messages: row.get("staff_messages")?,
        rating: row.get("rating")?,
        resolved_at: row.get("resolved_at")?,
        max_tier: row.get("max_tier")?,
        reopened: row.get("reopened")?,
        assignee: row.get("assignee")?,
        pending_since: row.get("pending_since")?,
        rated_at: row.get("rated_at")?,
    })
}

/// The verified customer of a ticket row, if it was created by one.
fn customer_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<VerifiedCustomer>> {
    row.get::<_, Option<String>>("customer_id")?
        .map(|id| -> rusqlite::Result<VerifiedCustomer> {
            Ok(VerifiedCustomer {
                id,
                name: row.get("customer_name")?,
                email: row.get("customer_email")?,
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::demo_site;

    fn article(id: &str, locale: &str, title: &str) -> Article {
        Article {
            id: id.into(),
            site: "demo".into(),
            locale: locale.into(),
            title: title.into(),
            html: String::new(),
            category: "general".into(),
            tags: vec![],
            source_tickets: vec![],
            version: 0,
            updated_at: 1,
        }
    }

    fn search(s: &SqliteStorage, locale: Locale, q: &str) -> Vec<String> {
        let site: SiteKey = "demo".parse().unwrap();
        let terms = SearchTerms::parse(q).unwrap();
        s.search_articles(&site, locale, &terms, 10)
            .unwrap()
            .into_iter()
            .map(|hit| hit.id)
            .collect()
    }

    #[test]
    fn an_article_moved_to_another_locale_leaves_the_old_scope() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open(&dir.path().join("db.sqlite")).unwrap();
        s.put_site(&"demo".parse().unwrap(), &demo_site()).unwrap();
        let write = |a: &Article| {
            s.publish_articles(&[ArticleWrite {
                article: a,
                markdown: "Parcel tracking",
                plain_text: "Parcel tracking",
            }])
            .unwrap()
        };
        write(&article("track", "en", "Tracking"));
        assert_eq!(search(&s, Locale::En, "parcel"), ["track"]);
        write(&article("track", "de", "Sendungsverfolgung"));
        assert!(search(&s, Locale::En, "parcel").is_empty());
        assert_eq!(search(&s, Locale::De, "parcel"), ["track"]);
        assert!(s.unpublish_article("demo", "track").unwrap());
        assert!(search(&s, Locale::De, "parcel").is_empty());
    }

    #[test]
    fn an_index_with_scope_tokens_is_migrated_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        {
            let s = SqliteStorage::open(&path).unwrap();
            s.put_site(&"demo".parse().unwrap(), &demo_site()).unwrap();
            s.publish_articles(&[ArticleWrite {
                article: &article("returns", "en", "Returns"),
                markdown: "Send the parcel back",
                plain_text: "Send the parcel back",
            }])
            .unwrap();
        }
        // The layout before scope ranges (and before versioned migrations):
        // one index with a scope token column.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE refinery_schema_history; DROP INDEX tickets_by_email;
             DROP TABLE ticket_files; DROP TABLE files; ALTER TABLE tickets DROP COLUMN rated_at;
             ALTER TABLE tickets DROP COLUMN erased_at; DROP TABLE audit_log;
             DROP TABLE webhook_deliveries; DROP TABLE webhook_endpoints;
             DROP TABLE automation_rules; DROP TABLE round_robin; DROP TABLE automation_marks;
             ALTER TABLE tickets DROP COLUMN resolution_due;
             DROP TABLE email_confirmations; DROP TABLE link_revocations;
             DROP INDEX client_errors_by_age;
             ALTER TABLE outbox DROP COLUMN ticket_id; ALTER TABLE outbox DROP COLUMN reply_to;
             DELETE FROM articles_search; DELETE FROM search_scopes; DROP TABLE article_titles;
             CREATE VIRTUAL TABLE articles_fts USING fts5(scope, title, body, tags);
             INSERT INTO articles_fts (rowid, scope, title, body, tags)
                 SELECT rowid, '64656d6fxen', title, 'send the parcel back', '' FROM articles;",
        )
        .unwrap();
        drop(conn);
        let s = SqliteStorage::open(&path).unwrap();
        assert_eq!(search(&s, Locale::En, "parcel"), ["returns"]);
        assert_eq!(
            search(&s, Locale::En, "returns"),
            ["returns"],
            "titles are indexed"
        );
        let old_index: bool = s
            .conn()
            .query_row(
                "SELECT COUNT(*) > 0 FROM sqlite_master WHERE name = 'articles_fts'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert!(!old_index, "the old index is gone");
    }

    fn applied_versions(s: &SqliteStorage) -> Vec<i64> {
        let conn = s.conn();
        let mut stmt = conn
            .prepare("SELECT version FROM refinery_schema_history ORDER BY version")
            .unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn a_new_database_records_its_migrations_and_opens_again_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let s = SqliteStorage::open(&path).unwrap();
        assert_eq!(applied_versions(&s), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        s.put_site(&"demo".parse().unwrap(), &demo_site()).unwrap();
        drop(s);
        let s = SqliteStorage::open(&path).unwrap();
        assert_eq!(applied_versions(&s), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert!(s.site(&"demo".parse().unwrap()).unwrap().is_some());
    }

    #[test]
    fn a_database_from_before_versioned_migrations_is_brought_to_the_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        // The shape of an early database: tickets and staff without the
        // columns added since, no per-site staff, no migration history.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE sites (key TEXT PRIMARY KEY, config_json TEXT NOT NULL);
             CREATE TABLE staff (
                 id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 role TEXT NOT NULL CHECK (role IN ('tier1', 'tier2', 'tier3', 'admin')),
                 token_hash TEXT NOT NULL UNIQUE, login TEXT UNIQUE, password_hash TEXT);
             CREATE TABLE tickets (
                 id TEXT PRIMARY KEY, site TEXT NOT NULL REFERENCES sites(key),
                 token_hash TEXT NOT NULL, doc BLOB NOT NULL, subject TEXT NOT NULL,
                 status TEXT NOT NULL, tier INTEGER NOT NULL, priority TEXT NOT NULL,
                 category TEXT NOT NULL, email TEXT, created_at INTEGER NOT NULL,
                 updated_at INTEGER NOT NULL, first_response_due INTEGER,
                 message_count INTEGER NOT NULL);
             INSERT INTO staff (name, role, token_hash) VALUES ('Sam', 'tier2', 'h');",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO sites (key, config_json) VALUES ('demo', ?1)",
            [serde_json::to_string(&demo_site()).unwrap()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO tickets VALUES ('t1', 'demo', 'x', x'', 'Printer', 'open', 2,
                 'normal', 'general', NULL, 10, 20, NULL, 1)",
            [],
        )
        .unwrap();
        drop(conn);

        let s = SqliteStorage::open(&path).unwrap();
        assert_eq!(
            applied_versions(&s),
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "recorded at the baseline, then migrated"
        );
        let ticket = s.ticket_summary("t1").unwrap().expect("the ticket is kept");
        assert_eq!((ticket.subject.as_str(), ticket.tier), ("Printer", 2));
        assert_eq!(ticket.max_tier, 2, "the highest tier so far is its tier");
        let sam = s.staff_by_token_hash("h").unwrap().expect("staff are kept");
        assert!(sam.active);
        assert_eq!(sam.sites, ["demo"], "staff keep the sites they had");
        // Every table and index of the baseline exists, and it opens again.
        let names = |s: &SqliteStorage| -> Vec<String> {
            let conn = s.conn();
            let mut stmt = conn
                .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name")
                .unwrap();
            stmt.query_map([], |row| row.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let fresh = SqliteStorage::open(&dir.path().join("fresh.sqlite")).unwrap();
        assert_eq!(names(&s), names(&fresh));
        drop(s);
        let s = SqliteStorage::open(&path).unwrap();
        assert_eq!(applied_versions(&s), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
}
