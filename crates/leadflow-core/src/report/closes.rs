//! How leads ended in a pipeline, as an [`Outcome`]: won at its first entry into a won stage,
//! else lost at its first entry into a lost or disqualified one; a lead that never closed has
//! none. What the touchpoints report judges by when the outcomes are the pipeline's rather than
//! those recorded for the lab.

use crate::Timestamp;
use crate::outcome::{Outcome, OutcomeKind};
use crate::pipeline::{Pipeline, StageKind};

use super::names::{Name, Names};
use super::places::{LeadPlaces, Visit, visits};

/// Finds each lead's outcome in one pipeline as of an instant.
#[derive(Debug)]
pub struct PipelineCloses {
    pipeline: Name,
    as_of: Timestamp,
    /// By [`Name::index`] of a stage id: what closing there means.
    closing: Vec<Option<OutcomeKind>>,
    visits: Vec<Visit>,
}

impl PipelineCloses {
    /// Names interned in `names`, which the leads must be read with.
    pub fn new(pipeline: &Pipeline, as_of: Timestamp, names: &mut Names) -> PipelineCloses {
        let mut closing = Vec::new();
        for stage in pipeline.stages() {
            let name = names.intern(stage.id());
            if closing.len() <= name.index() {
                closing.resize(name.index() + 1, None);
            }
            closing[name.index()] = match stage.kind() {
                StageKind::Won => Some(OutcomeKind::Won),
                StageKind::Lost | StageKind::Disqualified => Some(OutcomeKind::Lost),
                StageKind::Open | StageKind::Recycled => None,
            };
        }
        PipelineCloses { pipeline: names.intern(pipeline.name()), as_of, closing, visits: Vec::new() }
    }

    pub fn outcome(&mut self, lead: &LeadPlaces<'_>) -> Option<Outcome> {
        visits(lead, self.pipeline, self.as_of, &mut self.visits);
        let first = |kind: OutcomeKind| {
            self.visits
                .iter()
                .find(|v| self.closing.get(v.stage.index()).copied().flatten() == Some(kind))
                .map(|v| Outcome { kind, at: v.entered })
        };
        first(OutcomeKind::Won).or_else(|| first(OutcomeKind::Lost))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::LeadId;
    use crate::report::{PlaceChange, PlaceField};

    const SALES: &str = include_str!("../../../../bench/pipeline/sales.toml");

    fn day(d: i64) -> Timestamp {
        Timestamp::from_millis(d * 86_400_000)
    }

    fn lead(changes: &[PlaceChange], pipeline: Option<Name>, stage: Option<Name>) -> LeadPlaces<'_> {
        LeadPlaces { lead: LeadId(1), created_at: day(0), owner: None, source: None, pipeline, stage, changes }
    }

    /// Lost, reopened and won: won, at the win; lost only: lost, at the loss; open: none; won
    /// after the as-of: not yet.
    #[test]
    fn a_win_at_any_time_beats_a_loss_and_nothing_after_the_as_of_counts() {
        let pipeline = Pipeline::parse(SALES).unwrap();
        let mut names = Names::default();
        let mut closes = PipelineCloses::new(&pipeline, day(100), &mut names);
        let mut n = |s: &str| Some(names.intern(s));
        let (sales, new, mql, lost, won) = (n("sales"), n("new"), n("mql"), n("lost"), n("won"));
        let stage = |at, old, new| PlaceChange { at: day(at), field: PlaceField::Stage, old, new, reason: None };
        let reopened = [stage(5, new, lost), stage(9, lost, mql), stage(20, mql, won)];
        assert_eq!(closes.outcome(&lead(&reopened, sales, won)), Some(Outcome { kind: OutcomeKind::Won, at: day(20) }));
        let lost_only = [stage(5, new, lost)];
        assert_eq!(
            closes.outcome(&lead(&lost_only, sales, lost)),
            Some(Outcome { kind: OutcomeKind::Lost, at: day(5) })
        );
        assert_eq!(closes.outcome(&lead(&[], sales, new)), None);
        let late = [stage(150, new, won)];
        assert_eq!(closes.outcome(&lead(&late, sales, won)), None);
    }
}
