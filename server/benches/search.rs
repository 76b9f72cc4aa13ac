//! Knowledge-base search latency: loads 10,000 and 100,000 generated articles
//! into a real SQLite file and prints p50/p99 of `search_articles` (ranked FTS5
//! match, snippet, join) for rare terms, common terms and short prefixes.
//! Run with `cargo xtask bench` (or `cargo bench -p stufe-server --bench search`).

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stufe_server::kb::article::{Article, ArticleWrite};
use stufe_server::kb::query::SearchTerms;
use stufe_server::seed::demo_site;
use stufe_server::storage::{prelude::*, SqliteStorage};
use stufe_shared::{Locale, SiteKey};

#[path = "common/figures.rs"]
mod figures;
use figures::{ms, percentile};

#[path = "common/corpus.rs"]
mod corpus;
use corpus::{sentence, word, zipf_rank, VOCABULARY};

const QUERIES_PER_KIND: usize = 300;

fn load(storage: &SqliteStorage, count: usize, rng: &mut StdRng) -> Duration {
    let started = Instant::now();
    let batch = 5_000;
    for start in (0..count).step_by(batch) {
        let items: Vec<(Article, String)> = (start..(start + batch).min(count))
            .map(|i| {
                let title = sentence(rng, 5);
                let body = sentence(rng, 120);
                let article = Article {
                    id: format!("a{i}"),
                    site: "demo".into(),
                    locale: "en".into(),
                    title,
                    html: String::new(),
                    category: "general".into(),
                    tags: vec![word(zipf_rank(rng))],
                    source_tickets: vec![],
                    version: 0,
                    updated_at: 0,
                };
                (article, body)
            })
            .collect();
        let writes: Vec<ArticleWrite<'_>> = items
            .iter()
            .map(|(article, body)| ArticleWrite {
                article,
                markdown: body,
                plain_text: body,
            })
            .collect();
        storage.publish_articles(&writes).expect("articles load");
    }
    started.elapsed()
}

fn measure(storage: &SqliteStorage, queries: &[String]) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(queries.len());
    let mut hits = 0;
    let site: SiteKey = "demo".parse().expect("a valid site key");
    for q in queries {
        let terms = SearchTerms::parse(q).expect("a searchable query");
        let started = Instant::now();
        let results = storage
            .search_articles(&site, Locale::En, &terms, 10)
            .expect("search");
        times.push(started.elapsed());
        hits += results.len();
    }
    times.sort();
    (
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        hits / queries.len(),
    )
}

fn main() {
    println!("knowledge-base search (SQLite FTS5, ranked, snippet, limit 10; {QUERIES_PER_KIND} queries per kind)");
    println!(
        "{:>9} {:<14} {:>10} {:>10} {:>10}",
        "articles", "query kind", "p50 ms", "p99 ms", "avg hits"
    );
    for count in [10_000, 100_000] {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = SqliteStorage::open(&dir.path().join("bench.sqlite")).expect("sqlite");
        storage
            .put_site(&"demo".parse().expect("site key"), &demo_site())
            .expect("site");
        let mut rng = StdRng::seed_from_u64(42);
        let took = load(&storage, count, &mut rng);
        println!("{count:>9} loaded in {took:.1?}");
        let rare: Vec<String> = (0..QUERIES_PER_KIND)
            .map(|_| word(rng.random_range(5_000..VOCABULARY)))
            .collect();
        let common: Vec<String> = (0..QUERIES_PER_KIND)
            .map(|_| word(rng.random_range(0..20)))
            .collect();
        let prefixes: Vec<String> = (0..QUERIES_PER_KIND)
            .map(|_| word(rng.random_range(0..16))[..2].to_owned())
            .collect();
        for (kind, queries) in [
            ("rare term", &rare),
            ("common term", &common),
            ("short prefix", &prefixes),
        ] {
            let (p50, p99, hits) = measure(&storage, queries);
            println!(
                "{count:>9} {kind:<14} {:>10.2} {:>10.2} {hits:>10}",
                ms(p50),
                ms(p99)
            );
        }
    }
}
