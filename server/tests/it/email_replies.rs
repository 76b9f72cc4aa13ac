//! Customers answer notification emails: a real SMTP client (lettre) sends
//! a real MIME message to the server's inbound listener, at the reply
//! address the notification carried (read from the outbox); the new text —
//! without the quoted mail — becomes the customer's reply, live in a
//! connected widget. Forged and unsigned addresses, other senders, mail no
//! person wrote, and answers the gate refuses post nothing.

use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use stufe_shared::TicketId;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::email_confirmation::{confirm_parts, link_in, mail_to, press_confirm};
use crate::helpers::*;

const REPLY_DOMAIN: &str = "reply.shop.test";

/// A server that queues email (its SMTP server does not answer) and takes
/// answers on an inbound SMTP port.
async fn answering_app(dir: &std::path::Path) -> TestApp {
    TestApp::spawn_with(dir, |config| {
        config.smtp_url = Some("smtp://127.0.0.1:9".into());
        config.mail_retry = std::time::Duration::from_secs(3_600);
        config.mail_reply_domain = Some(REPLY_DOMAIN.into());
        config.inbound_smtp_addr = Some("127.0.0.1:0".into());
    })
    .await
}

/// A ticket whose customer (ada@example.com) confirmed the address, and the
/// reply address of the staff reply emailed to them.
async fn answerable_ticket(app: &TestApp, dir: &std::path::Path) -> (LocalDoc, String, String) {
    let (local, token) = create_ticket(app).await;
    let confirmation = mail_to(dir, "ada@example.com").pop().unwrap();
    let (path, confirm) = confirm_parts(&link_in(&confirmation.2));
    assert!(press_confirm(app, &path, &confirm).await.0.is_success());
    assert!(app
        .staff_reply(local.id, "Please restart the router.")
        .await
        .status()
        .is_success());
    let db = rusqlite::Connection::open(dir.join("stufe.sqlite")).unwrap();
    let (reply_to, body): (String, String) = db
        .query_row(
            "SELECT reply_to, body FROM outbox WHERE ticket_id = ?1 AND reply_to IS NOT NULL",
            [local.id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        reply_to.starts_with(&format!("reply+{}.", local.id))
            && reply_to.ends_with(&format!("@{REPLY_DOMAIN}")),
        "{reply_to}"
    );
    assert!(
        body.starts_with("## Please write your reply above this line ##"),
        "{body}"
    );
    (local, token, reply_to)
}

fn smtp(app: &TestApp) -> AsyncSmtpTransport<Tokio1Executor> {
    let addr = app.inbound_smtp.expect("the inbound listener runs");
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
        .port(addr.port())
        .build()
}

/// A reply as a mail program writes it: the answer, then the quoted email.
fn answer(from: &str, to: &str, message_id: &str, text: &str, extra_headers: &str) -> String {
    format!(
        "From: Ada Lovelace <{from}>\r\nTo: <{to}>\r\nSubject: Re: Printer offline\r\nMessage-ID: <{message_id}>\r\n{extra_headers}MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{text}\r\n\r\nOn Tue, 3 Dec 2026 at 10:00, Stufe Support <support@localhost> wrote:\r\n> ## Please write your reply above this line ##\r\n> Sam Support replied to your request\r\n> Please restart the router.\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>{text}</p><blockquote>Please restart the router.</blockquote>\r\n--b1--\r\n"
    )
}

async fn send(
    app: &TestApp,
    envelope_from: Option<&str>,
    to: &str,
    raw: &str,
) -> Result<(), lettre::transport::smtp::Error> {
    let envelope = Envelope::new(
        envelope_from.map(|f| f.parse().unwrap()),
        vec![to.parse().unwrap()],
    )
    .unwrap();
    smtp(app)
        .send_raw(&envelope, raw.as_bytes())
        .await
        .map(drop)
}

async fn customer_messages(app: &TestApp, id: TicketId) -> Vec<String> {
    app.staff_ticket(id).await["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == "customer")
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_emailed_answer_becomes_the_customers_reply_live_and_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = answering_app(dir.path()).await;
    let (mut local, token, reply_to) = answerable_ticket(&app, dir.path()).await;
    // The customer's widget is open on the request.
    let mut widget = app.client().await;
    widget.open(&mut local, &token).await;

    let raw = answer(
        "ada@example.com",
        &reply_to,
        "a1@mail.example.com",
        "Restarted =E2=80=93 it works now.",
        "",
    );
    send(&app, Some("ada@example.com"), &reply_to, &raw)
        .await
        .expect("the answer is taken");
    assert_eq!(
        customer_messages(&app, local.id).await,
        ["Restarted – it works now."],
        "the new text only, without the quoted email"
    );
    let ticket = app.staff_ticket(local.id).await;
    let posted = ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["author"] == "customer")
        .unwrap();
    assert_eq!(posted["name"], "Ada Lovelace");
    // The widget gets it without asking.
    widget
        .sync_until(&mut local, |t| {
            t.messages
                .iter()
                .any(|m| m.body == "Restarted – it works now.")
        })
        .await;

    // A mail server that sends the same message again posts nothing new.
    send(&app, Some("ada@example.com"), &reply_to, &raw)
        .await
        .expect("taken again");
    assert_eq!(customer_messages(&app, local.id).await.len(), 1);

    // The address in any case (some mail servers change it) still works.
    let again = answer(
        "ADA@example.com",
        &reply_to.to_uppercase(),
        "a2@mail.example.com",
        "One more thing.",
        "",
    );
    send(
        &app,
        Some("ada@example.com"),
        &reply_to.to_uppercase(),
        &again,
    )
    .await
    .unwrap();
    assert_eq!(customer_messages(&app, local.id).await.len(), 2);
}

#[tokio::test]
async fn an_emailed_answers_files_are_attached_and_a_refused_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let app = answering_app(dir.path()).await;
    let (local, _token, reply_to) = answerable_ticket(&app, dir.path()).await;
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
    let program = [b"MZ\x90\0".as_slice(), &[0; 64]].concat();
    let raw = format!(
        "From: Ada Lovelace <ada@example.com>\r\nTo: <{reply_to}>\r\nSubject: Re: Printer offline\r\nMessage-ID: <f1@mail.example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m1\"\r\n\r\n--m1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe receipt is attached.\r\n\r\n> Please restart the router.\r\n--m1\r\nContent-Type: application/pdf; name=\"receipt.pdf\"\r\nContent-Disposition: attachment; filename=\"receipt.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--m1\r\nContent-Type: application/octet-stream; name=\"tool.exe\"\r\nContent-Disposition: attachment; filename=\"tool.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--m1--\r\n",
        b64(pdf),
        b64(&program),
    );
    send(&app, Some("ada@example.com"), &reply_to, &raw)
        .await
        .expect("the answer is taken");
    let ticket = app.staff_ticket(local.id).await;
    let posted = ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["author"] == "customer")
        .cloned()
        .expect("posted");
    let body = posted["body"].as_str().unwrap();
    assert!(body.starts_with("The receipt is attached."), "{body}");
    assert!(
        body.contains("[Not attached: tool.exe (files of this kind are not accepted"),
        "{body}"
    );
    let files = posted["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{posted}");
    assert_eq!(files[0]["name"], "receipt.pdf");
    assert_eq!(files[0]["type"], "application/pdf");
    // Staff read it back as sent.
    let got = reqwest::Client::new()
        .get(app.url(&format!(
            "/api/staff/tickets/{}/files/{}",
            local.id,
            files[0]["hash"].as_str().unwrap()
        )))
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), pdf);
}

