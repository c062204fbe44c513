//! Sales pipelines: the stages a lead goes through once marketing hands it over, written as a
//! file.
//!
//! Scoring says how good a lead is; a pipeline says where sales is with it: new, being worked,
//! in a meeting, won or lost (HubSpot's and Salesforce's lead status), and how long a stage may
//! hold it before it is rotting (Pipedrive's rotting). Teams sell differently to different leads
//! (a partner's referral is not a cold inbound form), so there are several pipelines, and
//! [`route`] picks the one a lead enters by the same conditions a model's fit rules use.
//!
//! A pipeline is a file for the reasons a model is: it is reviewed like code, diffed, and checked
//! before it runs. [`Pipeline::parse`] checks everything the rest of the engine relies on (ids
//! unique, every `to` naming a stage, an open stage to enter at, a stage for the cycle's end to
//! move leads to, ...) and reports every problem with its line; code that holds a `Pipeline`
//! never re-checks.
//!
//! Everything here is pure: whether a move is allowed ([`Pipeline::check_move`]), where a
//! trigger moves a lead ([`Pipeline::auto_move`]), whether it is rotting ([`Stage::is_rotting`])
//! and when its cycle ends ([`Pipeline::cycle_ends_at`]) are functions of the pipeline, the
//! lead's profile and the times given. The engine stores which stage a lead is in, since when,
//! and keeps its lifecycle stage in step with [`Stage::lifecycle`].
//!
//! The stages' order in the file is the order a lead is expected to go through them. Manual
//! moves may go anywhere `to` allows, backwards too (a rep reopens a lost lead); automatic moves
//! only go forward, so that a trigger can never undo a rep's work.
//!
//! # The file
//!
//! `examples/pipeline-inbound-b2b.toml` and `examples/pipeline-partner.toml` show every key.
//!
//! - Top level: `name` (an identifier), `description`, `max_cycle_days` with `on_cycle_end`
//!   (`"recycle"` or `"disqualify"`, given together, and a stage of that kind must exist),
//!   `enter_at` (an open stage; the first stage by default), `[routing]`, `[[stages]]`.
//! - `[routing]`: `priority` (a whole number, 0 by default) and `when`, a list of conditions
//!   written as a model's fit rules (`field`, `op`, `value`/`values` or `min`/`max`, `not`), all
//!   of which must hold. A pipeline without `when` is the fallback.
//! - `[[stages]]`: `id` (an identifier, unique), `name` (the id by default), `kind` (`open` by
//!   default, or `won`, `lost`, `recycled` (one at most), `disqualified`), `probability` (0 to 1;
//!   required for open stages, 1 for won and 0 for the others by default), `rotting_days` (open
//!   stages only), `lifecycle`, `to` (the stages a lead may move to next; any by default),
//!   `requires` (profile fields, `custom.<name>` too, that must be set to enter), `reasons` (won,
//!   lost and disqualified stages only: a move there must give one).
//! - `[[stages.enter_when]]`: one trigger each, any of which moves a lead here: `mql = true`,
//!   `score_at_least = 60`, `grade_at_least = "B"`, `event = "demo_requested"` or
//!   `outcome = "won"`. Not on the first stage (nothing comes before it) nor on a stage with
//!   `reasons` (only a person gives a reason): there it would never fire, so it is an error.
//! - `[[stages.tasks]]`: the next steps a lead entering the stage gets, one task each, owned by
//!   the lead's owner: `title` (required), `kind` (`call` by default, `email`, `meeting`,
//!   `todo`), `priority` (`low`, `normal` by default, `high`), `due` (required: a duration
//!   written as an SLA rule's `within`, such as `"4h"` or `"1d"`, counted from the move) and
//!   `clock` (`"working"`, the owner's working time, by default; or `"calendar"`).

mod moves;
mod parse;

use std::fmt;

use crate::Timestamp;
use crate::event::EventType;
use crate::lead::{FieldRef, FieldValue, LifecycleStage, Profile};
use crate::model::{Condition, Grade};
use crate::outcome::OutcomeKind;
use crate::sla::SlaDuration;
use crate::task::{Priority, TaskKind, TaskTitle};

