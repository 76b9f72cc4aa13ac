//! Staff authentication: API bearer tokens, console logins with argon2
//! password hashes, and session cookies. Only hashes of tokens and passwords
//! are stored.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;

use crate::clock::now_ms;
use crate::error::AppError;
use crate::storage::{self, StaffMember};
use crate::tokens::token_hash;
use crate::AppState;

mod login_guard;
pub use login_guard::{LoginGuard, Throttled};

pub const SESSION_COOKIE: &str = "stufe_staff";
pub const SESSION_HOURS: i64 = 12;

pub fn hash_password(password: &str) -> String {
    let salt =
        SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .expect("argon2 hashes any password")
}

/// Whether `password` matches the stored PHC hash. The argon2 working
/// memory (19 MiB with the default parameters) is kept per thread and reused
/// (login verifications run on [`LoginGuard`]'s 4 threads, so 4 such buffers
/// at most): allocated and freed each time, the allocator kept freed copies
/// around (measured: 100 parallel logins left ~0.8 GB even on those 4 threads).
pub fn verify_password(password: &str, stored: &str) -> bool {
    use argon2::{Algorithm, Block, Params, Version};
    /// A stored hash asking for more than this is checked without the reused memory.
    const MAX_REUSED_BLOCKS: usize = 64 * 1024;
    thread_local! {
        static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let parsed = (
        Algorithm::try_from(hash.algorithm),
        hash.version.map(Version::try_from).transpose(),
        Params::try_from(&hash),
        hash.salt,
        hash.hash,
    );
    let (Ok(algorithm), Ok(version), Ok(params), Some(salt), Some(expected)) = parsed else {
        return false;
    };
    let blocks = params.block_count();
    if blocks > MAX_REUSED_BLOCKS {
        return Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok();
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version.unwrap_or_default(), params);
    let mut out = vec![0u8; expected.len()];
    let hashed = MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon.hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut out,
            &mut memory[..blocks],
        )
    });
    // `Output`'s comparison takes the same time whatever the bytes.
    hashed.is_ok()
        && argon2::password_hash::Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// The `Set-Cookie` value for a new session; `Secure` when the server is
/// reached over https (its public URL), so the cookie never travels in clear.
pub fn session_cookie(token: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_HOURS * 3600,
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_session_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// A hash of a password nobody has, made once: an unknown login is checked
/// against it, so it costs exactly one verification, like a known login.
fn unknown_login_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&crate::tokens::random_token()))
}

/// The value of the cookie `name` among `headers`, if set and not empty.
pub fn cookie<'h>(headers: &'h axum::http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (n, value) = pair.trim().split_once('=')?;
            (n == name && !value.is_empty()).then_some(value)
        })
}

/// The session token from the request's cookies, if any.
pub fn session_token(parts: &Parts) -> Option<String> {
    cookie(&parts.headers, SESSION_COOKIE).map(str::to_owned)
}

/// What a login attempt came to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// The new session's token.
    LoggedIn(String),
    /// Wrong login or password (the same answer for both).
    Wrong,
    /// Not checked: too many failures, or every verification slot busy.
    Throttled(Throttled),
}

