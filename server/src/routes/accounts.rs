//! Staff accounts (admins), and everyone's own password:
//!
//! * `GET /api/staff/accounts` — every account with role, sites and whether it is active
//! * `POST /api/staff/accounts` — `{"name", "login", "password", "role", "sites": […]}`;
//!   answers the account and its API token (shown once)
//! * `PATCH /api/staff/accounts/{id}` — `{"role"?, "active"?}`; deactivating ends
//!   the account's sessions and stops its API token at once
//! * `POST /api/staff/password` — `{"current", "new"}`: your own password; every
//!   session of yours ends (log in again)

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use stufe_shared::SiteKey;

use crate::auth::{self, require_admin, Staff};
use crate::error::AppError;
use crate::storage::{self, StaffMember, StorageError};
use crate::tokens::token_hash;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/staff/accounts", get(list).post(create))
        .route("/api/staff/accounts/{id}", patch(update))
        .route("/api/staff/password", post(change_password))
}

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
const ROLES: [&str; 4] = ["tier1", "tier2", "tier3", "admin"];

async fn list(
    Staff(member): Staff,
    State(state): State<AppState>,
) -> Result<Json<Vec<StaffMember>>, AppError> {
    require_admin(&member, "staff accounts")?;
    Ok(Json(
        storage::blocking(&state.storage, |s| s.list_staff()).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAccount {
    pub name: String,
    pub login: String,
    pub password: String,
    pub role: String,
    #[serde(default)]
    pub sites: Vec<String>,
}

#[derive(Serialize)]
pub(crate) struct Created {
    pub account: StaffMember,
    /// The account's API token, shown this once.
    pub api_token: String,
}

fn check_password(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::bad_request(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

pub(crate) async fn create_account(
    state: &AppState,
    member: &StaffMember,
    new: NewAccount,
) -> Result<Created, AppError> {
    require_admin(member, "staff accounts")?;
    let name = new.name.trim().to_owned();
    let login = new.login.trim().to_lowercase();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::bad_request("a name has 1 to 100 characters"));
    }
    let login_ok = (2..=64).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !login_ok {
        return Err(AppError::bad_request(
            "a login has 2 to 64 of a-z 0-9 . _ -",
        ));
    }
    if !ROLES.contains(&new.role.as_str()) {
        return Err(AppError::bad_request(
            "the role is tier1, tier2, tier3 or admin",
        ));
    }
    check_password(&new.password)?;
    let sites: Vec<SiteKey> = new
        .sites
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|_| AppError::bad_request(format!("bad site key {s:?}")))
        })
        .collect::<Result<_, _>>()?;
    let token = crate::tokens::random_token();
    let (hash, role, password) = (token_hash(&token), new.role.clone(), new.password);
    let account = storage::blocking(&state.storage, move |s| {
        let password_hash = auth::hash_password(&password);
        s.create_staff_account(&name, &role, &hash, &login, &password_hash, &sites)
    })
    .await?
    .ok_or_else(|| AppError::new(StatusCode::CONFLICT, "this login is taken"))?;
    tracing::info!(account = %account.name, by = %member.name, "staff account created");
    let id = account.id;
    let account = storage::blocking(&state.storage, move |s| s.list_staff())
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .unwrap_or(account);
    Ok(Created {
        account,
        api_token: token,
    })
}

async fn create(
    Staff(member): Staff,
    State(state): State<AppState>,
    Json(new): Json<NewAccount>,
) -> Result<(StatusCode, Json<Created>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_account(&state, &member, new).await?),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountChange {
    pub role: Option<String>,
    pub active: Option<bool>,
}

pub(crate) async fn change_account(
    state: &AppState,
    member: &StaffMember,
    id: i64,
    change: AccountChange,
) -> Result<(), AppError> {
    require_admin(member, "staff accounts")?;
    if let Some(role) = &change.role {
        if !ROLES.contains(&role.as_str()) {
            return Err(AppError::bad_request(
                "the role is tier1, tier2, tier3 or admin",
            ));
        }
    }
    if id == member.id
        && (change.active == Some(false) || change.role.as_deref().is_some_and(|r| r != "admin"))
    {
        return Err(AppError::bad_request(
            "you cannot deactivate yourself or give up your own admin role",
        ));
    }
    let found = storage::blocking(&state.storage, move |s| {
        s.update_staff(id, change.role.as_deref(), change.active)
    })
    .await?;
    if !found {
        return Err(AppError::not_found("no such account"));
    }
    Ok(())
}

async fn update(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(change): Json<AccountChange>,
) -> Result<Json<StaffMember>, AppError> {
    change_account(&state, &member, id, change).await?;
    storage::blocking(&state.storage, |s| s.list_staff())
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .map(Json)
        .ok_or_else(|| AppError::not_found("no such account"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    pub current: String,
    pub new: String,
}

/// Changes the caller's own password (checking the current one) and ends
/// every session of theirs.
pub(crate) async fn set_own_password(
    state: &AppState,
    member: &StaffMember,
    change: PasswordChange,
) -> Result<(), AppError> {
    check_password(&change.new)?;
    let id = member.id;
    let ok = storage::blocking(&state.storage, move |s| s.staff_login_of(id)).await?;
    let Some((login, stored)) = ok else {
        return Err(AppError::bad_request("this account has no console login"));
    };
    let (current, new) = (change.current, change.new);
    let verified = tokio::task::spawn_blocking(move || {
        auth::verify_password(&current, &stored).then(|| auth::hash_password(&new))
    })
    .await
    .map_err(|err| AppError::from(StorageError::Task(err.to_string())))?;
    let Some(hash) = verified else {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "the current password is wrong",
        ));
    };
    storage::blocking(&state.storage, move |s| {
        s.set_staff_login(id, &login, &hash)?;
        s.delete_sessions_of(id)
    })
    .await?;
    Ok(())
}

async fn change_password(
    Staff(member): Staff,
    State(state): State<AppState>,
    Json(change): Json<PasswordChange>,
) -> Result<StatusCode, AppError> {
    set_own_password(&state, &member, change).await?;
    Ok(StatusCode::NO_CONTENT)
}