pub use moves::{MoveRefusal, Trigger};
pub(crate) use parse::read_stage_task;
pub use parse::{PipelineError, PipelineProblem};

const MILLIS_PER_DAY: i64 = 86_400_000;

/// A validated pipeline: built only by [`Pipeline::parse`], read through its accessors.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    name: String,
    description: Option<String>,
    routing: Routing,
    stages: Vec<Stage>,
    /// Index of the stage a lead enters at.
    entry: usize,
    cycle: Option<Cycle>,
}

impl Pipeline {
    /// The pipeline's name, an identifier.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Which leads enter this pipeline.
    pub fn routing(&self) -> &Routing {
        &self.routing
    }

    /// The stages in file order: the order a lead is expected to go through them. Never empty.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The stage with this id (ids are case-sensitive).
    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.id == id)
    }

    /// The open stage a lead enters the pipeline at: `enter_at`, or else the first stage.
    pub fn entry_stage(&self) -> &Stage {
        &self.stages[self.entry]
    }

    /// How long a lead's cycle lasts and what ends it, when the pipeline limits it.
    pub fn cycle(&self) -> Option<Cycle> {
        self.cycle
    }

    /// Where a lead still open at the end of its cycle goes: the first stage of the kind
    /// `on_cycle_end` names (parsing made sure there is one).
    pub fn cycle_end_stage(&self) -> Option<&Stage> {
        let kind = self.cycle?.on_end.kind();
        self.stages.iter().find(|s| s.kind == kind)
    }

    /// The instant the cycle of a lead that entered the pipeline at `cycle_started_at` ends:
    /// from then on, a lead still in an open stage is due to move to [`Self::cycle_end_stage`].
    /// `None` when the pipeline has no `max_cycle_days`.
    pub fn cycle_ends_at(&self, cycle_started_at: Timestamp) -> Option<Timestamp> {
        let days = self.cycle?.max_days;
        Some(Timestamp::from_millis(cycle_started_at.millis().saturating_add(i64::from(days) * MILLIS_PER_DAY)))
    }
}

/// Which leads enter a pipeline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Routing {
    priority: u32,
    /// `None`: the fallback, for leads no other pipeline takes.
    when: Option<Vec<RoutingCondition>>,
}

impl Routing {
    /// Higher is tried first.
    pub fn priority(&self) -> u32 {
        self.priority
    }

    /// The conditions a lead must all meet; `None` for a fallback pipeline.
    pub fn conditions(&self) -> Option<&[RoutingCondition]> {
        self.when.as_deref()
    }

    /// Whether this pipeline takes the leads no conditional pipeline takes.
    pub fn is_fallback(&self) -> bool {
        self.when.is_none()
    }

    /// Whether a lead meets every condition (a fallback's none).
    pub fn admits(&self, profile: &Profile) -> bool {
        self.when.iter().flatten().all(|c| c.matches(profile))
    }
}

/// A test on one profile field, written as a model's fit rule is (`field`, `op`, operands, `not`).
#[derive(Clone, Debug, PartialEq)]
pub struct RoutingCondition {
    pub field: FieldRef,
    pub condition: Condition,
}

impl RoutingCondition {
    pub fn matches(&self, profile: &Profile) -> bool {
        self.condition.matches(profile.value(&self.field))
    }
}

/// The pipeline a lead enters: among the pipelines with `when` conditions that the lead all
/// meets, the one of highest priority (on a tie, the first by name); when none takes it, the
/// fallback pipeline (one without `when`; of several, again by priority, then name). `None`
/// when no pipeline takes the lead and there is no fallback.
///
/// A fallback never competes with a conditional pipeline, whatever their priorities: it is what
/// is left, so that adding a pipeline for some leads never needs the fallback's priority changed.
pub fn route<'p>(pipelines: &'p [Pipeline], profile: &Profile) -> Option<&'p Pipeline> {
    let best = |fallback: bool| {
        pipelines
            .iter()
            .filter(|p| p.routing.is_fallback() == fallback && p.routing.admits(profile))
            .max_by(|a, b| a.routing.priority.cmp(&b.routing.priority).then_with(|| b.name.cmp(&a.name)))
    };
    best(false).or_else(|| best(true))
}

