//! PostgreSQL: widget crash reports.

use super::*;

impl ClientErrorStore for PostgresStorage {
    fn record_client_error(&self, error: &ClientError) -> Result<(), StorageError> {
        self.client()?.execute(
            "INSERT INTO client_errors (site, message, version, user_agent, at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &error.site,
                &error.message,
                &error.version,
                &error.user_agent,
                &error.at,
            ],
        )?;
        Ok(())
    }

    fn prune_client_errors(&self, before: i64) -> Result<usize, StorageError> {
        let deleted = self
            .client()?
            .execute("DELETE FROM client_errors WHERE at < $1", &[&before])?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    fn client_errors(
        &self,
        site: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ClientError>, StorageError> {
        Ok(self
            .client()?
            .query(
                "SELECT site, message, version, user_agent, at FROM client_errors
                 WHERE $1::text IS NULL OR site = $1 ORDER BY at DESC, id DESC LIMIT $2",
                &[&site, &i64::from(limit)],
            )?
            .iter()
            .map(|row| ClientError {
                site: row.get(0),
                message: row.get(1),
                version: row.get(2),
                user_agent: row.get(3),
                at: row.get(4),
            })
            .collect())
    }
}
