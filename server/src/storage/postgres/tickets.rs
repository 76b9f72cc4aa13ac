//! PostgreSQL: the ticket summaries (queue, filters, history, facts for KPIs), saved replies, notes and assignees.

use super::*;

impl TicketStore for PostgresStorage {
    fn list_tickets(&self, filter: &TicketFilter) -> Result<Vec<TicketSummary>, StorageError> {
        let tier = filter.tier.map(i32::from);
        summaries(self.client()?.query(
            "SELECT * FROM tickets
             WHERE ($1::text IS NULL OR site = $1) AND ($2::text IS NULL OR status = $2)
               AND ($3::int IS NULL OR tier = $3) AND ($4::text IS NULL OR customer_id = $4)
               AND erased_at IS NULL
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

    fn erase_ticket(&self, id: &str, at: i64) -> Result<bool, StorageError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let doc_key = format!("ticket:{id}");
        // The document's writers wait (their lock), then find it erased.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&doc_key],
        )?;
        let erased = tx.execute(
            "UPDATE tickets SET token_hash = '', subject = '', email = NULL,
                 customer_id = NULL, customer_name = NULL, customer_email = NULL, erased_at = $2
             WHERE id = $1 AND erased_at IS NULL",
            &[&id, &at],
        )?;
        if erased == 0 {
            return Ok(false);
        }
        tx.execute("DELETE FROM doc_chunks WHERE doc_id = $1", &[&doc_key])?;
        for statement in [
            "DELETE FROM ticket_notes WHERE ticket = $1",
            "DELETE FROM outbox WHERE ticket_id = $1",
            "DELETE FROM webhook_deliveries WHERE ticket_id = $1",
            "DELETE FROM automation_marks WHERE ticket_id = $1",
            "DELETE FROM email_confirmations WHERE ticket_id = $1",
            "DELETE FROM link_revocations WHERE ticket_id = $1",
            "DELETE FROM ticket_files WHERE ticket_id = $1",
        ] {
            tx.execute(statement, &[&id])?;
        }
        tx.execute(
            "DELETE FROM files WHERE NOT EXISTS
                 (SELECT 1 FROM ticket_files t WHERE t.hash = files.hash)",
            &[],
        )?;
        // Other servers holding the document hear of it (and find it erased).
        tx.execute(
            "SELECT pg_notify('stufe_docs', $1)",
            &[&format!("{} {doc_key}", i64::MAX)],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn retention_due(
        &self,
        site: &str,
        before: i64,
        limit: u32,
    ) -> Result<Vec<String>, StorageError> {
        Ok(self
            .client()?
            .query(
                "SELECT id FROM tickets
                 WHERE site = $1 AND status IN ('resolved', 'closed') AND updated_at < $2
                   AND erased_at IS NULL
                 ORDER BY updated_at, id LIMIT $3",
                &[&site, &before, &i64::from(limit)],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect())
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
