//! Knowledge-base routes. Public (widgets): search, read, "was this helpful?",
//! deflections. Staff: publish a (new version of an) article, unpublish, and
//! the search insights (top and zero-result searches).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use stufe_shared::http::{Deflection, HelpfulVote, SearchResults};
use stufe_shared::kb::{self, CatalogueEntry};
use stufe_shared::{Locale, SiteKey, TicketId};

use super::staff::{staff_reply, Staff};
use crate::auth::{can_publish, require_site};
use crate::clock::now_ms;
use crate::error::AppError;
use crate::kb::article::{
    Article, ArticleId, ArticleSubmission, ArticleWrite, KbCounts, KbEvent, QueryCount,
};
use crate::kb::{markdown, query};
use crate::storage;
use crate::storage::StaffMember;
use crate::AppState;

const SEARCH_LIMIT: u32 = 10;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sites/{site}/search", get(search))
        .route("/api/sites/{site}/articles/{id}", get(read))
        .route("/api/sites/{site}/articles/{id}/helpful", post(helpful))
        .route("/api/sites/{site}/deflections", post(deflection))
        .route("/api/staff/articles/{id}", put(publish).delete(unpublish))
        .route("/api/staff/kb/insights", get(insights))
}

pub(crate) fn site_key(site: &str) -> Result<SiteKey, AppError> {
    site.parse()
        .map_err(|_| AppError::not_found("unknown site"))
}

pub(crate) fn article_id(id: &str) -> Result<ArticleId, AppError> {
    id.parse()
        .map_err(|err: crate::kb::article::BadArticleId| AppError::bad_request(err.to_string()))
}

