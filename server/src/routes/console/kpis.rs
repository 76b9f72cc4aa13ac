//! The KPI page (`/console/kpis?site=…&period=day|week`): charts drawn on
//! the server as SVG (plotters; no script, no external request), the figures
//! as tables, and the same figures as CSV (`/console/kpis.csv`).

use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use maud::{html, Markup, PreEscaped};
use plotters::prelude::*;
use serde::Deserialize;

use super::{page, ConsoleUser};
use crate::desk::kpis::site_report;
use crate::desk::publishing::{insights_since, INSIGHT_DAYS};
use crate::error::AppError;
use crate::kpi::{self, Figures, Period, Report};
use crate::storage;
use crate::AppState;

#[derive(Deserialize)]
pub(super) struct KpiQuery {
    #[serde(default = "super::demo_site")]
    site: String,
    #[serde(default)]
    period: Period,
}

/// How a chart draws its series: lines (rates, times, averages) or bars
/// side by side (counts, whose axis has whole numbers only).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Lines,
    Counts,
}

/// One chart: `series` are (name, colour, value per period).
fn chart(
    title: &str,
    unit: &str,
    kind: Kind,
    starts: &[i64],
    series: &[(&str, RGBColor, Vec<Option<f64>>)],
) -> String {
    let mut svg = String::new();
    let max = series
        .iter()
        .flat_map(|(_, _, values)| values.iter().flatten())
        .fold(0f64, |a, b| a.max(*b));
    // Counts: a whole-number top, so every tick is a whole number.
    let top = match kind {
        Kind::Counts => (max.ceil() + (max / 8.0).ceil()).max(1.0),
        Kind::Lines if max > 0.0 => max * 1.15,
        Kind::Lines => 1.0,
    };
    let n = starts.len().max(1);
    // Plotters draws text at 0.8 of the size asked: these come out at 13 and 16 px.
    let label = ("sans-serif", 16);
    {
        let root = SVGBackend::with_string(&mut svg, (680, 260)).into_drawing_area();
        let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut c = ChartBuilder::on(&root)
                .caption(format!("{title} ({unit})"), ("sans-serif", 20))
                .margin(10)
                .x_label_area_size(28)
                .y_label_area_size(48)
                .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
            let y_labels = match kind {
                Kind::Counts => (top as usize + 1).min(6),
                Kind::Lines => 5,
            };
            c.configure_mesh()
                .x_labels(6)
                .y_labels(y_labels)
                .x_label_style(label)
                .y_label_style(label)
                .x_label_formatter(&|x| {
                    starts
                        .get(x.floor().max(0.0) as usize)
                        .map(|s| kpi::date(*s)[5..].to_owned())
                        .unwrap_or_default()
                })
                .y_label_formatter(&|y| match kind {
                    Kind::Counts => format!("{y:.0}"),
                    Kind::Lines if top < 10.0 => format!("{y:.1}"),
                    Kind::Lines => format!("{y:.0}"),
                })
                .draw()?;
            let width = 0.8 / series.len().max(1) as f64;
            for (k, (name, colour, values)) in series.iter().enumerate() {
                let colour = *colour;
                let points: Vec<(f64, f64)> = values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| (i as f64 + 0.5, v)))
                    .collect();
                let legend = move |(x, y): (i32, i32)| {
                    Rectangle::new([(x, y - 4), (x + 12, y + 4)], colour.filled())
                };
                match kind {
                    Kind::Counts => {
                        c.draw_series(points.iter().map(|(x, v)| {
                            let left = x - 0.4 + k as f64 * width;
                            Rectangle::new([(left, 0.0), (left + width, *v)], colour.filled())
                        }))?
                        .label(*name)
                        .legend(legend);
                    }
                    Kind::Lines => {
                        c.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                            .label(*name)
                            .legend(legend);
                        c.draw_series(
                            points
                                .into_iter()
                                .map(|p| Circle::new(p, 3, colour.filled())),
                        )?;
                    }
                }
            }
            c.configure_series_labels()
                .label_font(label)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK.mix(0.3))
                .draw()?;
            root.present()?;
            Ok(())
        })();
        if let Err(err) = drawn {
            tracing::warn!(%err, title, "a KPI chart could not be drawn");
        }
    }
    svg
}

