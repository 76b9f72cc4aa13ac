//! SQLite: the audit trail (rows are only ever added).

use super::*;

impl AuditStore for SqliteStorage {
    fn record_audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        self.conn().execute(
            "INSERT INTO audit_log (at, staff, staff_id, source, action, target, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                entry.at,
                entry.staff,
                entry.staff_id,
                entry.source,
                entry.action,
                entry.target,
                entry.outcome
            ],
        )?;
        Ok(())
    }

    fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT at, staff, staff_id, source, action, target, outcome FROM audit_log
             WHERE (?1 IS NULL OR staff_id = ?1) AND (?2 IS NULL OR instr(action, ?2) > 0)
               AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4)
             ORDER BY at DESC, id DESC LIMIT ?5",
        )?;
        let rows = stmt.query_map(
            params![
                filter.staff_id,
                filter.action,
                filter.since,
                filter.until,
                filter.limit
            ],
            |row| {
                Ok(AuditEntry {
                    at: row.get(0)?,
                    staff: row.get(1)?,
                    staff_id: row.get(2)?,
                    source: row.get(3)?,
                    action: row.get(4)?,
                    target: row.get(5)?,
                    outcome: row.get(6)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
