//! SLA arithmetic in a site's business hours: "four working hours from now"
//! in the site's time zone, skipping nights, closed days and holidays, right
//! across daylight-saving changes (jiff, with its own copy of the tz database).

use std::collections::HashSet;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use stufe_shared::site::{minutes_of_day, BusinessHours, WEEKDAYS};

/// A day around the clock, in ms.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// How far ahead a due time is looked for (a site open one day a year still gets one).
const MAX_DAYS: usize = 3 * 366;

/// A site's working time: open hours per weekday (Monday first) and days off.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: TimeZone,
    week: [Option<(Time, Time)>; 7],
    holidays: HashSet<Date>,
}

impl Calendar {
    /// The calendar of `hours`; an error names what is wrong (an unknown time zone).
    pub fn new(hours: &BusinessHours) -> Result<Self, String> {
        let tz = TimeZone::get(&hours.timezone)
            .map_err(|_| format!("{:?} is not a known time zone", hours.timezone))?;
        let mut week = [None; 7];
        for day in &hours.week {
            let index = WEEKDAYS
                .iter()
                .position(|d| *d == day.day)
                .ok_or_else(|| format!("{:?} is not a day", day.day))?;
            let time = |text: &str| {
                let m = minutes_of_day(text).ok_or_else(|| format!("{text:?} is not HH:MM"))?;
                Time::new((m / 60) as i8, (m % 60) as i8, 0, 0).map_err(|e| e.to_string())
            };
            week[index] = Some((time(&day.open)?, time(&day.close)?));
        }
        let holidays = hours
            .holidays
            .iter()
            .map(|d| {
                d.parse::<Date>()
                    .map_err(|_| format!("{d:?} is not a date"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { tz, week, holidays })
    }

    /// The working windows of `date`, as (start, end) instants in ms.
    fn window(&self, date: Date) -> Option<(i64, i64)> {
        if self.holidays.contains(&date) {
            return None;
        }
        let index = usize::try_from(date.weekday().to_monday_zero_offset()).ok()?;
        let (open, close) = self.week[index]?;
        let at = |time: Time| {
            date.to_datetime(time)
                .to_zoned_datetime(self.tz.clone())
                .ok()
                .map(|z| z.timestamp().as_millisecond())
        };
        Some((at(open)?, at(close)?)).filter(|(a, b)| a < b)
    }

    fn local_date(&self, ms: i64) -> Option<Date> {
        Some(
            Timestamp::from_millisecond(ms)
                .ok()?
                .to_zoned_datetime(self.tz.clone())
                .date(),
        )
    }

    /// The instant `minutes` working minutes after `start` (ms).
    pub fn add(&self, start: i64, minutes: u32) -> i64 {
        let mut left = i64::from(minutes) * 60_000;
        let Some(mut date) = self.local_date(start) else {
            return start + left;
        };
        for _ in 0..MAX_DAYS {
            if let Some((open, close)) = self.window(date) {
                let from = start.max(open);
                if from < close {
                    if from + left <= close {
                        return from + left;
                    }
                    left -= close - from;
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        // No working time within three years: count around the clock.
        start + i64::from(minutes) * 60_000
    }

    /// The same local time of day `days` working days after `start`'s day
    /// (the days the site is open, holidays skipped).
    pub fn working_days_after(&self, start: i64, days: u32) -> i64 {
        let around_the_clock = start + i64::from(days) * DAY_MS;
        let Ok(at) = Timestamp::from_millisecond(start) else {
            return around_the_clock;
        };
        let local = at.to_zoned_datetime(self.tz.clone());
        let (mut date, time) = (local.date(), local.time());
        let mut left = days;
        for _ in 0..MAX_DAYS {
            if left == 0 {
                return date
                    .to_datetime(time)
                    .to_zoned_datetime(self.tz.clone())
                    .map_or(around_the_clock, |z| z.timestamp().as_millisecond());
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
            if self.window(date).is_some() {
                left -= 1;
            }
        }
        around_the_clock
    }

    /// Working time (ms) between `from` and `to`.
    pub fn between(&self, from: i64, to: i64) -> i64 {
        let (Some(mut date), Some(last)) = (self.local_date(from), self.local_date(to)) else {
            return 0;
        };
        let mut total = 0;
        for _ in 0..MAX_DAYS {
            if let Some((open, close)) = self.window(date) {
                let (a, b) = (from.max(open), to.min(close));
                total += (b - a).max(0);
            }
            if date >= last {
                break;
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        total
    }
}

/// When the team is next at work, from `at` (ms): `at` itself while open;
/// None when the site has no hours (always open) or never opens again.
pub fn next_open(hours: Option<&BusinessHours>, at: i64) -> Option<i64> {
    let calendar = Calendar::new(hours?).ok()?;
    // Zero working minutes after `at`: the start of the next working window.
    let opens = calendar.add(at, 0);
    (calendar.between(opens, opens + 60_000) > 0).then_some(opens)
}

/// Whether the team is at work at `at` (ms): always, when the site has no
/// business hours (or unreadable ones).
pub fn is_open(hours: Option<&BusinessHours>, at: i64) -> bool {
    match hours.map(Calendar::new) {
        Some(Ok(calendar)) => calendar.between(at, at + 1) > 0,
        _ => true,
    }
}

/// Adds `minutes` of SLA time to `start`: in business hours when the site has
/// them, else around the clock.
pub fn due(hours: Option<&BusinessHours>, start: i64, minutes: u32) -> i64 {
    match hours.map(Calendar::new) {
        Some(Ok(calendar)) => calendar.add(start, minutes),
        _ => start + i64::from(minutes) * 60_000,
    }
}

/// Due times (first response, resolution) moved on by a pause of the SLA
/// clock from `since` to `now` (a request waiting on the customer), counted
/// in business time when the site has hours, rounded up to the minute.
pub fn after_pause(
    hours: Option<&BusinessHours>,
    dues: (i64, i64),
    since: i64,
    now: i64,
) -> (i64, i64) {
    let paused = elapsed(hours, since, now);
    let minutes = u32::try_from((paused + 59_999) / 60_000).unwrap_or(u32::MAX);
    (due(hours, dues.0, minutes), due(hours, dues.1, minutes))
}

/// `days` working days after `start` (see [`Calendar::working_days_after`]);
/// calendar days when the site has no business hours.
pub fn working_days_after(hours: Option<&BusinessHours>, start: i64, days: u32) -> i64 {
    match hours.map(Calendar::new) {
        Some(Ok(calendar)) => calendar.working_days_after(start, days),
        _ => start + i64::from(days) * DAY_MS,
    }
}

/// SLA time (ms) between two instants: business time when the site has hours.
pub fn elapsed(hours: Option<&BusinessHours>, from: i64, to: i64) -> i64 {
    match hours.map(Calendar::new) {
        Some(Ok(calendar)) => calendar.between(from, to),
        _ => (to - from).max(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stufe_shared::site::OpenHours;

    fn berlin(holidays: &[&str]) -> Calendar {
        let day = |d: &str| OpenHours {
            day: d.into(),
            open: "09:00".into(),
            close: "17:00".into(),
        };
        Calendar::new(&BusinessHours {
            timezone: "Europe/Berlin".into(),
            week: ["mon", "tue", "wed", "thu", "fri"].map(day).to_vec(),
            holidays: holidays.iter().map(|h| (*h).to_owned()).collect(),
        })
        .unwrap()
    }

    /// Milliseconds of a local Berlin time.
    fn at(text: &str) -> i64 {
        let dt: jiff::civil::DateTime = text.parse().unwrap();
        dt.to_zoned_datetime(TimeZone::get("Europe/Berlin").unwrap())
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    #[test]
    fn open_now_and_when_next_open() {
        let hours = BusinessHours {
            timezone: "Europe/Berlin".into(),
            week: vec![OpenHours {
                day: "mon".into(),
                open: "09:00".into(),
                close: "17:00".into(),
            }],
            holidays: vec!["2026-12-07".into()],
        };
        // Monday 2026-11-30, 10:00: open.
        assert!(is_open(Some(&hours), at("2026-11-30T10:00")));
        assert_eq!(
            next_open(Some(&hours), at("2026-11-30T10:00")),
            Some(at("2026-11-30T10:00"))
        );
        // Monday evening: closed; next Monday is a holiday, so the one after.
        assert!(!is_open(Some(&hours), at("2026-11-30T17:00")));
        assert_eq!(
            next_open(Some(&hours), at("2026-11-30T17:00")),
            Some(at("2026-12-14T09:00"))
        );
        // No hours: always open, no opening time to wait for.
        assert!(is_open(None, 0));
        assert_eq!(next_open(None, 0), None);
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        // Thursday 2026-12-03 14:30 + 2 working days: Friday, (weekend), Monday.
        let c = berlin(&[]);
        assert_eq!(
            c.working_days_after(at("2026-12-03T14:30"), 2),
            at("2026-12-07T14:30")
        );
        // With Monday a holiday: Tuesday.
        let c = berlin(&["2026-12-07"]);
        assert_eq!(
            c.working_days_after(at("2026-12-03T14:30"), 2),
            at("2026-12-08T14:30")
        );
        // No business hours: calendar days.
        assert_eq!(working_days_after(None, 0, 3), 3 * DAY_MS);
    }

    #[test]
    fn within_a_day_and_across_a_night() {
        let c = berlin(&[]);
        assert_eq!(c.add(at("2026-12-01T10:00"), 60), at("2026-12-01T11:00"));
        // Four hours from 15:00 Tuesday: two today, two on Wednesday.
        assert_eq!(c.add(at("2026-12-01T15:00"), 240), at("2026-12-02T11:00"));
        // Before opening, the clock starts at 09:00.
        assert_eq!(c.add(at("2026-12-01T06:30"), 30), at("2026-12-01T09:30"));
    }

    #[test]
    fn across_a_weekend_and_a_holiday() {
        let c = berlin(&["2026-12-07"]);
        // Friday 16:00 + 2 h: one hour Friday, Saturday and Sunday closed,
        // Monday the 7th a holiday, the second hour on Tuesday.
        assert_eq!(c.add(at("2026-12-04T16:00"), 120), at("2026-12-08T10:00"));
        assert_eq!(
            c.between(at("2026-12-04T16:00"), at("2026-12-08T10:00")),
            2 * 3_600_000
        );
    }

    #[test]
    fn across_daylight_saving_changes() {
        let c = berlin(&[]);
        // Clocks go forward on Sunday 2026-03-29: Friday 16:00 + 2 h is
        // Monday 10:00 local, 65 hours of real time later, not 66.
        let (friday, monday) = (at("2026-03-27T16:00"), at("2026-03-30T10:00"));
        assert_eq!(c.add(friday, 120), monday);
        assert_eq!(monday - friday, 65 * 3_600_000);
        // And back on Sunday 2026-10-25: 67 hours of real time.
        let (friday, monday) = (at("2026-10-23T16:00"), at("2026-10-26T10:00"));
        assert_eq!(c.add(friday, 120), monday);
        assert_eq!(monday - friday, 67 * 3_600_000);
    }

    #[test]
    fn unknown_time_zones_are_refused_and_no_hours_count_around_the_clock() {
        let mut hours = BusinessHours {
            timezone: "Mars/Olympus".into(),
            week: vec![],
            holidays: vec![],
        };
        assert!(Calendar::new(&hours).unwrap_err().contains("time zone"));
        hours.timezone = "UTC".into();
        assert_eq!(due(None, 0, 90), 90 * 60_000);
        assert_eq!(elapsed(None, 0, 5), 5);
    }
}
