//! Hears what other servers wrote: PostgreSQL `LISTEN` on the channels the
//! schema's triggers notify (`stufe_docs`: a document's new position;
//! `stufe_tickets`: a site whose ticket queue changed; `stufe_sites`: a site
//! whose settings changed) and the channel presence is announced on
//! (`stufe_presence`: who is typing or viewing a ticket).
//!
//! Notifications are delivered when the writing transaction commits, in
//! commit order, to every listening connection. One that was not listening
//! (a dropped connection) misses them, so after every (re)connect the hub is
//! told to catch up every document it holds.

use std::time::Duration;

use ::postgres::{Config, NoTls};
use tokio::sync::mpsc::UnboundedSender;

/// What the listener heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announcement {
    /// `doc_id` was written up to position `seq`.
    Doc { doc_id: String, seq: i64 },
    /// A ticket of `site` was created or changed.
    Tickets { site: String },
    /// The settings of `site` changed.
    Site { site: String },
    /// Someone is typing or viewing a ticket (a presence signal, as sent).
    Presence { payload: String },
    /// The listener (re)connected: anything may have been missed before.
    Listening,
}

/// Parses a `stufe_docs` payload: `<seq> <doc id>`.
fn parse_doc(payload: &str) -> Option<Announcement> {
    let (seq, doc_id) = payload.split_once(' ')?;
    Some(Announcement::Doc {
        doc_id: doc_id.to_owned(),
        seq: seq.parse().ok()?,
    })
}

/// Listens on its own connection, on a thread of its own, until `sink` is
/// closed; reconnects (after a pause) when the connection drops.
pub fn spawn(config: Config, sink: UnboundedSender<Announcement>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("stufe-pg-listen".into())
        .spawn(move || run(&config, &sink))
        .map(drop)
}

fn run(config: &Config, sink: &UnboundedSender<Announcement>) {
    while !sink.is_closed() {
        match config.connect(NoTls) {
            Ok(mut client) => {
                if let Err(err) = client
                    .batch_execute("LISTEN stufe_docs; LISTEN stufe_tickets; LISTEN stufe_sites; LISTEN stufe_presence")
                {
                    tracing::warn!(%err, "cannot listen for other servers' changes");
                } else if sink.send(Announcement::Listening).is_ok() {
                    hear(&mut client, sink);
                }
            }
            Err(err) => tracing::warn!(%err, "cannot connect to listen for other servers' changes"),
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Passes notifications on until the connection fails or `sink` is closed.
fn hear(client: &mut ::postgres::Client, sink: &UnboundedSender<Announcement>) {
    loop {
        let mut notifications = client.notifications();
        let mut heard = notifications.timeout_iter(Duration::from_millis(500));
        match fallible_next(&mut heard) {
            Ok(Some(note)) => {
                let announcement = match note.channel() {
                    "stufe_docs" => parse_doc(note.payload()),
                    "stufe_tickets" => Some(Announcement::Tickets {
                        site: note.payload().to_owned(),
                    }),
                    "stufe_sites" => Some(Announcement::Site {
                        site: note.payload().to_owned(),
                    }),
                    "stufe_presence" => Some(Announcement::Presence {
                        payload: note.payload().to_owned(),
                    }),
                    _ => None,
                };
                if let Some(announcement) = announcement {
                    if sink.send(announcement).is_err() {
                        return;
                    }
                }
            }
            Ok(None) if sink.is_closed() => return,
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(%err, "lost the connection that listens for other servers' changes");
                return;
            }
        }
    }
}

fn fallible_next(
    iter: &mut ::postgres::notifications::TimeoutIter<'_>,
) -> Result<Option<::postgres::Notification>, ::postgres::Error> {
    use ::postgres::fallible_iterator::FallibleIterator;
    iter.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_doc_payload_names_position_and_document() {
        assert_eq!(
            parse_doc("42 kb:demo:en"),
            Some(Announcement::Doc {
                doc_id: "kb:demo:en".into(),
                seq: 42
            })
        );
        assert_eq!(parse_doc("x kb:demo:en"), None);
        assert_eq!(parse_doc("42"), None);
    }
}
