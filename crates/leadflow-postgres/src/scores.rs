//! Scores, their history and the kept scoring states.

use crate::sql::Sql;
use leadflow_core::report::{Names, ScorePoint};
use leadflow_core::{Grade, LeadId, Timestamp};
use leadflow_store::{
    ChangeOrigin, HistoryEntry, ModelVersion, ScoreReads, ScoreRevision, ScoreWrite, ScoreWrites, StateWrite,
    StoreError, StoredScore,
};

use crate::{HISTORY_COLUMNS, PgStore, PgTx, SCORE_COLUMNS, backend, outbox, read_history, read_score};

/// Score points a report's read fetches at a time.
const POINTS_PER_FETCH: i32 = 20_000;

impl ScoreReads for PgStore {
    fn score_points(&self, names: &mut Names) -> Result<Vec<(LeadId, ScorePoint)>, StoreError> {
        // Through a cursor, a chunk at a time: the whole history's rows are never held at once.
        let mut client = self.client.borrow_mut();
        let mut tx = client.build_transaction().read_only(true).start().map_err(backend)?;
        let portal = tx
            .bind("SELECT lead_id, at, new_total, new_bucket, new_grade FROM score_history ORDER BY lead_id, id", &[])
            .map_err(backend)?;
        let mut points = Vec::new();
        loop {
            let rows = tx.query_portal(&portal, POINTS_PER_FETCH).map_err(backend)?;
            if rows.is_empty() {
                return Ok(points);
            }
            for r in &rows {
                let grade: &str = r.get(4);
                let grade = Grade::parse(grade).ok_or_else(|| StoreError::Corrupt(format!("grade `{grade}`")))?;
                let point = ScorePoint {
                    at: Timestamp::from_millis(r.get(1)),
                    total: r.get(2),
                    bucket: names.intern(r.get(3)),
                    grade,
                };
                points.push((LeadId(r.get(0)), point));
            }
        }
    }

    fn history_of(&self, lead: LeadId, limit: usize) -> Result<Vec<HistoryEntry>, StoreError> {
        let rows = self
            .conn()
            .query(
                &format!("SELECT {HISTORY_COLUMNS} FROM score_history WHERE lead_id = $1 ORDER BY id DESC LIMIT $2"),
                &[&lead.0, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .map_err(backend)?;
        rows.iter().map(read_history).collect()
    }

    fn for_each_score(&self, visit: &mut dyn FnMut(LeadId, &StoredScore)) -> Result<(), StoreError> {
        let rows = self
            .conn()
            .query(
                &format!(
                    "SELECT s.lead_id, {SCORE_COLUMNS} FROM scores s WHERE s.total IS NOT NULL ORDER BY s.lead_id"
                ),
                &[],
            )
            .map_err(backend)?;
        for row in rows {
            if let Some(score) = read_score(&row, 1)? {
                visit(LeadId(row.get(0)), &score);
            }
        }
        Ok(())
    }
}

impl ScoreWrites for PgTx<'_> {
    fn score_state(&mut self, lead: LeadId, model: ModelVersion) -> Result<Option<Vec<u8>>, StoreError> {
        let row = self
            .tx
            .query_opt(
                "SELECT state FROM scores WHERE lead_id = $1 AND model_version = $2 AND NOT stale",
                &[&lead.0, &model.0],
            )
            .map_err(backend)?;
        Ok(row.and_then(|r| r.get(0)))
    }

    fn score_states(&mut self, leads: &[LeadId], model: ModelVersion) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let ids: Vec<i64> = leads.iter().map(|l| l.0).collect();
        let rows = self
            .tx
            .query(
                "SELECT lead_id, state FROM scores WHERE lead_id = ANY($1) AND model_version = $2 AND NOT stale",
                &[&ids, &model.0],
            )
            .map_err(backend)?;
        let states: rustc_hash::FxHashMap<i64, Vec<u8>> =
            rows.iter().filter_map(|r| r.get::<_, Option<Vec<u8>>>(1).map(|s| (r.get(0), s))).collect();
        Ok(ids.iter().map(|id| states.get(id).cloned()).collect())
    }

    fn write_score(&mut self, w: &ScoreWrite) -> Result<(), StoreError> {
        write_score(&mut self.tx, w, None).map(drop)
    }

    fn write_score_batch(&mut self, writes: &[ScoreWrite]) -> Result<(), StoreError> {
        // The unit of work holds these leads (`hold_for_scoring` took them): nothing is left alone.
        let writes: Vec<&ScoreWrite> = writes.iter().collect();
        writes.chunks(WRITES_PER_STATEMENT).try_for_each(|chunk| write_scores(&mut self.tx, chunk, None).map(drop))
    }

