//! The server's own SMTP listener for customers' answers to notification
//! emails (`STUFE_INBOUND_SMTP_ADDR`): the mail server the reply domain's MX
//! names delivers to it, or the domain's MX is this listener. It speaks
//! the part of SMTP (RFC 5321) a delivering mail server uses — `EHLO`/`HELO`,
//! `MAIL FROM`, one `RCPT TO` per message, `DATA`, `RSET`, `NOOP`, `QUIT` —
//! and decides at once: a recipient that is not a reply address this server
//! signed is refused at `RCPT`, an answer that cannot be posted is refused
//! after `DATA` with the reason, so the sender's mail server tells them; mail
//! no person wrote is taken and dropped. No TLS and no AUTH: put it behind
//! the domain's mail server, or on a network you trust.
//!
//! (No well-kept async SMTP server crate exists; the receiving side of SMTP
//! is this small, and the MIME parsing is [`mail_parser`]'s.)

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::desk::email_replies::{self, Posted};
use crate::mail::inbound::{NotPosted, MAX_MESSAGE_BYTES};
use crate::AppState;
use stufe_shared::TicketId;

/// Connections served at once; one more is told to come back later.
pub const MAX_CONNECTIONS: usize = 64;
/// How long the listener waits for the next command or line of a message.
pub const IDLE: Duration = Duration::from_secs(60);
/// The longest command line (RFC 5321 allows 512 octets; extensions add some).
const MAX_COMMAND: usize = 2_048;
/// The longest line of a message (RFC 5321: 1,000 with the line end).
const MAX_TEXT_LINE: usize = 16 * 1024;
/// Wrong commands before the listener hangs up.
const MAX_ERRORS: u32 = 10;

/// Serves until `shutdown`.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: CancellationToken) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(%err, "accepting an SMTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => return,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            let mut stream = stream;
            let _ = stream
                .write_all(b"421 4.3.2 Too busy, try again later\r\n")
                .await;
            continue;
        };
        let state = state.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                outcome = session(stream, &state) => {
                    if let Err(err) = outcome {
                        tracing::debug!(%err, %peer, "SMTP session ended");
                    }
                }
                () = stop.cancelled() => {}
            }
            drop(slot);
        });
    }
}

/// One envelope being received.
#[derive(Default)]
struct Envelope {
    /// `MAIL FROM` was given (empty for a bounce).
    from: Option<String>,
    ticket: Option<TicketId>,
}

async fn session(stream: TcpStream, state: &AppState) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let host = state
        .config
        .mail_reply_domain
        .clone()
        .unwrap_or_else(|| "stufe".into());
    reply(&mut write, &format!("220 {host} Stufe ESMTP ready")).await?;
    let mut greeted = false;
    let mut envelope = Envelope::default();
    let mut errors = 0;
    loop {
        let Some(line) = read_line(&mut read, MAX_COMMAND).await? else {
            return Ok(());
        };
        let Ok(line) = String::from_utf8(line) else {
            errors += 1;
            reply(&mut write, "500 5.5.2 Commands are ASCII").await?;
            continue;
        };
        let line = line.trim_end_matches(['\r', '\n']);
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let answer = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                greeted = true;
                envelope = Envelope::default();
                format!(
                    "250-{host}\r\n250-SIZE {MAX_MESSAGE_BYTES}\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES"
                )
            }
            "HELO" => {
                greeted = true;
                envelope = Envelope::default();
                format!("250 {host}")
            }
            "MAIL" if !greeted => "503 5.5.1 Say EHLO first".into(),
            "MAIL" => match mail_from(rest) {
                Ok(from) => {
                    envelope = Envelope {
                        from: Some(from),
                        ticket: None,
                    };
                    "250 2.1.0 OK".into()
                }
                Err(answer) => answer.into(),
            },
            "RCPT" if envelope.from.is_none() => "503 5.5.1 MAIL FROM first".into(),
            "RCPT" if envelope.ticket.is_some() => {
                "452 4.5.3 One request per message; send the others separately".into()
            }
            "RCPT" => match path(rest, "TO:") {
                Some(to) => match email_replies::ticket_of_recipient(state, &to) {
                    Some(ticket) => {
                        envelope.ticket = Some(ticket);
                        "250 2.1.5 OK".into()
                    }
                    None => "550 5.1.1 No such reply address".into(),
                },
                None => "501 5.5.4 Syntax: RCPT TO:<address>".into(),
            },
            "DATA" => match (&envelope.from, envelope.ticket) {
                (Some(from), Some(ticket)) => {
                    reply(&mut write, "354 End the message with <CR><LF>.<CR><LF>").await?;
                    let answer = match read_message(&mut read).await? {
                        Some(raw) => deliver(state, ticket, from, &raw).await,
                        None => format!(
                            "552 5.3.4 A message may have at most {MAX_MESSAGE_BYTES} bytes"
                        ),
                    };
                    envelope = Envelope::default();
                    answer
                }
                _ => "503 5.5.1 RCPT TO first".into(),
            },
            "RSET" => {
                envelope = Envelope::default();
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "VRFY" => "252 2.5.0 Cannot verify; send the message".into(),
            "QUIT" => {
                reply(&mut write, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => {
                errors += 1;
                "500 5.5.2 Unknown command".into()
            }
        };
        if answer.starts_with('5') && !answer.starts_with("550") {
            errors += 1;
        }
        if errors >= MAX_ERRORS {
            reply(&mut write, "421 4.7.0 Too many errors").await?;
            return Ok(());
        }
        reply(&mut write, &answer).await?;
    }
}

