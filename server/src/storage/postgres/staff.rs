//! PostgreSQL: staff accounts, logins and sessions.

use super::*;

impl StaffStore for PostgresStorage {
    fn staff_by_token_hash(&self, token_hash: &str) -> Result<Option<StaffMember>, StorageError> {
        let mut client = self.client()?;
        let found = client.query_opt(
            &format!("SELECT {STAFF_COLUMNS} FROM staff WHERE token_hash = $1 AND active"),
            &[&token_hash],
        )?;
        found
            .map(|row| with_sites(&mut *client, staff_from_row(&row)))
            .transpose()
    }

    fn add_staff(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
    ) -> Result<StaffMember, StorageError> {
        let row = self.client()?.query_one(
            &format!(
                "INSERT INTO staff (name, role, token_hash) VALUES ($1, $2, $3)
                 RETURNING {STAFF_COLUMNS}"
            ),
            &[&name, &role, &token_hash],
        )?;
        Ok(staff_from_row(&row))
    }

    fn update_staff(
        &self,
        staff_id: i64,
        role: Option<&str>,
        active: Option<bool>,
    ) -> Result<bool, StorageError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let changed = tx.execute(
            "UPDATE staff SET role = COALESCE($2, role), active = COALESCE($3, active) WHERE id = $1",
            &[&staff_id, &role, &active],
        )?;
        if active == Some(false) {
            tx.execute("DELETE FROM sessions WHERE staff_id = $1", &[&staff_id])?;
        }
        tx.commit()?;
        Ok(changed == 1)
    }

    fn set_staff_timezone(&self, staff_id: i64, timezone: &str) -> Result<(), StorageError> {
        self.client()?.execute(
            "UPDATE staff SET timezone = $2 WHERE id = $1",
            &[&staff_id, &timezone],
        )?;
        Ok(())
    }

    fn delete_sessions_of(&self, staff_id: i64) -> Result<(), StorageError> {
        self.client()?
            .execute("DELETE FROM sessions WHERE staff_id = $1", &[&staff_id])?;
        Ok(())
    }

    fn create_staff_account(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
        login: &str,
        password_hash: &str,
        sites: &[SiteKey],
    ) -> Result<Option<StaffMember>, StorageError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let Some(row) = tx.query_opt(
            &format!(
                "INSERT INTO staff (name, role, token_hash, login, password_hash)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (login) DO NOTHING
                 RETURNING {STAFF_COLUMNS}"
            ),
            &[&name, &role, &token_hash, &login, &password_hash],
        )?
        else {
            return Ok(None);
        };
        let mut member = staff_from_row(&row);
        for site in sites {
            tx.execute(
                "INSERT INTO staff_sites (staff_id, site) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&member.id, &site.as_str()],
            )?;
        }
        tx.commit()?;
        member.sites = sites.iter().map(ToString::to_string).collect();
        Ok(Some(member))
    }

    fn staff_login_of(&self, staff_id: i64) -> Result<Option<(String, String)>, StorageError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT login, password_hash FROM staff
                 WHERE id = $1 AND login IS NOT NULL AND password_hash IS NOT NULL",
                &[&staff_id],
            )?
            .map(|row| (row.get(0), row.get(1))))
    }

    fn list_staff(&self) -> Result<Vec<StaffMember>, StorageError> {
        let mut client = self.client()?;
        let members: Vec<StaffMember> = client
            .query(
                &format!("SELECT {STAFF_COLUMNS} FROM staff ORDER BY name, id"),
                &[],
            )?
            .iter()
            .map(staff_from_row)
            .collect();
        members
            .into_iter()
            .map(|m| with_sites(&mut *client, m))
            .collect()
    }

    fn grant_site(&self, staff_id: i64, site: &SiteKey) -> Result<(), StorageError> {
        self.client()?.execute(
            "INSERT INTO staff_sites (staff_id, site) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&staff_id, &site.as_str()],
        )?;
        Ok(())
    }

    fn set_staff_sites(&self, staff_id: i64, sites: &[SiteKey]) -> Result<(), StorageError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        tx.execute("DELETE FROM staff_sites WHERE staff_id = $1", &[&staff_id])?;
        for site in sites {
            tx.execute(
                "INSERT INTO staff_sites (staff_id, site) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&staff_id, &site.as_str()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn set_staff_login(
        &self,
        staff_id: i64,
        login: &str,
        password_hash: &str,
    ) -> Result<(), StorageError> {
        self.client()?.execute(
            "UPDATE staff SET login = $2, password_hash = $3 WHERE id = $1",
            &[&staff_id, &login, &password_hash],
        )?;
        Ok(())
    }

    fn staff_by_login(&self, login: &str) -> Result<Option<(StaffMember, String)>, StorageError> {
        let mut client = self.client()?;
        let found = client.query_opt(
            &format!(
                "SELECT {STAFF_COLUMNS}, password_hash FROM staff
                 WHERE login = $1 AND password_hash IS NOT NULL AND active"
            ),
            &[&login],
        )?;
        found
            .map(|row| {
                let member = with_sites(&mut *client, staff_from_row(&row))?;
                Ok((member, row.get("password_hash")))
            })
            .transpose()
    }

    fn create_session(
        &self,
        token_hash: &str,
        staff_id: i64,
        expires_at: i64,
    ) -> Result<(), StorageError> {
        self.client()?.execute(
            "INSERT INTO sessions (token_hash, staff_id, expires_at) VALUES ($1, $2, $3)",
            &[&token_hash, &staff_id, &expires_at],
        )?;
        Ok(())
    }

    fn staff_by_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<StaffMember>, StorageError> {
        let mut client = self.client()?;
        let found = client.query_opt(
            "SELECT s.id, s.name, s.role, s.active, s.timezone
             FROM sessions JOIN staff s ON s.id = sessions.staff_id
             WHERE sessions.token_hash = $1 AND sessions.expires_at > $2 AND s.active",
            &[&token_hash, &now],
        )?;
        found
            .map(|row| with_sites(&mut *client, staff_from_row(&row)))
            .transpose()
    }

    fn delete_session(&self, token_hash: &str) -> Result<(), StorageError> {
        self.client()?
            .execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])?;
        Ok(())
    }

    fn delete_expired_sessions(&self, now: i64) -> Result<usize, StorageError> {
        let deleted = self
            .client()?
            .execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }
}