    fn mark_stale(&mut self, lead: LeadId) -> Result<(), StoreError> {
        self.tx
            .execute("UPDATE scores SET stale = TRUE, revision = revision + 1 WHERE lead_id = $1", &[&lead.0])
            .map_err(backend)?;
        Ok(())
    }

    fn clear_mql(&mut self, lead: LeadId) -> Result<(), StoreError> {
        self.tx.execute("UPDATE leads SET mql_at = NULL WHERE id = $1", &[&lead.0]).map_err(backend)?;
        Ok(())
    }
}

/// Writes `w`; with `read`, only over that revision of the lead's score (a scan's write), and
/// says whether it did.
pub(crate) fn write_score(
    conn: &mut impl Sql,
    w: &ScoreWrite,
    read: Option<ScoreRevision>,
) -> Result<bool, StoreError> {
    let v = &w.score.values;
    let recorded = w.history.as_ref().map(|h| h.after.total);
    // $11 says what to do with the state: 0 keep, 1 clear, 2 set to $12.
    let (state_action, state): (i64, Option<&[u8]>) = match &w.state {
        StateWrite::Keep => (0, None),
        StateWrite::Clear => (1, None),
        StateWrite::Set(bytes) => (2, Some(bytes)),
    };
    let changed = conn
        .execute(
            "UPDATE scores SET model_version = $2, as_of = $3, fit = $4, engagement = $5, total = $6, bucket = $7,
                    grade = $8, stale = $9, recorded_total = coalesce($10, recorded_total),
                    state = CASE $11::BIGINT WHEN 0 THEN state ELSE $12 END, revision = revision + 1
             WHERE lead_id = $1 AND ($13::BIGINT IS NULL OR revision = $13)",
            &[
                &w.lead.0,
                &w.score.model_version.0,
                &w.score.as_of.millis(),
                &v.fit,
                &v.engagement,
                &v.total,
                &v.bucket,
                &v.grade.letter(),
                &w.score.stale,
                &recorded,
                &state_action,
                &state,
                &read.map(|r| r.0),
            ],
        )
        .map_err(backend)?;
    if changed == 0 {
        // A scan's lead may have been rescored, or merged away, since: left alone either way.
        return if read.is_some() { Ok(false) } else { Err(StoreError::NoSuchLead(w.lead)) };
    }
    if let Some(h) = &w.history {
        insert_history(conn, w.lead, h)?;
    }
    notify_and_qualify(conn, w)?;
    Ok(true)
}

/// What a score write carries beside the score: its webhooks' deliveries, and the MQL time (a
/// lead at an earlier stage moves to mql with it).
fn notify_and_qualify(conn: &mut impl Sql, w: &ScoreWrite) -> Result<(), StoreError> {
    outbox::notify_all(conn, &w.notifications.iter().collect::<Vec<_>>())?;
    record_changes(conn, w)?;
    qualify_all(conn, &w.mql_at.map(|at| (w.lead.0, at.millis())).into_iter().collect::<Vec<_>>())
}

/// Score writes per statement of a batch: arrays of a few megabytes.
pub(crate) const WRITES_PER_STATEMENT: usize = 5_000;

