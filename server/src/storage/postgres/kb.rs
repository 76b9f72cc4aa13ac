//! PostgreSQL: published articles, their search index, and self-service events.

use super::*;

impl KbStore for PostgresStorage {
    fn publish_articles(&self, writes: &[ArticleWrite<'_>]) -> Result<Vec<u32>, StorageError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let mut versions = Vec::with_capacity(writes.len());
        for w in writes {
            let a = w.article;
            let version: i32 = tx
                .query_one(
                    "INSERT INTO articles (site, id, locale, title, markdown, html, category,
                         tags_json, sources_json, version, published, updated_at, plain,
                         search, title_search)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, TRUE, $10, $11,
                         setweight(to_tsvector($12::text::regconfig, unaccent($4)), 'A')
                         || setweight(to_tsvector($12::text::regconfig, unaccent($13)), 'B')
                         || setweight(to_tsvector($12::text::regconfig, unaccent($11)), 'D'),
                         to_tsvector($12::text::regconfig, unaccent($4)))
                     ON CONFLICT (site, id) DO UPDATE SET
                         locale = EXCLUDED.locale, title = EXCLUDED.title,
                         markdown = EXCLUDED.markdown, html = EXCLUDED.html,
                         category = EXCLUDED.category, tags_json = EXCLUDED.tags_json,
                         sources_json = EXCLUDED.sources_json, version = articles.version + 1,
                         published = TRUE, updated_at = EXCLUDED.updated_at,
                         plain = EXCLUDED.plain, search = EXCLUDED.search,
                         title_search = EXCLUDED.title_search
                     RETURNING version",
                    &[
                        &a.site,
                        &a.id,
                        &a.locale,
                        &a.title,
                        &w.markdown,
                        &a.html,
                        &a.category,
                        &json_list(&a.tags),
                        &json_list(&a.source_tickets),
                        &a.updated_at,
                        &w.plain_text,
                        &text_config(&a.locale),
                        &a.tags.join(" "),
                    ],
                )?
                .get(0);
            versions.push(to_u32(version.into())?);
        }
        tx.commit()?;
        Ok(versions)
    }

    fn unpublish_article(&self, site: &str, id: &str) -> Result<bool, StorageError> {
        Ok(self.client()?.execute(
            "UPDATE articles SET published = FALSE WHERE site = $1 AND id = $2 AND published",
            &[&site, &id],
        )? == 1)
    }

    fn article(&self, site: &str, id: &str) -> Result<Option<Article>, StorageError> {
        self.client()?
            .query_opt(
                &format!(
                    "SELECT {ARTICLE_COLUMNS} FROM articles WHERE site = $1 AND id = $2 AND published"
                ),
                &[&site, &id],
            )?
            .as_ref()
            .map(article_from_row)
            .transpose()
    }

    fn published_versions(&self) -> Result<Vec<PublishedVersion>, StorageError> {
        self.client()?
            .query(
                "SELECT site, locale, id, version FROM articles WHERE published ORDER BY site, id",
                &[],
            )?
            .iter()
            .map(|row| {
                Ok(PublishedVersion {
                    site: row.get(0),
                    locale: row.get(1),
                    id: row.get(2),
                    version: to_u32(row.get::<_, i32>(3).into())?,
                })
            })
            .collect()
    }

    fn article_source(
        &self,
        site: &str,
        id: &str,
    ) -> Result<Option<(Article, String)>, StorageError> {
        self.client()?
            .query_opt(
                &format!(
                    "SELECT {ARTICLE_COLUMNS}, markdown FROM articles
                     WHERE site = $1 AND id = $2 AND published"
                ),
                &[&site, &id],
            )?
            .map(|row| Ok((article_from_row(&row)?, row.get(10))))
            .transpose()
    }

    fn search_articles(
        &self,
        site: &SiteKey,
        locale: Locale,
        terms: &SearchTerms,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StorageError> {
        // The site and locale are bound parameters, the query made of the
        // terms' letters and digits: nothing comes from request text as sent.
        let query = ts_query(terms);
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.client()?.query(
            "SELECT id, title, category, plain
             FROM articles, to_tsquery($3::text::regconfig, unaccent($4)) AS q
             WHERE site = $1 AND locale = $2 AND published AND search @@ q
             ORDER BY (title_search @@ q) DESC, ts_rank(search, q) DESC, updated_at DESC, id
             LIMIT $5",
            &[
                &site.as_str(),
                &locale.as_str(),
                &text_config(locale.as_str()),
                &query,
                &i64::from(limit),
            ],
        )?;
        Ok(rows
            .iter()
            .map(|row| SearchHit {
                id: row.get(0),
                title: row.get(1),
                category: row.get(2),
                snippet: snippet_html(row.get(3), terms),
            })
            .collect())
    }

    fn record_kb_event(&self, site: &str, event: &KbEvent, at: i64) -> Result<(), StorageError> {
        let r = event.row();
        let results = r.results.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        self.client()?.execute(
            "INSERT INTO kb_events (site, kind, query, results, article, helpful, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &site, &r.kind, &r.query, &results, &r.article, &r.helpful, &at,
            ],
        )?;
        Ok(())
    }

    fn kb_counts(&self, site: &str, since: i64) -> Result<KbCounts, StorageError> {
        let row = self.client()?.query_one(
            "SELECT
                 COUNT(*) FILTER (WHERE kind = 'search'),
                 COUNT(*) FILTER (WHERE kind = 'search' AND results = 0),
                 COUNT(*) FILTER (WHERE kind = 'article_view'),
                 COUNT(*) FILTER (WHERE kind = 'helpful' AND helpful),
                 COUNT(*) FILTER (WHERE kind = 'helpful' AND NOT helpful),
                 COUNT(*) FILTER (WHERE kind = 'deflection')
             FROM kb_events WHERE site = $1 AND at >= $2",
            &[&site, &since],
        )?;
        Ok(KbCounts {
            searches: to_u32(row.get(0))?,
            zero_result_searches: to_u32(row.get(1))?,
            article_views: to_u32(row.get(2))?,
            helpful_yes: to_u32(row.get(3))?,
            helpful_no: to_u32(row.get(4))?,
            deflections: to_u32(row.get(5))?,
        })
    }

    fn top_searches(
        &self,
        site: &str,
        zero_results_only: bool,
        limit: u32,
    ) -> Result<Vec<QueryCount>, StorageError> {
        self.client()?
            .query(
                "SELECT query, COUNT(*) AS n FROM kb_events
                 WHERE site = $1 AND kind = 'search' AND (NOT $2 OR results = 0)
                 GROUP BY query ORDER BY n DESC, query LIMIT $3",
                &[&site, &zero_results_only, &i64::from(limit)],
            )?
            .iter()
            .map(|row| {
                Ok(QueryCount {
                    query: row.get(0),
                    count: to_u32(row.get(1))?,
                })
            })
            .collect()
    }
}
