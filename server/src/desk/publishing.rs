//! Publishing the knowledge base (tier-3 staff and admins): a new article or
//! version is stored, indexed and put in the synced catalogue (open widgets
//! see it live) and announced in the requests it was written from;
//! unpublishing takes it out of all of them. Also the period the
//! self-service insights cover.

use serde::Serialize;
use stufe_shared::kb::{self, CatalogueEntry};
use stufe_shared::ticket::SystemNotice;
use stufe_shared::{Locale, SiteKey, TicketId};

use super::{can_publish, requests, require_site, DeskError};
use crate::clock::now_ms;
use crate::events::{self, ArticleFacts};
use crate::kb::article::{Article, ArticleId, ArticleSubmission, ArticleWrite};
use crate::kb::markdown;
use crate::storage::{self, StaffMember};
use crate::AppState;

fn require_publisher(member: &StaffMember) -> Result<(), DeskError> {
    if can_publish(member) {
        Ok(())
    } else {
        Err(DeskError::not_allowed(
            "only tier-3 staff and admins publish articles",
        ))
    }
}

#[derive(Serialize)]
pub struct Published {
    pub id: String,
    pub version: u32,
    pub html: String,
}

/// Publishes (a new version of) an article: stored and indexed, added to the
/// synced catalogue (open widgets see it live), and on first publication
/// announced in the thread of each ticket it was written from.
pub async fn publish_article(
    state: &AppState,
    member: &StaffMember,
    id: &ArticleId,
    submission: ArticleSubmission,
) -> Result<Published, DeskError> {
    require_publisher(member)?;
    submission.validate().map_err(DeskError::invalid)?;
    let key: SiteKey = submission
        .site
        .parse()
        .map_err(|_| DeskError::not_found("unknown site"))?;
    require_site(member, key.as_str())?;
    let locale: Locale = submission
        .locale
        .parse()
        .map_err(|_| DeskError::invalid("bad locale"))?;
    state
        .site(&key)
        .await?
        .ok_or_else(|| DeskError::not_found("unknown site"))?;
    let sources: Vec<TicketId> = submission
        .source_tickets
        .iter()
        .map(|t| {
            t.parse()
                .map_err(|_| DeskError::invalid(format!("unknown source ticket {t:?}")))
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
        // In the article's language: the customer asked in it.
        let german = locale == Locale::De;
        let notice = SystemNotice::Article {
            title: article.title.clone(),
        };
        for ticket in sources {
            if let Err(err) =
                requests::post_notice(state, member, ticket, notice.clone(), german).await
            {
                tracing::warn!(%ticket, ?err, "could not announce the article in its source ticket");
            }
        }
    }
    let facts = ArticleFacts {
        id: id.as_str(),
        locale: Some(locale.as_str()),
        title: Some(&article.title),
        version: Some(i64::from(version)),
    };
    let event = events::article_event(key.as_str(), &facts, true, now_ms());
    super::webhooks::queue(state, event).await;
    tracing::info!(article = %id, version, by = member.id, "article published");
    Ok(Published {
        id: article.id,
        version,
        html: article.html,
    })
}

/// Takes an article out of the knowledge base, the index and every widget.
pub async fn unpublish_article(
    state: &AppState,
    member: &StaffMember,
    key: &SiteKey,
    id: &ArticleId,
) -> Result<(), DeskError> {
    require_publisher(member)?;
    require_site(member, key.as_str())?;
    let (site, article) = (key.to_string(), id.to_string());
    let removed = storage::blocking(&state.storage, move |s| {
        s.unpublish_article(&site, &article)
    })
    .await?;
    if !removed {
        return Err(DeskError::not_found("no such published article"));
    }
    for locale in [Locale::En, Locale::De] {
        state
            .hub
            .kb_change(key, locale, |doc| kb::remove_entry(doc, id.as_str()))
            .await?;
    }
    let facts = ArticleFacts {
        id: id.as_str(),
        locale: None,
        title: None,
        version: None,
    };
    let event = events::article_event(key.as_str(), &facts, false, now_ms());
    super::webhooks::queue(state, event).await;
    tracing::info!(article = %id, by = member.id, "article unpublished");
    Ok(())
}

/// The period the self-service counts cover.
pub const INSIGHT_DAYS: i64 = 30;

/// The start (ms) of the period the self-service counts cover.
pub fn insights_since() -> i64 {
    now_ms() - INSIGHT_DAYS * 86_400_000
}
