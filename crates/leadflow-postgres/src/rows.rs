//! Reading rows into records. A value we cannot read back is corruption, reported, not a panic.

use leadflow_core::{Email, ExternalId, Grade, LeadId, LifecycleStage, Profile, Timestamp};
use leadflow_store::{
    Cause, HistoryEntry, LeadRecord, ModelRecord, ModelVersion, PipelineClock, ScoreValues, StoreError, StoredEvent,
    StoredScore,
};
use postgres::Row;

use crate::corrupt;

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

fn grade(s: &str) -> Result<Grade, StoreError> {
    Grade::parse(s).ok_or_else(|| corrupt(format!("grade `{s}`")))
}

pub fn read_lead(r: &Row) -> Result<LeadRecord, StoreError> {
    let email: Option<String> = r.get(1);
    let external_id: Option<String> = r.get(2);
    let mut profile = match (email.as_deref().map(Email::parse), external_id.as_deref().map(ExternalId::parse)) {
        (Some(Err(e)), _) => return Err(corrupt(e)),
        (_, Some(Err(e))) => return Err(corrupt(e)),
        (Some(Ok(email)), external_id) => {
            Profile { external_id: external_id.and_then(Result::ok), ..Profile::new(email) }
        }
        (None, Some(Ok(external_id))) => Profile::with_external_id(external_id),
        (None, None) => return Err(corrupt("a lead with neither an email nor an external id")),
    };
    profile.first_name = r.get(3);
    profile.last_name = r.get(4);
    profile.company = r.get(5);
    profile.job_title = r.get(6);
    profile.department = r.get(7);
    profile.industry = r.get(8);
    profile.employees = r.get(9);
    profile.annual_revenue = r.get(10);
    profile.country = r.get(11);
    profile.city = r.get(12);
    profile.company_type = r.get(13);
    profile.source = r.get(14);
    profile.owner = r.get(15);
    profile.pipeline = r.get(30);
    profile.pipeline_stage = r.get(31);
    let millis = |at: Option<i64>| at.map(Timestamp::from_millis);
    let recycles: i64 = r.get(34);
    let pipeline_clock = PipelineClock {
        entered_at: millis(r.get(32)),
        stage_entered_at: millis(r.get(33)),
        recycles: u32::try_from(recycles).map_err(|_| corrupt(format!("recycles {recycles}")))?,
    };
    let stage: String = r.get(16);
    profile.stage = LifecycleStage::parse(&stage).ok_or_else(|| corrupt(format!("stage `{stage}`")))?;
    let custom: String = r.get(17);
    profile.custom = serde_json::from_str(&custom).map_err(|e| corrupt(format!("custom fields: {e}")))?;
    Ok(LeadRecord {
        id: LeadId(r.get(0)),
        profile,
        created_at: Timestamp::from_millis(r.get(18)),
        updated_at: Timestamp::from_millis(r.get(19)),
        mql_at: r.get::<_, Option<i64>>(20).map(Timestamp::from_millis),
        score: read_score(r, 21)?,
        pipeline_clock,
    })
}

/// Reads [`SCORE_COLUMNS`] starting at column `at`; `None` for a lead never scored.
pub fn read_score(r: &Row, at: usize) -> Result<Option<StoredScore>, StoreError> {
    let Some(total) = r.get::<_, Option<f64>>(at + 4) else {
        return Ok(None);
    };
    let g: String = r.get(at + 6);
    Ok(Some(StoredScore {
        model_version: ModelVersion(r.get(at)),
        as_of: Timestamp::from_millis(r.get(at + 1)),
        values: ScoreValues {
            fit: r.get(at + 2),
            engagement: r.get(at + 3),
            total,
            bucket: r.get(at + 5),
            grade: grade(&g)?,
        },
        stale: r.get(at + 7),
        recorded_total: r.get(at + 8),
    }))
}

/// An event row: key, lead, ts, type, properties, received_at, extra.
pub fn read_event(r: &Row) -> Result<StoredEvent, StoreError> {
    let key: String = r.get(0);
    let extra: Option<String> = r.get(6);
    Ok(StoredEvent {
        key: leadflow_core::EventKey::parse(&key).map_err(corrupt)?,
        lead: LeadId(r.get(1)),
        ts: Timestamp::from_millis(r.get(2)),
        // As it was sent: the properties set aside are the event's too.
        shape: crate::decode_shape(r.get(3), r.get(4))?.joined(crate::properties::decode(extra.as_deref())?),
        received_at: Timestamp::from_millis(r.get(5)),
    })
}

pub fn read_history(r: &Row) -> Result<HistoryEntry, StoreError> {
    let kind: String = r.get(1);
    let detail: Option<String> = r.get(2);
    let cause =
        Cause::from_parts(&kind, detail.as_deref()).ok_or_else(|| corrupt(format!("history cause `{kind}`")))?;
    let old = (
        r.get::<_, Option<f64>>(4),
        r.get::<_, Option<f64>>(5),
        r.get::<_, Option<f64>>(6),
        r.get::<_, Option<String>>(7),
        r.get::<_, Option<String>>(8),
    );
    let before = match old {
        (Some(fit), Some(engagement), Some(total), Some(bucket), Some(g)) => {
            Some(ScoreValues { fit, engagement, total, bucket, grade: grade(&g)? })
        }
        _ => None,
    };
    let new_grade: String = r.get(13);
    Ok(HistoryEntry {
        at: Timestamp::from_millis(r.get(0)),
        cause,
        model_version: ModelVersion(r.get(3)),
        before,
        after: ScoreValues {
            fit: r.get(9),
            engagement: r.get(10),
            total: r.get(11),
            bucket: r.get(12),
            grade: grade(&new_grade)?,
        },
        became_mql: r.get(14),
    })
}

pub fn read_model(r: &Row, active: Option<ModelVersion>) -> ModelRecord {
    let version = ModelVersion(r.get(0));
    ModelRecord {
        version,
        name: r.get(1),
        source: r.get(2),
        created_at: Timestamp::from_millis(r.get(3)),
        activated_at: r.get::<_, Option<i64>>(4).map(Timestamp::from_millis),
        active: active == Some(version),
    }
}
