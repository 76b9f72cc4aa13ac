//! What happened on a site, as the events its webhooks receive: their names
//! ([`EVENTS`]) and the JSON each carries. A request's events are read from
//! the ticket before and after a committed change ([`ticket_events`], called
//! by the hub for every change, whoever made it: a widget, the staff API,
//! the console, an email answer); the others are made where they happen
//! (an assignment, a publish).
//!
//! Every payload has the same envelope:
//! `{"id": <event id>, "event": <name>, "site": <key>, "at": <ms>, …}`, the
//! id the same for every endpoint that receives the event (a receiver drops
//! one it has seen: a delivery can come twice).

use serde_json::{json, Map, Value};
use stufe_shared::ticket::{is_system_notice, Author, Message, Ticket};

use crate::storage::NewEvent;

pub const REQUEST_CREATED: &str = "request.created";
pub const CUSTOMER_REPLIED: &str = "request.customer_replied";
pub const STAFF_REPLIED: &str = "request.staff_replied";
pub const STATUS_CHANGED: &str = "request.status_changed";
pub const TIER_CHANGED: &str = "request.tier_changed";
pub const PRIORITY_CHANGED: &str = "request.priority_changed";
pub const ASSIGNEE_CHANGED: &str = "request.assignee_changed";
pub const RATED: &str = "request.rated";
pub const ARTICLE_PUBLISHED: &str = "article.published";
pub const ARTICLE_UNPUBLISHED: &str = "article.unpublished";

/// Every event an endpoint may ask for.
pub const EVENTS: [&str; 10] = [
    REQUEST_CREATED,
    CUSTOMER_REPLIED,
    STAFF_REPLIED,
    STATUS_CHANGED,
    TIER_CHANGED,
    PRIORITY_CHANGED,
    ASSIGNEE_CHANGED,
    RATED,
    ARTICLE_PUBLISHED,
    ARTICLE_UNPUBLISHED,
];

/// The events of a committed change to a request: `before` is the ticket
/// before it (None: the change created it), `after` its fields after it,
/// `added` the messages it added. A new request is one `request.created`
/// (its first messages in it); otherwise one event per added message (not
/// system notices, which say what another event says) and per changed
/// status, tier, priority and rating.
pub fn ticket_events(
    site: &str,
    before: Option<&Ticket>,
    after: &Ticket,
    added: &[&Message],
    now: i64,
) -> Vec<NewEvent> {
    let event = |name: &str, extra: Value| NewEvent {
        site: site.to_owned(),
        event: name.to_owned(),
        ticket: Some(after.id.clone()),
        payload: envelope(name, site, now, [("request", request(after))], extra),
    };
    let Some(before) = before else {
        let messages: Vec<Value> = added.iter().map(|m| message(m)).collect();
        return vec![event(REQUEST_CREATED, json!({ "messages": messages }))];
    };
    let mut events = Vec::new();
    for added in added.iter().filter(|m| !is_system_notice(&m.id)) {
        let name = match added.author {
            Author::Customer => CUSTOMER_REPLIED,
            Author::Staff => STAFF_REPLIED,
        };
        events.push(event(name, json!({ "message": message(added) })));
    }
    let change = |from: &dyn ToString, to: &dyn ToString| json!({ "change": { "from": from.to_string(), "to": to.to_string() } });
    if before.status != after.status {
        events.push(event(STATUS_CHANGED, change(&before.status, &after.status)));
    }
    if before.tier != after.tier {
        let (from, to) = (before.tier.get(), after.tier.get());
        events.push(event(
            TIER_CHANGED,
            json!({ "change": { "from": from, "to": to } }),
        ));
    }
    if before.priority != after.priority {
        events.push(event(
            PRIORITY_CHANGED,
            change(&before.priority, &after.priority),
        ));
    }
    if let Some(rating) = after
        .rating
        .as_ref()
        .filter(|r| before.rating.as_ref() != Some(r))
    {
        events.push(event(
            RATED,
            json!({ "rating": { "score": rating.score, "comment": rating.comment } }),
        ));
    }
    events
}

/// A request was given to a staff member (`to`: their id and name), or to nobody.
pub fn assignee_changed(
    site: &str,
    ticket: &Ticket,
    to: Option<(i64, &str)>,
    now: i64,
) -> NewEvent {
    let assignee = to.map(|(id, name)| json!({ "id": id, "name": name }));
    NewEvent {
        site: site.to_owned(),
        event: ASSIGNEE_CHANGED.to_owned(),
        ticket: Some(ticket.id.clone()),
        payload: envelope(
            ASSIGNEE_CHANGED,
            site,
            now,
            [("request", request(ticket))],
            json!({ "assignee": assignee }),
        ),
    }
}

/// An article as its events describe it.
pub struct ArticleFacts<'a> {
    pub id: &'a str,
    /// Its language, title and version (a publish knows them, an unpublish not).
    pub locale: Option<&'a str>,
    pub title: Option<&'a str>,
    pub version: Option<i64>,
}

/// An article was published (`published`) or unpublished.
pub fn article_event(
    site: &str,
    article: &ArticleFacts<'_>,
    published: bool,
    now: i64,
) -> NewEvent {
    let name = if published {
        ARTICLE_PUBLISHED
    } else {
        ARTICLE_UNPUBLISHED
    };
    let facts = json!({
        "id": article.id,
        "locale": article.locale,
        "title": article.title,
        "version": article.version,
    });
    NewEvent {
        site: site.to_owned(),
        event: name.to_owned(),
        ticket: None,
        payload: envelope(name, site, now, [("article", facts)], Value::Null),
    }
}

