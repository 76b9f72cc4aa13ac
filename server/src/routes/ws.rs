//! `GET /ws?site=KEY`: the customer sync socket.

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures_util::FutureExt;
use serde::Deserialize;
use stufe_shared::protocol::MAX_FRAME_BYTES;
use stufe_shared::validate::Role;
use stufe_shared::SiteKey;

use super::ClientIp;
use crate::error::AppError;
use crate::sync::session::{self, SessionContext};
use crate::AppState;

/// Bytes read from a socket at a time (a larger frame grows the buffer as it
/// arrives). The buffer stays with the connection at the size it grew to:
/// 256 instead of 512 took an idle widget from 8.6–8.8 to 8.3–8.4 KiB
/// (`connections` bench) at no measurable cost per creation (`reference`
/// bench: 375 µs, 400 with 512); 128 saved nothing more.
const READ_BUFFER_BYTES: usize = 256;

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(upgrade))
}

#[derive(Deserialize)]
struct WsQuery {
    site: String,
}

async fn upgrade(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    Query(query): Query<WsQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let site: SiteKey = query
        .site
        .parse()
        .map_err(|_| AppError::bad_request("bad site key"))?;
    let config = state
        .site(&site)
        .await?
        .ok_or_else(|| AppError::not_found("unknown site"))?;
    let socket = state.limiter.open_socket(address).ok_or_else(|| {
        tracing::warn!(%address, "socket refused: the address has its limit of sockets open");
        AppError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many open connections from this address (at most {}); close some and try again",
                state.limiter.limits().sockets_per_address
            ),
        )
    })?;
    let created_on = site.clone();
    let ctx = SessionContext {
        hub: state.hub.clone(),
        presence: state.presence.clone(),
        storage: state.storage.clone(),
        site,
        config,
        role: Role::Customer,
        shutdown: state.shutdown.clone(),
        link_key: state.link_key.clone(),
        address,
        limiter: state.limiter.clone(),
        on_created: {
            let state = state.clone();
            std::sync::Arc::new(move |id, customer| {
                let (state, site) = (state.clone(), created_on.clone());
                Box::pin(async move {
                    crate::mail::ticket_created(&state, id, customer.as_ref()).await;
                    // Routing and assignment do not hold up the customer's acknowledgement.
                    let rules = state.clone();
                    state.tracker.spawn(async move {
                        crate::desk::automation::on_created(&rules, site.as_str(), id).await;
                    });
                })
            })
        },
    };
    let tracker = state.tracker.clone();
    // Frames up to 4x our own limit reach the session, which answers them with a
    // clear `frame_too_large` error; anything larger is closed by the socket layer.
    // The socket layer's default read buffer is 128 KiB per connection and is
    // zero-filled up to that size on every read; most frames are a few hundred
    // bytes, so a small buffer (grown for a large frame as it arrives) keeps an
    // idle widget light and a read cheap.
    Ok(ws
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(4 * MAX_FRAME_BYTES)
        .on_upgrade(move |ws| {
            // The session runs in a task of its own, sized to it: awaited
            // here, it would live on in the socket layer's upgrade task, which
            // is also sized for the handshake (about 770 B more per open
            // widget). And not in an `async` block around `run`: awaiting a
            // captured future keeps room for it twice (the capture and the
            // awaited), and this future is an idle widget's whole connection.
            let run = session::run(ws, ctx);
            // The socket is counted against the address for as long as the session runs.
            tracker.spawn(run.map(move |()| drop(socket)));
            std::future::ready(())
        }))
}
