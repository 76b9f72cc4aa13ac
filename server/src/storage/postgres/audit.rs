//! PostgreSQL: the audit trail (rows are only ever added).

use super::*;

impl AuditStore for PostgresStorage {
    fn record_audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        self.client()?.execute(
            "INSERT INTO audit_log (at, staff, staff_id, source, action, target, outcome)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &entry.at,
                &entry.staff,
                &entry.staff_id,
                &entry.source,
                &entry.action,
                &entry.target,
                &i32::from(entry.outcome),
            ],
        )?;
        Ok(())
    }

    fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StorageError> {
        Ok(self
            .client()?
            .query(
                "SELECT at, staff, staff_id, source, action, target, outcome FROM audit_log
                 WHERE ($1::bigint IS NULL OR staff_id = $1)
                   AND ($2::text IS NULL OR strpos(action, $2) > 0)
                   AND ($3::bigint IS NULL OR at >= $3) AND ($4::bigint IS NULL OR at < $4)
                 ORDER BY at DESC, id DESC LIMIT $5",
                &[
                    &filter.staff_id,
                    &filter.action,
                    &filter.since,
                    &filter.until,
                    &i64::from(filter.limit),
                ],
            )?
            .iter()
            .map(|row| AuditEntry {
                at: row.get(0),
                staff: row.get(1),
                staff_id: row.get(2),
                source: row.get(3),
                action: row.get(4),
                target: row.get(5),
                outcome: u16::try_from(row.get::<_, i32>(6)).unwrap_or(0),
            })
            .collect())
    }
}
