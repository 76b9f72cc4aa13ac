//! The storage conformance suite: every `Storage` implementation must pass it.
//! Each case is a function over `&dyn Storage`; `conformance!` makes it one
//! named test per engine (`storage::conformance::sqlite::<case>` and
//! `storage::conformance::postgres::<case>`), each on a fresh store.

use stufe_shared::site::{Category, SiteConfig, Sla};
use stufe_shared::{Locale, SiteKey, TicketId};

use crate::kb::article::{Article, ArticleWrite, KbCounts, KbEvent};
use crate::kb::query::SearchTerms;

use super::{
    AuditEntry, AuditFilter, ClientError, DocBytes, DocWrite, MailRecord, NewEvent, NewWebhook,
    OutgoingMail, SqliteStorage, StaffNote, Storage, StorageError, TicketFilter, TicketSummary,
    ESCALATED_FIRST,
};

fn site() -> SiteConfig {
    SiteConfig {
        name: "Shop".into(),
        brand_color: "#123456".into(),
        locale: "en".into(),
        categories: vec![Category {
            id: "billing".into(),
            label_en: "Billing".into(),
            label_de: "Rechnung".into(),
            tier: None,
            priority: None,
        }],
        sla: Sla {
            first_response_minutes: 60,
            resolution_minutes: 600,
        },
        announcement: None,
        allowed_origins: vec!["https://shop.example".into()],
        identity_required: false,
        business_hours: None,
        sla_by_priority: Default::default(),
        show_staff_names: false,
        theme: Default::default(),
        launcher: Default::default(),
        privacy_url: None,
        retention_days: None,
    }
}

fn summary(id: &str, status: &str, tier: u8, created_at: i64) -> TicketSummary {
    TicketSummary {
        id: id.into(),
        site: "shop".into(),
        subject: format!("subject {id}"),
        status: status.into(),
        tier,
        priority: "normal".into(),
        category: "billing".into(),
        email: None,
        created_at,
        updated_at: created_at,
        first_response_due: Some(created_at + 60),
        resolution_due: Some(created_at + 600),
        message_count: 0,
        customer: None,
        first_response_at: None,
        staff_messages: 0,
        rating: None,
        resolved_at: None,
        max_tier: tier,
        reopened: 0,
        assignee: None,
        pending_since: None,
        rated_at: None,
    }
}

/// One named test per case per engine, each on a fresh store.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = super::SqliteStorage::open(&dir.path().join("db.sqlite")).unwrap();
                    super::$case(&store);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $case() {
                    let url = crate::storage::postgres::scratch::shared().database().unwrap();
                    let store = crate::storage::PostgresStorage::connect(&url).unwrap();
                    super::$case(&store);
                }
            )*
        }
    };
}

conformance!(
    saved_replies_are_per_site,
    staff_accounts_change_and_their_sessions_end,
    a_ticket_summary_is_read_by_id,
    published_articles_keep_their_versions_and_sources,
    sites_round_trip,
    tickets_round_trip_and_update_in_place,
    ticket_facts_are_kept_across_writes,
    a_ticket_is_pending_since_it_first_waited_on_the_customer,
    tickets_filter_by_status_and_tier,
    staff_are_found_by_token_hash,
    documents_round_trip,
    documents_append_after_their_snapshot,
    tickets_append_after_their_snapshot,
    a_failed_batch_writes_nothing,
    logins_and_sessions,
    client_errors_are_kept_newest_first,
    the_outbox_keeps_mail_until_sent_and_retries_when_told,
    confirmed_addresses_and_revoked_links_are_per_ticket,
    server_secrets_are_made_once,
    notes_and_assignees_stay_beside_the_ticket,
    a_customers_history_is_theirs_newest_first,
    articles_are_searched_by_site_and_language_titles_first,
    self_service_events_are_counted_by_site_and_period,
    files_are_stored_once_and_counted_per_ticket,
    an_erased_ticket_keeps_its_figures_and_nothing_else,
    audit_records_are_added_and_read_newest_first,
    webhook_events_are_queued_with_their_change_and_claimed_once,
    automation_rules_rotate_and_mark_what_they_did,
);

