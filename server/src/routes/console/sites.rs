//! Console pages for sites: the list, creating one, its settings (name,
//! colour, locale, categories, allowed origins, identity), the tag to paste,
//! where the widget was seen, and a new identity secret.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use stufe_shared::site::{
    BusinessHours, Category, Launcher, LauncherIcon, LauncherPosition, OpenHours, SiteConfig, Sla,
    Theme,
};

use super::{format_time, page, see_other, ConsoleUser};
use crate::desk::sites::{create_site, parse_key, rotate_secret, sites_for, update_site, NewSite};
use crate::error::AppError;
use crate::sites::embed_tag;
use crate::AppState;

/// The settings form, as posted.
#[derive(Deserialize)]
pub(super) struct SiteForm {
    #[serde(default)]
    key: String,
    name: String,
    brand_color: String,
    locale: String,
    /// One category a line: `id | English label | German label`.
    categories: String,
    /// One origin a line.
    #[serde(default)]
    allowed_origins: String,
    first_response_minutes: String,
    resolution_minutes: String,
    #[serde(default)]
    announcement: String,
    identity_required: Option<String>,
    show_staff_names: Option<String>,
    /// `auto`, `light` or `dark` (absent in older forms: auto).
    #[serde(default)]
    theme: String,
    /// The privacy notice's address; empty: none.
    #[serde(default)]
    privacy_url: String,
    /// Days resolved requests are kept; empty: without a limit.
    #[serde(default)]
    retention_days: String,
    /// `right` or `left` (absent in older forms: right).
    #[serde(default)]
    launcher_position: String,
    #[serde(default)]
    launcher_label: String,
    /// `chat`, `help` or `mail` (absent in older forms: chat).
    #[serde(default)]
    launcher_icon: String,
    /// An IANA time zone; empty: no business hours (SLA around the clock).
    #[serde(default)]
    timezone: String,
    /// One working day a line: `mon 09:00-17:00`.
    #[serde(default)]
    week: String,
    /// One day off a line: `2026-12-25`.
    #[serde(default)]
    holidays: String,
    /// One priority a line: `urgent 30 240` (first response and resolution minutes).
    #[serde(default)]
    sla_by_priority: String,
}

