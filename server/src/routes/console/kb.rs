//! The knowledge base: articles, drafts and publishing from the console.

use super::*;

pub(super) fn draft_key(site: &str, id: &str) -> String {
    format!("draft:{site}:{id}")
}

pub(super) fn new_draft_id(title: &str) -> String {
    let slug: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|w| !w.is_empty())
        .take(6)
        .collect::<Vec<_>>()
        .join("-");
    // Article ids are at most 64 characters: the slug leaves room for "-" and the suffix.
    let slug = slug[..slug.len().min(55)].trim_end_matches('-');
    let suffix = hex::encode(rand::random::<[u8; 4]>());
    if slug.is_empty() {
        format!("article-{suffix}")
    } else {
        format!("{slug}-{suffix}")
    }
}

pub(super) async fn store_draft(
    state: &AppState,
    site: &str,
    id: &str,
    doc: &mut automerge::AutoCommit,
) -> Result<(), AppError> {
    // Another server may have stored the draft since it was loaded here:
    // what it stored is merged in, never overwritten.
    let (key, mut doc) = (draft_key(site, id), doc.clone());
    storage::blocking(&state.storage, move |s| loop {
        let stored = s.document(&key)?;
        let after = stored.as_ref().map_or(0, |d| d.seq);
        if let Some(stored) = stored {
            doc.load_incremental(&stored.bytes)
                .map_err(|err| storage::StorageError::Corrupt(err.to_string()))?;
        }
        let write = storage::DocWrite::Document {
            doc_id: key.clone(),
            bytes: storage::DocBytes::Snapshot(doc.save()),
            after,
        };
        match s.write_docs(&[write]) {
            Err(storage::StorageError::Conflict(_)) => continue,
            written => return written.map(drop),
        }
    })
    .await?;
    Ok(())
}

pub(super) async fn load_draft(
    state: &AppState,
    site: &str,
    id: &str,
) -> Result<automerge::AutoCommit, AppError> {
    let key = draft_key(site, id);
    let stored = storage::blocking(&state.storage, move |s| s.document(&key))
        .await?
        .ok_or_else(|| AppError::not_found("no such draft"))?;
    automerge::AutoCommit::load(&stored.bytes)
        .map_err(|err| AppError::from(storage::StorageError::Corrupt(err.to_string())))
}

pub(super) async fn create_draft(
    state: &AppState,
    user: &StaffMember,
    site: &str,
    fields: &DraftFields,
) -> Result<String, AppError> {
    let mut doc =
        drafts::create(fields, &user.name).map_err(|err| AppError::bad_request(err.to_string()))?;
    let _guard = state.drafts.lock().await;
    // An id no draft and no article of the site has yet: a new draft never
    // overwrites another's work, however alike their titles.
    let id = loop {
        let id = new_draft_id(&fields.title);
        let (key, site_key, wanted) = (draft_key(site, &id), site.to_owned(), id.clone());
        let taken = storage::blocking(&state.storage, move |s| {
            Ok(s.document(&key)?.is_some() || s.article_source(&site_key, &wanted)?.is_some())
        })
        .await?;
        if !taken {
            break id;
        }
    };
    store_draft(state, site, &id, &mut doc).await?;
    Ok(id)
}

pub(super) async fn article_from_ticket(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let ticket = requests::ticket_for(&state, &user, ticket_id(&id)?).await?;
    let mut body = format!("## Problem\n\n{}\n\n## Solution\n\n", ticket.description);
    let answers = ticket
        .messages
        .iter()
        .filter(|m| m.author == Author::Staff && !is_system_notice(&m.id));
    for m in answers {
        body.push_str(&m.body);
        body.push_str("\n\n");
    }
    let site_locale = {
        let site = site_key(&ticket.site)?;
        state.site(&site).await?.map(|c| c.locale.clone())
    };
    let fields = DraftFields {
        title: ticket.subject.clone(),
        body,
        category: ticket.category.clone(),
        locale: site_locale.unwrap_or_else(|| "en".into()),
        tags: String::new(),
        source_tickets: ticket.id.clone(),
    };
    let draft = create_draft(&state, &user, &ticket.site, &fields).await?;
    Ok(see_other(&format!(
        "/console/drafts/{draft}?site={}",
        ticket.site
    )))
}

