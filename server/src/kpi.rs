//! Support KPIs over time, from the tickets' projection: volume, customer
//! satisfaction (CSAT), first response and resolution times (median and 90th
//! percentile), escalation rate, first-contact resolution, SLA breaches, and
//! the backlog by tier. Periods are UTC days or weeks (from Monday); response
//! and resolution times count the site's business hours when it has them.

use serde::Serialize;

use stufe_shared::site::BusinessHours;

use crate::business_hours;
use crate::storage::TicketSummary;

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    #[default]
    Day,
    Week,
}

impl Period {
    fn length(self) -> i64 {
        match self {
            Period::Day => DAY_MS,
            Period::Week => 7 * DAY_MS,
        }
    }

    /// The start of the period holding `at` (weeks start on Monday, UTC).
    fn start_of(self, at: i64) -> i64 {
        match self {
            Period::Day => at.div_euclid(DAY_MS) * DAY_MS,
            // 1970-01-01 was a Thursday: Mondays are 4 days after the epoch's week start.
            Period::Week => (at - 4 * DAY_MS).div_euclid(7 * DAY_MS) * 7 * DAY_MS + 4 * DAY_MS,
        }
    }

    /// How many periods the report covers: 30 days or 12 weeks.
    pub fn default_count(self) -> usize {
        match self {
            Period::Day => 30,
            Period::Week => 12,
        }
    }
}

/// Median and 90th percentile of durations (ms), nearest rank; None without data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Spread {
    pub median: Option<i64>,
    pub p90: Option<i64>,
}

fn spread(mut values: Vec<i64>) -> Spread {
    if values.is_empty() {
        return Spread::default();
    }
    values.sort_unstable();
    let rank = |p: usize| values[(values.len() * p).div_ceil(100).max(1) - 1];
    Spread {
        median: Some(rank(50)),
        p90: Some(rank(90)),
    }
}

/// The figures of one period (or of all of them).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Figures {
    /// Start of the period (ms since the epoch, UTC).
    pub start: i64,
    /// Requests created in the period.
    pub created: u32,
    /// Requests resolved (or closed) in the period.
    pub resolved: u32,
    /// Ratings given to requests resolved in the period, by score 1–5.
    pub ratings: [u32; 5],
    /// Average rating, 1–5.
    pub csat: Option<f64>,
    /// Time to the first staff reply, of requests created in the period.
    pub first_response: Spread,
    /// Time from creation to resolution, of requests resolved in the period.
    pub resolution: Spread,
    /// Share of requests created in the period that went beyond tier 1.
    pub escalation_rate: Option<f64>,
    /// Share of requests resolved in the period with one staff reply, at
    /// tier 1, never reopened.
    pub first_contact_resolution: Option<f64>,
    /// Requests created in the period whose first reply came after its due
    /// time (or has not come and is overdue now).
    pub sla_breaches: u32,
}

/// The KPI report of a site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub period: Period,
    /// Oldest period first.
    pub periods: Vec<Figures>,
    pub total: Figures,
    /// Requests not resolved or closed now, by tier 1–3.
    pub backlog_by_tier: [u32; 3],
    /// Self-service per period (same order as `periods`): searches, searches
    /// that found nothing, and deflections (an article read, no ticket filed).
    pub self_service: Vec<SelfService>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct SelfService {
    pub searches: u32,
    pub zero_result_searches: u32,
    pub deflections: u32,
}

fn resolved(t: &TicketSummary) -> bool {
    t.status == "resolved" || t.status == "closed"
}

/// Figures over `tickets`: created ones are those created within
/// `[from, to)`, resolved ones those resolved within it.
fn figures(
    tickets: &[TicketSummary],
    from: i64,
    to: i64,
    now: i64,
    hours: Option<&BusinessHours>,
) -> Figures {
    let took = |start: i64, end: i64| business_hours::elapsed(hours, start, end);
    let within = |at: i64| at >= from && at < to;
    let created: Vec<&TicketSummary> = tickets.iter().filter(|t| within(t.created_at)).collect();
    let done: Vec<&TicketSummary> = tickets
        .iter()
        .filter(|t| resolved(t) && t.resolved_at.is_some_and(within))
        .collect();
    // Ratings by when they were given: a request rated, then reopened by
    // the customer, still counts its rating.
    let mut ratings = [0u32; 5];
    for score in tickets
        .iter()
        .filter(|t| t.rated_at.is_some_and(within))
        .filter_map(|t| t.rating)
    {
        if let Some(slot) = ratings.get_mut(usize::from(score.clamp(1, 5)) - 1) {
            *slot += 1;
        }
    }
    let rated: u32 = ratings.iter().sum();
    let share = |part: usize, of: usize| (of > 0).then(|| part as f64 / of as f64);
    Figures {
        start: from,
        created: created.len() as u32,
        resolved: done.len() as u32,
        ratings,
        csat: (rated > 0).then(|| {
            let sum: u32 = ratings.iter().zip(1u32..).map(|(n, score)| n * score).sum();
            f64::from(sum) / f64::from(rated)
        }),
        first_response: spread(
            created
                .iter()
                .filter_map(|t| Some(took(t.created_at, t.first_response_at?)))
                .collect(),
        ),
        resolution: spread(
            done.iter()
                .filter_map(|t| Some(took(t.created_at, t.resolved_at?)))
                .collect(),
        ),
        escalation_rate: share(
            created.iter().filter(|t| t.max_tier > 1).count(),
            created.len(),
        ),
        first_contact_resolution: share(
            done.iter()
                .filter(|t| t.staff_messages <= 1 && t.max_tier == 1 && t.reopened == 0)
                .count(),
            done.len(),
        ),
        sla_breaches: created
            .iter()
            .filter(|t| match (t.first_response_due, t.first_response_at) {
                (Some(due), Some(at)) => at > due,
                (Some(due), None) => now > due && !resolved(t),
                (None, _) => false,
            })
            .count() as u32,
    }
}

