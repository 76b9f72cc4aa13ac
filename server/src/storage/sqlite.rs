//! The embedded SQLite storage: one file in WAL mode with `synchronous=FULL`,
//! so a write that returned is on disk before the hub acknowledges it.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use stufe_shared::site::SiteConfig;
use stufe_shared::{Locale, SiteKey, TicketId};

use super::prelude::*;
use super::{
    json_list, parse_list, parse_site, parse_site_key, site_json, ClientError, DocBytes,
    DocChanges, DocWrite, PublishedVersion, QueuedMail, SavedReply, StaffMember, StaffNote,
    StorageError, StoredDoc, StoredTicket, TicketFilter, TicketSummary,
};
use crate::identity::VerifiedCustomer;
use crate::kb::article::{Article, ArticleWrite, KbCounts, KbEvent, QueryCount, SearchHit};
use crate::kb::query::{fold_sharp_s, SearchTerms};
use crate::kb::snippet::snippet_html;

mod legacy;

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
                         THEN COALESCE(OLD.pending_since, NEW.updated_at) END,";

/// Inserts a ticket's snapshot and projection, or replaces them (keeping the facts).
static INSERT_TICKET: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
                "INSERT INTO tickets (id, site, token_hash, doc, subject, status, tier, priority, category,
                                      email, created_at, updated_at, first_response_due, message_count,
                                      customer_id, customer_name, customer_email,
                                      first_response_at, staff_messages, rating, resolved_at, max_tier)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                         ?18, ?19, ?20, CASE WHEN ?6 IN ('resolved', 'closed') THEN ?12 END, ?7)
                 ON CONFLICT (id) DO UPDATE SET {}
                    doc = excluded.doc, subject = excluded.subject, status = excluded.status,
                    tier = excluded.tier, priority = excluded.priority, category = excluded.category,
                    email = excluded.email, updated_at = excluded.updated_at,
                    first_response_due = excluded.first_response_due,
                    message_count = excluded.message_count,
                    first_response_at = excluded.first_response_at,
                    staff_messages = excluded.staff_messages, rating = excluded.rating",
                KEEP_FACTS.replace("OLD.", "tickets.").replace("NEW.", "excluded.")
            )
});

/// Updates a ticket's projection when changes are appended (keeping the facts).
static UPDATE_TICKET: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let new_values = KEEP_FACTS
        .replace("OLD.", "")
        .replace("NEW.status", "?3")
        .replace("NEW.tier", "?4")
        .replace("NEW.updated_at", "?8");
    format!(
        "UPDATE tickets SET {new_values}
                    subject = ?2, status = ?3, tier = ?4, priority = ?5,
                    category = ?6, email = ?7, updated_at = ?8, first_response_due = ?9,
                    message_count = ?10, first_response_at = ?13, staff_messages = ?14, rating = ?15
                 WHERE id = ?1 AND site = ?11 AND token_hash = ?12"
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
            conn.prepare_cached(sql)?.execute(params![
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
            ])?;
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
            ])?;
            if updated == 0 {
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

impl SiteStore for SqliteStorage {
    fn site(&self, key: &SiteKey) -> Result<Option<SiteConfig>, StorageError> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT config_json FROM sites WHERE key = ?1",
                [key.as_str()],
                |row| row.get(0),
            )
            .optional()?;
        json.as_deref().map(parse_site).transpose()
    }

    fn put_site(&self, key: &SiteKey, config: &SiteConfig) -> Result<(), StorageError> {
        let json = site_json(config)?;
        self.conn().execute(
            "INSERT INTO sites (key, config_json) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET config_json = excluded.config_json",
            params![key.as_str(), json],
        )?;
        Ok(())
    }

    fn create_site(
        &self,
        key: &SiteKey,
        config: &SiteConfig,
        identity_secret: &str,
    ) -> Result<bool, StorageError> {
        let json = site_json(config)?;
        let inserted = self.conn().execute(
            "INSERT INTO sites (key, config_json, identity_secret) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO NOTHING",
            params![key.as_str(), json, identity_secret],
        )?;
        Ok(inserted == 1)
    }

    fn sites(&self) -> Result<Vec<(SiteKey, SiteConfig)>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached("SELECT key, config_json FROM sites ORDER BY key")?;
        let rows = stmt
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(key, json)| Ok((parse_site_key(key)?, parse_site(&json)?)))
            .collect()
    }

    fn site_secret(&self, key: &SiteKey) -> Result<Option<String>, StorageError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT identity_secret FROM sites WHERE key = ?1",
                [key.as_str()],
                |row| row.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    fn set_site_secret(&self, key: &SiteKey, secret: &str) -> Result<(), StorageError> {
        self.conn().execute(
            "UPDATE sites SET identity_secret = ?2 WHERE key = ?1",
            params![key.as_str(), secret],
        )?;
        Ok(())
    }

    fn server_secret(&self, name: &str) -> Result<String, StorageError> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR IGNORE INTO server_secrets (name, value) VALUES (?1, ?2)",
            params![name, crate::tokens::random_token()],
        )?;
        Ok(conn.query_row(
            "SELECT value FROM server_secrets WHERE name = ?1",
            [name],
            |row| row.get(0),
        )?)
    }

    fn is_empty(&self) -> Result<bool, StorageError> {
        let sites: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM sites", [], |row| row.get(0))?;
        Ok(sites == 0)
    }
}