impl SiteForm {
    fn config(&self) -> Result<SiteConfig, String> {
        let categories = self
            .categories
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let parts: Vec<&str> = line.split('|').map(str::trim).collect();
                let bad = || {
                    format!(
                        "categories: write each as `id | English | Deutsch`, optionally `| tier | priority`, not {:?}",
                        line.trim()
                    )
                };
                let (id, en, de, routing) = match parts.as_slice() {
                    [id, en, de, rest @ ..] if rest.len() <= 2 => (id, en, de, rest),
                    _ => return Err(bad()),
                };
                let tier = match routing.first().filter(|t| !t.is_empty()) {
                    Some(t) => Some(t.parse::<u8>().map_err(|_| bad())?),
                    None => None,
                };
                Ok(Category {
                    id: (*id).into(),
                    label_en: (*en).into(),
                    label_de: (*de).into(),
                    tier,
                    priority: routing.get(1).filter(|p| !p.is_empty()).map(|p| (*p).to_owned()),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let minutes = |text: &str, what: &str| {
            text.trim()
                .parse::<u32>()
                .map_err(|_| format!("{what}: a whole number of minutes"))
        };
        let announcement = self.announcement.trim();
        let lines = |text: &str| -> Vec<String> {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let business_hours = if self.timezone.trim().is_empty() {
            None
        } else {
            let week = lines(&self.week)
                .iter()
                .map(|line| {
                    let bad =
                        || format!("working days: write each as `mon 09:00-17:00`, not {line:?}");
                    let (day, hours) = line.split_once(' ').ok_or_else(bad)?;
                    let (open, close) = hours.trim().split_once('-').ok_or_else(bad)?;
                    Ok(OpenHours {
                        day: day.to_lowercase(),
                        open: open.trim().into(),
                        close: close.trim().into(),
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            Some(BusinessHours {
                timezone: self.timezone.trim().into(),
                week,
                holidays: lines(&self.holidays),
            })
        };
        let sla_by_priority = lines(&self.sla_by_priority)
            .iter()
            .map(|line| {
                let parts: Vec<&str> = line.split_whitespace().collect();
                match parts.as_slice() {
                    [priority, first, resolution] => Ok((
                        (*priority).to_owned(),
                        Sla {
                            first_response_minutes: minutes(first, "first response")?,
                            resolution_minutes: minutes(resolution, "resolution")?,
                        },
                    )),
                    _ => Err(format!(
                        "SLA by priority: write each as `urgent 30 240` (minutes), not {line:?}"
                    )),
                }
            })
            .collect::<Result<_, String>>()?;
        Ok(SiteConfig {
            name: self.name.trim().into(),
            brand_color: self.brand_color.trim().to_lowercase(),
            locale: self.locale.clone(),
            categories,
            sla: Sla {
                first_response_minutes: minutes(&self.first_response_minutes, "first response")?,
                resolution_minutes: minutes(&self.resolution_minutes, "resolution")?,
            },
            announcement: (!announcement.is_empty()).then(|| announcement.to_owned()),
            allowed_origins: self
                .allowed_origins
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            identity_required: self.identity_required.is_some(),
            business_hours,
            sla_by_priority,
            show_staff_names: self.show_staff_names.is_some(),
            theme: Theme::ALL
                .into_iter()
                .find(|t| t.as_str() == self.theme)
                .unwrap_or_default(),
            privacy_url: Some(self.privacy_url.trim())
                .filter(|u| !u.is_empty())
                .map(str::to_owned),
            retention_days: match self.retention_days.trim() {
                "" => None,
                days => Some(days.parse().map_err(|_| {
                    format!("keep resolved requests for a number of days, not {days:?}")
                })?),
            },
            launcher: Launcher {
                position: LauncherPosition::ALL
                    .into_iter()
                    .find(|p| p.as_str() == self.launcher_position)
                    .unwrap_or_default(),
                label: self.launcher_label.trim().to_owned(),
                icon: LauncherIcon::ALL
                    .into_iter()
                    .find(|i| i.as_str() == self.launcher_icon)
                    .unwrap_or_default(),
            },
        })
    }
}

fn default_config() -> SiteConfig {
    let mut config = crate::seed::demo_site();
    config.name = String::new();
    config.allowed_origins.clear();
    config
}

/// The settings fields; `key` only when creating.
fn settings_fields(config: &SiteConfig, key: Option<&str>, editable: bool) -> Markup {
    let categories: Vec<String> = config
        .categories
        .iter()
        .map(|c| {
            let mut line = format!("{} | {} | {}", c.id, c.label_en, c.label_de);
            if c.tier.is_some() || c.priority.is_some() {
                line.push_str(&format!(
                    " | {} | {}",
                    c.tier.map(|t| t.to_string()).unwrap_or_default(),
                    c.priority.as_deref().unwrap_or("")
                ));
            }
            line
        })
        .collect();
    html! {
        fieldset disabled[!editable] {
            legend { "Settings" }
            @if let Some(key) = key {
                p { label { "Key (goes into the tag; a-z 0-9 - _) " input name="key" value=(key) required pattern="[a-z0-9_-]{1,64}" data-testid="site-key"; } }
            }
            p { label { "Name " input name="name" value=(config.name) required maxlength="100" data-testid="site-name"; } }
            p {
                label { "Colour " input type="color" name="brand_color" value=(config.brand_color); }
                " " label { "Default language " select name="locale" {
                    option value="en" selected[config.locale == "en"] { "English" }
                    option value="de" selected[config.locale == "de"] { "Deutsch" } } }
            }
            p { label { "Categories (one a line: id | English | Deutsch, optionally | tier | priority they route to)"
                textarea name="categories" rows="4" required { (categories.join("\n")) } } }
            p { label { "Allowed origins — the pages that may show the widget, one a line (https://shop.example, https://*.shop.example, http://localhost:*)"
                textarea name="allowed_origins" rows="3" data-testid="site-origins" { (config.allowed_origins.join("\n")) } } }
            p {
                label { "First response within (minutes) " input type="number" min="1" name="first_response_minutes" value=(config.sla.first_response_minutes) required; }
                " " label { "Resolution within (minutes) " input type="number" min="1" name="resolution_minutes" value=(config.sla.resolution_minutes) required; }
            }
            fieldset {
                legend { "Business hours (SLA times count only then; leave the time zone empty for around the clock)" }
                @let hours = config.business_hours.as_ref();
                p { label { "Time zone (e.g. Europe/Berlin) " input name="timezone" value=(hours.map(|h| h.timezone.as_str()).unwrap_or("")) data-testid="site-timezone"; } }
                p { label { "Working days, one a line (mon 09:00-17:00)"
                    textarea name="week" rows="5" data-testid="site-week" {
                        @if let Some(h) = hours { @for d in &h.week { (d.day) " " (d.open) "-" (d.close) "\n" } } } } }
                p { label { "Holidays, one a line (2026-12-25)"
                    textarea name="holidays" rows="3" { @if let Some(h) = hours { @for d in &h.holidays { (d) "\n" } } } } }
                p { label { "SLA by priority, one a line: priority, first response and resolution in minutes (urgent 30 240)"
                    textarea name="sla_by_priority" rows="3" {
                        @for (p, s) in &config.sla_by_priority { (p) " " (s.first_response_minutes) " " (s.resolution_minutes) "\n" } } } }
            }
            p { label { "Announcement banner (optional) " input name="announcement" size="60" maxlength="500" value=(config.announcement.as_deref().unwrap_or("")); } }
            p { label { input type="checkbox" name="identity_required" checked[config.identity_required];
                " Customers must be signed in by your site (Stufe('identify', …)) to file tickets" } }
            p { label { input type="checkbox" name="show_staff_names" checked[config.show_staff_names] data-testid="show-staff-names";
                " Show the name of the staff member who is typing (otherwise the widget says \"Support is typing…\")" } }
            p { label { "Widget colours " select name="theme" data-testid="site-theme" {
                option value="auto" selected[config.theme == Theme::Auto] { "as the visitor's system prefers (light or dark)" }
                option value="light" selected[config.theme == Theme::Light] { "always light" }
                option value="dark" selected[config.theme == Theme::Dark] { "always dark" } } } }
            fieldset {
                legend { "Privacy" }
                p { label { "Privacy notice (https://…, linked on the request form) "
                    input type="url" name="privacy_url" size="50" maxlength="500" value=(config.privacy_url.as_deref().unwrap_or("")) data-testid="privacy-url"; } }
                p { label { "Erase resolved and closed requests this many days after their last change (empty: keep them) "
                    input type="number" min="1" max="3650" name="retention_days" value=(config.retention_days.map(|d| d.to_string()).unwrap_or_default()) data-testid="retention-days"; } }
            }
            fieldset {
                legend { "Launcher button (takes the colour above)" }
                @let launcher = &config.launcher;
                p {
                    label { "Corner " select name="launcher_position" data-testid="launcher-position" {
                        option value="right" selected[launcher.position == LauncherPosition::Right] { "bottom right" }
                        option value="left" selected[launcher.position == LauncherPosition::Left] { "bottom left" } } }
                    " " label { "Icon " select name="launcher_icon" data-testid="launcher-icon" {
                        option value="chat" selected[launcher.icon == LauncherIcon::Chat] { "speech bubble" }
                        option value="help" selected[launcher.icon == LauncherIcon::Help] { "question mark" }
                        option value="mail" selected[launcher.icon == LauncherIcon::Mail] { "envelope" } } }
                    " " label { "Label (optional, beside the icon) " input name="launcher_label" maxlength="24" value=(launcher.label) data-testid="launcher-label"; }
                }
            }
        }
    }
}

pub(super) async fn list(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
) -> Result<Markup, AppError> {
    let sites = sites_for(&state, &user).await?;
    let admin = user.role == "admin";
    Ok(page(
        "Sites",
        Some(&user),
        html! {
            table data-testid="sites" {
                tr { th { "Site" } th { "Key" } th { "Allowed origins" } }
                @for s in &sites {
                    tr {
                        td { a href={ "/console/sites/" (s.key) } { (s.config.name) } }
                        td { code { (s.key) } }
                        td { (s.config.allowed_origins.join(", ")) }
                    }
                }
            }
            @if admin {
                h2 { "New site" }
                form.card method="post" action="/console/sites" { (super::csrf::field())
                    (settings_fields(&default_config(), Some(""), true))
                    button data-testid="create-site" { "Create site" }
                }
            }
        },
    ))
}

fn invalid(user: &crate::storage::StaffMember, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        page(
            "Not saved",
            Some(user),
            html! {
                p.error role="alert" data-testid="form-error" { (message) }
                p { "Go back, correct it and save again; nothing was changed." }
            },
        ),
    )
        .into_response()
}

/// A new secret, shown once, with how to use it.
fn secret_card(secret: &str) -> Markup {
    html! {
        section.card data-testid="identity-secret" {
            h2 { "Identity secret — shown only now" }
            p { code { (secret) } }
            p { "Keep it on your server. Sign each customer as a JWT (HS256) with it — claims "
                code { "sub" } " (your user id), " code { "exp" } ", optional " code { "email" } " and " code { "name" }
                " — and pass the token to " code { "Stufe('identify', {token})" } "." }
        }
    }
}

pub(super) async fn create(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Form(form): Form<SiteForm>,
) -> Result<Response, AppError> {
    let config = match form.config() {
        Ok(config) => config,
        Err(message) => return Ok(invalid(&user, &message)),
    };
    let new = NewSite {
        key: form.key.trim().to_owned(),
        config,
    };
    let created = match create_site(&state, &user, new).await {
        Ok(created) => created,
        Err(err) if err.is_input_error() => return Ok(invalid(&user, &err.to_string())),
        Err(err) => return Err(err.into()),
    };
    Ok(page(
        "Site created",
        Some(&user),
        html! {
            p { "Paste this tag into every page that should show the widget:" }
            pre.card data-testid="site-tag" { (created.tag) }
            (secret_card(&created.identity_secret))
            p { a href={ "/console/sites/" (created.key) } { "Settings of this site" } }
        },
    )
    .into_response())
}

pub(super) async fn show(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Markup, AppError> {
    crate::desk::require_site(&user, &site)?;
    let key = parse_key(&site)?;
    let config = state
        .site(&key)
        .await?
        .ok_or_else(|| AppError::not_found("unknown site"))?;
    let seen = state.installs.of(&key);
    let admin = user.role == "admin";
    // The retention period's dry run: what the next hourly run would erase.
    let retention = match (admin, config.retention_days) {
        (true, Some(_)) => Some(
            crate::desk::privacy::retention_preview(&state, &user, &site, crate::clock::now_ms())
                .await?,
        ),
        _ => None,
    };
    Ok(page(
        &config.name,
        Some(&user),
        html! {
            p { "Paste this tag into every page that should show the widget:" }
            pre.card data-testid="site-tag" { (embed_tag(&state.public_url, &key, &config)) }
            section.card data-testid="installs" {
                h2 { "Installed on" }
                @if seen.is_empty() {
                    p { "No page has loaded this widget since the server started. Open a page with the tag, then reload this page." }
                } @else {
                    table {
                        tr { th { "Page origin" } th { "Last loaded" } th { "Allowed" } }
                        @for s in &seen {
                            tr {
                                td { (s.origin) } td { (format_time(s.last_seen, &user.timezone)) }
                                td { @if s.allowed { "allowed" } @else { strong.error { "refused — not an allowed origin" } } }
                            }
                        }
                    }
                }
            }
            @if let Some(r) = &retention {
                p.card data-testid="retention-due" {
                    "Retention: resolved and closed requests are erased " (r.retention_days.unwrap_or_default())
                    " days after their last change. The next hourly run would erase " strong { (r.due) } " now."
                }
            }
            form.card method="post" action={ "/console/sites/" (key) } { (super::csrf::field())
                (settings_fields(&config, None, admin))
                @if admin { button data-testid="save-site" { "Save" } }
            }
            @if admin {
                ul {
                    li { a href={ "/console/sites/" (key) "/automation" } data-testid="site-automation" { "Automation rules: route, assign, escalate and close requests by themselves" } }
                    li { a href={ "/console/sites/" (key) "/webhooks" } data-testid="site-webhooks" { "Webhooks: send this site's events to other systems" } }
                }
                form.card method="post" action={ "/console/sites/" (key) "/secret" } { (super::csrf::field())
                    p { "A new identity secret replaces the old one at once: tokens your backend signed with the old one stop working." }
                    button data-testid="new-secret" { "Make a new identity secret" }
                }
                form.card method="post" action={ "/console/sites/" (key) "/export" } data-testid="export-form" { (super::csrf::field())
                    h2 { "A customer's data (GDPR access and portability)" }
                    p { "Everything Stufe holds about one customer of this site as a JSON file: their requests with every message, "
                        "files, rating, staff notes and the emails sent to them. The export is noted on each request." }
                    p { label { "Email " input type="email" name="email" data-testid="export-email"; }
                        " or " label { "signed-in id (sub) " input name="sub" data-testid="export-sub"; } }
                    button data-testid="export-customer" { "Export" }
                }
                form.card method="post" action={ "/console/sites/" (key) "/erase" } data-testid="erase-form" { (super::csrf::field())
                    h2 { "Erase a customer (GDPR erasure)" }
                    p { "Deletes every request of one customer of this site for good: their messages, files, notes, emails and "
                        "the request documents themselves. Widgets that still hold one are told and drop it. The figures stay in the KPIs. "
                        "This cannot be undone: export first if the customer asked for their data too." }
                    p { label { "Email " input type="email" name="email" data-testid="erase-email"; }
                        " or " label { "signed-in id (sub) " input name="sub" data-testid="erase-sub"; } }
                    p { label { "Type the email or id again to confirm " input name="confirm" required data-testid="erase-confirm"; } }
                    button.danger data-testid="erase-customer" { "Erase for good" }
                }
            }
        },
    ))
}

#[derive(serde::Deserialize)]
pub(super) struct ErasureForm {
    #[serde(flatten)]
    customer: crate::routes::CustomerQuery,
    #[serde(default)]
    confirm: String,
}

/// Erases a customer's requests (the staff API's erasure, from the console).
pub(super) async fn erase(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(site): Path<String>,
    Form(form): Form<ErasureForm>,
) -> Result<Response, AppError> {
    let customer = form.customer.customer()?;
    match crate::desk::privacy::erase_customer(&state, &user, &site, customer, &form.confirm).await
    {
        Ok(done) => Ok(page(
            "Customer erased",
            Some(&user),
            html! {
                p data-testid="erased" { (done.erased.len()) " request(s) erased." }
                p { a href={ "/console/sites/" (site) } { "Back to the site" } }
            },
        )
        .into_response()),
        Err(err) if err.is_input_error() => Ok(invalid(&user, &err.to_string())),
        Err(err) => Err(err.into()),
    }
}

/// A customer's data as a JSON file (the staff API's export, from the console).
pub(super) async fn export(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(site): Path<String>,
    Form(query): Form<crate::routes::CustomerQuery>,
) -> Result<Response, AppError> {
    let customer = query.customer()?;
    match crate::desk::privacy::export_customer(&state, &user, &site, customer).await {
        Ok(export) => crate::routes::export_file(&export),
        Err(err) if err.is_input_error() => Ok(invalid(&user, &err.to_string())),
        Err(err) => Err(err.into()),
    }
}

pub(super) async fn save(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(site): Path<String>,
    Form(form): Form<SiteForm>,
) -> Result<Response, AppError> {
    let config = match form.config() {
        Ok(config) => config,
        Err(message) => return Ok(invalid(&user, &message)),
    };
    match update_site(&state, &user, &site, config).await {
        Ok(_) => Ok(see_other(&format!("/console/sites/{site}"))),
        Err(err) if err.is_input_error() => Ok(invalid(&user, &err.to_string())),
        Err(err) => Err(err.into()),
    }
}

pub(super) async fn secret(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Markup, AppError> {
    let secret = rotate_secret(&state, &user, &site).await?;
    Ok(page(
        "New identity secret",
        Some(&user),
        html! {
            (secret_card(&secret.identity_secret))
            p { a href={ "/console/sites/" (site) } { "Back to the site" } }
        },
    ))
}
