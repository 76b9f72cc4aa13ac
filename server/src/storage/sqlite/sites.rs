//! SQLite: sites, their settings and secrets, and the server's own secrets.

use super::*;

impl SiteStore for SqliteStorage {
    fn site(&self, key: &SiteKey) -> Result<Option<SiteConfig>, StorageError> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT config_json FROM sites WHERE key = ?1",
                [key.as_str()],
                |row| row.get(0),
            )
            .optional()?;
        json.as_deref().map(parse_site).transpose()
    }

    fn put_site(&self, key: &SiteKey, config: &SiteConfig) -> Result<(), StorageError> {
        let json = site_json(config)?;
        self.conn().execute(
            "INSERT INTO sites (key, config_json) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET config_json = excluded.config_json",
            params![key.as_str(), json],
        )?;
        Ok(())
    }

    fn create_site(
        &self,
        key: &SiteKey,
        config: &SiteConfig,
        identity_secret: &str,
    ) -> Result<bool, StorageError> {
        let json = site_json(config)?;
        let inserted = self.conn().execute(
            "INSERT INTO sites (key, config_json, identity_secret) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO NOTHING",
            params![key.as_str(), json, identity_secret],
        )?;
        Ok(inserted == 1)
    }

    fn sites(&self) -> Result<Vec<(SiteKey, SiteConfig)>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached("SELECT key, config_json FROM sites ORDER BY key")?;
        let rows = stmt
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(key, json)| Ok((parse_site_key(key)?, parse_site(&json)?)))
            .collect()
    }

    fn site_secret(&self, key: &SiteKey) -> Result<Option<String>, StorageError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT identity_secret FROM sites WHERE key = ?1",
                [key.as_str()],
                |row| row.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    fn set_site_secret(&self, key: &SiteKey, secret: &str) -> Result<(), StorageError> {
        self.conn().execute(
            "UPDATE sites SET identity_secret = ?2 WHERE key = ?1",
            params![key.as_str(), secret],
        )?;
        Ok(())
    }

    fn server_secret(&self, name: &str) -> Result<String, StorageError> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR IGNORE INTO server_secrets (name, value) VALUES (?1, ?2)",
            params![name, crate::tokens::random_token()],
        )?;
        Ok(conn.query_row(
            "SELECT value FROM server_secrets WHERE name = ?1",
            [name],
            |row| row.get(0),
        )?)
    }

    fn is_empty(&self) -> Result<bool, StorageError> {
        let sites: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM sites", [], |row| row.get(0))?;
        Ok(sites == 0)
    }
}
