//! The embedded SQLite storage: one file in WAL mode with `synchronous=FULL`,
//! so a write that returned is on disk before the hub acknowledges it.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use stufe_shared::site::SiteConfig;
use stufe_shared::{SiteKey, TicketId};

use super::{
    StaffMember, Storage, StorageError, StoredTicket, TicketFilter, TicketSummary, TicketWrite,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sites (
    key         TEXT PRIMARY KEY,
    config_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS staff (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('tier1', 'tier2', 'tier3', 'admin')),
    token_hash TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS tickets (
    id                 TEXT PRIMARY KEY,
    site               TEXT NOT NULL REFERENCES sites(key),
    token_hash         TEXT NOT NULL,
    doc                BLOB NOT NULL,
    subject            TEXT NOT NULL,
    status             TEXT NOT NULL,
    tier               INTEGER NOT NULL,
    priority           TEXT NOT NULL,
    category           TEXT NOT NULL,
    email              TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    first_response_due INTEGER,
    message_count      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_by_queue ON tickets (site, status, tier, created_at);
";

pub struct SqliteStorage {
    conn: Mutex<Connection>,
}

impl SqliteStorage {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
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
    })
}

impl Storage for SqliteStorage {
    fn site(&self, key: &SiteKey) -> Result<Option<SiteConfig>, StorageError> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT config_json FROM sites WHERE key = ?1",
                [key.as_str()],
                |row| row.get(0),
            )
            .optional()?;
        json.map(|json| {
            serde_json::from_str(&json).map_err(|err| StorageError::Corrupt(err.to_string()))
        })
        .transpose()
    }

    fn put_site(&self, key: &SiteKey, config: &SiteConfig) -> Result<(), StorageError> {
        let json =
            serde_json::to_string(config).map_err(|err| StorageError::Corrupt(err.to_string()))?;
        self.conn().execute(
            "INSERT INTO sites (key, config_json) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET config_json = excluded.config_json",
            params![key.as_str(), json],
        )?;
        Ok(())
    }

    fn ticket(&self, id: TicketId) -> Result<Option<StoredTicket>, StorageError> {
        let row: Option<(String, String, Vec<u8>)> = self
            .conn()
            .query_row(
                "SELECT site, token_hash, doc FROM tickets WHERE id = ?1",
                [id.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        row.map(|(site, token_hash, bytes)| {
            Ok(StoredTicket {
                site: site
                    .parse()
                    .map_err(|_| StorageError::Corrupt(format!("site key {site:?}")))?,
                token_hash,
                bytes,
            })
        })
        .transpose()
    }

    fn save_ticket(&self, write: &TicketWrite<'_>) -> Result<(), StorageError> {
        let s = write.summary;
        self.conn().execute(
            "INSERT INTO tickets (id, site, token_hash, doc, subject, status, tier, priority, category,
                                  email, created_at, updated_at, first_response_due, message_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (id) DO UPDATE SET
                doc = excluded.doc, subject = excluded.subject, status = excluded.status,
                tier = excluded.tier, priority = excluded.priority, category = excluded.category,
                email = excluded.email, updated_at = excluded.updated_at,
                first_response_due = excluded.first_response_due,
                message_count = excluded.message_count",
            params![
                s.id,
                s.site,
                write.token_hash,
                write.bytes,
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
            ],
        )?;
        Ok(())
    }

    fn list_tickets(&self, filter: &TicketFilter) -> Result<Vec<TicketSummary>, StorageError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT * FROM tickets
             WHERE (?1 IS NULL OR site = ?1) AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR tier = ?3)
             ORDER BY created_at DESC, id
             LIMIT 500",
        )?;
        let rows = stmt.query_map(
            params![filter.site, filter.status, filter.tier],
            summary_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn staff_by_token_hash(&self, token_hash: &str) -> Result<Option<StaffMember>, StorageError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, name, role FROM staff WHERE token_hash = ?1",
                [token_hash],
                |row| {
                    Ok(StaffMember {
                        id: row.get(0)?,
                        name: row.get(1)?,
                        role: row.get(2)?,
                    })
                },
            )
            .optional()?)
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
        })
    }

    fn is_empty(&self) -> Result<bool, StorageError> {
        let sites: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM sites", [], |row| row.get(0))?;
        Ok(sites == 0)
    }
}
