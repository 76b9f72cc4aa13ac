//! Staff presence on a ticket: typing a reply (shown to the customer's
//! widget and to colleagues) and having the ticket open (shown to
//! colleagues), with what the staff member sees of the others.

use std::sync::Arc;

use futures_util::Stream;
use stufe_shared::TicketId;

use super::requests::ticket_for;
use super::{site_key, DeskError};
use crate::storage::StaffMember;
use crate::sync::presence::{Presence, Seen, Signal, VIEWING_EVERY};
use crate::AppState;

/// How often a watcher looks again whether what it sees has expired.
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_secs(1);

/// `member` is typing a reply in `ticket`: the customer's widgets show it
/// (with `member`'s name if the site shows staff names), and so do colleagues
/// on the ticket's page. Typing said again within the minimum gap is dropped.
pub async fn typing(
    state: &AppState,
    member: &StaffMember,
    ticket: TicketId,
) -> Result<(), DeskError> {
    let site = ticket_for(state, member, ticket).await?.site;
    let show_names = state
        .site(&site_key(&site)?)
        .await?
        .is_some_and(|c| c.show_staff_names);
    state
        .presence
        .signal(Signal::StaffTyping {
            ticket,
            staff: member.id,
            name: member.name.clone(),
            shown_as: show_names.then(|| member.name.clone()),
        })
        .await;
    Ok(())
}

/// `member` has `ticket` open for as long as the returned stream is held: it
/// yields what they see of the others there (the customer typing, colleagues
/// viewing or typing) at once and whenever that changes. Dropping it says
/// they left.
pub async fn watch(
    state: &AppState,
    member: &StaffMember,
    ticket: TicketId,
) -> Result<impl Stream<Item = Seen> + Send + 'static, DeskError> {
    ticket_for(state, member, ticket).await?;
    let viewer = Viewer {
        presence: state.presence.clone(),
        ticket,
        staff: member.id,
        name: member.name.clone(),
    };
    viewer.say_viewing().await;
    let watching = Watching {
        changes: state.presence.watch(),
        heartbeat: tokio::time::interval_at(
            tokio::time::Instant::now() + VIEWING_EVERY,
            VIEWING_EVERY,
        ),
        look_again: tokio::time::interval(LOOK_AGAIN),
        shown: None,
        viewer,
    };
    Ok(futures_util::stream::unfold(watching, |mut w| async move {
        let seen = w.next_change().await;
        Some((seen, w))
    }))
}

struct Viewer {
    presence: Arc<Presence>,
    ticket: TicketId,
    staff: i64,
    name: String,
}

impl Viewer {
    async fn say_viewing(&self) {
        self.presence
            .signal(Signal::StaffViewing {
                ticket: self.ticket,
                staff: self.staff,
                name: self.name.clone(),
            })
            .await;
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let presence = Arc::clone(&self.presence);
        let left = Signal::StaffLeft {
            ticket: self.ticket,
            staff: self.staff,
        };
        // Dropped outside a runtime (a server shutting down): other servers
        // forget the viewer when their time is up.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                presence.signal(left).await;
            });
        }
    }
}

struct Watching {
    viewer: Viewer,
    changes: tokio::sync::broadcast::Receiver<TicketId>,
    heartbeat: tokio::time::Interval,
    look_again: tokio::time::Interval,
    /// What was yielded last.
    shown: Option<Seen>,
}

impl Watching {
    async fn next_change(&mut self) -> Seen {
        loop {
            let seen = self
                .viewer
                .presence
                .seen_by(self.viewer.ticket, self.viewer.staff);
            if self.shown.as_ref() != Some(&seen) {
                self.shown = Some(seen.clone());
                return seen;
            }
            tokio::select! {
                changed = self.changes.recv() => {
                    // Lagged: look anyway.
                    if matches!(changed, Ok(t) if t != self.viewer.ticket) {
                        continue;
                    }
                }
                _ = self.heartbeat.tick() => self.viewer.say_viewing().await,
                _ = self.look_again.tick() => {}
            }
        }
    }
}