fn automation_rules_rotate_and_mark_what_they_did(s: &dyn Storage) {
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    assert_eq!(s.automation_rules("shop").unwrap(), None);
    s.set_automation_rules("shop", r#"{"round_robin":true}"#, 1)
        .unwrap();
    s.set_automation_rules("shop", r#"{"round_robin":false}"#, 2)
        .unwrap();
    assert_eq!(
        s.automation_rules("shop").unwrap().as_deref(),
        Some(r#"{"round_robin":false}"#)
    );
    assert_eq!(
        s.all_automation_rules().unwrap(),
        [("shop".to_owned(), r#"{"round_robin":false}"#.to_owned())]
    );

    // The rotation goes round per site and tier, in id order.
    let turns: Vec<Option<i64>> = (0..4)
        .map(|_| s.next_in_rotation("shop", 2, &[30, 10, 20]).unwrap())
        .collect();
    assert_eq!(turns, [Some(10), Some(20), Some(30), Some(10)]);
    assert_eq!(s.next_in_rotation("shop", 1, &[30, 10]).unwrap(), Some(10));
    assert_eq!(s.next_in_rotation("shop", 2, &[]).unwrap(), None);
    assert_eq!(s.next_in_rotation("shop", 2, &[10, 20]).unwrap(), Some(20));

    // Due requests, until marked.
    let (a, b) = (
        "000102030405060708090a0b0c0d0e0f",
        "0f0e0d0c0b0a09080706050403020100",
    );
    let mut open = summary(a, "open", 1, 10);
    (open.first_response_due, open.resolution_due) = (Some(100), Some(1_000));
    write(s, &[ticket("h", DocBytes::Snapshot(b"a".to_vec()), &open)]).unwrap();
    let mut pending = summary(b, "pending", 1, 10);
    pending.updated_at = 50;
    write(
        s,
        &[ticket("h", DocBytes::Snapshot(b"b".to_vec()), &pending)],
    )
    .unwrap(); // (Storage keeps since when it waits from the first write that finds it pending.)
    write(s, &[ticket("h", DocBytes::Append(b"+".to_vec()), &pending)]).unwrap();

    let ids = |found: Vec<TicketSummary>| found.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert!(ids(s.escalation_candidates("shop", 99, 999, 10).unwrap()).is_empty());
    let found = s.escalation_candidates("shop", 100, 999, 10).unwrap();
    assert_eq!(found[0].resolution_due, Some(1_000));
    assert_eq!(ids(found), [a]);
    assert!(s.mark_automation(a, ESCALATED_FIRST, 5).unwrap());
    assert!(!s.mark_automation(a, ESCALATED_FIRST, 6).unwrap(), "once");
    assert!(ids(s.escalation_candidates("shop", 100, 999, 10).unwrap()).is_empty());
    assert_eq!(
        ids(s.escalation_candidates("shop", 100, 1_000, 10).unwrap()),
        [a]
    );
    assert!(ids(s.escalation_candidates("other", 100, 1_000, 10).unwrap()).is_empty());

    let since = s.ticket_summary(b).unwrap().unwrap().pending_since.unwrap();
    assert!(ids(s
        .pending_candidates("shop", since, "reminded ", 10)
        .unwrap())
    .is_empty());
    assert_eq!(
        ids(s
            .pending_candidates("shop", since + 1, "reminded ", 10)
            .unwrap()),
        [b]
    );
    assert!(s
        .mark_automation(b, &format!("reminded {since}"), 7)
        .unwrap());
    assert!(ids(s
        .pending_candidates("shop", since + 1, "reminded ", 10)
        .unwrap())
    .is_empty());
    assert_eq!(
        ids(s
            .pending_candidates("shop", since + 1, "closed ", 10)
            .unwrap()),
        [b]
    );
}

fn webhook_events_are_queued_with_their_change_and_claimed_once(s: &dyn Storage) {
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    let hook = |site: &str, events: &[&str]| NewWebhook {
        site: site.into(),
        url: format!("https://{site}.example/hook"),
        secret: "sekret".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        format: "json".into(),
    };
    let wants_both = s
        .add_webhook(&hook("shop", &["request.created", "request.rated"]), 1)
        .unwrap();
    let wants_rated = s.add_webhook(&hook("shop", &["request.rated"]), 1).unwrap();
    let elsewhere = s
        .add_webhook(&hook("other", &["request.created"]), 1)
        .unwrap();
    let listed = s.webhooks("shop").unwrap();
    assert_eq!(
        listed.iter().map(|w| w.id).collect::<Vec<_>>(),
        [wants_both, wants_rated]
    );
    assert_eq!(listed[0].events, ["request.created", "request.rated"]);
    assert_eq!(listed[0].url, "https://shop.example/hook");

    // A ticket's events go in with its write, to the endpoints of its site that want them.
    let id = "000102030405060708090a0b0c0d0e0f";
    let sum = summary(id, "new", 1, 10);
    let event = |name: &str| NewEvent {
        site: "shop".into(),
        event: name.into(),
        ticket: Some(id.into()),
        payload: format!("{{\"event\":\"{name}\"}}"),
    };
    let mut created = ticket("h", DocBytes::Snapshot(b"v1".to_vec()), &sum);
    if let DocWrite::Ticket { events, .. } = &mut created {
        *events = vec![event("request.created"), event("request.status_changed")];
    }
    write(s, &[created]).unwrap();
    let now = sum.updated_at;
    let claimed = s.claim_due_deliveries(now, 10, now + 100).unwrap();
    assert_eq!(
        claimed.len(),
        1,
        "one endpoint wants request.created: {claimed:?}"
    );
    let first = &claimed[0];
    assert_eq!(
        (first.endpoint_id, first.event.as_str(), first.attempts),
        (wants_both, "request.created", 0)
    );
    assert_eq!(
        (first.secret.as_str(), first.format.as_str()),
        ("sekret", "json")
    );
    assert_eq!(first.payload, r#"{"event":"request.created"}"#);
    assert!(
        s.claim_due_deliveries(now, 10, now + 100)
            .unwrap()
            .is_empty(),
        "claimed: not due again before the claim runs out"
    );

    // A failed try waits for its retry; a delivered one is done.
    assert_eq!(first.claim, now + 100);
    s.delivery_failed(
        first.id,
        first.claim,
        Some(503),
        "the endpoint answered 503",
        Some(now + 1_000),
    )
    .unwrap();
    let seen = s.deliveries("shop", wants_both, 10).unwrap();
    assert_eq!(
        (seen[0].attempts, seen[0].last_status, seen[0].next_at),
        (1, Some(503), Some(now + 1_000))
    );
    assert!(s
        .claim_due_deliveries(now + 999, 10, now + 5_000)
        .unwrap()
        .is_empty());
    let again = s
        .claim_due_deliveries(now + 1_000, 10, now + 5_000)
        .unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 1));
    s.delivery_done(first.id, again[0].claim, 204, now + 1_001)
        .unwrap();
    let seen = s.deliveries("shop", wants_both, 10).unwrap();
    assert_eq!(
        (
            seen[0].delivered_at,
            seen[0].next_at,
            seen[0].attempts,
            seen[0].last_error.clone()
        ),
        (Some(now + 1_001), None, 2, None)
    );
    assert!(s
        .claim_due_deliveries(i64::MAX / 2, 10, i64::MAX / 2)
        .unwrap()
        .is_empty());

    // Sent again on request, only by its own site.
    assert!(!s.resend_delivery("other", first.id, now + 2_000).unwrap());
    assert!(s.resend_delivery("shop", first.id, now + 2_000).unwrap());
    let resent = s
        .claim_due_deliveries(now + 2_000, 10, now + 9_000)
        .unwrap();
    assert_eq!((resent[0].id, resent[0].attempts), (first.id, 0));
    // Sent again while a try is under way: that try's outcome does not undo it.
    assert!(s.resend_delivery("shop", first.id, now + 2_500).unwrap());
    s.delivery_done(first.id, resent[0].claim, 200, now + 2_501)
        .unwrap();
    let resent = s
        .claim_due_deliveries(now + 2_500, 10, now + 9_500)
        .unwrap();
    assert_eq!((resent.len(), resent[0].attempts), (1, 0), "still due");
    s.delivery_done(first.id, resent[0].claim, 200, now + 2_502)
        .unwrap();

    // Another event reaches both endpoints that want it; other sites see none of it.
    assert_eq!(
        s.queue_event(&event("request.rated"), now + 3_000).unwrap(),
        2
    );
    assert!(s.deliveries("other", wants_rated, 10).unwrap().is_empty());
    assert!(s.deliveries("shop", elsewhere, 10).unwrap().is_empty());
    assert_eq!(
        s.deliveries("shop", wants_both, 10).unwrap().len(),
        2,
        "newest first"
    );
    assert_eq!(
        s.deliveries("shop", wants_both, 10).unwrap()[0].event,
        "request.rated"
    );

    // Removing an endpoint removes its deliveries (and only its site's).
    assert!(!s.delete_webhook("other", wants_both).unwrap());
    assert!(s.delete_webhook("shop", wants_both).unwrap());
    assert!(s.deliveries("shop", wants_both, 10).unwrap().is_empty());
    let due = s
        .claim_due_deliveries(now + 3_000, 10, now + 9_000)
        .unwrap();
    assert_eq!(
        due.iter().map(|d| d.endpoint_id).collect::<Vec<_>>(),
        [wants_rated]
    );

    // Erasing the request erases what was queued about it.
    assert!(s.erase_ticket(id, now + 4_000).unwrap());
    assert!(s.deliveries("shop", wants_rated, 10).unwrap().is_empty());
}

fn self_service_events_are_counted_by_site_and_period(s: &dyn Storage) {
    let search = |query: &str, results| KbEvent::Search {
        query: query.into(),
        results,
    };
    let article = || "returns".to_owned();
    for (site, event, at) in [
        ("shop", search("refund", 2), 5),
        ("shop", search("refund", 0), 10),
        ("shop", search("invoice", 0), 10),
        ("shop", search("refund", 1), 11),
        ("shop", KbEvent::ArticleView { article: article() }, 12),
        (
            "shop",
            KbEvent::Helpful {
                article: article(),
                helpful: true,
            },
            12,
        ),
        (
            "shop",
            KbEvent::Helpful {
                article: article(),
                helpful: false,
            },
            13,
        ),
        ("shop", KbEvent::Deflection { article: article() }, 14),
        ("other", search("refund", 0), 15),
    ] {
        s.record_kb_event(site, &event, at).unwrap();
    }
    assert_eq!(
        s.kb_counts("shop", 10).unwrap(),
        KbCounts {
            searches: 3,
            zero_result_searches: 2,
            article_views: 1,
            helpful_yes: 1,
            helpful_no: 1,
            deflections: 1,
        }
    );
    let top = |zero_only| -> Vec<(String, u32)> {
        s.top_searches("shop", zero_only, 10)
            .unwrap()
            .into_iter()
            .map(|q| (q.query, q.count))
            .collect()
    };
    assert_eq!(
        top(false),
        [("refund".to_owned(), 3), ("invoice".to_owned(), 1)]
    );
    assert_eq!(
        top(true),
        [("invoice".to_owned(), 1), ("refund".to_owned(), 1)]
    );
}

fn articles_are_searched_by_site_and_language_titles_first(s: &dyn Storage) {
    for key in ["shop", "other"] {
        s.put_site(&key.parse().unwrap(), &site()).unwrap();
    }
    let publish = |site: &str, id: &str, locale: &str, title: &str, body: &str| {
        let article = Article {
            id: id.into(),
            site: site.into(),
            locale: locale.into(),
            title: title.into(),
            html: format!("<p>{body}</p>"),
            category: "general".into(),
            tags: vec![],
            source_tickets: vec![],
            version: 0,
            updated_at: 1,
        };
        s.publish_articles(&[ArticleWrite {
            article: &article,
            markdown: body,
            plain_text: body,
        }])
        .unwrap()[0]
    };
    let search = |site: &str, locale: Locale, q: &str| -> Vec<String> {
        let terms = SearchTerms::parse(q).unwrap();
        s.search_articles(&site.parse().unwrap(), locale, &terms, 10)
            .unwrap()
            .into_iter()
            .map(|hit| hit.id)
            .collect()
    };
    publish(
        "shop",
        "labels",
        "en",
        "Shipping labels",
        "Print a label for returns.",
    );
    publish(
        "shop",
        "returns",
        "en",
        "Returns and refunds",
        "Send the parcel back.",
    );
    publish(
        "shop",
        "rueckgabe",
        "de",
        "Rückgabe",
        "Das Paket zurücksenden.",
    );
    publish(
        "other",
        "theirs",
        "en",
        "Returns",
        "Another site's article.",
    );
    assert_eq!(
        search("shop", Locale::En, "returns"),
        ["returns", "labels"],
        "title matches first, only the site's own"
    );
    assert_eq!(
        search("shop", Locale::En, "ref"),
        ["returns"],
        "a prefix while typing"
    );
    assert_eq!(search("shop", Locale::De, "Rückgabe"), ["rueckgabe"]);
    assert_eq!(
        search("shop", Locale::De, "ruckgabe"),
        ["rueckgabe"],
        "without diacritics"
    );
    assert!(
        search("shop", Locale::En, "ruckgabe").is_empty(),
        "one language"
    );
    assert_eq!(
        publish(
            "shop",
            "returns",
            "en",
            "Returns and refunds",
            "Send the parcel back."
        ),
        2,
        "a new version"
    );
    assert!(s.unpublish_article("shop", "returns").unwrap());
    assert_eq!(search("shop", Locale::En, "returns"), ["labels"]);
    assert!(s.article("shop", "returns").unwrap().is_none());
}

fn a_customers_history_is_theirs_newest_first(s: &dyn Storage) {
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    s.put_site(&"other".parse().unwrap(), &site()).unwrap();
    let id = |n: u8| format!("{n:032x}");
    let put = |n: u8, site: &str, at: i64, customer: Option<&str>, email: Option<&str>| {
        let mut t = summary(&id(n), "open", 1, at);
        t.site = site.into();
        t.customer = customer.map(|c| crate::identity::VerifiedCustomer {
            id: c.into(),
            name: None,
            email: None,
        });
        t.email = email.map(Into::into);
        write(s, &[ticket("h", DocBytes::Snapshot(b"t".to_vec()), &t)]).unwrap();
    };
    put(1, "shop", 10, Some("u1"), Some("ada@example.com")); // the one on screen
    put(2, "shop", 20, Some("u1"), None); // same customer, signed in
    put(3, "shop", 30, None, Some("ada@example.com")); // not signed in, same email
    put(4, "shop", 40, Some("u2"), Some("ada@example.com")); // someone else signed in
    put(5, "shop", 50, None, Some("bob@example.com"));
    put(6, "shop", 5, Some("u1"), None);
    put(7, "other", 60, Some("u1"), Some("ada@example.com")); // another site
    let ids = |found: Vec<TicketSummary>| found.into_iter().map(|t| t.id).collect::<Vec<_>>();
    let history = |customer, email, limit| {
        ids(s
            .customer_history("shop", &id(1), customer, email, limit)
            .unwrap())
    };
    assert_eq!(
        history(Some("u1"), Some("ada@example.com"), 10),
        [id(3), id(2), id(6)]
    );
    assert_eq!(
        history(Some("u1"), Some("ada@example.com"), 2),
        [id(3), id(2)]
    );
    // Not signed in: everything with their email.
    assert_eq!(history(None, Some("ada@example.com"), 10), [id(4), id(3)]);
    assert!(history(None, None, 10).is_empty(), "nobody to match");
}

fn the_outbox_keeps_mail_until_sent_and_retries_when_told(s: &dyn Storage) {
    let first = OutgoingMail {
        to: "a@example.com".into(),
        subject: "First".into(),
        body: "one".into(),
        ticket: Some("t1".into()),
        reply_to: Some("reply+t1.sig@reply.example.com".into()),
    };
    let second = OutgoingMail {
        to: "b@example.com".into(),
        subject: "Second".into(),
        body: "two".into(),
        ticket: None,
        reply_to: None,
    };
    s.queue_mail(&first, 10).unwrap();
    s.queue_mail(&second, 20).unwrap();
    assert!(
        s.claim_due_mail(5, 10, 1_000).unwrap().is_empty(),
        "nothing due yet"
    );
    let due = s.claim_due_mail(20, 10, 1_000).unwrap();
    assert_eq!(
        due.iter().map(|m| m.subject.as_str()).collect::<Vec<_>>(),
        ["First", "Second"]
    );
    assert_eq!(
        (due[0].ticket.as_deref(), due[0].reply_to.as_deref()),
        (Some("t1"), Some("reply+t1.sig@reply.example.com")),
        "an email keeps its ticket and reply address"
    );
    assert_eq!((&due[1].ticket, &due[1].reply_to), (&None, &None));
    assert!(
        s.claim_due_mail(30, 10, 1_000).unwrap().is_empty(),
        "claimed mail is nobody else's until its lease ends"
    );
    s.mail_sent(due[0].id, 21).unwrap();
    s.mail_failed(due[1].id, "connection refused", Some(100))
        .unwrap();
    assert!(s.claim_due_mail(99, 10, 1_000).unwrap().is_empty());
    let again = s.claim_due_mail(100, 10, 1_000).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].subject.as_str(), again[0].attempts),
        ("Second", 1)
    );
    // A server that claimed it and died: due again once the lease ends.
    let after_lease = s.claim_due_mail(1_000, 10, 2_000).unwrap();
    assert_eq!(after_lease.len(), 1);
    s.mail_failed(after_lease[0].id, "still down", None)
        .unwrap();
    assert!(
        s.claim_due_mail(i64::MAX, 10, i64::MAX).unwrap().is_empty(),
        "given up"
    );
    // What was written about a ticket, for its customer's export.
    assert_eq!(
        s.mail_about("t1").unwrap(),
        [MailRecord {
            to: "a@example.com".into(),
            subject: "First".into(),
            body: "one".into(),
            queued_at: 10,
            sent_at: Some(21),
        }]
    );
    assert!(s.mail_about("t2").unwrap().is_empty());
}

fn notes_and_assignees_stay_beside_the_ticket(s: &dyn Storage) {
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    let id = "000102030405060708090a0b0c0d0e0f";
    assert!(!s.assign(id, Some(7)).unwrap(), "no such ticket yet");
    let tia = s.add_staff("Tia", "tier1", "t").unwrap();
    let ada = s.add_staff("Ada", "admin", "a").unwrap();
    assert_eq!(s.list_staff().unwrap(), vec![ada, tia]);
    let sum = summary(id, "new", 1, 10);
    write(s, &[ticket("h", DocBytes::Snapshot(b"v1".to_vec()), &sum)]).unwrap();
    assert!(s.assign(id, Some(7)).unwrap());
    // A later write of the ticket keeps the assignee.
    write(s, &[ticket("h", DocBytes::Append(b"+".to_vec()), &sum)]).unwrap();
    assert_eq!(s.ticket_facts("shop", 0).unwrap()[0].assignee, Some(7));
    let note = |kind: &str, at, body: &str| StaffNote {
        ticket: id.into(),
        at,
        by: "Tia".into(),
        kind: kind.into(),
        change: if kind == "handoff" {
            "tier 1 → tier 2".into()
        } else {
            String::new()
        },
        body: body.into(),
    };
    s.add_note(&note("handoff", 20, "Needs the printer logs."))
        .unwrap();
    s.add_note(&note("note", 15, "Customer called too."))
        .unwrap();
    let notes = s.notes(id).unwrap();
    assert_eq!(
        notes,
        vec![
            note("note", 15, "Customer called too."),
            note("handoff", 20, "Needs the printer logs.")
        ]
    );
    assert!(s.notes("other").unwrap().is_empty());
}

fn an_erased_ticket_keeps_its_figures_and_nothing_else(s: &dyn Storage) {
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    let (id, other) = (
        "000102030405060708090a0b0c0d0e0f",
        "0f0e0d0c0b0a09080706050403020100",
    );
    let mut sum = summary(id, "resolved", 2, 10);
    sum.email = Some("ada@example.com".into());
    sum.rating = Some(4);
    write(s, &[ticket("h", DocBytes::Snapshot(b"v1".to_vec()), &sum)]).unwrap();
    write(s, &[ticket("h", DocBytes::Append(b"+".to_vec()), &sum)]).unwrap();
    write(
        s,
        &[ticket(
            "h2",
            DocBytes::Snapshot(b"w1".to_vec()),
            &summary(other, "new", 1, 20),
        )],
    )
    .unwrap();
    s.add_note(&StaffNote {
        ticket: id.into(),
        at: 11,
        by: "Tia".into(),
        kind: "note".into(),
        change: String::new(),
        body: "About Ada".into(),
    })
    .unwrap();
    let mail = |ticket: &str| OutgoingMail {
        to: "ada@example.com".into(),
        subject: "Re".into(),
        body: "Hello Ada".into(),
        ticket: Some(ticket.into()),
        reply_to: None,
    };
    s.queue_mail(&mail(id), 12).unwrap();
    s.queue_mail(&mail(other), 13).unwrap();
    s.confirm_email(id, "ada@example.com", 12).unwrap();

    // Retention: resolved or closed, changed before the limit, not erased.
    assert_eq!(s.retention_due("shop", 11, 10).unwrap(), [id]);
    assert!(
        s.retention_due("shop", 10, 10).unwrap().is_empty(),
        "changed at 10"
    );
    assert!(s.retention_due("other", 11, 10).unwrap().is_empty());
    assert!(s.erase_ticket(id, 50).unwrap());
    assert!(!s.erase_ticket(id, 60).unwrap(), "once");
    assert!(
        s.retention_due("shop", 1_000, 10).unwrap().is_empty(),
        "erased: not due again"
    );
    assert!(!s
        .erase_ticket("ffffffffffffffffffffffffffffffff", 60)
        .unwrap());
    let ticket_id: TicketId = id.parse().unwrap();
    assert!(matches!(s.ticket(ticket_id), Err(StorageError::Erased(_))));
    assert!(s.notes(id).unwrap().is_empty());
    assert!(s.mail_about(id).unwrap().is_empty());
    assert_eq!(s.mail_about(other).unwrap().len(), 1, "others' mail stays");
    assert_eq!(s.confirmed_email(id).unwrap(), None);
    let listed = s.list_tickets(&TicketFilter::default()).unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [other]
    );
    // The figures stay for the KPIs, without the person.
    let facts = s.ticket_facts("shop", 0).unwrap();
    let kept = facts.iter().find(|t| t.id == id).unwrap();
    assert_eq!(
        (kept.status.as_str(), kept.tier, kept.rating),
        ("resolved", 2, Some(4))
    );
    assert_eq!(
        (kept.subject.as_str(), &kept.email, &kept.customer),
        ("", &None, &None)
    );
    // A writer still holding it is refused, whatever it claims.
    let again = DocWrite::Ticket {
        token_hash: "h".into(),
        bytes: DocBytes::Snapshot(b"v2".to_vec()),
        summary: Box::new(sum.clone()),
        after: 0,
        events: vec![],
    };
    assert!(matches!(
        s.write_docs(&[again]),
        Err(StorageError::Erased(_))
    ));
    assert!(matches!(s.ticket(ticket_id), Err(StorageError::Erased(_))));
    assert!(s.ticket(other.parse().unwrap()).unwrap().is_some());
}

