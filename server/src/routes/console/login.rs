//! Logging in and out of the console.

use super::*;

#[derive(Deserialize)]
pub(super) struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub(super) struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Percent-encodes a path for a query value.
pub(super) fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where to go after logging in: a console page of this server, else the queue.
pub(super) fn safe_next(next: &str) -> &str {
    let console_page =
        (next == "/console" || next.starts_with("/console/") || next.starts_with("/console?"))
            && !next.contains("//")
            && !next.contains('\\')
            && !next.starts_with("/console/logout");
    if console_page {
        next
    } else {
        "/console"
    }
}

pub(super) async fn login_page(Query(q): Query<NextQuery>) -> Markup {
    login_form(None, safe_next(&q.next))
}

pub(super) fn login_form(error: Option<&str>, next: &str) -> Markup {
    page(
        "Log in",
        None,
        html! {
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form.card method="post" action="/console/login" { (csrf::field())
                input type="hidden" name="next" value=(next);
                p { label { "Login " input name="login" autocomplete="username" required autofocus; } }
                p { label { "Password " input type="password" name="password" autocomplete="current-password" required; } }
                button { "Log in" }
            }
        },
    )
}

pub(super) async fn login(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let address = state.client_ip(&parts);
    let next = safe_next(&form.next);
    match auth::log_in(&state, &form.login, &form.password, address).await? {
        auth::LoginOutcome::LoggedIn(token) => Ok((
            StatusCode::SEE_OTHER,
            [
                (LOCATION, next.to_owned()),
                (SET_COOKIE, auth::session_cookie(&token, state.is_https())),
            ],
        )
            .into_response()),
        auth::LoginOutcome::Wrong => Ok((
            StatusCode::UNAUTHORIZED,
            login_form(Some("Wrong login or password."), next),
        )
            .into_response()),
        auth::LoginOutcome::Throttled(throttled) => {
            let secs = throttled.retry_after_secs();
            let (status, message) = match throttled {
                auth::Throttled::Locked { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Too many failed logins. Try again in {secs} seconds."),
                ),
                auth::Throttled::Busy { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "The server is busy checking other logins. Try again in {secs} seconds."
                    ),
                ),
            };
            Ok((
                status,
                [(axum::http::header::RETRY_AFTER, secs.to_string())],
                login_form(Some(&message), next),
            )
                .into_response())
        }
    }
}

pub(super) async fn logout(
    State(state): State<AppState>,
    parts: Parts,
) -> Result<Response, AppError> {
    if let Some(token) = session_token(&parts) {
        let hash = token_hash(&token);
        storage::blocking(&state.storage, move |s| s.delete_session(&hash)).await?;
    }
    Ok((
        StatusCode::SEE_OTHER,
        [
            (LOCATION, "/console/login".to_owned()),
            (SET_COOKIE, auth::clear_session_cookie(state.is_https())),
        ],
    )
        .into_response())
}