/// Logs a staff member in from `address`: a new session token, a wrong login
/// or password, or an attempt not checked at all (throttled; see
/// [`LoginGuard`]). Every failure is logged, with the login escaped.
pub async fn log_in(
    state: &AppState,
    login: &str,
    password: &str,
    address: std::net::IpAddr,
) -> Result<LoginOutcome, AppError> {
    let attempt = match state.login_guard.begin(login, address, now_ms()) {
        Ok(attempt) => attempt,
        Err(throttled) => {
            tracing::warn!(login = ?login, %address, retry_after_secs = throttled.retry_after_secs(), "console login throttled");
            return Ok(LoginOutcome::Throttled(throttled));
        }
    };
    let slot = match state.login_guard.verification_slot().await {
        Ok(slot) => slot,
        Err(busy) => {
            tracing::warn!(login = ?login, %address, "console login refused: every verification slot is busy");
            return Ok(LoginOutcome::Throttled(busy));
        }
    };
    let trimmed = login.trim().to_owned();
    let found = storage::blocking(&state.storage, move |s| s.staff_by_login(&trimmed)).await?;
    // One argon2 verification whether or not the login exists (so logins
    // cannot be probed by timing), on the guard's verification threads.
    let password = password.to_owned();
    let verified = state
        .login_guard
        .verify(move || {
            let verified = match found {
                Some((member, hash)) => {
                    let ok = verify_password(&password, &hash);
                    (Some(member), ok)
                }
                None => {
                    verify_password(&password, unknown_login_hash());
                    (None, false)
                }
            };
            drop(slot);
            verified
        })
        .await;
    let (member, verified) = verified.ok_or_else(|| {
        AppError::from(storage::StorageError::Task(
            "the password verification thread stopped".into(),
        ))
    })?;
    let Some(member) = member.filter(|_| verified) else {
        tracing::warn!(login = ?login, %address, "console login failed: wrong login or password");
        record_login(state, None, login, address, 401).await;
        return Ok(LoginOutcome::Wrong);
    };
    record_login(state, Some(member.id), &member.name, address, 303).await;
    let now = now_ms();
    state.login_guard.succeeded(attempt, now);
    storage::blocking(&state.storage, move |s| s.delete_expired_sessions(now)).await?;
    let token = crate::tokens::random_token();
    let (session_hash, expires_at) = (token_hash(&token), now + SESSION_HOURS * 3_600_000);
    storage::blocking(&state.storage, move |s| {
        s.create_session(&session_hash, member.id, expires_at)
    })
    .await?;
    Ok(LoginOutcome::LoggedIn(token))
}

/// A login (`staff_id` Some) or a failed one (the login tried) in the audit
/// trail. Throttled attempts are not recorded: the guard bounds what is.
async fn record_login(
    state: &AppState,
    staff_id: Option<i64>,
    who: &str,
    address: std::net::IpAddr,
    outcome: u16,
) {
    let entry = storage::AuditEntry {
        at: now_ms(),
        staff: who.chars().take(100).collect(),
        staff_id,
        source: address.to_string(),
        action: if staff_id.is_some() {
            "login"
        } else {
            "login failed"
        }
        .to_owned(),
        target: "/console/login".to_owned(),
        outcome,
    };
    crate::desk::audit::record(state, entry).await;
}

/// The authenticated staff member: `Authorization: Bearer <api token>` or a console session cookie.
pub struct Staff(pub StaffMember);

impl FromRequestParts<AppState> for Staff {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| token_hash(token.trim()));
        let found = match (bearer, session_token(parts)) {
            (Some(hash), _) => {
                storage::blocking(&state.storage, move |s| s.staff_by_token_hash(&hash)).await?
            }
            (None, Some(session)) => {
                // A cookie is sent by the browser whatever page asks: a
                // change with it must come from the console's own origin
                // (the JSON API has no form token; see routes/console/csrf.rs).
                let changes = !matches!(
                    parts.method,
                    axum::http::Method::GET | axum::http::Method::HEAD
                );
                if changes {
                    if let Err(elsewhere) =
                        crate::sites::from_other_origin(&parts.headers, &state.public_url)
                    {
                        return Err(AppError::new(
                            axum::http::StatusCode::FORBIDDEN,
                            format!("a change with a console session must come from the console, not from {elsewhere}; nothing was changed"),
                        ));
                    }
                }
                let hash = token_hash(&session);
                storage::blocking(&state.storage, move |s| s.staff_by_session(&hash, now_ms()))
                    .await?
            }
            (None, None) => None,
        };
        let member = found.ok_or_else(AppError::unauthorized)?;
        crate::audit::AuditSlot::signed_in(&parts.extensions, member.id, &member.name);
        Ok(Staff(member))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
