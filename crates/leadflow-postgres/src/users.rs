//! Sales users, assignment rotations and owners' open leads.

use std::collections::HashMap;

use leadflow_core::Timestamp;
use leadflow_core::team::{Cursor, User, UserName};
use leadflow_store::{StoreError, UserReads, UserRow, UserWrites, encode_holidays, read_cursor};
use postgres::Row;

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend};

const USER_COLUMNS: &str =
    "name, display_name, email, team, role, zone, week, holidays, away_until, capacity, active, signature";

fn read_user(r: &Row) -> Result<User, StoreError> {
    UserRow {
        name: r.get(0),
        display_name: r.get(1),
        email: r.get(2),
        team: r.get(3),
        role: r.get(4),
        zone: r.get(5),
        week: r.get(6),
        holidays: r.get(7),
        away_until: r.get(8),
        capacity: r.get(9),
        active: r.get(10),
        signature: r.get(11),
    }
    .into_user()
}

fn users(conn: &mut impl Sql) -> Result<Vec<User>, StoreError> {
    let rows = conn.query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"), &[]).map_err(backend)?;
    rows.iter().map(read_user).collect()
}

impl UserReads for PgStore {
    fn users(&self) -> Result<Vec<User>, StoreError> {
        users(&mut self.conn())
    }
}

impl UserWrites for PgTx<'_> {
    fn put_user(&mut self, user: &User, now: Timestamp) -> Result<bool, StoreError> {
        // `xmax = 0` tells a row this statement inserted from one it updated.
        let row = self
            .tx
            .query_one(
                "INSERT INTO users (name, display_name, email, team, role, zone, week, holidays, away_until,
                     capacity, active, created_at, updated_at, signature)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)
                 ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name, email = excluded.email,
                     team = excluded.team, role = excluded.role, zone = excluded.zone, week = excluded.week,
                     holidays = excluded.holidays, away_until = excluded.away_until,
                     capacity = excluded.capacity, active = excluded.active, updated_at = excluded.updated_at,
                     signature = excluded.signature
                 RETURNING xmax = 0",
                &[
                    &user.name().as_str(),
                    &user.display_name(),
                    &user.email().map(|e| e.as_str()),
                    &user.team().map(|t| t.as_str()),
                    &user.role().as_str(),
                    &user.calendar().zone().name(),
                    &user.week().to_string(),
                    &encode_holidays(user),
                    &user.away_until().map(Timestamp::millis),
                    &user.capacity().map(i64::from),
                    &user.is_active(),
                    &now.millis(),
                    &user.signature(),
                ],
            )
            .map_err(backend)?;
        Ok(row.get(0))
    }

    fn users_now(&mut self) -> Result<Vec<User>, StoreError> {
        users(&mut self.tx)
    }

    fn hold_assignment_cursor(&mut self, rule: &str) -> Result<Option<Cursor>, StoreError> {
        // A rule's first assignment has no row to lock: a placeholder (position -1) gives it one,
        // so that two first assignments at once queue like any others.
        self.tx
            .execute(
                "INSERT INTO assignment_cursors (rule, last_user, position) VALUES ($1, '', -1)
                 ON CONFLICT (rule) DO NOTHING",
                &[&rule],
            )
            .map_err(backend)?;
        let row = self
            .tx
            .query_one("SELECT last_user, position FROM assignment_cursors WHERE rule = $1 FOR UPDATE", &[&rule])
            .map_err(backend)?;
        let (last, position): (String, i64) = (row.get(0), row.get(1));
        if position < 0 { Ok(None) } else { read_cursor(rule, &last, position).map(Some) }
    }

    fn set_assignment_cursor(&mut self, rule: &str, cursor: &Cursor) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO assignment_cursors (rule, last_user, position) VALUES ($1, $2, $3)
                 ON CONFLICT (rule) DO UPDATE SET last_user = excluded.last_user, position = excluded.position",
                &[&rule, &cursor.last.as_str(), &i64::from(cursor.index)],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn open_leads_by_owner(&mut self, open: &[(String, String)]) -> Result<HashMap<UserName, u32>, StoreError> {
        let (pipelines, stages): (Vec<&str>, Vec<&str>) = open.iter().map(|(p, s)| (p.as_str(), s.as_str())).unzip();
        let rows = self
            .tx
            .query(
                "SELECT l.owner, count(*) FROM leads l
                 JOIN unnest($1::TEXT[], $2::TEXT[]) AS o (pipeline, stage)
                     ON l.pipeline = o.pipeline AND l.pipeline_stage = o.stage
                 WHERE l.owner IS NOT NULL GROUP BY l.owner",
                &[&pipelines, &stages],
            )
            .map_err(backend)?;
        // An owner no user could be named (free text from a CRM) is no user's load.
        Ok(rows
            .iter()
            .filter_map(|r| Some((UserName::parse(r.get::<_, &str>(0)).ok()?, r.get::<_, i64>(1) as u32)))
            .collect())
    }
}
