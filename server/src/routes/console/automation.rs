//! A site's automation rules (admins): one form. Routes are written one per
//! line, `words -> tier N priority P` (either or both after the arrow).

use super::*;
use crate::desk::automation::{self as rules_desk, Route, Rules};

pub(super) async fn show(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Markup, AppError> {
    let rules = rules_desk::rules_of(&state, &user, &site).await?;
    let routes = routes_text(&rules.routes);
    Ok(render(&user, &site, &rules, &routes, None, false))
}

#[derive(Deserialize)]
pub(super) struct RulesForm {
    #[serde(default)]
    round_robin: Option<String>,
    #[serde(default)]
    escalate_minutes_before: String,
    #[serde(default)]
    close_pending_after_days: String,
    #[serde(default)]
    routes: String,
}

pub(super) async fn save(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(site): Path<String>,
    Form(form): Form<RulesForm>,
) -> Result<Markup, AppError> {
    let number = |text: &str, name: &str| -> Result<Option<u32>, String> {
        match text.trim() {
            "" => Ok(None),
            n => n
                .parse()
                .map(Some)
                .map_err(|_| format!("{name} is a whole number (or empty: off)")),
        }
    };
    let read = || -> Result<Rules, String> {
        Ok(Rules {
            round_robin: form.round_robin.is_some(),
            escalate_minutes_before: number(
                &form.escalate_minutes_before,
                "escalate minutes before",
            )?,
            close_pending_after_days: number(
                &form.close_pending_after_days,
                "close after business days",
            )?,
            routes: parse_routes(&form.routes)?,
        })
    };
    let typed = Rules {
        round_robin: form.round_robin.is_some(),
        ..Rules::default()
    };
    let rules = match read() {
        Ok(rules) => rules,
        Err(why) => {
            return Ok(render(
                &user,
                &site,
                &typed,
                &form.routes,
                Some(&why),
                false,
            ))
        }
    };
    match rules_desk::set_rules(&state, &user, &site, rules.clone()).await {
        Ok(saved) => Ok(render(
            &user,
            &site,
            &saved,
            &routes_text(&saved.routes),
            None,
            true,
        )),
        Err(err) if err.is_input_error() => Ok(render(
            &user,
            &site,
            &rules,
            &form.routes,
            Some(&err.to_string()),
            false,
        )),
        Err(err) => Err(err.into()),
    }
}

/// Routes as the form shows them, one per line.
fn routes_text(routes: &[Route]) -> String {
    routes
        .iter()
        .map(|r| {
            let mut line = format!("{} ->", r.words.join(" "));
            if let Some(tier) = r.tier {
                line.push_str(&format!(" tier {tier}"));
            }
            if let Some(priority) = r.priority {
                line.push_str(&format!(" priority {priority}"));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The routes of the form's lines (`refund invoice -> tier 2 priority high`).
fn parse_routes(text: &str) -> Result<Vec<Route>, String> {
    let mut routes = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let n = n + 1;
        let (words, target) = line
            .split_once("->")
            .ok_or_else(|| format!("line {n}: write words -> tier N and/or priority P"))?;
        let mut route = Route {
            words: words
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect(),
            ..Route::default()
        };
        let mut parts = target.split_whitespace();
        while let Some(key) = parts.next() {
            let value = parts.next().unwrap_or_default();
            match key {
                "tier" => {
                    route.tier = Some(
                        value
                            .parse()
                            .map_err(|_| format!("line {n}: tier is 1, 2 or 3"))?,
                    )
                }
                "priority" => {
                    route.priority = Some(Priority::parse(value).ok_or_else(|| {
                        format!("line {n}: priority is low, normal, high or urgent")
                    })?)
                }
                other => return Err(format!("line {n}: {other:?} is neither tier nor priority")),
            }
        }
        routes.push(route);
    }
    Ok(routes)
}

fn render(
    user: &StaffMember,
    site: &str,
    rules: &Rules,
    routes: &str,
    error: Option<&str>,
    saved: bool,
) -> Markup {
    let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
    page(
        "Automation rules",
        Some(user),
        html! {
            p { a href={ "/console/sites/" (site) } { "Back to the site " (site) } }
            p { "The server does these by itself, as \"Automation\"; "
                "each action leaves a staff note starting with \"Rule:\" on the request." }
            @if let Some(error) = error { p.error role="alert" data-testid="automation-error" { (error) } }
            @if saved { p role="status" data-testid="automation-saved" { "Saved; the rules apply from now on." } }
            form.card method="post" action={ "/console/sites/" (site) "/automation" } { (csrf::field())
                p { label { input type="checkbox" name="round_robin" checked[rules.round_robin] data-testid="round-robin";
                    " Assign new requests in turn among the active staff of their tier on this site" } }
                p { label { "Escalate (one tier and one priority step up) this many minutes before the first response or resolution is due "
                    input type="number" min="1" max="10080" name="escalate_minutes_before" value=(number(rules.escalate_minutes_before)) data-testid="escalate-minutes"; }
                    " (empty: off)" }
                p { label { "Close a request waiting on the customer after this many business days without an answer "
                    input type="number" min="2" max="60" name="close_pending_after_days" value=(number(rules.close_pending_after_days)) data-testid="close-days"; }
                    " (empty: off; the customer is reminded one business day before)" }
                p { label { "Routes by words in a new request's subject, one per line, the first match wins, e.g. "
                    code { "refund invoice -> tier 2 priority high" }
                    textarea name="routes" rows="5" cols="60" data-testid="routes" { (routes) } } }
                button data-testid="save-automation" { "Save" }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_read_as_written_and_back() {
        let routes =
            parse_routes("refund, invoice -> tier 2 priority high\n\nbroken -> priority urgent")
                .unwrap();
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0].words, ["refund", "invoice"]);
        assert_eq!(
            (routes[0].tier, routes[0].priority),
            (Some(2), Some(Priority::High))
        );
        assert_eq!(
            routes_text(&routes),
            "refund invoice -> tier 2 priority high\nbroken -> priority urgent"
        );
        assert!(parse_routes("refund tier 2")
            .unwrap_err()
            .contains("line 1"));
        assert!(parse_routes("a -> colour red")
            .unwrap_err()
            .contains("neither"));
        assert!(parse_routes("a -> priority soon")
            .unwrap_err()
            .contains("urgent"));
    }
}
