//! The staff console over HTTP: login, drafts edited by two staff at once,
//! who may publish, and the way from a resolved ticket to a published article.

use reqwest::header::{COOKIE, LOCATION};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

use crate::helpers::*;

impl ConsoleUser {
    /// Opens a draft in the editor: its `base` (heads) and current body.
    async fn open_draft(&self, path: &str) -> (String, String) {
        let (status, html) = self.get(path).await;
        assert_eq!(status, StatusCode::OK);
        (attr_after(&html, "name=\"base\" value=\""), textarea(&html))
    }
}

fn attr_after(html: &str, marker: &str) -> String {
    let start = html.find(marker).expect("marker in page") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn textarea(html: &str) -> String {
    let start = html
        .find("data-testid=\"draft-body\">")
        .expect("body editor")
        + "data-testid=\"draft-body\">".len();
    html[start..]
        .split("</textarea>")
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

fn draft_form<'a>(
    base: &'a str,
    title: &'a str,
    body: &'a str,
    sources: &'a str,
    action: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("base", base),
        ("title", title),
        ("body", body),
        ("locale", "en"),
        ("category", "technical"),
        ("tags", ""),
        ("source_tickets", sources),
        ("action", action),
    ]
}

#[tokio::test]
async fn console_needs_a_login_and_rejects_wrong_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let anonymous = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let response = anonymous.get(app.url("/console")).send().await.unwrap();
    assert_eq!(response.headers()[LOCATION], "/console/login?next=/console");
    assert_eq!(
        log_in(&app, "sam", "wrong").await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        log_in(&app, "nobody", STAFF_PASSWORD).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let (status, html) = sam.get("/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Where is my order #1042?"),
        "the seeded ticket is in the queue"
    );
    // The session also authorises the staff API.
    let me = sam
        .http
        .get(app.url("/api/staff/me"))
        .header(COOKIE, &sam.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    sam.post("/console/logout", &[]).await;
    assert_eq!(sam.get("/console").await.0, StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn two_staff_editing_one_draft_both_keep_their_edits() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let tia = log_in(&app, "tia", STAFF_PASSWORD).await.unwrap();
    let (_, location) = sam
        .post(
            "/console/drafts?site=demo",
            &[
                ("title", "Printer reset"),
                ("locale", "en"),
                ("category", "technical"),
            ],
        )
        .await;
    let draft = location.expect("redirect to the new draft");
    let (base, _) = sam.open_draft(&draft).await;
    let first = "Hold the button.\nWait.";
    assert_eq!(
        sam.post(
            &draft,
            &draft_form(&base, "Printer reset", first, "", "save")
        )
        .await
        .0,
        StatusCode::SEE_OTHER
    );

    // Both open the same version, then both save different changes.
    let (base, body) = sam.open_draft(&draft).await;
    assert_eq!(body, first);
    let (tia_base, _) = tia.open_draft(&draft).await;
    assert_eq!(base, tia_base);
    sam.post(
        &draft,
        &draft_form(
            &base,
            "Printer reset",
            "Hold the power button.\nWait.",
            "",
            "save",
        ),
    )
    .await;
    tia.post(
        &draft,
        &draft_form(
            &tia_base,
            "Printer reset",
            "Hold the button.\nWait.\nThen print a test page.",
            "",
            "save",
        ),
    )
    .await;

    let (_, merged) = sam.open_draft(&draft).await;
    assert_eq!(
        merged,
        "Hold the power button.\nWait.\nThen print a test page."
    );
    app.stop().await;
}

#[tokio::test]
async fn tier_one_drafts_and_proposes_while_tier_three_publishes_and_unpublishes() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let tia = log_in(&app, "tia", STAFF_PASSWORD).await.unwrap();
    let (_, location) = tia
        .post(
            "/console/drafts?site=demo",
            &[
                ("title", "Secret discounts"),
                ("locale", "en"),
                ("category", "general"),
            ],
        )
        .await;
    let draft = location.unwrap();
    let (base, _) = tia.open_draft(&draft).await;
    let (status, _) = tia
        .post(
            &draft,
            &draft_form(
                &base,
                "Secret discounts",
                "Use code STAFF50.",
                "",
                "publish",
            ),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let found: serde_json::Value =
        reqwest::get(app.url("/api/sites/demo/search?q=discounts&locale=en"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        found["results"],
        serde_json::json!([]),
        "nothing was published"
    );
    let (base, body) = tia.open_draft(&draft).await;
    assert_eq!(body, "Use code STAFF50.", "the draft itself was saved");

    // Tier 1 proposes; an admin sees the proposal, publishes, and unpublishes.
    tia.post(
        &draft,
        &draft_form(&base, "Secret discounts", &body, "", "propose"),
    )
    .await;
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let (_, kb_page) = sam.get("/console/kb").await;
    assert!(
        kb_page.contains("proposed for publishing"),
        "the proposal is visible to publishers"
    );
    let (base, _) = sam.open_draft(&draft).await;
    let (status, _) = sam
        .post(
            &draft,
            &draft_form(&base, "Opening hours", "We open at nine.", "", "publish"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let search = |q: &'static str| {
        let url = app.url(&format!("/api/sites/demo/search?q={q}&locale=en"));
        async move {
            let found: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
            found["results"].as_array().unwrap().len()
        }
    };
    assert_eq!(search("opening").await, 1);
    let (path, query) = draft.split_once('?').unwrap();
    assert_eq!(
        tia.post(&format!("{path}/unpublish?{query}"), &[]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(search("opening").await, 1, "tier 1 could not unpublish");
    assert_eq!(
        sam.post(&format!("{path}/unpublish?{query}"), &[]).await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(search("opening").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn an_article_written_from_a_resolved_ticket_is_linked_and_announced_to_its_customer() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, token) = create_ticket(&app).await;
    let id = local.id.to_string();
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    sam.post(
        &format!("/console/tickets/{id}/reply"),
        &[("body", "Hold the power button for ten seconds.")],
    )
    .await;
    sam.post(
        &format!("/console/tickets/{id}/update"),
        &[("status", "resolved"), ("tier", "3")],
    )
    .await;

    let (status, location) = sam
        .post(&format!("/console/tickets/{id}/article"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let draft = location.unwrap();
    let (base, body) = sam.open_draft(&draft).await;
    assert!(
        body.contains("It blinks red."),
        "prefilled from the ticket: {body}"
    );
    assert!(
        body.contains("Hold the power button"),
        "prefilled from the thread: {body}"
    );
    let (status, _) = sam
        .post(
            &draft,
            &draft_form(&base, "Printer blinks red", &body, &id, "publish"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    let article_id = draft
        .trim_start_matches("/console/drafts/")
        .split('?')
        .next()
        .unwrap();
    let article: serde_json::Value =
        reqwest::get(app.url(&format!("/api/sites/demo/articles/{article_id}")))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(article["source_tickets"], serde_json::json!([id]));

    // The customer's open widget gets the announcement in the thread.
    let mut widget = app.client().await;
    let mut mine = LocalDoc::new(local.id, automerge::AutoCommit::new());
    widget.open(&mut mine, &token).await;
    let last = read(&mine.doc).messages.last().cloned().unwrap();
    assert!(last.body.contains("Printer blinks red"), "{}", last.body);
    app.stop().await;
}

#[tokio::test]
async fn console_and_frame_send_strict_policies_and_the_console_cannot_be_framed() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let get = |path: &str| reqwest::get(app.url(path));
    let login = get("/console/login").await.unwrap();
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let policy = header(&login, "content-security-policy");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(header(&login, "x-frame-options"), "DENY");
    assert_eq!(header(&login, "x-content-type-options"), "nosniff");
    let html = login.text().await.unwrap();
    assert!(
        !html.contains("<style") && !html.contains("style="),
        "no inline style: {html}"
    );
    assert!(!html.contains("<script>"), "no inline script");
    let css = get("/console/style.css").await.unwrap();
    assert_eq!(css.status(), 200);
    assert!(header(&css, "content-type").starts_with("text/css"));

    let frame = get("/w/frame.html?site=demo").await.unwrap();
    let policy = header(&frame, "content-security-policy");
    assert!(
        policy.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{policy}"
    );
    assert!(
        policy.ends_with("; frame-ancestors http://localhost:* http://127.0.0.1:*"),
        "the demo site's allowed origins may embed the widget: {policy}"
    );
    assert_eq!(header(&frame, "x-content-type-options"), "nosniff");
    app.stop().await;
}

#[tokio::test]
async fn an_article_published_through_the_api_is_edited_and_republished_in_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let response = reqwest::Client::new()
        .put(app.url("/api/staff/articles/router-reset"))
        .bearer_auth(STAFF_TOKEN)
        .json(&serde_json::json!({
            "site": "demo", "locale": "en", "title": "Reset the router",
            "body": "Hold **reset** for ten seconds.", "category": "technical"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let (_, kb) = sam.get("/console/kb?site=demo").await;
    assert!(
        kb.contains("data-testid=\"edit-router-reset\""),
        "listed: {kb}"
    );
    let (status, location) = sam
        .post("/console/articles/router-reset/edit?site=demo", &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let draft = location.unwrap();
    assert_eq!(draft, "/console/drafts/router-reset?site=demo");
    let (base, body) = sam.open_draft(&draft).await;
    assert_eq!(
        body, "Hold **reset** for ten seconds.",
        "the published Markdown"
    );
    let edited = "Hold **reset** for fifteen seconds.";
    let (status, _) = sam
        .post(
            &draft,
            &draft_form(&base, "Reset the router", edited, "", "publish"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let article: serde_json::Value = reqwest::get(app.url("/api/sites/demo/articles/router-reset"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(article["version"], 2);
    assert!(article["html"].as_str().unwrap().contains("fifteen"));
    // Editing again opens the same draft.
    let (_, again) = sam
        .post("/console/articles/router-reset/edit?site=demo", &[])
        .await;
    assert_eq!(
        again.as_deref(),
        Some("/console/drafts/router-reset?site=demo")
    );
    let (status, _) = sam
        .post("/console/drafts/router-reset/unpublish?site=demo", &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let gone = reqwest::get(app.url("/api/sites/demo/articles/router-reset"))
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn agents_change_the_priority_in_the_console_and_see_the_address_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, _) = create_ticket(&app).await;
    let id = local.id.to_string();
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let (status, page) = sam.get(&format!("/console/tickets/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"data-testid="priority""#), "{page}");
    let meta = &page[page.find(r#"data-testid="ticket-meta""#).unwrap()..];
    let meta = &meta[..meta.find("</p>").unwrap()];
    assert_eq!(
        meta.matches("ada@example.com").count(),
        1,
        "the customer (known by their address) is named once: {meta}"
    );
    let (status, _) = sam
        .post(
            &format!("/console/tickets/{id}/update"),
            &[("status", "new"), ("tier", "1"), ("priority", "urgent")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let ticket = app.staff_ticket(local.id).await;
    assert_eq!(ticket["priority"], "urgent");
    assert_eq!(ticket["status"], "new", "only what the agent changed");
    app.stop().await;
}

#[tokio::test]
async fn the_queue_is_searched_sorted_and_changed_several_tickets_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (first, _) = create_ticket(&app).await;
    let (second, _) = create_ticket(&app).await;
    let sam = log_in(&app, "sam", STAFF_PASSWORD).await.unwrap();
    let rows = |page: &str| page.matches(r#"data-testid="queue-row""#).count();

    // Search by id (any part of it), by subject word, by customer's email.
    let (_, page) = sam
        .get(&format!("/console?q={}", &first.id.to_string()[..10]))
        .await;
    assert_eq!(rows(&page), 1, "{page}");
    assert!(page.contains(&first.id.to_string()));
    let (_, all) = sam.get("/console?q=printer%20OFFLINE").await;
    assert!(rows(&all) >= 2, "both match, in any case");
    let (_, none) = sam.get("/console?q=nothing-like-this").await;
    assert_eq!(rows(&none), 0);
    // The site is a column; the email may wrap after @ and dots only.
    assert!(all.contains("<td>demo</td>"), "{all}");
    assert!(all.contains("ada@<wbr>example.<wbr>com"), "{all}");
    // Oldest first puts the first created above the second.
    let (_, oldest) = sam.get("/console?q=printer&sort=oldest").await;
    let (a, b) = (
        oldest.find(&first.id.to_string()).unwrap(),
        oldest.find(&second.id.to_string()).unwrap(),
    );
    assert!(a < b, "oldest first");
    let (_, newest) = sam.get("/console?q=printer&sort=newest").await;
    assert!(
        newest.find(&second.id.to_string()).unwrap() < newest.find(&first.id.to_string()).unwrap()
    );

    // Both checked: pending, tier 2, assigned to Tia, in one go.
    let staff = app.staff_json("/api/staff/accounts").await;
    let tia = staff
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Tia First-Level")
        .unwrap()["id"]
        .to_string();
    let (one, two) = (format!("t:{}", first.id), format!("t:{}", second.id));
    let (status, to) = sam
        .post(
            "/console/bulk",
            &[
                (one.as_str(), "on"),
                (two.as_str(), "on"),
                ("status", "pending"),
                ("tier", "2"),
                ("assignee", tia.as_str()),
                ("back", "/console?q=printer&sort=oldest&page=0"),
            ],
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::SEE_OTHER);
    assert_eq!(to.as_deref(), Some("/console?q=printer&sort=oldest&page=0"));
    for id in [first.id, second.id] {
        let t = app.staff_ticket(id).await;
        assert_eq!(
            (t["status"].as_str(), t["tier"].as_i64()),
            (Some("pending"), Some(2))
        );
        let listed = app.staff_json("/api/staff/tickets").await;
        let row = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id.to_string())
            .unwrap()
            .clone();
        assert_eq!(row["assignee"].to_string(), tia);
    }
    // Nothing checked, or a back link elsewhere: refused / kept at home.
    let (status, _) = sam.post("/console/bulk", &[("status", "open")]).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    let (_, to) = sam
        .post(
            "/console/bulk",
            &[
                (one.as_str(), "on"),
                ("status", "open"),
                ("back", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(to.as_deref(), Some("/console"));
    app.stop().await;
}