fn audit_records_are_added_and_read_newest_first(s: &dyn Storage) {
    let record = |at: i64, staff_id: Option<i64>, action: &str| AuditEntry {
        at,
        staff: if staff_id.is_some() { "Tia" } else { "tia" }.into(),
        staff_id,
        source: "192.0.2.7".into(),
        action: action.into(),
        target: "/api/staff/tickets/t1".into(),
        outcome: 200,
    };
    let all = [
        record(10, Some(4), "GET /api/staff/tickets/{id}"),
        record(20, None, "login failed"),
        record(30, Some(4), "PATCH /api/staff/tickets/{id}"),
        record(30, Some(5), "login"),
    ];
    for r in &all {
        s.record_audit(r).unwrap();
    }
    let read = |filter: AuditFilter| {
        s.audit_entries(&AuditFilter {
            limit: 10,
            ..filter
        })
        .unwrap()
    };
    assert_eq!(
        read(AuditFilter::default()),
        [
            all[3].clone(),
            all[2].clone(),
            all[1].clone(),
            all[0].clone()
        ],
        "newest first (same time: the later record first)"
    );
    let tia = read(AuditFilter {
        staff_id: Some(4),
        ..AuditFilter::default()
    });
    assert_eq!(tia, [all[2].clone(), all[0].clone()]);
    let logins = read(AuditFilter {
        action: Some("login".into()),
        ..AuditFilter::default()
    });
    assert_eq!(logins, [all[3].clone(), all[1].clone()]);
    let window = read(AuditFilter {
        since: Some(20),
        until: Some(30),
        ..AuditFilter::default()
    });
    assert_eq!(window, [all[1].clone()]);
    assert_eq!(
        s.audit_entries(&AuditFilter {
            limit: 1,
            ..AuditFilter::default()
        })
        .unwrap()
        .len(),
        1
    );
}

