//! SLA clocks.

use leadflow_core::team::UserName;
use leadflow_store::{
    ComplianceQuery, ComplianceRow, NewSlaClock, RuleFileVersion, SLA_CLOCK_COLUMNS, SlaClockQuery, SlaClockRecord,
    SlaClockRow, SlaReads, SlaResponse, SlaWrites, escalations_text,
};

use super::*;

fn read_clock(r: &rusqlite::Row<'_>) -> rusqlite::Result<SlaClockRow> {
    Ok(SlaClockRow {
        id: r.get(0)?,
        lead: r.get(1)?,
        policy: r.get(2)?,
        rule: r.get(3)?,
        owner: r.get(4)?,
        started_at: r.get(5)?,
        due_at: r.get(6)?,
        met_at: r.get(7)?,
        met_how: r.get(8)?,
        breached_at: r.get(9)?,
        escalations_done: r.get(10)?,
        check_at: r.get(11)?,
        stopped_at: r.get(12)?,
        stopped_why: r.get(13)?,
        created_at: r.get(14)?,
    })
}

fn clocks(conn: &Connection, sql: &str, args: &[rusqlite::types::Value]) -> Result<Vec<SlaClockRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let rows = stmt.query_map(params_from_iter(args), read_clock).map_err(backend)?;
    rows.map(|r| r.map_err(backend)?.into_record()).collect()
}

fn limit(n: usize) -> rusqlite::types::Value {
    i64::try_from(n).unwrap_or(i64::MAX).into()
}

impl SlaReads for SqliteStore {
    fn sla_clocks(&self, q: &SlaClockQuery) -> Result<Vec<SlaClockRecord>, StoreError> {
        let mut conds = vec!["1 = 1".to_string()];
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(lead) = q.lead {
            args.push(lead.0.into());
            conds.push(format!("lead_id = ?{}", args.len()));
        }
        if let Some(owner) = &q.owner {
            args.push(owner.as_str().to_string().into());
            conds.push(format!("owner = ?{}", args.len()));
        }
        if q.running {
            conds.push("met_at IS NULL AND stopped_at IS NULL".into());
        }
        if let Some(now) = q.breached_as_of {
            args.push(now.millis().into());
            conds.push(format!(
                "met_at IS NULL AND due_at IS NOT NULL AND due_at < COALESCE(stopped_at, ?{})",
                args.len()
            ));
        }
        args.push(limit(q.limit));
        let sql = format!(
            "SELECT {SLA_CLOCK_COLUMNS} FROM sla_clocks WHERE {} ORDER BY {} LIMIT ?{}",
            conds.join(" AND "),
            if q.soonest_due_first { "due_at IS NULL, due_at, id" } else { "id DESC" },
            args.len()
        );
        clocks(&self.conn, &sql, &args)
    }

    fn sla_clocks_to_check(
        &self,
        now: Timestamp,
        after: Option<(Timestamp, i64)>,
        n: usize,
    ) -> Result<Vec<SlaClockRecord>, StoreError> {
        let (after_at, after_id) = after.map_or((i64::MIN, i64::MIN), |(at, id)| (at.millis(), id));
        clocks(
            &self.conn,
            &format!(
                "SELECT {SLA_CLOCK_COLUMNS} FROM sla_clocks
                 WHERE check_at IS NOT NULL AND met_at IS NULL AND stopped_at IS NULL
                   AND check_at <= ?1 AND (check_at, id) > (?2, ?3)
                 ORDER BY check_at, id LIMIT ?4"
            ),
            &[now.millis().into(), after_at.into(), after_id.into(), limit(n)],
        )
    }

