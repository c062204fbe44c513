//! Moving leads through their pipelines: by hand (a rep, over the CLI or the API), by routing
//! (a lead that became marketing-qualified enters the pipeline [`route`] picks) and by the
//! pipeline's own triggers ([`Pipeline::auto_move`]).
//!
//! Every move goes through [`Pipeline::check_move`] and lands in one unit of work with what it
//! implies: the lead's pipeline and stage (profile fields, so the change log has them with the
//! move's origin and reason), its lifecycle stage when the stage names one, since when it is
//! there, and for a move to a recycled stage the MQL mark cleared (so that the MQL rule can fire
//! again) and the recycle counted. The lead is held while it moves, so two moves of one lead at
//! once are one after the other, each checked against where the other left it.

use leadflow_core::change::{FieldChange, profile_changes};
use leadflow_core::pipeline::route;
use leadflow_core::team::AssignTrigger;
use leadflow_core::{Actor, LeadId, LeadRef, LifecycleStage, Pipeline, Stage, StageKind, Timestamp, Topic, Trigger};
use leadflow_store::prelude::*;
use leadflow_store::{ChangeCause, ChangeOrigin, LeadRecord, ModelVersion, NewTask, NotificationDetail, PipelineClock};

use crate::assignment::{ActiveAssignment, assign_in};
use crate::news::tell;
use crate::pipelines::ActivePipelines;
use crate::sla::{ActiveSla, ClockEvent, clocks_in};
use crate::{Engine, EngineError};

/// A move someone asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct StageMove {
    pub lead: LeadRef,
    /// The pipeline to enter or to switch to; `None`: the lead's own, or for a lead in none, the
    /// one routing picks for it.
    pub pipeline: Option<String>,
    /// The stage's id; `None`: the pipeline's entry stage.
    pub stage: Option<String>,
    /// Why: one of the stage's `reasons` when it lists some, a free note otherwise.
    pub reason: Option<String>,
}

/// A move made.
#[derive(Clone, Debug, PartialEq)]
pub struct Moved {
    pub lead: LeadId,
    pub pipeline: String,
    /// The stage it left; `None` when it entered the pipeline.
    pub from: Option<String>,
    pub to: String,
    /// The reason as stored: the stage's own spelling of it.
    pub reason: Option<String>,
    /// It moved to a recycled stage: back to nurture, its MQL mark cleared.
    pub recycled: bool,
    /// What changed in its profile (the pipeline fields, the lifecycle stage).
    pub changes: Vec<FieldChange>,
}

impl<S: Store> Engine<S> {
    /// Moves a lead as `actor` asks, if the actor may write the lead and the pipeline's rules
    /// allow the move; what changed goes in the change log as `origin`'s, with the reason.
    pub fn move_lead(
        &mut self,
        actor: &Actor<'_>,
        origin: &ChangeOrigin,
        request: &StageMove,
    ) -> Result<Moved, EngineError> {
        let tracking = self.tracking()?;
        let pipelines = &tracking.pipelines;
        let held = self.held_version()?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        let record = hold(&mut tx, &request.lead, held)?;
        let owner = record.profile.owner.as_deref();
        actor.may_write_lead(Some(owner), owner)?;
        let current = record.profile.pipeline.as_deref();
        let pipeline = match (&request.pipeline, current) {
            (Some(name), _) => pipelines.named(name).ok_or_else(|| not_active(name, pipelines))?,
            (None, Some(name)) => pipelines.named(name).ok_or_else(|| not_active(name, pipelines))?,
            (None, None) => route(pipelines.all(), &record.profile).ok_or(EngineError::NoPipelineFor(record.id))?,
        };
        let from = (current == Some(pipeline.name())).then_some(record.profile.pipeline_stage.as_deref()).flatten();
        let to = match &request.stage {
            Some(id) => id.as_str(),
            None => pipeline.entry_stage().id(),
        };
        pipeline.check_move(from, to, &record.profile, request.reason.as_deref())?;
        let stage = pipeline.stage(to).expect("check_move found it");
        let reason = reason_to_store(stage, request.reason.as_deref());
        let origin = origin.clone().because(reason.clone());
        let moved = move_in(&mut tx, &tracking, &record, pipeline, stage, &origin, now)?;
        tx.commit()?;
        Ok(moved)
    }

