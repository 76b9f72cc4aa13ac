//! Database files from before versioned migrations: they have Stufe's tables
//! but no `refinery_schema_history`. Each was created by some earlier version
//! of the schema and grown by checks at start; this brings any of them to the
//! state `V1__baseline.sql` creates, after which they are recorded as at
//! version 1 and the migration runner takes over.

use rusqlite::{Connection, Transaction};

use super::BASELINE;

/// Whether `conn` holds a database from before versioned migrations.
pub fn is_legacy(conn: &Connection) -> rusqlite::Result<bool> {
    Ok(has_table(conn, "tickets")? && !has_table(conn, "refinery_schema_history")?)
}

/// Brings a database from before versioned migrations to the baseline, in
/// one transaction: columns added since, tables and indexes it lacks, and
/// the data moves earlier versions made at start.
pub fn bring_to_baseline(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let had_site_grants = has_table(&tx, "staff_sites")?;
    let had_titles = has_table(&tx, "article_titles")?;
    let had_scope_tokens = has_table(&tx, "articles_fts")?;
    add_columns(&tx)?;
    tx.execute_batch(&idempotent(BASELINE))?;
    if !had_site_grants {
        // From before per-site staff: everyone keeps what they had.
        tx.execute(
            "INSERT OR IGNORE INTO staff_sites (staff_id, site)
             SELECT staff.id, sites.key FROM staff, sites WHERE staff.role != 'admin'",
            [],
        )?;
    }
    if had_scope_tokens {
        // From before scope ranges: one index with a scope token column.
        tx.execute_batch(MOVE_SCOPE_TOKENS)?;
    }
    if !had_titles {
        tx.execute(
            "INSERT INTO article_titles (rowid, title) SELECT rowid, title FROM articles_search",
            [],
        )?;
    }
    tx.commit()
}

/// Columns added to existing tables by earlier versions, in the order they came.
fn add_columns(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    add_column(tx, "sites", "identity_secret", "TEXT")?;
    add_column(tx, "tickets", "customer_id", "TEXT")?;
    add_column(tx, "tickets", "customer_name", "TEXT")?;
    add_column(tx, "tickets", "customer_email", "TEXT")?;
    add_column(tx, "staff", "active", "INTEGER NOT NULL DEFAULT 1")?;
    add_column(tx, "staff", "timezone", "TEXT NOT NULL DEFAULT 'UTC'")?;
    add_column(tx, "tickets", "assignee", "INTEGER")?;
    add_column(tx, "tickets", "pending_since", "INTEGER")?;
    let had_kpi_facts = has_column(tx, "tickets", "max_tier")?;
    add_column(tx, "tickets", "first_response_at", "INTEGER")?;
    add_column(
        tx,
        "tickets",
        "staff_messages",
        "INTEGER NOT NULL DEFAULT 0",
    )?;
    add_column(tx, "tickets", "rating", "INTEGER")?;
    add_column(tx, "tickets", "resolved_at", "INTEGER")?;
    add_column(tx, "tickets", "max_tier", "INTEGER NOT NULL DEFAULT 1")?;
    add_column(tx, "tickets", "reopened", "INTEGER NOT NULL DEFAULT 0")?;
    if !had_kpi_facts {
        tx.execute("UPDATE tickets SET max_tier = tier", [])?;
    }
    Ok(())
}

/// Adds a column to a table that exists and lacks it (a table that does not
/// exist yet is created whole by the baseline).
fn add_column(conn: &Connection, table: &str, column: &str, decl: &str) -> rusqlite::Result<()> {
    if has_table(conn, table)? && !has_column(conn, table, column)? {
        conn.execute(
            &format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"),
            [],
        )?;
    }
    Ok(())
}

fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE name = ?1",
        [name],
        |row| row.get(0),
    )
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
        [table, column],
        |row| row.get(0),
    )
}

/// The baseline with every `CREATE` made to skip what exists.
fn idempotent(sql: &str) -> String {
    sql.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ")
        .replace(
            "CREATE VIRTUAL TABLE ",
            "CREATE VIRTUAL TABLE IF NOT EXISTS ",
        )
        .replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ")
}

/// The scope-token index's published articles move into `articles_search`.
const MOVE_SCOPE_TOKENS: &str = "
INSERT OR IGNORE INTO search_scopes (site, locale)
    SELECT DISTINCT site, locale FROM articles WHERE published = 1 ORDER BY site, locale;
INSERT INTO articles_search (rowid, title, body, tags)
    SELECT (s.id << 32) | a.rowid, f.title, f.body, f.tags
    FROM articles a
    JOIN articles_fts f ON f.rowid = a.rowid
    JOIN search_scopes s ON s.site = a.site AND s.locale = a.locale
    WHERE a.published = 1;
DROP TABLE articles_fts;
";
