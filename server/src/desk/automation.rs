//! Automation rules: routine work a site's lead lets the server do by itself,
//! through the same operations staff use ([`requests::update`],
//! [`requests::reply`]), as the staff member "Automation". Every action
//! leaves a staff note that starts with "Rule:" and says why, as a human
//! hand-off does; a tier change tells the customer as a human's would.
//!
//! - **Routes** (on a new request): the first route with a word in the
//!   subject sets the request's tier and/or priority.
//! - **Round robin** (on a new request, after routing): the request is
//!   assigned, in turn, to the active staff whose role is the request's tier
//!   (`tier1`…`tier3`) and who work on the site.
//! - **Escalation** (checked every minute): a new or open request whose first
//!   response or resolution is due within the given minutes (or overdue)
//!   goes one tier up and one priority step up, once for each of the two.
//! - **Closing what waits on the customer** (checked every minute): a
//!   request pending for the given business days is closed; one business
//!   day before, the customer is asked, in the site's language, to answer.
//!
//! A rule acts at most once per request and trigger (a route and the round
//! robin only when the request is created; escalations and reminders are
//! marked in storage, by whichever server acts first), and what a rule does
//! starts no other rule, so rules cannot loop.

use serde::{Deserialize, Serialize};
use stufe_shared::ticket::{Priority, Status};
use stufe_shared::TicketId;

use super::requests::{self, Update};
use super::{existing_site, require_admin, DeskError};
use crate::business_hours;
use crate::storage::{self, StaffMember, TicketSummary, ESCALATED_FIRST, ESCALATED_RESOLUTION};
use crate::AppState;

/// Routes a site may have.
pub const MAX_ROUTES: usize = 20;
/// Words a route may list.
pub const MAX_WORDS: usize = 20;
/// Requests looked at per site and rule in one run (the most urgent first).
const BATCH: u32 = 200;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const HOUR_MS: i64 = 60 * 60 * 1000;

/// The mark of a reminder, followed by the `pending_since` it was for.
const REMINDED: &str = "reminded pending since ";
/// The mark of a closing, followed by the `pending_since` it was for.
const CLOSED: &str = "closed pending since ";

/// A site's rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Assign new requests in turn among the active staff of their tier.
    #[serde(default)]
    pub round_robin: bool,
    /// Escalate this many minutes before a due time (1 to 10,080); None: off.
    #[serde(default)]
    pub escalate_minutes_before: Option<u32>,
    /// Close a pending request after this many business days without an
    /// answer (2 to 60), reminding the customer a day before; None: off.
    #[serde(default)]
    pub close_pending_after_days: Option<u32>,
    /// Routes by words in a new request's subject, the first match wins.
    #[serde(default)]
    pub routes: Vec<Route>,
}

/// Where a new request goes when its subject has one of `words`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Matched as whole words, ignoring case (`refund` matches "Refund please").
    pub words: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

impl Rules {
    /// Why these rules cannot be kept, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        if let Some(minutes) = self.escalate_minutes_before {
            if !(1..=10_080).contains(&minutes) {
                return Err("escalate_minutes_before is 1 to 10,080 (a week)".into());
            }
        }
        if let Some(days) = self.close_pending_after_days {
            if !(2..=60).contains(&days) {
                return Err(
                    "close_pending_after_days is 2 to 60 (the customer is reminded a day before)"
                        .into(),
                );
            }
        }
        if self.routes.len() > MAX_ROUTES {
            return Err(format!("at most {MAX_ROUTES} routes"));
        }
        for (n, route) in self.routes.iter().enumerate() {
            let n = n + 1;
            if route.words.is_empty() || route.words.len() > MAX_WORDS {
                return Err(format!("route {n}: 1 to {MAX_WORDS} words"));
            }
            if let Some(word) = route.words.iter().find(|w| {
                w.trim().is_empty()
                    || w.chars().count() > 40
                    || w.trim().contains(char::is_whitespace)
            }) {
                return Err(format!(
                    "route {n}: {word:?} is not a word (1 to 40 characters, no spaces)"
                ));
            }
            if route.tier.is_some_and(|t| !(1..=3).contains(&t)) {
                return Err(format!("route {n}: tier is 1, 2 or 3"));
            }
            if route.tier.is_none() && route.priority.is_none() {
                return Err(format!("route {n}: set a tier, a priority or both"));
            }
        }
        Ok(())
    }

    /// The first route with a word in `subject`, and the word.
    pub fn route_for<'r>(&'r self, subject: &str) -> Option<(&'r Route, &'r str)> {
        let words: Vec<String> = subject
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        self.routes.iter().find_map(|route| {
            route
                .words
                .iter()
                .find(|w| words.contains(&w.trim().to_lowercase()))
                .map(|w| (route, w.as_str()))
        })
    }
}

