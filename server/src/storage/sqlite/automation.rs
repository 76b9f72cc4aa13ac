//! SQLite: automation rules, their round robin, and the requests they look at.

use super::*;
use crate::storage::{ESCALATED_FIRST, ESCALATED_RESOLUTION};

impl AutomationStore for SqliteStorage {
    fn automation_rules(&self, site: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .reader()?
            .query_row(
                "SELECT rules FROM automation_rules WHERE site = ?1",
                [site],
                |row| row.get(0),
            )
            .optional()?)
    }

    fn set_automation_rules(&self, site: &str, rules: &str, now: i64) -> Result<(), StorageError> {
        self.conn().execute(
            "INSERT INTO automation_rules (site, rules, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (site) DO UPDATE SET rules = ?2, updated_at = ?3",
            params![site, rules, now],
        )?;
        Ok(())
    }

    fn all_automation_rules(&self) -> Result<Vec<(String, String)>, StorageError> {
        let conn = self.reader()?;
        let mut stmt =
            conn.prepare_cached("SELECT site, rules FROM automation_rules ORDER BY site")?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn next_in_rotation(
        &self,
        site: &str,
        tier: u8,
        staff: &[i64],
    ) -> Result<Option<i64>, StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let last: Option<i64> = tx
            .query_row(
                "SELECT staff_id FROM round_robin WHERE site = ?1 AND tier = ?2",
                params![site, tier],
                |row| row.get(0),
            )
            .optional()?;
        let next = super::super::next_after(staff, last);
        if let Some(next) = next {
            tx.execute(
                "INSERT INTO round_robin (site, tier, staff_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT (site, tier) DO UPDATE SET staff_id = ?3",
                params![site, tier, next],
            )?;
        }
        tx.commit()?;
        Ok(next)
    }

    fn mark_automation(&self, ticket: &str, mark: &str, at: i64) -> Result<bool, StorageError> {
        Ok(self.conn().execute(
            "INSERT INTO automation_marks (ticket_id, mark, at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![ticket, mark, at],
        )? > 0)
    }

    fn escalation_candidates(
        &self,
        site: &str,
        first_by: i64,
        resolution_by: i64,
        limit: u32,
    ) -> Result<Vec<TicketSummary>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT * FROM tickets
             WHERE site = ?1 AND status IN ('new', 'open') AND erased_at IS NULL
               AND ((first_response_at IS NULL AND first_response_due <= ?2
                     AND NOT EXISTS (SELECT 1 FROM automation_marks m
                                     WHERE m.ticket_id = tickets.id AND m.mark = ?5))
                    OR (resolution_due <= ?3
                        AND NOT EXISTS (SELECT 1 FROM automation_marks m
                                        WHERE m.ticket_id = tickets.id AND m.mark = ?6)))
             ORDER BY min(coalesce(first_response_due, resolution_due),
                          coalesce(resolution_due, first_response_due)), id
             LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                site,
                first_by,
                resolution_by,
                limit,
                ESCALATED_FIRST,
                ESCALATED_RESOLUTION
            ],
            summary_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn pending_candidates(
        &self,
        site: &str,
        since_before: i64,
        mark_prefix: &str,
        limit: u32,
    ) -> Result<Vec<TicketSummary>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT * FROM tickets
             WHERE site = ?1 AND status = 'pending' AND pending_since < ?2 AND erased_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM automation_marks m
                               WHERE m.ticket_id = tickets.id AND m.mark = ?4 || pending_since)
             ORDER BY pending_since, id LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![site, since_before, limit, mark_prefix],
            summary_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