    fn mqls_without_clock(
        &self,
        policy: RuleFileVersion,
        rules: &[String],
        since: Timestamp,
        after: LeadId,
        limit: usize,
    ) -> Result<Vec<LeadId>, StoreError> {
        let rules = serde_json::to_string(rules).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT l.id FROM leads l
                 WHERE l.mql_at IS NOT NULL AND l.mql_at >= ?3 AND l.id > ?4
                   AND NOT EXISTS (
                       SELECT 1 FROM sla_clocks c
                       WHERE c.lead_id = l.id AND c.policy_version = ?1 AND c.created_at >= l.mql_at
                         AND c.rule_id IN (SELECT value FROM json_each(?2)))
                 ORDER BY l.id LIMIT ?5",
            )
            .map_err(backend)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![policy.0, rules, since.millis(), after.0, limit], |r| r.get(0).map(LeadId))
            .map_err(backend)?;
        rows.map(|r| r.map_err(backend)).collect()
    }

    fn sla_responses(&self, q: &ComplianceQuery) -> Result<Vec<SlaResponse>, StoreError> {
        let sql = "SELECT owner, rule_id, started_at,
                 CASE WHEN met_at <= ?3 THEN met_at END,
                 stopped_at IS NOT NULL AND stopped_at <= ?3
             FROM sla_clocks
             WHERE owner IS NOT NULL AND started_at >= ?1 AND started_at < ?2
             ORDER BY owner, started_at, id";
        let mut stmt = self.conn.prepare_cached(sql).map_err(backend)?;
        let rows = stmt
            .query_map(params![q.from.millis(), q.to.millis(), q.now.millis()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, bool>(4)?,
                ))
            })
            .map_err(backend)?;
        rows.map(|row| {
            let (owner, rule, started_at, met_at, stopped) = row.map_err(backend)?;
            Ok(SlaResponse {
                owner: UserName::parse(&owner)
                    .map_err(|e| StoreError::Corrupt(format!("an SLA clock's owner `{owner}`: {e}")))?,
                rule,
                started_at: Timestamp::from_millis(started_at),
                met_at: met_at.map(Timestamp::from_millis),
                stopped,
            })
        })
        .collect()
    }

    fn sla_compliance(&self, q: &ComplianceQuery) -> Result<Vec<ComplianceRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT owner, rule_id,
                     SUM(met_at IS NOT NULL AND met_at <= due_at),
                     SUM(met_at IS NOT NULL AND met_at > due_at),
                     SUM(met_at IS NULL AND due_at < COALESCE(stopped_at, ?3)),
                     SUM(met_at IS NULL AND stopped_at IS NULL AND due_at >= ?3)
                 FROM sla_clocks
                 WHERE owner IS NOT NULL AND due_at IS NOT NULL AND started_at >= ?1 AND started_at < ?2
                 GROUP BY owner, rule_id
                 ORDER BY owner, rule_id",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![q.from.millis(), q.to.millis(), q.now.millis()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            let (owner, rule, on_time, late, breached, pending) = row.map_err(backend)?;
            let owner = UserName::parse(&owner)
                .map_err(|e| StoreError::Corrupt(format!("an SLA clock's owner `{owner}`: {e}")))?;
            let count = |n: i64| u64::try_from(n).unwrap_or(0);
            out.push(ComplianceRow {
                owner,
                rule,
                met_on_time: count(on_time),
                met_late: count(late),
                breached: count(breached),
                pending: count(pending),
            });
        }
        Ok(out)
    }
}

impl SlaWrites for SqliteTx<'_> {
    fn start_sla_clock(&mut self, c: &NewSlaClock<'_>, now: Timestamp) -> Result<i64, StoreError> {
        let millis = |t: Option<Timestamp>| t.map(Timestamp::millis);
        self.tx
            .execute(
                "INSERT INTO sla_clocks (lead_id, policy_version, rule_id, owner, started_at, due_at, check_at,
                     created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    c.lead.0,
                    c.policy.0,
                    c.rule,
                    c.owner.map(|o| o.as_str()),
                    millis(c.started_at),
                    millis(c.due_at),
                    millis(c.check_at),
                    now.millis()
                ],
            )
            .map_err(backend)?;
        Ok(self.tx.last_insert_rowid())
    }

    fn running_sla_clocks(&mut self, lead: LeadId) -> Result<Vec<SlaClockRecord>, StoreError> {
        clocks(
            &self.tx,
            &format!(
                "SELECT {SLA_CLOCK_COLUMNS} FROM sla_clocks
                 WHERE lead_id = ?1 AND met_at IS NULL AND stopped_at IS NULL ORDER BY id"
            ),
            &[lead.0.into()],
        )
    }

    fn sla_clock_now(&mut self, id: i64) -> Result<Option<SlaClockRecord>, StoreError> {
        let found =
            clocks(&self.tx, &format!("SELECT {SLA_CLOCK_COLUMNS} FROM sla_clocks WHERE id = ?1"), &[id.into()])?;
        Ok(found.into_iter().next())
    }

    fn update_sla_clock(&mut self, c: &SlaClockRecord) -> Result<(), StoreError> {
        let millis = |t: Option<Timestamp>| t.map(Timestamp::millis);
        self.tx
            .execute(
                "UPDATE sla_clocks SET owner = ?2, started_at = ?3, due_at = ?4, met_at = ?5, met_how = ?6,
                     breached_at = ?7, escalations_done = ?8, check_at = ?9, stopped_at = ?10, stopped_why = ?11
                 WHERE id = ?1",
                params![
                    c.id,
                    c.owner.as_ref().map(|o| o.as_str()),
                    millis(c.started_at),
                    millis(c.due_at),
                    millis(c.met.map(|(at, _)| at)),
                    c.met.map(|(_, how)| how.as_str()),
                    millis(c.breached_at),
                    escalations_text(&c.escalations_done),
                    millis(c.check_at),
                    millis(c.stopped.as_ref().map(|(at, _)| *at)),
                    c.stopped.as_ref().map(|(_, why)| why.as_str()),
                ],
            )
            .map_err(backend)?;
        Ok(())
    }
}