async fn record(state: &AppState, site: &SiteKey, event: KbEvent) {
    let site = site.to_string();
    let result = storage::blocking(&state.storage, move |s| {
        s.record_kb_event(&site, &event, now_ms())
    })
    .await;
    if let Err(err) = result {
        // Losing an analytics event must not fail the customer's request.
        tracing::warn!(cause = %err, "could not record a KB event");
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
    locale: Option<String>,
    /// Count this search in the insights (the widget sets it once the customer
    /// pauses typing, so partial words are not counted).
    #[serde(default)]
    record: bool,
}

async fn search(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<SearchResults>, AppError> {
    let key = site_key(&site)?;
    if q.q.len() > 200 {
        return Err(AppError::bad_request("a search is at most 200 bytes"));
    }
    let config = state
        .site(&key)
        .await?
        .ok_or_else(|| AppError::not_found("unknown site"))?;
    let locale: Locale = match &q.locale {
        Some(requested) => requested
            .parse()
            .map_err(|_| AppError::bad_request("unknown locale: use en or de"))?,
        None => config.locale.parse().unwrap_or(Locale::En),
    };
    let Some(terms) = query::SearchTerms::parse(&q.q) else {
        return Ok(Json(SearchResults {
            results: Vec::new(),
        }));
    };
    let site = key.clone();
    let results = storage::blocking(&state.storage, move |s| {
        s.search_articles(&site, locale, &terms, SEARCH_LIMIT)
    })
    .await?;
    if q.record {
        let event = KbEvent::Search {
            query: query::normalise_for_insights(&q.q),
            results: u32::try_from(results.len()).unwrap_or(u32::MAX),
        };
        record(&state, &key, event).await;
    }
    Ok(Json(SearchResults { results }))
}

async fn read(
    State(state): State<AppState>,
    Path((site, id)): Path<(String, String)>,
) -> Result<Json<Article>, AppError> {
    let key = site_key(&site)?;
    let id = article_id(&id)?;
    let (site_name, article) = (key.to_string(), id.to_string());
    let found = storage::blocking(&state.storage, move |s| s.article(&site_name, &article))
        .await?
        .ok_or_else(|| AppError::not_found("no such article"))?;
    record(
        &state,
        &key,
        KbEvent::ArticleView {
            article: id.to_string(),
        },
    )
    .await;
    Ok(Json(found))
}

async fn helpful(
    State(state): State<AppState>,
    Path((site, id)): Path<(String, String)>,
    Json(vote): Json<HelpfulVote>,
) -> Result<StatusCode, AppError> {
    let key = site_key(&site)?;
    let id = article_id(&id)?;
    let event = KbEvent::Helpful {
        article: id.to_string(),
        helpful: vote.helpful,
    };
    record(&state, &key, event).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn deflection(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Json(body): Json<Deflection>,
) -> Result<StatusCode, AppError> {
    let key = site_key(&site)?;
    let id = article_id(&body.article)?;
    record(
        &state,
        &key,
        KbEvent::Deflection {
            article: id.to_string(),
        },
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

fn require_publisher(member: &StaffMember) -> Result<(), AppError> {
    if can_publish(member) {
        Ok(())
    } else {
        Err(AppError::new(
            StatusCode::FORBIDDEN,
            "only tier-3 staff and admins publish articles",
        ))
    }
}

#[derive(Serialize)]
pub(crate) struct Published {
    pub id: String,
    pub version: u32,
    pub html: String,
}

async fn publish(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(submission): Json<ArticleSubmission>,
) -> Result<Json<Published>, AppError> {
    let id = article_id(&id)?;
    Ok(Json(
        publish_article(&state, &member, &id, submission).await?,
    ))
}

/// Publishes (a new version of) an article: stored and indexed, added to the
/// synced catalogue (open widgets see it live), and on first publication
/// announced in the thread of each ticket it was written from.
pub(crate) async fn publish_article(
    state: &AppState,
    member: &StaffMember,
    id: &ArticleId,
    submission: ArticleSubmission,
) -> Result<Published, AppError> {
    require_publisher(member)?;
    submission.validate().map_err(AppError::bad_request)?;
    let key = site_key(&submission.site)?;
    require_site(member, key.as_str())?;
    let locale: Locale = submission
        .locale
        .parse()
        .map_err(|_| AppError::bad_request("bad locale"))?;
    state
        .site(&key)
        .await?
        .ok_or_else(|| AppError::not_found("unknown site"))?;
    let sources: Vec<TicketId> = submission
        .source_tickets
        .iter()
        .map(|t| {
            t.parse()
                .map_err(|_| AppError::bad_request(format!("unknown source ticket {t:?}")))
        })
        .collect::<Result<_, _>>()?;
    let plain_text = markdown::to_plain_text(&submission.body);
    let article = Article {
        id: id.to_string(),
        site: key.to_string(),
        locale: submission.locale,
        title: submission.title.trim().to_owned(),
        html: markdown::to_safe_html(&submission.body),
        category: submission.category,
        tags: submission.tags,
        source_tickets: submission.source_tickets,
        version: 0,
        updated_at: now_ms(),
    };
    let (stored, markdown, text) = (article.clone(), submission.body, plain_text);
    let versions = storage::blocking(&state.storage, move |s| {
        s.publish_articles(&[ArticleWrite {
            article: &stored,
            markdown: &markdown,
            plain_text: &text,
        }])
    })
    .await?;
    let version = versions.first().copied().unwrap_or(1);
    let entry = CatalogueEntry {
        id: article.id.clone(),
        title: article.title.clone(),
        category: article.category.clone(),
        tags: article.tags.join(" "),
        version: i64::from(version),
        updated_at: article.updated_at,
    };
    state
        .hub
        .kb_change(&key, locale, |doc| kb::put_entry(doc, &entry))
        .await?;
    // An article lives in one locale: republished under another, it leaves the old catalogue.
    for other in [Locale::En, Locale::De]
        .into_iter()
        .filter(|l| *l != locale)
    {
        state
            .hub
            .kb_change(&key, other, |doc| kb::remove_entry(doc, &entry.id))
            .await?;
    }
    if version == 1 {
        let announcement = match locale {
            Locale::De => format!(
                "Wir haben einen Hilfeartikel zu Ihrer Anfrage veröffentlicht: „{}“",
                article.title
            ),
            Locale::En => format!(
                "We published a help article about your request: “{}”",
                article.title
            ),
        };
        for ticket in sources {
            if let Err(err) = staff_reply(state, member, ticket, announcement.clone()).await {
                tracing::warn!(%ticket, ?err, "could not announce the article in its source ticket");
            }
        }
    }
    tracing::info!(article = %id, version, by = member.id, "article published");
    Ok(Published {
        id: article.id,
        version,
        html: article.html,
    })
}

#[derive(Deserialize)]
struct SiteParam {
    site: String,
}

async fn unpublish(
    Staff(member): Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(param): Query<SiteParam>,
) -> Result<StatusCode, AppError> {
    let key = site_key(&param.site)?;
    unpublish_article(&state, &member, &key, &article_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes an article out of the knowledge base, the index and every widget.
pub(crate) async fn unpublish_article(
    state: &AppState,
    member: &StaffMember,
    key: &SiteKey,
    id: &ArticleId,
) -> Result<(), AppError> {
    require_publisher(member)?;
    require_site(member, key.as_str())?;
    let (site, article) = (key.to_string(), id.to_string());
    let removed = storage::blocking(&state.storage, move |s| {
        s.unpublish_article(&site, &article)
    })
    .await?;
    if !removed {
        return Err(AppError::not_found("no such published article"));
    }
    for locale in [Locale::En, Locale::De] {
        state
            .hub
            .kb_change(key, locale, |doc| kb::remove_entry(doc, id.as_str()))
            .await?;
    }
    tracing::info!(article = %id, by = member.id, "article unpublished");
    Ok(())
}

/// The period the self-service counts cover.
pub(crate) const INSIGHT_DAYS: i64 = 30;

/// The start (ms) of the period the self-service counts cover.
pub(crate) fn insights_since() -> i64 {
    now_ms() - INSIGHT_DAYS * 86_400_000
}

#[derive(Serialize)]
struct Insights {
    top_searches: Vec<QueryCount>,
    zero_result_searches: Vec<QueryCount>,
    /// Over the last [`INSIGHT_DAYS`] days.
    counts: KbCounts,
}

async fn insights(
    Staff(member): Staff,
    State(state): State<AppState>,
    Query(param): Query<SiteParam>,
) -> Result<Json<Insights>, AppError> {
    let key = site_key(&param.site)?;
    require_site(&member, key.as_str())?;
    let site = key.to_string();
    let insights = storage::blocking(&state.storage, move |s| {
        Ok(Insights {
            top_searches: s.top_searches(&site, false, 20)?,
            zero_result_searches: s.top_searches(&site, true, 20)?,
            counts: s.kb_counts(&site, insights_since())?,
        })
    })
    .await?;
    Ok(Json(insights))
}
