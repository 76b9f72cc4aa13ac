//! PostgreSQL: the email outbox, confirmed addresses and revoked email links.

use super::*;

impl MailStore for PostgresStorage {
    fn queue_mail(&self, mail: &OutgoingMail, now: i64) -> Result<(), StorageError> {
        self.client()?.execute(
            "INSERT INTO outbox (to_addr, subject, body, ticket_id, reply_to, queued_at, next_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
            &[
                &mail.to,
                &mail.subject,
                &mail.body,
                &mail.ticket,
                &mail.reply_to,
                &now,
            ],
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
                 RETURNING id, to_addr, subject, body, attempts, ticket_id, reply_to",
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
                    ticket: row.get(5),
                    reply_to: row.get(6),
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
    }

    fn mail_about(&self, ticket: &str) -> Result<Vec<MailRecord>, StorageError> {
        Ok(self
            .client()?
            .query(
                "SELECT to_addr, subject, body, queued_at, sent_at FROM outbox
                 WHERE ticket_id = $1 ORDER BY id",
                &[&ticket],
            )?
            .iter()
            .map(|row| MailRecord {
                to: row.get(0),
                subject: row.get(1),
                body: row.get(2),
                queued_at: row.get(3),
                sent_at: row.get(4),
            })
            .collect())
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
