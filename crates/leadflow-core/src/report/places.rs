//! A lead's place history as reports read it: where it was (its pipeline and stage) from its
//! creation on, rebuilt from the changes of those two fields in its change log, and cut into
//! visits of one pipeline's stages.
//!
//! The place a lead was created in is each field's first logged old value (or its value now, if
//! it never changed): the log is complete, so what its first change replaced is what it had from
//! the start. A move logs the pipeline before the stage, at one instant; the two are one step, so
//! a lead switching pipelines is never seen in the new pipeline at the old one's stage.

use crate::Timestamp;
use crate::lead::LeadId;

use super::names::Name;

/// Which of the two place fields a change is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaceField {
    Pipeline,
    Stage,
}

/// One logged change of a lead's pipeline or stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaceChange {
    pub at: Timestamp,
    pub field: PlaceField,
    pub old: Option<Name>,
    pub new: Option<Name>,
    /// The reason its unit of work gave (a lost stage's reason).
    pub reason: Option<Name>,
}

/// What a report reads of one lead.
#[derive(Clone, Copy, Debug)]
pub struct LeadPlaces<'a> {
    pub lead: LeadId,
    pub created_at: Timestamp,
    pub owner: Option<Name>,
    pub source: Option<Name>,
    /// Its pipeline and stage now.
    pub pipeline: Option<Name>,
    pub stage: Option<Name>,
    /// Its changes of either, oldest first (by time, then in the order they were logged).
    pub changes: &'a [PlaceChange],
}

/// One stay of a lead in one stage of the pipeline a report is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Visit {
    pub stage: Name,
    pub entered: Timestamp,
    /// When it left; `None`: it was still there at the report's as-of instant.
    pub left: Option<Timestamp>,
    /// The reason of the move that brought it here.
    pub reason: Option<Name>,
}

