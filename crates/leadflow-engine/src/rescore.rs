//! Rescoring many leads: after a model change, after an import, or on a schedule as time passes.
//!
//! A lead with a usable kept state (same model, nothing new since) is scored from the state
//! alone: that is what keeps a scheduled rescore cheap. Others are scored from their events.
//! Each batch is scored in parallel and written in one transaction.

use rayon::prelude::*;

use leadflow_core::scoring;
use rustc_hash::FxHashSet;

use leadflow_core::{Activity, EventMatch, LeadFacts, LeadId, Model, ScoreState, Timestamp};
use leadflow_store::{
    Cause, ModelVersion, RescoreItem, ScanRequest, ScanScope, ScanWrite, ScoreRevision, ScoreWrite, StateWrite, Store,
    StoreError,
};

use crate::{Engine, EngineError, Progress, Subject, score_write};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RescoreOptions {
    pub as_of: Timestamp,
    /// Every lead, not only those needing it (changed since their last score, or scored by
    /// another model).
    pub all: bool,
    /// Recompute from every lead's events, ignoring kept states.
    pub from_events: bool,
    /// Leads per batch (and per write transaction).
    pub batch: usize,
    /// Score and report, but write nothing.
    pub dry_run: bool,
    /// Score each batch as of the clock when it is read, `as_of` at the earliest: what "rescore
    /// now" means while events keep coming. A fixed instant would score events that arrive
    /// during a long rescore out of the leads read after them, undoing what ingest just scored.
    pub as_of_now: bool,
}

impl RescoreOptions {
    /// What needs it: leads changed since their last score, or scored by another model.
    pub fn needed(as_of: Timestamp) -> RescoreOptions {
        RescoreOptions { as_of, all: false, from_events: false, batch: 50_000, dry_run: false, as_of_now: false }
    }

    /// What needs it, each batch as of the clock when it is read.
    pub fn needed_now(now: Timestamp) -> RescoreOptions {
        RescoreOptions { as_of_now: true, ..RescoreOptions::needed(now) }
    }

    /// Every lead.
    pub fn all(as_of: Timestamp) -> RescoreOptions {
        RescoreOptions { all: true, ..RescoreOptions::needed(as_of) }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RescoreReport {
    /// Leads scored (and written, unless a dry run).
    pub leads: u64,
    /// Leads whose change made a history entry.
    pub changed: u64,
    pub became_mql: u64,
    pub from_state: u64,
    pub from_events: u64,
    /// Leads not written because an event or an import changed them while they were being
    /// scored: they keep that newer score (stale ones are picked up by the next rescore).
    pub changed_meanwhile: u64,
    /// Leads per bucket after the rescore, in the model's bucket order.
    pub buckets: Vec<(String, u64)>,
    /// The active trained model's version and how many leads it predicted again: a rescore
    /// refreshes the predictions too (none when no trained model is active, or in a dry run).
    pub predicted: Option<(i64, u64)>,
}

#[allow(
    clippy::large_enum_variant,
    reason = "short-lived, one per lead of a batch; boxing would add an allocation per lead"
)]
enum Outcome {
    Done {
        write: ScoreWrite,
        /// The revision of the score the result was computed from.
        read: ScoreRevision,
        became_mql: bool,
        from_state: bool,
    },
    /// The kept state cannot answer for this instant (it has events after it): score from events.
    NeedsEvents(RescoreItem),
    /// An event's shape is newer than our table of shapes (stored since the rescore began).
    UnknownShape(RescoreItem),
}

