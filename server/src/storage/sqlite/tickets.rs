//! SQLite: the ticket summaries (queue, filters, history, facts for KPIs), saved replies, notes and assignees.

use super::*;

impl TicketStore for SqliteStorage {
    fn list_tickets(&self, filter: &TicketFilter) -> Result<Vec<TicketSummary>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT * FROM tickets
             WHERE (?1 IS NULL OR site = ?1) AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR tier = ?3)
               AND (?4 IS NULL OR customer_id = ?4) AND erased_at IS NULL
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

    fn erase_ticket(&self, id: &str, at: i64) -> Result<bool, StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let erased = tx.execute(
            "UPDATE tickets SET doc = x'', token_hash = '', subject = '', email = NULL,
                 customer_id = NULL, customer_name = NULL, customer_email = NULL, erased_at = ?2
             WHERE id = ?1 AND erased_at IS NULL",
            params![id, at],
        )?;
        if erased == 0 {
            return Ok(false);
        }
        let doc_key = format!("ticket:{id}");
        tx.execute("DELETE FROM doc_changes WHERE doc_id = ?1", [&doc_key])?;
        for table in [
            "DELETE FROM ticket_notes WHERE ticket = ?1",
            "DELETE FROM outbox WHERE ticket_id = ?1",
            "DELETE FROM webhook_deliveries WHERE ticket_id = ?1",
            "DELETE FROM automation_marks WHERE ticket_id = ?1",
            "DELETE FROM email_confirmations WHERE ticket_id = ?1",
            "DELETE FROM link_revocations WHERE ticket_id = ?1",
            "DELETE FROM ticket_files WHERE ticket_id = ?1",
        ] {
            tx.execute(table, [id])?;
        }
        tx.execute(
            "DELETE FROM files WHERE NOT EXISTS
                 (SELECT 1 FROM ticket_files t WHERE t.hash = files.hash)",
            [],
        )?;
        tx.commit()?;
        // The deleted text was overwritten in its pages (secure_delete);
        // the log's older copies of those pages go too.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(true)
    }

    fn retention_due(
        &self,
        site: &str,
        before: i64,
        limit: u32,
    ) -> Result<Vec<String>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM tickets
             WHERE site = ?1 AND status IN ('resolved', 'closed') AND updated_at < ?2
               AND erased_at IS NULL
             ORDER BY updated_at, id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![site, before, limit], |row| row.get(0))?;
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
