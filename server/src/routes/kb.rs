//! Knowledge-base routes. Public (widgets): search, read, "was this helpful?",
//! deflections. Staff: publish a (new version of an) article, unpublish, and
//! the search insights (top and zero-result searches).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use stufe_shared::http::{Deflection, HelpfulVote, SearchResults};
use stufe_shared::{Locale, SiteKey};

use super::{article_id, site_key};
use crate::auth::Staff;
use crate::clock::now_ms;
use crate::desk::publishing::{insights_since, publish_article, unpublish_article, Published};
use crate::desk::require_site;
use crate::error::AppError;
use crate::kb::article::{Article, ArticleSubmission, KbCounts, KbEvent, QueryCount};
use crate::kb::query;
use crate::storage;
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

#[utoipa::path(
    put,
    path = "/api/staff/articles/{id}",
    tag = "staff",
    summary = "Publish an article (a new version if it exists), live in every widget",
    params(
        ("id" = String, Path, description = "The article id (a slug: lowercase letters, digits, dashes)"),
    ),
    request_body(content = Object, content_type = "application/json", description = "`{\"site\", \"locale\": \"en\"|\"de\", \"title\", \"body\" (Markdown), \"category\", \"tags\": [...], \"source_tickets\": [...]}`"),
    responses(
        (status = 200, description = "`{\"id\", \"version\", \"html\"}`", body = Object),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
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

#[derive(Deserialize)]
struct SiteParam {
    site: String,
}

#[utoipa::path(
    delete,
    path = "/api/staff/articles/{id}",
    tag = "staff",
    summary = "Take an article out of the knowledge base",
    params(
        ("id" = String, Path, description = "The article id"),
        ("site" = String, Query, description = "The site key, e.g. `demo`"),
    ),
    responses(
        (status = 204, description = "Unpublished"),
        (status = 400, description = "Bad input; `error` says why, and nothing was changed", body = crate::error::ErrorBody),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
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

#[derive(Serialize)]
struct Insights {
    top_searches: Vec<QueryCount>,
    zero_result_searches: Vec<QueryCount>,
    /// Over the last [`INSIGHT_DAYS`] days.
    counts: KbCounts,
}

#[utoipa::path(
    get,
    path = "/api/staff/kb/insights",
    tag = "staff",
    summary = "Top and zero-result searches and 30-day counts of the help centre",
    params(
        ("site" = String, Query, description = "The site key, e.g. `demo`"),
    ),
    responses(
        (status = 200, description = "`{\"top_searches\", \"zero_result_searches\", \"counts\"}`", body = Object),
        (status = 401, description = "No valid staff token (`Authorization: Bearer TOKEN`) or console session", body = crate::error::ErrorBody),
        (status = 403, description = "Your role or sites do not allow it; nothing was changed", body = crate::error::ErrorBody),
        (status = 404, description = "No such thing, or not on a site you work on", body = crate::error::ErrorBody),
    ),
    security(("staff_token" = [])),
)]
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

/// This module's part of the staff API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(publish, unpublish, insights))]
pub(super) struct Api;
