//! Reading rows into records. A value we cannot read back is corruption, reported, not a panic.

use leadflow_core::{Email, ExternalId, Grade, LeadId, LifecycleStage, Profile, Timestamp};
use leadflow_store::{
    Cause, HistoryEntry, LeadRecord, ModelRecord, ModelVersion, PipelineClock, ScoreValues, StoreError, StoredEvent,
    StoredScore,
};
use rusqlite::Row;

pub const SCORE_COLUMNS: &str =
    "s.model_version, s.as_of, s.fit, s.engagement, s.total, s.bucket, s.grade, s.stale, s.recorded_total";

pub const LEAD_COLUMNS: &str =
    "l.id, l.email, l.external_id, l.first_name, l.last_name, l.company, l.job_title, l.department, l.industry,
    l.employees, l.annual_revenue, l.country, l.city, l.company_type, l.source, l.owner, l.stage, l.custom,
    l.created_at, l.updated_at, l.mql_at,
    s.model_version, s.as_of, s.fit, s.engagement, s.total, s.bucket, s.grade, s.stale, s.recorded_total,
    l.pipeline, l.pipeline_stage, l.pipeline_entered_at, l.stage_entered_at, l.recycles";

/// How many columns [`LEAD_COLUMNS`] selects.
pub const LEAD_COLUMN_COUNT: usize = 35;

pub const HISTORY_COLUMNS: &str =
    "at, cause, detail, model_version, old_fit, old_engagement, old_total, old_bucket, old_grade,
    new_fit, new_engagement, new_total, new_bucket, new_grade, became_mql";

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn grade(s: &str) -> Result<Grade, StoreError> {
    Grade::parse(s).ok_or_else(|| corrupt(format!("grade `{s}`")))
}

pub fn read_lead(r: &Row<'_>) -> rusqlite::Result<Result<LeadRecord, StoreError>> {
    let email: Option<String> = r.get(1)?;
    let external_id: Option<String> = r.get(2)?;
    let stage: String = r.get(16)?;
    let custom: String = r.get(17)?;
    let score = read_score(r, 21)?;
    let mut profile = match (email.as_deref().map(Email::parse), external_id.as_deref().map(ExternalId::parse)) {
        (Some(Err(e)), _) => return Ok(Err(corrupt(e))),
        (_, Some(Err(e))) => return Ok(Err(corrupt(e))),
        (Some(Ok(email)), external_id) => {
            Profile { external_id: external_id.and_then(Result::ok), ..Profile::new(email) }
        }
        (None, Some(Ok(external_id))) => Profile::with_external_id(external_id),
        (None, None) => return Ok(Err(corrupt("a lead with neither an email nor an external id"))),
    };
    profile.first_name = r.get(3)?;
    profile.last_name = r.get(4)?;
    profile.company = r.get(5)?;
    profile.job_title = r.get(6)?;
    profile.department = r.get(7)?;
    profile.industry = r.get(8)?;
    profile.employees = r.get(9)?;
    profile.annual_revenue = r.get(10)?;
    profile.country = r.get(11)?;
    profile.city = r.get(12)?;
    profile.company_type = r.get(13)?;
    profile.source = r.get(14)?;
    profile.owner = r.get(15)?;
    profile.pipeline = r.get(30)?;
    profile.pipeline_stage = r.get(31)?;
    let millis = |at: Option<i64>| at.map(Timestamp::from_millis);
    let pipeline_clock =
        PipelineClock { entered_at: millis(r.get(32)?), stage_entered_at: millis(r.get(33)?), recycles: r.get(34)? };
    let record = (|| {
        profile.stage = LifecycleStage::parse(&stage).ok_or_else(|| corrupt(format!("stage `{stage}`")))?;
        profile.custom = serde_json::from_str(&custom).map_err(|e| corrupt(format!("custom fields: {e}")))?;
        Ok(LeadRecord {
            id: LeadId(r.get(0).map_err(corrupt)?),
            profile,
            created_at: Timestamp::from_millis(r.get(18).map_err(corrupt)?),
            updated_at: Timestamp::from_millis(r.get(19).map_err(corrupt)?),
            mql_at: r.get::<_, Option<i64>>(20).map_err(corrupt)?.map(Timestamp::from_millis),
            score: score?,
            pipeline_clock,
        })
    })();
    Ok(record)
}

