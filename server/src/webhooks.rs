//! Webhook delivery: the events a site's endpoints asked for (see
//! [`crate::events`]) are POSTed to them from an outbox in storage, so none
//! is lost when an endpoint is down or a server restarts or is killed. Each
//! server's worker claims due deliveries (one server of several takes each),
//! sends them, and retries a failure with backoff (the first retry after
//! `STUFE_WEBHOOK_RETRY_MS`, each later one twice as late, at most
//! [`MAX_ATTEMPTS`] tries).
//!
//! A delivery is a `POST` of the event's JSON with
//! `Content-Type: application/json`, `Stufe-Event: <name>`,
//! `Stufe-Delivery: <id>`, `Stufe-Timestamp: <unix seconds>` and
//! `Stufe-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with
//! the endpoint's secret>` ([`signature`]). A `2xx` answer within
//! [`TIMEOUT`] is delivered; anything else (another status, no answer, a
//! redirect, which is not followed) is retried. An endpoint of the `slack`
//! format gets a Slack "incoming webhook" message (`{"text": …}`) instead,
//! with the same headers.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::storage::{self, QueuedDelivery, Storage};

/// How long a batch of due deliveries is the claiming server's: its tries
/// run at once and each ends within [`TIMEOUT`]. A server that dies
/// meanwhile leaves them to the others (or itself, restarted) after that.
const CLAIM_MS: i64 = 30 * 1000;

/// Tries before a delivery is given up (its last error stays visible).
pub const MAX_ATTEMPTS: u32 = 10;

/// The longest wait between two tries.
const MAX_DELAY_MS: i64 = 6 * 60 * 60 * 1000;

/// How long an endpoint has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Deliveries claimed at once.
const BATCH: u32 = 20;

/// The endpoint formats: Stufe's signed JSON, or a Slack message.
pub const FORMATS: [&str; 2] = ["json", "slack"];

/// `v1=` and the hex HMAC-SHA256, keyed with `secret`, of
/// `"<timestamp>.<body>"`: what `Stufe-Signature` carries. A receiver
/// computes the same over the raw body it received and the
/// `Stufe-Timestamp` header, compares in constant time, and refuses a
/// timestamp more than five minutes from its clock (a replay).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// When to try a delivery again after its `attempts`-th failed try (ms);
/// None: it is given up.
pub fn next_attempt(retry: Duration, attempts: u32, now: i64) -> Option<i64> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let first = i64::try_from(retry.as_millis()).unwrap_or(i64::MAX);
    let delay = first
        .saturating_mul(1_i64 << attempts.saturating_sub(1).min(30))
        .min(MAX_DELAY_MS);
    Some(now.saturating_add(delay))
}

/// Whether `url` may be an endpoint: an absolute `https://` URL (or
/// `http://` when `allow_http`), with a host, no user or password, at most
/// 2,000 characters. The reason when not.
pub fn check_url(url: &str, allow_http: bool) -> Result<(), String> {
    if url.len() > 2_000 {
        return Err("the URL is longer than 2,000 characters".into());
    }
    let parsed = reqwest::Url::parse(url).map_err(|err| format!("not a URL: {err}"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err("the URL must start with https:// (deliveries carry customer data)".into())
        }
        _ => return Err("the URL must start with https://".into()),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "the URL must not carry a user name or password (sign with the secret instead)".into(),
        );
    }
    Ok(())
}

/// Sends the outbox's deliveries over HTTP(S).
pub struct Deliverer {
    client: reqwest::Client,
    /// The first retry's delay; each later one doubles it.
    retry: Duration,
}

impl Deliverer {
    pub fn new(retry: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Stufe-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, retry })
    }

    /// One try: the endpoint's HTTP status when it answered.
    async fn send(&self, delivery: &QueuedDelivery) -> Result<u16, (Option<u16>, String)> {
        let body = match delivery.format.as_str() {
            "slack" => slack_message(&delivery.payload),
            _ => delivery.payload.clone(),
        };
        let timestamp = now_ms() / 1000;
        let answer = self
            .client
            .post(&delivery.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Stufe-Event", &delivery.event)
            .header("Stufe-Delivery", delivery.id.to_string())
            .header("Stufe-Timestamp", timestamp.to_string())
            .header(
                "Stufe-Signature",
                signature(&delivery.secret, timestamp, &body),
            )
            .body(body)
            .send()
            .await
            .map_err(|err| (None, describe(err)))?;
        let status = answer.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err((
                Some(status.as_u16()),
                format!("the endpoint answered {status}"),
            ))
        }
    }
}

/// What went wrong with a request, without the URL (which may hold a token).
fn describe(err: reqwest::Error) -> String {
    if err.is_timeout() {
        format!("no answer within {} s", TIMEOUT.as_secs())
    } else if err.is_connect() {
        "could not connect to the endpoint".into()
    } else {
        err.without_url().to_string()
    }
}