    /// The model version whose scoring state a move holds the lead with (any will do: a move
    /// reads the lead, not its state).
    pub(crate) fn held_version(&self) -> Result<ModelVersion, EngineError> {
        Ok(self.store.active_version()?.unwrap_or(ModelVersion(0)))
    }

    /// Moves the lead on if `trigger` fires a stage's `enter_when` ([`Pipeline::auto_move`]),
    /// as the pipeline's rule; `None` when nothing moves (no pipeline, or no stage fires).
    pub fn advance(&mut self, lead: LeadId, trigger: &Trigger<'_>) -> Result<Option<Moved>, EngineError> {
        let tracking = self.tracking()?;
        if tracking.pipelines.all().is_empty() {
            return Ok(None);
        }
        let held = self.held_version()?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        let record = hold(&mut tx, &LeadRef::Id(lead), held)?;
        let moved = advance_in(&mut tx, &tracking, &record, trigger, now)?;
        tx.commit()?;
        Ok(moved)
    }
}

/// The lead as it is now, held by this unit of work until it ends.
pub(crate) fn hold<T: Transaction>(
    tx: &mut T,
    lead: &LeadRef,
    version: ModelVersion,
) -> Result<LeadRecord, EngineError> {
    let id = tx.resolve_lead(lead)?.ok_or_else(|| EngineError::NoSuchLead(lead.clone()))?;
    let held = tx.hold_for_scoring(&[id], version)?.pop().flatten();
    Ok(held.ok_or_else(|| EngineError::NoSuchLead(lead.clone()))?.0)
}

fn not_active(name: &str, pipelines: &ActivePipelines) -> EngineError {
    EngineError::NoSuchPipeline {
        name: name.to_string(),
        active: pipelines.all().iter().map(|p| p.name().to_string()).collect(),
    }
}

/// The reason as the stage spells it, or the note as given (trimmed; none when blank).
fn reason_to_store(stage: &Stage, given: Option<&str>) -> Option<String> {
    let given = given.map(str::trim).filter(|r| !r.is_empty())?;
    Some(stage.reason(given).unwrap_or(given).to_string())
}

/// What happened to a lead in one unit of work that may move it through its pipeline.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Happened<'a> {
    /// The lead was created by it.
    pub created: bool,
    pub became_mql: bool,
    /// Its new score's total and grade.
    pub score: Option<(f64, leadflow_core::Grade)>,
    pub events: &'a [&'a leadflow_core::EventType],
    pub outcome: Option<leadflow_core::OutcomeKind>,
}

impl Happened<'_> {
    /// A new score, and the MQL if it tipped.
    pub(crate) fn scored(scored: &crate::Scored) -> Happened<'static> {
        Happened {
            became_mql: scored.became_mql,
            score: Some((scored.card.total, scored.card.grade)),
            ..Happened::default()
        }
    }
}

/// The rules that act on a lead as things happen to it: the active pipelines and assignment
/// rules, loaded before a unit of work begins.
#[derive(Clone, Debug)]
pub(crate) struct Tracking {
    pub pipelines: ActivePipelines,
    pub assignment: Option<ActiveAssignment>,
    pub sla: Option<ActiveSla>,
}

impl<S: Store> Engine<S> {
    /// The rules in use, read again only when the active versions changed (one small read per
    /// call: every tracked event asks).
    pub(crate) fn tracking(&mut self) -> Result<Tracking, EngineError> {
        let versions = self.store.active_rule_versions()?;
        if let Some((seen, tracking)) = &self.tracking
            && *seen == versions
        {
            return Ok(tracking.clone());
        }
        let tracking = Tracking {
            pipelines: self.active_pipelines()?,
            assignment: self.active_assignment()?,
            sla: self.active_sla()?,
        };
        self.tracking = Some((versions, tracking.clone()));
        Ok(tracking)
    }
}

