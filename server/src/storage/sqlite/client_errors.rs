//! SQLite: widget crash reports.

use super::*;

impl ClientErrorStore for SqliteStorage {
    fn record_client_error(&self, error: &ClientError) -> Result<(), StorageError> {
        self.conn().execute(
            "INSERT INTO client_errors (site, message, version, user_agent, at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                error.site,
                error.message,
                error.version,
                error.user_agent,
                error.at
            ],
        )?;
        Ok(())
    }

    fn prune_client_errors(&self, before: i64) -> Result<usize, StorageError> {
        Ok(self
            .conn()
            .execute("DELETE FROM client_errors WHERE at < ?1", params![before])?)
    }

    fn client_errors(
        &self,
        site: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ClientError>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT site, message, version, user_agent, at FROM client_errors
             WHERE ?1 IS NULL OR site = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![site, limit], |row| {
            Ok(ClientError {
                site: row.get(0)?,
                message: row.get(1)?,
                version: row.get(2)?,
                user_agent: row.get(3)?,
                at: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
