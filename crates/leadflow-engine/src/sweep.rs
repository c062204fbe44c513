//! The pipeline sweep, a job on the queue: what no single request moves.
//!
//! - Marketing-qualified leads waiting for a pipeline enter the one routing picks: those a
//!   scheduled rescore qualified (decay and inactivity move scores without any request), an
//!   import's, and those whose request-time routing failed. Requests route the leads they
//!   qualify at once; the sweep makes sure none is left behind.
//! - Leads still open when their pipeline's cycle ends (`max_cycle_days` after they entered it)
//!   move to the stage `on_cycle_end` names: back to nurture (recycled, their MQL mark cleared
//!   so that it can fire again) or disqualified.
//! - SLA clocks past due are recorded as breached, and their escalation steps run as their
//!   times come ([`Engine::sweep_slas`]).
//! - Tasks reaching their due time, or still to do when their owner's day ends, are told of
//!   (`task.due`, `task.overdue`: [`Engine::remind_tasks`]).
//!
//! Each lead moves in a unit of work of its own that holds it and checks again what it found:
//! a lead a rep moved in between stays where the rep put it. Leads are visited by id, so a lead
//! the sweep cannot move (an entry stage whose required fields it lacks) never hides others.

use leadflow_core::{LeadId, LeadRef, Timestamp};
use leadflow_store::ChangeOrigin;
use leadflow_store::prelude::*;

use crate::stage_moves::{Moved, hold, move_in, qualify_in};
use crate::{Engine, EngineError};

/// How many leads the sweep reads at a time.
const PAGE: usize = 500;

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepReport {
    /// MQLs that entered a pipeline.
    pub routed: usize,
    /// Leads whose cycle ended, moved to the stage their pipeline's `on_cycle_end` names.
    pub cycles_ended: usize,
    pub moves: Vec<Moved>,
    /// SLA clocks found breached, and the escalation steps run.
    pub sla: crate::SlaSweep,
    /// `task.due` and `task.overdue` reminders marked sent (and told to the webhooks listening).
    pub reminders: crate::Reminders,
}

impl<S: Store> Engine<S> {
    /// Routes the MQLs waiting for a pipeline, ends the cycles past their length, checks the SLA
    /// clocks due to be looked at and sends task reminders, as of the clock.
    pub fn sweep_pipelines(&mut self) -> Result<SweepReport, EngineError> {
        let mut report = self.sweep_stages()?;
        report.sla = self.sweep_slas()?;
        report.reminders = self.remind_tasks()?;
        Ok(report)
    }

    fn sweep_stages(&mut self) -> Result<SweepReport, EngineError> {
        let tracking = self.tracking()?;
        let pipelines = &tracking.pipelines;
        let mut report = SweepReport::default();
        if pipelines.all().is_empty() {
            return Ok(report);
        }
        let held = self.held_version()?;
        let waiting: Vec<(String, String)> = pipelines
            .all()
            .iter()
            .flat_map(|p| {
                p.stages()
                    .iter()
                    .filter(|s| s.kind() == leadflow_core::StageKind::Recycled)
                    .map(|s| (p.name().to_string(), s.id().to_string()))
            })
            .collect();
        let mut after = LeadId(0);
        loop {
            let page = self.store.mqls_to_route(&waiting, after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = *last;
            for lead in page {
                let now = self.now();
                let mut tx = self.store.begin()?;
                let record = hold(&mut tx, &LeadRef::Id(lead), held)?;
                if let (_, Some(moved)) = qualify_in(&mut tx, &tracking, record, now)? {
                    tx.commit()?;
                    report.routed += 1;
                    report.moves.push(moved);
                }
            }
        }
        for pipeline in pipelines.all() {
            let (Some(cycle), Some(end)) = (pipeline.cycle(), pipeline.cycle_end_stage()) else {
                continue;
            };
            let open: Vec<String> =
                pipeline.stages().iter().filter(|s| s.kind().is_active()).map(|s| s.id().to_string()).collect();
            let reason = format!("its cycle ended after {} days", cycle.max_days);
            let mut after = LeadId(0);
            loop {
                let now = self.now();
                let entered_before = now.minus_days(cycle.max_days);
                let page = self.store.cycles_ended(pipeline.name(), &open, entered_before, after, PAGE)?;
                let Some(last) = page.last() else { break };
                after = *last;
                for lead in page {
                    let now = self.now();
                    let mut tx = self.store.begin()?;
                    let record = hold(&mut tx, &LeadRef::Id(lead), held)?;
                    if !cycle_is_over(pipeline, &record, now) {
                        continue;
                    }
                    // The cycle's end is the pipeline's own rule: it moves the lead whatever `to`
                    // lists, as the file declared.
                    let origin = ChangeOrigin::pipeline_rule(pipeline.name()).because(Some(reason.clone()));
                    let moved = move_in(&mut tx, &tracking, &record, pipeline, end, &origin, now)?;
                    tx.commit()?;
                    report.cycles_ended += 1;
                    report.moves.push(moved);
                }
            }
        }
        Ok(report)
    }
}

/// Whether the lead, as held now, is still open in `pipeline` past the end of its cycle.
fn cycle_is_over(pipeline: &leadflow_core::Pipeline, record: &leadflow_store::LeadRecord, now: Timestamp) -> bool {
    let in_open_stage = record.profile.pipeline.as_deref() == Some(pipeline.name())
        && record
            .profile
            .pipeline_stage
            .as_deref()
            .and_then(|s| pipeline.stage(s))
            .is_some_and(|s| s.kind().is_active());
    let ends = record.pipeline_clock.entered_at.and_then(|at| pipeline.cycle_ends_at(at));
    in_open_stage && ends.is_some_and(|end| now > end)
}