/// Reads [`SCORE_COLUMNS`] starting at column `at`; `None` for a lead never scored.
pub fn read_score(r: &Row<'_>, at: usize) -> rusqlite::Result<Result<Option<StoredScore>, StoreError>> {
    let total: Option<f64> = r.get(at + 4)?;
    let Some(total) = total else {
        return Ok(Ok(None));
    };
    let g: String = r.get(at + 6)?;
    let grade = match grade(&g) {
        Ok(g) => g,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(Some(StoredScore {
        model_version: ModelVersion(r.get(at)?),
        as_of: Timestamp::from_millis(r.get(at + 1)?),
        values: ScoreValues { fit: r.get(at + 2)?, engagement: r.get(at + 3)?, total, bucket: r.get(at + 5)?, grade },
        stale: r.get(at + 7)?,
        recorded_total: r.get(at + 8)?,
    })))
}

pub fn read_event(r: &Row<'_>) -> rusqlite::Result<Result<StoredEvent, StoreError>> {
    let key: String = r.get(0)?;
    let t: String = r.get(3)?;
    let p: String = r.get(4)?;
    let lead = LeadId(r.get(1)?);
    let ts = Timestamp::from_millis(r.get(2)?);
    let received_at = Timestamp::from_millis(r.get(5)?);
    let extra: Option<String> = r.get(6)?;
    Ok((|| {
        Ok(StoredEvent {
            key: leadflow_core::EventKey::parse(&key).map_err(corrupt)?,
            lead,
            ts,
            // As it was sent: the properties set aside are the event's too.
            shape: super::decode_shape(&t, &p)?.joined(crate::properties::decode(extra.as_deref())?),
            received_at,
        })
    })())
}

pub fn read_history(r: &Row<'_>) -> rusqlite::Result<Result<HistoryEntry, StoreError>> {
    let kind: String = r.get(1)?;
    let detail: Option<String> = r.get(2)?;
    let old_total: Option<f64> = r.get(6)?;
    let old_grade: Option<String> = r.get(8)?;
    let new_grade: String = r.get(13)?;
    let at = Timestamp::from_millis(r.get(0)?);
    let model_version = ModelVersion(r.get(3)?);
    let old = (r.get::<_, Option<f64>>(4)?, r.get::<_, Option<f64>>(5)?, r.get::<_, Option<String>>(7)?);
    let new = (r.get::<_, f64>(9)?, r.get::<_, f64>(10)?, r.get::<_, f64>(11)?, r.get::<_, String>(12)?);
    let became_mql: bool = r.get(14)?;
    Ok((|| {
        let cause =
            Cause::from_parts(&kind, detail.as_deref()).ok_or_else(|| corrupt(format!("history cause `{kind}`")))?;
        let before = match (old, old_total, old_grade) {
            ((Some(fit), Some(engagement), Some(bucket)), Some(total), Some(g)) => {
                Some(ScoreValues { fit, engagement, total, bucket, grade: grade(&g)? })
            }
            _ => None,
        };
        Ok(HistoryEntry {
            at,
            cause,
            model_version,
            before,
            after: ScoreValues {
                fit: new.0,
                engagement: new.1,
                total: new.2,
                bucket: new.3,
                grade: grade(&new_grade)?,
            },
            became_mql,
        })
    })())
}

pub fn read_model(r: &Row<'_>, active: Option<ModelVersion>) -> rusqlite::Result<ModelRecord> {
    let version = ModelVersion(r.get(0)?);
    Ok(ModelRecord {
        version,
        name: r.get(1)?,
        source: r.get(2)?,
        created_at: Timestamp::from_millis(r.get(3)?),
        activated_at: r.get::<_, Option<i64>>(4)?.map(Timestamp::from_millis),
        active: active == Some(version),
    })
}
