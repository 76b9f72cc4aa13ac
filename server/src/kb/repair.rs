//! Publishing writes the article (row and search index) in one transaction,
//! then changes the synced catalogue document. A stop between the two leaves
//! the catalogue behind the articles; at every start, [`repair_catalogues`]
//! brings each site's catalogues back in line with what is published.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use stufe_shared::kb::{self, CatalogueEntry};
use stufe_shared::{DocId, Locale, SiteKey};

use super::markdown;
use crate::storage::{self, Storage};
use crate::sync::{Hub, HubError};

/// Makes every catalogue list exactly the published articles of its site and
/// locale, at their current versions. Returns how many catalogues changed.
pub async fn repair_catalogues(hub: &Hub, storage: &Arc<dyn Storage>) -> Result<usize, HubError> {
    let published = storage::blocking(storage, |s| s.published_articles()).await?;
    let mut expected: BTreeMap<(SiteKey, Locale), Vec<CatalogueEntry>> = BTreeMap::new();
    for (article, source) in published {
        let (Ok(site), Ok(locale)) = (article.site.parse(), article.locale.parse()) else {
            tracing::warn!(article = %article.id, "published article with a bad site or locale");
            continue;
        };
        expected
            .entry((site, locale))
            .or_default()
            .push(CatalogueEntry {
                id: article.id,
                title: article.title,
                category: article.category,
                tags: article.tags.join(" "),
                excerpt: markdown::to_plain_text(&source),
                version: i64::from(article.version),
                updated_at: article.updated_at,
            });
    }
    let stored = storage::blocking(storage, |s| s.documents_with_prefix("kb:")).await?;
    let mut catalogues: BTreeSet<(SiteKey, Locale)> = expected.keys().cloned().collect();
    for (id, _) in stored {
        if let Ok(DocId::Kb { site, locale }) = id.parse() {
            catalogues.insert((site, locale));
        }
    }
    let mut repaired = 0;
    for (site, locale) in catalogues {
        let want = expected.remove(&(site.clone(), locale)).unwrap_or_default();
        let have = hub.read_kb(&site, locale).await?;
        let stale: Vec<&CatalogueEntry> = want
            .iter()
            .filter(|w| !have.iter().any(|h| h.id == w.id && h.version == w.version))
            .collect();
        let gone: Vec<&str> = have
            .iter()
            .filter(|h| !want.iter().any(|w| w.id == h.id))
            .map(|h| h.id.as_str())
            .collect();
        if stale.is_empty() && gone.is_empty() {
            continue;
        }
        tracing::warn!(%site, %locale, stale = stale.len(), gone = gone.len(), "repairing a knowledge-base catalogue");
        hub.kb_change(&site, locale, |doc| {
            for entry in &stale {
                kb::put_entry(doc, entry)?;
            }
            for id in &gone {
                kb::remove_entry(doc, id)?;
            }
            Ok(())
        })
        .await?;
        repaired += 1;
    }
    Ok(repaired)
}