/// Every site's rules as this server last read them: refreshed by every
/// timed run (each minute) and at once when they are changed here, so a new
/// request (many a second) costs no storage read for a site without rules.
/// Rules changed on another server apply to new requests here within a minute.
#[derive(Default)]
pub struct RulesCache {
    /// How often rules were changed here, and the rules (None: not read yet).
    held: std::sync::RwLock<(u64, Option<AllRules>)>,
}

type AllRules = std::collections::HashMap<String, std::sync::Arc<Rules>>;

impl RulesCache {
    /// A site's rules; None when it has none, or before the first read.
    fn of(&self, site: &str) -> Option<Option<std::sync::Arc<Rules>>> {
        let held = self.held.read().unwrap_or_else(|p| p.into_inner());
        held.1.as_ref().map(|all| all.get(site).cloned())
    }

    /// Which change here the rules about to be read will include.
    fn changes(&self) -> u64 {
        self.held.read().unwrap_or_else(|p| p.into_inner()).0
    }

    /// Every site's rules, read from storage when `changes` was current: kept
    /// only if no rules were changed here since (else the next run reads again).
    fn replace(&self, all: AllRules, changes: u64) {
        let mut held = self.held.write().unwrap_or_else(|p| p.into_inner());
        if held.0 == changes {
            held.1 = Some(all);
        }
    }

    fn put(&self, site: &str, rules: Rules) {
        let mut held = self.held.write().unwrap_or_else(|p| p.into_inner());
        held.0 += 1;
        if let Some(all) = held.1.as_mut() {
            all.insert(site.to_owned(), std::sync::Arc::new(rules));
        }
    }
}

/// The staff member rules act as (notes and notices name it).
fn automation() -> StaffMember {
    StaffMember {
        id: 0,
        name: "Automation".into(),
        role: "admin".into(),
        sites: vec![],
        active: true,
        timezone: "UTC".into(),
    }
}

/// A site's rules (none set: all off).
pub async fn rules_of(
    state: &AppState,
    member: &StaffMember,
    site: &str,
) -> Result<Rules, DeskError> {
    require_admin(member, "automation rules")?;
    let key = existing_site(state, site).await?.0.to_string();
    Ok(stored_rules(state, &key).await?.unwrap_or_default())
}

/// Replaces a site's rules (checked first: bad rules change nothing).
pub async fn set_rules(
    state: &AppState,
    member: &StaffMember,
    site: &str,
    rules: Rules,
) -> Result<Rules, DeskError> {
    require_admin(member, "automation rules")?;
    let key = existing_site(state, site).await?.0.to_string();
    rules.check().map_err(DeskError::invalid)?;
    let json = serde_json::to_string(&rules).map_err(|err| DeskError::invalid(err.to_string()))?;
    let now = crate::clock::now_ms();
    let stored = key.clone();
    storage::blocking(&state.storage, move |s| {
        s.set_automation_rules(&stored, &json, now)
    })
    .await?;
    state.automation_rules.put(&key, rules.clone());
    tracing::info!(site, by = member.id, "automation rules changed");
    Ok(rules)
}