impl<S: Store> Engine<S> {
    pub fn rescore(&mut self, options: RescoreOptions, progress: &dyn Progress) -> Result<RescoreReport, EngineError> {
        let (version, model) = self.active_model()?;
        let mut matches = shape_matches(&model, &self.store.shapes()?);
        let scope = if options.all { ScanScope::All } else { ScanScope::NeedingRescore(version) };
        let request = ScanRequest { scope, states_of: (!options.from_events).then_some(version), batch: options.batch };
        progress.start(self.store.count_for_rescore(scope)?);
        let mut report = RescoreReport {
            buckets: model.buckets.iter().map(|b| (b.name.clone(), 0)).collect(),
            ..RescoreReport::default()
        };
        let clock = self.clock.clone();
        self.store.scan_for_rescore(request, &mut |store, items| {
            let as_of = if options.as_of_now { clock.now().max(options.as_of) } else { options.as_of };
            let n = items.len() as u64;
            let score_all = |items: Vec<RescoreItem>, matches: &[Option<EventMatch>]| -> Vec<Outcome> {
                items.into_par_iter().map(|item| rescore_item(&model, version, matches, item, as_of)).collect()
            };
            let outcomes = score_all(items, &matches);
            // Second chances, in bulk: events for leads whose state could not answer, and a
            // fresh shape table if a shape appeared since the rescore began.
            let (mut done, mut retry, mut unknown_shape) = (Vec::with_capacity(outcomes.len()), Vec::new(), false);
            for outcome in outcomes {
                match outcome {
                    Outcome::Done { .. } => done.push(outcome),
                    Outcome::NeedsEvents(mut item) => {
                        item.state = None;
                        retry.push(item);
                    }
                    Outcome::UnknownShape(item) => {
                        unknown_shape = true;
                        retry.push(item);
                    }
                }
            }
            if !retry.is_empty() {
                if unknown_shape {
                    matches = shape_matches(&model, &store.shapes()?);
                }
                store.load_activity(&mut retry)?;
                done.extend(score_all(retry, &matches));
            }
            let mut writes = Vec::with_capacity(done.len());
            let mut tallies = Vec::with_capacity(done.len());
            for outcome in done {
                let Outcome::Done { write, read, became_mql, from_state } = outcome else {
                    return Err(StoreError::Corrupt("an event refers to an event shape that does not exist".into()));
                };
                tallies.push((became_mql, from_state));
                writes.push(ScanWrite { write, read });
            }
            // Leads an event or an import changed while this batch was scored keep that newer
            // score: it saw more than the scan did.
            let left: FxHashSet<LeadId> =
                if options.dry_run { FxHashSet::default() } else { store.write_scores(&writes)?.into_iter().collect() };
            report.changed_meanwhile += left.len() as u64;
            for (ScanWrite { write, .. }, (became_mql, from_state)) in writes.iter().zip(tallies) {
                if left.contains(&write.lead) {
                    continue;
                }
                report.leads += 1;
                if let Some(b) = report.buckets.iter_mut().find(|(name, _)| *name == write.score.values.bucket) {
                    b.1 += 1;
                }
                report.changed += u64::from(write.history.is_some());
                report.became_mql += u64::from(became_mql);
                if from_state {
                    report.from_state += 1;
                } else {
                    report.from_events += 1;
                }
            }
            progress.advance(n);
            Ok(())
        })?;
        if !options.dry_run
            && let Some((learned, version)) = self.active_trees()?
        {
            report.predicted = Some((version, self.refresh_predictions(&learned, version, progress)?));
        }
        Ok(report)
    }
}

/// Each stored shape's rule matches, indexed by shape id.
pub(crate) fn shape_matches(model: &Model, shapes: &[(u32, leadflow_core::EventShape)]) -> Vec<Option<EventMatch>> {
    let len = shapes.iter().map(|(id, _)| *id as usize + 1).max().unwrap_or(0);
    let mut table = vec![None; len];
    for (id, shape) in shapes {
        table[*id as usize] = Some(model.match_event(shape));
    }
    table
}

fn cause_for(item: &RescoreItem, version: ModelVersion) -> Cause {
    match &item.score {
        None => Cause::Import,
        Some(s) if s.model_version != version => Cause::Model(version),
        Some(s) if s.stale => Cause::Import,
        Some(_) => Cause::Decay,
    }
}

fn rescore_item(
    model: &Model,
    version: ModelVersion,
    matches: &[Option<EventMatch>],
    item: RescoreItem,
    as_of: Timestamp,
) -> Outcome {
    let facts = LeadFacts { profile: &item.profile, created_at: item.created_at };
    let (card, state, from_state) = if let Some(bytes) = &item.state {
        let Some(card) = ScoreState::decode(bytes, model).ok().and_then(|s| s.score(model, facts, as_of)) else {
            return Outcome::NeedsEvents(item);
        };
        (card, StateWrite::Keep, true)
    } else {
        let mut activity = Vec::with_capacity(item.activity.len());
        for (ts, shape) in &item.activity {
            match matches.get(*shape as usize).copied().flatten() {
                Some(m) if m.is_empty() => {}
                Some(matched) => activity.push(Activity { ts: *ts, matched }),
                None => return Outcome::UnknownShape(item),
            }
        }
        // No state is written in bulk: a scheduled rescore reads a lead's packed activity about
        // as fast as a state, so only `track` keeps one, building it on first use.
        (scoring::score(model, facts, &activity, as_of), StateWrite::Clear, false)
    };
    let cause = cause_for(&item, version);
    let subject = Subject {
        id: item.id,
        profile: &item.profile,
        mql_at: item.mql_at,
        before: item.score.as_ref(),
        // A lead first scored here (an import's) is heard of now, as an API-created one is.
        created: item.score.is_none(),
    };
    let (write, scored) = score_write(model, version, subject, card, state, as_of, cause);
    Outcome::Done { write, read: item.revision, became_mql: scored.became_mql, from_state }
}