/// The report over the last `count` periods up to `now`, from every ticket of
/// a site (older ones count only for the backlog).
pub fn report(
    tickets: &[TicketSummary],
    period: Period,
    count: usize,
    now: i64,
    hours: Option<&BusinessHours>,
) -> Report {
    let current = period.start_of(now);
    let first = current - (count.saturating_sub(1) as i64) * period.length();
    let periods = (0..count as i64)
        .map(|i| {
            let from = first + i * period.length();
            figures(tickets, from, from + period.length(), now, hours)
        })
        .collect();
    let mut backlog_by_tier = [0u32; 3];
    for t in tickets.iter().filter(|t| !resolved(t)) {
        backlog_by_tier[usize::from(t.tier.clamp(1, 3)) - 1] += 1;
    }
    Report {
        period,
        periods,
        total: figures(tickets, first, current + period.length(), now, hours),
        backlog_by_tier,
        self_service: Vec::new(),
    }
}

/// The report as CSV: one row per period, then the total.
pub fn csv(report: &Report) -> String {
    let hours =
        |ms: Option<i64>| ms.map_or(String::new(), |ms| format!("{:.2}", ms as f64 / 3.6e6));
    let ratio = |r: Option<f64>| r.map_or(String::new(), |r| format!("{r:.3}"));
    let mut out = String::from(
        "period_start,created,resolved,csat_average,csat_1,csat_2,csat_3,csat_4,csat_5,\
         first_response_median_h,first_response_p90_h,resolution_median_h,resolution_p90_h,\
         escalation_rate,first_contact_resolution,sla_breaches,searches,zero_result_searches,deflections\n",
    );
    let total_kb = report
        .self_service
        .iter()
        .fold(SelfService::default(), |a, s| SelfService {
            searches: a.searches + s.searches,
            zero_result_searches: a.zero_result_searches + s.zero_result_searches,
            deflections: a.deflections + s.deflections,
        });
    let rows = report
        .periods
        .iter()
        .enumerate()
        .map(|(i, f)| (date(f.start), f, report.self_service.get(i).copied()))
        .chain(std::iter::once((
            "total".to_owned(),
            &report.total,
            Some(total_kb),
        )));
    for (label, f, kb) in rows {
        let r = f.ratings;
        let kb = kb.map_or(",,".to_owned(), |k| {
            format!(
                "{},{},{}",
                k.searches, k.zero_result_searches, k.deflections
            )
        });
        out.push_str(&format!(
            "{label},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{kb}\n",
            f.created,
            f.resolved,
            f.csat.map_or(String::new(), |c| format!("{c:.2}")),
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            hours(f.first_response.median),
            hours(f.first_response.p90),
            hours(f.resolution.median),
            hours(f.resolution.p90),
            ratio(f.escalation_rate),
            ratio(f.first_contact_resolution),
            f.sla_breaches,
        ));
    }
    out
}

