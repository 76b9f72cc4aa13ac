//! PostgreSQL: attachments (bytes by content address, and which ticket each was uploaded for).

use super::*;

fn file_from_row(row: &Row) -> StoredFile {
    StoredFile {
        hash: row.get("hash"),
        mime: row.get("type"),
        size: row.get("size"),
    }
}

impl FileStore for PostgresStorage {
    fn ticket_access(&self, ticket: &str) -> Result<Option<(String, String)>, StorageError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT site, token_hash FROM tickets WHERE id = $1",
                &[&ticket],
            )?
            .map(|row| (row.get(0), row.get(1))))
    }

    fn add_ticket_file(
        &self,
        ticket: &str,
        file: &StoredFile,
        bytes: &[u8],
        at: i64,
        max_total: i64,
    ) -> Result<FileAdded, StorageError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        // One upload to a ticket at a time, across servers: the total is
        // checked and added to under the ticket's lock.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('ticket_files:' || $1))",
            &[&ticket],
        )?;
        let row = tx.query_one(
            "SELECT COALESCE(SUM(f.size), 0)::BIGINT, COALESCE(BOOL_OR(f.hash = $2), false)
             FROM ticket_files t JOIN files f ON f.hash = t.hash WHERE t.ticket_id = $1",
            &[&ticket, &file.hash],
        )?;
        let (total, has): (i64, bool) = (row.get(0), row.get(1));
        if has {
            return Ok(FileAdded::Added { total });
        }
        if total + file.size > max_total {
            return Ok(FileAdded::OverLimit { total });
        }
        tx.execute(
            "INSERT INTO files (hash, type, size, bytes) VALUES ($1, $2, $3, $4)
             ON CONFLICT (hash) DO NOTHING",
            &[&file.hash, &file.mime, &file.size, &bytes],
        )?;
        tx.execute(
            "INSERT INTO ticket_files (ticket_id, hash, uploaded_at) VALUES ($1, $2, $3)",
            &[&ticket, &file.hash, &at],
        )?;
        tx.commit()?;
        Ok(FileAdded::Added {
            total: total + file.size,
        })
    }

    fn ticket_file(
        &self,
        ticket: &str,
        hash: &str,
    ) -> Result<Option<(StoredFile, Vec<u8>)>, StorageError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT f.hash, f.type, f.size, f.bytes FROM ticket_files t
                 JOIN files f ON f.hash = t.hash WHERE t.ticket_id = $1 AND t.hash = $2",
                &[&ticket, &hash],
            )?
            .map(|row| (file_from_row(&row), row.get("bytes"))))
    }
}

impl PostgresStorage {
    pub(super) fn files_of_ticket(&self, ticket: &str) -> Result<Vec<StoredFile>, StorageError> {
        Ok(self
            .client()?
            .query(
                "SELECT f.hash, f.type, f.size FROM ticket_files t
                 JOIN files f ON f.hash = t.hash WHERE t.ticket_id = $1",
                &[&ticket],
            )?
            .iter()
            .map(file_from_row)
            .collect())
    }
}
