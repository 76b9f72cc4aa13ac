//! Publishing writes the article (row and search index) in one transaction,
//! then changes the synced catalogue document. A stop between the two leaves
//! the catalogue behind the articles; at every start, [`repair_catalogues`]
//! brings each site's catalogues back in line with what is published. It
//! compares versions only, and reads an article in full only when its entry
//! is missing or old, so a start costs one light query when nothing is amiss.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use automerge::AutoCommit;
use stufe_shared::kb::{self, CatalogueEntry};
use stufe_shared::{DocId, Locale, SiteKey};

use crate::storage::{self, Storage};
use crate::sync::{Hub, HubError};

/// Makes every catalogue list exactly the published articles of its site and
/// locale, at their current versions. Returns how many catalogues changed.
pub async fn repair_catalogues(hub: &Hub, storage: &Arc<dyn Storage>) -> Result<usize, HubError> {
    let published = storage::blocking(storage, |s| s.published_versions()).await?;
    let mut expected: BTreeMap<(SiteKey, Locale), BTreeMap<String, u32>> = BTreeMap::new();
    for p in published {
        let (Ok(site), Ok(locale)) = (p.site.parse(), p.locale.parse()) else {
            tracing::warn!(article = %p.id, "published article with a bad site or locale");
            continue;
        };
        expected
            .entry((site, locale))
            .or_default()
            .insert(p.id, p.version);
    }
    // What each stored catalogue lists, read from the bytes at hand; the hub
    // loads a catalogue only when it has to change it.
    let stored = storage::blocking(storage, |s| s.documents_with_prefix("kb:")).await?;
    let mut listed: BTreeMap<(SiteKey, Locale), Vec<CatalogueEntry>> = BTreeMap::new();
    for (id, bytes) in stored {
        if let Ok(DocId::Kb { site, locale }) = id.parse() {
            let entries = AutoCommit::load(&bytes)
                .map(|doc| kb::read_catalogue(&doc))
                .unwrap_or_default();
            listed.insert((site, locale), entries);
        }
    }
    let catalogues: BTreeSet<(SiteKey, Locale)> =
        expected.keys().chain(listed.keys()).cloned().collect();
    let mut repaired = 0;
    for (site, locale) in catalogues {
        let want = expected.remove(&(site.clone(), locale)).unwrap_or_default();
        let have = listed.remove(&(site.clone(), locale)).unwrap_or_default();
        let stale: Vec<String> = want
            .iter()
            .filter(|(id, version)| {
                !have
                    .iter()
                    .any(|h| &h.id == *id && h.version == i64::from(**version))
            })
            .map(|(id, _)| id.clone())
            .collect();
        let gone: Vec<String> = have
            .iter()
            .filter(|h| !want.contains_key(&h.id))
            .map(|h| h.id.clone())
            .collect();
        if stale.is_empty() && gone.is_empty() {
            continue;
        }
        tracing::info!(%site, %locale, stale = stale.len(), gone = gone.len(), "repairing a knowledge-base catalogue");
        let mut entries = Vec::with_capacity(stale.len());
        for id in stale {
            let (site_name, article_id) = (site.to_string(), id);
            let source =
                storage::blocking(storage, move |s| s.article_source(&site_name, &article_id))
                    .await?;
            if let Some((article, _markdown)) = source {
                entries.push(CatalogueEntry {
                    id: article.id,
                    title: article.title,
                    category: article.category,
                    tags: article.tags.join(" "),
                    version: i64::from(article.version),
                    updated_at: article.updated_at,
                });
            }
        }
        hub.kb_change(&site, locale, |doc| {
            for entry in &entries {
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
