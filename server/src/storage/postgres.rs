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

use std::time::Duration;

use ::postgres::types::Type;
use ::postgres::{GenericClient, NoTls, Row};
use r2d2_postgres::PostgresConnectionManager;
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
use crate::kb::query::SearchTerms;
use crate::kb::snippet::snippet_html;

pub mod listen;
pub mod scratch;

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
                         first_response_at, staff_messages, rating, resolved_at, max_tier)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
            CASE WHEN $5::text IN ('resolved', 'closed') THEN $11::bigint END, $6)
    ON CONFLICT (id) DO UPDATE SET
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
        staff_messages = EXCLUDED.staff_messages, rating = EXCLUDED.rating";

/// Updates the projection of a stored ticket (same facts kept as above).
const UPDATE_TICKET: &str = "
    UPDATE tickets SET
        resolved_at = CASE WHEN $3::text IN ('resolved', 'closed')
                           THEN COALESCE(resolved_at, $8::bigint) END,
        max_tier = GREATEST(max_tier, $4::int),
        reopened = reopened + (status IN ('resolved', 'closed')
                               AND $3::text NOT IN ('resolved', 'closed'))::int,
        pending_since = CASE WHEN $3::text = 'pending'
                             THEN COALESCE(pending_since, $8::bigint) END,
        subject = $2, status = $3, tier = $4, priority = $5, category = $6, email = $7,
        updated_at = $8, first_response_due = $9, message_count = $10,
        first_response_at = $13, staff_messages = $14, rating = $15
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

impl SiteStore for PostgresStorage {
    fn site(&self, key: &SiteKey) -> Result<Option<SiteConfig>, StorageError> {
        self.client()?
            .query_opt(
                "SELECT config_json FROM sites WHERE key = $1",
                &[&key.as_str()],
            )?
            .map(|row| parse_site(row.get(0)))
            .transpose()
    }

    fn put_site(&self, key: &SiteKey, config: &SiteConfig) -> Result<(), StorageError> {
        let json = site_json(config)?;
        self.client()?.execute(
            "INSERT INTO sites (key, config_json) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET config_json = EXCLUDED.config_json",
            &[&key.as_str(), &json],
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
        let inserted = self.client()?.execute(
            "INSERT INTO sites (key, config_json, identity_secret) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO NOTHING",
            &[&key.as_str(), &json, &identity_secret],
        )?;
        Ok(inserted == 1)
    }

    fn sites(&self) -> Result<Vec<(SiteKey, SiteConfig)>, StorageError> {
        self.client()?
            .query("SELECT key, config_json FROM sites ORDER BY key", &[])?
            .iter()
            .map(|row| Ok((parse_site_key(row.get(0))?, parse_site(row.get(1))?)))
            .collect()
    }

    fn site_secret(&self, key: &SiteKey) -> Result<Option<String>, StorageError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT identity_secret FROM sites WHERE key = $1",
                &[&key.as_str()],
            )?
            .and_then(|row| row.get(0)))
    }

    fn set_site_secret(&self, key: &SiteKey, secret: &str) -> Result<(), StorageError> {
        self.client()?.execute(
            "UPDATE sites SET identity_secret = $2 WHERE key = $1",
            &[&key.as_str(), &secret],
        )?;
        Ok(())
    }

    fn is_empty(&self) -> Result<bool, StorageError> {
        Ok(!self
            .client()?
            .query_one("SELECT EXISTS (SELECT 1 FROM sites)", &[])?
            .get::<_, bool>(0))
    }

    fn server_secret(&self, name: &str) -> Result<String, StorageError> {
        let mut client = self.client()?;
        client.execute(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &crate::tokens::random_token()],
        )?;
        Ok(client
            .query_one("SELECT value FROM server_secrets WHERE name = $1", &[&name])?
            .get(0))
    }
}

