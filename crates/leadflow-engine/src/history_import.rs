//! `leadflow import changes`: a stage history as CRMs export it (one row per change: the lead,
//! when, from, to, why) into the change log, so that reports cover the years before leadflow.
//!
//! The rows of a file are read whole, each lead's sorted by time (exports are not always in
//! order), and written a batch of whole leads per unit of work. A lead's history goes in oldest
//! first: a row at or before the lead's last recorded move of its place is either that move
//! again (a file imported twice: skipped, counted as a duplicate) or refused with its line,
//! because putting it before what is recorded would rewrite what came after. A lead with no
//! recorded place history was, as far as leadflow knows, where the file's first row says it
//! came from since its creation: it is put there without a logged change (so its creation
//! profile has it), and the rows are its moves.
//!
//! History is not news: it is not checked against the pipeline's allowed moves (it happened
//! elsewhere), starts no SLA clock, gives no tasks and fires no webhook; a row later than now is
//! refused. The lead ends where its last row puts it, since then; its lifecycle stage follows
//! that stage's, as a change logged now (an older one could contradict what leadflow recorded of
//! its lifecycle since); a lead it leaves won, lost or recycled has its pending tasks cancelled,
//! and its pipeline's sweep treats it as any lead (a lead still open past its cycle is recycled).

use rustc_hash::{FxHashMap, FxHashSet};

use leadflow_core::change::{FieldChange, stage_move};
use leadflow_core::lead::{CustomValue, Field, FieldRef};
use leadflow_core::report::PlaceField;
use leadflow_core::{LeadId, LeadRef, LifecycleStage, Pipeline, StageKind, Timestamp};
use leadflow_store::prelude::*;
use leadflow_store::{ChangeEntry, ChangeOrigin, LeadRecord, LoggedPlace, PipelineClock};

use crate::{Engine, EngineError, ImportRow, Progress};

/// A change of a lead's stage, as a history file gives it (stage ids of the pipeline).
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeInput {
    pub lead: LeadRef,
    pub at: Timestamp,
    /// The stage it left, when the file says (HubSpot's history gives only the new value).
    pub from: Option<String>,
    pub to: String,
    pub reason: Option<String>,
}

/// A row of a history file.
#[derive(Clone, Debug, PartialEq)]
pub enum HistoryRow {
    Change(ChangeInput),
    /// A row of another field of a field history (Salesforce's and HubSpot's hold every tracked
    /// field), passed over.
    OtherField(String),
}

/// What a history import did.
#[derive(Debug, Default)]
pub struct HistorySummary {
    /// Stage changes recorded.
    pub logged: usize,
    /// Rows already in the log (a file imported again), or moving a lead where it was.
    pub duplicates: usize,
    /// Rows of other fields, passed over.
    pub other_fields: usize,
    /// Leads whose history grew.
    pub leads: usize,
    /// (line, reason), in file order.
    pub rejected: Vec<(u64, String)>,
    pub warnings: Vec<(u64, String)>,
}

/// Resolved rows: the lead, the row's line, the change.
type Resolved = (LeadId, u64, ChangeInput);

impl<S: Store> Engine<S> {
    /// Imports a stage history into the change log of `pipeline`'s leads (logged as `origin`'s,
    /// each change with its row's reason), `batch` rows or so per unit of work, whole leads.
    pub fn import_history_rows(
        &mut self,
        rows: impl Iterator<Item = ImportRow<HistoryRow>>,
        pipeline: &str,
        origin: &ChangeOrigin,
        batch: usize,
        reading: &dyn Progress,
        writing: &dyn Progress,
    ) -> Result<HistorySummary, EngineError> {
        let pipelines = self.active_pipelines()?;
        let pipeline = pipelines.named(pipeline).cloned().ok_or_else(|| EngineError::NoSuchPipeline {
            name: pipeline.to_string(),
            active: pipelines.all().iter().map(|p| p.name().to_string()).collect(),
        })?;
        let mut summary = HistorySummary::default();
        let mut changes = Vec::new();
        let mut read = 0;
        for row in rows {
            reading.advance(row.offset.saturating_sub(read));
            read = read.max(row.offset);
            summary.warnings.extend(row.warnings.into_iter().map(|w| (row.line, w)));
            match row.parsed {
                Ok(HistoryRow::Change(change)) => changes.push((row.line, change)),
                Ok(HistoryRow::OtherField(_)) => summary.other_fields += 1,
                Err(reason) => summary.rejected.push((row.line, reason)),
            }
        }
        let mut resolved = self.resolve_rows(changes, &mut summary)?;
        resolved.sort_by_key(|(lead, line, change)| (lead.0, change.at, *line));
        writing.start(resolved.len() as u64);
        let (version, now) = (self.held_version()?, self.now());
        let mut start = 0;
        while start < resolved.len() {
            let mut end = (start + batch.max(1)).min(resolved.len());
            while end < resolved.len() && resolved[end].0 == resolved[end - 1].0 {
                end += 1;
            }
            let mut tx = self.store.begin()?;
            history_batch(&mut tx, &pipeline, &resolved[start..end], origin, version, now, &mut summary)?;
            tx.commit()?;
            writing.advance((end - start) as u64);
            start = end;
        }
        summary.rejected.sort_by_key(|(line, _)| *line);
        summary.warnings.sort_by_key(|(line, _)| *line);
        Ok(summary)
    }