/// A unit for durations up to `max_ms`: seconds, minutes, hours or days,
/// whichever keeps the figures readable; with its divisor in ms.
fn time_unit(max_ms: i64) -> (&'static str, f64) {
    match max_ms {
        m if m < 120_000 => ("seconds", 1e3),
        m if m < 7_200_000 => ("minutes", 6e4),
        m if m < 172_800_000 => ("hours", 3.6e6),
        _ => ("days", 8.64e7),
    }
}

/// A duration as people read it: "45 s", "12 min", "3.4 h", "2.1 d".
fn show_duration(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "–".into();
    };
    match ms {
        m if m < 60_000 => format!("{} s", (m + 999) / 1000),
        m if m < 3_600_000 => format!("{} min", (m + 59_999) / 60_000),
        m if m < 86_400_000 => format!("{:.1} h", m as f64 / 3.6e6),
        m => format!("{:.1} d", m as f64 / 8.64e7),
    }
}

fn show_share(r: Option<f64>) -> String {
    r.map_or("–".into(), |r| format!("{:.0} %", r * 100.0))
}

fn charts(report: &Report) -> Markup {
    let starts: Vec<i64> = report.periods.iter().map(|f| f.start).collect();
    let each =
        |f: &dyn Fn(&Figures) -> Option<f64>| report.periods.iter().map(f).collect::<Vec<_>>();
    let volume = chart(
        "Requests",
        "count",
        Kind::Counts,
        &starts,
        &[
            ("created", BLUE, each(&|f| Some(f64::from(f.created)))),
            ("resolved", GREEN, each(&|f| Some(f64::from(f.resolved)))),
        ],
    );
    let csat = chart(
        "Customer satisfaction",
        "average rating 1–5",
        Kind::Lines,
        &starts,
        &[("CSAT", MAGENTA, each(&|f| f.csat))],
    );
    let longest = report
        .periods
        .iter()
        .flat_map(|f| [f.first_response.p90, f.resolution.p90])
        .flatten()
        .max()
        .unwrap_or(0);
    let (unit, per) = time_unit(longest);
    let time = |ms: Option<i64>| ms.map(|ms| ms as f64 / per);
    let times = chart(
        "Response and resolution times",
        unit,
        Kind::Lines,
        &starts,
        &[
            (
                "first response, median",
                BLUE,
                each(&|f| time(f.first_response.median)),
            ),
            (
                "first response, 90th pct.",
                CYAN,
                each(&|f| time(f.first_response.p90)),
            ),
            (
                "resolution, median",
                GREEN,
                each(&|f| time(f.resolution.median)),
            ),
            (
                "resolution, 90th pct.",
                RGBColor(120, 160, 40),
                each(&|f| time(f.resolution.p90)),
            ),
        ],
    );
    let rates = chart(
        "Escalation and first-contact resolution",
        "%",
        Kind::Lines,
        &starts,
        &[
            (
                "escalated",
                RED,
                each(&|f| f.escalation_rate.map(|r| r * 100.0)),
            ),
            (
                "resolved at first contact",
                GREEN,
                each(&|f| f.first_contact_resolution.map(|r| r * 100.0)),
            ),
        ],
    );
    let breaches = chart(
        "SLA breaches",
        "first replies late",
        Kind::Counts,
        &starts,
        &[("breaches", RED, each(&|f| Some(f64::from(f.sla_breaches))))],
    );
    let kb = |f: fn(&kpi::SelfService) -> u32| {
        report
            .self_service
            .iter()
            .map(|s| Some(f64::from(f(s))))
            .collect::<Vec<_>>()
    };
    let self_service = chart(
        "Self-service",
        "count",
        Kind::Counts,
        &starts,
        &[
            ("searches", BLUE, kb(|s| s.searches)),
            ("found nothing", RED, kb(|s| s.zero_result_searches)),
            ("deflections", GREEN, kb(|s| s.deflections)),
        ],
    );
    html! {
        @for (name, svg) in [("volume", volume), ("csat", csat), ("times", times), ("rates", rates), ("breaches", breaches), ("self-service", self_service)] {
            figure.chart data-testid={ "chart-" (name) } role="img" aria-label=(name) { (PreEscaped(svg)) }
        }
    }
}