impl DocStore for PostgresStorage {
    fn ticket(&self, id: TicketId) -> Result<Option<StoredTicket>, StorageError> {
        // The projection's columns on every row of the document (one query).
        let rows = self.client()?.query_typed(
            "SELECT t.site, t.token_hash, t.customer_id, t.customer_name, t.customer_email,
                    c.seq, c.snapshot, c.bytes
             FROM tickets t LEFT JOIN doc_chunks c ON c.doc_id = 'ticket:' || t.id
             WHERE t.id = $1 ORDER BY c.seq",
            &[(&id.to_string(), Type::TEXT)],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let chunks = rows.iter().filter_map(|r| {
            let seq: Option<i64> = r.get(5);
            Some((seq?, r.get(6), r.get(7)))
        });
        let Some(stored) = assemble(chunks) else {
            return Err(corrupt(format!("ticket {id} has no document")));
        };
        Ok(Some(StoredTicket {
            site: parse_site_key(row.get("site"))?,
            token_hash: row.get("token_hash"),
            customer: customer_from_row(row),
            bytes: stored.bytes,
            appended: stored.appended,
            seq: stored.seq,
        }))
    }

    fn write_docs(&self, writes: &[DocWrite]) -> Result<Vec<i64>, StorageError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        // Every document's lock first, in one order, so two servers' batches
        // never wait on each other in a circle.
        let mut ids: Vec<String> = writes.iter().map(DocWrite::doc_id).collect();
        ids.sort();
        ids.dedup();
        tx.query_typed(
            "SELECT pg_advisory_xact_lock(hashtextextended(id, 0))
             FROM (SELECT id FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n) ORDER BY n) AS ids",
            &[(&ids, Type::TEXT_ARRAY)],
        )?;
        // Read after the locks are held (a statement of its own: it sees
        // every write committed before), the newest position of each.
        let mut newest: std::collections::HashMap<String, i64> = tx
            .query_typed(
                "SELECT doc_id, MAX(seq) FROM doc_chunks WHERE doc_id = ANY($1) GROUP BY doc_id",
                &[(&ids, Type::TEXT_ARRAY)],
            )?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        let mut statements = Statements::default();
        let mut positions = Vec::with_capacity(writes.len());
        for write in writes {
            let doc_id = write.doc_id();
            let (DocWrite::Ticket { after, .. } | DocWrite::Document { after, .. }) = write;
            // Every write names the last one its copy holds (see `DocWrite`).
            if newest.get(&doc_id).copied().unwrap_or(0) != *after {
                return Err(StorageError::Conflict(doc_id));
            }
            let seq = match write {
                DocWrite::Ticket {
                    token_hash,
                    bytes,
                    summary,
                    ..
                } => write_ticket(&mut tx, &mut statements, token_hash, bytes, summary)?,
                DocWrite::Document { bytes, .. } => {
                    write_chunk(&mut tx, &mut statements, &doc_id, bytes)?
                }
            };
            newest.insert(doc_id, seq);
            positions.push(seq);
        }
        tx.commit()?;
        Ok(positions)
    }

    fn changes_since(&self, doc_id: &str, after: i64) -> Result<Option<DocChanges>, StorageError> {
        let rows = self.client()?.query_typed(
            "SELECT seq, snapshot, bytes FROM doc_chunks WHERE doc_id = $1 AND seq > $2
             ORDER BY seq",
            &[(&doc_id, Type::TEXT), (&after, Type::INT8)],
        )?;
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        let seq = last.get(0);
        let from = rows.iter().rposition(|row| row.get::<_, bool>(1));
        let mut bytes = Vec::new();
        for row in &rows[from.unwrap_or(0)..] {
            bytes.extend_from_slice(row.get::<_, &[u8]>(2));
        }
        Ok(Some(DocChanges {
            bytes,
            seq,
            snapshot: from.is_some(),
        }))
    }

    fn document(&self, doc_id: &str) -> Result<Option<StoredDoc>, StorageError> {
        read_chunks(&mut *self.client()?, doc_id)
    }

    fn documents_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let mut client = self.client()?;
        let ids: Vec<String> = client
            .query(
                "SELECT DISTINCT doc_id FROM doc_chunks
                 WHERE left(doc_id, length($1)) = $1 AND doc_id NOT LIKE 'ticket:%'
                 ORDER BY doc_id",
                &[&prefix],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect();
        ids.into_iter()
            .map(|id| {
                let stored = read_chunks(&mut *client, &id)?;
                Ok((id, stored.map(|d| d.bytes).unwrap_or_default()))
            })
            .collect()
    }
}

