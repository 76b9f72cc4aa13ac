//! A customer's answer to a notification email, read from the raw message
//! (MIME by [`mail_parser`]): who sent it, its id, and the new text only —
//! the quoted earlier mail and the signature are cut. Mail no person wrote
//! (auto-replies, bounces, mailing-list traffic, our own mail coming back)
//! is dropped, never posted. Pure: no storage, no network.

use mail_parser::{MessageParser, MimeHeaders};

/// The line every answerable email starts with; what a customer writes
/// above it is their answer, whatever their mail program quotes below.
pub const REPLY_ABOVE_EN: &str = "## Please write your reply above this line ##";
/// [`REPLY_ABOVE_EN`] in German.
pub const REPLY_ABOVE_DE: &str = "## Bitte schreiben Sie Ihre Antwort über dieser Zeile ##";

/// Largest message the listener takes, in bytes (the SMTP `SIZE` it announces).
pub const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// What a customer wrote back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailReply {
    /// The `From` address, lower-case.
    pub from: String,
    /// The `From` display name (else the address).
    pub name: String,
    /// The `Message-ID`, if the mail has one (a resent mail has the same).
    pub message_id: Option<String>,
    /// The new text, without the quoted mail and the signature.
    pub text: String,
    /// The files attached (by name); pictures embedded in an HTML body (a
    /// signature's logo) are not.
    pub attachments: Vec<MailFile>,
}

/// A file attached to a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Why a mail is not posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotPosted {
    /// Taken and thrown away (telling an auto-responder would start a loop):
    /// why, for the log.
    Dropped(&'static str),
    /// Refused: the reason goes back to the sender's mail server, which
    /// tells the sender.
    Refused(String),
    /// Not now (storage failed): the sender's mail server tries again later.
    Unavailable,
}

/// Reads `raw` as a customer's answer. `envelope_from` is the SMTP
/// `MAIL FROM` (empty for a bounce); `own_address` the address Stufe sends from.
pub fn read_reply(
    raw: &[u8],
    envelope_from: &str,
    own_address: &str,
) -> Result<EmailReply, NotPosted> {
    if envelope_from.is_empty() {
        return Err(NotPosted::Dropped("a bounce (empty envelope sender)"));
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| NotPosted::Refused("the message could not be read as MIME".into()))?;
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if header("Auto-Submitted").is_some_and(|v| v != "no") {
        return Err(NotPosted::Dropped("an automatic message (Auto-Submitted)"));
    }
    if header("Precedence")
        .is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply"))
        || header("X-Autoreply").is_some()
        || header("X-Autorespond").is_some()
        || header("List-Id").is_some()
    {
        return Err(NotPosted::Dropped("an auto-reply or list mail"));
    }
    if message
        .content_type()
        .is_some_and(|ct| ct.ctype() == "multipart" && ct.subtype() == Some("report"))
    {
        return Err(NotPosted::Dropped("a delivery report"));
    }
    let sender = message.from().and_then(|a| a.first());
    let from = sender
        .and_then(|a| a.address())
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| NotPosted::Refused("the message has no From address".into()))?;
    let name = sender
        .and_then(|a| a.name())
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map_or_else(|| from.clone(), str::to_owned);
    if from.eq_ignore_ascii_case(own_address) || envelope_from.eq_ignore_ascii_case(own_address) {
        return Err(NotPosted::Dropped("our own mail came back (a loop)"));
    }
    let body = message
        .body_text(0)
        .ok_or_else(|| NotPosted::Refused("the message has no text".into()))?;
    let text = new_text(&body);
    let attachments: Vec<MailFile> = message
        .attachments()
        .filter(|part| {
            let embedded = part.content_id().is_some()
                && part.content_disposition().is_none_or(|d| d.is_inline());
            !embedded
        })
        .filter_map(|part| {
            Some(MailFile {
                name: part.attachment_name()?.to_owned(),
                bytes: part.contents().to_vec(),
            })
        })
        .collect();
    if text.is_empty() && attachments.is_empty() {
        return Err(NotPosted::Refused(
            "no text was found above the quoted email; write your answer at the top".into(),
        ));
    }
    Ok(EmailReply {
        from,
        name,
        message_id: message.message_id().map(str::to_owned),
        text,
        attachments,
    })
}

/// What the sender wrote in `body`: everything before the first line that
/// starts what they did not write — our reply marker, a quote (`>`), an
/// attribution ("On … wrote:", "Am … schrieb …:"), a forwarded or
/// Outlook-quoted original, or the signature separator (`-- `).
pub fn new_text(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let end = (0..lines.len())
        .find(|&i| starts_quote(&lines, i))
        .unwrap_or(lines.len());
    lines[..end].join("\n").trim().to_owned()
}

