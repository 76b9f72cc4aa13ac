//! Links to a ticket in emails: `…/w/frame.html?site=SITE#ticket=ID&grant=GRANT`
//! opens the widget on the ticket in any browser. The grant
//! (`g1.<expiry>.<signature>`) is an HMAC-SHA256 by a key of the server's
//! own over the ticket id and the expiry; it opens that one ticket, as its
//! customer, until it expires. It travels in the link's fragment, which
//! browsers do not send to servers or in `Referer`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use stufe_shared::{SiteKey, TicketId};

/// The name of the server secret that signs ticket links.
pub const KEY_NAME: &str = "ticket-links";
/// How long a link in an email opens its ticket.
pub const VALID_DAYS: i64 = 30;
const PREFIX: &str = "g1.";

fn signature(key: &str, id: TicketId, expires: i64) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(format!("stufe-ticket-link:{id}:{expires}").as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A grant for ticket `id` until `expires` (seconds since the epoch).
pub fn grant(key: &str, id: TicketId, expires: i64) -> String {
    format!(
        "{PREFIX}{expires}.{}",
        hex::encode(signature(key, id, expires))
    )
}

/// Whether `text` is a grant at all (rather than a capability token).
pub fn is_grant(text: &str) -> bool {
    text.starts_with(PREFIX)
}

/// Whether `text` is an unexpired grant for ticket `id` signed with `key`.
pub fn check(key: &str, id: TicketId, text: &str, now: i64) -> bool {
    let Some((expires, sig)) = text
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('.'))
    else {
        return false;
    };
    let (Ok(expires), Ok(sig)) = (expires.parse::<i64>(), hex::decode(sig)) else {
        return false;
    };
    if expires <= now {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(format!("stufe-ticket-link:{id}:{expires}").as_bytes());
    mac.verify_slice(&sig).is_ok()
}

/// The link that opens ticket `id` of `site` in the widget, valid for [`VALID_DAYS`].
pub fn ticket_url(public_url: &str, key: &str, site: &SiteKey, id: TicketId, now: i64) -> String {
    let grant = grant(key, id, now + VALID_DAYS * 86_400);
    format!(
        "{}/w/frame.html?site={site}#ticket={id}&grant={grant}",
        public_url.trim_end_matches('/')
    )
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
    }
}