impl TicketStore for PostgresStorage {
    fn list_tickets(&self, filter: &TicketFilter) -> Result<Vec<TicketSummary>, StorageError> {
        let tier = filter.tier.map(i32::from);
        summaries(self.client()?.query(
            "SELECT * FROM tickets
             WHERE ($1::text IS NULL OR site = $1) AND ($2::text IS NULL OR status = $2)
               AND ($3::int IS NULL OR tier = $3) AND ($4::text IS NULL OR customer_id = $4)
             ORDER BY created_at DESC, id
             LIMIT 500",
            &[&filter.site, &filter.status, &tier, &filter.customer],
        )?)
    }

    fn ticket_summary(&self, id: &str) -> Result<Option<TicketSummary>, StorageError> {
        self.client()?
            .query_opt("SELECT * FROM tickets WHERE id = $1", &[&id])?
            .as_ref()
            .map(summary_from_row)
            .transpose()
    }

    fn customer_history(
        &self,
        site: &str,
        except: &str,
        customer_id: Option<&str>,
        email: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TicketSummary>, StorageError> {
        summaries(self.client()?.query(
            "SELECT * FROM tickets
             WHERE site = $1 AND id <> $2 AND $3::text IS NOT NULL AND customer_id = $3
             UNION
             SELECT * FROM tickets
             WHERE site = $1 AND id <> $2 AND $4::text IS NOT NULL AND email = $4
               AND ($3::text IS NULL OR customer_id IS NULL)
             ORDER BY created_at DESC, id DESC LIMIT $5",
            &[&site, &except, &customer_id, &email, &i64::from(limit)],
        )?)
    }

    fn ticket_facts(&self, site: &str, since: i64) -> Result<Vec<TicketSummary>, StorageError> {
        summaries(self.client()?.query(
            "SELECT * FROM tickets WHERE site = $1 AND created_at >= $2 ORDER BY created_at, id",
            &[&site, &since],
        )?)
    }

    fn saved_replies(&self, site: &str) -> Result<Vec<SavedReply>, StorageError> {
        Ok(self
            .client()?
            .query(
                "SELECT id, site, title, body FROM saved_replies WHERE site = $1 ORDER BY title, id",
                &[&site],
            )?
            .iter()
            .map(|row| SavedReply {
                id: row.get(0),
                site: row.get(1),
                title: row.get(2),
                body: row.get(3),
            })
            .collect())
    }

    fn add_saved_reply(&self, site: &str, title: &str, body: &str) -> Result<i64, StorageError> {
        Ok(self
            .client()?
            .query_one(
                "INSERT INTO saved_replies (site, title, body) VALUES ($1, $2, $3) RETURNING id",
                &[&site, &title, &body],
            )?
            .get(0))
    }

    fn delete_saved_reply(&self, site: &str, id: i64) -> Result<bool, StorageError> {
        Ok(self.client()?.execute(
            "DELETE FROM saved_replies WHERE site = $1 AND id = $2",
            &[&site, &id],
        )? == 1)
    }

    fn add_note(&self, note: &StaffNote) -> Result<(), StorageError> {
        self.client()?.execute(
            "INSERT INTO ticket_notes (ticket, at, by_name, kind, change, body)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &note.ticket,
                &note.at,
                &note.by,
                &note.kind,
                &note.change,
                &note.body,
            ],
        )?;
        Ok(())
    }

    fn notes(&self, ticket: &str) -> Result<Vec<StaffNote>, StorageError> {
        Ok(self
            .client()?
            .query(
                "SELECT ticket, at, by_name, kind, change, body FROM ticket_notes
                 WHERE ticket = $1 ORDER BY at, id",
                &[&ticket],
            )?
            .iter()
            .map(|row| StaffNote {
                ticket: row.get(0),
                at: row.get(1),
                by: row.get(2),
                kind: row.get(3),
                change: row.get(4),
                body: row.get(5),
            })
            .collect())
    }

    fn assign(&self, ticket: &str, staff_id: Option<i64>) -> Result<bool, StorageError> {
        Ok(self.client()?.execute(
            "UPDATE tickets SET assignee = $2 WHERE id = $1",
            &[&ticket, &staff_id],
        )? == 1)
    }
}