    /// The lead of each row; rows naming no lead are refused.
    fn resolve_rows(
        &mut self,
        changes: Vec<(u64, ChangeInput)>,
        summary: &mut HistorySummary,
    ) -> Result<Vec<Resolved>, EngineError> {
        let mut seen = FxHashSet::default();
        let refs: Vec<LeadRef> =
            changes.iter().filter(|(_, c)| seen.insert(&c.lead)).map(|(_, c)| c.lead.clone()).collect();
        let mut ids: FxHashMap<LeadRef, LeadId> = FxHashMap::default();
        for chunk in refs.chunks(10_000) {
            let mut tx = self.store.begin()?;
            for (r, id) in chunk.iter().zip(tx.resolve_leads(chunk)?) {
                if let Some(id) = id {
                    ids.insert(r.clone(), id);
                }
            }
        }
        let mut resolved = Vec::with_capacity(changes.len());
        for (line, change) in changes {
            match ids.get(&change.lead) {
                Some(&id) => resolved.push((id, line, change)),
                None => summary.rejected.push((line, format!("no {}: import the leads first", change.lead))),
            }
        }
        Ok(resolved)
    }
}

/// One unit of work: whole leads' rows (sorted by lead, then time).
fn history_batch<T: Transaction>(
    tx: &mut T,
    pipeline: &Pipeline,
    rows: &[Resolved],
    origin: &ChangeOrigin,
    version: leadflow_store::ModelVersion,
    now: Timestamp,
    summary: &mut HistorySummary,
) -> Result<(), EngineError> {
    let mut leads: Vec<LeadId> = rows.iter().map(|(l, _, _)| *l).collect();
    leads.dedup();
    let held = tx.hold_for_scoring(&leads, version)?;
    let logged = tx.place_changes_of(&leads)?;
    let mut logged_of: FxHashMap<LeadId, (usize, usize)> = FxHashMap::default();
    for (i, change) in logged.iter().enumerate() {
        let span = logged_of.entry(change.lead).or_insert((i, i));
        span.1 = i + 1;
    }
    let mut plans = Vec::with_capacity(leads.len());
    let mut at = 0;
    for (lead, held) in leads.iter().zip(held) {
        let end = at + rows[at..].iter().take_while(|(l, _, _)| l == lead).count();
        let of_lead = &rows[at..end];
        at = end;
        let Some((record, _)) = held else {
            summary
                .rejected
                .extend(of_lead.iter().map(|(_, line, _)| (*line, format!("no lead {lead}: erased meanwhile"))));
            continue;
        };
        let logged = logged_of.get(lead).map_or(&[][..], |&(a, b)| &logged[a..b]);
        let plan = plan_lead(pipeline, &record, logged, of_lead, now, summary);
        plans.push((record, plan));
    }
    let mut entries: Vec<(LeadId, Timestamp, ChangeOrigin, FieldChange)> = Vec::new();
    for (record, plan) in plans {
        let Some(after) = plan else { continue };
        summary.leads += 1;
        let stage_field = FieldRef::Standard(Field::PipelineStage);
        summary.logged += after.moves.iter().filter(|(_, _, change)| change.field == stage_field).count();
        for (at, reason, change) in after.moves {
            entries.push((record.id, at, origin.clone().because(reason), change));
        }
        let lifecycle = stage_move(record.profile.stage, after.profile.stage);
        entries.extend(lifecycle.into_iter().map(|c| (record.id, now, origin.clone(), c)));
        tx.update_profile(record.id, &after.profile, now)?;
        tx.set_pipeline_clock(record.id, &after.clock)?;
        if let Some(closed) = after.closed.as_deref() {
            // Won, lost or back to nurture elsewhere: nothing is left to do on it in sales.
            tx.cancel_pending_tasks(record.id, &format!("its history put it in `{closed}`"), now)?;
        }
        if after.recycled {
            tx.clear_mql(record.id)?;
        }
        // Its profile changed (rules may read the stage): its next rescan scores it again.
        tx.mark_stale(record.id)?;
    }
    let entries: Vec<ChangeEntry<'_>> =
        entries.iter().map(|(lead, at, origin, change)| ChangeEntry { lead: *lead, at: *at, origin, change }).collect();
    tx.record_change_entries(&entries)?;
    Ok(())
}

/// Where a lead ends after its rows, and the moves that take it there.
struct LeadAfter {
    /// (when, the row's reason, the change), in order.
    moves: Vec<(Timestamp, Option<String>, FieldChange)>,
    profile: leadflow_core::Profile,
    clock: PipelineClock,
    /// It ends in a recycled stage: its MQL mark is cleared, as a move there does.
    recycled: bool,
    /// It moved, and ends in a stage that is not open: the stage.
    closed: Option<String>,
}

