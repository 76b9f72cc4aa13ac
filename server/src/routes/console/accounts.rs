//! Console pages for staff accounts (admins: create, change role, deactivate)
//! and for everyone's own password.

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::{page, see_other, ConsoleUser};
use crate::desk::accounts::{
    change_account, create_account, set_own_password, AccountChange, NewAccount, PasswordChange,
    MIN_PASSWORD_CHARS,
};
use crate::error::AppError;
use crate::storage;
use crate::AppState;

const ROLES: [(&str, &str); 4] = [
    ("tier1", "tier 1 — general questions"),
    ("tier2", "tier 2 — technical support"),
    ("tier3", "tier 3 — experts, publish articles"),
    ("admin", "admin — everything"),
];

/// The sites to choose from, as checkboxes named `site:<key>` (checked: `chosen`).
fn site_choices(sites: &[String], chosen: &[String], owner: &str) -> Markup {
    html! {
        fieldset.sites {
            legend { "Sites " (owner) " works on" }
            input type="hidden" name="sites_shown" value="1";
            @if sites.is_empty() { "No sites yet." }
            @for key in sites {
                label { input type="checkbox" name={ "site:" (key) } checked[chosen.contains(key)]; " " (key) } " "
            }
        }
    }
}

/// The staff page: the accounts, and the new-account form (`kept`: what was
/// typed into it, shown again with `error` when it was refused).
async fn staff_page(
    state: &AppState,
    user: &crate::storage::StaffMember,
    kept: Option<&NewAccountForm>,
    error: Option<String>,
) -> Result<Markup, AppError> {
    crate::desk::require_admin(user, "staff accounts")?;
    let (staff, sites) = storage::blocking(&state.storage, |s| {
        let sites: Vec<String> = s.sites()?.into_iter().map(|(k, _)| k.to_string()).collect();
        Ok((s.list_staff()?, sites))
    })
    .await?;
    let default_sites: Vec<String> = sites.iter().take(1).cloned().collect();
    let kept_sites = kept.map_or(default_sites, NewAccountForm::sites);
    Ok(page(
        "Staff",
        Some(user),
        html! {
            table data-testid="staff" {
                tr { th { "Name" } th { "Role, sites and state" } }
                @for m in &staff {
                    tr data-testid="staff-row" {
                        td { (m.name) @if !m.active { " " strong { "(deactivated)" } } }
                        td {
                            form method="post" action={ "/console/staff/" (m.id) } { (super::csrf::field())
                                select name="role" aria-label={ "Role of " (m.name) } {
                                    @for (value, label) in ROLES { option value=(value) selected[m.role == value] { (label) } }
                                }
                                " " label { input type="checkbox" name="active" checked[m.active]; " active" }
                                @if m.role == "admin" { p { small { "Admins work on every site." } } }
                                @else { (site_choices(&sites, &m.sites, &m.name)) }
                                button { "Save" }
                            }
                        }
                    }
                }
            }
            h2 id="new-account" { "New account" }
            form.card method="post" action="/console/staff" { (super::csrf::field())
                @if let Some(error) = &error { p.error role="alert" data-testid="form-error" { (error) } }
                p { label { "Name " input name="name" required maxlength="100" value=[kept.map(|k| k.name.as_str())]; } }
                p { label { "Login " input name="login" required pattern="[a-z0-9._-]{2,64}" autocomplete="off" value=[kept.map(|k| k.login.as_str())]; } }
                p { label { "Password (at least " (MIN_PASSWORD_CHARS) " characters) " input type="password" name="password" required minlength=(MIN_PASSWORD_CHARS) autocomplete="new-password"; } }
                p { label { "Role " select name="role" { @for (value, label) in ROLES { option value=(value) selected[kept.is_some_and(|k| k.role == value)] { (label) } } } } }
                (site_choices(&sites, &kept_sites, "the account"))
                button data-testid="create-account" { "Create account" }
            }
        },
    ))
}