/// The lead's visits to the stages of `pipeline` up to `as_of`, oldest first, into `out`
/// (cleared first). Changes after `as_of` are not seen; a change before the lead's creation (a
/// creation date an import gave later than its history) counts from the creation.
pub fn visits(lead: &LeadPlaces<'_>, pipeline: Name, as_of: Timestamp, out: &mut Vec<Visit>) {
    out.clear();
    if lead.created_at > as_of {
        return;
    }
    let first_old =
        |field: PlaceField, now: Option<Name>| lead.changes.iter().find(|c| c.field == field).map_or(now, |c| c.old);
    let mut at_pipeline = first_old(PlaceField::Pipeline, lead.pipeline);
    let mut at_stage = first_old(PlaceField::Stage, lead.stage);
    let enter = |out: &mut Vec<Visit>, p: Option<Name>, s: Option<Name>, at: Timestamp, reason| {
        if let Some(open) = out.last_mut().filter(|v| v.left.is_none()) {
            open.left = Some(at);
        }
        if let (Some(p), Some(stage)) = (p, s)
            && p == pipeline
        {
            out.push(Visit { stage, entered: at, left: None, reason });
        }
    };
    enter(out, at_pipeline, at_stage, lead.created_at, None);
    let mut changes = lead.changes.iter().peekable();
    while let Some(change) = changes.next() {
        if change.at > as_of {
            break;
        }
        match change.field {
            PlaceField::Pipeline => at_pipeline = change.new,
            PlaceField::Stage => at_stage = change.new,
        }
        // The pipeline and the stage a move sets at one instant are one step.
        let same_step = change.field == PlaceField::Pipeline
            && changes.peek().is_some_and(|next| next.field == PlaceField::Stage && next.at == change.at);
        if same_step {
            continue;
        }
        enter(out, at_pipeline, at_stage, change.at.max(lead.created_at), change.reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Names;

    struct Fixture {
        names: Names,
    }

    impl Fixture {
        fn n(&mut self, s: &str) -> Name {
            self.names.intern(s)
        }
        fn change(&mut self, at: i64, field: PlaceField, old: Option<&str>, new: Option<&str>) -> PlaceChange {
            let old = old.map(|s| self.n(s));
            let new = new.map(|s| self.n(s));
            PlaceChange { at: Timestamp::from_millis(at), field, old, new, reason: None }
        }
        fn lead<'a>(
            &mut self,
            created: i64,
            now: (Option<&str>, Option<&str>),
            changes: &'a [PlaceChange],
        ) -> LeadPlaces<'a> {
            LeadPlaces {
                lead: LeadId(1),
                created_at: Timestamp::from_millis(created),
                owner: None,
                source: None,
                pipeline: now.0.map(|s| self.n(s)),
                stage: now.1.map(|s| self.n(s)),
                changes,
            }
        }
        fn stays(&self, visits: &[Visit]) -> Vec<(String, i64, Option<i64>)> {
            visits
                .iter()
                .map(|v| (self.names.resolve(v.stage).to_string(), v.entered.millis(), v.left.map(Timestamp::millis)))
                .collect()
        }
    }

    fn stays(list: &[(&str, i64, Option<i64>)]) -> Vec<(String, i64, Option<i64>)> {
        list.iter().map(|(s, a, b)| (s.to_string(), *a, *b)).collect()
    }

    use PlaceField::{Pipeline as P, Stage as S};

    #[test]
    fn a_lead_created_in_the_pipeline_starts_its_first_visit_at_creation() {
        let mut f = Fixture { names: Names::default() };
        let changes = [f.change(10, S, Some("new"), Some("mql")), f.change(20, S, Some("mql"), Some("won"))];
        let lead = f.lead(5, (Some("sales"), Some("won")), &changes);
        let mut out = Vec::new();
        let sales = f.n("sales");
        visits(&lead, sales, Timestamp::from_millis(100), &mut out);
        assert_eq!(f.stays(&out), stays(&[("new", 5, Some(10)), ("mql", 10, Some(20)), ("won", 20, None)]));
        // As of before the last move: it is still in mql, and what came after is not seen.
        visits(&lead, sales, Timestamp::from_millis(15), &mut out);
        assert_eq!(f.stays(&out), stays(&[("new", 5, Some(10)), ("mql", 10, None)]));
        // As of before its creation: nothing.
        visits(&lead, sales, Timestamp::from_millis(4), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn a_lead_that_enters_later_and_switches_pipelines_visits_only_its_stretch_in_each() {
        let mut f = Fixture { names: Names::default() };
        let changes = [
            f.change(10, P, None, Some("sales")),
            f.change(10, S, None, Some("new")),
            f.change(20, P, Some("sales"), Some("partner")),
            f.change(20, S, Some("new"), Some("registered")),
            f.change(30, P, Some("partner"), Some("sales")),
            f.change(30, S, Some("registered"), Some("new")),
        ];
        let lead = f.lead(0, (Some("sales"), Some("new")), &changes);
        let mut out = Vec::new();
        let (sales, partner) = (f.n("sales"), f.n("partner"));
        visits(&lead, sales, Timestamp::from_millis(100), &mut out);
        assert_eq!(f.stays(&out), stays(&[("new", 10, Some(20)), ("new", 30, None)]));
        visits(&lead, partner, Timestamp::from_millis(100), &mut out);
        assert_eq!(f.stays(&out), stays(&[("registered", 20, Some(30))]));
    }

    #[test]
    fn a_change_logged_before_creation_counts_from_creation() {
        let mut f = Fixture { names: Names::default() };
        let changes = [f.change(3, S, Some("new"), Some("mql"))];
        let lead = f.lead(5, (Some("sales"), Some("mql")), &changes);
        let mut out = Vec::new();
        let sales = f.n("sales");
        visits(&lead, sales, Timestamp::from_millis(100), &mut out);
        assert_eq!(f.stays(&out), stays(&[("new", 5, Some(5)), ("mql", 5, None)]));
    }

    #[test]
    fn leaving_the_pipeline_ends_the_visit() {
        let mut f = Fixture { names: Names::default() };
        let changes = [f.change(10, P, Some("sales"), None), f.change(10, S, Some("working"), None)];
        let lead = f.lead(0, (None, None), &changes);
        let mut out = Vec::new();
        let sales = f.n("sales");
        visits(&lead, sales, Timestamp::from_millis(100), &mut out);
        assert_eq!(f.stays(&out), stays(&[("working", 0, Some(10))]));
    }
}