/// The answer after `DATA` for the message `raw`.
async fn deliver(state: &AppState, ticket: TicketId, from: &str, raw: &[u8]) -> String {
    match email_replies::post(state, ticket, from, raw).await {
        Ok(Posted::Reply(_)) => "250 2.0.0 Posted to the request".into(),
        Ok(Posted::AlreadyPosted) => "250 2.0.0 Posted before".into(),
        Err(NotPosted::Dropped(why)) => {
            tracing::info!(ticket = %ticket, why, "an email to a reply address was dropped");
            "250 2.0.0 Taken".into()
        }
        Err(NotPosted::Refused(why)) => format!("550 5.7.1 {}", one_line(&why)),
        Err(NotPosted::Unavailable) => "451 4.3.0 Try again later".into(),
    }
}

/// The reverse path of `MAIL FROM:<path> [parameters]` (empty for a bounce).
fn mail_from(rest: &str) -> Result<String, &'static str> {
    let from = path(rest, "FROM:").ok_or("501 5.5.4 Syntax: MAIL FROM:<address>")?;
    let too_big = rest
        .split_whitespace()
        .filter_map(|p| p.strip_prefix("SIZE=").or_else(|| p.strip_prefix("size=")))
        .filter_map(|n| n.parse::<usize>().ok())
        .any(|n| n > MAX_MESSAGE_BYTES);
    if too_big {
        return Err("552 5.3.4 The message is too big");
    }
    Ok(from)
}

/// The address in `<…>` after `keyword` (case-insensitive).
fn path(rest: &str, keyword: &str) -> Option<String> {
    let rest = rest.trim_start();
    if !rest.get(..keyword.len())?.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = rest[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].trim().to_owned())
}

/// The message after `DATA`, dot-unstuffed, with CRLF line ends; None when
/// it was larger than [`MAX_MESSAGE_BYTES`] (read to its end all the same).
async fn read_message<R: AsyncBufReadExt + Unpin>(
    read: &mut R,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut message = Vec::new();
    let mut too_big = false;
    loop {
        let Some(line) = read_line(read, MAX_TEXT_LINE).await? else {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        };
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text == b"." {
            return Ok((!too_big).then_some(message));
        }
        let text = text.strip_prefix(b".").unwrap_or(text);
        if message.len() + text.len() + 2 > MAX_MESSAGE_BYTES {
            too_big = true;
            message = Vec::new();
        }
        if !too_big {
            message.extend_from_slice(text);
            message.extend_from_slice(b"\r\n");
        }
    }
}

/// One line (with its end) of at most `max` bytes, waiting at most [`IDLE`];
/// None at the end of the stream. A longer line is an error.
async fn read_line<R: AsyncBufReadExt + Unpin>(
    read: &mut R,
    max: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX);
    let n = tokio::time::timeout(IDLE, read.take(limit).read_until(b'\n', &mut line))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    if n == 0 {
        return Ok(None);
    }
    if !line.ends_with(b"\n") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "line too long",
        ));
    }
    Ok(Some(line))
}

/// `text` as one line of printable ASCII, for an SMTP reply.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(400)
        .collect()
}

async fn reply<W: AsyncWrite + Unpin>(write: &mut W, text: &str) -> std::io::Result<()> {
    write.write_all(format!("{text}\r\n").as_bytes()).await?;
    write.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_from_mail_and_rcpt_commands() {
        assert_eq!(
            path("FROM:<jo@example.com>", "FROM:").as_deref(),
            Some("jo@example.com")
        );
        assert_eq!(
            path("from: <jo@example.com> SIZE=10", "FROM:").as_deref(),
            Some("jo@example.com")
        );
        assert_eq!(path("FROM:<>", "FROM:").as_deref(), Some(""));
        assert_eq!(path("TO:jo@example.com", "TO:"), None);
        assert_eq!(path("FROM:<jo@example.com>", "TO:"), None);
        assert!(mail_from("FROM:<jo@example.com> SIZE=99999999999").is_err());
        assert_eq!(
            mail_from("FROM:<jo@example.com> SIZE=100").unwrap(),
            "jo@example.com"
        );
    }

    #[tokio::test]
    async fn a_message_is_dot_unstuffed_and_ends_at_the_lone_dot() {
        let mut input: &[u8] = b"Subject: x\r\n\r\n..leading dot\r\nline\n.\r\nQUIT\r\n";
        let mut read = BufReader::new(&mut input);
        let message = read_message(&mut read).await.unwrap().unwrap();
        assert_eq!(message, b"Subject: x\r\n\r\n.leading dot\r\nline\r\n");
        let rest = read_line(&mut read, MAX_COMMAND).await.unwrap().unwrap();
        assert_eq!(rest, b"QUIT\r\n");
    }

    #[tokio::test]
    async fn a_too_long_line_is_an_error() {
        let long = format!("{}\r\n", "x".repeat(MAX_COMMAND + 10));
        let mut input = long.as_bytes();
        let mut read = BufReader::new(&mut input);
        assert!(read_line(&mut read, MAX_COMMAND).await.is_err());
    }
}
