//! PostgreSQL: webhook endpoints and the outbox of their deliveries, shared
//! by every server (a due delivery is claimed by one of them).

use super::*;
use crate::storage::{DeliveryRecord, NewEvent, NewWebhook, QueuedDelivery, Webhook};

/// Queues each event (with when it happened) for every endpoint of its
/// site that wants it, inside the caller's transaction, with one statement
/// (one round trip, however many events); how many deliveries were queued.
pub(super) fn queue_events(
    tx: &mut ::postgres::Transaction<'_>,
    events: &[(&NewEvent, i64)],
) -> Result<usize, StorageError> {
    if events.is_empty() {
        return Ok(0);
    }
    let column = |f: fn(&NewEvent) -> Option<&str>| -> Vec<Option<&str>> {
        events.iter().map(|(e, _)| f(e)).collect()
    };
    let sites = column(|e| Some(&e.site));
    let names = column(|e| Some(&e.event));
    let tickets = column(|e| e.ticket.as_deref());
    let payloads = column(|e| Some(&e.payload));
    let times: Vec<i64> = events.iter().map(|(_, at)| *at).collect();
    let queued = tx.execute(
        "INSERT INTO webhook_deliveries (endpoint_id, event, ticket_id, payload, created_at, next_at)
         SELECT w.id, e.event, e.ticket, e.payload, e.at, e.at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
              WITH ORDINALITY AS e(site, event, ticket, payload, at, n)
         JOIN webhook_endpoints w
           ON w.site = e.site AND e.event = ANY (string_to_array(w.events, ' '))
         ORDER BY e.n, w.id",
        &[&sites, &names, &tickets, &payloads, &times],
    )?;
    Ok(queued as usize)
}

fn delivery(row: &Row) -> Result<DeliveryRecord, StorageError> {
    Ok(DeliveryRecord {
        id: row.get(0),
        endpoint_id: row.get(1),
        event: row.get(2),
        ticket: row.get(3),
        payload: row.get(4),
        created_at: row.get(5),
        attempts: to_u32(row.get::<_, i32>(6).into())?,
        delivered_at: row.get(7),
        next_at: row.get(8),
        last_status: row
            .get::<_, Option<i32>>(9)
            .map(|s| u16::try_from(s).map_err(|_| corrupt(format!("status {s}"))))
            .transpose()?,
        last_error: row.get(10),
    })
}

impl WebhookStore for PostgresStorage {
    fn add_webhook(&self, hook: &NewWebhook, now: i64) -> Result<i64, StorageError> {
        Ok(self
            .client()?
            .query_one(
                "INSERT INTO webhook_endpoints (site, url, secret, events, format, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &hook.site,
                    &hook.url,
                    &hook.secret,
                    &hook.events.join(" "),
                    &hook.format,
                    &now,
                ],
            )?
            .get(0))
    }

    fn webhooks(&self, site: &str) -> Result<Vec<Webhook>, StorageError> {
        Ok(self
            .client()?
            .query(
                "SELECT id, site, url, events, format, created_at FROM webhook_endpoints
                 WHERE site = $1 ORDER BY id",
                &[&site],
            )?
            .iter()
            .map(|row| Webhook {
                id: row.get(0),
                site: row.get(1),
                url: row.get(2),
                events: row
                    .get::<_, &str>(3)
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                format: row.get(4),
                created_at: row.get(5),
            })
            .collect())
    }

    fn delete_webhook(&self, site: &str, id: i64) -> Result<bool, StorageError> {
        // Its deliveries go with it (ON DELETE CASCADE).
        Ok(self.client()?.execute(
            "DELETE FROM webhook_endpoints WHERE id = $1 AND site = $2",
            &[&id, &site],
        )? > 0)
    }

    fn queue_event(&self, event: &NewEvent, now: i64) -> Result<usize, StorageError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let queued = queue_events(&mut tx, &[(event, now)])?;
        tx.commit()?;
        Ok(queued)
    }

    fn claim_due_deliveries(
        &self,
        now: i64,
        limit: u32,
        lease_until: i64,
    ) -> Result<Vec<QueuedDelivery>, StorageError> {
        let mut claimed = self
            .client()?
            .query(
                // Rows another server is claiming right now are skipped, not waited for.
                "WITH claimed AS (
                     UPDATE webhook_deliveries SET next_at = $3 WHERE id IN (
                         SELECT id FROM webhook_deliveries
                         WHERE next_at IS NOT NULL AND next_at <= $1
                         ORDER BY next_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
                     RETURNING id, endpoint_id, event, payload, attempts)
                 SELECT c.id, c.endpoint_id, e.url, e.secret, e.format, c.event, c.payload, c.attempts
                 FROM claimed c JOIN webhook_endpoints e ON e.id = c.endpoint_id",
                &[&now, &i64::from(limit), &lease_until],
            )?
            .iter()
            .map(|row| {
                Ok(QueuedDelivery {
                    id: row.get(0),
                    endpoint_id: row.get(1),
                    url: row.get(2),
                    secret: row.get(3),
                    format: row.get(4),
                    event: row.get(5),
                    payload: row.get(6),
                    attempts: to_u32(row.get::<_, i32>(7).into())?,
                    claim: lease_until,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        claimed.sort_by_key(|d| d.id);
        Ok(claimed)
    }

    fn delivery_done(
        &self,
        id: i64,
        claim: i64,
        status: u16,
        now: i64,
    ) -> Result<(), StorageError> {
        self.client()?.execute(
            "UPDATE webhook_deliveries SET delivered_at = $2, next_at = NULL,
                 attempts = attempts + 1, last_status = $3, last_error = NULL
             WHERE id = $1 AND next_at = $4",
            &[&id, &now, &i32::from(status), &claim],
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
        self.client()?.execute(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $2,
                 last_error = $3, next_at = $4
             WHERE id = $1 AND next_at = $5",
            &[&id, &status.map(i32::from), &error, &next_at, &claim],
        )?;
        Ok(())
    }

    fn deliveries(
        &self,
        site: &str,
        endpoint: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StorageError> {
        self.client()?
            .query(
                "SELECT d.id, d.endpoint_id, d.event, d.ticket_id, d.payload, d.created_at,
                        d.attempts, d.delivered_at, d.next_at, d.last_status, d.last_error
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                 WHERE e.site = $1 AND d.endpoint_id = $2
                 ORDER BY d.id DESC LIMIT $3",
                &[&site, &endpoint, &i64::from(limit)],
            )?
            .iter()
            .map(delivery)
            .collect()
    }

    fn resend_delivery(&self, site: &str, id: i64, now: i64) -> Result<bool, StorageError> {
        Ok(self.client()?.execute(
            "UPDATE webhook_deliveries SET next_at = $3, attempts = 0, delivered_at = NULL
             WHERE id = $1 AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE site = $2)",
            &[&id, &site, &now],
        )? > 0)
    }
}