/// The envelope, then the subject (`request` or `article`), then `extra`'s fields.
fn envelope<const N: usize>(
    name: &str,
    site: &str,
    now: i64,
    subject: [(&str, Value); N],
    extra: Value,
) -> String {
    let mut body = Map::new();
    body.insert("id".into(), crate::tokens::random_token()[..32].into());
    body.insert("event".into(), name.into());
    body.insert("site".into(), site.into());
    body.insert("at".into(), now.into());
    for (key, value) in subject {
        body.insert(key.into(), value);
    }
    if let Value::Object(extra) = extra {
        body.extend(extra);
    }
    Value::Object(body).to_string()
}

/// A request's fields (not its thread).
fn request(ticket: &Ticket) -> Value {
    json!({
        "id": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status,
        "tier": ticket.tier.get(),
        "priority": ticket.priority,
        "category": ticket.category,
        "email": ticket.email,
        "created_at": ticket.created_at,
    })
}

fn message(message: &Message) -> Value {
    let files: Vec<Value> = message
        .files
        .iter()
        .map(|f| json!({ "name": f.name, "type": f.mime, "size": f.size, "sha256": f.hash }))
        .collect();
    json!({
        "id": message.id,
        "author": message.author,
        "name": message.name,
        "body": message.body,
        "at": message.at,
        "files": files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use stufe_shared::ticket::{Priority, Rating, Status, Tier};

    fn ticket() -> Ticket {
        Ticket {
            id: "00112233445566778899aabbccddeeff".into(),
            site: "demo".into(),
            subject: "Printer".into(),
            description: "It jams".into(),
            email: Some("ada@example.com".into()),
            category: "general".into(),
            priority: Priority::Normal,
            status: Status::New,
            tier: Tier::ONE,
            created_at: Some(1),
            first_response_due: None,
            resolution_due: None,
            first_response_at: None,
            messages: vec![],
            rating: None,
        }
    }

    fn said(id: &str, author: Author, body: &str) -> Message {
        Message {
            id: id.into(),
            author,
            name: "Sam".into(),
            body: body.into(),
            at: 5,
            files: vec![],
        }
    }

    fn names(events: &[NewEvent]) -> Vec<&str> {
        events.iter().map(|e| e.event.as_str()).collect()
    }

    fn payload(event: &NewEvent) -> Value {
        serde_json::from_str(&event.payload).expect("payload is JSON")
    }

    #[test]
    fn a_new_request_is_one_created_event_with_its_fields() {
        let events = ticket_events("demo", None, &ticket(), &[], 7);
        assert_eq!(names(&events), [REQUEST_CREATED]);
        let body = payload(&events[0]);
        assert_eq!(body["event"], REQUEST_CREATED);
        assert_eq!(body["site"], "demo");
        assert_eq!(body["at"], 7);
        assert_eq!(body["request"]["subject"], "Printer");
        assert_eq!(body["request"]["status"], "new");
        assert_eq!(body["id"].as_str().map(str::len), Some(32));
        assert_eq!(events[0].ticket.as_deref(), Some(ticket().id.as_str()));
    }

    #[test]
    fn replies_and_field_changes_are_events_and_notices_are_not() {
        let before = ticket();
        let mut after = ticket();
        after.status = Status::Open;
        after.tier = Tier::new(2).unwrap();
        after.priority = Priority::High;
        after.rating = Some(Rating {
            score: 5,
            comment: "quick".into(),
        });
        let reply = said("m1", Author::Staff, "Try this");
        let answer = said("m2", Author::Customer, "Thanks");
        let notice = said("handoff-12-x", Author::Staff, "moved");
        let events = ticket_events(
            "demo",
            Some(&before),
            &after,
            &[&reply, &answer, &notice],
            9,
        );
        assert_eq!(
            names(&events),
            [
                STAFF_REPLIED,
                CUSTOMER_REPLIED,
                STATUS_CHANGED,
                TIER_CHANGED,
                PRIORITY_CHANGED,
                RATED
            ]
        );
        assert_eq!(payload(&events[0])["message"]["body"], "Try this");
        assert_eq!(payload(&events[1])["message"]["author"], "customer");
        assert_eq!(
            payload(&events[2])["change"],
            json!({"from": "new", "to": "open"})
        );
        assert_eq!(payload(&events[3])["change"], json!({"from": 1, "to": 2}));
        assert_eq!(payload(&events[5])["rating"]["score"], 5);
        // Every event of a change has an id of its own.
        let ids: std::collections::HashSet<String> = events
            .iter()
            .map(|e| payload(e)["id"].to_string())
            .collect();
        assert_eq!(ids.len(), events.len());
    }

    #[test]
    fn nothing_changed_is_no_event() {
        let rated = Ticket {
            rating: Some(Rating {
                score: 3,
                comment: String::new(),
            }),
            ..ticket()
        };
        assert!(ticket_events("demo", Some(&rated), &rated, &[], 1).is_empty());
    }

    #[test]
    fn article_and_assignee_events_name_what_changed() {
        let facts = ArticleFacts {
            id: "reset",
            locale: Some("en"),
            title: Some("Reset"),
            version: Some(2),
        };
        let published = article_event("demo", &facts, true, 3);
        assert_eq!(published.event, ARTICLE_PUBLISHED);
        assert_eq!(published.ticket, None);
        assert_eq!(payload(&published)["article"]["version"], 2);
        let assigned = assignee_changed("demo", &ticket(), Some((7, "Sam")), 4);
        assert_eq!(
            payload(&assigned)["assignee"],
            json!({"id": 7, "name": "Sam"})
        );
        let unassigned = assignee_changed("demo", &ticket(), None, 4);
        assert_eq!(payload(&unassigned)["assignee"], Value::Null);
    }
}