async fn stored_rules(state: &AppState, site: &str) -> Result<Option<Rules>, DeskError> {
    let key = site.to_owned();
    let json = storage::blocking(&state.storage, move |s| s.automation_rules(&key)).await?;
    Ok(json.and_then(|json| parse(site, &json)))
}

/// Stored rules that no longer read are logged and left off.
fn parse(site: &str, json: &str) -> Option<Rules> {
    serde_json::from_str(json)
        .map_err(|err| tracing::error!(site, %err, "stored automation rules do not read"))
        .ok()
}

/// Routes and assigns a request just created on `site` (as its rules say).
/// Failures are logged: the request stays as the customer made it.
pub async fn on_created(state: &AppState, site: &str, id: TicketId) {
    let rules = match state.automation_rules.of(site) {
        Some(None) => return,
        Some(Some(rules)) => Some(rules),
        None => None,
    };
    if let Err(err) = route_and_assign(state, rules, id).await {
        tracing::warn!(ticket = %id, ?err, "automation rules could not act on a new request");
    }
}

async fn route_and_assign(
    state: &AppState,
    rules: Option<std::sync::Arc<Rules>>,
    id: TicketId,
) -> Result<(), DeskError> {
    let ticket = state.hub.read_ticket(id).await?;
    let rules = match rules {
        Some(rules) => rules,
        None => match stored_rules(state, &ticket.site).await? {
            Some(rules) => std::sync::Arc::new(rules),
            None => return Ok(()),
        },
    };
    let mut update = Update::default();
    let mut why = Vec::new();
    if let Some((route, word)) = rules.route_for(&ticket.subject) {
        update.tier = route.tier.filter(|t| *t != ticket.tier.get());
        update.priority = route.priority.filter(|p| *p != ticket.priority);
        why.push(format!("the subject mentions \"{word}\""));
    }
    let tier = update.tier.unwrap_or(ticket.tier.get());
    if rules.round_robin {
        let site = ticket.site.clone();
        let role = format!("tier{tier}");
        let staff = storage::blocking(&state.storage, |s| s.list_staff()).await?;
        let ids: Vec<i64> = staff
            .iter()
            .filter(|m| m.active && m.role == role && m.sites.contains(&site))
            .map(|m| m.id)
            .collect();
        let next = storage::blocking(&state.storage, move |s| {
            s.next_in_rotation(&site, tier, &ids)
        })
        .await?;
        if let Some(next) = next {
            update.assignee = Some(Some(next));
            why.push(format!("round robin among tier {tier}"));
        }
    }
    if why.is_empty() {
        return Ok(());
    }
    update.note = Some(format!("Rule: {}.", why.join("; ")));
    requests::update(state, &automation(), id, update).await?;
    Ok(())
}

/// What one run of the timed rules did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Done {
    pub escalated: Vec<String>,
    pub reminded: Vec<String>,
    pub closed: Vec<String>,
}

/// Runs the timed rules of every site as of `now` (ms): escalations,
/// reminders and closings that are due. Run every minute by every server.
pub async fn run_due(state: &AppState, now: i64) -> Result<Done, DeskError> {
    let changes = state.automation_rules.changes();
    let all = storage::blocking(&state.storage, |s| s.all_automation_rules()).await?;
    let all: AllRules = all
        .into_iter()
        .filter_map(|(site, json)| Some((site.clone(), std::sync::Arc::new(parse(&site, &json)?))))
        .collect();
    state.automation_rules.replace(all.clone(), changes);
    let mut done = Done::default();
    for (site, rules) in all {
        if let Some(minutes) = rules.escalate_minutes_before {
            escalate_due(state, &site, now, minutes, &mut done).await?;
        }
        if let Some(days) = rules.close_pending_after_days {
            close_pending(state, &site, now, days, &mut done).await?;
        }
    }
    Ok(done)
}

