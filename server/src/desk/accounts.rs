//! Staff accounts: creating them (admins), changing a role or deactivating
//! (which ends the account's sessions and stops its API token at once), and
//! everyone's own password.

use super::require_admin;
use super::DeskError;
use crate::auth::{self};
use crate::storage::{self, StaffMember, StorageError};
use crate::tokens::token_hash;
use crate::AppState;
use serde::{Deserialize, Serialize};
use stufe_shared::SiteKey;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
const ROLES: [&str; 4] = ["tier1", "tier2", "tier3", "admin"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub name: String,
    pub login: String,
    pub password: String,
    pub role: String,
    #[serde(default)]
    pub sites: Vec<String>,
}

#[derive(Serialize)]
pub struct Created {
    pub account: StaffMember,
    /// The account's API token, shown this once.
    pub api_token: String,
}

pub fn check_password(password: &str) -> Result<(), DeskError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(DeskError::invalid(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

pub async fn create_account(
    state: &AppState,
    member: &StaffMember,
    new: NewAccount,
) -> Result<Created, DeskError> {
    require_admin(member, "staff accounts")?;
    let name = new.name.trim().to_owned();
    let login = new.login.trim().to_lowercase();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DeskError::invalid("a name has 1 to 100 characters"));
    }
    let login_ok = (2..=64).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !login_ok {
        return Err(DeskError::invalid("a login has 2 to 64 of a-z 0-9 . _ -"));
    }
    if !ROLES.contains(&new.role.as_str()) {
        return Err(DeskError::invalid(
            "the role is tier1, tier2, tier3 or admin",
        ));
    }
    check_password(&new.password)?;
    let sites = existing_sites(state, &new.sites).await?;
    let token = crate::tokens::random_token();
    let (hash, role, password) = (token_hash(&token), new.role.clone(), new.password);
    let account = storage::blocking(&state.storage, move |s| {
        let password_hash = auth::hash_password(&password);
        s.create_staff_account(&name, &role, &hash, &login, &password_hash, &sites)
    })
    .await?
    .ok_or_else(|| DeskError::conflict("this login is taken"))?;
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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AccountChange {
    pub role: Option<String>,
    pub active: Option<bool>,
    /// The sites the account works on, replacing the ones it had.
    pub sites: Option<Vec<String>>,
}

/// Site keys that name existing sites; an error names the first that does not.
async fn existing_sites(state: &AppState, keys: &[String]) -> Result<Vec<SiteKey>, DeskError> {
    let known = storage::blocking(&state.storage, |s| s.sites()).await?;
    keys.iter()
        .map(|key| {
            key.parse::<SiteKey>()
                .ok()
                .filter(|k| known.iter().any(|(site, _)| site == k))
                .ok_or_else(|| DeskError::invalid(format!("there is no site {key:?}")))
        })
        .collect()
}

pub async fn change_account(
    state: &AppState,
    member: &StaffMember,
    id: i64,
    change: AccountChange,
) -> Result<(), DeskError> {
    require_admin(member, "staff accounts")?;
    if let Some(role) = &change.role {
        if !ROLES.contains(&role.as_str()) {
            return Err(DeskError::invalid(
                "the role is tier1, tier2, tier3 or admin",
            ));
        }
    }
    if id == member.id
        && (change.active == Some(false) || change.role.as_deref().is_some_and(|r| r != "admin"))
    {
        return Err(DeskError::invalid(
            "you cannot deactivate yourself or give up your own admin role",
        ));
    }
    let sites = match &change.sites {
        Some(keys) => Some(existing_sites(state, keys).await?),
        None => None,
    };
    let found = storage::blocking(&state.storage, move |s| {
        let found = s.update_staff(id, change.role.as_deref(), change.active)?;
        if let (true, Some(sites)) = (found, sites) {
            s.set_staff_sites(id, &sites)?;
        }
        Ok(found)
    })
    .await?;
    if !found {
        return Err(DeskError::not_found("no such account"));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

/// Changes the caller's own password (checking the current one) and ends
/// every session of theirs.
pub async fn set_own_password(
    state: &AppState,
    member: &StaffMember,
    change: PasswordChange,
) -> Result<(), DeskError> {
    check_password(&change.new)?;
    let id = member.id;
    let ok = storage::blocking(&state.storage, move |s| s.staff_login_of(id)).await?;
    let Some((login, stored)) = ok else {
        return Err(DeskError::invalid("this account has no console login"));
    };
    let (current, new) = (change.current, change.new);
    let verified = tokio::task::spawn_blocking(move || {
        auth::verify_password(&current, &stored).then(|| auth::hash_password(&new))
    })
    .await
    .map_err(|err| DeskError::from(StorageError::Task(err.to_string())))?;
    let Some(hash) = verified else {
        return Err(DeskError::not_allowed("the current password is wrong"));
    };
    storage::blocking(&state.storage, move |s| {
        s.set_staff_login(id, &login, &hash)?;
        s.delete_sessions_of(id)
    })
    .await?;
    Ok(())
}
