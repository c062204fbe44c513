//! SLA clocks.

use leadflow_core::team::UserName;
use leadflow_core::{LeadId, Timestamp};
use leadflow_store::{
    ComplianceQuery, ComplianceRow, NewSlaClock, RuleFileVersion, SLA_CLOCK_COLUMNS, SlaClockQuery, SlaClockRecord,
    SlaClockRow, SlaReads, SlaResponse, SlaWrites, StoreError, escalations_text,
};
use postgres::Row;
use postgres::types::ToSql;

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend};

fn read_clock(r: &Row) -> Result<SlaClockRecord, StoreError> {
    SlaClockRow {
        id: r.get(0),
        lead: r.get(1),
        policy: r.get(2),
        rule: r.get(3),
        owner: r.get(4),
        started_at: r.get(5),
        due_at: r.get(6),
        met_at: r.get(7),
        met_how: r.get(8),
        breached_at: r.get(9),
        escalations_done: r.get(10),
        check_at: r.get(11),
        stopped_at: r.get(12),
        stopped_why: r.get(13),
        created_at: r.get(14),
    }
    .into_record()
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl SlaReads for PgStore {
    fn sla_clocks(&self, q: &SlaClockQuery) -> Result<Vec<SlaClockRecord>, StoreError> {
        let mut conds = vec!["TRUE".to_string()];
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        if let Some(lead) = q.lead {
            args.push(Box::new(lead.0));
            conds.push(format!("lead_id = ${}", args.len()));
        }
        if let Some(owner) = &q.owner {
            args.push(Box::new(owner.as_str().to_string()));
            conds.push(format!("owner = ${}", args.len()));
        }
        if q.running {
            conds.push("met_at IS NULL AND stopped_at IS NULL".into());
        }
        if let Some(now) = q.breached_as_of {
            args.push(Box::new(now.millis()));
            conds.push(format!(
                "met_at IS NULL AND due_at IS NOT NULL AND due_at < COALESCE(stopped_at, ${})",
                args.len()
            ));
        }
        args.push(Box::new(limit(q.limit)));
        let sql = format!(
            "SELECT {SLA_CLOCK_COLUMNS} FROM sla_clocks WHERE {} ORDER BY {} LIMIT ${}",
            conds.join(" AND "),
            if q.soonest_due_first { "due_at IS NULL, due_at, id" } else { "id DESC" },
            args.len()
        );
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        let rows = self.conn().query(&sql, &params).map_err(backend)?;
        rows.iter().map(read_clock).collect()
    }

    fn sla_clocks_to_check(
        &self,
        now: Timestamp,
        after: Option<(Timestamp, i64)>,
        n: usize,
    ) -> Result<Vec<SlaClockRecord>, StoreError> {
        let (after_at, after_id) = after.map_or((i64::MIN, i64::MIN), |(at, id)| (at.millis(), id));
        let rows = self
            .conn()
            .query(
                &format!(
                    "SELECT {SLA_CLOCK_COLUMNS} FROM sla_clocks
                     WHERE check_at IS NOT NULL AND met_at IS NULL AND stopped_at IS NULL
                       AND check_at <= $1 AND (check_at, id) > ($2, $3)
                     ORDER BY check_at, id LIMIT $4"
                ),
                &[&now.millis(), &after_at, &after_id, &limit(n)],
            )
            .map_err(backend)?;
        rows.iter().map(read_clock).collect()
    }

    fn mqls_without_clock(
        &self,
        policy: RuleFileVersion,
        rules: &[String],
        since: Timestamp,
        after: LeadId,
        n: usize,
    ) -> Result<Vec<LeadId>, StoreError> {
        let rows = self
            .conn()
            .query(
                "SELECT l.id FROM leads l
                 WHERE l.mql_at IS NOT NULL AND l.mql_at >= $3 AND l.id > $4
                   AND NOT EXISTS (
                       SELECT 1 FROM sla_clocks c
                       WHERE c.lead_id = l.id AND c.policy_version = $1 AND c.created_at >= l.mql_at
                         AND c.rule_id = ANY($2))
                 ORDER BY l.id LIMIT $5",
                &[&policy.0, &rules, &since.millis(), &after.0, &limit(n)],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(|r| LeadId(r.get(0))).collect())
    }

    fn sla_responses(&self, q: &ComplianceQuery) -> Result<Vec<SlaResponse>, StoreError> {
        let sql = "SELECT owner, rule_id, started_at,
                 CASE WHEN met_at <= $3 THEN met_at END,
                 stopped_at IS NOT NULL AND stopped_at <= $3
             FROM sla_clocks
             WHERE owner IS NOT NULL AND started_at >= $1 AND started_at < $2
             ORDER BY owner COLLATE \"C\", started_at, id";
        let rows = self.conn().query(sql, &[&q.from.millis(), &q.to.millis(), &q.now.millis()]).map_err(backend)?;
        rows.iter()
            .map(|r| {
                let owner: String = r.get(0);
                Ok(SlaResponse {
                    owner: UserName::parse(&owner)
                        .map_err(|e| StoreError::Corrupt(format!("an SLA clock's owner `{owner}`: {e}")))?,
                    rule: r.get(1),
                    started_at: Timestamp::from_millis(r.get(2)),
                    met_at: r.get::<_, Option<i64>>(3).map(Timestamp::from_millis),
                    stopped: r.get(4),
                })
            })
            .collect()
    }

    fn sla_compliance(&self, q: &ComplianceQuery) -> Result<Vec<ComplianceRow>, StoreError> {
        let rows = self
            .conn()
            .query(
                "SELECT owner, rule_id,
                     COUNT(*) FILTER (WHERE met_at IS NOT NULL AND met_at <= due_at),
                     COUNT(*) FILTER (WHERE met_at IS NOT NULL AND met_at > due_at),
                     COUNT(*) FILTER (WHERE met_at IS NULL AND due_at < COALESCE(stopped_at, $3)),
                     COUNT(*) FILTER (WHERE met_at IS NULL AND stopped_at IS NULL AND due_at >= $3)
                 FROM sla_clocks
                 WHERE owner IS NOT NULL AND due_at IS NOT NULL AND started_at >= $1 AND started_at < $2
                 GROUP BY owner, rule_id
                 ORDER BY owner COLLATE \"C\", rule_id COLLATE \"C\"",
                &[&q.from.millis(), &q.to.millis(), &q.now.millis()],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let owner: String = r.get(0);
                let owner = UserName::parse(&owner)
                    .map_err(|e| StoreError::Corrupt(format!("an SLA clock's owner `{owner}`: {e}")))?;
                let count = |i: usize| u64::try_from(r.get::<_, i64>(i)).unwrap_or(0);
                Ok(ComplianceRow {
                    owner,
                    rule: r.get(1),
                    met_on_time: count(2),
                    met_late: count(3),
                    breached: count(4),
                    pending: count(5),
                })
            })
            .collect()
    }
}