async fn escalate_due(
    state: &AppState,
    site: &str,
    now: i64,
    minutes: u32,
    done: &mut Done,
) -> Result<(), DeskError> {
    let by = now + i64::from(minutes) * 60_000;
    let key = site.to_owned();
    let due = storage::blocking(&state.storage, move |s| {
        s.escalation_candidates(&key, by, by, BATCH)
    })
    .await?;
    for ticket in due {
        let first_due = ticket
            .first_response_due
            .filter(|d| ticket.first_response_at.is_none() && *d <= by);
        let resolution_due = ticket.resolution_due.filter(|d| *d <= by);
        // One escalation for whatever is due that was not escalated for yet.
        let mut reasons = Vec::new();
        for (mark, what, at) in [
            (ESCALATED_FIRST, "first response", first_due),
            (ESCALATED_RESOLUTION, "resolution", resolution_due),
        ] {
            let Some(at) = at else { continue };
            if mark_once(state, &ticket.id, mark.to_owned(), now).await? {
                reasons.push(format!("the {what} is due {}", utc(at)));
            }
        }
        if !reasons.is_empty() {
            let acted = escalate(state, &ticket, &reasons.join(" and ")).await;
            if logged(acted, &ticket.id, "escalate") {
                done.escalated.push(ticket.id.clone());
            }
        }
    }
    Ok(())
}

fn utc(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Marks `ticket` as `mark`; false when it was marked so already.
async fn mark_once(
    state: &AppState,
    ticket: &str,
    mark: String,
    now: i64,
) -> Result<bool, DeskError> {
    let ticket = ticket.to_owned();
    Ok(storage::blocking(&state.storage, move |s| {
        s.mark_automation(&ticket, &mark, now)
    })
    .await?)
}

async fn escalate(state: &AppState, ticket: &TicketSummary, why: &str) -> Result<(), DeskError> {
    let id: TicketId = ticket
        .id
        .parse()
        .map_err(|_| DeskError::not_found("no such ticket"))?;
    let priority = Priority::parse(&ticket.priority).and_then(|p| match p {
        Priority::Low => Some(Priority::Normal),
        Priority::Normal => Some(Priority::High),
        Priority::High => Some(Priority::Urgent),
        Priority::Urgent => None,
    });
    let update = Update {
        tier: (ticket.tier < 3).then_some(ticket.tier + 1),
        priority,
        note: Some(format!("Rule: {why}; escalated.")),
        ..Update::default()
    };
    requests::update(state, &automation(), id, update).await?;
    Ok(())
}

async fn close_pending(
    state: &AppState,
    site: &str,
    now: i64,
    days: u32,
    done: &mut Done,
) -> Result<(), DeskError> {
    let (_, config) = existing_site(state, site).await?;
    let hours = config.business_hours.as_ref();
    // N working days are at least N calendar days (an hour less across a
    // clock change): only requests pending that long can be due.
    let waited = |days: u32| now - i64::from(days) * DAY_MS + HOUR_MS + 1;
    let candidates = |since_before: i64, prefix: &'static str| {
        let key = site.to_owned();
        storage::blocking(&state.storage, move |s| {
            s.pending_candidates(&key, since_before, prefix, BATCH)
        })
    };
    for ticket in candidates(waited(days), CLOSED).await? {
        let Some(since) = ticket.pending_since else {
            continue;
        };
        if business_hours::working_days_after(hours, since, days) > now
            || !mark_once(state, &ticket.id, format!("{CLOSED}{since}"), now).await?
        {
            continue;
        }
        let Ok(id) = ticket.id.parse::<TicketId>() else {
            continue;
        };
        let update = Update {
            status: Some(Status::Closed),
            note: Some(format!(
                "Rule: no answer from the customer for {days} business days; closed."
            )),
            ..Update::default()
        };
        let acted = requests::update(state, &automation(), id, update).await;
        if logged(acted, &ticket.id, "close") {
            done.closed.push(ticket.id.clone());
        }
    }
    for ticket in candidates(waited(days - 1), REMINDED).await? {
        let Some(since) = ticket.pending_since else {
            continue;
        };
        if business_hours::working_days_after(hours, since, days - 1) > now
            || !mark_once(state, &ticket.id, format!("{REMINDED}{since}"), now).await?
        {
            continue;
        }
        let Ok(id) = ticket.id.parse::<TicketId>() else {
            continue;
        };
        let german = config.locale == "de";
        let acted = requests::reply(state, &automation(), id, reminder(german).into()).await;
        if logged(acted, &ticket.id, "remind") {
            done.reminded.push(ticket.id.clone());
        }
    }
    Ok(())
}