#[derive(Deserialize)]
pub(super) struct SiteQuery {
    #[serde(default = "demo_site")]
    pub(super) site: String,
}

pub(super) fn demo_site() -> String {
    crate::seed::DEMO_SITE.to_owned()
}

pub(super) async fn kb_page(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
) -> Result<Markup, AppError> {
    require_site(&user, &q.site)?;
    let site = site_key(&q.site)?.to_string();
    let (prefix, insight_site) = (format!("draft:{site}:"), site.clone());
    let docs = storage::blocking(&state.storage, move |s| s.documents_with_prefix(&prefix)).await?;
    let since = insights_since();
    let (top, zero, counts) = storage::blocking(&state.storage, move |s| {
        Ok((
            s.top_searches(&insight_site, false, 10)?,
            s.top_searches(&insight_site, true, 10)?,
            s.kb_counts(&insight_site, since)?,
        ))
    })
    .await?;
    let published_site = site.clone();
    let published: Vec<_> = storage::blocking(&state.storage, |s| s.published_versions())
        .await?
        .into_iter()
        .filter(|p| p.site == published_site)
        .collect();
    let drafts: Vec<(String, Draft)> = docs
        .into_iter()
        .filter_map(|(key, bytes)| {
            let id = key.rsplit(':').next()?.to_owned();
            Some((id, drafts::read(&automerge::AutoCommit::load(&bytes).ok()?)))
        })
        .collect();
    Ok(page(
        "Knowledge base",
        Some(&user),
        html! {
            form.card method="post" action={ "/console/drafts?site=" (site) } { (csrf::field())
                strong { "New draft " }
                input name="title" placeholder="Title" required data-testid="new-draft-title";
                select name="locale" aria-label="Language" { option value="en" { "English" } option value="de" { "Deutsch" } }
                input name="category" placeholder="Category" value="general" required;
                button data-testid="new-draft" { "Create" }
            }
            h2 { "Drafts and articles" }
            table {
                tr { th { "Title" } th { "Locale" } th { "Created by" } th { "State" } }
                @for (id, d) in &drafts {
                    tr {
                        td { a href={ "/console/drafts/" (id) "?site=" (site) } { (d.fields.title) } }
                        td { (d.fields.locale) } td { (d.created_by) }
                        td {
                            @if d.published_version > 0 { "published, version " (d.published_version) }
                            @else if d.proposed { strong { "proposed for publishing" } }
                            @else { "draft" }
                        }
                    }
                }
            }
            h2 { "Published articles" }
            p { small { "Every published article, however it was published (console or API), can be edited here: editing opens its draft (made from the published text if it has none), where it can be published again or unpublished." } }
            table data-testid="published" {
                tr { th { "Article" } th { "Locale" } th { "Version" } th { "Edit" } }
                @for p in &published {
                    tr {
                        td { a href={ "/api/sites/" (site) "/articles/" (p.id) } { (p.id) } }
                        td { (p.locale) } td { (p.version) }
                        td { form.inline method="post" action={ "/console/articles/" (p.id) "/edit?site=" (site) } { (csrf::field())
                            button data-testid={ "edit-" (p.id) } { "Edit" } } }
                    }
                }
            }
            h2 { "Self-service, last " (INSIGHT_DAYS) " days" }
            table data-testid="kb-counts" {
                tr { th { "Searches" } th { "… found nothing" } th { "Article views" } th { "Helpful yes / no" } th { "Deflections" } }
                tr {
                    td { (counts.searches) } td { (counts.zero_result_searches) } td { (counts.article_views) }
                    td { (counts.helpful_yes) " / " (counts.helpful_no) } td { (counts.deflections) }
                }
            }
            h2 { "Top searches" }
            ul { @for q in &top { li { (q.query) " — " (q.count) } } }
            h2 { "Searches that found nothing (articles to write)" }
            ul data-testid="zero-results" { @for q in &zero { li { (q.query) " — " (q.count) } } }
        },
    ))
}

