//! SQLite: published articles, their search index, and self-service events.

use super::*;

impl KbStore for SqliteStorage {
    fn publish_articles(&self, writes: &[ArticleWrite<'_>]) -> Result<Vec<u32>, StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut versions = Vec::with_capacity(writes.len());
        for w in writes {
            let a = w.article;
            let previous: Option<(i64, u32, String)> = tx
                .query_row(
                    "SELECT rowid, version, locale FROM articles WHERE site = ?1 AND id = ?2",
                    params![a.site, a.id],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            if let Some((rowid, _, locale)) = &previous {
                let indexed = search_rowid(&tx, &a.site, locale, *rowid)?;
                unindex(&tx, indexed)?;
            }
            let version = previous.map_or(1, |(_, v, _)| v + 1);
            let rowid: i64 = tx.query_row(
                "INSERT INTO articles (site, id, locale, title, markdown, html, category, tags_json,
                                       sources_json, version, published, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11)
                 ON CONFLICT (site, id) DO UPDATE SET
                    locale = excluded.locale, title = excluded.title, markdown = excluded.markdown,
                    html = excluded.html, category = excluded.category, tags_json = excluded.tags_json,
                    sources_json = excluded.sources_json, version = excluded.version, published = 1,
                    updated_at = excluded.updated_at
                 RETURNING rowid",
                params![
                    a.site,
                    a.id,
                    a.locale,
                    a.title,
                    w.markdown,
                    a.html,
                    a.category,
                    json_list(&a.tags),
                    json_list(&a.source_tickets),
                    version,
                    a.updated_at,
                ],
                |row| row.get(0),
            )?;
            let indexed = search_rowid(&tx, &a.site, &a.locale, rowid)?;
            tx.execute(
                "INSERT INTO article_titles (rowid, title) VALUES (?1, ?2)",
                params![indexed, fold_sharp_s(&a.title)],
            )?;
            tx.execute(
                "INSERT INTO articles_search (rowid, title, body, tags) VALUES (?1, ?2, ?3, ?4)",
                params![
                    indexed,
                    fold_sharp_s(&a.title),
                    fold_sharp_s(w.plain_text),
                    fold_sharp_s(&a.tags.join(" ")),
                ],
            )?;
            versions.push(version);
        }
        tx.commit()?;
        Ok(versions)
    }

    fn unpublish_article(&self, site: &str, id: &str) -> Result<bool, StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let unpublished: Option<(i64, String)> = tx
            .query_row(
                "UPDATE articles SET published = 0 WHERE site = ?1 AND id = ?2 AND published = 1
                 RETURNING rowid, locale",
                params![site, id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        if let Some((rowid, locale)) = &unpublished {
            let indexed = search_rowid(&tx, site, locale, *rowid)?;
            unindex(&tx, indexed)?;
        }
        tx.commit()?;
        Ok(unpublished.is_some())
    }

    fn published_versions(&self) -> Result<Vec<PublishedVersion>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare(
            "SELECT site, locale, id, version FROM articles WHERE published = 1 ORDER BY site, id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(PublishedVersion {
                site: row.get(0)?,
                locale: row.get(1)?,
                id: row.get(2)?,
                version: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn article_source(
        &self,
        site: &str,
        id: &str,
    ) -> Result<Option<(Article, String)>, StorageError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT site, id, locale, title, html, category, tags_json, sources_json, version, updated_at, markdown
                 FROM articles WHERE site = ?1 AND id = ?2 AND published = 1",
                params![site, id],
                |row| Ok((article_from_row(row)?, row.get(10)?)),
            )
            .optional()?)
    }

    fn article(&self, site: &str, id: &str) -> Result<Option<Article>, StorageError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT site, id, locale, title, html, category, tags_json, sources_json, version, updated_at
                 FROM articles WHERE site = ?1 AND id = ?2 AND published = 1",
                params![site, id],
                article_from_row,
            )
            .optional()?)
    }

    fn search_articles(
        &self,
        site: &SiteKey,
        locale: Locale,
        terms: &SearchTerms,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StorageError> {
        // The site and locale are bound parameters, the terms quoted letters
        // and digits: nothing here comes from request text as it was sent.
        let expression = terms.match_expression();
        let conn = self.reader()?;
        let Some(range) = scope_range(&conn, site.as_str(), locale.as_str())? else {
            return Ok(Vec::new());
        };
        // Ranking only rowids keeps the per-match work small; snippets are made
        // for the few winners. Title matches come first: searching titles alone
        // (their own index) touches far fewer rows for common words, and only
        // when titles give fewer than `limit` hits is everything searched.
        let mut rowids = ranked_rowids(&conn, SearchIndex::Titles, &expression, range, limit)?;
        if rowids.len() < limit as usize {
            for rowid in ranked_rowids(&conn, SearchIndex::Everything, &expression, range, limit)? {
                if rowids.len() == limit as usize {
                    break;
                }
                if !rowids.contains(&rowid) {
                    rowids.push(rowid);
                }
            }
        }
        // A rowid lookup, not a second MATCH per hit (see `kb::snippet`).
        let mut hit = conn.prepare_cached(
            "SELECT a.id, a.title, a.category, s.body
             FROM articles_search s JOIN articles a ON a.rowid = (s.rowid & ?2)
             WHERE s.rowid = ?1",
        )?;
        let mut hits = Vec::with_capacity(rowids.len());
        for rowid in rowids {
            let found = hit
                .query_row(params![rowid, ARTICLE_ROWID], |row| {
                    Ok(SearchHit {
                        id: row.get(0)?,
                        title: row.get(1)?,
                        category: row.get(2)?,
                        snippet: snippet_html(row.get_ref(3)?.as_str()?, terms),
                    })
                })
                .optional()?;
            hits.extend(found);
        }
        Ok(hits)
    }

    fn record_kb_event(&self, site: &str, event: &KbEvent, at: i64) -> Result<(), StorageError> {
        let r = event.row();
        self.conn().execute(
            "INSERT INTO kb_events (site, kind, query, results, article, helpful, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![site, r.kind, r.query, r.results, r.article, r.helpful, at],
        )?;
        Ok(())
    }

    fn kb_counts(&self, site: &str, since: i64) -> Result<KbCounts, StorageError> {
        Ok(self.reader()?.query_row(
            "SELECT
                 COUNT(*) FILTER (WHERE kind = 'search'),
                 COUNT(*) FILTER (WHERE kind = 'search' AND results = 0),
                 COUNT(*) FILTER (WHERE kind = 'article_view'),
                 COUNT(*) FILTER (WHERE kind = 'helpful' AND helpful = 1),
                 COUNT(*) FILTER (WHERE kind = 'helpful' AND helpful = 0),
                 COUNT(*) FILTER (WHERE kind = 'deflection')
             FROM kb_events WHERE site = ?1 AND at >= ?2",
            params![site, since],
            |row| {
                Ok(KbCounts {
                    searches: row.get(0)?,
                    zero_result_searches: row.get(1)?,
                    article_views: row.get(2)?,
                    helpful_yes: row.get(3)?,
                    helpful_no: row.get(4)?,
                    deflections: row.get(5)?,
                })
            },
        )?)
    }

    fn top_searches(
        &self,
        site: &str,
        zero_results_only: bool,
        limit: u32,
    ) -> Result<Vec<QueryCount>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT query, COUNT(*) AS n FROM kb_events
             WHERE site = ?1 AND kind = 'search' AND (?2 = 0 OR results = 0)
             GROUP BY query ORDER BY n DESC, query LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![site, zero_results_only, limit], |row| {
            Ok(QueryCount {
                query: row.get(0)?,
                count: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
