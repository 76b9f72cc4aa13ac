//! SQLite: staff accounts, logins and sessions.

use super::*;

impl StaffStore for SqliteStorage {
    fn staff_by_token_hash(&self, token_hash: &str) -> Result<Option<StaffMember>, StorageError> {
        let conn = self.reader()?;
        let found = conn
            .query_row(
                "SELECT id, name, role, active, timezone FROM staff WHERE token_hash = ?1 AND active = 1",
                [token_hash],
                staff_from_row,
            )
            .optional()?;
        Ok(found.map(|m| with_sites(&conn, m)).transpose()?)
    }

    fn grant_site(&self, staff_id: i64, site: &SiteKey) -> Result<(), StorageError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO staff_sites (staff_id, site) VALUES (?1, ?2)",
            params![staff_id, site.as_str()],
        )?;
        Ok(())
    }

    fn set_staff_sites(&self, staff_id: i64, sites: &[SiteKey]) -> Result<(), StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM staff_sites WHERE staff_id = ?1", [staff_id])?;
        for site in sites {
            tx.execute(
                "INSERT OR IGNORE INTO staff_sites (staff_id, site) VALUES (?1, ?2)",
                params![staff_id, site.as_str()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn add_staff(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
    ) -> Result<StaffMember, StorageError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO staff (name, role, token_hash) VALUES (?1, ?2, ?3)",
            params![name, role, token_hash],
        )?;
        Ok(StaffMember {
            id: conn.last_insert_rowid(),
            name: name.to_owned(),
            role: role.to_owned(),
            sites: Vec::new(),
            active: true,
            timezone: "UTC".into(),
        })
    }

    fn set_staff_login(
        &self,
        staff_id: i64,
        login: &str,
        password_hash: &str,
    ) -> Result<(), StorageError> {
        self.conn().execute(
            "UPDATE staff SET login = ?2, password_hash = ?3 WHERE id = ?1",
            params![staff_id, login, password_hash],
        )?;
        Ok(())
    }

    fn list_staff(&self) -> Result<Vec<StaffMember>, StorageError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, name, role, active, timezone FROM staff ORDER BY name, id",
        )?;
        let members = stmt
            .query_map([], staff_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(members
            .into_iter()
            .map(|m| with_sites(&conn, m))
            .collect::<Result<_, _>>()?)
    }

    fn staff_by_login(&self, login: &str) -> Result<Option<(StaffMember, String)>, StorageError> {
        let conn = self.reader()?;
        let found: Option<(StaffMember, String)> = conn
            .query_row(
                "SELECT id, name, role, active, timezone, password_hash FROM staff
                 WHERE login = ?1 AND password_hash IS NOT NULL AND active = 1",
                [login],
                |row| Ok((staff_from_row(row)?, row.get("password_hash")?)),
            )
            .optional()?;
        Ok(found
            .map(|(m, hash)| with_sites(&conn, m).map(|m| (m, hash)))
            .transpose()?)
    }

    fn create_session(
        &self,
        token_hash: &str,
        staff_id: i64,
        expires_at: i64,
    ) -> Result<(), StorageError> {
        self.conn().execute(
            "INSERT INTO sessions (token_hash, staff_id, expires_at) VALUES (?1, ?2, ?3)",
            params![token_hash, staff_id, expires_at],
        )?;
        Ok(())
    }

    fn staff_by_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<StaffMember>, StorageError> {
        let conn = self.reader()?;
        let found = conn
            .query_row(
                "SELECT s.id, s.name, s.role, s.active, s.timezone FROM sessions JOIN staff s ON s.id = sessions.staff_id
                 WHERE sessions.token_hash = ?1 AND sessions.expires_at > ?2 AND s.active = 1",
                params![token_hash, now],
                staff_from_row,
            )
            .optional()?;
        Ok(found.map(|m| with_sites(&conn, m)).transpose()?)
    }

    fn update_staff(
        &self,
        staff_id: i64,
        role: Option<&str>,
        active: Option<bool>,
    ) -> Result<bool, StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE staff SET role = COALESCE(?2, role), active = COALESCE(?3, active) WHERE id = ?1",
            params![staff_id, role, active],
        )?;
        if active == Some(false) {
            tx.execute("DELETE FROM sessions WHERE staff_id = ?1", [staff_id])?;
        }
        tx.commit()?;
        Ok(changed == 1)
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
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let taken: bool = tx.query_row(
            "SELECT COUNT(*) > 0 FROM staff WHERE login = ?1",
            [login],
            |row| row.get(0),
        )?;
        if taken {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO staff (name, role, token_hash, login, password_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, role, token_hash, login, password_hash],
        )?;
        let id = tx.last_insert_rowid();
        for site in sites {
            tx.execute(
                "INSERT OR IGNORE INTO staff_sites (staff_id, site) VALUES (?1, ?2)",
                params![id, site.as_str()],
            )?;
        }
        tx.commit()?;
        Ok(Some(StaffMember {
            id,
            name: name.to_owned(),
            role: role.to_owned(),
            sites: sites.iter().map(ToString::to_string).collect(),
            active: true,
            timezone: "UTC".into(),
        }))
    }

    fn staff_login_of(&self, staff_id: i64) -> Result<Option<(String, String)>, StorageError> {
        let conn = self.reader()?;
        let found = conn
            .query_row(
                "SELECT login, password_hash FROM staff WHERE id = ?1 AND login IS NOT NULL AND password_hash IS NOT NULL",
                [staff_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        Ok(found)
    }

    fn set_staff_timezone(&self, staff_id: i64, timezone: &str) -> Result<(), StorageError> {
        self.conn().execute(
            "UPDATE staff SET timezone = ?2 WHERE id = ?1",
            params![staff_id, timezone],
        )?;
        Ok(())
    }

    fn delete_sessions_of(&self, staff_id: i64) -> Result<(), StorageError> {
        self.conn()
            .execute("DELETE FROM sessions WHERE staff_id = ?1", [staff_id])?;
        Ok(())
    }

    fn delete_session(&self, token_hash: &str) -> Result<(), StorageError> {
        self.conn()
            .execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
        Ok(())
    }

    fn delete_expired_sessions(&self, now: i64) -> Result<usize, StorageError> {
        Ok(self
            .conn()
            .execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?)
    }
}