pub(super) async fn kpi_page(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<KpiQuery>,
) -> Result<Markup, AppError> {
    let report = site_report(&state, &user, &q.site, q.period).await?;
    let site = q.site.clone();
    let kb = storage::blocking(&state.storage, move |s| {
        s.kb_counts(&site, insights_since())
    })
    .await?;
    let t = &report.total;
    let period_name = match q.period {
        Period::Day => "day",
        Period::Week => "week",
    };
    let rated: u32 = t.ratings.iter().sum();
    Ok(page(
        "KPIs",
        Some(&user),
        html! {
            form.inline method="get" {
                input type="hidden" name="site" value=(q.site);
                label { "Per " select name="period" {
                    option value="day" selected[q.period == Period::Day] { "day (last 30)" }
                    option value="week" selected[q.period == Period::Week] { "week (last 12)" } } }
                button { "Show" }
                " " a href={ "/console/kpis.csv?site=" (q.site) "&period=" (period_name) } data-testid="kpi-csv" { "Download CSV" }
            }
            p { small { "Site " (q.site) ". Periods are UTC days or weeks from Monday; response and resolution times count the site's business hours, if it has them." } }
            table data-testid="kpi-totals" {
                tr { th { "Requests created" } th { "Resolved" } th { "CSAT" } th { "First response (median / 90th)" } th { "Resolution (median / 90th)" } th { "Escalated" } th { "First-contact resolution" } th { "SLA breaches" } }
                tr {
                    td { (t.created) } td { (t.resolved) }
                    td data-testid="kpi-csat" { @if let Some(c) = t.csat { (format!("{c:.2}")) " (" (rated) " ratings)" } @else { "–" } }
                    td data-testid="kpi-first-response" { (show_duration(t.first_response.median)) " / " (show_duration(t.first_response.p90)) }
                    td { (show_duration(t.resolution.median)) " / " (show_duration(t.resolution.p90)) }
                    td { (show_share(t.escalation_rate)) } td { (show_share(t.first_contact_resolution)) } td { (t.sla_breaches) }
                }
            }
            h2 { "Ratings" }
            table data-testid="kpi-ratings" {
                tr { @for score in 1..=5 { th { (score) } } }
                tr { @for n in t.ratings { td { (n) } } }
            }
            h2 { "Backlog by tier (now)" }
            table data-testid="kpi-backlog" {
                tr { th { "Tier 1" } th { "Tier 2" } th { "Tier 3" } }
                tr { @for n in report.backlog_by_tier { td { (n) } } }
            }
            h2 { "Self-service, last " (INSIGHT_DAYS) " days" }
            table {
                tr { th { "Searches" } th { "… found nothing" } th { "Article views" } th { "Deflections (read an article, filed nothing)" } }
                tr { td { (kb.searches) } td { (kb.zero_result_searches) } td { (kb.article_views) } td { (kb.deflections) } }
            }
            (charts(&report))
        },
    ))
}

pub(super) async fn kpi_csv(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<KpiQuery>,
) -> Result<impl IntoResponse, AppError> {
    let report = site_report(&state, &user, &q.site, q.period).await?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"stufe-kpis-{}.csv\"", q.site),
            ),
        ],
        kpi::csv(&report),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_unit_their_size_needs() {
        assert_eq!(show_duration(Some(42_000)), "42 s");
        assert_eq!(show_duration(Some(61_000)), "2 min");
        assert_eq!(show_duration(Some(5_400_000)), "1.5 h");
        assert_eq!(show_duration(Some(3 * 86_400_000)), "3.0 d");
        assert_eq!(show_duration(None), "–");
        assert_eq!(time_unit(30_000).0, "seconds");
        assert_eq!(time_unit(600_000).0, "minutes");
        assert_eq!(time_unit(36_000_000).0, "hours");
        assert_eq!(time_unit(400_000_000).0, "days");
    }

    #[test]
    fn counts_have_whole_number_ticks_and_are_bars() {
        let starts = [0, 86_400_000, 172_800_000];
        let svg = chart(
            "Requests",
            "count",
            Kind::Counts,
            &starts,
            &[("created", BLUE, vec![Some(0.0), Some(1.0), Some(3.0)])],
        );
        // Tick labels are whole numbers only.
        for tick in ["0", "1", "2", "3"] {
            assert!(
                svg.contains(&format!(">\n{tick}\n</text>")),
                "tick {tick}: {svg}"
            );
        }
        assert!(
            !svg.contains("\n0.5\n") && !svg.contains("\n1.5\n"),
            "{svg}"
        );
        assert!(svg.contains("font-size=\"12.9"), "readable labels");
        assert!(svg.contains("<rect"), "bars");
    }
}
