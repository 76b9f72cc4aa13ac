//! PostgreSQL: automation rules, their round robin (one rotation for every
//! server), and the requests they look at.

use super::*;
use crate::storage::{ESCALATED_FIRST, ESCALATED_RESOLUTION};

impl AutomationStore for PostgresStorage {
    fn automation_rules(&self, site: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT rules FROM automation_rules WHERE site = $1",
                &[&site],
            )?
            .map(|row| row.get(0)))
    }

    fn set_automation_rules(&self, site: &str, rules: &str, now: i64) -> Result<(), StorageError> {
        self.client()?.execute(
            "INSERT INTO automation_rules (site, rules, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (site) DO UPDATE SET rules = $2, updated_at = $3",
            &[&site, &rules, &now],
        )?;
        Ok(())
    }

    fn all_automation_rules(&self) -> Result<Vec<(String, String)>, StorageError> {
        Ok(self
            .client()?
            .query(
                "SELECT site, rules FROM automation_rules ORDER BY site",
                &[],
            )?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect())
    }

    fn next_in_rotation(
        &self,
        site: &str,
        tier: u8,
        staff: &[i64],
    ) -> Result<Option<i64>, StorageError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let tier = i32::from(tier);
        // The row is locked until the next is recorded: two servers take turns.
        tx.execute(
            "INSERT INTO round_robin (site, tier, staff_id) VALUES ($1, $2, 0)
             ON CONFLICT (site, tier) DO NOTHING",
            &[&site, &tier],
        )?;
        let last: i64 = tx
            .query_one(
                "SELECT staff_id FROM round_robin WHERE site = $1 AND tier = $2 FOR UPDATE",
                &[&site, &tier],
            )?
            .get(0);
        let next = super::super::next_after(staff, (last != 0).then_some(last));
        if let Some(next) = next {
            tx.execute(
                "UPDATE round_robin SET staff_id = $3 WHERE site = $1 AND tier = $2",
                &[&site, &tier, &next],
            )?;
        }
        tx.commit()?;
        Ok(next)
    }

    fn mark_automation(&self, ticket: &str, mark: &str, at: i64) -> Result<bool, StorageError> {
        Ok(self.client()?.execute(
            "INSERT INTO automation_marks (ticket_id, mark, at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&ticket, &mark, &at],
        )? > 0)
    }

    fn escalation_candidates(
        &self,
        site: &str,
        first_by: i64,
        resolution_by: i64,
        limit: u32,
    ) -> Result<Vec<TicketSummary>, StorageError> {
        self.client()?
            .query(
                "SELECT * FROM tickets
                 WHERE site = $1 AND status IN ('new', 'open') AND erased_at IS NULL
                   AND ((first_response_at IS NULL AND first_response_due <= $2
                         AND NOT EXISTS (SELECT 1 FROM automation_marks m
                                         WHERE m.ticket_id = tickets.id AND m.mark = $5))
                        OR (resolution_due <= $3
                            AND NOT EXISTS (SELECT 1 FROM automation_marks m
                                            WHERE m.ticket_id = tickets.id AND m.mark = $6)))
                 ORDER BY LEAST(first_response_due, resolution_due), id
                 LIMIT $4",
                &[
                    &site,
                    &first_by,
                    &resolution_by,
                    &i64::from(limit),
                    &ESCALATED_FIRST,
                    &ESCALATED_RESOLUTION,
                ],
            )?
            .iter()
            .map(summary_from_row)
            .collect()
    }

    fn pending_candidates(
        &self,
        site: &str,
        since_before: i64,
        mark_prefix: &str,
        limit: u32,
    ) -> Result<Vec<TicketSummary>, StorageError> {
        self.client()?
            .query(
                "SELECT * FROM tickets
                 WHERE site = $1 AND status = 'pending' AND pending_since < $2
                   AND erased_at IS NULL
                   AND NOT EXISTS (SELECT 1 FROM automation_marks m
                                   WHERE m.ticket_id = tickets.id
                                     AND m.mark = $4 || pending_since::text)
                 ORDER BY pending_since, id LIMIT $3",
                &[&site, &since_before, &i64::from(limit), &mark_prefix],
            )?
            .iter()
            .map(summary_from_row)
            .collect()
    }
}
