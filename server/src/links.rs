//! Links to a ticket in emails: `…/w/frame.html?site=SITE#ticket=ID&grant=GRANT`
//! opens the widget on the ticket in any browser. The grant
//! (`g1.<expiry>.<signature>`) is an HMAC-SHA256 by a key of the server's
//! own over the ticket id and the expiry; it opens that one ticket, as its
//! customer, until it expires. It travels in the link's fragment, which
//! browsers do not send to servers or in `Referer`. A grant issued at or
//! before the ticket's links were revoked (staff's "Revoke email links")
//! opens nothing: see [`issued_at`].
//!
//! The link in a confirmation email, `…/email/confirm/ID?token=TOKEN`
//! (`c1.<expiry>.<signature>`, over the ticket id, its address and the
//! expiry), lets the customer confirm that address: see [`crate::mail`].
//!
//! The reply address of a notification email,
//! `reply+<ticket id>.<signature>@<reply domain>`, names the ticket a mailed
//! answer belongs to; the signature (the first 12 bytes of an HMAC-SHA256
//! over the ticket id, as hex) shows the server made it: see
//! [`reply_address`] and [`ticket_of_reply_address`].

use hmac::{Hmac, Mac};
use sha2::Sha256;
use stufe_shared::{SiteKey, TicketId};

/// The name of the server secret that signs ticket links.
pub const KEY_NAME: &str = "ticket-links";
/// How long a link in an email opens its ticket.
pub const VALID_DAYS: i64 = 30;
const PREFIX: &str = "g1.";

fn signature(key: &str, id: TicketId, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(format!("stufe-ticket-link:{id}:{expires}").as_bytes());
    mac
}

/// The expiry and signature of `text` (`<prefix><expiry>.<hex signature>`),
/// if it has that shape and has not expired at `now`.
fn unexpired(prefix: &str, text: &str, now: i64) -> Option<(i64, Vec<u8>)> {
    let (expires, sig) = text.strip_prefix(prefix)?.split_once('.')?;
    let (expires, sig) = (expires.parse::<i64>().ok()?, hex::decode(sig).ok()?);
    (expires > now).then_some((expires, sig))
}

/// A grant for ticket `id` until `expires` (seconds since the epoch).
pub fn grant(key: &str, id: TicketId, expires: i64) -> String {
    format!(
        "{PREFIX}{expires}.{}",
        hex::encode(signature(key, id, expires).finalize().into_bytes())
    )
}

/// When `grant` was issued (seconds since the epoch), read from its expiry;
/// None if it is not a grant.
pub fn issued_at(grant: &str) -> Option<i64> {
    let expires: i64 = grant
        .strip_prefix(PREFIX)?
        .split_once('.')?
        .0
        .parse()
        .ok()?;
    Some(expires - VALID_DAYS * 86_400)
}

/// How long the link in a confirmation email confirms the address.
pub const CONFIRM_VALID_DAYS: i64 = 7;
const CONFIRM_PREFIX: &str = "c1.";

fn confirm_signature(key: &str, id: TicketId, email: &str, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(format!("stufe-confirm-email:{id}:{expires}:{email}").as_bytes());
    mac
}

/// A token that confirms `email` as the address of ticket `id`, until `expires` (seconds).
pub fn confirm_token(key: &str, id: TicketId, email: &str, expires: i64) -> String {
    let sig = confirm_signature(key, id, email, expires)
        .finalize()
        .into_bytes();
    format!("{CONFIRM_PREFIX}{expires}.{}", hex::encode(sig))
}

/// Whether `token` is an unexpired confirmation of `email` for ticket `id`.
pub fn check_confirm_token(key: &str, id: TicketId, email: &str, token: &str, now: i64) -> bool {
    unexpired(CONFIRM_PREFIX, token, now).is_some_and(|(expires, sig)| {
        confirm_signature(key, id, email, expires)
            .verify_slice(&sig)
            .is_ok()
    })
}

/// The link in the email that asks the customer of ticket `id` to confirm `email`.
pub fn confirm_url(public_url: &str, key: &str, id: TicketId, email: &str, now: i64) -> String {
    let token = confirm_token(key, id, email, now + CONFIRM_VALID_DAYS * 86_400);
    format!(
        "{}/email/confirm/{id}?token={token}",
        public_url.trim_end_matches('/')
    )
}

/// Whether `text` is a grant at all (rather than a capability token).
pub fn is_grant(text: &str) -> bool {
    text.starts_with(PREFIX)
}

/// Whether `text` is an unexpired grant for ticket `id` signed with `key`.
pub fn check(key: &str, id: TicketId, text: &str, now: i64) -> bool {
    unexpired(PREFIX, text, now)
        .is_some_and(|(expires, sig)| signature(key, id, expires).verify_slice(&sig).is_ok())
}

/// The link that opens ticket `id` of `site` in the widget, valid for [`VALID_DAYS`].
pub fn ticket_url(public_url: &str, key: &str, site: &SiteKey, id: TicketId, now: i64) -> String {
    let grant = grant(key, id, now + VALID_DAYS * 86_400);
    format!(
        "{}/w/frame.html?site={site}#ticket={id}&grant={grant}",
        public_url.trim_end_matches('/')
    )
}

