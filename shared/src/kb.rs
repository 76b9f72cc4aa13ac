//! The published knowledge base as widgets sync it: one read-only Automerge
//! document per site and locale (`kb:<site>:<locale>`), written only by the
//! server when staff publish or unpublish.
//!
//! Root map: `schema` (S `"stufe.kb/1"`) and `articles`, a map from article id
//! to a map of scalars: `title` (S), `category` (S), `tags` (S, space
//! separated), `version` (I) and `updated_at` (TS). Every new widget downloads
//! this document, so it holds only what browsing and offline search by title
//! and tag need (about 40 bytes an article, compressed): article text is not in
//! it. Widgets fetch an article when opened and keep what they read.

use automerge::transaction::Transactable;
use automerge::{AutomergeError, ObjType, ReadDoc, ScalarValue, Value, ROOT};

pub const SCHEMA: &str = "stufe.kb/1";

/// One published article as listed in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    pub id: String,
    pub title: String,
    pub category: String,
    pub tags: String,
    pub version: i64,
    pub updated_at: i64,
}

/// `ß` (and `ẞ`) → `ss`, keeping case: what the server writes into its
/// full-text index (the FTS tokenizer folds case and diacritics itself).
pub fn fold_sharp_s(text: &str) -> String {
    text.replace(['ß', 'ẞ'], "ss")
}

/// Folds a query: lowercase and `ß` → `ss`. [`fold_all`] also removes
/// diacritics, for the widget's offline search.
pub fn fold(text: &str) -> String {
    fold_sharp_s(&text.to_lowercase())
}

/// [`fold`] plus German and common Latin diacritics removed (`ü` → `u`).
pub fn fold_all(text: &str) -> String {
    fold(text)
        .chars()
        .map(|c| match c {
            'ä' | 'à' | 'á' | 'â' | 'ã' | 'å' => 'a',
            'ö' | 'ò' | 'ó' | 'ô' | 'õ' => 'o',
            'ü' | 'ù' | 'ú' | 'û' => 'u',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ç' => 'c',
            'ñ' => 'n',
            c => c,
        })
        .collect()
}

/// Reads the catalogue; an empty or malformed document reads as empty.
pub fn read_catalogue<R: ReadDoc>(doc: &R) -> Vec<CatalogueEntry> {
    let Ok(Some((Value::Object(ObjType::Map), articles))) = doc.get(ROOT, "articles") else {
        return Vec::new();
    };
    let scalar = |obj: &automerge::ObjId, key: &str| match doc.get(obj, key) {
        Ok(Some((Value::Scalar(v), _))) => Some(v.into_owned()),
        _ => None,
    };
    let string = |obj: &automerge::ObjId, key: &str| match scalar(obj, key) {
        Some(ScalarValue::Str(s)) => s.to_string(),
        _ => String::new(),
    };
    let mut entries: Vec<CatalogueEntry> = doc
        .map_range(&articles, ..)
        .filter_map(|item| {
            let obj = item.id;
            if item.value != Value::Object(ObjType::Map) {
                return None;
            }
            let number = |key| match scalar(&obj, key) {
                Some(ScalarValue::Int(i) | ScalarValue::Timestamp(i)) => i,
                _ => 0,
            };
            Some(CatalogueEntry {
                id: item.key.to_owned(),
                title: string(&obj, "title"),
                category: string(&obj, "category"),
                tags: string(&obj, "tags"),
                version: number("version"),
                updated_at: number("updated_at"),
            })
        })
        .collect();
    entries.sort_by(|a, b| a.title.cmp(&b.title));
    entries
}

/// Writes (or replaces) one article's entry.
pub fn put_entry<D: Transactable>(
    doc: &mut D,
    entry: &CatalogueEntry,
) -> Result<(), AutomergeError> {
    let articles = articles_map(doc)?;
    let obj = doc.put_object(&articles, entry.id.as_str(), ObjType::Map)?;
    doc.put(&obj, "title", entry.title.as_str())?;
    doc.put(&obj, "category", entry.category.as_str())?;
    doc.put(&obj, "tags", entry.tags.as_str())?;
    doc.put(&obj, "version", entry.version)?;
    doc.put(&obj, "updated_at", ScalarValue::Timestamp(entry.updated_at))?;
    Ok(())
}

/// Removes an article's entry, if present.
pub fn remove_entry<D: Transactable>(doc: &mut D, id: &str) -> Result<(), AutomergeError> {
    if let Some((Value::Object(ObjType::Map), articles)) = doc.get(ROOT, "articles")? {
        if doc.get(&articles, id)?.is_some() {
            doc.delete(&articles, id)?;
        }
    }
    Ok(())
}

fn articles_map<D: Transactable>(doc: &mut D) -> Result<automerge::ObjId, AutomergeError> {
    match doc.get(ROOT, "articles")? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => {
            doc.put(ROOT, "schema", SCHEMA)?;
            doc.put_object(ROOT, "articles", ObjType::Map)
        }
    }
}

/// Offline search over the catalogue: every query word must occur (the last
/// one as a prefix) in the title or tags; title hits rank first.
pub fn search_catalogue<'a>(entries: &'a [CatalogueEntry], query: &str) -> Vec<&'a CatalogueEntry> {
    let folded = fold_all(query);
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Vec::new();
    }
    let tokens = |text: &str| -> Vec<String> {
        fold_all(text)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let last = words.len() - 1;
    let matches = |tokens: &[String], i: usize, w: &str| {
        tokens
            .iter()
            .any(|t| if i == last { t.starts_with(w) } else { t == w })
    };
    let mut scored: Vec<(u32, &CatalogueEntry)> = entries
        .iter()
        .filter_map(|e| {
            let (title, tags) = (tokens(&e.title), tokens(&e.tags));
            let mut score = 0;
            for (i, w) in words.iter().enumerate() {
                let s = 10 * u32::from(matches(&title, i, w)) + u32::from(matches(&tags, i, w));
                if s == 0 {
                    return None;
                }
                score += s;
            }
            Some((score, e))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.title.cmp(&b.1.title)));
    scored.into_iter().map(|(_, e)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::AutoCommit;

    fn entry(id: &str, title: &str, tags: &str) -> CatalogueEntry {
        CatalogueEntry {
            id: id.into(),
            title: title.into(),
            category: "general".into(),
            tags: tags.into(),
            version: 1,
            updated_at: 5,
        }
    }

    #[test]
    fn entries_round_trip_and_are_removed() {
        let mut doc = AutoCommit::new();
        put_entry(&mut doc, &entry("b", "Rückgabe", "So geht es")).unwrap();
        put_entry(&mut doc, &entry("a", "Lieferung", "Straße")).unwrap();
        let read = read_catalogue(&doc);
        assert_eq!(
            read.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(read[1], entry("b", "Rückgabe", "So geht es"));
        remove_entry(&mut doc, "a").unwrap();
        assert_eq!(read_catalogue(&doc).len(), 1);
    }

    #[test]
    fn offline_search_folds_and_ranks_titles_first() {
        let entries = vec![
            entry("tag", "Lieferung", "rückgabe kostenlos"),
            entry("title", "Rückgabe", "zurücksenden"),
            entry("street", "Adresse", "straße"),
        ];
        let ids = |q: &str| {
            search_catalogue(&entries, q)
                .iter()
                .map(|e| e.id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("ruckgabe"), ["title", "tag"]);
        assert_eq!(ids("RÜCKG"), ["title", "tag"]);
        assert_eq!(ids("strasse"), ["street"]);
        assert!(ids("xyz").is_empty());
    }
}
