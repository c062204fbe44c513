//! What goes into a lead's score history.
//!
//! Every change with a cause someone did something for (an event, a profile change, a model
//! change, an import) is recorded. Time passing moves every score a little every day, so decay
//! is recorded once it has moved the total by a point since the last entry, or changed the
//! bucket or grade: the history stays readable and still accounts for every point.

use leadflow_core::Timestamp;
use leadflow_store::{Cause, HistoryEntry, ModelVersion, ScoreValues, StoredScore};

/// How far decay must move a total, since the last recorded entry, to be recorded.
pub const DECAY_RECORD_POINTS: f64 = 1.0;

/// Below this, two numbers are the same score.
const SAME: f64 = 1e-9;

pub fn entry(
    cause: Cause,
    version: ModelVersion,
    before: Option<&StoredScore>,
    after: &ScoreValues,
    became_mql: bool,
    at: Timestamp,
) -> Option<HistoryEntry> {
    let record = match before {
        None => true,
        Some(b) => {
            let class_changed = b.values.bucket != after.bucket || b.values.grade != after.grade || became_mql;
            let moved = match cause {
                Cause::Decay => (after.total - b.recorded_total.unwrap_or(b.values.total)).abs() >= DECAY_RECORD_POINTS,
                _ => {
                    (after.total - b.values.total).abs() > SAME
                        || (after.fit - b.values.fit).abs() > SAME
                        || (after.engagement - b.values.engagement).abs() > SAME
                }
            };
            class_changed || moved
        }
    };
    record.then(|| HistoryEntry {
        at,
        cause,
        model_version: version,
        before: before.map(|b| b.values.clone()),
        after: after.clone(),
        became_mql,
    })
}

#[cfg(test)]
mod tests {
    use leadflow_core::Grade;

    use super::*;

    fn values(total: f64, bucket: &str) -> ScoreValues {
        ScoreValues { fit: 10.0, engagement: total - 10.0, total, bucket: bucket.into(), grade: Grade::C }
    }

    fn stored(total: f64, recorded: f64) -> StoredScore {
        StoredScore {
            model_version: ModelVersion(1),
            as_of: Timestamp::from_secs(0),
            values: values(total, "warm"),
            stale: false,
            recorded_total: Some(recorded),
        }
    }

    #[test]
    fn policy() {
        let v = ModelVersion(1);
        let at = Timestamp::from_secs(1);
        assert!(entry(Cause::Import, v, None, &values(40.0, "warm"), false, at).is_some(), "first score");
        let b = stored(40.0, 40.0);
        assert!(entry(Cause::Profile, v, Some(&b), &values(40.0, "warm"), false, at).is_none(), "nothing changed");
        assert!(entry(Cause::Profile, v, Some(&b), &values(40.5, "warm"), false, at).is_some());
        assert!(entry(Cause::Decay, v, Some(&b), &values(39.5, "warm"), false, at).is_none(), "small decay");
        // Small decays add up against the last recorded total.
        assert!(entry(Cause::Decay, v, Some(&stored(39.2, 40.0)), &values(38.9, "warm"), false, at).is_some());
        assert!(entry(Cause::Decay, v, Some(&b), &values(39.9, "cold"), false, at).is_some(), "bucket change");
        assert!(entry(Cause::Decay, v, Some(&b), &values(39.9, "warm"), true, at).is_some(), "became MQL");
    }
}