const STAFF_COLUMNS: &str = "id, name, role, active, timezone";

impl StaffStore for PostgresStorage {
    fn staff_by_token_hash(&self, token_hash: &str) -> Result<Option<StaffMember>, StorageError> {
        let mut client = self.client()?;
        let found = client.query_opt(
            &format!("SELECT {STAFF_COLUMNS} FROM staff WHERE token_hash = $1 AND active"),
            &[&token_hash],
        )?;
        found
            .map(|row| with_sites(&mut *client, staff_from_row(&row)))
            .transpose()
    }

    fn add_staff(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
    ) -> Result<StaffMember, StorageError> {
        let row = self.client()?.query_one(
            &format!(
                "INSERT INTO staff (name, role, token_hash) VALUES ($1, $2, $3)
                 RETURNING {STAFF_COLUMNS}"
            ),
            &[&name, &role, &token_hash],
        )?;
        Ok(staff_from_row(&row))
    }

    fn update_staff(
        &self,
        staff_id: i64,
        role: Option<&str>,
        active: Option<bool>,
    ) -> Result<bool, StorageError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let changed = tx.execute(
            "UPDATE staff SET role = COALESCE($2, role), active = COALESCE($3, active) WHERE id = $1",
            &[&staff_id, &role, &active],
        )?;
        if active == Some(false) {
            tx.execute("DELETE FROM sessions WHERE staff_id = $1", &[&staff_id])?;
        }
        tx.commit()?;
        Ok(changed == 1)
    }

    fn set_staff_timezone(&self, staff_id: i64, timezone: &str) -> Result<(), StorageError> {
        self.client()?.execute(
            "UPDATE staff SET timezone = $2 WHERE id = $1",
            &[&staff_id, &timezone],
        )?;
        Ok(())
    }

    fn delete_sessions_of(&self, staff_id: i64) -> Result<(), StorageError> {
        self.client()?
            .execute("DELETE FROM sessions WHERE staff_id = $1", &[&staff_id])?;
        Ok(())
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
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let Some(row) = tx.query_opt(
            &format!(
                "INSERT INTO staff (name, role, token_hash, login, password_hash)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (login) DO NOTHING
                 RETURNING {STAFF_COLUMNS}"
            ),
            &[&name, &role, &token_hash, &login, &password_hash],
        )?
        else {
            return Ok(None);
        };
        let mut member = staff_from_row(&row);
        for site in sites {
            tx.execute(
                "INSERT INTO staff_sites (staff_id, site) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&member.id, &site.as_str()],
            )?;
        }
        tx.commit()?;
        member.sites = sites.iter().map(ToString::to_string).collect();
        Ok(Some(member))
    }

    fn staff_login_of(&self, staff_id: i64) -> Result<Option<(String, String)>, StorageError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT login, password_hash FROM staff
                 WHERE id = $1 AND login IS NOT NULL AND password_hash IS NOT NULL",
                &[&staff_id],
            )?
            .map(|row| (row.get(0), row.get(1))))
    }

    fn list_staff(&self) -> Result<Vec<StaffMember>, StorageError> {
        let mut client = self.client()?;
        let members: Vec<StaffMember> = client
            .query(
                &format!("SELECT {STAFF_COLUMNS} FROM staff ORDER BY name, id"),
                &[],
            )?
            .iter()
            .map(staff_from_row)
            .collect();
        members
            .into_iter()
            .map(|m| with_sites(&mut *client, m))
            .collect()
    }

    fn grant_site(&self, staff_id: i64, site: &SiteKey) -> Result<(), StorageError> {
        self.client()?.execute(
            "INSERT INTO staff_sites (staff_id, site) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&staff_id, &site.as_str()],
        )?;
        Ok(())
    }

    fn set_staff_login(
        &self,
        staff_id: i64,
        login: &str,
        password_hash: &str,
    ) -> Result<(), StorageError> {
        self.client()?.execute(
            "UPDATE staff SET login = $2, password_hash = $3 WHERE id = $1",
            &[&staff_id, &login, &password_hash],
        )?;
        Ok(())
    }

    fn staff_by_login(&self, login: &str) -> Result<Option<(StaffMember, String)>, StorageError> {
        let mut client = self.client()?;
        let found = client.query_opt(
            &format!(
                "SELECT {STAFF_COLUMNS}, password_hash FROM staff
                 WHERE login = $1 AND password_hash IS NOT NULL AND active"
            ),
            &[&login],
        )?;
        found
            .map(|row| {
                let member = with_sites(&mut *client, staff_from_row(&row))?;
                Ok((member, row.get("password_hash")))
            })
            .transpose()
    }

    fn create_session(
        &self,
        token_hash: &str,
        staff_id: i64,
        expires_at: i64,
    ) -> Result<(), StorageError> {
        self.client()?.execute(
            "INSERT INTO sessions (token_hash, staff_id, expires_at) VALUES ($1, $2, $3)",
            &[&token_hash, &staff_id, &expires_at],
        )?;
        Ok(())
    }

    fn staff_by_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<StaffMember>, StorageError> {
        let mut client = self.client()?;
        let found = client.query_opt(
            "SELECT s.id, s.name, s.role, s.active, s.timezone
             FROM sessions JOIN staff s ON s.id = sessions.staff_id
             WHERE sessions.token_hash = $1 AND sessions.expires_at > $2 AND s.active",
            &[&token_hash, &now],
        )?;
        found
            .map(|row| with_sites(&mut *client, staff_from_row(&row)))
            .transpose()
    }

    fn delete_session(&self, token_hash: &str) -> Result<(), StorageError> {
        self.client()?
            .execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])?;
        Ok(())
    }

    fn delete_expired_sessions(&self, now: i64) -> Result<usize, StorageError> {
        let deleted = self
            .client()?
            .execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }
}

