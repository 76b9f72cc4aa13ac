//! The KPI report of one site over a period, in the staff member's time zone.

use super::site_key;
use super::DeskError;
use crate::clock::now_ms;
use crate::kpi::{self, Period, Report};
use crate::storage::{self, StaffMember};
use crate::AppState;

/// The report of `site` (staff of that site only).
pub async fn site_report(
    state: &AppState,
    user: &StaffMember,
    site: &str,
    period: Period,
) -> Result<Report, DeskError> {
    crate::desk::require_site(user, site)?;
    let key = site_key(site)?;
    let hours = state
        .site(&key)
        .await?
        .and_then(|c| c.business_hours.clone());
    let site = key.to_string();
    let now = now_ms();
    let tickets = {
        let site = site.clone();
        storage::blocking(&state.storage, move |s| s.ticket_facts(&site, 0)).await?
    };
    let mut report = kpi::report(
        &tickets,
        period,
        period.default_count(),
        now,
        hours.as_ref(),
    );
    // Self-service per period: the counts since each period's start, minus
    // those since the next one's.
    let starts: Vec<i64> = report.periods.iter().map(|f| f.start).collect();
    let since_each = storage::blocking(&state.storage, move |s| {
        starts
            .iter()
            .map(|start| s.kb_counts(&site, *start))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    report.self_service = since_each
        .iter()
        .enumerate()
        .map(|(i, from)| {
            let later = since_each.get(i + 1);
            let minus = |all: u32, f: fn(&crate::kb::article::KbCounts) -> u32| {
                all.saturating_sub(later.map_or(0, f))
            };
            kpi::SelfService {
                searches: minus(from.searches, |c| c.searches),
                zero_result_searches: minus(from.zero_result_searches, |c| c.zero_result_searches),
                deflections: minus(from.deflections, |c| c.deflections),
            }
        })
        .collect();
    Ok(report)
}
