//! SQLite: webhook endpoints and the outbox of their deliveries.

use super::*;
use crate::storage::{DeliveryRecord, NewEvent, NewWebhook, QueuedDelivery, Webhook};

/// Queues each event for every endpoint of its site that wants it (inside
/// the caller's transaction); how many deliveries were queued.
pub(super) fn queue_events(
    conn: &Connection,
    events: &[NewEvent],
    now: i64,
) -> Result<usize, StorageError> {
    let mut queued = 0;
    for event in events {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO webhook_deliveries (endpoint_id, event, ticket_id, payload, created_at, next_at)
             SELECT id, ?2, ?3, ?4, ?5, ?5 FROM webhook_endpoints
             WHERE site = ?1 AND instr(' ' || events || ' ', ' ' || ?2 || ' ') > 0",
        )?;
        queued += stmt.execute(params![
            event.site,
            event.event,
            event.ticket,
            event.payload,
            now
        ])?;
    }
    Ok(queued)
}

impl WebhookStore for SqliteStorage {
    fn add_webhook(&self, hook: &NewWebhook, now: i64) -> Result<i64, StorageError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO webhook_endpoints (site, url, secret, events, format, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                hook.site,
                hook.url,
                hook.secret,
                hook.events.join(" "),
                hook.format,
                now
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn webhooks(&self, site: &str) -> Result<Vec<Webhook>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, site, url, events, format, created_at FROM webhook_endpoints
             WHERE site = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([site], |row| {
            let events: String = row.get(3)?;
            Ok(Webhook {
                id: row.get(0)?,
                site: row.get(1)?,
                url: row.get(2)?,
                events: events.split_whitespace().map(str::to_owned).collect(),
                format: row.get(4)?,
                created_at: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn delete_webhook(&self, site: &str, id: i64) -> Result<bool, StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let found = tx.execute(
            "DELETE FROM webhook_endpoints WHERE id = ?1 AND site = ?2",
            params![id, site],
        )? > 0;
        tx.execute(
            "DELETE FROM webhook_deliveries WHERE endpoint_id = ?1 AND NOT EXISTS
                 (SELECT 1 FROM webhook_endpoints WHERE id = ?1)",
            [id],
        )?;
        tx.commit()?;
        Ok(found)
    }

    fn queue_event(&self, event: &NewEvent, now: i64) -> Result<usize, StorageError> {
        queue_events(&self.conn(), std::slice::from_ref(event), now)
    }

    fn claim_due_deliveries(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
    ) -> Result<Vec<QueuedDelivery>, StorageError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "UPDATE webhook_deliveries SET next_at = ?3 WHERE id IN (
                 SELECT id FROM webhook_deliveries
                 WHERE next_at IS NOT NULL AND next_at <= ?1
                 ORDER BY next_at, id LIMIT ?2)
             RETURNING id, endpoint_id, event, payload, attempts",
        )?;
        let claimed: Vec<(i64, i64, String, String, u32)> = stmt
            .query_map(params![now, limit, lease_until], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        let mut endpoint =
            conn.prepare_cached("SELECT url, secret, format FROM webhook_endpoints WHERE id = ?1")?;
        let mut out = Vec::with_capacity(claimed.len());
        for (id, endpoint_id, event, payload, attempts) in claimed {
            let found: Option<(String, String, String)> = endpoint
                .query_row([endpoint_id], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .optional()?;
            if let Some((url, secret, format)) = found {
                out.push(QueuedDelivery {
                    id,
                    endpoint_id,
                    url,
                    secret,
                    format,
                    event,
                    payload,
                    attempts,
                    claim: lease_until,
                });
            }
        }
        out.sort_by_key(|d| d.id);
        Ok(out)
    }

    fn delivery_done(
        &self,
        id: i64,
        claim: i64,
        status: u16,
        now: i64,
    ) -> Result<(), StorageError> {
        self.conn().execute(
            "UPDATE webhook_deliveries SET delivered_at = ?2, next_at = NULL,
                 attempts = attempts + 1, last_status = ?3, last_error = NULL
             WHERE id = ?1 AND next_at = ?4",
            params![id, now, status, claim],
        )?;
        Ok(())
    }

    fn delivery_failed(
        &self,
        id: i64,
        claim: i64,
        status: Option<u16>,
        error: &str,
        next_at: Option<i64>,
    ) -> Result<(), StorageError> {
        self.conn().execute(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?2,
                 last_error = ?3, next_at = ?4
             WHERE id = ?1 AND next_at = ?5",
            params![id, status, error, next_at, claim],
        )?;
        Ok(())
    }

    fn deliveries(
        &self,
        site: &str,
        endpoint: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT d.id, d.endpoint_id, d.event, d.ticket_id, d.payload, d.created_at,
                    d.attempts, d.delivered_at, d.next_at, d.last_status, d.last_error
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
             WHERE e.site = ?1 AND d.endpoint_id = ?2
             ORDER BY d.id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![site, endpoint, limit], |row| {
            Ok(DeliveryRecord {
                id: row.get(0)?,
                endpoint_id: row.get(1)?,
                event: row.get(2)?,
                ticket: row.get(3)?,
                payload: row.get(4)?,
                created_at: row.get(5)?,
                attempts: row.get(6)?,
                delivered_at: row.get(7)?,
                next_at: row.get(8)?,
                last_status: row.get(9)?,
                last_error: row.get(10)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn resend_delivery(&self, site: &str, id: i64, now: i64) -> Result<bool, StorageError> {
        Ok(self.conn().execute(
            "UPDATE webhook_deliveries SET next_at = ?3, attempts = 0, delivered_at = NULL
             WHERE id = ?1 AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE site = ?2)",
            params![id, site, now],
        )? > 0)
    }
}