/// How long a lead's cycle in a pipeline lasts, and where it goes when it ends still open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cycle {
    /// Days from entering the pipeline; at least 1.
    pub max_days: u32,
    pub on_end: CycleEnd,
}

/// What happens to a lead still open when its cycle ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CycleEnd {
    /// Back to marketing: it moves to the pipeline's `recycled` stage, to be nurtured.
    Recycle,
    /// Given up on: it moves to the pipeline's first `disqualified` stage.
    Disqualify,
}

impl CycleEnd {
    pub const ALL: [CycleEnd; 2] = [CycleEnd::Recycle, CycleEnd::Disqualify];

    pub fn as_str(self) -> &'static str {
        match self {
            CycleEnd::Recycle => "recycle",
            CycleEnd::Disqualify => "disqualify",
        }
    }

    pub fn parse(s: &str) -> Option<CycleEnd> {
        CycleEnd::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }

    /// The kind of stage a lead whose cycle ended moves to.
    pub fn kind(self) -> StageKind {
        match self {
            CycleEnd::Recycle => StageKind::Recycled,
            CycleEnd::Disqualify => StageKind::Disqualified,
        }
    }
}

/// What a stage means for the lead in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StageKind {
    /// Being worked: the only kind that rots and whose leads' cycles end.
    Open,
    Won,
    Lost,
    /// Handed back to marketing, to come back when it qualifies again.
    Recycled,
    /// Not a lead we sell to (wrong fit, spam, a duplicate).
    Disqualified,
}

impl StageKind {
    pub const ALL: [StageKind; 5] =
        [StageKind::Open, StageKind::Won, StageKind::Lost, StageKind::Recycled, StageKind::Disqualified];

    pub fn as_str(self) -> &'static str {
        match self {
            StageKind::Open => "open",
            StageKind::Won => "won",
            StageKind::Lost => "lost",
            StageKind::Recycled => "recycled",
            StageKind::Disqualified => "disqualified",
        }
    }

    pub fn parse(s: &str) -> Option<StageKind> {
        StageKind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// Won, lost or disqualified: the lead's time in the pipeline is over. Automatic moves never
    /// take a lead out of a closed stage; only a rep does.
    pub fn is_closed(self) -> bool {
        matches!(self, StageKind::Won | StageKind::Lost | StageKind::Disqualified)
    }

    /// Open: someone is working the lead.
    pub fn is_active(self) -> bool {
        self == StageKind::Open
    }

    /// Whether a move to a stage of this kind may need a reason (`reasons`).
    pub fn takes_reasons(self) -> bool {
        self.is_closed()
    }

    /// The win probability a stage of this kind has when the file gives none; `None` for open
    /// stages, which must give theirs.
    fn default_probability(self) -> Option<f64> {
        match self {
            StageKind::Open => None,
            StageKind::Won => Some(1.0),
            StageKind::Lost | StageKind::Recycled | StageKind::Disqualified => Some(0.0),
        }
    }
}

impl fmt::Display for StageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stage of a pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    id: String,
    name: String,
    kind: StageKind,
    probability: f64,
    rotting_days: Option<u32>,
    lifecycle: Option<LifecycleStage>,
    /// `None`: any other stage.
    to: Option<Vec<String>>,
    requires: Vec<FieldRef>,
    enter_when: Vec<EnterWhen>,
    reasons: Vec<String>,
    tasks: Vec<StageTask>,
}

/// A task a lead gets as it enters a stage (`[[stages.tasks]]`).
#[derive(Clone, Debug, PartialEq)]
pub struct StageTask {
    pub kind: TaskKind,
    pub title: TaskTitle,
    pub priority: Priority,
    /// From the move, on its clock: the owner's working time, or the wall clock.
    pub due: SlaDuration,
}

