//! Email to customers: a staff reply, or their request resolved, reaches the
//! address they gave (with a link that opens the request in the widget) —
//! once they confirmed it. Anyone can type any address into a new request,
//! so until the address is confirmed the only email it gets is the
//! confirmation request ([`ticket_created`]): fixed text naming the site,
//! nothing the customer wrote, at most
//! [`crate::limits::CONFIRMATIONS_PER_RECIPIENT_DAY`] a day per address. A
//! customer signed in with that same address (the site's identity token
//! carries it) has it confirmed at once.
//!
//! Emails go through an outbox in storage, so none is lost when the SMTP
//! server is down or the process restarts: the outbox worker sends what is
//! due and retries with backoff. Off unless `STUFE_SMTP_URL` is set.
//!
//! A reply or resolution email can be answered: with a reply domain set
//! (`STUFE_MAIL_REPLY_DOMAIN`), its `Reply-To` is the ticket's signed reply
//! address ([`crate::links::reply_address`]) and its first line a marker
//! above which the customer writes; [`inbound`] reads what comes back. Every
//! email of a ticket names it in `References`, so mail programs thread them,
//! and says `Auto-Submitted: auto-generated`, so auto-responders stay quiet.

pub mod inbound;

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use stufe_shared::site::SiteConfig;
use stufe_shared::ticket::Ticket;
use stufe_shared::{SiteKey, TicketId};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::identity::VerifiedCustomer;
use crate::storage::{self, OutgoingMail, QueuedMail, Storage};

/// How long a batch of due emails is the claiming server's to send; if it
/// dies meanwhile, another server (or it, restarted) sends them after that.
const CLAIM_MS: i64 = 5 * 60 * 1000;

/// Attempts before an email is given up (the last error stays in the outbox).
const MAX_ATTEMPTS: u32 = 8;

/// Sends what the outbox holds through one SMTP server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The first retry's delay; each later one doubles it.
    retry: Duration,
    /// The domain of reply addresses; None: emails cannot be answered.
    reply_domain: Option<String>,
    /// Wakes the worker when an email was queued.
    pub wake: Notify,
}

/// RFC 3834's `Auto-Submitted` header: a well-behaved auto-responder does
/// not answer mail that carries it.
#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

impl Mailer {
    /// `url`: `smtp://host:port` (plain, e.g. a local relay),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:pass@host` (TLS), as lettre reads it.
    /// `reply_domain`: where answers go (see the module's text).
    pub fn new(
        url: &str,
        from: &str,
        retry: Duration,
        reply_domain: Option<String>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build(),
            from: from.parse()?,
            retry,
            reply_domain,
            wake: Notify::new(),
        })
    }

    /// The domain of reply addresses, when emails can be answered.
    pub fn reply_domain(&self) -> Option<&str> {
        self.reply_domain.as_deref()
    }

    /// The address emails are sent from (mail from it coming back is a loop).
    pub fn own_address(&self) -> String {
        self.from.email.to_string()
    }

    async fn send(&self, mail: &QueuedMail) -> anyhow::Result<()> {
        // A bare address only: no display name of the customer's choosing.
        let to = Mailbox::new(None, mail.to.parse::<Address>()?);
        let domain = self.from.email.domain().to_owned();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(AutoSubmitted);
        if let Some(ticket) = &mail.ticket {
            let thread = format!("<ticket.{ticket}@{domain}>");
            builder = builder
                .message_id(Some(format!("<mail.{}.{ticket}@{domain}>", mail.id)))
                .in_reply_to(thread.clone())
                .references(thread);
        }
        if let Some(reply_to) = &mail.reply_to {
            builder = builder.reply_to(Mailbox::new(None, reply_to.parse::<Address>()?));
        }
        let message = builder.body(mail.body.clone())?;
        self.transport.send(message).await?;
        Ok(())
    }

    /// When to try again after `attempts` failed attempts; None: give up.
    fn next_attempt(&self, attempts: u32, now: i64) -> Option<i64> {
        (attempts < MAX_ATTEMPTS).then(|| {
            let delay = self.retry.saturating_mul(1 << attempts.min(16));
            now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2)
        })
    }
}