impl KbStore for PostgresStorage {
    fn publish_articles(&self, writes: &[ArticleWrite<'_>]) -> Result<Vec<u32>, StorageError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let mut versions = Vec::with_capacity(writes.len());
        for w in writes {
            let a = w.article;
            let version: i32 = tx
                .query_one(
                    "INSERT INTO articles (site, id, locale, title, markdown, html, category,
                         tags_json, sources_json, version, published, updated_at, plain,
                         search, title_search)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, TRUE, $10, $11,
                         setweight(to_tsvector($12::text::regconfig, unaccent($4)), 'A')
                         || setweight(to_tsvector($12::text::regconfig, unaccent($13)), 'B')
                         || setweight(to_tsvector($12::text::regconfig, unaccent($11)), 'D'),
                         to_tsvector($12::text::regconfig, unaccent($4)))
                     ON CONFLICT (site, id) DO UPDATE SET
                         locale = EXCLUDED.locale, title = EXCLUDED.title,
                         markdown = EXCLUDED.markdown, html = EXCLUDED.html,
                         category = EXCLUDED.category, tags_json = EXCLUDED.tags_json,
                         sources_json = EXCLUDED.sources_json, version = articles.version + 1,
                         published = TRUE, updated_at = EXCLUDED.updated_at,
                         plain = EXCLUDED.plain, search = EXCLUDED.search,
                         title_search = EXCLUDED.title_search
                     RETURNING version",
                    &[
                        &a.site,
                        &a.id,
                        &a.locale,
                        &a.title,
                        &w.markdown,
                        &a.html,
                        &a.category,
                        &json_list(&a.tags),
                        &json_list(&a.source_tickets),
                        &a.updated_at,
                        &w.plain_text,
                        &text_config(&a.locale),
                        &a.tags.join(" "),
                    ],
                )?
                .get(0);
            versions.push(to_u32(version.into())?);
        }
        tx.commit()?;
        Ok(versions)
    }

    fn unpublish_article(&self, site: &str, id: &str) -> Result<bool, StorageError> {
        Ok(self.client()?.execute(
            "UPDATE articles SET published = FALSE WHERE site = $1 AND id = $2 AND published",
            &[&site, &id],
        )? == 1)
    }

    fn article(&self, site: &str, id: &str) -> Result<Option<Article>, StorageError> {
        self.client()?
            .query_opt(
                &format!(
                    "SELECT {ARTICLE_COLUMNS} FROM articles WHERE site = $1 AND id = $2 AND published"
                ),
                &[&site, &id],
            )?
            .as_ref()
            .map(article_from_row)
            .transpose()
    }

    fn published_versions(&self) -> Result<Vec<PublishedVersion>, StorageError> {
        self.client()?
            .query(
                "SELECT site, locale, id, version FROM articles WHERE published ORDER BY site, id",
                &[],
            )?
            .iter()
            .map(|row| {
                Ok(PublishedVersion {
                    site: row.get(0),
                    locale: row.get(1),
                    id: row.get(2),
                    version: to_u32(row.get::<_, i32>(3).into())?,
                })
            })
            .collect()
    }

    fn article_source(
        &self,
        site: &str,
        id: &str,
    ) -> Result<Option<(Article, String)>, StorageError> {
        self.client()?
            .query_opt(
                &format!(
                    "SELECT {ARTICLE_COLUMNS}, markdown FROM articles
                     WHERE site = $1 AND id = $2 AND published"
                ),
                &[&site, &id],
            )?
            .map(|row| Ok((article_from_row(&row)?, row.get(10))))
            .transpose()
    }

    fn search_articles(
        &self,
        site: &SiteKey,
        locale: Locale,
        terms: &SearchTerms,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StorageError> {
        // The site and locale are bound parameters, the query made of the
        // terms' letters and digits: nothing comes from request text as sent.
        let query = ts_query(terms);
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.client()?.query(
            "SELECT id, title, category, plain
             FROM articles, to_tsquery($3::text::regconfig, unaccent($4)) AS q
             WHERE site = $1 AND locale = $2 AND published AND search @@ q
             ORDER BY (title_search @@ q) DESC, ts_rank(search, q) DESC, updated_at DESC, id
             LIMIT $5",
            &[
                &site.as_str(),
                &locale.as_str(),
                &text_config(locale.as_str()),
                &query,
                &i64::from(limit),
            ],
        )?;
        Ok(rows
            .iter()
            .map(|row| SearchHit {
                id: row.get(0),
                title: row.get(1),
                category: row.get(2),
                snippet: snippet_html(row.get(3), terms),
            })
            .collect())
    }

    fn record_kb_event(&self, site: &str, event: &KbEvent, at: i64) -> Result<(), StorageError> {
        let r = event.row();
        let results = r.results.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        self.client()?.execute(
            "INSERT INTO kb_events (site, kind, query, results, article, helpful, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &site, &r.kind, &r.query, &results, &r.article, &r.helpful, &at,
            ],
        )?;
        Ok(())
    }

    fn kb_counts(&self, site: &str, since: i64) -> Result<KbCounts, StorageError> {
        let row = self.client()?.query_one(
            "SELECT
                 COUNT(*) FILTER (WHERE kind = 'search'),
                 COUNT(*) FILTER (WHERE kind = 'search' AND results = 0),
                 COUNT(*) FILTER (WHERE kind = 'article_view'),
                 COUNT(*) FILTER (WHERE kind = 'helpful' AND helpful),
                 COUNT(*) FILTER (WHERE kind = 'helpful' AND NOT helpful),
                 COUNT(*) FILTER (WHERE kind = 'deflection')
             FROM kb_events WHERE site = $1 AND at >= $2",
            &[&site, &since],
        )?;
        Ok(KbCounts {
            searches: to_u32(row.get(0))?,
            zero_result_searches: to_u32(row.get(1))?,
            article_views: to_u32(row.get(2))?,
            helpful_yes: to_u32(row.get(3))?,
            helpful_no: to_u32(row.get(4))?,
            deflections: to_u32(row.get(5))?,
        })
    }

    fn top_searches(
        &self,
        site: &str,
        zero_results_only: bool,
        limit: u32,
    ) -> Result<Vec<QueryCount>, StorageError> {
        self.client()?
            .query(
                "SELECT query, COUNT(*) AS n FROM kb_events
                 WHERE site = $1 AND kind = 'search' AND (NOT $2 OR results = 0)
                 GROUP BY query ORDER BY n DESC, query LIMIT $3",
                &[&site, &zero_results_only, &i64::from(limit)],
            )?
            .iter()
            .map(|row| {
                Ok(QueryCount {
                    query: row.get(0),
                    count: to_u32(row.get(1))?,
                })
            })
            .collect()
    }
}

