//! The knowledge base over HTTP: publishing, search (ranking, German folding,
//! prefixes), sanitising, who may publish, and the insights.

use automerge::sync;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use reqwest::StatusCode;
use serde_json::{json, Value};
use stufe_server::storage::{prelude::*, SqliteStorage};
use stufe_server::tokens::token_hash;
use stufe_shared::kb::read_catalogue;
use stufe_shared::DocId;

use crate::helpers::*;

const TIER1_TOKEN: &str = "tier1-token";

fn staff_client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn publish_as(
    app: &TestApp,
    token: &str,
    id: &str,
    locale: &str,
    title: &str,
    body: &str,
) -> reqwest::Response {
    staff_client()
        .put(app.url(&format!("/api/staff/articles/{id}")))
        .bearer_auth(token)
        .json(&json!({ "site": "demo", "locale": locale, "title": title, "body": body, "category": "general" }))
        .send()
        .await
        .unwrap()
}

async fn publish(app: &TestApp, id: &str, locale: &str, title: &str, body: &str) {
    let response = publish_as(app, STAFF_TOKEN, id, locale, title, body).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
}

/// Ids of the hits for `q`, best first.
async fn search(app: &TestApp, locale: &str, q: &str) -> Vec<String> {
    let url = app.url("/api/sites/demo/search");
    let response = reqwest::Client::new()
        .get(url)
        .query(&[("q", q), ("locale", locale), ("record", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn published_articles_are_found_and_unpublished_ones_are_gone() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    publish(
        &app,
        "reset-password",
        "en",
        "Reset your password",
        "Open *Settings* and choose **Reset**.",
    )
    .await;
    assert_eq!(search(&app, "en", "password").await, ["reset-password"]);
    assert!(
        search(&app, "de", "password").await.is_empty(),
        "other locales are separate"
    );

    let article: Value = reqwest::get(app.url("/api/sites/demo/articles/reset-password"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(article["title"], "Reset your password");
    assert!(article["html"]
        .as_str()
        .unwrap()
        .contains("<strong>Reset</strong>"));
    assert_eq!(article["version"], 1);

    publish(
        &app,
        "reset-password",
        "en",
        "Reset your password",
        "Use the link *Forgot password*.",
    )
    .await;
    let article: Value = reqwest::get(app.url("/api/sites/demo/articles/reset-password"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        article["version"], 2,
        "publishing again makes a new version"
    );
    assert!(
        search(&app, "en", "settings").await.is_empty(),
        "the old text left the index"
    );
    assert_eq!(search(&app, "en", "forgot").await, ["reset-password"]);

    let response = staff_client()
        .delete(app.url("/api/staff/articles/reset-password?site=demo"))
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(search(&app, "en", "password").await.is_empty());
    let gone = reqwest::get(app.url("/api/sites/demo/articles/reset-password"))
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn a_title_match_ranks_above_a_body_match() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    publish(
        &app,
        "body-mention",
        "en",
        "Shipping times",
        "Parcels with a warranty card ship in two days.",
    )
    .await;
    publish(
        &app,
        "title-match",
        "en",
        "Warranty",
        "What the guarantee covers and for how long.",
    )
    .await;
    assert_eq!(
        search(&app, "en", "warranty").await,
        ["title-match", "body-mention"]
    );
    app.stop().await;
}

#[tokio::test]
async fn german_search_folds_umlauts_and_sharp_s_and_matches_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    publish(
        &app,
        "rueckgabe",
        "de",
        "Rückgabe",
        "So senden Sie Ihre Bestellung zurück.",
    )
    .await;
    publish(
        &app,
        "lieferung",
        "de",
        "Lieferung",
        "Wir liefern in jede Straße Deutschlands.",
    )
    .await;
    assert_eq!(search(&app, "de", "ruckgabe").await, ["rueckgabe"]);
    assert_eq!(search(&app, "de", "rückg").await, ["rueckgabe"]);
    assert_eq!(search(&app, "de", "RÜCKGABE").await, ["rueckgabe"]);
    assert_eq!(search(&app, "de", "strasse").await, ["lieferung"]);
    assert_eq!(search(&app, "de", "Straße").await, ["lieferung"]);
    assert!(
        search(&app, "de", "r").await.is_empty(),
        "one letter is not a prefix search"
    );
    app.stop().await;
}

#[tokio::test]
async fn snippets_highlight_matches_and_escape_text() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    publish(
        &app,
        "tags",
        "en",
        "Tags",
        "Type <b>bold</b> literally; the warranty stays.",
    )
    .await;
    let body: Value = reqwest::Client::new()
        .get(app.url("/api/sites/demo/search"))
        .query(&[("q", "warranty"), ("locale", "en")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let snippet = body["results"][0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>warranty</mark>"), "{snippet}");
    assert!(!snippet.contains("<b>"), "{snippet}");
    app.stop().await;
}

#[tokio::test]
async fn hostile_markdown_comes_out_inert() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let corpus = [
        "<script>alert(1)</script>",
        "[click](javascript:alert(1))",
        "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
        "<img src=x onerror=alert(1)>",
        "<div onmouseover=\"alert(1)\">hover</div>",
        "<svg onload=alert(1)><circle/></svg>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<style>body{display:none}</style>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">d</a>",
        "![x](javascript:alert(1))",
    ];
    let body = corpus.join("\n\n");
    let response = publish_as(&app, STAFF_TOKEN, "hostile", "en", "Hostile", &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let article: Value = reqwest::get(app.url("/api/sites/demo/articles/hostile"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let html = article["html"].as_str().unwrap().to_lowercase();
    // Raw HTML is shown as text; what must not exist is any of it as markup.
    let markup = tags(&html).join(" ");
    for forbidden in [
        "<script",
        "javascript:",
        "onerror",
        "onmouseover",
        "onload",
        "<svg",
        "<iframe",
        "<style",
        "data:text",
    ] {
        assert!(
            !markup.contains(forbidden),
            "{forbidden} survived as markup in {html}"
        );
    }
    assert!(html.contains("hover"), "harmless text is kept");
    app.stop().await;
}

/// The tags (`<…>`) in some HTML; escaped text has no raw `<`.
fn tags(html: &str) -> Vec<&str> {
    html.split('<')
        .skip(1)
        .map(|rest| &rest[..rest.find('>').map_or(rest.len(), |i| i + 1)])
        .collect()
}

#[tokio::test]
async fn url_attributes_and_raw_html_never_become_active_and_no_text_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let body = "<blockquote cite=\"javascript:alert(1)\">quoted</blockquote>\n\n\
        A <q cite=\"javascript:alert(2)\">short quote</q> inline.\n\n\
        My printer <style> is broken, said the customer.\n\n\
        <!-- a comment that never closes\n\n\
        An <b>unclosed tag, then the last words.";
    let response = publish_as(&app, STAFF_TOKEN, "printer", "en", "Printer", body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let article: Value = reqwest::get(app.url("/api/sites/demo/articles/printer"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let html = article["html"].as_str().unwrap();
    let markup = tags(html).join(" ").to_lowercase();
    assert!(!markup.contains("javascript"), "{html}");
    assert!(!markup.contains("<style"), "{html}");
    for kept in [
        "quoted",
        "short quote",
        "is broken, said the customer.",
        "a comment that never closes",
        "the last words.",
    ] {
        assert!(html.contains(kept), "{kept:?} was dropped: {html}");
    }
    assert!(html.contains("&lt;style&gt;"), "shown as typed: {html}");
    // The words after the `<style>` are searchable too.
    assert_eq!(search(&app, "en", "customer").await, ["printer"]);
    app.stop().await;
}

/// Hostile `q`, `locale` and `site` values: a 400 (or 404 for a site that
/// does not exist) or a normal result, never a 500, never an article of
/// another locale or site.
#[tokio::test]
async fn hostile_search_parameters_never_escape_the_site_or_locale() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut other = stufe_server::seed::demo_site();
    other.name = "Other shop".into();
    SqliteStorage::open(&dir.path().join("stufe.sqlite"))
        .unwrap()
        .put_site(&"other".parse().unwrap(), &other)
        .unwrap();
    publish(&app, "zqx-en", "en", "zqx1 in English", "zqx1 body").await;
    let response = staff_client()
        .put(app.url("/api/staff/articles/zqx-other"))
        .bearer_auth(STAFF_TOKEN)
        .json(&json!({ "site": "other", "locale": "de", "title": "zqx1 other site", "body": "zqx1", "category": "general" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let long = "a".repeat(10_000);
    let hostile = [
        "x\"",
        "zz\" OR title : \"zqx1",
        "de\" OR \"zqx1",
        "en OR de",
        "NEAR(zqx1 de)",
        "*",
        "^en",
        "(en)",
        "en\0",
        "scope : x",
        "",
        "EN",
        "fr",
        long.as_str(),
    ];
    let queries = [
        "zqx1",
        "zqx1\" OR scope : \"",
        "\"",
        "NEAR(zqx1 other)",
        "title : zqx1",
        "*",
        "^zqx1",
        "(zqx1) OR (x",
        "zqx1\0",
        long.as_str(),
    ];
    let client = reqwest::Client::new();
    // Site "demo", locale "de": the only de article is the other site's.
    let mut checked = 0;
    for site in [
        "demo",
        "demo\"",
        "de%22mo",
        "DEMO",
        "other\" OR x",
        long.as_str(),
    ] {
        for locale in hostile.iter().chain(["de"].iter()) {
            for q in queries {
                let response = client
                    .get(app.url(&format!("/api/sites/{}/search", urlencode(site))))
                    .query(&[("q", q), ("locale", locale)])
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                assert!(
                    [
                        StatusCode::OK,
                        StatusCode::BAD_REQUEST,
                        StatusCode::NOT_FOUND
                    ]
                    .contains(&status),
                    "site {site:?} locale {locale:?} q {q:?}: {status}"
                );
                if status == StatusCode::OK {
                    let body: Value = response.json().await.unwrap();
                    for hit in body["results"].as_array().unwrap() {
                        let id = hit["id"].as_str().unwrap();
                        // Only `demo` in `en` holds zqx-en; nothing may ever find zqx-other.
                        assert!(
                            site == "demo" && *locale == "en" && id == "zqx-en",
                            "site {site:?} locale {locale:?} q {q:?} found {id}"
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 500);
    // The legitimate searches still work.
    assert_eq!(search(&app, "en", "zqx1").await, ["zqx-en"]);
    assert!(search(&app, "de", "zqx1").await.is_empty());
    app.stop().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn tier_one_staff_cannot_publish_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    SqliteStorage::open(&dir.path().join("stufe.sqlite"))
        .unwrap()
        .add_staff("Tia", "tier1", &token_hash(TIER1_TOKEN))
        .unwrap();
    let response = publish_as(
        &app,
        TIER1_TOKEN,
        "secret",
        "en",
        "Internal discount codes",
        "All of them.",
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(search(&app, "en", "discount").await.is_empty());
    let missing = reqwest::get(app.url("/api/sites/demo/articles/secret"))
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    publish(
        &app,
        "public",
        "en",
        "Opening hours",
        "We are open nine to five.",
    )
    .await;
    let unpublish = staff_client()
        .delete(app.url("/api/staff/articles/public?site=demo"))
        .bearer_auth(TIER1_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(unpublish.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        search(&app, "en", "opening").await,
        ["public"],
        "still published"
    );
    app.stop().await;
}

async fn fetch_insights(app: &TestApp) -> Value {
    let response = staff_client()
        .get(app.url("/api/staff/kb/insights?site=demo"))
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

#[tokio::test]
async fn insights_list_top_and_zero_result_searches() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    publish(
        &app,
        "invoice",
        "en",
        "Invoices",
        "Download invoices from your account.",
    )
    .await;
    search(&app, "en", "invoice").await;
    search(&app, "en", "  INVOICE").await;
    search(&app, "en", "gift wrapping").await;
    let insights = fetch_insights(&app).await;
    assert_eq!(
        insights["top_searches"][0],
        json!({ "query": "invoice", "count": 2 })
    );
    assert_eq!(
        insights["zero_result_searches"],
        json!([{ "query": "gift wrapping", "count": 1 }])
    );
    let counts = &insights["counts"];
    assert_eq!(
        (
            counts["searches"].as_u64(),
            counts["zero_result_searches"].as_u64()
        ),
        (Some(3), Some(1))
    );
    let client = reqwest::Client::new();
    reqwest::get(app.url("/api/sites/demo/articles/invoice"))
        .await
        .unwrap();
    let vote = client
        .post(app.url("/api/sites/demo/articles/invoice/helpful"))
        .json(&json!({ "helpful": false }));
    assert_eq!(vote.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let deflected = client
        .post(app.url("/api/sites/demo/deflections"))
        .json(&json!({ "article": "invoice" }));
    assert_eq!(
        deflected.send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let bad = client
        .post(app.url("/api/sites/demo/deflections"))
        .json(&json!({ "article": "../etc" }));
    assert_eq!(bad.send().await.unwrap().status(), StatusCode::BAD_REQUEST);
    let insights = fetch_insights(&app).await;
    let counts = &insights["counts"];
    assert_eq!(counts["article_views"], 1);
    assert_eq!(
        (
            counts["helpful_yes"].as_u64(),
            counts["helpful_no"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(counts["deflections"], 1);
    // The KPI report has them in its periods (summed: a test run may span midnight).
    let kpis: serde_json::Value = app.staff_json("/api/staff/kpis?site=demo&period=day").await;
    let periods = kpis["self_service"].as_array().unwrap();
    assert_eq!(periods.len(), 30);
    let sum = |key: &str| {
        periods
            .iter()
            .map(|p| p[key].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        (
            sum("searches"),
            sum("zero_result_searches"),
            sum("deflections")
        ),
        (3, 1, 1)
    );
    let anonymous = reqwest::get(app.url("/api/staff/kb/insights?site=demo"))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

fn kb_doc(locale: &str) -> DocId {
    format!("kb:demo:{locale}").parse().unwrap()
}

#[tokio::test]
async fn open_widgets_receive_published_and_unpublished_articles_live() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    publish(
        &app,
        "returns",
        "en",
        "Returns",
        "Send it back within 30 days.",
    )
    .await;
    let (doc_id, mut doc, mut peer) = (kb_doc("en"), AutoCommit::new(), sync::State::new());
    let mut widget = app.client().await;
    let frames = widget.open_doc(&doc_id, &mut doc, &mut peer).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    let titles = |doc: &AutoCommit| {
        read_catalogue(doc)
            .into_iter()
            .map(|e| e.title)
            .collect::<Vec<_>>()
    };
    assert_eq!(titles(&doc), ["Returns"]);

    publish(&app, "shipping", "en", "Shipping", "We ship worldwide.").await;
    widget.sync_doc(&doc_id, &mut doc, &mut peer).await;
    assert_eq!(titles(&doc), ["Returns", "Shipping"]);
    let shipping = read_catalogue(&doc)
        .into_iter()
        .find(|e| e.id == "shipping")
        .unwrap();
    assert_eq!(
        (shipping.category.as_str(), shipping.version),
        ("general", 1)
    );

    let response = staff_client()
        .delete(app.url("/api/staff/articles/returns?site=demo"))
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    widget.sync_doc(&doc_id, &mut doc, &mut peer).await;
    assert_eq!(titles(&doc), ["Shipping"]);
    app.stop().await;
}

#[tokio::test]
async fn a_new_widget_gets_the_whole_catalogue_in_one_compressed_message() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    for i in 0..20 {
        let body = format!("Article number {i} explains one more thing about orders.");
        publish(&app, &format!("a{i}"), "en", &format!("Topic {i}"), &body).await;
    }
    let (doc_id, mut doc, mut peer) = (kb_doc("en"), AutoCommit::new(), sync::State::new());
    let mut widget = app.client().await;
    let frames = widget.open_doc(&doc_id, &mut doc, &mut peer).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    assert!(last_ack(&frames).is_some(), "{frames:?}");
    assert_eq!(read_catalogue(&doc).len(), 20);
    // What the stock protocol would send change by change, had the server
    // spoken first (it then cannot know the peer takes whole documents).
    let change_by_change: usize = doc
        .get_changes(&[])
        .iter()
        .map(|c| c.raw_bytes().len())
        .sum();
    assert_eq!(widget.sync_frames_received, 1, "one message brings it all");
    assert!(
        widget.sync_bytes_received < change_by_change,
        "{} bytes received, {change_by_change} change by change",
        widget.sync_bytes_received
    );
    // The whole-document message is built once per version of the catalogue:
    // the next new widget gets the same, and after a publish the new version.
    let fresh_widget = |app: &TestApp| {
        let app_addr = app.addr;
        async move {
            let mut widget = TestApp::client_at(app_addr).await;
            let (mut doc, mut peer) = (AutoCommit::new(), sync::State::new());
            let frames = widget.open_doc(&kb_doc("en"), &mut doc, &mut peer).await;
            assert!(last_ack(&frames).is_some(), "{frames:?}");
            (widget.sync_bytes_received, read_catalogue(&doc).len())
        }
    };
    assert_eq!(fresh_widget(&app).await, (widget.sync_bytes_received, 20));
    publish(&app, "a20", "en", "Topic 20", "One more.").await;
    let (bytes, entries) = fresh_widget(&app).await;
    assert_eq!(entries, 21);
    assert!(bytes > widget.sync_bytes_received);
    widget.sync_doc(&doc_id, &mut doc, &mut peer).await;
    assert_eq!(read_catalogue(&doc).len(), 21, "the first widget follows");
    app.stop().await;
}

#[tokio::test]
async fn a_widget_cannot_change_the_knowledge_base() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    publish(
        &app,
        "returns",
        "en",
        "Returns",
        "Send it back within 30 days.",
    )
    .await;
    let doc_id = kb_doc("en");
    let (mut watched, mut watched_peer) = (AutoCommit::new(), sync::State::new());
    let mut watcher = app.client().await;
    watcher
        .open_doc(&doc_id, &mut watched, &mut watched_peer)
        .await;

    let (mut doc, mut peer) = (AutoCommit::new(), sync::State::new());
    let mut vandal = app.client().await;
    vandal.open_doc(&doc_id, &mut doc, &mut peer).await;
    let (_, articles) = automerge::ReadDoc::get(&doc, ROOT, "articles")
        .unwrap()
        .unwrap();
    let (_, entry) = automerge::ReadDoc::get(&doc, &articles, "returns")
        .unwrap()
        .unwrap();
    doc.put(&entry, "title", "Returns are never accepted")
        .unwrap();
    let refused = doc.get_heads()[0];
    let frames = vandal.sync_doc(&doc_id, &mut doc, &mut peer).await;
    assert_eq!(error_codes(&frames), ["rejected_change"]);

    watcher
        .sync_doc(&doc_id, &mut watched, &mut watched_peer)
        .await;
    assert!(
        watched.get_change_by_hash(&refused).is_none(),
        "not forwarded"
    );
    let (mut fresh, mut fresh_peer) = (AutoCommit::new(), sync::State::new());
    app.client()
        .await
        .open_doc(&doc_id, &mut fresh, &mut fresh_peer)
        .await;
    assert!(fresh.get_change_by_hash(&refused).is_none(), "not stored");
    assert_eq!(read_catalogue(&fresh)[0].title, "Returns");

    let other_site: DocId = "kb:elsewhere:en".parse().unwrap();
    let frames = app
        .client()
        .await
        .open_doc(&other_site, &mut AutoCommit::new(), &mut sync::State::new())
        .await;
    assert_eq!(
        error_codes(&frames),
        ["forbidden"],
        "a widget sees only its own site's knowledge base"
    );
    app.stop().await;
}

/// A stop between storing an article and changing the synced catalogue is
/// repaired at the next start: the catalogue lists exactly what is published.
#[tokio::test]
async fn catalogues_are_repaired_at_start() {
    use stufe_server::kb::article::{Article, ArticleWrite};
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    publish(
        &app,
        "returns",
        "en",
        "Returns",
        "Send it back within 30 days.",
    )
    .await;
    app.stop().await;

    // As if the server stopped right after the article rows were written.
    let storage = SqliteStorage::open(&dir.path().join("stufe.sqlite")).unwrap();
    let article = Article {
        id: "shipping".into(),
        site: "demo".into(),
        locale: "en".into(),
        title: "Shipping times".into(),
        html: "<p>Two days.</p>".into(),
        category: "general".into(),
        tags: Vec::new(),
        source_tickets: Vec::new(),
        version: 0,
        updated_at: 1,
    };
    storage
        .publish_articles(&[ArticleWrite {
            article: &article,
            markdown: "Two days.",
            plain_text: "Two days.",
        }])
        .unwrap();
    assert!(storage.unpublish_article("demo", "returns").unwrap());
    drop(storage);

    let app = TestApp::spawn(dir.path()).await;
    let (mut doc, mut peer) = (AutoCommit::new(), sync::State::new());
    app.client()
        .await
        .open_doc(&kb_doc("en"), &mut doc, &mut peer)
        .await;
    let ids: Vec<String> = read_catalogue(&doc).into_iter().map(|e| e.id).collect();
    assert_eq!(ids, ["shipping"]);
    app.stop().await;
}