fn starts_quote(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim_end();
    let trimmed = line.trim_start();
    if trimmed.contains(REPLY_ABOVE_EN) || trimmed.contains(REPLY_ABOVE_DE) {
        return true;
    }
    if trimmed.starts_with('>') || line == "--" || line == "-- " || lines[i] == "-- " {
        return true;
    }
    let lower = trimmed.to_lowercase();
    if lower.starts_with("-----original message-----")
        || lower.starts_with("-----ursprüngliche nachricht-----")
        || lower.starts_with("---------- forwarded message")
        || (trimmed.len() >= 20 && trimmed.chars().all(|c| c == '_'))
    {
        return true;
    }
    // An attribution, maybe wrapped over two lines by the mail program.
    let attribution = |text: &str| {
        let text = text.to_lowercase();
        (text.starts_with("on ") && text.ends_with("wrote:"))
            || (text.starts_with("am ") && text.ends_with(':') && text.contains("schrieb"))
    };
    if attribution(trimmed) {
        return true;
    }
    if lower.starts_with("on ") || lower.starts_with("am ") {
        if let Some(next) = lines.get(i + 1) {
            return attribution(&format!("{trimmed} {}", next.trim()));
        }
    }
    // Outlook: a header block of the original ("From: …" then "Sent:"/"Gesendet:").
    if lower.starts_with("from:") || lower.starts_with("von:") {
        return lines.get(i + 1).is_some_and(|next| {
            let next = next.trim_start().to_lowercase();
            ["sent:", "gesendet:", "date:", "datum:", "to:", "an:"]
                .iter()
                .any(|h| next.starts_with(h))
        });
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "support@shop.example";

    fn mail(headers: &str, body: &str) -> Vec<u8> {
        format!(
            "From: Jo Customer <Jo@Example.com>\r\nTo: reply+x@reply.example\r\nSubject: Re: Printer\r\nMessage-ID: <abc@example.com>\r\n{headers}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        )
        .into_bytes()
    }

    #[test]
    fn an_answer_is_the_text_above_what_the_mail_program_quoted() {
        let body = "Restarted, it works now.\r\nThanks!\r\n\r\nOn Tue, 3 Dec 2026 at 10:00, Shop Support <support@shop.example> wrote:\r\n> Sam replied to your request\r\n> Please restart the router.\r\n";
        let reply = read_reply(&mail("", body), "jo@example.com", OWN).unwrap();
        assert_eq!(reply.text, "Restarted, it works now.\nThanks!");
        assert_eq!(reply.from, "jo@example.com");
        assert_eq!(reply.name, "Jo Customer");
        assert_eq!(reply.message_id.as_deref(), Some("abc@example.com"));
    }

    #[test]
    fn quotes_signatures_and_markers_are_cut_in_english_and_german() {
        let cases = [
            (
                "Yes.\n\nAm 3. Dez. 2026 um 10:00 schrieb Support <s@x>:\n> alt",
                "Yes.",
            ),
            (
                "Yes.\nOn Tue, 3 Dec 2026, Shop Support <support@shop.example>\nwrote:\n> old",
                "Yes.",
            ),
            ("Yes.\n-- \nJo Customer\nCEO", "Yes."),
            (&format!("Yes.\n\n{REPLY_ABOVE_EN}\nSam replied…"), "Yes."),
            (&format!("Ja.\n> {REPLY_ABOVE_DE}\n> Sam hat…"), "Ja."),
            ("Yes.\n-----Original Message-----\nFrom: x", "Yes."),
            (
                "Ja.\n\nVon: Shop Support\nGesendet: Dienstag\nAn: Jo",
                "Ja.",
            ),
            ("Yes.\n________________________________\nFrom: x", "Yes."),
            (
                "From: the start of my sentence is fine\nand goes on",
                "From: the start of my sentence is fine\nand goes on",
            ),
            (
                "On second thought, all good.",
                "On second thought, all good.",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(new_text(body), want, "{body:?}");
        }
    }

    #[test]
    fn mail_no_person_wrote_is_dropped() {
        let auto = mail("Auto-Submitted: auto-replied\r\n", "I am on holiday.");
        assert!(matches!(
            read_reply(&auto, "jo@example.com", OWN),
            Err(NotPosted::Dropped(_))
        ));
        let written = mail("Auto-Submitted: no\r\n", "A person wrote this.");
        assert!(read_reply(&written, "jo@example.com", OWN).is_ok());
        let vacation = mail("Precedence: auto_reply\r\n", "Out of office.");
        assert!(matches!(
            read_reply(&vacation, "jo@example.com", OWN),
            Err(NotPosted::Dropped(_))
        ));
        let bounce = mail("", "Delivery failed.");
        assert!(matches!(
            read_reply(&bounce, "", OWN),
            Err(NotPosted::Dropped(_))
        ));
        let report = b"From: MAILER-DAEMON@example.com\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b--\r\n";
        assert!(matches!(
            read_reply(report, "postmaster@example.com", OWN),
            Err(NotPosted::Dropped(_))
        ));
        let ours = b"From: Shop Support <Support@Shop.Example>\r\n\r\nOur own notification.";
        assert!(matches!(
            read_reply(ours, "x@y", OWN),
            Err(NotPosted::Dropped(_))
        ));
    }

    #[test]
    fn an_answer_without_new_text_is_refused_with_a_reason() {
        let only_quote = mail("", "> Please restart the router.\r\n");
        match read_reply(&only_quote, "jo@example.com", OWN) {
            Err(NotPosted::Refused(why)) => assert!(why.contains("above the quoted"), "{why}"),
            other => panic!("{other:?}"),
        }
        let no_from = b"Subject: hi\r\n\r\nHello";
        assert!(matches!(
            read_reply(no_from, "jo@example.com", OWN),
            Err(NotPosted::Refused(_))
        ));
    }

    #[test]
    fn html_only_and_encoded_answers_are_read_as_text() {
        let html = b"From: jo@example.com\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Gr&uuml;&szlig;e, <b>it works</b></p>";
        let reply = read_reply(html, "jo@example.com", OWN).unwrap();
        assert!(
            reply.text.contains("Grüße") && reply.text.contains("it works"),
            "{}",
            reply.text
        );
        let qp = b"From: jo@example.com\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nDas Ger=C3=A4t geht wieder.\r\n";
        assert_eq!(
            read_reply(qp, "jo@example.com", OWN).unwrap().text,
            "Das Gerät geht wieder."
        );
    }
}