impl Stage {
    /// The stage's id, unique in its pipeline: what moves, APIs and stores name it by.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name people see; the id unless the file gives one.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> StageKind {
        self.kind
    }

    /// The chance, 0 to 1, that a lead in this stage is won.
    pub fn probability(&self) -> f64 {
        self.probability
    }

    /// Days a lead may stay in this (open) stage before it is rotting.
    pub fn rotting_days(&self) -> Option<u32> {
        self.rotting_days
    }

    /// The lifecycle stage a lead in this stage has.
    pub fn lifecycle(&self) -> Option<LifecycleStage> {
        self.lifecycle
    }

    /// The stages a lead may move to from here; `None` means any other stage.
    pub fn allowed_next(&self) -> Option<&[String]> {
        self.to.as_deref()
    }

    /// Whether `to` lists the stage with this id (a stage without `to` allows every stage).
    pub fn allows_move_to(&self, id: &str) -> bool {
        self.to.as_ref().is_none_or(|to| to.iter().any(|t| t == id))
    }

    /// The profile fields a lead must have set to enter this stage.
    pub fn requires(&self) -> &[FieldRef] {
        &self.requires
    }

    /// The fields of `requires` this lead has not set, in the file's order.
    pub fn missing_fields(&self, profile: &Profile) -> Vec<FieldRef> {
        self.requires.iter().filter(|f| !is_set(profile.value(f))).cloned().collect()
    }

    /// What moves a lead into this stage on its own; any one entry is enough.
    pub fn enter_when(&self) -> &[EnterWhen] {
        &self.enter_when
    }

    /// The tasks a lead entering this stage gets, in file order.
    pub fn tasks(&self) -> &[StageTask] {
        &self.tasks
    }

    /// The reasons a move here must give one of; empty when it needs none.
    pub fn reasons(&self) -> &[String] {
        &self.reasons
    }

    /// The reason of this stage's list that `given` means, ignoring case and surrounding space:
    /// the spelling to store.
    pub fn reason(&self, given: &str) -> Option<&str> {
        let given = given.trim();
        self.reasons.iter().find(|r| r.to_lowercase() == given.to_lowercase()).map(String::as_str)
    }

    /// Whether a lead that entered this stage at `entered_at` is rotting at `now`: it has been
    /// here longer than `rotting_days`. Exactly `rotting_days` is not yet rotting; a millisecond
    /// more is. A stage without `rotting_days` never rots.
    pub fn is_rotting(&self, entered_at: Timestamp, now: Timestamp) -> bool {
        self.rotting_days
            .is_some_and(|days| now.millis().saturating_sub(entered_at.millis()) > i64::from(days) * MILLIS_PER_DAY)
    }
}

/// A field counts as set when it has a value that is not blank.
fn is_set(value: FieldValue<'_>) -> bool {
    match value {
        FieldValue::Missing => false,
        FieldValue::Text(s) => !s.trim().is_empty(),
        FieldValue::Number(_) | FieldValue::Bool(_) | FieldValue::Date(_) => true,
    }
}

/// One way into a stage without a rep moving the lead (`[[stages.enter_when]]`).
#[derive(Clone, Debug, PartialEq)]
pub enum EnterWhen {
    /// `mql = true`: the lead became marketing-qualified.
    BecameMql,
    /// `score_at_least = 60`: a score reached this total.
    ScoreAtLeast(f64),
    /// `grade_at_least = "B"`: a score gave this grade or a better one.
    GradeAtLeast(Grade),
    /// `event = "demo_requested"`: the lead did this.
    Event(EventType),
    /// `outcome = "won"`: a won or lost outcome was recorded (from a CRM, say).
    Outcome(OutcomeKind),
}

impl EnterWhen {
    pub fn fires(&self, trigger: &Trigger<'_>) -> bool {
        match (self, trigger) {
            (EnterWhen::BecameMql, Trigger::BecameMql) => true,
            (EnterWhen::ScoreAtLeast(min), Trigger::Scored { total, .. }) => total >= min,
            // Grades order A first: `grade <= B` is A or B.
            (EnterWhen::GradeAtLeast(min), Trigger::Scored { grade, .. }) => grade <= min,
            (EnterWhen::Event(wanted), Trigger::Event(happened)) => wanted == *happened,
            (EnterWhen::Outcome(wanted), Trigger::Outcome(happened)) => wanted == happened,
            _ => false,
        }
    }
}