/// Hex digits of the signature in a reply address (96 bits): the local part
/// (`reply+` 6, the id 32, `.` 1, this) stays within SMTP's 64 characters.
const REPLY_SIGNATURE_HEX: usize = 24;
const REPLY_PREFIX: &str = "reply+";

fn reply_signature(key: &str, id: TicketId) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(format!("stufe-reply-address:{id}").as_bytes());
    let mut sig = hex::encode(mac.finalize().into_bytes());
    sig.truncate(REPLY_SIGNATURE_HEX);
    sig
}

/// The address a customer's answer to an email about ticket `id` goes to.
pub fn reply_address(key: &str, id: TicketId, domain: &str) -> String {
    format!("{REPLY_PREFIX}{id}.{}@{domain}", reply_signature(key, id))
}

/// The ticket `address` is the reply address of, if it is one signed with
/// `key` at `domain` (letters in any case: some mail servers change it).
pub fn ticket_of_reply_address(key: &str, address: &str, domain: &str) -> Option<TicketId> {
    let address = address.to_ascii_lowercase();
    let (local, at) = address.rsplit_once('@')?;
    if !at.eq_ignore_ascii_case(domain) {
        return None;
    }
    let (id, sig) = local.strip_prefix(REPLY_PREFIX)?.split_once('.')?;
    let id: TicketId = id.parse().ok()?;
    // Compared in constant time: the signature is a secret until it is right.
    let expected = reply_signature(key, id);
    let same = sig.len() == expected.len()
        && sig
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0;
    same.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_opens_its_ticket_until_it_expires() {
        let id = TicketId::from_bytes([1; 16]);
        let other = TicketId::from_bytes([2; 16]);
        let g = grant("key", id, 1_000);
        assert!(is_grant(&g));
        assert!(check("key", id, &g, 999));
        assert!(!check("key", id, &g, 1_000), "expired");
        assert!(!check("key", other, &g, 999), "another ticket");
        assert!(!check("other key", id, &g, 999), "another server");
        let later = g.replacen("1000", "9999", 1);
        assert!(
            !check("key", id, &later, 999),
            "a changed expiry breaks the signature"
        );
        assert!(!check("key", id, "g1.x.y", 0));
        assert!(!check("key", id, &"ab".repeat(32), 0));
        assert_eq!(issued_at(&g), Some(1_000 - VALID_DAYS * 86_400));
        assert_eq!(issued_at("g1.x.y"), None);
    }

    #[test]
    fn a_confirmation_token_confirms_one_address_of_one_ticket() {
        let id = TicketId::from_bytes([1; 16]);
        let other = TicketId::from_bytes([2; 16]);
        let t = confirm_token("key", id, "jo@example.com", 1_000);
        assert!(check_confirm_token("key", id, "jo@example.com", &t, 999));
        assert!(
            !check_confirm_token("key", id, "jo@example.com", &t, 1_000),
            "expired"
        );
        assert!(
            !check_confirm_token("key", id, "ada@example.com", &t, 999),
            "another address"
        );
        assert!(
            !check_confirm_token("key", other, "jo@example.com", &t, 999),
            "another ticket"
        );
        assert!(
            !check_confirm_token("other", id, "jo@example.com", &t, 999),
            "another server"
        );
        let grant = grant("key", id, 1_000);
        assert!(
            !check_confirm_token("key", id, "jo@example.com", &grant, 999),
            "a grant is no confirmation"
        );
    }

    #[test]
    fn a_reply_address_names_its_ticket_only_when_signed_by_this_server() {
        let id = TicketId::from_bytes([7; 16]);
        let address = reply_address("key", id, "reply.example.com");
        let local = address.split('@').next().unwrap();
        assert!(local.len() <= 64, "{address}");
        assert_eq!(
            ticket_of_reply_address("key", &address, "reply.example.com"),
            Some(id)
        );
        assert_eq!(
            ticket_of_reply_address("key", &address.to_uppercase(), "reply.example.com"),
            Some(id),
            "mail servers may change the case"
        );
        assert_eq!(
            ticket_of_reply_address("other key", &address, "reply.example.com"),
            None,
            "another server's address"
        );
        assert_eq!(
            ticket_of_reply_address("key", &address, "elsewhere.example.com"),
            None,
            "another domain"
        );
        let other = TicketId::from_bytes([8; 16]);
        let forged = address.replace(&id.to_string(), &other.to_string());
        assert_eq!(
            ticket_of_reply_address("key", &forged, "reply.example.com"),
            None,
            "another ticket with this ticket's signature"
        );
        let unsigned = format!("reply+{other}@reply.example.com");
        assert_eq!(
            ticket_of_reply_address("key", &unsigned, "reply.example.com"),
            None
        );
        let short = &address[..address.find('@').unwrap() - 1];
        assert_eq!(
            ticket_of_reply_address(
                "key",
                &format!("{short}@reply.example.com"),
                "reply.example.com"
            ),
            None,
            "a cut signature"
        );
    }
}