/// Whether a rule's action on one request happened; a failure is logged and
/// the run goes on with the other requests (the action is marked done: it is
/// not tried again every minute).
fn logged<T>(acted: Result<T, DeskError>, ticket: &str, what: &str) -> bool {
    match acted {
        Ok(_) => true,
        Err(err) => {
            tracing::error!(
                ticket,
                ?err,
                "an automation rule could not {what} a request"
            );
            false
        }
    }
}

/// What the customer is told a business day before their request is closed.
pub fn reminder(german: bool) -> &'static str {
    if german {
        "Wir haben eine Weile nichts von Ihnen gehört. Ohne Ihre Antwort schließen wir diese Anfrage nach einem weiteren Werktag – antworten Sie einfach hier, damit sie offen bleibt."
    } else {
        "We haven't heard from you for a while. Without an answer we will close this request after one more business day — just reply here to keep it open."
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(words: &[&str], tier: Option<u8>) -> Route {
        Route {
            words: words.iter().map(|w| (*w).to_owned()).collect(),
            tier,
            priority: None,
        }
    }

    #[test]
    fn routes_match_whole_words_ignoring_case_first_route_first() {
        let rules = Rules {
            routes: vec![
                route(&["refund", "Invoice"], Some(2)),
                route(&["invoice"], Some(3)),
            ],
            ..Rules::default()
        };
        let (found, word) = rules.route_for("Where is my INVOICE?").unwrap();
        assert_eq!((found.tier, word), (Some(2), "Invoice"));
        assert!(
            rules.route_for("refunded twice").is_none(),
            "whole words only"
        );
        assert!(rules.route_for("").is_none());
    }

    #[test]
    fn a_read_older_than_a_change_made_here_does_not_undo_it() {
        let cache = RulesCache::default();
        assert_eq!(cache.of("demo"), None, "not read yet: storage decides");
        cache.replace(AllRules::new(), cache.changes());
        assert_eq!(cache.of("demo"), Some(None), "read: no rules");
        let read_before = cache.changes();
        let on = Rules {
            round_robin: true,
            ..Rules::default()
        };
        cache.put("demo", on.clone());
        cache.replace(AllRules::new(), read_before);
        assert_eq!(cache.of("demo"), Some(Some(std::sync::Arc::new(on))));
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        let refused = |rules: Rules, says: &str| {
            let why = rules.check().unwrap_err();
            assert!(why.contains(says), "{why}");
        };
        refused(
            Rules {
                escalate_minutes_before: Some(0),
                ..Rules::default()
            },
            "1 to 10,080",
        );
        refused(
            Rules {
                close_pending_after_days: Some(1),
                ..Rules::default()
            },
            "2 to 60",
        );
        refused(
            Rules {
                routes: vec![route(&[], Some(2))],
                ..Rules::default()
            },
            "1 to 20 words",
        );
        refused(
            Rules {
                routes: vec![route(&["two words"], Some(2))],
                ..Rules::default()
            },
            "not a word",
        );
        refused(
            Rules {
                routes: vec![route(&["x"], Some(4))],
                ..Rules::default()
            },
            "tier is 1, 2 or 3",
        );
        refused(
            Rules {
                routes: vec![route(&["x"], None)],
                ..Rules::default()
            },
            "set a tier",
        );
        refused(
            Rules {
                routes: vec![route(&["x"], Some(2)); 21],
                ..Rules::default()
            },
            "at most 20 routes",
        );
        assert!(Rules::default().check().is_ok());
    }
}