#[derive(Deserialize)]
pub(super) struct NewDraftForm {
    title: String,
    locale: String,
    category: String,
}

pub(super) async fn new_draft(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
    Form(form): Form<NewDraftForm>,
) -> Result<Response, AppError> {
    require_site(&user, &q.site)?;
    let fields = DraftFields {
        title: form.title,
        body: String::new(),
        category: form.category,
        locale: form.locale,
        ..Default::default()
    };
    let id = create_draft(&state, &user, &q.site, &fields).await?;
    Ok(see_other(&format!("/console/drafts/{id}?site={}", q.site)))
}

pub(super) async fn draft_page(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SiteQuery>,
) -> Result<Markup, AppError> {
    require_site(&user, &q.site)?;
    let doc = load_draft(&state, &q.site, &id).await?;
    let draft = drafts::read(&doc);
    let f = &draft.fields;
    Ok(page(
        &format!("Draft: {}", f.title),
        Some(&user),
        html! {
            @if draft.published_version > 0 { p { "Published as version " (draft.published_version) ". Publishing again makes a new version." } }
            form.card method="post" action={ "/console/drafts/" (id) "?site=" (q.site) } { (csrf::field())
                input type="hidden" name="base" value=(draft.heads.join(","));
                p { label { "Title " input name="title" value=(f.title) required size="60" data-testid="draft-title"; } }
                p { label { "Body (Markdown)" textarea name="body" rows="14" data-testid="draft-body" { (f.body) } } }
                p {
                    label { "Locale " select name="locale" {
                        option value="en" selected[f.locale == "en"] { "English" }
                        option value="de" selected[f.locale == "de"] { "Deutsch" } } }
                    " " label { "Category " input name="category" value=(f.category) required; }
                    " " label { "Tags " input name="tags" value=(f.tags); }
                }
                input type="hidden" name="source_tickets" value=(f.source_tickets);
                @if !f.source_tickets.is_empty() { p { small { "Written from ticket " (f.source_tickets) } } }
                button name="action" value="save" { "Save draft" }
                " "
                @if can_publish(&user) {
                    button name="action" value="publish" data-testid="publish" { "Publish" }
                } @else if draft.proposed {
                    small { "Proposed; tier-3 staff or an admin will review and publish it." }
                } @else {
                    button name="action" value="propose" data-testid="propose" { "Propose for publishing" }
                }
            }
            section.card data-testid="draft-preview" {
                h2 { "Preview — what customers will see" }
                p { small { "Markdown is formatted; HTML tags are shown as typed, never interpreted. Save to update the preview." } }
                // Sanitised by the same function that renders published articles.
                (PreEscaped(markdown::to_safe_html(&f.body)))
            }
            @if draft.published_version > 0 && can_publish(&user) {
                form.card method="post" action={ "/console/drafts/" (id) "/unpublish?site=" (q.site) } { (csrf::field())
                    button data-testid="unpublish" { "Unpublish" }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
pub(super) struct DraftForm {
    base: String,
    title: String,
    body: String,
    locale: String,
    category: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    source_tickets: String,
    action: String,
}

pub(super) async fn save_draft(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SiteQuery>,
    Form(form): Form<DraftForm>,
) -> Result<Response, AppError> {
    require_site(&user, &q.site)?;
    let base: Vec<automerge::ChangeHash> = form
        .base
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| {
            h.parse()
                .map_err(|_| AppError::bad_request("bad draft version"))
        })
        .collect::<Result<_, _>>()?;
    let fields = DraftFields {
        title: form.title,
        body: form.body,
        category: form.category,
        locale: form.locale,
        tags: form.tags,
        source_tickets: form.source_tickets,
    };
    let guard = state.drafts.lock().await;
    let mut doc = load_draft(&state, &q.site, &id).await?;
    drafts::edit(&mut doc, &base, &fields)
        .map_err(|err| AppError::new(StatusCode::CONFLICT, err.to_string()))?;
    store_draft(&state, &q.site, &id, &mut doc).await?;
    drop(guard);
    if form.action == "propose" {
        let _guard = state.drafts.lock().await;
        let mut doc = load_draft(&state, &q.site, &id).await?;
        drafts::propose(&mut doc).map_err(|err| AppError::bad_request(err.to_string()))?;
        store_draft(&state, &q.site, &id, &mut doc).await?;
    }
    if form.action == "publish" {
        let merged = drafts::read(&doc).fields;
        let submission = ArticleSubmission {
            site: q.site.clone(),
            locale: merged.locale,
            title: merged.title,
            body: merged.body,
            category: merged.category,
            tags: merged.tags.split_whitespace().map(str::to_owned).collect(),
            source_tickets: merged
                .source_tickets
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        };
        let published = publish_article(&state, &user, &article_id(&id)?, submission).await?;
        let _guard = state.drafts.lock().await;
        let mut doc = load_draft(&state, &q.site, &id).await?;
        drafts::mark_published(&mut doc, published.version)
            .map_err(|err| AppError::bad_request(err.to_string()))?;
        store_draft(&state, &q.site, &id, &mut doc).await?;
    }
    Ok(see_other(&format!("/console/drafts/{id}?site={}", q.site)))
}

pub(super) async fn unpublish_draft(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SiteQuery>,
) -> Result<Response, AppError> {
    require_site(&user, &q.site)?;
    let site = site_key(&q.site)?;
    unpublish_article(&state, &user, &site, &article_id(&id)?).await?;
    let _guard = state.drafts.lock().await;
    let mut doc = load_draft(&state, &q.site, &id).await?;
    drafts::mark_published(&mut doc, 0).map_err(|err| AppError::bad_request(err.to_string()))?;
    store_draft(&state, &q.site, &id, &mut doc).await?;
    Ok(see_other(&format!("/console/drafts/{id}?site={}", q.site)))
}

/// Opens a published article in the draft editor: its draft if it has one,
/// else a new draft (under the article's id) made from the published text.
pub(super) async fn edit_article(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SiteQuery>,
) -> Result<Response, AppError> {
    require_site(&user, &q.site)?;
    let article = article_id(&id)?;
    let key = draft_key(&q.site, article.as_str());
    let (site, wanted) = (q.site.clone(), article.as_str().to_owned());
    let (draft, source) = storage::blocking(&state.storage, move |s| {
        Ok((s.document(&key)?, s.article_source(&site, &wanted)?))
    })
    .await?;
    if draft.is_none() {
        let (article_now, markdown) =
            source.ok_or_else(|| AppError::not_found("no such published article"))?;
        let fields = DraftFields {
            title: article_now.title,
            body: markdown,
            category: article_now.category,
            locale: article_now.locale,
            tags: article_now.tags.join(" "),
            source_tickets: article_now.source_tickets.join(" "),
        };
        let mut doc = drafts::create(&fields, &user.name)
            .map_err(|err| AppError::bad_request(err.to_string()))?;
        drafts::mark_published(&mut doc, article_now.version)
            .map_err(|err| AppError::bad_request(err.to_string()))?;
        let _guard = state.drafts.lock().await;
        store_draft(&state, &q.site, article.as_str(), &mut doc).await?;
    }
    Ok(see_other(&format!(
        "/console/drafts/{}?site={}",
        article.as_str(),
        q.site
    )))
}