impl DocStore for SqliteStorage {
    fn ticket(&self, id: TicketId) -> Result<Option<StoredTicket>, StorageError> {
        let conn = self.reader()?;
        type Row = (String, String, Vec<u8>, Option<VerifiedCustomer>);
        let row: Option<Row> = conn
            .query_row(
                "SELECT site, token_hash, doc, customer_id, customer_name, customer_email
                 FROM tickets WHERE id = ?1",
                [id.to_string()],
                |row| {
                    Ok((
                        row.get("site")?,
                        row.get("token_hash")?,
                        row.get("doc")?,
                        customer_from_row(row)?,
                    ))
                },
            )
            .optional()?;
        let Some((site, token_hash, snapshot, customer)) = row else {
            return Ok(None);
        };
        let stored = with_appended(&conn, &ticket_doc_key(&id.to_string()), snapshot)?;
        Ok(Some(StoredTicket {
            site: parse_site_key(site)?,
            token_hash,
            bytes: stored.bytes,
            appended: stored.appended,
            customer,
            seq: 0,
        }))
    }

    fn write_docs(&self, writes: &[DocWrite]) -> Result<Vec<i64>, StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for write in writes {
            match write {
                DocWrite::Ticket {
                    token_hash,
                    bytes,
                    summary,
                    after: _,
                } => write_ticket(&tx, token_hash, bytes, summary)?,
                DocWrite::Document {
                    doc_id,
                    bytes,
                    after: _,
                } => write_document(&tx, doc_id, bytes)?,
            }
        }
        tx.commit()?;
        // One server writes this file: writes need no positions (see `DocWrite`).
        Ok(vec![0; writes.len()])
    }

    fn changes_since(
        &self,
        _doc_id: &str,
        _after: i64,
    ) -> Result<Option<DocChanges>, StorageError> {
        // Only this server writes the file, and its copies hold what it wrote.
        Ok(None)
    }

    fn documents_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT doc_id FROM documents WHERE substr(doc_id, 1, length(?1)) = ?1
             UNION SELECT doc_id FROM doc_changes WHERE substr(doc_id, 1, length(?1)) = ?1
             ORDER BY doc_id",
        )?;
        let ids: Vec<String> = stmt
            .query_map([prefix], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        ids.into_iter()
            .filter(|id| !id.starts_with("ticket:"))
            .map(|id| {
                let stored = read_document(&conn, &id)?;
                Ok((id, stored.map(|d| d.bytes).unwrap_or_default()))
            })
            .collect()
    }

    fn document(&self, doc_id: &str) -> Result<Option<StoredDoc>, StorageError> {
        let reader = self.reader()?;
        Ok(read_document(&reader, doc_id)?)
    }
}