impl MailStore for PostgresStorage {
    fn queue_mail(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        now: i64,
    ) -> Result<(), StorageError> {
        self.client()?.execute(
            "INSERT INTO outbox (to_addr, subject, body, queued_at, next_at)
             VALUES ($1, $2, $3, $4, $4)",
            &[&to, &subject, &body, &now],
        )?;
        Ok(())
    }

    fn claim_due_mail(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
    ) -> Result<Vec<QueuedMail>, StorageError> {
        let mut claimed = self
            .client()?
            .query(
                // Rows another server is claiming right now are skipped, not waited for.
                "UPDATE outbox SET next_at = $3 WHERE id IN (
                     SELECT id FROM outbox
                     WHERE sent_at IS NULL AND next_at IS NOT NULL AND next_at <= $1
                     ORDER BY next_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
                 RETURNING id, to_addr, subject, body, attempts",
                &[&now, &i64::from(limit), &lease_until],
            )?
            .iter()
            .map(|row| {
                Ok(QueuedMail {
                    id: row.get(0),
                    to: row.get(1),
                    subject: row.get(2),
                    body: row.get(3),
                    attempts: to_u32(row.get::<_, i32>(4).into())?,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
    }

    fn mail_sent(&self, id: i64, now: i64) -> Result<(), StorageError> {
        self.client()?.execute(
            "UPDATE outbox SET sent_at = $2, attempts = attempts + 1, last_error = NULL
             WHERE id = $1",
            &[&id, &now],
        )?;
        Ok(())
    }

    fn mail_failed(&self, id: i64, error: &str, next_at: Option<i64>) -> Result<(), StorageError> {
        self.client()?.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_at = $3 WHERE id = $1",
            &[&id, &error, &next_at],
        )?;
        Ok(())
    }

    fn confirm_email(&self, ticket: &str, email: &str, at: i64) -> Result<(), StorageError> {
        self.client()?.execute(
            "INSERT INTO email_confirmations (ticket_id, email, confirmed_at) VALUES ($1, $2, $3)
             ON CONFLICT (ticket_id) DO UPDATE SET email = $2, confirmed_at = $3",
            &[&ticket, &email, &at],
        )?;
        Ok(())
    }

    fn confirmed_email(&self, ticket: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT email FROM email_confirmations WHERE ticket_id = $1",
                &[&ticket],
            )?
            .map(|row| row.get(0)))
    }

    fn revoke_links(&self, ticket: &str, at: i64) -> Result<(), StorageError> {
        self.client()?.execute(
            "INSERT INTO link_revocations (ticket_id, revoked_at) VALUES ($1, $2)
             ON CONFLICT (ticket_id)
             DO UPDATE SET revoked_at = GREATEST(link_revocations.revoked_at, $2)",
            &[&ticket, &at],
        )?;
        Ok(())
    }

    fn links_revoked_at(&self, ticket: &str) -> Result<Option<i64>, StorageError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT revoked_at FROM link_revocations WHERE ticket_id = $1",
                &[&ticket],
            )?
            .map(|row| row.get(0)))
    }
}

impl ClientErrorStore for PostgresStorage {
    fn record_client_error(&self, error: &ClientError) -> Result<(), StorageError> {
        self.client()?.execute(
            "INSERT INTO client_errors (site, message, version, user_agent, at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &error.site,
                &error.message,
                &error.version,
                &error.user_agent,
                &error.at,
            ],
        )?;
        Ok(())
    }

    fn prune_client_errors(&self, before: i64) -> Result<usize, StorageError> {
        let deleted = self
            .client()?
            .execute("DELETE FROM client_errors WHERE at < $1", &[&before])?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    fn client_errors(
        &self,
        site: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ClientError>, StorageError> {
        Ok(self
            .client()?
            .query(
                "SELECT site, message, version, user_agent, at FROM client_errors
                 WHERE $1::text IS NULL OR site = $1 ORDER BY at DESC, id DESC LIMIT $2",
                &[&site, &i64::from(limit)],
            )?
            .iter()
            .map(|row| ClientError {
                site: row.get(0),
                message: row.get(1),
                version: row.get(2),
                user_agent: row.get(3),
                at: row.get(4),
            })
            .collect())
    }
}

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
