//! A customer's answer to a notification email becomes their reply in the
//! ticket, live in the console and the widget, exactly as if they had
//! written it in the widget (checked as a customer's change). The mail must
//! go to the ticket's signed reply address, come from the address the
//! ticket's emails go to (the one its customer confirmed), and be written by
//! a person ([`crate::mail::inbound`]); a mail server that sends the same
//! message again (same `Message-ID`) posts it once.

use sha2::{Digest, Sha256};
use stufe_shared::ticket::{self, Author, NewMessage};
use stufe_shared::validate::MAX_NAME_CHARS;
use stufe_shared::TicketId;

use crate::clock::now_ms;
use crate::desk::attachments::{Party, UploadError};
use crate::mail::inbound::{self, NotPosted};
use crate::storage;
use crate::sync::HubError;
use crate::AppState;
use stufe_shared::files::MAX_FILES_PER_MESSAGE;

/// What became of an answer that was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Appended to the ticket's thread as this message id.
    Reply(String),
    /// The same mail was posted before (a mail server sent it again).
    AlreadyPosted,
}

/// The ticket `recipient` is the reply address of, if this server signed it.
pub fn ticket_of_recipient(state: &AppState, recipient: &str) -> Option<TicketId> {
    let domain = state.config.mail_reply_domain.as_deref()?;
    crate::links::ticket_of_reply_address(&state.link_key, recipient, domain)
}

/// Posts the raw mail `raw` (from `envelope_from`, to ticket `id`'s reply
/// address) as the customer's reply.
pub async fn post(
    state: &AppState,
    id: TicketId,
    envelope_from: &str,
    raw: &[u8],
) -> Result<Posted, NotPosted> {
    let own = own_address(&state.config.mail_from);
    let reply = inbound::read_reply(raw, envelope_from, &own)?;
    let refused = |why: &str| NotPosted::Refused(why.to_owned());
    let ticket = match state.hub.read_ticket(id).await {
        Ok(ticket) => ticket,
        Err(HubError::NotFound) => return Err(refused("there is no such request")),
        Err(err) => return Err(unavailable(&err)),
    };
    let key = ticket.id.clone();
    let confirmed = storage::blocking(&state.storage, move |s| s.confirmed_email(&key))
        .await
        .map_err(|err| unavailable(&err))?;
    if !confirmed.is_some_and(|c| c.eq_ignore_ascii_case(&reply.from)) {
        return Err(refused(
            "only the address this request's emails go to can answer it by email; use the link in the email instead",
        ));
    }
    let message_id = message_id(&reply);
    if ticket.messages.iter().any(|m| m.id == message_id) {
        return Ok(Posted::AlreadyPosted);
    }
    // The mail's files, stored for the ticket as a customer's uploads; one
    // that is not taken is named in the text, so staff know it was sent.
    let mut files = Vec::new();
    let mut body = reply.text;
    for attached in reply.attachments {
        let name = attached.name.clone();
        match crate::desk::attachments::upload(
            state,
            Party::VerifiedSender,
            id,
            &name,
            attached.bytes,
        )
        .await
        {
            Ok(file) if files.len() < MAX_FILES_PER_MESSAGE => files.push(file),
            Ok(_) => body.push_str(&format!(
                "\n[Not attached: {name} (at most {MAX_FILES_PER_MESSAGE} files a message)]"
            )),
            Err(UploadError::Desk(crate::desk::DeskError::Storage(err))) => {
                return Err(unavailable(&err))
            }
            Err(why) => body.push_str(&format!("\n[Not attached: {name} ({why})]")),
        }
    }
    let message = NewMessage {
        id: message_id.clone(),
        author: Author::Customer,
        name: reply.name.chars().take(MAX_NAME_CHARS).collect(),
        body: body.trim().to_owned(),
        at: now_ms(),
    };
    let posted = state
        .hub
        .customer_change(id, |doc, _| {
            ticket::append_message_with_files(doc, &message, &files)
                .map_err(|err| HubError::Rejected(err.to_string()))
        })
        .await;
    match posted {
        Ok(_) => {
            tracing::info!(ticket = %id, "a customer's answer by email was posted");
            Ok(Posted::Reply(message_id))
        }
        // The gate's reason (too long, too many messages) is the sender's to read.
        Err(HubError::Rejected(why)) => Err(NotPosted::Refused(why)),
        Err(HubError::NotFound) => Err(refused("there is no such request")),
        Err(err) => Err(unavailable(&err)),
    }
}

/// The message id in the thread: from the mail's `Message-ID` (else its
/// sender and text), so the same mail always gets the same one.
fn message_id(reply: &inbound::EmailReply) -> String {
    let source = match &reply.message_id {
        Some(id) => format!("message-id:{id}"),
        None => format!("text:{}:{}", reply.from, reply.text),
    };
    let digest = Sha256::digest(source.as_bytes());
    format!("mail-{}", hex::encode(&digest[..12]))
}

/// The bare address of `STUFE_MAIL_FROM` (`Name <address>` or `address`).
fn own_address(mail_from: &str) -> String {
    let inner = match (mail_from.rfind('<'), mail_from.rfind('>')) {
        (Some(start), Some(end)) if start < end => &mail_from[start + 1..end],
        _ => mail_from,
    };
    inner.trim().to_ascii_lowercase()
}

/// Storage failed: the sender's mail server keeps the mail and tries again.
fn unavailable(err: &dyn std::fmt::Display) -> NotPosted {
    tracing::error!(%err, "posting a customer's answer by email failed");
    NotPosted::Unavailable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_address_is_read_from_the_sender_setting() {
        assert_eq!(
            own_address("Stufe Support <Support@Shop.Example>"),
            "support@shop.example"
        );
        assert_eq!(own_address("support@shop.example"), "support@shop.example");
    }

    #[test]
    fn the_same_mail_gets_the_same_message_id() {
        let reply = |id: Option<&str>, text: &str| inbound::EmailReply {
            from: "jo@example.com".into(),
            name: "Jo".into(),
            message_id: id.map(str::to_owned),
            text: text.into(),
            attachments: Vec::new(),
        };
        let a = message_id(&reply(Some("a@x"), "Yes"));
        assert_eq!(a, message_id(&reply(Some("a@x"), "Yes")));
        assert_ne!(a, message_id(&reply(Some("b@x"), "Yes")));
        assert_ne!(
            message_id(&reply(None, "Yes")),
            message_id(&reply(None, "No"))
        );
        assert!(a.starts_with("mail-") && a.len() <= 64, "{a}");
    }
}