/// [`write_score`] of each (with `reads`, each only over its revision): the scores, the history
/// rows, the deliveries and the MQL times each in one statement (arrays unnested into rows); the
/// few change log entries (stage moves) lead by lead. Returns the leads left alone.
pub(crate) fn write_scores(
    conn: &mut impl Sql,
    writes: &[&ScoreWrite],
    reads: Option<&[ScoreRevision]>,
) -> Result<Vec<LeadId>, StoreError> {
    let read = |i: usize| reads.map(|r| r[i]);
    let leads: Vec<i64> = writes.iter().map(|w| w.lead.0).collect();
    // One statement updates a row once: writes of one lead twice go one after the other.
    if leads.iter().collect::<std::collections::HashSet<_>>().len() < leads.len() {
        let mut left = Vec::new();
        for (i, w) in writes.iter().enumerate() {
            if !write_score(conn, w, read(i))? {
                left.push(w.lead);
            }
        }
        return Ok(left);
    }
    let revisions: Vec<Option<i64>> = (0..writes.len()).map(|i| read(i).map(|r| r.0)).collect();
    let versions: Vec<i64> = writes.iter().map(|w| w.score.model_version.0).collect();
    let as_of: Vec<i64> = writes.iter().map(|w| w.score.as_of.millis()).collect();
    let values = |f: fn(&ScoreWrite) -> f64| -> Vec<f64> { writes.iter().map(|w| f(w)).collect() };
    let (fit, engagement, total) =
        (values(|w| w.score.values.fit), values(|w| w.score.values.engagement), values(|w| w.score.values.total));
    let buckets: Vec<&str> = writes.iter().map(|w| w.score.values.bucket.as_str()).collect();
    let grades: Vec<&str> = writes.iter().map(|w| w.score.values.grade.letter()).collect();
    let stale: Vec<bool> = writes.iter().map(|w| w.score.stale).collect();
    let recorded: Vec<Option<f64>> = writes.iter().map(|w| w.history.as_ref().map(|h| h.after.total)).collect();
    let keep: Vec<bool> = writes.iter().map(|w| matches!(w.state, StateWrite::Keep)).collect();
    let states: Vec<Option<&[u8]>> = writes
        .iter()
        .map(|w| match &w.state {
            StateWrite::Set(bytes) => Some(bytes.as_slice()),
            StateWrite::Keep | StateWrite::Clear => None,
        })
        .collect();
    let written = conn
        .query(
            "UPDATE scores s SET model_version = v.model_version, as_of = v.as_of, fit = v.fit,
                    engagement = v.engagement, total = v.total, bucket = v.bucket, grade = v.grade,
                    stale = v.stale, recorded_total = coalesce(v.recorded_total, s.recorded_total),
                    state = CASE WHEN v.keep THEN s.state ELSE v.state END, revision = s.revision + 1
             FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::DOUBLE PRECISION[], $5::DOUBLE PRECISION[],
                         $6::DOUBLE PRECISION[], $7::TEXT[], $8::TEXT[], $9::BOOLEAN[], $10::DOUBLE PRECISION[],
                         $11::BOOLEAN[], $12::BYTEA[], $13::BIGINT[])
                  AS v (lead_id, model_version, as_of, fit, engagement, total, bucket, grade, stale,
                        recorded_total, keep, state, read)
             WHERE s.lead_id = v.lead_id AND (v.read IS NULL OR s.revision = v.read)
             RETURNING s.lead_id",
            &[
                &leads,
                &versions,
                &as_of,
                &fit,
                &engagement,
                &total,
                &buckets,
                &grades,
                &stale,
                &recorded,
                &keep,
                &states,
                &revisions,
            ],
        )
        .map_err(backend)?;
    let written: std::collections::HashSet<i64> = written.iter().map(|r| r.get(0)).collect();
    if written.len() != writes.len() && reads.is_none() {
        let found: std::collections::HashSet<i64> = conn
            .query("SELECT lead_id FROM scores WHERE lead_id = ANY($1)", &[&leads])
            .map_err(backend)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let missing = leads.iter().find(|l| !found.contains(l)).copied().unwrap_or_default();
        return Err(StoreError::NoSuchLead(LeadId(missing)));
    }
    // A scan's leads may have been rescored, or merged away, since: left alone either way.
    let left: Vec<LeadId> = writes.iter().map(|w| w.lead).filter(|l| !written.contains(&l.0)).collect();
    let kept = writes.iter().filter(|w| written.contains(&w.lead.0));
    insert_histories(conn, kept.clone().filter_map(|w| w.history.as_ref().map(|h| (w.lead, h))).collect())?;
    outbox::notify_all(conn, &kept.clone().flat_map(|w| &w.notifications).collect::<Vec<_>>())?;
    kept.clone().try_for_each(|w| record_changes(conn, w))?;
    qualify_all(conn, &kept.filter_map(|w| w.mql_at.map(|at| (w.lead.0, at.millis()))).collect::<Vec<_>>())?;
    Ok(left)
}

/// What a score changed in its lead's profile (the stage it moved to), for the change log.
fn record_changes(conn: &mut impl Sql, w: &ScoreWrite) -> Result<(), StoreError> {
    if w.changes.is_empty() {
        return Ok(());
    }
    crate::changes::record(conn, w.lead, w.score.as_of, &ChangeOrigin::mql_rule(), &w.changes)
}