impl TicketStore for SqliteStorage {
    fn list_tickets(&self, filter: &TicketFilter) -> Result<Vec<TicketSummary>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT * FROM tickets
             WHERE (?1 IS NULL OR site = ?1) AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR tier = ?3)
               AND (?4 IS NULL OR customer_id = ?4)
             ORDER BY created_at DESC, id
             LIMIT 500",
        )?;
        let rows = stmt.query_map(
            params![filter.site, filter.status, filter.tier, filter.customer],
            summary_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn ticket_summary(&self, id: &str) -> Result<Option<TicketSummary>, StorageError> {
        let conn = self.reader()?;
        let found = conn
            .prepare_cached("SELECT * FROM tickets WHERE id = ?1")?
            .query_row([id], summary_from_row)
            .optional()?;
        Ok(found)
    }

    fn customer_history(
        &self,
        site: &str,
        except: &str,
        customer_id: Option<&str>,
        email: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TicketSummary>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT * FROM tickets INDEXED BY tickets_by_customer
             WHERE site = ?1 AND id != ?2 AND ?3 IS NOT NULL AND customer_id = ?3
             UNION
             SELECT * FROM tickets INDEXED BY tickets_by_email
             WHERE site = ?1 AND id != ?2 AND ?4 IS NOT NULL AND email = ?4
               AND (?3 IS NULL OR customer_id IS NULL)
             ORDER BY created_at DESC, id DESC LIMIT ?5",
        )?;
        let rows = stmt.query_map(
            params![site, except, customer_id, email, limit],
            summary_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn ticket_facts(&self, site: &str, since: i64) -> Result<Vec<TicketSummary>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT * FROM tickets WHERE site = ?1 AND created_at >= ?2 ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map(params![site, since], summary_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn saved_replies(&self, site: &str) -> Result<Vec<SavedReply>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, site, title, body FROM saved_replies WHERE site = ?1 ORDER BY title, id",
        )?;
        let rows = stmt.query_map([site], |row| {
            Ok(SavedReply {
                id: row.get(0)?,
                site: row.get(1)?,
                title: row.get(2)?,
                body: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn add_saved_reply(&self, site: &str, title: &str, body: &str) -> Result<i64, StorageError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO saved_replies (site, title, body) VALUES (?1, ?2, ?3)",
            params![site, title, body],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn delete_saved_reply(&self, site: &str, id: i64) -> Result<bool, StorageError> {
        Ok(self.conn().execute(
            "DELETE FROM saved_replies WHERE site = ?1 AND id = ?2",
            params![site, id],
        )? == 1)
    }

    fn add_note(&self, note: &StaffNote) -> Result<(), StorageError> {
        self.conn().execute(
            "INSERT INTO ticket_notes (ticket, at, by_name, kind, change, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![note.ticket, note.at, note.by, note.kind, note.change, note.body],
        )?;
        Ok(())
    }

    fn notes(&self, ticket: &str) -> Result<Vec<StaffNote>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT ticket, at, by_name, kind, change, body FROM ticket_notes WHERE ticket = ?1 ORDER BY at, id",
        )?;
        let rows = stmt.query_map([ticket], |row| {
            Ok(StaffNote {
                ticket: row.get(0)?,
                at: row.get(1)?,
                by: row.get(2)?,
                kind: row.get(3)?,
                change: row.get(4)?,
                body: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn assign(&self, ticket: &str, staff_id: Option<i64>) -> Result<bool, StorageError> {
        let changed = self.conn().execute(
            "UPDATE tickets SET assignee = ?2 WHERE id = ?1",
            params![ticket, staff_id],
        )?;
        Ok(changed == 1)
    }
}

impl StaffStore for SqliteStorage {
    fn staff_by_token_hash(&self, token_hash: &str) -> Result<Option<StaffMember>, StorageError> {
        let conn = self.reader()?;
        let found = conn
            .query_row(
                "SELECT id, name, role, active, timezone FROM staff WHERE token_hash = ?1 AND active = 1",
                [token_hash],
                staff_from_row,
            )
            .optional()?;
        Ok(found.map(|m| with_sites(&conn, m)).transpose()?)
    }

    fn grant_site(&self, staff_id: i64, site: &SiteKey) -> Result<(), StorageError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO staff_sites (staff_id, site) VALUES (?1, ?2)",
            params![staff_id, site.as_str()],
        )?;
        Ok(())
    }

    fn add_staff(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
    ) -> Result<StaffMember, StorageError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO staff (name, role, token_hash) VALUES (?1, ?2, ?3)",
            params![name, role, token_hash],
        )?;
        Ok(StaffMember {
            id: conn.last_insert_rowid(),
            name: name.to_owned(),
            role: role.to_owned(),
            sites: Vec::new(),
            active: true,
            timezone: "UTC".into(),
        })
    }

    fn set_staff_login(
        &self,
        staff_id: i64,
        login: &str,
        password_hash: &str,
    ) -> Result<(), StorageError> {
        self.conn().execute(
            "UPDATE staff SET login = ?2, password_hash = ?3 WHERE id = ?1",
            params![staff_id, login, password_hash],
        )?;
        Ok(())
    }

    fn list_staff(&self) -> Result<Vec<StaffMember>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, name, role, active, timezone FROM staff ORDER BY name, id",
        )?;
        let members = stmt
            .query_map([], staff_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(members
            .into_iter()
            .map(|m| with_sites(&conn, m))
            .collect::<Result<_, _>>()?)
    }

    fn staff_by_login(&self, login: &str) -> Result<Option<(StaffMember, String)>, StorageError> {
        let conn = self.reader()?;
        let found: Option<(StaffMember, String)> = conn
            .query_row(
                "SELECT id, name, role, active, timezone, password_hash FROM staff
                 WHERE login = ?1 AND password_hash IS NOT NULL AND active = 1",
                [login],
                |row| Ok((staff_from_row(row)?, row.get("password_hash")?)),
            )
            .optional()?;
        Ok(found
            .map(|(m, hash)| with_sites(&conn, m).map(|m| (m, hash)))
            .transpose()?)
    }

    fn create_session(
        &self,
        token_hash: &str,
        staff_id: i64,
        expires_at: i64,
    ) -> Result<(), StorageError> {
        self.conn().execute(
            "INSERT INTO sessions (token_hash, staff_id, expires_at) VALUES (?1, ?2, ?3)",
            params![token_hash, staff_id, expires_at],
        )?;
        Ok(())
    }

    fn staff_by_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<StaffMember>, StorageError> {
        let conn = self.reader()?;
        let found = conn
            .query_row(
                "SELECT s.id, s.name, s.role, s.active, s.timezone FROM sessions JOIN staff s ON s.id = sessions.staff_id
                 WHERE sessions.token_hash = ?1 AND sessions.expires_at > ?2 AND s.active = 1",
                params![token_hash, now],
                staff_from_row,
            )
            .optional()?;
        Ok(found.map(|m| with_sites(&conn, m)).transpose()?)
    }

    fn update_staff(
        &self,
        staff_id: i64,
        role: Option<&str>,
        active: Option<bool>,
    ) -> Result<bool, StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE staff SET role = COALESCE(?2, role), active = COALESCE(?3, active) WHERE id = ?1",
            params![staff_id, role, active],
        )?;
        if active == Some(false) {
            tx.execute("DELETE FROM sessions WHERE staff_id = ?1", [staff_id])?;
        }
        tx.commit()?;
        Ok(changed == 1)
    }

    fn create_staff_account(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
        login: &str,
        password_hash: &str,
        sites: &[SiteKey],
    ) -> Result<Option<StaffMember>, StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let taken: bool = tx.query_row(
            "SELECT COUNT(*) > 0 FROM staff WHERE login = ?1",
            [login],
            |row| row.get(0),
        )?;
        if taken {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO staff (name, role, token_hash, login, password_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, role, token_hash, login, password_hash],
        )?;
        let id = tx.last_insert_rowid();
        for site in sites {
            tx.execute(
                "INSERT OR IGNORE INTO staff_sites (staff_id, site) VALUES (?1, ?2)",
                params![id, site.as_str()],
            )?;
        }
        tx.commit()?;
        Ok(Some(StaffMember {
            id,
            name: name.to_owned(),
            role: role.to_owned(),
            sites: sites.iter().map(ToString::to_string).collect(),
            active: true,
            timezone: "UTC".into(),
        }))
    }

    fn staff_login_of(&self, staff_id: i64) -> Result<Option<(String, String)>, StorageError> {
        let conn = self.reader()?;
        let found = conn
            .query_row(
                "SELECT login, password_hash FROM staff WHERE id = ?1 AND login IS NOT NULL AND password_hash IS NOT NULL",
                [staff_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        Ok(found)
    }

    fn set_staff_timezone(&self, staff_id: i64, timezone: &str) -> Result<(), StorageError> {
        self.conn().execute(
            "UPDATE staff SET timezone = ?2 WHERE id = ?1",
            params![staff_id, timezone],
        )?;
        Ok(())
    }

    fn delete_sessions_of(&self, staff_id: i64) -> Result<(), StorageError> {
        self.conn()
            .execute("DELETE FROM sessions WHERE staff_id = ?1", [staff_id])?;
        Ok(())
    }

    fn delete_session(&self, token_hash: &str) -> Result<(), StorageError> {
        self.conn()
            .execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
        Ok(())
    }

    fn delete_expired_sessions(&self, now: i64) -> Result<usize, StorageError> {
        Ok(self
            .conn()
            .execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?)
    }
}

impl KbStore for SqliteStorage {
    fn publish_articles(&self, writes: &[ArticleWrite<'_>]) -> Result<Vec<u32>, StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut versions = Vec::with_capacity(writes.len());
        for w in writes {
            let a = w.article;
            let previous: Option<(i64, u32, String)> = tx
                .query_row(
                    "SELECT rowid, version, locale FROM articles WHERE site = ?1 AND id = ?2",
                    params![a.site, a.id],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            if let Some((rowid, _, locale)) = &previous {
                let indexed = search_rowid(&tx, &a.site, locale, *rowid)?;
                unindex(&tx, indexed)?;
            }
            let version = previous.map_or(1, |(_, v, _)| v + 1);
            let rowid: i64 = tx.query_row(
                "INSERT INTO articles (site, id, locale, title, markdown, html, category, tags_json,
                                       sources_json, version, published, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11)
                 ON CONFLICT (site, id) DO UPDATE SET
                    locale = excluded.locale, title = excluded.title, markdown = excluded.markdown,
                    html = excluded.html, category = excluded.category, tags_json = excluded.tags_json,
                    sources_json = excluded.sources_json, version = excluded.version, published = 1,
                    updated_at = excluded.updated_at
                 RETURNING rowid",
                params![
                    a.site,
                    a.id,
                    a.locale,
                    a.title,
                    w.markdown,
                    a.html,
                    a.category,
                    json_list(&a.tags),
                    json_list(&a.source_tickets),
                    version,
                    a.updated_at,
                ],
                |row| row.get(0),
            )?;
            let indexed = search_rowid(&tx, &a.site, &a.locale, rowid)?;
            tx.execute(
                "INSERT INTO article_titles (rowid, title) VALUES (?1, ?2)",
                params![indexed, fold_sharp_s(&a.title)],
            )?;
            tx.execute(
                "INSERT INTO articles_search (rowid, title, body, tags) VALUES (?1, ?2, ?3, ?4)",
                params![
                    indexed,
                    fold_sharp_s(&a.title),
                    fold_sharp_s(w.plain_text),
                    fold_sharp_s(&a.tags.join(" ")),
                ],
            )?;
            versions.push(version);
        }
        tx.commit()?;
        Ok(versions)
    }

    fn unpublish_article(&self, site: &str, id: &str) -> Result<bool, StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let unpublished: Option<(i64, String)> = tx
            .query_row(
                "UPDATE articles SET published = 0 WHERE site = ?1 AND id = ?2 AND published = 1
                 RETURNING rowid, locale",
                params![site, id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        if let Some((rowid, locale)) = &unpublished {
            let indexed = search_rowid(&tx, site, locale, *rowid)?;
            unindex(&tx, indexed)?;
        }
        tx.commit()?;
        Ok(unpublished.is_some())
    }

    fn published_versions(&self) -> Result<Vec<PublishedVersion>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare(
            "SELECT site, locale, id, version FROM articles WHERE published = 1 ORDER BY site, id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(PublishedVersion {
                site: row.get(0)?,
                locale: row.get(1)?,
                id: row.get(2)?,
                version: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn article_source(
        &self,
        site: &str,
        id: &str,
    ) -> Result<Option<(Article, String)>, StorageError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT site, id, locale, title, html, category, tags_json, sources_json, version, updated_at, markdown
                 FROM articles WHERE site = ?1 AND id = ?2 AND published = 1",
                params![site, id],
                |row| Ok((article_from_row(row)?, row.get(10)?)),
            )
            .optional()?)
    }

    fn article(&self, site: &str, id: &str) -> Result<Option<Article>, StorageError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT site, id, locale, title, html, category, tags_json, sources_json, version, updated_at
                 FROM articles WHERE site = ?1 AND id = ?2 AND published = 1",
                params![site, id],
                article_from_row,
            )
            .optional()?)
    }

    fn search_articles(
        &self,
        site: &SiteKey,
        locale: Locale,
        terms: &SearchTerms,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StorageError> {
        // The site and locale are bound parameters, the terms quoted letters
        // and digits: nothing here comes from request text as it was sent.
        let expression = terms.match_expression();
        let conn = self.reader()?;
        let Some(range) = scope_range(&conn, site.as_str(), locale.as_str())? else {
            return Ok(Vec::new());
        };
        // Ranking only rowids keeps the per-match work small; snippets are made
        // for the few winners. Title matches come first: searching titles alone
        // (their own index) touches far fewer rows for common words, and only
        // when titles give fewer than `limit` hits is everything searched.
        let mut rowids = ranked_rowids(&conn, SearchIndex::Titles, &expression, range, limit)?;
        if rowids.len() < limit as usize {
            for rowid in ranked_rowids(&conn, SearchIndex::Everything, &expression, range, limit)? {
                if rowids.len() == limit as usize {
                    break;
                }
                if !rowids.contains(&rowid) {
                    rowids.push(rowid);
                }
            }
        }
        // A rowid lookup, not a second MATCH per hit (see `kb::snippet`).
        let mut hit = conn.prepare_cached(
            "SELECT a.id, a.title, a.category, s.body
             FROM articles_search s JOIN articles a ON a.rowid = (s.rowid & ?2)
             WHERE s.rowid = ?1",
        )?;
        let mut hits = Vec::with_capacity(rowids.len());
        for rowid in rowids {
            let found = hit
                .query_row(params![rowid, ARTICLE_ROWID], |row| {
                    Ok(SearchHit {
                        id: row.get(0)?,
                        title: row.get(1)?,
                        category: row.get(2)?,
                        snippet: snippet_html(row.get_ref(3)?.as_str()?, terms),
                    })
                })
                .optional()?;
            hits.extend(found);
        }
        Ok(hits)
    }

    fn record_kb_event(&self, site: &str, event: &KbEvent, at: i64) -> Result<(), StorageError> {
        let r = event.row();
        self.conn().execute(
            "INSERT INTO kb_events (site, kind, query, results, article, helpful, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![site, r.kind, r.query, r.results, r.article, r.helpful, at],
        )?;
        Ok(())
    }

    fn kb_counts(&self, site: &str, since: i64) -> Result<KbCounts, StorageError> {
        Ok(self.reader()?.query_row(
            "SELECT
                 COUNT(*) FILTER (WHERE kind = 'search'),
                 COUNT(*) FILTER (WHERE kind = 'search' AND results = 0),
                 COUNT(*) FILTER (WHERE kind = 'article_view'),
                 COUNT(*) FILTER (WHERE kind = 'helpful' AND helpful = 1),
                 COUNT(*) FILTER (WHERE kind = 'helpful' AND helpful = 0),
                 COUNT(*) FILTER (WHERE kind = 'deflection')
             FROM kb_events WHERE site = ?1 AND at >= ?2",
            params![site, since],
            |row| {
                Ok(KbCounts {
                    searches: row.get(0)?,
                    zero_result_searches: row.get(1)?,
                    article_views: row.get(2)?,
                    helpful_yes: row.get(3)?,
                    helpful_no: row.get(4)?,
                    deflections: row.get(5)?,
                })
            },
        )?)
    }

    fn top_searches(
        &self,
        site: &str,
        zero_results_only: bool,
        limit: u32,
    ) -> Result<Vec<QueryCount>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT query, COUNT(*) AS n FROM kb_events
             WHERE site = ?1 AND kind = 'search' AND (?2 = 0 OR results = 0)
             GROUP BY query ORDER BY n DESC, query LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![site, zero_results_only, limit], |row| {
            Ok(QueryCount {
                query: row.get(0)?,
                count: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl MailStore for SqliteStorage {
    fn queue_mail(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        now: i64,
    ) -> Result<(), StorageError> {
        self.conn().execute(
            "INSERT INTO outbox (to_addr, subject, body, queued_at, next_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![to, subject, body, now],
        )?;
        Ok(())
    }

    fn claim_due_mail(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
    ) -> Result<Vec<QueuedMail>, StorageError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "UPDATE outbox SET next_at = ?3 WHERE id IN (
                 SELECT id FROM outbox
                 WHERE sent_at IS NULL AND next_at IS NOT NULL AND next_at <= ?1
                 ORDER BY next_at, id LIMIT ?2)
             RETURNING id, to_addr, subject, body, attempts",
        )?;
        let rows = stmt.query_map(params![now, limit, lease_until], |row| {
            Ok(QueuedMail {
                id: row.get(0)?,
                to: row.get(1)?,
                subject: row.get(2)?,
                body: row.get(3)?,
                attempts: row.get(4)?,
            })
        })?;
        let mut claimed: Vec<QueuedMail> = rows.collect::<Result<_, _>>()?;
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
    }

    fn mail_sent(&self, id: i64, now: i64) -> Result<(), StorageError> {
        self.conn().execute(
            "UPDATE outbox SET sent_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
    }

    fn mail_failed(&self, id: i64, error: &str, next_at: Option<i64>) -> Result<(), StorageError> {
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_at = ?3 WHERE id = ?1",
            params![id, error, next_at],
        )?;
        Ok(())
    }

    fn confirm_email(&self, ticket: &str, email: &str, at: i64) -> Result<(), StorageError> {
        self.conn().execute(
            "INSERT INTO email_confirmations (ticket_id, email, confirmed_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (ticket_id) DO UPDATE SET email = ?2, confirmed_at = ?3",
            params![ticket, email, at],
        )?;
        Ok(())
    }

    fn confirmed_email(&self, ticket: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .reader()?
            .query_row(
                "SELECT email FROM email_confirmations WHERE ticket_id = ?1",
                params![ticket],
                |row| row.get(0),
            )
            .optional()?)
    }

    fn revoke_links(&self, ticket: &str, at: i64) -> Result<(), StorageError> {
        self.conn().execute(
            "INSERT INTO link_revocations (ticket_id, revoked_at) VALUES (?1, ?2)
             ON CONFLICT (ticket_id) DO UPDATE SET revoked_at = max(revoked_at, ?2)",
            params![ticket, at],
        )?;
        Ok(())
    }

    fn links_revoked_at(&self, ticket: &str) -> Result<Option<i64>, StorageError> {
        Ok(self
            .reader()?
            .query_row(
                "SELECT revoked_at FROM link_revocations WHERE ticket_id = ?1",
                params![ticket],
                |row| row.get(0),
            )
            .optional()?)
    }
}