/// Sends due emails until `shutdown`: at once when woken, else every second.
pub async fn run_outbox(
    mailer: Arc<Mailer>,
    storage: Arc<dyn Storage>,
    shutdown: CancellationToken,
) {
    loop {
        let now = now_ms();
        // Claimed for long enough to send (or time out on) every one: no
        // other server sharing the outbox takes them meanwhile.
        let lease_until = now.saturating_add(CLAIM_MS);
        let due = match storage::blocking(&storage, move |s| s.claim_due_mail(now, 20, lease_until))
            .await
        {
            Ok(due) => due,
            Err(err) => {
                tracing::error!(%err, "reading the outbox failed");
                Vec::new()
            }
        };
        for mail in &due {
            let (id, attempts) = (mail.id, mail.attempts + 1);
            let outcome = mailer.send(mail).await;
            let now = now_ms();
            let recorded = match outcome {
                Ok(()) => {
                    tracing::info!(to = ?mail.to, subject = ?mail.subject, "email sent");
                    storage::blocking(&storage, move |s| s.mail_sent(id, now)).await
                }
                Err(err) => {
                    let next = mailer.next_attempt(attempts, now);
                    tracing::warn!(%err, to = ?mail.to, attempts, retry = next.is_some(), "email not sent");
                    let error = err.to_string();
                    storage::blocking(&storage, move |s| s.mail_failed(id, &error, next)).await
                }
            };
            if let Err(err) = recorded {
                tracing::error!(%err, "updating the outbox failed");
            }
        }
        if due.len() == 20 {
            continue;
        }
        tokio::select! {
            () = mailer.wake.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// What the customer is told about.
pub enum Notice<'a> {
    /// A staff reply: who wrote it, and what.
    Reply { by: &'a str, body: &'a str },
    /// The request was marked resolved.
    Resolved,
}

/// The email for `notice` on `ticket`, in the site's language: subject and
/// body (`answerable`: it starts with the line to write the answer above).
pub fn compose(
    site: &SiteConfig,
    ticket: &Ticket,
    notice: &Notice<'_>,
    link: &str,
    answerable: bool,
) -> (String, String) {
    let german = site.locale == "de";
    let (subject, body) = compose_text(site, ticket, notice, link, german);
    if !answerable {
        return (subject, body);
    }
    let marker = if german {
        inbound::REPLY_ABOVE_DE
    } else {
        inbound::REPLY_ABOVE_EN
    };
    (subject, format!("{marker}\n\n{body}"))
}

fn compose_text(
    site: &SiteConfig,
    ticket: &Ticket,
    notice: &Notice<'_>,
    link: &str,
    german: bool,
) -> (String, String) {
    let subject = &ticket.subject;
    match (notice, german) {
        (Notice::Reply { by, body }, false) => (
            format!("Re: {subject}"),
            format!(
                "{by} replied to your request \"{subject}\":\n\n{body}\n\nRead and answer it here:\n{link}\n\n— {} support\n",
                site.name
            ),
        ),
        (Notice::Reply { by, body }, true) => (
            format!("AW: {subject}"),
            format!(
                "{by} hat auf Ihre Anfrage „{subject}“ geantwortet:\n\n{body}\n\nHier lesen und antworten:\n{link}\n\n— Ihr {}-Support\n",
                site.name
            ),
        ),
        (Notice::Resolved, false) => (
            format!("Resolved: {subject}"),
            format!(
                "Your request \"{subject}\" was marked as resolved.\n\nIf something is still not right, answer here and we will pick it up again:\n{link}\n\n— {} support\n",
                site.name
            ),
        ),
        (Notice::Resolved, true) => (
            format!("Gelöst: {subject}"),
            format!(
                "Ihre Anfrage „{subject}“ wurde als gelöst markiert.\n\nFalls noch etwas nicht stimmt, antworten Sie hier, und wir kümmern uns weiter darum:\n{link}\n\n— Ihr {}-Support\n",
                site.name
            ),
        ),
    }
}

/// The email that asks whoever reads `to` to confirm it for a request on
/// `site`: subject and body. Nothing in it comes from the customer.
pub fn compose_confirmation(site: &SiteConfig, link: &str) -> (String, String) {
    let days = crate::links::CONFIRM_VALID_DAYS;
    if site.locale == "de" {
        (
            format!("Bitte bestätigen Sie Ihre E-Mail-Adresse für den {}-Support", site.name),
            format!(
                "Jemand hat beim {name}-Support eine Anfrage gestellt und gebeten, Antworten an diese Adresse zu schicken.\n\nWaren Sie das? Dann bestätigen Sie die Adresse hier (der Link gilt {days} Tage):\n{link}\n\nWenn nicht, ignorieren Sie diese E-Mail; Sie bekommen dazu keine weitere.\n\n— Ihr {name}-Support\n",
                name = site.name
            ),
        )
    } else {
        (
            format!("Please confirm your email address for {} support", site.name),
            format!(
                "Someone filed a request with {name} support and asked for replies to be sent to this address.\n\nWas it you? Then confirm the address here (the link works for {days} days):\n{link}\n\nIf not, ignore this email; you will get no other about it.\n\n— {name} support\n",
                name = site.name
            ),
        )
    }
}

/// After a customer created ticket `id`: if it carries an email address, the
/// address is confirmed at once when the customer is signed in with it, and
/// otherwise (when email is configured) a confirmation email is queued.
pub async fn ticket_created(
    state: &crate::AppState,
    id: TicketId,
    customer: Option<&VerifiedCustomer>,
) {
    let ticket = match state.hub.read_ticket(id).await {
        Ok(ticket) => ticket,
        Err(err) => return tracing::error!(%err, ticket = %id, "reading a new ticket failed"),
    };
    let Some(email) = ticket.email.clone() else {
        return;
    };
    let now = now_ms();
    let signed_in_with_it = customer
        .and_then(|c| c.email.as_deref())
        .is_some_and(|known| known.eq_ignore_ascii_case(&email));
    if signed_in_with_it {
        let key = id.to_string();
        if let Err(err) =
            storage::blocking(&state.storage, move |s| s.confirm_email(&key, &email, now)).await
        {
            tracing::error!(%err, ticket = %id, "recording a confirmed address failed");
        }
        return;
    }
    let Some(mailer) = &state.mailer else {
        return;
    };
    let Ok(site) = ticket.site.parse::<SiteKey>() else {
        return;
    };
    let Ok(Some(config)) = state.site(&site).await else {
        return;
    };
    if !state.limiter.confirmation_mail(&email, now) {
        tracing::warn!(ticket = %id, "no confirmation email: the address had its share today");
        return;
    }
    let link =
        crate::links::confirm_url(&state.public_url, &state.link_key, id, &email, now / 1000);
    let (subject, body) = compose_confirmation(&config, &link);
    let mail = OutgoingMail {
        to: email,
        subject,
        body,
        ticket: Some(id.to_string()),
        reply_to: None,
    };
    queue(state, mailer, mail, now).await;
}

/// Puts an email in the outbox and wakes the sender; a failure is logged
/// (what it reports is already committed).
async fn queue(state: &crate::AppState, mailer: &Mailer, mail: OutgoingMail, now: i64) {
    match storage::blocking(&state.storage, move |s| s.queue_mail(&mail, now)).await {
        Ok(()) => mailer.wake.notify_one(),
        Err(err) => tracing::error!(%err, "queueing an email failed"),
    }
}

/// Queues the email for `notice` to the ticket's customer, if they gave an
/// address, confirmed it, and email is configured. Failing to queue is
/// logged, not returned: the change it reports is already committed.
pub async fn notify_customer(state: &crate::AppState, ticket: &Ticket, notice: Notice<'_>) {
    let (Some(mailer), Some(to)) = (&state.mailer, &ticket.email) else {
        return;
    };
    let key = ticket.id.clone();
    match storage::blocking(&state.storage, move |s| s.confirmed_email(&key)).await {
        Ok(Some(confirmed)) if confirmed == *to => {}
        Ok(_) => {
            return tracing::debug!(ticket = %ticket.id, "not emailed: the address is not confirmed")
        }
        Err(err) => return tracing::error!(%err, "reading a confirmed address failed"),
    }
    let (Ok(site), Ok(id)) = (
        ticket.site.parse::<SiteKey>(),
        ticket.id.parse::<TicketId>(),
    ) else {
        return;
    };
    let config = match state.site(&site).await {
        Ok(Some(config)) => config,
        _ => return,
    };
    let link = crate::links::ticket_url(
        &state.public_url,
        &state.link_key,
        &site,
        id,
        now_ms() / 1000,
    );
    let reply_to = mailer
        .reply_domain()
        .map(|domain| crate::links::reply_address(&state.link_key, id, domain));
    let (subject, body) = compose(&config, ticket, &notice, &link, reply_to.is_some());
    let mail = OutgoingMail {
        to: to.clone(),
        subject,
        body,
        ticket: Some(id.to_string()),
        reply_to,
    };
    queue(state, mailer, mail, now_ms()).await;
}