/// `YYYY-MM-DD` of a UTC timestamp (ms).
pub fn date(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    /// Monday, 2026-11-30 00:00 UTC.
    const MONDAY: i64 = 1_795_996_800_000;

    fn ticket(created_at: i64) -> TicketSummary {
        TicketSummary {
            id: format!("t{created_at}"),
            site: "demo".into(),
            subject: "s".into(),
            status: "open".into(),
            tier: 1,
            priority: "normal".into(),
            category: "general".into(),
            email: None,
            created_at,
            updated_at: created_at,
            first_response_due: Some(created_at + 4 * H),
            resolution_due: None,
            message_count: 1,
            customer: None,
            first_response_at: None,
            staff_messages: 0,
            rating: None,
            resolved_at: None,
            max_tier: 1,
            reopened: 0,
            assignee: None,
            pending_since: None,
            rated_at: None,
        }
    }

    fn resolved_after(mut t: TicketSummary, hours: i64, rating: Option<u8>) -> TicketSummary {
        t.status = "resolved".into();
        t.resolved_at = Some(t.created_at + hours * H);
        t.first_response_at = Some(t.created_at + H);
        t.staff_messages = 1;
        t.rating = rating;
        t.rated_at = rating.and(t.resolved_at);
        t
    }

    /// A known week: four requests on Monday, one on Tuesday.
    fn week() -> Vec<TicketSummary> {
        let mut escalated = resolved_after(ticket(MONDAY + 2 * H), 10, Some(2));
        escalated.max_tier = 3;
        escalated.staff_messages = 3;
        let mut late = ticket(MONDAY + 3 * H);
        late.first_response_at = Some(MONDAY + 9 * H); // due at 7 h
        late.tier = 2;
        let mut reopened = resolved_after(ticket(MONDAY + 4 * H), 6, None);
        reopened.reopened = 1;
        vec![
            resolved_after(ticket(MONDAY + H), 2, Some(5)),
            escalated,
            late,
            reopened,
            ticket(MONDAY + 26 * H), // Tuesday, unanswered, overdue by Wednesday
        ]
    }

    #[test]
    fn daily_figures_have_the_known_answers() {
        let now = MONDAY + 2 * 24 * H; // Wednesday 00:00
        let r = report(&week(), Period::Day, 3, now, None);
        assert_eq!(r.periods.len(), 3);
        let (monday, tuesday) = (&r.periods[0], &r.periods[1]);
        assert_eq!(monday.start, MONDAY);
        assert_eq!((monday.created, monday.resolved), (4, 3));
        assert_eq!(monday.ratings, [0, 1, 0, 0, 1]);
        assert_eq!(monday.csat, Some(3.5));
        // First responses 1 h, 1 h, 6 h, 1 h: median 1 h, p90 6 h.
        assert_eq!(
            monday.first_response,
            Spread {
                median: Some(H),
                p90: Some(6 * H)
            }
        );
        // Resolutions 2 h, 10 h, 6 h: median 6 h, p90 10 h.
        assert_eq!(
            monday.resolution,
            Spread {
                median: Some(6 * H),
                p90: Some(10 * H)
            }
        );
        assert_eq!(monday.escalation_rate, Some(0.25));
        // Only the first: the second was escalated, the third reopened.
        assert_eq!(monday.first_contact_resolution, Some(1.0 / 3.0));
        assert_eq!(monday.sla_breaches, 1, "answered after its due time");
        assert_eq!(
            (tuesday.created, tuesday.sla_breaches),
            (1, 1),
            "unanswered past due"
        );
        assert_eq!(r.periods[2].created, 0);
        assert_eq!(r.total.created, 5);
        assert_eq!(r.total.csat, Some(3.5));
        // Open now: the late one at tier 2, Tuesday's at tier 1.
        assert_eq!(r.backlog_by_tier, [1, 1, 0]);
    }

    #[test]
    fn a_rating_counts_in_its_period_though_the_request_was_reopened_since() {
        // Rated on Monday after its resolution, then reopened by the customer:
        // open now, no resolution time, and its rating still counts.
        let mut rated = resolved_after(ticket(MONDAY + H), 2, Some(4));
        (rated.status, rated.resolved_at, rated.reopened) = ("open".into(), None, 1);
        let now = MONDAY + 2 * 24 * H;
        let r = report(&[rated], Period::Day, 3, now, None);
        assert_eq!(r.periods[0].ratings, [0, 0, 0, 1, 0]);
        assert_eq!(r.periods[0].csat, Some(4.0));
        assert_eq!(r.periods[0].resolved, 0, "not resolved now");
        assert_eq!(r.total.csat, Some(4.0));
    }

    #[test]
    fn times_count_business_hours_when_the_site_has_them() {
        // Open 09:00–17:00 UTC every day: the request created at 01:00 and
        // resolved at 11:00 took two working hours (09:00–11:00), not ten.
        let hours = BusinessHours {
            timezone: "UTC".into(),
            week: stufe_shared::site::WEEKDAYS
                .map(|d| stufe_shared::site::OpenHours {
                    day: d.into(),
                    open: "09:00".into(),
                    close: "17:00".into(),
                })
                .to_vec(),
            holidays: vec![],
        };
        let t = resolved_after(ticket(MONDAY + H), 10, None);
        let r = report(&[t], Period::Day, 1, MONDAY + 20 * H, Some(&hours));
        assert_eq!(r.total.resolution.median, Some(2 * H));
        assert_eq!(
            r.total.first_response.median,
            Some(0),
            "answered at 02:00, before opening"
        );
    }

    #[test]
    fn weeks_start_on_monday_and_the_csv_has_a_row_per_period_and_a_total() {
        assert_eq!(Period::Week.start_of(MONDAY + 5 * 24 * H), MONDAY);
        assert_eq!(Period::Week.start_of(MONDAY - 1), MONDAY - 7 * 24 * H);
        assert_eq!(date(MONDAY), "2026-11-30");
        let r = report(&week(), Period::Week, 2, MONDAY + 3 * 24 * H, None);
        assert_eq!(r.periods[1].created, 5);
        let csv = csv(&r);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4, "{csv}");
        assert!(lines[0].ends_with(",searches,zero_result_searches,deflections"));
        assert!(
            lines[2]
                .starts_with("2026-11-30,5,3,3.50,0,1,0,0,1,1.00,6.00,6.00,10.00,0.200,0.333,2"),
            "{}",
            lines[2]
        );
        assert!(lines[3].starts_with("total,5,3,"));
    }
}
