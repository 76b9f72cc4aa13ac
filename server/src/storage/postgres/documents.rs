//! PostgreSQL: documents (tickets and catalogues): snapshots, appended changes, group commits.

use super::*;

impl DocStore for PostgresStorage {
    fn ticket(&self, id: TicketId) -> Result<Option<StoredTicket>, StorageError> {
        // The projection's columns on every row of the document (one query).
        let rows = self.client()?.query_typed(
            "SELECT t.site, t.token_hash, t.customer_id, t.customer_name, t.customer_email,
                    c.seq, c.snapshot, c.bytes, t.erased_at
             FROM tickets t LEFT JOIN doc_chunks c ON c.doc_id = 'ticket:' || t.id
             WHERE t.id = $1 ORDER BY c.seq",
            &[(&id.to_string(), Type::TEXT)],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        if row.get::<_, Option<i64>>("erased_at").is_some() {
            return Err(StorageError::Erased(id.to_string()));
        }
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
        // An erased ticket is never written again (a widget may still hold it).
        let tickets: Vec<String> = writes
            .iter()
            .filter_map(|w| match w {
                DocWrite::Ticket { summary, .. } => Some(summary.id.clone()),
                DocWrite::Document { .. } => None,
            })
            .collect();
        if !tickets.is_empty() {
            if let Some(row) = tx
                .query_typed(
                    "SELECT id FROM tickets WHERE id = ANY($1) AND erased_at IS NOT NULL LIMIT 1",
                    &[(&tickets, Type::TEXT_ARRAY)],
                )?
                .first()
            {
                return Err(StorageError::Erased(row.get(0)));
            }
        }
        let mut statements = Statements::default();
        let mut positions = Vec::with_capacity(writes.len());
        // The batch's webhook events, queued with one statement at the end.
        let mut queued = Vec::new();
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
                    events,
                    ..
                } => {
                    let seq = write_ticket(&mut tx, &mut statements, token_hash, bytes, summary)?;
                    queued.extend(events.iter().map(|e| (e, summary.updated_at)));
                    seq
                }
                DocWrite::Document { bytes, .. } => {
                    write_chunk(&mut tx, &mut statements, &doc_id, bytes)?
                }
            };
            newest.insert(doc_id, seq);
            positions.push(seq);
        }
        webhooks::queue_events(&mut tx, &queued)?;
        tx.commit()?;
        Ok(positions)
    }

    fn changes_since(&self, doc_id: &str, after: i64) -> Result<Option<DocChanges>, StorageError> {
        let mut client = self.client()?;
        let rows = client.query_typed(
            "SELECT seq, snapshot, bytes FROM doc_chunks WHERE doc_id = $1 AND seq > $2
             ORDER BY seq",
            &[(&doc_id, Type::TEXT), (&after, Type::INT8)],
        )?;
        let Some(last) = rows.last() else {
            // Nothing after `after`: an erased ticket (its chunks are gone)
            // says so; only then is it worth asking.
            if let Some(ticket) = doc_id.strip_prefix("ticket:") {
                let erased = client.query_opt(
                    "SELECT 1 FROM tickets WHERE id = $1 AND erased_at IS NOT NULL",
                    &[&ticket],
                )?;
                if erased.is_some() {
                    return Err(StorageError::Erased(ticket.to_owned()));
                }
            }
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

    fn ticket_files(&self, ticket: &str) -> Result<Vec<StoredFile>, StorageError> {
        self.files_of_ticket(ticket)
    }

    fn pending_since(&self, ticket: &str) -> Result<Option<i64>, StorageError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT pending_since FROM tickets WHERE id = $1",
                &[&ticket],
            )?
            .and_then(|row| row.get::<_, Option<i64>>(0)))
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
