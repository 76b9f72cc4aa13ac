//! The audit trail in the console (admins): filtered by staff member, action
//! and days (in the viewer's time zone), newest first, and as CSV.

use super::*;
use crate::desk::audit::{audit_csv, audit_entries};
use crate::storage::{AuditEntry, AuditFilter};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};

/// The filter form's fields (all optional).
#[derive(Deserialize, Default)]
pub(super) struct AuditForm {
    #[serde(default)]
    staff: String,
    #[serde(default)]
    action: String,
    /// `YYYY-MM-DD`: from the start of this day.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD`: to the end of this day.
    #[serde(default)]
    to: String,
}

impl AuditForm {
    /// The filter, days read in `timezone`; an unreadable field is refused.
    fn filter(&self, timezone: &str, limit: u32) -> Result<AuditFilter, AppError> {
        let day = |text: &str, next: bool| -> Result<Option<i64>, AppError> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            let date: jiff::civil::Date = text.parse().map_err(|_| {
                AppError::bad_request(format!("{text:?} is not a date (YYYY-MM-DD)"))
            })?;
            let date = if next {
                date.tomorrow()
                    .map_err(|e| AppError::bad_request(e.to_string()))?
            } else {
                date
            };
            let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
            let start = date
                .to_datetime(jiff::civil::Time::midnight())
                .to_zoned_datetime(tz)
                .map_err(|e| AppError::bad_request(e.to_string()))?;
            Ok(Some(start.timestamp().as_millisecond()))
        };
        Ok(AuditFilter {
            staff_id: match self.staff.trim() {
                "" => None,
                id => Some(
                    id.parse()
                        .map_err(|_| AppError::bad_request("no such staff member"))?,
                ),
            },
            action: Some(self.action.trim().to_owned()).filter(|a| !a.is_empty()),
            since: day(&self.from, false)?,
            until: day(&self.to, true)?,
            limit,
        })
    }

    fn query(&self) -> String {
        format!(
            "staff={}&action={}&from={}&to={}",
            url_encode(&self.staff),
            url_encode(&self.action),
            url_encode(&self.from),
            url_encode(&self.to)
        )
    }
}

pub(super) async fn audit_page(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Query(form): Query<AuditForm>,
) -> Result<Markup, AppError> {
    let entries: Vec<AuditEntry> =
        audit_entries(&state, &user, form.filter(&user.timezone, 500)?).await?;
    let staff = storage::blocking(&state.storage, |s| s.list_staff()).await?;
    Ok(page(
        "Audit trail",
        Some(&user),
        html! {
            p { "Who changed or looked at customer data, when, from which address, and what came of it; logins and failed logins. Newest first; records are never changed." }
            form.card method="get" action="/console/audit" data-testid="audit-filter" {
                label { "Staff " select name="staff" {
                    option value="" { "everyone" }
                    @for m in &staff { option value=(m.id) selected[form.staff == m.id.to_string()] { (m.name) } } } }
                " " label { "Action contains " input name="action" value=(form.action) placeholder="login, PATCH, export…"; }
                " " label { "From " input type="date" name="from" value=(form.from); }
                " " label { "To " input type="date" name="to" value=(form.to); }
                " " button { "Filter" }
                " " a href={ "/console/audit.csv?" (form.query()) } data-testid="audit-csv" { "Export as CSV" }
            }
            @if entries.is_empty() {
                p data-testid="no-audit" { "Nothing recorded matches." }
            } @else {
                table data-testid="audit" {
                    thead { tr { th { "When" } th { "Who" } th { "From" } th { "Action" } th { "Target" } th { "Outcome" } } }
                    tbody {
                        @for e in &entries {
                            tr data-testid="audit-row" {
                                td { (format_time(e.at, &user.timezone)) }
                                td { (e.staff) }
                                td { (e.source) }
                                td { code { (e.action) } }
                                td { small { (e.target) } }
                                td { (e.outcome) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

pub(super) async fn audit_csv_file(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Query(form): Query<AuditForm>,
) -> Result<Response, AppError> {
    let filter = form.filter(&user.timezone, crate::desk::audit::MAX_AUDIT_ROWS)?;
    let entries = audit_entries(&state, &user, filter).await?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"stufe-audit.csv\"",
            ),
        ],
        audit_csv(&entries),
    )
        .into_response())
}
