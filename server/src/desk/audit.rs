//! The audit trail as admins read it: filtered, newest first, as rows or as
//! CSV. Records are written by the HTTP layer and the login (see
//! `crate::audit`) and never changed.

use super::{require_admin, DeskError};
use crate::storage::{self, AuditEntry, AuditFilter, StaffMember};
use crate::AppState;

/// The most records one read returns.
pub const MAX_AUDIT_ROWS: u32 = 5_000;

/// Adds a record; one that cannot be stored is logged (what it records stands).
pub async fn record(state: &AppState, entry: AuditEntry) {
    if let Err(err) = storage::blocking(&state.storage, move |s| s.record_audit(&entry)).await {
        tracing::error!(%err, "an audit record could not be stored");
    }
}

/// The records matching `filter` (its limit at most [`MAX_AUDIT_ROWS`]); admins only.
pub async fn audit_entries(
    state: &AppState,
    member: &StaffMember,
    mut filter: AuditFilter,
) -> Result<Vec<AuditEntry>, DeskError> {
    require_admin(member, "the audit trail")?;
    filter.limit = filter.limit.clamp(1, MAX_AUDIT_ROWS);
    Ok(storage::blocking(&state.storage, move |s| s.audit_entries(&filter)).await?)
}

/// The records as CSV (RFC 4180: every field quoted, quotes doubled; a
/// field a spreadsheet would run as a formula starts with `'`).
pub fn audit_csv(entries: &[AuditEntry]) -> String {
    let field = |text: &str| {
        let safe = if text.starts_with(['=', '+', '-', '@']) {
            format!("'{text}")
        } else {
            text.to_owned()
        };
        format!("\"{}\"", safe.replace('"', "\"\""))
    };
    let mut out = String::from("at,staff,staff_id,source,action,target,outcome\r\n");
    for e in entries {
        let row = [
            e.at.to_string(),
            field(&e.staff),
            e.staff_id.map(|id| id.to_string()).unwrap_or_default(),
            field(&e.source),
            field(&e.action),
            field(&e.target),
            e.outcome.to_string(),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_every_text_and_defuses_formulas() {
        let entry = AuditEntry {
            at: 5,
            staff: "=cmd|' /C calc'!A0".into(),
            staff_id: None,
            source: "127.0.0.1".into(),
            action: "login failed".into(),
            target: "say \"hi\"".into(),
            outcome: 401,
        };
        assert_eq!(
            audit_csv(&[entry]),
            "at,staff,staff_id,source,action,target,outcome\r\n\
             5,\"'=cmd|' /C calc'!A0\",,\"127.0.0.1\",\"login failed\",\"say \"\"hi\"\"\",401\r\n"
        );
    }
}