fn read_lead<T: Transaction>(tx: &mut T, lead: LeadId) -> Result<LeadRecord, EngineError> {
    tx.lead(&LeadRef::Id(lead))?.ok_or(EngineError::NoSuchLead(LeadRef::Id(lead)))
}

/// What follows a lead becoming marketing-qualified, in `tx`: the pipeline routing picks, then
/// an owner by the assignment rules if it has none (so that rules can name the pipeline it
/// entered). Returns the lead as it is after, and the move into a pipeline if it made one.
pub(crate) fn qualify_in<T: Transaction>(
    tx: &mut T,
    tracking: &Tracking,
    mut record: LeadRecord,
    now: Timestamp,
) -> Result<(LeadRecord, Option<Moved>), EngineError> {
    let moved = route_in(tx, tracking, &record, now)?;
    if moved.is_some() {
        record = read_lead(tx, record.id)?;
    }
    if assign_in(tx, tracking, &record, AssignTrigger::BecameMql, now)?.is_some() {
        record = read_lead(tx, record.id)?;
    }
    // After the owner: the entry stage's tasks and the clock count in their working time.
    if let Some(moved) = &moved {
        let pipeline = tracking.pipelines.named(&moved.pipeline).expect("routing entered an active pipeline");
        let entry = pipeline.stage(&moved.to).expect("the stage it entered");
        add_stage_tasks(tx, &record, pipeline, entry, now)?;
    }
    clocks_in(tx, tracking.sla.as_ref(), &record, &ClockEvent::BecameMql, now)?;
    Ok((record, moved))
}

/// What follows what happened, in `tx`, which has written it already: a new lead gets an owner
/// by the assignment rules; a lead that became an MQL enters a pipeline and gets an owner if it
/// has none; then each trigger (the MQL, each event, the outcome, the score) may move it on,
/// each from where the last left it.
pub(crate) fn follow_up_in<T: Transaction>(
    tx: &mut T,
    tracking: &Tracking,
    lead: LeadId,
    happened: &Happened<'_>,
    now: Timestamp,
) -> Result<Vec<Moved>, EngineError> {
    let pipelines = &tracking.pipelines;
    let assigns = happened.created && tracking.assignment.is_some();
    if !happened.became_mql && !assigns && !pipelines.has_triggers() {
        return Ok(Vec::new());
    }
    let mut record = read_lead(tx, lead)?;
    let mut moves = Vec::new();
    if happened.created && assign_in(tx, tracking, &record, AssignTrigger::Created, now)?.is_some() {
        record = read_lead(tx, lead)?;
    }
    if happened.became_mql {
        let (after, moved) = qualify_in(tx, tracking, record, now)?;
        record = after;
        moves.extend(moved);
    }
    let mut triggers: Vec<Trigger<'_>> = Vec::new();
    if happened.became_mql {
        triggers.push(Trigger::BecameMql);
    }
    triggers.extend(happened.events.iter().map(|e| Trigger::Event(e)));
    triggers.extend(happened.outcome.map(Trigger::Outcome));
    triggers.extend(happened.score.map(|(total, grade)| Trigger::Scored { total, grade }));
    for trigger in &triggers {
        if let Some(moved) = advance_in(tx, tracking, &record, trigger, now)? {
            moves.push(moved);
            record = read_lead(tx, lead)?;
        }
    }
    Ok(moves)
}

/// The move `trigger` makes for a lead in a pipeline, made in `tx` as the pipeline's rule.
pub(crate) fn advance_in<T: Transaction>(
    tx: &mut T,
    tracking: &Tracking,
    record: &LeadRecord,
    trigger: &Trigger<'_>,
    now: Timestamp,
) -> Result<Option<Moved>, EngineError> {
    let (Some(name), Some(current)) = (&record.profile.pipeline, &record.profile.pipeline_stage) else {
        return Ok(None);
    };
    let Some(pipeline) = tracking.pipelines.named(name) else {
        return Ok(None);
    };
    let Some(stage) = pipeline.auto_move(current, trigger, &record.profile) else {
        return Ok(None);
    };
    Ok(Some(move_in(tx, tracking, record, pipeline, stage, &ChangeOrigin::pipeline_rule(pipeline.name()), now)?))
}