fn server_secrets_are_made_once(s: &dyn Storage) {
    let first = s.server_secret("ticket-links").unwrap();
    assert_eq!(first.len(), 64);
    assert_eq!(s.server_secret("ticket-links").unwrap(), first);
    assert_ne!(s.server_secret("other").unwrap(), first);
}

fn client_errors_are_kept_newest_first(s: &dyn Storage) {
    let error = |site: &str, message: &str, at| ClientError {
        site: site.into(),
        message: message.into(),
        version: "0.1.0".into(),
        user_agent: "test".into(),
        at,
    };
    s.record_client_error(&error("demo", "first", 1)).unwrap();
    s.record_client_error(&error("other", "elsewhere", 2))
        .unwrap();
    s.record_client_error(&error("demo", "second", 3)).unwrap();
    let demo: Vec<String> = s
        .client_errors(Some("demo"), 10)
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(demo, ["second", "first"]);
    assert_eq!(s.client_errors(None, 2).unwrap().len(), 2);
    assert_eq!(s.prune_client_errors(3).unwrap(), 2, "older than 3 ms");
    let left: Vec<String> = s
        .client_errors(None, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(left, ["second"]);
}

fn confirmed_addresses_and_revoked_links_are_per_ticket(s: &dyn Storage) {
    assert_eq!(s.confirmed_email("t1").unwrap(), None);
    s.confirm_email("t1", "jo@example.com", 10).unwrap();
    assert_eq!(
        s.confirmed_email("t1").unwrap().as_deref(),
        Some("jo@example.com")
    );
    assert_eq!(s.confirmed_email("t2").unwrap(), None, "another ticket");
    s.confirm_email("t1", "ada@example.com", 20).unwrap();
    assert_eq!(
        s.confirmed_email("t1").unwrap().as_deref(),
        Some("ada@example.com")
    );

    assert_eq!(s.links_revoked_at("t1").unwrap(), None);
    s.revoke_links("t1", 100).unwrap();
    s.revoke_links("t1", 50).unwrap();
    assert_eq!(
        s.links_revoked_at("t1").unwrap(),
        Some(100),
        "never moves back"
    );
    s.revoke_links("t1", 150).unwrap();
    assert_eq!(s.links_revoked_at("t1").unwrap(), Some(150));
    assert_eq!(s.links_revoked_at("t2").unwrap(), None);
}

fn logins_and_sessions(s: &dyn Storage) {
    let sam = s.add_staff("Sam", "tier3", "tok").unwrap();
    assert_eq!(s.staff_by_login("sam").unwrap(), None);
    s.set_staff_login(sam.id, "sam", "$argon2id$hash").unwrap();
    assert_eq!(
        s.staff_by_login("sam").unwrap(),
        Some((sam.clone(), "$argon2id$hash".into()))
    );
    s.create_session("sess", sam.id, 100).unwrap();
    assert_eq!(s.staff_by_session("sess", 99).unwrap(), Some(sam.clone()));
    assert_eq!(s.staff_by_session("sess", 100).unwrap(), None, "expired");
    s.create_session("old", sam.id, 50).unwrap();
    assert_eq!(
        s.delete_expired_sessions(60).unwrap(),
        1,
        "only the expired one"
    );
    assert_eq!(s.staff_by_session("sess", 59).unwrap(), Some(sam.clone()));
    s.delete_session("sess").unwrap();
    assert_eq!(s.staff_by_session("sess", 1).unwrap(), None);
}

fn document(doc_id: &str, bytes: DocBytes) -> DocWrite {
    DocWrite::Document {
        doc_id: doc_id.into(),
        bytes,
        after: 0,
    }
}

fn ticket(token_hash: &str, bytes: DocBytes, summary: &TicketSummary) -> DocWrite {
    DocWrite::Ticket {
        token_hash: token_hash.into(),
        bytes,
        summary: Box::new(summary.clone()),
        after: 0,
        events: vec![],
    }
}

/// Writes as a server whose copies hold every earlier write: each write
/// names its document's newest position.
fn write(s: &dyn Storage, writes: &[DocWrite]) -> Result<Vec<i64>, StorageError> {
    let up_to_date: Vec<DocWrite> = writes
        .iter()
        .map(|w| {
            let newest = s
                .changes_since(&w.doc_id(), 0)
                .unwrap()
                .map_or(0, |c| c.seq);
            let mut w = w.clone();
            let (DocWrite::Ticket { after, .. } | DocWrite::Document { after, .. }) = &mut w;
            *after = newest;
            w
        })
        .collect();
    s.write_docs(&up_to_date)
}

fn documents_round_trip(s: &dyn Storage) {
    assert_eq!(s.document("kb:shop:en").unwrap(), None);
    write(
        s,
        &[document("kb:shop:en", DocBytes::Snapshot(b"one".to_vec()))],
    )
    .unwrap();
    write(
        s,
        &[document("kb:shop:en", DocBytes::Snapshot(b"two".to_vec()))],
    )
    .unwrap();
    assert_eq!(
        s.document("kb:shop:en")
            .unwrap()
            .map(|d| (d.bytes, d.appended)),
        Some((b"two".to_vec(), 0))
    );
}

fn documents_append_after_their_snapshot(s: &dyn Storage) {
    // Appending to a document without a snapshot yet is allowed (a new catalogue).
    write(
        s,
        &[document("kb:shop:en", DocBytes::Append(b"a".to_vec()))],
    )
    .unwrap();
    write(
        s,
        &[
            document("kb:shop:en", DocBytes::Append(b"b".to_vec())),
            document("kb:shop:de", DocBytes::Snapshot(b"S".to_vec())),
        ],
    )
    .unwrap();
    let stored = |id| {
        let d = s.document(id).unwrap().unwrap();
        (d.bytes, d.appended)
    };
    assert_eq!(stored("kb:shop:en"), (b"ab".to_vec(), 2));
    write(
        s,
        &[document("kb:shop:de", DocBytes::Append(b"c".to_vec()))],
    )
    .unwrap();
    assert_eq!(stored("kb:shop:de"), (b"Sc".to_vec(), 1));
    assert_eq!(
        s.documents_with_prefix("kb:shop:").unwrap(),
        vec![
            ("kb:shop:de".to_owned(), b"Sc".to_vec()),
            ("kb:shop:en".to_owned(), b"ab".to_vec()),
        ]
    );
    // A new snapshot replaces the old one and every appended chunk.
    write(
        s,
        &[document("kb:shop:en", DocBytes::Snapshot(b"N".to_vec()))],
    )
    .unwrap();
    write(
        s,
        &[document("kb:shop:en", DocBytes::Append(b"d".to_vec()))],
    )
    .unwrap();
    assert_eq!(stored("kb:shop:en"), (b"Nd".to_vec(), 1));
}

fn tickets_append_after_their_snapshot(s: &dyn Storage) {
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    let id: TicketId = "000102030405060708090a0b0c0d0e0f".parse().unwrap();
    let mut sum = summary(&id.to_string(), "new", 1, 10);
    write(s, &[ticket("h", DocBytes::Snapshot(b"S".to_vec()), &sum)]).unwrap();
    sum.status = "open".into();
    sum.message_count = 1;
    write(s, &[ticket("h", DocBytes::Append(b"1".to_vec()), &sum)]).unwrap();
    write(s, &[ticket("h", DocBytes::Append(b"2".to_vec()), &sum)]).unwrap();
    let stored = s.ticket(id).unwrap().unwrap();
    assert_eq!((stored.bytes, stored.appended), (b"S12".to_vec(), 2));
    assert_eq!(
        s.list_tickets(&TicketFilter::default()).unwrap(),
        vec![sum.clone()],
        "the projection follows appended changes"
    );
    write(s, &[ticket("h", DocBytes::Snapshot(b"T".to_vec()), &sum)]).unwrap();
    let stored = s.ticket(id).unwrap().unwrap();
    assert_eq!((stored.bytes, stored.appended), (b"T".to_vec(), 0));
}

fn a_failed_batch_writes_nothing(s: &dyn Storage) {
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    let never_stored = summary("0f0e0d0c0b0a09080706050403020100", "open", 1, 10);
    let result = write(
        s,
        &[
            document("kb:shop:en", DocBytes::Snapshot(b"one".to_vec())),
            ticket("h", DocBytes::Append(b"x".to_vec()), &never_stored),
        ],
    );
    assert!(
        matches!(result, Err(StorageError::Corrupt(_))),
        "appending to a ticket never stored is refused: {result:?}"
    );
    assert_eq!(
        s.document("kb:shop:en").unwrap(),
        None,
        "nothing of the batch"
    );
    assert!(s.list_tickets(&TicketFilter::default()).unwrap().is_empty());
}

fn sites_round_trip(s: &dyn Storage) {
    let key: SiteKey = "shop".parse().unwrap();
    assert!(s.is_empty().unwrap());
    assert_eq!(s.site(&key).unwrap(), None);
    s.put_site(&key, &site()).unwrap();
    assert_eq!(s.site(&key).unwrap(), Some(site()));
    assert!(!s.is_empty().unwrap());

    let other: SiteKey = "other".parse().unwrap();
    let mut renamed = site();
    renamed.name = "Other".into();
    assert!(s.create_site(&other, &renamed, "secret-1").unwrap());
    assert!(
        !s.create_site(&other, &site(), "secret-2").unwrap(),
        "a taken key is not created again"
    );
    assert_eq!(s.site(&other).unwrap(), Some(renamed.clone()));
    assert_eq!(s.site_secret(&other).unwrap().as_deref(), Some("secret-1"));
    s.set_site_secret(&other, "secret-3").unwrap();
    assert_eq!(s.site_secret(&other).unwrap().as_deref(), Some("secret-3"));
    assert_eq!(
        s.site_secret(&key).unwrap(),
        None,
        "put_site sets no secret"
    );
    let keys: Vec<String> = s
        .sites()
        .unwrap()
        .into_iter()
        .map(|(k, _)| k.to_string())
        .collect();
    assert_eq!(keys, ["other", "shop"]);
}

fn files_are_stored_once_and_counted_per_ticket(s: &dyn Storage) {
    use super::{FileAdded, StoredFile};
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    let (a, b) = (
        "000102030405060708090a0b0c0d0e0f",
        "0f0e0d0c0b0a09080706050403020100",
    );
    for id in [a, b] {
        write(
            s,
            &[ticket(
                "h",
                DocBytes::Snapshot(b"v1".to_vec()),
                &summary(id, "new", 1, 10),
            )],
        )
        .unwrap();
    }
    assert_eq!(
        s.ticket_access(a).unwrap(),
        Some(("shop".into(), "h".into()))
    );
    assert_eq!(
        s.ticket_access("ffffffffffffffffffffffffffffffff").unwrap(),
        None
    );
    let file = |hash: &str, size: i64| StoredFile {
        hash: hash.repeat(64),
        mime: "text/plain".into(),
        size,
    };
    assert_eq!(
        s.add_ticket_file(a, &file("1", 4), b"abcd", 1, 10).unwrap(),
        FileAdded::Added { total: 4 }
    );
    // Again: nothing new, same total.
    assert_eq!(
        s.add_ticket_file(a, &file("1", 4), b"abcd", 2, 10).unwrap(),
        FileAdded::Added { total: 4 }
    );
    assert_eq!(
        s.add_ticket_file(a, &file("2", 7), b"abcdefg", 3, 10)
            .unwrap(),
        FileAdded::OverLimit { total: 4 }
    );
    // The same bytes for another ticket: recorded for it too, counted there.
    assert_eq!(
        s.add_ticket_file(b, &file("1", 4), b"abcd", 4, 10).unwrap(),
        FileAdded::Added { total: 4 }
    );
    assert_eq!(s.ticket_files(a).unwrap(), vec![file("1", 4)]);
    let (stored, bytes) = s.ticket_file(a, &"1".repeat(64)).unwrap().unwrap();
    assert_eq!((stored, bytes), (file("1", 4), b"abcd".to_vec()));
    assert_eq!(s.ticket_file(a, &"2".repeat(64)).unwrap(), None);
    assert_eq!(s.ticket_file(b, &"2".repeat(64)).unwrap(), None);
}

fn tickets_round_trip_and_update_in_place(s: &dyn Storage) {
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    let id: TicketId = "000102030405060708090a0b0c0d0e0f".parse().unwrap();
    assert!(s.ticket(id).unwrap().is_none());
    let mut sum = summary(&id.to_string(), "new", 1, 10);
    write(s, &[ticket("h", DocBytes::Snapshot(b"v1".to_vec()), &sum)]).unwrap();
    sum.status = "open".into();
    write(s, &[ticket("h", DocBytes::Snapshot(b"v2".to_vec()), &sum)]).unwrap();
    let stored = s.ticket(id).unwrap().unwrap();
    assert_eq!(stored.bytes, b"v2");
    assert_eq!(stored.token_hash, "h");
    assert_eq!(stored.site.as_str(), "shop");
    assert_eq!(s.list_tickets(&TicketFilter::default()).unwrap(), vec![sum]);
}

/// Resolution time, escalation and reopening are kept across writes (by
/// snapshot or by appended changes), whatever the writer passes.
fn ticket_facts_are_kept_across_writes(s: &dyn Storage) {
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    let id = "000102030405060708090a0b0c0d0e0f";
    let write = |sum: &TicketSummary, bytes: DocBytes| {
        write(s, &[ticket("h", bytes, sum)]).unwrap();
        s.ticket_facts("shop", 0).unwrap().remove(0)
    };
    let mut sum = summary(id, "new", 1, 10);
    let facts = write(&sum, DocBytes::Snapshot(b"v1".to_vec()));
    assert_eq!(
        (facts.resolved_at, facts.max_tier, facts.reopened),
        (None, 1, 0)
    );
    (sum.tier, sum.updated_at) = (3, 20);
    assert_eq!(write(&sum, DocBytes::Append(b"+".to_vec())).max_tier, 3);
    (sum.tier, sum.status, sum.updated_at) = (1, "resolved".into(), 30);
    let facts = write(&sum, DocBytes::Append(b"+".to_vec()));
    assert_eq!(
        (facts.resolved_at, facts.max_tier),
        (Some(30), 3),
        "still escalated once"
    );
    sum.updated_at = 35;
    sum.rating = Some(4);
    let facts = write(&sum, DocBytes::Snapshot(b"v2".to_vec()));
    assert_eq!(
        (facts.resolved_at, facts.rating, facts.rated_at),
        (Some(30), Some(4), Some(35)),
        "resolved when first resolved, rated when the rating came"
    );
    (sum.status, sum.updated_at) = ("open".into(), 40);
    let facts = write(&sum, DocBytes::Append(b"+".to_vec()));
    assert_eq!(
        (facts.resolved_at, facts.reopened, facts.rated_at),
        (None, 1, Some(35)),
        "reopened: the rating keeps its time"
    );
    (sum.status, sum.updated_at) = ("closed".into(), 50);
    let facts = write(&sum, DocBytes::Snapshot(b"v3".to_vec()));
    assert_eq!((facts.resolved_at, facts.reopened), (Some(50), 1));
    assert!(
        s.ticket_facts("shop", 11).unwrap().is_empty(),
        "created before `since`"
    );
}

fn a_ticket_is_pending_since_it_first_waited_on_the_customer(s: &dyn Storage) {
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    let id = "000102030405060708090a0b0c0d0e0f";
    assert_eq!(s.pending_since(id).unwrap(), None, "not stored");
    let mut sum = summary(id, "open", 1, 10);
    write(s, &[ticket("h", DocBytes::Snapshot(b"v1".to_vec()), &sum)]).unwrap();
    assert_eq!(s.pending_since(id).unwrap(), None, "open");
    (sum.status, sum.updated_at) = ("pending".into(), 20);
    write(s, &[ticket("h", DocBytes::Append(b"+".to_vec()), &sum)]).unwrap();
    assert_eq!(s.pending_since(id).unwrap(), Some(20));
    sum.updated_at = 30;
    write(s, &[ticket("h", DocBytes::Snapshot(b"v2".to_vec()), &sum)]).unwrap();
    assert_eq!(
        s.pending_since(id).unwrap(),
        Some(20),
        "still since it first waited"
    );
    (sum.status, sum.updated_at) = ("open".into(), 40);
    write(s, &[ticket("h", DocBytes::Append(b"+".to_vec()), &sum)]).unwrap();
    assert_eq!(s.pending_since(id).unwrap(), None, "answered");
    assert_eq!(
        s.pending_since(id).unwrap(),
        s.ticket_summary(id).unwrap().unwrap().pending_since,
        "the same as the summary says"
    );
}

fn tickets_filter_by_status_and_tier(s: &dyn Storage) {
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    let rows = [
        summary("a", "new", 1, 1),
        summary("b", "open", 2, 2),
        summary("c", "open", 1, 3),
    ];
    for row in &rows {
        write(s, &[ticket("h", DocBytes::Snapshot(Vec::new()), row)]).unwrap();
    }
    let ids = |f: TicketFilter| -> Vec<String> {
        s.list_tickets(&f)
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect()
    };
    assert_eq!(ids(TicketFilter::default()), ["c", "b", "a"]);
    let open = TicketFilter {
        status: Some("open".into()),
        ..Default::default()
    };
    assert_eq!(ids(open), ["c", "b"]);
    let tier1 = TicketFilter {
        tier: Some(1),
        ..Default::default()
    };
    assert_eq!(ids(tier1), ["c", "a"]);
    let other = TicketFilter {
        site: Some("other".into()),
        ..Default::default()
    };
    assert!(ids(other).is_empty());
}

fn staff_are_found_by_token_hash(s: &dyn Storage) {
    let added = s.add_staff("Sam", "tier3", "abc").unwrap();
    assert_eq!(s.staff_by_token_hash("abc").unwrap(), Some(added));
    assert_eq!(s.staff_by_token_hash("abd").unwrap(), None);
    assert!(
        s.add_staff("Sam", "boss", "xyz").is_err(),
        "unknown roles are refused"
    );
}

fn saved_replies_are_per_site(s: &dyn Storage) {
    let first = s
        .add_saved_reply("shop", "Restart", "Please restart it.")
        .unwrap();
    s.add_saved_reply("shop", "Logs", "Send us the logs.")
        .unwrap();
    let elsewhere = s.add_saved_reply("other", "Hello", "Hi!").unwrap();
    let titles = |site: &str| -> Vec<String> {
        s.saved_replies(site)
            .unwrap()
            .into_iter()
            .map(|r| r.title)
            .collect()
    };
    let mut shop = titles("shop");
    shop.sort();
    assert_eq!(shop, ["Logs", "Restart"]);
    assert!(
        !s.delete_saved_reply("shop", elsewhere).unwrap(),
        "another site's reply is not this site's to delete"
    );
    assert!(s.delete_saved_reply("shop", first).unwrap());
    assert_eq!(titles("shop"), ["Logs"]);
    assert_eq!(titles("other"), ["Hello"]);
}

fn staff_accounts_change_and_their_sessions_end(s: &dyn Storage) {
    let shop: SiteKey = "shop".parse().unwrap();
    let other: SiteKey = "other".parse().unwrap();
    let ada = s
        .create_staff_account(
            "Ada",
            "tier1",
            "tok-ada",
            "ada",
            "$argon2id$a",
            std::slice::from_ref(&shop),
        )
        .unwrap()
        .expect("a new login");
    assert_eq!(ada.sites, ["shop"]);
    assert_eq!(
        s.create_staff_account("Ada 2", "tier1", "tok-ada2", "ada", "$argon2id$b", &[])
            .unwrap(),
        None,
        "the login is taken"
    );
    assert_eq!(
        s.staff_login_of(ada.id).unwrap(),
        Some(("ada".to_owned(), "$argon2id$a".to_owned()))
    );
    assert!(s.update_staff(ada.id, Some("tier2"), None).unwrap());
    assert!(!s.update_staff(ada.id + 1_000, Some("tier2"), None).unwrap());
    s.set_staff_timezone(ada.id, "Europe/Berlin").unwrap();
    s.grant_site(ada.id, &other).unwrap();
    let now = s.staff_by_token_hash("tok-ada").unwrap().unwrap();
    assert_eq!(
        (now.role.as_str(), now.timezone.as_str()),
        ("tier2", "Europe/Berlin")
    );
    let mut sites = now.sites.clone();
    sites.sort();
    assert_eq!(sites, ["other", "shop"]);
    // The sites are replaced as a whole.
    s.set_staff_sites(ada.id, std::slice::from_ref(&other))
        .unwrap();
    assert_eq!(
        s.staff_by_token_hash("tok-ada").unwrap().unwrap().sites,
        ["other"]
    );
    s.set_staff_sites(ada.id, &[]).unwrap();
    assert!(s
        .staff_by_token_hash("tok-ada")
        .unwrap()
        .unwrap()
        .sites
        .is_empty());
    s.set_staff_sites(ada.id, &[shop.clone(), other.clone()])
        .unwrap();
    s.create_session("s1", ada.id, 100).unwrap();
    s.create_session("s2", ada.id, 100).unwrap();
    s.delete_sessions_of(ada.id).unwrap();
    assert_eq!(s.staff_by_session("s1", 1).unwrap(), None);
    assert_eq!(s.staff_by_session("s2", 1).unwrap(), None);
    assert!(s.update_staff(ada.id, None, Some(false)).unwrap());
    assert!(!s
        .staff_by_token_hash("tok-ada")
        .unwrap()
        .is_some_and(|m| m.active));
}

fn a_ticket_summary_is_read_by_id(s: &dyn Storage) {
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    write(
        s,
        &[ticket(
            "h",
            DocBytes::Snapshot(Vec::new()),
            &summary("a", "open", 2, 7),
        )],
    )
    .unwrap();
    let read = s.ticket_summary("a").unwrap().expect("stored");
    assert_eq!(
        (read.subject.as_str(), read.tier, read.created_at),
        ("subject a", 2, 7)
    );
    assert_eq!(s.ticket_summary("b").unwrap(), None);
}

fn published_articles_keep_their_versions_and_sources(s: &dyn Storage) {
    s.put_site(&"shop".parse().unwrap(), &site()).unwrap();
    let article = Article {
        id: "returns".into(),
        site: "shop".into(),
        locale: "en".into(),
        title: "Returns".into(),
        html: "<p>Send it <em>back</em>.</p>".into(),
        category: "general".into(),
        tags: vec![],
        source_tickets: vec![],
        version: 0,
        updated_at: 1,
    };
    for _ in 0..2 {
        s.publish_articles(&[ArticleWrite {
            article: &article,
            markdown: "Send it *back*.",
            plain_text: "Send it back.",
        }])
        .unwrap();
    }
    let versions: Vec<(String, String, String, u32)> = s
        .published_versions()
        .unwrap()
        .into_iter()
        .map(|v| (v.site, v.locale, v.id, v.version))
        .collect();
    assert_eq!(
        versions,
        [("shop".to_owned(), "en".to_owned(), "returns".to_owned(), 2)]
    );
    let (stored, markdown) = s
        .article_source("shop", "returns")
        .unwrap()
        .expect("published");
    assert_eq!((stored.title.as_str(), stored.version), ("Returns", 2));
    assert_eq!(markdown, "Send it *back*.");
    assert_eq!(s.article_source("other", "returns").unwrap(), None);
}
