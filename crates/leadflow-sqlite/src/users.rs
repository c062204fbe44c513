//! Sales users, assignment rotations and owners' open leads.

use std::collections::HashMap;

use leadflow_core::team::{Cursor, User, UserName};
use leadflow_store::{UserReads, UserRow, UserWrites, encode_holidays, read_cursor};

use super::*;

const USER_COLUMNS: &str =
    "name, display_name, email, team, role, zone, week, holidays, away_until, capacity, active, signature";

fn read_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        name: r.get(0)?,
        display_name: r.get(1)?,
        email: r.get(2)?,
        team: r.get(3)?,
        role: r.get(4)?,
        zone: r.get(5)?,
        week: r.get(6)?,
        holidays: r.get(7)?,
        away_until: r.get(8)?,
        capacity: r.get(9)?,
        active: r.get(10)?,
        signature: r.get(11)?,
    })
}

fn users(conn: &Connection) -> Result<Vec<User>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name")).map_err(backend)?;
    let rows = stmt.query_map([], read_user).map_err(backend)?;
    rows.map(|r| r.map_err(backend)?.into_user()).collect()
}

impl UserReads for SqliteStore {
    fn users(&self) -> Result<Vec<User>, StoreError> {
        users(&self.conn)
    }
}

impl UserWrites for SqliteTx<'_> {
    fn put_user(&mut self, user: &User, now: Timestamp) -> Result<bool, StoreError> {
        let existed: bool = self
            .tx
            .query_row("SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)", [user.name().as_str()], |r| r.get(0))
            .map_err(backend)?;
        self.tx
            .execute(
                "INSERT INTO users (name, display_name, email, team, role, zone, week, holidays, away_until,
                     capacity, active, created_at, updated_at, signature)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13)
                 ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name, email = excluded.email,
                     team = excluded.team, role = excluded.role, zone = excluded.zone, week = excluded.week,
                     holidays = excluded.holidays, away_until = excluded.away_until,
                     capacity = excluded.capacity, active = excluded.active, updated_at = excluded.updated_at,
                     signature = excluded.signature",
                params![
                    user.name().as_str(),
                    user.display_name(),
                    user.email().map(|e| e.as_str()),
                    user.team().map(|t| t.as_str()),
                    user.role().as_str(),
                    user.calendar().zone().name(),
                    user.week().to_string(),
                    encode_holidays(user),
                    user.away_until().map(Timestamp::millis),
                    user.capacity(),
                    user.is_active(),
                    now.millis(),
                    user.signature(),
                ],
            )
            .map_err(backend)?;
        Ok(!existed)
    }

    fn users_now(&mut self) -> Result<Vec<User>, StoreError> {
        users(&self.tx)
    }

    fn hold_assignment_cursor(&mut self, rule: &str) -> Result<Option<Cursor>, StoreError> {
        // The write lock this unit of work holds keeps every other assignment out.
        let row: Option<(String, i64)> = self
            .tx
            .query_row("SELECT last_user, position FROM assignment_cursors WHERE rule = ?1", [rule], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(backend)?;
        row.map(|(last, position)| read_cursor(rule, &last, position)).transpose()
    }

    fn set_assignment_cursor(&mut self, rule: &str, cursor: &Cursor) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO assignment_cursors (rule, last_user, position) VALUES (?1, ?2, ?3)
                 ON CONFLICT (rule) DO UPDATE SET last_user = excluded.last_user, position = excluded.position",
                params![rule, cursor.last.as_str(), cursor.index],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn open_leads_by_owner(&mut self, open: &[(String, String)]) -> Result<HashMap<UserName, u32>, StoreError> {
        let mut counts: HashMap<UserName, u32> = HashMap::new();
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT owner, count(*) FROM leads WHERE pipeline = ?1 AND pipeline_stage = ?2 AND owner IS NOT NULL
                 GROUP BY owner",
            )
            .map_err(backend)?;
        for (pipeline, stage) in open {
            let rows = stmt
                .query_map([pipeline, stage], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(backend)?;
            for row in rows {
                let (owner, n) = row.map_err(backend)?;
                // An owner no user could be named (free text from a CRM) is no user's load.
                if let Ok(owner) = UserName::parse(&owner) {
                    *counts.entry(owner).or_default() += n as u32;
                }
            }
        }
        Ok(counts)
    }
}
