//! `/email/confirm/{ticket}?token=TOKEN`: the link in a confirmation email.
//! Opening it shows a button (a GET changes nothing, so mail scanners that
//! open links confirm nothing); pressing it (`POST`, the token in the form)
//! confirms the ticket's address, and replies are emailed from then on.
//! In the site's language, English or German.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use stufe_shared::TicketId;

use crate::clock::now_ms;
use crate::error::AppError;
use crate::storage;
use crate::{links, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/email/confirm/{id}", get(show).post(confirm))
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// What the page says, in English or German.
struct Texts {
    german: bool,
    site: String,
}

impl Texts {
    fn pick<'a>(&self, en: &'a str, de: &'a str) -> &'a str {
        if self.german {
            de
        } else {
            en
        }
    }
}

fn page(texts: &Texts, status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang=(texts.pick("en", "de")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " — " (texts.site) }
                link rel="stylesheet" href="/console/style.css";
            }
            body { main { h1 { (title) } (body) } }
        }
    };
    (status, markup).into_response()
}

fn invalid(texts: &Texts) -> Response {
    page(
        texts,
        StatusCode::BAD_REQUEST,
        texts.pick("This link does not work", "Dieser Link funktioniert nicht"),
        html! { p data-testid="confirm-invalid" { (texts.pick(
            "It is not valid, or older than 7 days. You can still read and answer your request in the support widget.",
            "Er ist ungültig oder älter als 7 Tage. Ihre Anfrage können Sie weiterhin im Support-Widget lesen und beantworten.",
        )) } },
    )
}

/// The ticket, the address to confirm and the page's texts, if `token`
/// confirms that address of that ticket now; the page to show otherwise.
async fn checked(
    state: &AppState,
    id: &str,
    token: &str,
) -> Result<Result<(TicketId, String, Texts), Response>, AppError> {
    let unknown = Texts {
        german: false,
        site: "Stufe".into(),
    };
    let Ok(id) = id.parse::<TicketId>() else {
        return Ok(Err(invalid(&unknown)));
    };
    let ticket = match state.hub.read_ticket(id).await {
        Ok(ticket) => ticket,
        Err(crate::sync::HubError::NotFound) => return Ok(Err(invalid(&unknown))),
        Err(err) => return Err(err.into()),
    };
    let config = match ticket.site.parse() {
        Ok(site) => state.site(&site).await?,
        Err(_) => None,
    };
    let texts = Texts {
        german: config.as_ref().is_some_and(|c| c.locale == "de"),
        site: config.map_or_else(|| "Stufe".into(), |c| c.name.clone()),
    };
    match ticket.email {
        Some(email)
            if links::check_confirm_token(&state.link_key, id, &email, token, now_ms() / 1000) =>
        {
            Ok(Ok((id, email, texts)))
        }
        _ => Ok(Err(invalid(&texts))),
    }
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let (ticket, email, texts) = match checked(&state, &id, &query.token).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let key = ticket.to_string();
    let confirmed = storage::blocking(&state.storage, move |s| s.confirmed_email(&key)).await?;
    if confirmed.as_deref() == Some(email.as_str()) {
        return Ok(done(&texts, &email));
    }
    Ok(page(
        &texts,
        StatusCode::OK,
        texts.pick("Confirm your email address", "E-Mail-Adresse bestätigen"),
        html! {
            p { (texts.pick("Replies to your request at ", "Antworten auf Ihre Anfrage bei ")) strong { (texts.site) }
                (texts.pick(" will be sent to ", " gehen an ")) strong { (email) } "." }
            form method="post" action={ "/email/confirm/" (ticket) } {
                input type="hidden" name="token" value=(query.token);
                button data-testid="confirm-email" { (texts.pick("Confirm address", "Adresse bestätigen")) }
            }
            p { small { (texts.pick(
                "Did not ask for this? Close this page: no other email will follow.",
                "Nicht von Ihnen? Schließen Sie diese Seite: Es folgt keine weitere E-Mail.",
            )) } }
        },
    ))
}

fn done(texts: &Texts, email: &str) -> Response {
    page(
        texts,
        StatusCode::OK,
        texts.pick("Address confirmed", "Adresse bestätigt"),
        html! { p data-testid="email-confirmed" {
        (texts.pick("Replies to your request now reach you at ", "Antworten auf Ihre Anfrage erreichen Sie jetzt unter "))
        strong { (email) } "." } },
    )
}

async fn confirm(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<TokenQuery>,
) -> Result<Response, AppError> {
    let (ticket, email, texts) = match checked(&state, &id, &form.token).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let (key, address, now) = (ticket.to_string(), email.clone(), now_ms());
    storage::blocking(&state.storage, move |s| {
        s.confirm_email(&key, &address, now)
    })
    .await?;
    tracing::info!(%ticket, "a customer confirmed their email address");
    Ok(done(&texts, &email))
}