impl SlaWrites for PgTx<'_> {
    fn start_sla_clock(&mut self, c: &NewSlaClock<'_>, now: Timestamp) -> Result<i64, StoreError> {
        let millis = |t: Option<Timestamp>| t.map(Timestamp::millis);
        let row = self
            .tx
            .query_one(
                "INSERT INTO sla_clocks (lead_id, policy_version, rule_id, owner, started_at, due_at, check_at,
                     created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    &c.lead.0,
                    &c.policy.0,
                    &c.rule,
                    &c.owner.map(|o| o.as_str()),
                    &millis(c.started_at),
                    &millis(c.due_at),
                    &millis(c.check_at),
                    &now.millis(),
                ],
            )
            .map_err(backend)?;
        Ok(row.get(0))
    }

    fn running_sla_clocks(&mut self, lead: LeadId) -> Result<Vec<SlaClockRecord>, StoreError> {
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {SLA_CLOCK_COLUMNS} FROM sla_clocks
                     WHERE lead_id = $1 AND met_at IS NULL AND stopped_at IS NULL ORDER BY id"
                ),
                &[&lead.0],
            )
            .map_err(backend)?;
        rows.iter().map(read_clock).collect()
    }

    fn sla_clock_now(&mut self, id: i64) -> Result<Option<SlaClockRecord>, StoreError> {
        let row = self
            .tx
            .query_opt(&format!("SELECT {SLA_CLOCK_COLUMNS} FROM sla_clocks WHERE id = $1"), &[&id])
            .map_err(backend)?;
        row.as_ref().map(read_clock).transpose()
    }

    fn update_sla_clock(&mut self, c: &SlaClockRecord) -> Result<(), StoreError> {
        let millis = |t: Option<Timestamp>| t.map(Timestamp::millis);
        self.tx
            .execute(
                "UPDATE sla_clocks SET owner = $2, started_at = $3, due_at = $4, met_at = $5, met_how = $6,
                     breached_at = $7, escalations_done = $8, check_at = $9, stopped_at = $10, stopped_why = $11
                 WHERE id = $1",
                &[
                    &c.id,
                    &c.owner.as_ref().map(|o| o.as_str()),
                    &millis(c.started_at),
                    &millis(c.due_at),
                    &millis(c.met.map(|(at, _)| at)),
                    &c.met.map(|(_, how)| how.as_str()),
                    &millis(c.breached_at),
                    &escalations_text(&c.escalations_done),
                    &millis(c.check_at),
                    &millis(c.stopped.as_ref().map(|(at, _)| *at)),
                    &c.stopped.as_ref().map(|(_, why)| why.as_str()),
                ],
            )
            .map_err(backend)?;
        Ok(())
    }
}
