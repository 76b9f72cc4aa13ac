//! SQLite: attachments (bytes by content address, and which ticket each was uploaded for).

use super::*;

fn file_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredFile> {
    Ok(StoredFile {
        hash: row.get("hash")?,
        mime: row.get("type")?,
        size: row.get("size")?,
    })
}

impl FileStore for SqliteStorage {
    fn ticket_access(&self, ticket: &str) -> Result<Option<(String, String)>, StorageError> {
        Ok(self
            .reader()?
            .query_row(
                "SELECT site, token_hash FROM tickets WHERE id = ?1",
                [ticket],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?)
    }

    fn add_ticket_file(
        &self,
        ticket: &str,
        file: &StoredFile,
        bytes: &[u8],
        at: i64,
        max_total: i64,
    ) -> Result<FileAdded, StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let (total, has): (i64, bool) = tx.query_row(
            "SELECT COALESCE(SUM(f.size), 0), COALESCE(MAX(f.hash = ?2), 0)
             FROM ticket_files t JOIN files f ON f.hash = t.hash WHERE t.ticket_id = ?1",
            params![ticket, file.hash],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        if has {
            return Ok(FileAdded::Added { total });
        }
        if total + file.size > max_total {
            return Ok(FileAdded::OverLimit { total });
        }
        tx.execute(
            "INSERT OR IGNORE INTO files (hash, type, size, bytes) VALUES (?1, ?2, ?3, ?4)",
            params![file.hash, file.mime, file.size, bytes],
        )?;
        tx.execute(
            "INSERT INTO ticket_files (ticket_id, hash, uploaded_at) VALUES (?1, ?2, ?3)",
            params![ticket, file.hash, at],
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
            .reader()?
            .query_row(
                "SELECT f.hash, f.type, f.size, f.bytes FROM ticket_files t
                 JOIN files f ON f.hash = t.hash WHERE t.ticket_id = ?1 AND t.hash = ?2",
                params![ticket, hash],
                |row| Ok((file_from_row(row)?, row.get("bytes")?)),
            )
            .optional()?)
    }
}

impl SqliteStorage {
    pub(super) fn files_of_ticket(&self, ticket: &str) -> Result<Vec<StoredFile>, StorageError> {
        let conn = self.reader()?;
        let mut statement = conn.prepare_cached(
            "SELECT f.hash, f.type, f.size FROM ticket_files t
             JOIN files f ON f.hash = t.hash WHERE t.ticket_id = ?1",
        )?;
        let files = statement
            .query_map([ticket], file_from_row)?
            .collect::<Result<_, _>>()?;
        Ok(files)
    }
}
