//! A lead's stage history: the stretches of its life in each lifecycle stage, read from its
//! change log. The first stretch starts when the lead was created, each logged change of the
//! stage starts the next, and the last lasts until now; so the time in stages adds up to the
//! lead's age.

use std::collections::BTreeMap;

use crate::Timestamp;
use crate::change::FieldChange;
use crate::lead::{CustomValue, Field, FieldRef, LifecycleStage};

/// A stretch of a lead's life in one stage: from `from` until `until` (`None`: it is still there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageSpan {
    pub stage: LifecycleStage,
    pub from: Timestamp,
    pub until: Option<Timestamp>,
}

impl StageSpan {
    /// Milliseconds spent in the stage, counting an open stretch until `now`.
    pub fn duration_ms(&self, now: Timestamp) -> i64 {
        (self.until.unwrap_or(now).millis() - self.from.millis()).max(0)
    }
}

/// The stretches, oldest first, of a lead created at `created_at` that is now at `current`,
/// from its logged changes (oldest first, with their times). The stage it was created in is the
/// first stage change's old value (or `current`, if it never moved). A change logged before the
/// lead's creation time (a creation date an import gave from the past, later than a change) counts
/// from the creation: no stretch is negative.
pub fn stage_history(
    created_at: Timestamp,
    current: LifecycleStage,
    changes: &[(Timestamp, FieldChange)],
) -> Vec<StageSpan> {
    let moves: Vec<(Timestamp, Option<LifecycleStage>, Option<LifecycleStage>)> = changes
        .iter()
        .filter(|(_, c)| c.field == FieldRef::Standard(Field::Stage))
        .map(|(at, c)| ((*at).max(created_at), stage_of(&c.old), stage_of(&c.new)))
        .collect();
    let first = moves.first().and_then(|(_, old, _)| *old).unwrap_or(current);
    let mut spans = vec![StageSpan { stage: first, from: created_at, until: None }];
    for (at, _, new) in moves {
        let last = spans.last_mut().expect("a lead is always in some stage");
        let at = at.max(last.from);
        last.until = Some(at);
        spans.push(StageSpan { stage: new.unwrap_or(current), from: at, until: None });
    }
    spans
}

/// Milliseconds spent in each stage until `now`, over every stretch in it.
pub fn time_in_stages(spans: &[StageSpan], now: Timestamp) -> BTreeMap<LifecycleStage, i64> {
    let mut total = BTreeMap::new();
    for span in spans {
        *total.entry(span.stage).or_insert(0) += span.duration_ms(now);
    }
    total
}

fn stage_of(value: &Option<CustomValue>) -> Option<LifecycleStage> {
    match value {
        Some(CustomValue::Text(s)) => LifecycleStage::parse(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn moved(old: LifecycleStage, new: LifecycleStage) -> FieldChange {
        let text = |s: LifecycleStage| Some(CustomValue::Text(s.name().to_string()));
        FieldChange { field: FieldRef::Standard(Field::Stage), old: text(old), new: text(new) }
    }

    proptest! {
        /// Whatever the moves and their times, the stretches follow one another without gaps
        /// and the time in stages adds up to the lead's age.
        #[test]
        fn the_time_in_stages_adds_up_to_the_age(
            created in 0i64..1_000_000,
            steps in prop::collection::vec((-500_000i64..1_000_000, prop::sample::select(LifecycleStage::ALL.to_vec())), 0..8),
            after in 0i64..1_000_000,
        ) {
            let created_at = Timestamp::from_millis(created);
            let mut stage = LifecycleStage::Lead;
            let mut at = created;
            let mut changes = Vec::new();
            for (delta, next) in steps {
                at += delta.max(0) / 2;
                // Some moves are logged before the creation time (an import's past date).
                let logged = if delta < 0 { created + delta } else { at };
                changes.push((Timestamp::from_millis(logged), moved(stage, next)));
                stage = next;
            }
            let now = Timestamp::from_millis(at.max(created) + after);
            let spans = stage_history(created_at, stage, &changes);
            prop_assert_eq!(spans.first().unwrap().from, created_at);
            prop_assert_eq!(spans.last().unwrap().stage, stage);
            prop_assert_eq!(spans.last().unwrap().until, None);
            for pair in spans.windows(2) {
                prop_assert_eq!(pair[0].until, Some(pair[1].from), "no gap, no overlap");
            }
            let total: i64 = time_in_stages(&spans, now).values().sum();
            prop_assert_eq!(total, now.millis() - created);
        }
    }

    #[test]
    fn a_lead_that_never_moved_spent_its_life_in_one_stage() {
        let created = Timestamp::parse("2026-06-01").unwrap();
        let spans = stage_history(created, LifecycleStage::Lead, &[]);
        assert_eq!(spans, [StageSpan { stage: LifecycleStage::Lead, from: created, until: None }]);
    }

    #[test]
    fn each_move_starts_the_next_stretch() {
        let t = |s: &str| Timestamp::parse(s).unwrap();
        let changes = [
            (t("2026-06-03"), moved(LifecycleStage::Lead, LifecycleStage::Mql)),
            (t("2026-06-10"), moved(LifecycleStage::Mql, LifecycleStage::Recycled)),
            (t("2026-06-12"), moved(LifecycleStage::Recycled, LifecycleStage::Mql)),
        ];
        let spans = stage_history(t("2026-06-01"), LifecycleStage::Mql, &changes);
        let stages: Vec<LifecycleStage> = spans.iter().map(|s| s.stage).collect();
        use LifecycleStage::*;
        assert_eq!(stages, [Lead, Mql, Recycled, Mql]);
        let days = time_in_stages(&spans, t("2026-06-15"));
        let day = 86_400_000;
        assert_eq!((days[&Lead], days[&Mql], days[&Recycled]), (2 * day, 7 * day + 3 * day, 2 * day));
    }
}