/// Enters a marketing-qualified lead into the pipeline routing picks, at its entry stage, as
/// the routing rule; `None` when no pipeline takes it. A lead already in an open or closed stage
/// stays where it is: only one in none, or in a recycled stage (it qualified again), enters.
pub(crate) fn route_in<T: Transaction>(
    tx: &mut T,
    tracking: &Tracking,
    record: &LeadRecord,
    now: Timestamp,
) -> Result<Option<Moved>, EngineError> {
    if record.mql_at.is_none() || !waits_for_mql(&tracking.pipelines, record) {
        return Ok(None);
    }
    let Some(pipeline) = route(tracking.pipelines.all(), &record.profile) else {
        return Ok(None);
    };
    let entry = pipeline.entry_stage();
    if pipeline.check_move(None, entry.id(), &record.profile, None).is_err() {
        // The entry stage requires fields this lead lacks: it waits until someone sets them
        // or moves it by hand.
        return Ok(None);
    }
    Ok(Some(shift_in(tx, tracking, record, pipeline, entry, &ChangeOrigin::routing(), now)?.0))
}

/// Whether the lead is in no pipeline, or in a recycled stage of its own.
fn waits_for_mql(pipelines: &ActivePipelines, record: &LeadRecord) -> bool {
    match (&record.profile.pipeline, &record.profile.pipeline_stage) {
        (Some(name), Some(stage)) => {
            pipelines.named(name).and_then(|p| p.stage(stage)).is_some_and(|s| s.kind() == StageKind::Recycled)
        }
        _ => true,
    }
}

/// Moves the lead to `stage` of `pipeline` (checked already) and writes all it implies.
pub(crate) fn move_in<T: Transaction>(
    tx: &mut T,
    tracking: &Tracking,
    record: &LeadRecord,
    pipeline: &Pipeline,
    stage: &Stage,
    origin: &ChangeOrigin,
    now: Timestamp,
) -> Result<Moved, EngineError> {
    let (moved, after) = shift_in(tx, tracking, record, pipeline, stage, origin, now)?;
    add_stage_tasks(tx, &after, pipeline, stage, now)?;
    Ok(moved)
}