impl ClientErrorStore for SqliteStorage {
    fn record_client_error(&self, error: &ClientError) -> Result<(), StorageError> {
        self.conn().execute(
            "INSERT INTO client_errors (site, message, version, user_agent, at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                error.site,
                error.message,
                error.version,
                error.user_agent,
                error.at
            ],
        )?;
        Ok(())
    }

    fn prune_client_errors(&self, before: i64) -> Result<usize, StorageError> {
        Ok(self
            .conn()
            .execute("DELETE FROM client_errors WHERE at < ?1", params![before])?)
    }

    fn client_errors(
        &self,
        site: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ClientError>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT site, message, version, user_agent, at FROM client_errors
             WHERE ?1 IS NULL OR site = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![site, limit], |row| {
            Ok(ClientError {
                site: row.get(0)?,
                message: row.get(1)?,
                version: row.get(2)?,
                user_agent: row.get(3)?,
                at: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
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
             DROP TABLE email_confirmations; DROP TABLE link_revocations;
             DROP INDEX client_errors_by_age;
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
        assert_eq!(applied_versions(&s), [1, 2, 3]);
        s.put_site(&"demo".parse().unwrap(), &demo_site()).unwrap();
        drop(s);
        let s = SqliteStorage::open(&path).unwrap();
        assert_eq!(applied_versions(&s), [1, 2, 3]);
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
            [1, 2, 3],
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
        assert_eq!(applied_versions(&s), [1, 2, 3]);
    }
}
