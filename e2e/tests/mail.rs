//! Email to customers through a real SMTP server process: the address the
//! customer gave is confirmed first (the link in the confirmation email, a
//! button on its page); then staff replies and resolutions reach it, with a
//! link that opens the request in the widget in any browser; nothing is lost
//! while the SMTP server is down; an answer to an email becomes the
//! customer's reply, live in the widget.

use anyhow::{ensure, Context, Result};
use fantoccini::Locator;
use reqwest::Method;
use stufe_e2e::{finish, Browser, HostSite, Mail, MailServer, Stufe, REPLY_DOMAIN};

/// Answers `mail` as a mail program does (the text on top, the email
/// quoted below, `In-Reply-To` its id), sent over SMTP to Stufe's listener.
async fn answer_by_email(stufe: &Stufe, mail: &Mail, text: &str) -> Result<()> {
    use lettre::message::{header::ContentType, Mailbox};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let quoted: String = mail.body.lines().map(|l| format!("> {l}\n")).collect();
    let message = Message::builder()
        .from("Jo Customer <jo@example.com>".parse::<Mailbox>()?)
        .to(mail.reply_to.parse::<Mailbox>()?)
        .subject(format!("Re: {}", mail.subject))
        .in_reply_to(mail.message_id.clone())
        .references(mail.message_id.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(format!(
            "{text}\n\nOn Tue, 3 Dec 2026 at 10:00, Acme Support <support@acme.example> wrote:\n{quoted}"
        ))?;
    let inbound = stufe
        .inbound_smtp
        .context("the server takes answers by SMTP")?;
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(inbound.ip().to_string())
        .port(inbound.port())
        .build()
        .send(message)
        .await?;
    Ok(())
}

/// The link in an email's text.
fn link_in(body: &str) -> Result<String> {
    body.split_whitespace()
        .find(|word| word.starts_with("http"))
        .map(str::to_owned)
        .context("no link in the email")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_replies_reach_the_customer_by_email_and_the_link_opens_the_request() -> Result<()> {
    let mail = MailServer::start().await?;
    let stufe = Stufe::start_mailing(Some(mail.url())).await?;
    let host = HostSite::start(&stufe).await?;
    let customer = Browser::launch().await?;
    let result = async {
        customer.client.goto(&host.url()).await?;
        customer.open_widget().await?;
        customer.click("[data-testid=new-ticket-tab]").await?;
        customer
            .wait_for(Locator::Css("[data-testid=email]"))
            .await?
            .send_keys("jo@example.com")
            .await?;
        customer
            .submit_ticket("Printer offline", "It blinks red.")
            .await?;
        let id = customer.ticket_id("Printer offline").await?;
        customer.wait_gone("[data-testid=ticket-waiting]").await?;
        // The first email asks to confirm the address; nothing the customer wrote is in it.
        let mails = mail.wait_for(1).await?;
        let confirm = &mails[0];
        ensure!(confirm.to.contains("jo@example.com"), "{confirm:?}");
        ensure!(
            !confirm.subject.contains("Printer offline")
                && !confirm.body.contains("It blinks red."),
            "{confirm:?}"
        );
        customer.client.goto(&link_in(&confirm.body)?).await?;
        customer.click("[data-testid=confirm-email]").await?;
        customer
            .wait_for(Locator::Css("[data-testid=email-confirmed]"))
            .await?;
        stufe
            .staff_send(
                Method::POST,
                &format!("/api/staff/tickets/{id}/messages"),
                serde_json::json!({ "body": "Please restart the router." }),
            )
            .await?;
        let mails = mail.wait_for(2).await?;
        let reply = &mails[1];
        ensure!(reply.to.contains("jo@example.com"), "{reply:?}");
        ensure!(reply.subject == "Re: Printer offline", "{reply:?}");
        ensure!(
            reply.body.contains("Sam Support") && reply.body.contains("Please restart the router."),
            "{reply:?}"
        );
        // It can be answered, and it is in the request's thread.
        ensure!(
            reply.reply_to.starts_with(&format!("reply+{id}."))
                && reply.reply_to.ends_with(&format!("@{REPLY_DOMAIN}")),
            "{reply:?}"
        );
        ensure!(
            reply.references.contains(&format!("ticket.{id}@")),
            "the emails of a request are one thread: {reply:?}"
        );
        Ok((id, link_in(&reply.body)?, reply.clone()))
    }
    .await;
    let (id, link, reply) = match result {
        Ok(found) => {
            finish(customer, &stufe, "mail-customer", Ok(())).await?;
            found
        }
        Err(err) => return finish(customer, &stufe, "mail-customer", Err(err)).await,
    };

    // Another browser (no storage of the first): the link opens the request.
    let elsewhere = Browser::launch().await?;
    let result = async {
        elsewhere.client.goto(&link).await?;
        elsewhere
            .wait_script(
                "const s = document.querySelector('[data-testid=thread-subject]');
                 return !!s && s.textContent === 'Printer offline'
                     && [...document.querySelectorAll('[data-testid=message]')]
                          .some(m => m.textContent.includes('Please restart the router.'));",
            )
            .await?;
        // The customer answers the email instead: the answer (not the quoted
        // email) shows in the open widget, live.
        answer_by_email(&stufe, &reply, "Restarted, still red.").await?;
        elsewhere
            .wait_script(
                "return [...document.querySelectorAll('[data-testid=message]')]
                     .some(m => m.textContent.includes('Restarted, still red.'))
                     && ![...document.querySelectorAll('[data-testid=message]')]
                     .some(m => m.textContent.includes('wrote:'));",
            )
            .await?;
        ensure!(
            !elsewhere
                .client
                .current_url()
                .await?
                .as_str()
                .contains("grant"),
            "the grant stays out of the address bar"
        );
        elsewhere
            .wait_for(Locator::Css("[data-testid=reply-body]"))
            .await?
            .send_keys("Restarted, it works now.")
            .await?;
        elsewhere.click("[data-testid=reply-send]").await?;
        elsewhere.wait_gone("[data-testid=message-waiting]").await?;
        let ticket = stufe.staff_get(&format!("/api/staff/tickets/{id}")).await?;
        ensure!(
            ticket["messages"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["body"] == "Restarted, it works now.")),
            "{ticket}"
        );
        // Resolving it sends the second email.
        stufe
            .staff_send(
                Method::PATCH,
                &format!("/api/staff/tickets/{id}"),
                serde_json::json!({ "status": "resolved" }),
            )
            .await?;
        let mails = mail.wait_for(3).await?;
        ensure!(
            mails[2].subject == "Resolved: Printer offline",
            "{:?}",
            mails[2]
        );
        ensure!(link_in(&mails[2].body)?.contains(&format!("ticket={id}")));
        Ok(())
    }
    .await;
    finish(elsewhere, &stufe, "mail-link", result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_wait_in_the_outbox_while_the_smtp_server_is_down() -> Result<()> {
    let mut mail = MailServer::start().await?;
    let port = mail.port;
    mail.stop();
    let stufe = Stufe::start_mailing(Some(format!("smtp://127.0.0.1:{port}"))).await?;
    // The demo data's ticket was filed with an email address.
    let queue = stufe.staff_get("/api/staff/tickets").await?;
    let seeded = queue
        .as_array()
        .and_then(|q| q.iter().find(|t| t["email"] == "jo@example.com"))
        .context("the seeded ticket")?;
    let id = seeded["id"].as_str().context("id")?.to_owned();
    stufe
        .staff_send(
            Method::POST,
            &format!("/api/staff/tickets/{id}/messages"),
            serde_json::json!({ "body": "It is on its way." }),
        )
        .await?;
    // Give the first attempts time to fail against the closed port.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let mail = MailServer::start_on(port).await?;
    let mails = mail.wait_for(1).await?;
    ensure!(mails.len() == 1, "sent once: {mails:?}");
    ensure!(
        mails[0].body.contains("It is on its way."),
        "{:?}",
        mails[0]
    );
    Ok(())
}