/// [`move_in`] but for the tasks the stage gives: for routing, whose lead gets its owner after
/// it enters (the tasks are then added in its owner's time). Returns the lead as it is after.
fn shift_in<T: Transaction>(
    tx: &mut T,
    tracking: &Tracking,
    record: &LeadRecord,
    pipeline: &Pipeline,
    stage: &Stage,
    origin: &ChangeOrigin,
    now: Timestamp,
) -> Result<(Moved, LeadRecord), EngineError> {
    let entering = record.profile.pipeline.as_deref() != Some(pipeline.name());
    let from = if entering { None } else { record.profile.pipeline_stage.clone() };
    let recycled = stage.kind() == StageKind::Recycled;
    // A cycle starts as the lead enters the pipeline, or comes back to it from nurture.
    let back_from_nurture =
        from.as_deref().and_then(|f| pipeline.stage(f)).is_some_and(|f| f.kind() == StageKind::Recycled);
    let new_cycle = entering || (back_from_nurture && !recycled);
    let mut after = record.profile.clone();
    after.pipeline = Some(pipeline.name().to_string());
    after.pipeline_stage = Some(stage.id().to_string());
    if let Some(lifecycle) = stage.lifecycle() {
        after.stage = lifecycle;
    } else if recycled {
        after.stage = LifecycleStage::Recycled;
    }
    let changes = profile_changes(&record.profile, &after);
    let clock = PipelineClock {
        entered_at: if new_cycle { Some(now) } else { record.pipeline_clock.entered_at.or(Some(now)) },
        stage_entered_at: Some(now),
        recycles: record.pipeline_clock.recycles + u32::from(recycled),
    };
    tx.update_profile(record.id, &after, now)?;
    tx.set_pipeline_clock(record.id, &clock)?;
    if recycled {
        tx.clear_mql(record.id)?;
    }
    // The profile changed (rules may read the stage): the next rescan scores it again. Not
    // here: a recycled lead rescored at once would qualify again before anything happened.
    tx.mark_stale(record.id)?;
    tx.record_changes(record.id, now, origin, &changes)?;
    let moved_record = LeadRecord { profile: after, ..record.clone() };
    let by_hand = matches!(origin.cause, ChangeCause::Api | ChangeCause::Cli);
    // The stage it left, in whichever pipeline: a move to another pipeline leaves one too.
    let left = record.profile.pipeline_stage.as_deref();
    let event = ClockEvent::Moved { from: left, to: stage, by_hand };
    clocks_in(tx, tracking.sla.as_ref(), &moved_record, &event, now)?;
    let detail = NotificationDetail::StageChanged {
        pipeline: pipeline.name().to_string(),
        from_stage: from.clone(),
        to_stage: stage.id().to_string(),
        reason: origin.reason.clone(),
    };
    if recycled {
        tell(tx, &moved_record, Topic::LeadRecycled, detail.clone(), now)?;
    }
    tell(tx, &moved_record, Topic::LeadStageChanged, detail, now)?;
    if stage.kind() != StageKind::Open {
        // Won, lost or back to nurture: nothing is left to do on it in sales.
        tx.cancel_pending_tasks(record.id, &format!("the lead entered `{}`", stage.id()), now)?;
    }
    let moved = Moved {
        lead: record.id,
        pipeline: pipeline.name().to_string(),
        from,
        to: stage.id().to_string(),
        reason: origin.reason.clone(),
        recycled,
        changes,
    };
    Ok((moved, moved_record))
}

/// The tasks the stage gives a lead entering it, owned by its owner and due in their working time
/// (a default week in UTC for a lead without an owner who is a user; the owner it gets later
/// takes the task, due as it was).
fn add_stage_tasks<T: Transaction>(
    tx: &mut T,
    record: &LeadRecord,
    pipeline: &Pipeline,
    stage: &Stage,
    now: Timestamp,
) -> Result<(), EngineError> {
    if stage.tasks().is_empty() {
        return Ok(());
    }
    let created_by = format!("pipeline:{}", pipeline.name());
    for task in stage.tasks() {
        add_owner_task(tx, record, task, &created_by, now)?;
    }
    Ok(())
}

/// A task for the lead's owner (none for a lead without an owner who is a user: the owner it
/// gets later takes it), due in the owner's working time (a default week in UTC without one).
pub(crate) fn add_owner_task<T: Transaction>(
    tx: &mut T,
    record: &LeadRecord,
    task: &leadflow_core::pipeline::StageTask,
    created_by: &str,
    now: Timestamp,
) -> Result<(), EngineError> {
    let users = tx.users_now()?;
    let owner = record.profile.owner.as_deref().and_then(|o| users.iter().find(|u| u.name().as_str() == o));
    let default = leadflow_core::team::default_calendar();
    let calendar = leadflow_core::team::calendar_of(&users, record.profile.owner.as_deref(), &default);
    // A calendar without working time for a year due within it is no calendar: due now.
    let due_at = task.due.ends_at(calendar, now).unwrap_or(now);
    let new = NewTask {
        lead: record.id,
        kind: task.kind,
        title: &task.title,
        owner: owner.map(|u| u.name()),
        priority: task.priority,
        due_at,
        created_by: Some(created_by),
    };
    tx.add_task(&new, now)?;
    Ok(())
}

impl From<leadflow_core::MoveRefusal> for EngineError {
    fn from(refusal: leadflow_core::MoveRefusal) -> EngineError {
        EngineError::MoveRefused(refusal)
    }
}