#[tokio::test]
async fn forged_addresses_other_senders_and_automatic_mail_post_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = answering_app(dir.path()).await;
    let (local, _, reply_to) = answerable_ticket(&app, dir.path()).await;
    let (other, _) = create_ticket(&app).await;
    let text = |n: u32| format!("Attempt {n}");
    let permanent = |result: Result<(), lettre::transport::smtp::Error>, why: &str| {
        let err = result.expect_err("refused");
        assert!(err.is_permanent(), "{err}");
        assert!(err.to_string().contains(why), "{err}");
    };

    // Another ticket's id with this ticket's signature.
    let forged = reply_to.replace(&local.id.to_string(), &other.id.to_string());
    let raw = answer("ada@example.com", &forged, "f1@x", &text(1), "");
    permanent(
        send(&app, Some("ada@example.com"), &forged, &raw).await,
        "No such reply address",
    );
    // No signature, or another domain.
    for to in [
        format!("reply+{}@{REPLY_DOMAIN}", local.id),
        reply_to.replace(REPLY_DOMAIN, "elsewhere.test"),
        format!("support@{REPLY_DOMAIN}"),
    ] {
        let raw = answer("ada@example.com", &to, "f2@x", &text(2), "");
        permanent(
            send(&app, Some("ada@example.com"), &to, &raw).await,
            "No such reply address",
        );
    }
    // Someone else who got hold of the address.
    let raw = answer("mallory@example.com", &reply_to, "f3@x", &text(3), "");
    permanent(
        send(&app, Some("mallory@example.com"), &reply_to, &raw).await,
        "only the address this request's emails go to",
    );
    // An answer longer than the gate allows.
    let long = "x".repeat(10_001);
    let raw = answer("ada@example.com", &reply_to, "f4@x", &long, "");
    permanent(
        send(&app, Some("ada@example.com"), &reply_to, &raw).await,
        "longer than",
    );
    // Nothing above the quote.
    let raw = answer("ada@example.com", &reply_to, "f5@x", "", "");
    permanent(
        send(&app, Some("ada@example.com"), &reply_to, &raw).await,
        "above the quoted",
    );
    // Taken and dropped: an auto-reply, a bounce (empty envelope sender),
    // our own mail coming back.
    let raw = answer(
        "ada@example.com",
        &reply_to,
        "f6@x",
        "I am on holiday.",
        "Auto-Submitted: auto-replied\r\n",
    );
    send(&app, Some("ada@example.com"), &reply_to, &raw)
        .await
        .unwrap();
    let raw = answer("ada@example.com", &reply_to, "f7@x", "Undeliverable", "");
    send(&app, None, &reply_to, &raw).await.unwrap();
    let raw = answer("support@localhost", &reply_to, "f8@x", "Loop", "");
    send(&app, Some("support@localhost"), &reply_to, &raw)
        .await
        .unwrap();

    assert!(
        customer_messages(&app, local.id).await.is_empty(),
        "nothing was posted"
    );
    assert!(customer_messages(&app, other.id).await.is_empty());
}