pub(super) async fn list(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
) -> Result<Markup, AppError> {
    staff_page(&state, &user, None, None).await
}

/// The new-account form as posted: its fields, and a `site:<key>` entry per
/// checked site.
#[derive(Deserialize)]
pub(super) struct NewAccountForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

/// The keys of the checked `site:<key>` boxes of a form.
fn checked_sites(fields: &std::collections::HashMap<String, String>) -> Vec<String> {
    let mut sites: Vec<String> = fields
        .keys()
        .filter_map(|k| k.strip_prefix("site:"))
        .map(str::to_owned)
        .collect();
    sites.sort();
    sites
}

impl NewAccountForm {
    fn sites(&self) -> Vec<String> {
        checked_sites(&self.rest)
    }
}

pub(super) async fn create(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Form(form): Form<NewAccountForm>,
) -> Result<Response, AppError> {
    let new = NewAccount {
        name: form.name.clone(),
        login: form.login.clone(),
        password: form.password.clone(),
        role: form.role.clone(),
        sites: form.sites(),
    };
    let created = match create_account(&state, &user, new).await {
        Ok(created) => created,
        // Refused input: the form again, with what was typed and why.
        Err(err) if err.is_input_error() => {
            let page = staff_page(&state, &user, Some(&form), Some(err.to_string())).await?;
            return Ok((axum::http::StatusCode::BAD_REQUEST, page).into_response());
        }
        Err(err) => return Err(err.into()),
    };
    Ok(page(
        "Account created",
        Some(&user),
        html! {
            p { (created.account.name) " can log in now." }
            section.card data-testid="api-token" {
                h2 { "API token — shown only now" }
                p { code { (created.api_token) } }
            }
            p { a href="/console/staff" { "Back to the staff" } }
        },
    )
    .into_response())
}

pub(super) async fn change(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Result<Response, AppError> {
    let role = form.get("role").cloned();
    // Admins' rows have no site boxes: their sites are left as they are.
    let sites = form
        .contains_key("sites_shown")
        .then(|| checked_sites(&form));
    let change = AccountChange {
        role,
        active: Some(form.contains_key("active")),
        sites,
    };
    change_account(&state, &user, id, change).await?;
    Ok(see_other("/console/staff"))
}

pub(super) async fn password_page(ConsoleUser(user): ConsoleUser) -> Markup {
    page(
        "Your settings",
        Some(&user),
        html! {
            form.card method="post" action="/console/timezone" { (super::csrf::field())
                p { label { "Show times in the time zone (e.g. Europe/Berlin) " input name="timezone" value=(user.timezone) required data-testid="timezone"; } }
                button { "Save" }
            }
            form.card method="post" action="/console/password" { (super::csrf::field())
                p { label { "Current password " input type="password" name="current" required autocomplete="current-password"; } }
                p { label { "New password (at least " (MIN_PASSWORD_CHARS) " characters) " input type="password" name="new" required minlength=(MIN_PASSWORD_CHARS) autocomplete="new-password"; } }
                button { "Change password" }
            }
            p { small { "Every session of yours ends with the change: log in again with the new password." } }
        },
    )
}

#[derive(Deserialize)]
pub(super) struct TimezoneForm {
    timezone: String,
}

pub(super) async fn set_timezone(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Form(form): Form<TimezoneForm>,
) -> Result<Response, AppError> {
    let tz = form.timezone.trim().to_owned();
    if jiff::tz::TimeZone::get(&tz).is_err() {
        return Err(AppError::bad_request(format!(
            "{tz:?} is not a known time zone"
        )));
    }
    let id = user.id;
    storage::blocking(&state.storage, move |s| s.set_staff_timezone(id, &tz)).await?;
    Ok(see_other("/console/password"))
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    current: String,
    new: String,
}

pub(super) async fn change_password(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let change = PasswordChange {
        current: form.current,
        new: form.new,
    };
    set_own_password(&state, &user, change).await?;
    Ok(see_other("/console/login").into_response())
}
