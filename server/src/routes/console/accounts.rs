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

pub(super) async fn list(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
) -> Result<Markup, AppError> {
    crate::desk::require_admin(&user, "staff accounts")?;
    let staff = storage::blocking(&state.storage, |s| s.list_staff()).await?;
    Ok(page(
        "Staff",
        Some(&user),
        html! {
            table data-testid="staff" {
                tr { th { "Name" } th { "Sites" } th { "Role and state" } }
                @for m in &staff {
                    tr data-testid="staff-row" {
                        td { (m.name) @if !m.active { " " strong { "(deactivated)" } } }
                        td { @if m.role == "admin" { "all" } @else { (m.sites.join(", ")) } }
                        td {
                            form.inline method="post" action={ "/console/staff/" (m.id) } { (super::csrf::field())
                                select name="role" aria-label={ "Role of " (m.name) } {
                                    @for (value, label) in ROLES { option value=(value) selected[m.role == value] { (label) } }
                                }
                                label { input type="checkbox" name="active" checked[m.active]; " active" }
                                button { "Save" }
                            }
                        }
                    }
                }
            }
            h2 { "New account" }
            form.card method="post" action="/console/staff" { (super::csrf::field())
                p { label { "Name " input name="name" required maxlength="100"; } }
                p { label { "Login " input name="login" required pattern="[a-z0-9._-]{2,64}" autocomplete="off"; } }
                p { label { "Password (at least " (MIN_PASSWORD_CHARS) " characters) " input type="password" name="password" required minlength=(MIN_PASSWORD_CHARS) autocomplete="new-password"; } }
                p { label { "Role " select name="role" { @for (value, label) in ROLES { option value=(value) { (label) } } } } }
                p { label { "Sites (keys, separated by spaces) " input name="sites" value="demo"; } }
                button data-testid="create-account" { "Create account" }
            }
        },
    ))
}

#[derive(Deserialize)]
pub(super) struct NewAccountForm {
    name: String,
    login: String,
    password: String,
    role: String,
    #[serde(default)]
    sites: String,
}

pub(super) async fn create(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Form(form): Form<NewAccountForm>,
) -> Result<Markup, AppError> {
    let created = create_account(
        &state,
        &user,
        NewAccount {
            name: form.name,
            login: form.login,
            password: form.password,
            role: form.role,
            sites: form.sites.split_whitespace().map(str::to_owned).collect(),
        },
    )
    .await?;
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
    ))
}

#[derive(Deserialize)]
pub(super) struct ChangeForm {
    role: String,
    active: Option<String>,
}

pub(super) async fn change(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<ChangeForm>,
) -> Result<Response, AppError> {
    let change = AccountChange {
        role: Some(form.role),
        active: Some(form.active.is_some()),
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