#[tokio::test]
async fn an_unconfirmed_address_cannot_answer_by_email() {
    let dir = tempfile::tempdir().unwrap();
    let app = answering_app(dir.path()).await;
    let (local, _) = create_ticket(&app).await;
    // Staff replied, but the address was never confirmed: no email, so the
    // customer cannot have the reply address; a guessed-right one is refused.
    assert!(app.staff_reply(local.id, "Hi").await.status().is_success());
    assert_eq!(
        mail_to(dir.path(), "ada@example.com").len(),
        1,
        "only the confirmation"
    );
    let db = rusqlite::Connection::open(dir.path().join("stufe.sqlite")).unwrap();
    let key: String = db
        .query_row(
            "SELECT value FROM server_secrets WHERE name = 'ticket-links'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let reply_to = stufe_server::links::reply_address(&key, local.id, REPLY_DOMAIN);
    let raw = answer("ada@example.com", &reply_to, "u1@x", "Hello", "");
    let err = send(&app, Some("ada@example.com"), &reply_to, &raw)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("only the address"), "{err}");
    assert!(customer_messages(&app, local.id).await.is_empty());
}

#[tokio::test]
async fn the_listener_keeps_to_the_smtp_order_of_commands() {
    let dir = tempfile::tempdir().unwrap();
    let app = answering_app(dir.path()).await;
    let (_, _, reply_to) = answerable_ticket(&app, dir.path()).await;
    let stream = tokio::net::TcpStream::connect(app.inbound_smtp.unwrap())
        .await
        .unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut answers = Vec::new();
    let mut next = String::new();
    read.read_line(&mut next).await.unwrap();
    assert!(next.starts_with("220 "), "{next}");
    for command in ["MAIL FROM:<ada@example.com>\r\n", "HELO client.test\r\n"] {
        write.write_all(command.as_bytes()).await.unwrap();
        next.clear();
        read.read_line(&mut next).await.unwrap();
        answers.push(next.clone());
    }
    assert!(
        answers[0].starts_with("503"),
        "MAIL before HELO: {answers:?}"
    );
    assert!(answers[1].starts_with("250"), "{answers:?}");
    let rcpt = format!("RCPT TO:<{reply_to}>\r\n");
    for command in [
        "DATA\r\n".to_owned(),
        "RCPT TO:<x@y>\r\n".to_owned(),
        "MAIL FROM:<ada@example.com>\r\n".to_owned(),
        rcpt.clone(),
        rcpt,
        "QUIT\r\n".to_owned(),
    ] {
        write.write_all(command.as_bytes()).await.unwrap();
        next.clear();
        read.read_line(&mut next).await.unwrap();
        answers.push(next.clone());
    }
    let codes: Vec<&str> = answers[2..].iter().map(|a| &a[..3]).collect();
    assert_eq!(
        codes,
        ["503", "503", "250", "250", "452", "221"],
        "DATA and RCPT before MAIL, then one recipient per message: {answers:?}"
    );
}
