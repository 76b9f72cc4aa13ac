//! Console forms can be sent only from the console's own pages.
//!
//! `SameSite=Strict` keeps other *sites* from posting the console's forms,
//! but not other *origins of the same site* (a shop on a sibling subdomain or
//! another port of the same host). So every state-changing console request
//! must pass two checks, both:
//!
//! 1. **Where it comes from**: the browser's `Sec-Fetch-Site` must be
//!    `same-origin` when sent; otherwise an `Origin` header, when sent, must be
//!    this server's own origin.
//! 2. **A form token**: every console form carries a hidden `csrf` field, an
//!    HMAC by the server's key over the session token (so only a page that
//!    could read the console can know it). The login form's token is bound the
//!    same way to a random `stufe_login` cookie set with the login page (login
//!    CSRF: logging an agent in as someone else).
//!
//! The guard takes the `csrf` field out before the handler reads the form, and
//! makes the token of the request's session available to the pages it renders
//! ([`field`]). A refused request changes nothing and gets 403.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::header::{HeaderValue, SET_COOKIE};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use maud::{html, Markup};
use sha2::Sha256;

use crate::auth::{cookie, SESSION_COOKIE};
use crate::error::AppError;
use crate::AppState;

/// The cookie the login form's token is bound to.
pub const LOGIN_COOKIE: &str = "stufe_login";
/// The form field that carries the token.
pub const FIELD: &str = "csrf";
/// The largest console form read (article drafts are the largest).
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

tokio::task_local! {
    /// The form token of the request being answered, for the pages it renders.
    static FORM_TOKEN: String;
}

/// The hidden field every console form carries (empty outside a request).
pub fn field() -> Markup {
    FORM_TOKEN
        .try_with(|token| html! { input type="hidden" name=(FIELD) value=(token); })
        .unwrap_or_default()
}

/// The MAC a form token is: by the server's key, over what the token is for.
fn mac(key: &str, purpose: &str, secret: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(format!("stufe-console-form:{purpose}:{secret}").as_bytes());
    mac
}

fn token_for(key: &str, purpose: &str, secret: &str) -> String {
    hex::encode(mac(key, purpose, secret).finalize().into_bytes())
}

fn token_matches(key: &str, purpose: &str, secret: &str, sent: &str) -> bool {
    hex::decode(sent).is_ok_and(|sent| mac(key, purpose, secret).verify_slice(&sent).is_ok())
}

fn refused(why: &str) -> Response {
    AppError::new(
        StatusCode::FORBIDDEN,
        format!(
            "{why}; nothing was changed. Open the console page again and send the form from there."
        ),
    )
    .into_response()
}

/// The guard, as a middleware of the console's routes.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let key = state.link_key.clone();
    let is_login = request.uri().path() == "/console/login";
    let changes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    // The secret this request's forms are bound to, and whether the login
    // page has to set a new login cookie.
    let (purpose, secret, new_login_cookie) = match (
        is_login,
        cookie(request.headers(), SESSION_COOKIE),
        cookie(request.headers(), LOGIN_COOKIE),
    ) {
        (true, _, Some(login)) => ("login", Some(login.to_owned()), None),
        (true, _, None) if !changes => {
            let fresh = crate::tokens::random_token();
            ("login", Some(fresh.clone()), Some(fresh))
        }
        (true, _, None) => ("login", None, None),
        (false, Some(session), _) => ("session", Some(session.to_owned()), None),
        (false, None, _) => ("session", None, None),
    };
    let request = if changes {
        if let Err(elsewhere) =
            crate::sites::from_other_origin(request.headers(), &state.public_url)
        {
            tracing::warn!(path = %request.uri().path(), "console form refused: sent from {elsewhere:?}");
            return refused(&format!("This form was sent from {elsewhere}"));
        }
        match &secret {
            // No session: the handler answers with the login page and
            // changes nothing; only the login form itself needs its cookie.
            None if is_login => {
                return refused("The login form has expired (no login cookie)");
            }
            None => request,
            Some(secret) => match take_token(request, &key, purpose, secret).await {
                Ok(request) => request,
                Err(response) => return response,
            },
        }
    } else {
        request
    };
    let token = secret
        .map(|secret| token_for(&key, purpose, &secret))
        .unwrap_or_default();
    let mut response = FORM_TOKEN.scope(token, next.run(request)).await;
    if let Some(fresh) = new_login_cookie {
        let secure = if state.is_https() { "; Secure" } else { "" };
        let value = format!(
            "{LOGIN_COOKIE}={fresh}; Path=/console/login; HttpOnly; SameSite=Strict; Max-Age=86400{secure}"
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// Reads the form, checks its token and passes it on without it.
async fn take_token(
    request: Request,
    key: &str,
    purpose: &str,
    secret: &str,
) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return Err(
            AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response(),
        );
    };
    let mut sent = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(&bytes) {
        if name == FIELD {
            sent = Some(value.into_owned());
        } else {
            rest.append_pair(&name, &value);
        }
    }
    match sent {
        Some(sent) if token_matches(key, purpose, secret, &sent) => {}
        Some(_) => {
            tracing::warn!(path = %parts.uri.path(), "console form refused: wrong form token");
            return Err(refused("This form's token does not match your session"));
        }
        None => {
            tracing::warn!(path = %parts.uri.path(), "console form refused: no form token");
            return Err(refused("This form carries no form token"));
        }
    }
    Ok(Request::from_parts(parts, Body::from(rest.finish())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_bound_to_its_key_purpose_and_secret() {
        let token = token_for("key", "session", "s1");
        assert!(token_matches("key", "session", "s1", &token));
        assert!(!token_matches("key", "session", "s2", &token));
        assert!(!token_matches("key", "login", "s1", &token));
        assert!(!token_matches("other", "session", "s1", &token));
        assert!(!token_matches("key", "session", "s1", "zz"));
    }
}
