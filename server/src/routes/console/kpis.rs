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

/// One line chart: `series` are (name, colour, value per period).
fn chart(
    title: &str,
    unit: &str,
    starts: &[i64],
    series: &[(&str, RGBColor, Vec<Option<f64>>)],
) -> String {
    let mut svg = String::new();
    let max = series
        .iter()
        .flat_map(|(_, _, values)| values.iter().flatten())
        .fold(0f64, |a, b| a.max(*b));
    let top = if max > 0.0 { max * 1.15 } else { 1.0 };
    let n = starts.len().max(1);
    {
        let root = SVGBackend::with_string(&mut svg, (640, 220)).into_drawing_area();
        let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut c = ChartBuilder::on(&root)
                .caption(format!("{title} ({unit})"), ("sans-serif", 15))
                .margin(8)
                .x_label_area_size(22)
                .y_label_area_size(40)
                .build_cartesian_2d(0..n, 0f64..top)?;
            c.configure_mesh()
                .x_labels(6)
                .x_label_formatter(&|i| {
                    starts
                        .get(*i)
                        .map(|s| kpi::date(*s)[5..].to_owned())
                        .unwrap_or_default()
                })
                .draw()?;
            for (name, colour, values) in series {
                let points: Vec<(usize, f64)> = values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| (i, v)))
                    .collect();
                c.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                    .label(*name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(2))
                    });
                c.draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 2, colour.filled())),
                )?;
            }
            c.configure_series_labels()
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

fn hours(ms: Option<i64>) -> Option<f64> {
    ms.map(|ms| ms as f64 / 3.6e6)
}

fn show_hours(ms: Option<i64>) -> String {
    hours(ms).map_or("–".into(), |h| format!("{h:.1} h"))
}

fn show_share(r: Option<f64>) -> String {
    r.map_or("–".into(), |r| format!("{:.0} %", r * 100.0))
}

fn charts(report: &Report) -> Markup {
    let starts: Vec<i64> = report.periods.iter().map(|f| f.start).collect();
    let each = |f: fn(&Figures) -> Option<f64>| report.periods.iter().map(f).collect::<Vec<_>>();
    let volume = chart(
        "Requests",
        "count",
        &starts,
        &[
            ("created", BLUE, each(|f| Some(f64::from(f.created)))),
            ("resolved", GREEN, each(|f| Some(f64::from(f.resolved)))),
        ],
    );
    let csat = chart(
        "Customer satisfaction",
        "average rating 1–5",
        &starts,
        &[("CSAT", MAGENTA, each(|f| f.csat))],
    );
    let times = chart(
        "Response and resolution times",
        "hours",
        &starts,
        &[
            (
                "first response, median",
                BLUE,
                each(|f| hours(f.first_response.median)),
            ),
            (
                "first response, 90th pct.",
                CYAN,
                each(|f| hours(f.first_response.p90)),
            ),
            (
                "resolution, median",
                GREEN,
                each(|f| hours(f.resolution.median)),
            ),
            (
                "resolution, 90th pct.",
                RGBColor(120, 160, 40),
                each(|f| hours(f.resolution.p90)),
            ),
        ],
    );
    let rates = chart(
        "Escalation and first-contact resolution",
        "%",
        &starts,
        &[
            (
                "escalated",
                RED,
                each(|f| f.escalation_rate.map(|r| r * 100.0)),
            ),
            (
                "resolved at first contact",
                GREEN,
                each(|f| f.first_contact_resolution.map(|r| r * 100.0)),
            ),
        ],
    );
    let breaches = chart(
        "SLA breaches",
        "first replies late",
        &starts,
        &[("breaches", RED, each(|f| Some(f64::from(f.sla_breaches))))],
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
                    td { (show_hours(t.first_response.median)) " / " (show_hours(t.first_response.p90)) }
                    td { (show_hours(t.resolution.median)) " / " (show_hours(t.resolution.p90)) }
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
