//! SQLite: documents (tickets and catalogues): snapshots, appended changes, group commits.

use super::*;

impl DocStore for SqliteStorage {
    fn ticket(&self, id: TicketId) -> Result<Option<StoredTicket>, StorageError> {
        let conn = self.reader()?;
        type Row = (
            String,
            String,
            Vec<u8>,
            Option<VerifiedCustomer>,
            Option<i64>,
        );
        let row: Option<Row> = conn
            .query_row(
                "SELECT site, token_hash, doc, customer_id, customer_name, customer_email, erased_at
                 FROM tickets WHERE id = ?1",
                [id.to_string()],
                |row| {
                    Ok((
                        row.get("site")?,
                        row.get("token_hash")?,
                        row.get("doc")?,
                        customer_from_row(row)?,
                        row.get("erased_at")?,
                    ))
                },
            )
            .optional()?;
        let Some((site, token_hash, snapshot, customer, erased_at)) = row else {
            return Ok(None);
        };
        if erased_at.is_some() {
            return Err(StorageError::Erased(id.to_string()));
        }
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
                    events,
                } => {
                    write_ticket(&tx, token_hash, bytes, summary)?;
                    webhooks::queue_events(&tx, events, summary.updated_at)?;
                }
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

    fn ticket_files(&self, ticket: &str) -> Result<Vec<StoredFile>, StorageError> {
        self.files_of_ticket(ticket)
    }

    fn pending_since(&self, ticket: &str) -> Result<Option<i64>, StorageError> {
        let since: Option<Option<i64>> = self
            .reader()?
            .query_row(
                "SELECT pending_since FROM tickets WHERE id = ?1",
                [ticket],
                |row| row.get(0),
            )
            .optional()?;
        Ok(since.flatten())
    }
}