/// A lead's rows against what its log holds: `None` when nothing changes.
fn plan_lead(
    pipeline: &Pipeline,
    record: &LeadRecord,
    logged: &[LoggedPlace],
    rows: &[Resolved],
    now: Timestamp,
    summary: &mut HistorySummary,
) -> Option<LeadAfter> {
    let name = pipeline.name();
    let text = |s: &str| Some(CustomValue::Text(s.to_string()));
    let last_logged = logged.iter().map(|c| c.at).max();
    let stage_changes = || logged.iter().filter(|c| c.field == PlaceField::Stage);
    // A row the log already says: that very move, or one that changed nothing then (a HubSpot
    // history starts with the value the lead was created with).
    let logged_again = |row: &ChangeInput| {
        let moved = stage_changes().any(|c| c.at == row.at && c.new.as_deref() == Some(&row.to));
        let then = match stage_changes().rfind(|c| c.at <= row.at) {
            Some(c) => c.new.as_deref(),
            None => stage_changes().next().and_then(|c| c.old.as_deref()),
        };
        moved || then == Some(row.to.as_str())
    };
    let kind_of = |stage: Option<&str>| stage.and_then(|s| pipeline.stage(s)).map(|s| s.kind());
    let mut in_pipeline = record.profile.pipeline.as_deref() == Some(name);
    let mut pipeline_field = record.profile.pipeline.clone();
    let mut stage_field = record.profile.pipeline_stage.clone();
    let mut clock = record.pipeline_clock;
    let mut placed = false;
    let mut moves = Vec::new();
    for (_, line, row) in rows {
        if row.at > now {
            summary.rejected.push((
                *line,
                format!(
                    "at {}: later than now ({now}); a history is of what happened (a wrong date or date order?)",
                    row.at
                ),
            ));
            continue;
        }
        if let Some(last) = last_logged.filter(|last| row.at <= *last) {
            if logged_again(row) {
                summary.duplicates += 1;
            } else {
                summary.rejected.push((
                    *line,
                    format!(
                        "at {}: the lead's recorded stage history goes on to {last}, and a history goes in oldest first (import earlier files first)",
                        row.at
                    ),
                ));
            }
            continue;
        }
        let unplaced = record.profile.pipeline.as_deref().is_none_or(|p| p == name);
        if logged.is_empty() && unplaced && !placed && moves.is_empty() {
            // Nothing recorded of its place, in no other pipeline: since its creation it was where
            // this row took it from. (A lead in another one enters this one by a logged move.)
            let start = row.from.clone().or_else(|| stage_field.clone().filter(|_| in_pipeline));
            let start = start.unwrap_or_else(|| pipeline.entry_stage().id().to_string());
            (pipeline_field, stage_field, in_pipeline, placed) = (Some(name.to_string()), Some(start), true, true);
            clock = PipelineClock {
                entered_at: Some(record.created_at),
                stage_entered_at: Some(record.created_at),
                recycles: clock.recycles,
            };
        }
        if in_pipeline && stage_field.as_deref() == Some(row.to.as_str()) {
            summary.duplicates += 1;
            continue;
        }
        let entering = !in_pipeline;
        if entering {
            let change = FieldChange {
                field: FieldRef::Standard(Field::Pipeline),
                old: pipeline_field.as_deref().and_then(text),
                new: text(name),
            };
            moves.push((row.at, None, change));
            (pipeline_field, in_pipeline) = (Some(name.to_string()), true);
        } else if let Some(from) = row.from.as_deref().filter(|f| stage_field.as_deref() != Some(*f)) {
            summary.warnings.push((
                *line,
                format!(
                    "from `{from}`, but the lead was in `{}` then: recorded as a move from `{0}`",
                    stage_field.as_deref().unwrap_or("no stage")
                ),
            ));
        }
        let left = if entering { None } else { kind_of(stage_field.as_deref()) };
        let to = kind_of(Some(&row.to));
        let change = FieldChange {
            field: FieldRef::Standard(Field::PipelineStage),
            old: stage_field.as_deref().and_then(text),
            new: text(&row.to),
        };
        moves.push((row.at, row.reason.clone(), change));
        let recycled = to == Some(StageKind::Recycled);
        if entering || (left == Some(StageKind::Recycled) && !recycled) {
            clock.entered_at = Some(row.at);
        }
        clock.stage_entered_at = Some(row.at);
        clock.recycles += u32::from(recycled);
        stage_field = Some(row.to.clone());
    }
    if !placed && moves.is_empty() {
        return None;
    }
    let mut profile = record.profile.clone();
    profile.pipeline = pipeline_field;
    profile.pipeline_stage = stage_field;
    let stage = profile.pipeline_stage.as_deref().and_then(|s| pipeline.stage(s));
    let recycled = stage.is_some_and(|s| s.kind() == StageKind::Recycled);
    if let Some(lifecycle) = stage.and_then(|s| s.lifecycle()) {
        profile.stage = lifecycle;
    } else if recycled {
        profile.stage = LifecycleStage::Recycled;
    }
    let closed = stage.filter(|s| !moves.is_empty() && s.kind() != StageKind::Open).map(|s| s.id().to_string());
    Some(LeadAfter { moves, profile, clock, recycled, closed })
}
