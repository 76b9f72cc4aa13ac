//! A site's webhook endpoints (admins): add one (its secret shown once),
//! remove one, see its last deliveries and send one again.

use super::*;
use crate::desk::webhooks::{self as desk_webhooks, AddedEndpoint, NewEndpoint};
use crate::events::EVENTS;
use crate::webhooks::FORMATS;

/// Deliveries shown under each endpoint.
const SHOWN: u32 = 20;

pub(super) async fn show(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Markup, AppError> {
    render(&state, &user, &site, None, None).await
}

/// The form: `url`, `format`, and one `events` field per event chosen.
pub(super) async fn add(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(site): Path<String>,
    body: axum::body::Bytes,
) -> Result<Markup, AppError> {
    let (mut url, mut format, mut events) = (String::new(), None, Vec::new());
    for (name, value) in form_urlencoded::parse(&body) {
        match &*name {
            "url" => url = value.into_owned(),
            "format" => format = Some(value.into_owned()),
            "events" => events.push(value.into_owned()),
            _ => {}
        }
    }
    let new = NewEndpoint {
        site: site.clone(),
        url,
        events,
        format,
    };
    match desk_webhooks::add_endpoint(&state, &user, new).await {
        Ok(added) => render(&state, &user, &site, Some(&added), None).await,
        Err(err) if err.is_input_error() => {
            render(&state, &user, &site, None, Some(&err.to_string())).await
        }
        Err(err) => Err(err.into()),
    }
}

pub(super) async fn remove(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path((site, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    desk_webhooks::remove_endpoint(&state, &user, &site, id).await?;
    Ok(see_other(&format!("/console/sites/{site}/webhooks")))
}

pub(super) async fn resend(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path((site, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    desk_webhooks::resend(&state, &user, &site, id).await?;
    Ok(see_other(&format!("/console/sites/{site}/webhooks")))
}

async fn render(
    state: &AppState,
    user: &StaffMember,
    site: &str,
    added: Option<&AddedEndpoint>,
    error: Option<&str>,
) -> Result<Markup, AppError> {
    let endpoints = desk_webhooks::endpoints_of(state, user, site).await?;
    let mut deliveries = Vec::with_capacity(endpoints.len());
    for endpoint in &endpoints {
        deliveries.push(desk_webhooks::deliveries_of(state, user, site, endpoint.id, SHOWN).await?);
    }
    let tz = user.timezone.clone();
    Ok(page(
        "Webhooks",
        Some(user),
        html! {
            p { a href={ "/console/sites/" (site) } { "Back to the site " (site) } }
            p { "Each event is POSTed as JSON to the endpoints that want it, "
                "signed with the endpoint's secret (header " code { "Stufe-Signature" } ", see " code { "docs/integrate.md" } "), "
                "and tried again with growing pauses until the endpoint answers 2xx." }
            @if let Some(error) = error { p.error role="alert" data-testid="webhook-error" { (error) } }
            @if let Some(added) = added {
                div.card role="status" data-testid="webhook-added" {
                    p { "Added. Its secret, shown only now — keep it where the receiver checks signatures:" }
                    p { code data-testid="webhook-secret" { (added.secret) } }
                }
            }
            @for (endpoint, sent) in endpoints.iter().zip(&deliveries) {
                div.card data-testid="webhook-endpoint" {
                    p { strong { (endpoint.url) } " (" (endpoint.format) ") — " (endpoint.events.join(", ")) }
                    form.inline method="post" action={ "/console/sites/" (site) "/webhooks/" (endpoint.id) "/delete" } { (csrf::field())
                        button { "Remove" }
                    }
                    @if sent.is_empty() { p { "No deliveries yet." } } @else {
                        table {
                            tr { th { "Event" } th { "Happened" } th { "Tries" } th { "Outcome" } th {} }
                            @for d in sent {
                                tr data-testid="webhook-delivery" {
                                    td { (d.event) }
                                    td { (format_time(d.created_at, &tz)) }
                                    td { (d.attempts) }
                                    td {
                                        @if let Some(at) = d.delivered_at { "delivered " (format_time(at, &tz)) }
                                        @else if let Some(next) = d.next_at {
                                            "waiting, next try " (format_time(next, &tz))
                                            @if let Some(e) = &d.last_error { " — " (e) }
                                        }
                                        @else { strong.error { "given up" } @if let Some(e) = &d.last_error { " — " (e) } }
                                    }
                                    td { form.inline method="post" action={ "/console/sites/" (site) "/webhooks/deliveries/" (d.id) "/resend" } { (csrf::field())
                                        button { "Send again" }
                                    } }
                                }
                            }
                        }
                    }
                }
            }
            form.card method="post" action={ "/console/sites/" (site) "/webhooks" } { (csrf::field())
                h2 { "Add an endpoint" }
                p { label { "URL " input type="url" name="url" required maxlength="2000" size="60" placeholder="https://hooks.example.com/stufe" data-testid="webhook-url"; } }
                fieldset { legend { "Events" }
                    @for event in EVENTS { label { input type="checkbox" name="events" value=(event); " " (event) } " " }
                }
                p { label { "Format "
                    select name="format" { @for f in FORMATS { option value=(f) { (f) } } }
                } " (" code { "slack" } ": a Slack incoming-webhook message)" }
                button data-testid="add-webhook" { "Add" }
            }
        },
    ))
}