/// Sets each lead's MQL time unless it has one, moving a lead at an earlier stage (subscriber,
/// lead, recycled: `LifecycleStage::moves_to_mql_on_qualifying`) to mql with it: a batch in one
/// statement.
fn qualify_all(conn: &mut impl Sql, qualified: &[(i64, i64)]) -> Result<(), StoreError> {
    if qualified.is_empty() {
        return Ok(());
    }
    let (leads, at): (Vec<i64>, Vec<i64>) = qualified.iter().copied().unzip();
    conn.execute(
        "UPDATE leads l SET mql_at = v.at,
             stage = CASE WHEN l.stage IN ('subscriber', 'lead', 'recycled') THEN 'mql' ELSE l.stage END
         FROM unnest($1::BIGINT[], $2::BIGINT[]) AS v (id, at)
         WHERE l.id = v.id AND l.mql_at IS NULL",
        &[&leads, &at],
    )
    .map_err(backend)?;
    Ok(())
}

/// History rows in one statement.
fn insert_histories(conn: &mut impl Sql, rows: Vec<(LeadId, &HistoryEntry)>) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let leads: Vec<i64> = rows.iter().map(|(l, _)| l.0).collect();
    let at: Vec<i64> = rows.iter().map(|(_, h)| h.at.millis()).collect();
    let causes: Vec<&str> = rows.iter().map(|(_, h)| h.cause.kind()).collect();
    let details: Vec<Option<String>> = rows.iter().map(|(_, h)| h.cause.detail()).collect();
    let versions: Vec<i64> = rows.iter().map(|(_, h)| h.model_version.0).collect();
    let old = |f: fn(&leadflow_store::ScoreValues) -> f64| -> Vec<Option<f64>> {
        rows.iter().map(|(_, h)| h.before.as_ref().map(f)).collect()
    };
    let (old_fit, old_engagement, old_total) = (old(|v| v.fit), old(|v| v.engagement), old(|v| v.total));
    let old_bucket: Vec<Option<&str>> =
        rows.iter().map(|(_, h)| h.before.as_ref().map(|b| b.bucket.as_str())).collect();
    let old_grade: Vec<Option<&str>> = rows.iter().map(|(_, h)| h.before.as_ref().map(|b| b.grade.letter())).collect();
    let new =
        |f: fn(&leadflow_store::ScoreValues) -> f64| -> Vec<f64> { rows.iter().map(|(_, h)| f(&h.after)).collect() };
    let (new_fit, new_engagement, new_total) = (new(|v| v.fit), new(|v| v.engagement), new(|v| v.total));
    let new_bucket: Vec<&str> = rows.iter().map(|(_, h)| h.after.bucket.as_str()).collect();
    let new_grade: Vec<&str> = rows.iter().map(|(_, h)| h.after.grade.letter()).collect();
    let became: Vec<bool> = rows.iter().map(|(_, h)| h.became_mql).collect();
    conn.execute(
        "INSERT INTO score_history (lead_id, at, cause, detail, model_version, old_fit, old_engagement, old_total,
             old_bucket, old_grade, new_fit, new_engagement, new_total, new_bucket, new_grade, became_mql)
         SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[],
             $6::DOUBLE PRECISION[], $7::DOUBLE PRECISION[], $8::DOUBLE PRECISION[], $9::TEXT[], $10::TEXT[],
             $11::DOUBLE PRECISION[], $12::DOUBLE PRECISION[], $13::DOUBLE PRECISION[], $14::TEXT[], $15::TEXT[],
             $16::BOOLEAN[])",
        &[
            &leads,
            &at,
            &causes,
            &details,
            &versions,
            &old_fit,
            &old_engagement,
            &old_total,
            &old_bucket,
            &old_grade,
            &new_fit,
            &new_engagement,
            &new_total,
            &new_bucket,
            &new_grade,
            &became,
        ],
    )
    .map_err(backend)?;
    Ok(())
}

fn insert_history(conn: &mut impl Sql, lead: LeadId, h: &HistoryEntry) -> Result<(), StoreError> {
    let before = h.before.as_ref();
    conn.execute(
        "INSERT INTO score_history (lead_id, at, cause, detail, model_version, old_fit, old_engagement, old_total,
             old_bucket, old_grade, new_fit, new_engagement, new_total, new_bucket, new_grade, became_mql)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        &[
            &lead.0,
            &h.at.millis(),
            &h.cause.kind(),
            &h.cause.detail(),
            &h.model_version.0,
            &before.map(|b| b.fit),
            &before.map(|b| b.engagement),
            &before.map(|b| b.total),
            &before.map(|b| b.bucket.as_str()),
            &before.map(|b| b.grade.letter()),
            &h.after.fit,
            &h.after.engagement,
            &h.after.total,
            &h.after.bucket,
            &h.after.grade.letter(),
            &h.became_mql,
        ],
    )
    .map_err(backend)?;
    Ok(())
}