/// A Slack incoming-webhook message for an event's payload.
pub fn slack_message(payload: &str) -> String {
    let event: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let request = &event["request"];
    let about = format!("{} ({})", text(&request["subject"]), text(&event["site"]));
    let line = match event["event"].as_str().unwrap_or_default() {
        crate::events::REQUEST_CREATED => format!("New request: {about}"),
        crate::events::CUSTOMER_REPLIED => format!(
            "The customer answered on {about}: {}",
            text(&event["message"]["body"])
        ),
        crate::events::STAFF_REPLIED => {
            format!("{} answered on {about}", text(&event["message"]["name"]))
        }
        crate::events::RATED => format!(
            "{about} was rated {}/5",
            event["rating"]["score"].as_i64().unwrap_or_default()
        ),
        crate::events::ASSIGNEE_CHANGED => match event["assignee"]["name"].as_str() {
            Some(name) => format!("{about} was assigned to {name}"),
            None => format!("{about} was unassigned"),
        },
        crate::events::ARTICLE_PUBLISHED => {
            format!("Article published: {}", text(&event["article"]["title"]))
        }
        crate::events::ARTICLE_UNPUBLISHED => {
            format!("Article unpublished: {}", text(&event["article"]["title"]))
        }
        name => {
            let change = &event["change"];
            let show = |v: &serde_json::Value| match v {
                serde_json::Value::Null => "nobody".to_owned(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!(
                "{about}: {} {} → {}",
                name.trim_start_matches("request.").replace('_', " "),
                show(&change["from"]),
                show(&change["to"])
            )
        }
    };
    serde_json::json!({ "text": line }).to_string()
}

/// One try of a claimed delivery, and its outcome recorded.
async fn deliver(deliverer: &Deliverer, storage: &Arc<dyn Storage>, delivery: &QueuedDelivery) {
    let (id, claim, attempts) = (delivery.id, delivery.claim, delivery.attempts + 1);
    let outcome = deliverer.send(delivery).await;
    let now = now_ms();
    let recorded = match outcome {
        Ok(status) => {
            tracing::info!(id, event = %delivery.event, status, "webhook delivered");
            storage::blocking(storage, move |s| s.delivery_done(id, claim, status, now)).await
        }
        Err((status, error)) => {
            let next = next_attempt(deliverer.retry, attempts, now);
            tracing::warn!(id, %error, attempts, retry = next.is_some(), "webhook not delivered");
            storage::blocking(storage, move |s| {
                s.delivery_failed(id, claim, status, &error, next)
            })
            .await
        }
    };
    if let Err(err) = recorded {
        tracing::error!(%err, "updating the webhook outbox failed");
    }
}

/// Sends due deliveries until `shutdown`: what is due is looked for every
/// second (events are queued with the change that made them, by any server).
pub async fn run_outbox(
    deliverer: Arc<Deliverer>,
    storage: Arc<dyn Storage>,
    shutdown: CancellationToken,
) {
    loop {
        let now = now_ms();
        let lease_until = now.saturating_add(CLAIM_MS);
        let due = match storage::blocking(&storage, move |s| {
            s.claim_due_deliveries(now, BATCH, lease_until)
        })
        .await
        {
            Ok(due) => due,
            Err(err) => {
                tracing::error!(%err, "reading the webhook outbox failed");
                Vec::new()
            }
        };
        // A batch is sent at once, so every try ends (or times out) well
        // within the claim.
        let sends = due.iter().map(|d| deliver(&deliverer, &storage, d));
        tokio::select! {
            _ = futures_util::future::join_all(sends) => {}
            // Claimed, not sent: due again once the claim runs out.
            () = shutdown.cancelled() => return,
        }
        if due.len() == BATCH as usize {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Checked against: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            signature("secret", 1_700_000_000, r#"{"a":1}"#),
            "v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }

    #[test]
    fn retries_double_up_to_a_cap_and_stop() {
        let retry = Duration::from_secs(30);
        assert_eq!(next_attempt(retry, 1, 0), Some(30_000));
        assert_eq!(next_attempt(retry, 2, 0), Some(60_000));
        assert_eq!(next_attempt(retry, 3, 0), Some(120_000));
        assert_eq!(next_attempt(retry, 9, 0), Some(30_000 << 8));
        assert_eq!(
            next_attempt(Duration::from_secs(3_600), 4, 0),
            Some(MAX_DELAY_MS)
        );
        assert_eq!(next_attempt(retry, MAX_ATTEMPTS, 0), None);
    }

    #[test]
    fn endpoints_are_https_without_credentials() {
        assert!(check_url("https://hooks.example.com/stufe", false).is_ok());
        assert!(check_url("http://127.0.0.1:9/x", false).is_err());
        assert!(check_url("http://127.0.0.1:9/x", true).is_ok());
        assert!(check_url("https://user:pw@example.com/", false).is_err());
        assert!(check_url("ftp://example.com/", true).is_err());
        assert!(check_url("not a url", true).is_err());
        assert!(check_url(&format!("https://e.com/{}", "a".repeat(2_000)), false).is_err());
    }

    #[test]
    fn slack_messages_say_what_happened() {
        let payload = r#"{"event":"request.status_changed","site":"demo","request":{"subject":"Printer"},"change":{"from":"new","to":"open"}}"#;
        let message: serde_json::Value = serde_json::from_str(&slack_message(payload)).unwrap();
        assert_eq!(message["text"], "Printer (demo): status changed new → open");
    }
}
