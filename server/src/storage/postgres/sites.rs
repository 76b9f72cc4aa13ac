//! PostgreSQL: sites, their settings and secrets, and the server's own secrets.

use super::*;

impl SiteStore for PostgresStorage {
    fn site(&self, key: &SiteKey) -> Result<Option<SiteConfig>, StorageError> {
        self.client()?
            .query_opt(
                "SELECT config_json FROM sites WHERE key = $1",
                &[&key.as_str()],
            )?
            .map(|row| parse_site(row.get(0)))
            .transpose()
    }

    fn put_site(&self, key: &SiteKey, config: &SiteConfig) -> Result<(), StorageError> {
        let json = site_json(config)?;
        self.client()?.execute(
            "INSERT INTO sites (key, config_json) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET config_json = EXCLUDED.config_json",
            &[&key.as_str(), &json],
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
        let inserted = self.client()?.execute(
            "INSERT INTO sites (key, config_json, identity_secret) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO NOTHING",
            &[&key.as_str(), &json, &identity_secret],
        )?;
        Ok(inserted == 1)
    }

    fn sites(&self) -> Result<Vec<(SiteKey, SiteConfig)>, StorageError> {
        self.client()?
            .query("SELECT key, config_json FROM sites ORDER BY key", &[])?
            .iter()
            .map(|row| Ok((parse_site_key(row.get(0))?, parse_site(row.get(1))?)))
            .collect()
    }

    fn site_secret(&self, key: &SiteKey) -> Result<Option<String>, StorageError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT identity_secret FROM sites WHERE key = $1",
                &[&key.as_str()],
            )?
            .and_then(|row| row.get(0)))
    }

    fn set_site_secret(&self, key: &SiteKey, secret: &str) -> Result<(), StorageError> {
        self.client()?.execute(
            "UPDATE sites SET identity_secret = $2 WHERE key = $1",
            &[&key.as_str(), &secret],
        )?;
        Ok(())
    }

    fn is_empty(&self) -> Result<bool, StorageError> {
        Ok(!self
            .client()?
            .query_one("SELECT EXISTS (SELECT 1 FROM sites)", &[])?
            .get::<_, bool>(0))
    }

    fn server_secret(&self, name: &str) -> Result<String, StorageError> {
        let mut client = self.client()?;
        client.execute(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &crate::tokens::random_token()],
        )?;
        Ok(client
            .query_one("SELECT value FROM server_secrets WHERE name = $1", &[&name])?
            .get(0))
    }
}
