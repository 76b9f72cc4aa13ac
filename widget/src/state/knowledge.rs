//! [`KnowledgeBase`]: the site's published knowledge base on this device — the
//! synced catalogue document (for browsing and offline search) and the
//! articles the customer has read (so they stay readable offline).

use automerge::AutoCommit;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use stufe_shared::kb::{read_catalogue, search_catalogue, CatalogueEntry};
use stufe_shared::{DocId, Locale, SiteKey};

use super::kv::KeyValue;

/// An article as read from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleCopy {
    pub id: String,
    pub title: String,
    /// Sanitised by the server.
    pub html: String,
    pub version: u32,
}

pub struct KnowledgeBase<K: KeyValue> {
    kv: K,
    site: SiteKey,
    locale: Locale,
    doc: AutoCommit,
}

impl<K: KeyValue> KnowledgeBase<K> {
    pub fn load(kv: K, site: SiteKey, locale: Locale) -> Self {
        let key = format!("stufe:{site}:kb:{locale}");
        let doc = kv
            .get(&key)
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .and_then(|bytes| AutoCommit::load(&bytes).ok())
            .unwrap_or_default();
        Self {
            kv,
            site,
            locale,
            doc,
        }
    }

    pub fn doc_id(&self) -> DocId {
        DocId::Kb {
            site: self.site.clone(),
            locale: self.locale,
        }
    }

    pub fn site(&self) -> &SiteKey {
        &self.site
    }

    pub fn locale(&self) -> Locale {
        self.locale
    }

    pub fn doc_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn persist(&mut self) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.doc.save());
        self.kv
            .set(&format!("stufe:{}:kb:{}", self.site, self.locale), &b64);
    }

    pub fn entries(&self) -> Vec<CatalogueEntry> {
        read_catalogue(&self.doc)
    }

    /// Search without the server: over titles and tags.
    pub fn search_offline(&self, query: &str, limit: usize) -> Vec<CatalogueEntry> {
        let entries = self.entries();
        search_catalogue(&entries, query)
            .into_iter()
            .take(limit)
            .cloned()
            .collect()
    }

    fn article_key(&self, id: &str) -> String {
        format!("stufe:{}:article:{id}", self.site)
    }

    pub fn cached_article(&self, id: &str) -> Option<ArticleCopy> {
        self.kv
            .get(&self.article_key(id))
            .and_then(|json| crate::json::from_str(&json))
    }

    pub fn cache_article(&self, article: &ArticleCopy) {
        if let Some(json) = crate::json::to_string(article) {
            self.kv.set(&self.article_key(&article.id), &json);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::kv::MemoryKv;

    #[test]
    fn the_catalogue_and_read_articles_survive_a_reload_for_offline_use() {
        let kv = MemoryKv::default();
        let site: SiteKey = "demo".parse().unwrap();
        let mut kb = KnowledgeBase::load(kv.clone(), site.clone(), Locale::De);
        let entry = CatalogueEntry {
            id: "rueckgabe".into(),
            title: "Rückgabe".into(),
            category: "general".into(),
            tags: String::new(),
            version: 1,
            updated_at: 1,
        };
        stufe_shared::kb::put_entry(kb.doc_mut(), &entry).unwrap();
        kb.persist();
        kb.cache_article(&ArticleCopy {
            id: "rueckgabe".into(),
            title: "Rückgabe".into(),
            html: "<p>So</p>".into(),
            version: 1,
        });

        let reloaded = KnowledgeBase::load(kv, site, Locale::De);
        assert_eq!(reloaded.doc_id().to_string(), "kb:demo:de");
        assert_eq!(reloaded.search_offline("ruckg", 5), vec![entry]);
        assert_eq!(
            reloaded.cached_article("rueckgabe").unwrap().html,
            "<p>So</p>"
        );
        assert!(reloaded.cached_article("other").is_none());
    }
}
