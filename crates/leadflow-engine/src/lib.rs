//! leadflow's use cases over any [`Store`]: everything the CLI and the server do to leads.
//!
//! The engine owns the rules of *when* to score and *what* to record (history, MQL); the core
//! owns *how* to score; the store only keeps things.

mod assignment;
mod bulk;
mod changes;
mod digest;
mod do_not_contact;
mod email_links;
mod email_sends;
mod enrollments;
mod filter;
mod history;
mod history_import;
mod identities;
mod identity;
mod import;
mod inbound_mail;
mod jobs;
mod keys;
mod lab;
mod learn;
mod mail;
mod news;
mod nurture;
mod patch;
mod pipelines;
mod queue;
mod reports;
mod reps;
mod rescore;
mod rule_files;
mod send_metrics;
mod sequences;
mod sla;
mod stage_moves;
mod sweep;
mod tasks;
mod templates;
mod touchpoints;
mod trees;
mod web;

use leadflow_store::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;
use std::sync::Arc;

use leadflow_core::change::{profile_changes, stage_move};
use leadflow_core::scoring::{self, Explanation};
use leadflow_core::{
    Activity, Email, EventKey, EventShape, ExternalId, LeadFacts, LeadId, LeadRef, LifecycleStage, Model, ModelError,
    Outcome, OutcomeKind, Profile, ScoreCard, ScoreState, Timestamp, Topic,
};
use leadflow_store::{
    Cause, ChangeCause, ChangeOrigin, HistoryEntry, Inserted, LeadRecord, ModelRecord, ModelVersion, NewEvent,
    Notification, ScoreValues, ScoreWrite, StateWrite, Store, StoreError, StoredEvent, StoredScore, Transaction,
};

pub use assignment::{ActiveAssignment, OwnerGiven, SavedAssignment};
pub use digest::{Digest, DigestRequest};
pub use do_not_contact::{DoNotContact, Listed};
pub use email_links::Unsubscribed;
pub use filter::{LeadFilter, lead_order};
pub use history_import::{ChangeInput, HistoryRow, HistorySummary};
pub use identities::LeadIdentities;
pub use identity::{Identity, IdentitySecret, TokenError};
pub use import::{ImportOptions, ImportRow, ImportSummary};
pub use inbound_mail::{InboundKind, Received};
pub use jobs::{DigestSink, JobKind, JobRound, JobSettings, retry_delay};
pub use keys::{constant_time_eq, hash_secret};
pub use lab::{Backtest, Backtested, Comparison, Cutoff, LabError, Move};
pub use learn::LearnedPoints;
pub use mail::{LinkError, MailError, MailLinks, Mailbox, Mailer, OutgoingEmail};
pub use nurture::{EMAIL_SEND_JOB, NurtureRound, NurtureSettings};
pub use patch::{PatchValue, lead_input};
pub use pipelines::ActivePipelines;
pub use queue::{QueueItem, Urgency};
pub use reports::{ModelReportRequest, PipelineReportRequest};
pub use reps::{RepLine, RepsReport, RepsReportRequest, TeamLine};
pub use rescore::{RescoreOptions, RescoreReport};
pub use rule_files::SavedRuleFile;
pub use send_metrics::{SendMetrics, SequenceFigures};
pub use sla::{
    ActiveSla, ClockState, ComplianceLine, ComplianceReport, Decided, Decision, SavedSla, SlaClock, SlaSweep,
};
pub use stage_moves::{Moved, StageMove};
pub use sweep::SweepReport;
pub use tasks::{AddTask, Due, Reminders, TaskChange, TaskList};
pub use templates::{PREVIEW_UNSUBSCRIBE_URL, TemplateToPreview};
pub use touchpoints::{OutcomeSource, TouchpointRequest};

use stage_moves::Happened;
pub use trees::{FeatureSpec, LearnedTrees, Prediction, TREES_FORMAT};
pub use web::{TrackingLimits, Visit, VisitOutcome};

/// Where "now" comes from: the system clock in production, a fixed one in tests.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp::from_millis(d.as_millis() as i64)
    }
}

/// A clock that reads what it was last set to.
pub struct FixedClock(std::sync::Mutex<Timestamp>);

impl FixedClock {
    pub fn new(t: Timestamp) -> FixedClock {
        FixedClock(std::sync::Mutex::new(t))
    }

    pub fn set(&self, t: Timestamp) {
        *self.0.lock().expect("clock lock") = t;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("clock lock")
    }
}

/// Reports how far a long job has got.
pub trait Progress: Sync {
    fn start(&self, _total: u64) {}
    fn advance(&self, _done: u64) {}
}

/// Progress nobody watches.
pub struct Quiet;
impl Progress for Quiet {}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no model is active: run `leadflow init` or `leadflow model apply FILE`")]
    NoActiveModel,
    #[error("the active model {version} no longer parses:\n{error}")]
    ActiveModelInvalid { version: ModelVersion, error: ModelError },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("no {0}")]
    NoSuchLead(LeadRef),
    #[error(
        "no lead with id {0}: an event can name a lead by id only once it exists (import the leads first, or name the lead by email to create it)"
    )]
    UnknownLeadId(LeadId),
    #[error(
        "no {0}: a phone number or another system's id names a lead once the lead has it (name the lead by email or external id to create it, then add the identity)"
    )]
    UnknownIdentity(LeadRef),
    #[error(
        "{0} is the lead's own {kind}: change the lead's {kind} to another first (the old one stays the lead's, and can then be removed)",
        kind = if matches!(.0, leadflow_core::Identity::Email(_)) { "email" } else { "external id" }
    )]
    OwnIdentity(leadflow_core::Identity),
    #[error("{identity} is lead {owner}'s: an identity names one lead")]
    IdentityTaken { identity: leadflow_core::Identity, owner: LeadId },
    #[error("{} belongs to lead {owner}, not to lead {id}", key_name(.key))]
    KeyTaken { key: LeadRef, owner: LeadId, id: LeadId },
    #[error(
        "email {email} is lead {email_lead}, but external id {external_id} is lead {external_lead}: the two keys name two leads"
    )]
    KeysDisagree { email: Email, email_lead: LeadId, external_id: ExternalId, external_lead: LeadId },
    #[error(
        "lead {lead} has external id {stored}, not {given}: an external id changes only with the lead's id given, or after clearing it"
    )]
    ExternalIdDiffers { lead: LeadId, stored: ExternalId, given: ExternalId },
    #[error("{0}")]
    InvalidLead(String),
    #[error("event id `{0}` is another lead's event already: send each event with an id of its own")]
    KeyOfAnotherLead(EventKey),
    #[error(
        "ts: {0} is more than a day ahead of this server's clock (a wrong date, date format or time zone?); an event from the future would count before it happened"
    )]
    FromTheFuture(Timestamp),
    #[error("no model version {0}")]
    NoSuchModel(i64),
    #[error(transparent)]
    Refused(#[from] leadflow_core::Refusal),
    #[error("{0}")]
    InvalidFilter(String),
    #[error("not usable trees: {0}")]
    InvalidTrees(String),
    #[error("the system's random number generator failed: {0}")]
    Randomness(String),
    #[error(transparent)]
    Lab(#[from] LabError),
    #[error(transparent)]
    Pipeline(#[from] leadflow_core::PipelineError),
    #[error("no pipeline version {0}")]
    NoSuchPipelineVersion(i64),
    #[error(transparent)]
    Sequence(#[from] leadflow_core::sequence::SequenceError),
    #[error("no sequence version {0}")]
    NoSuchSequenceVersion(i64),
    #[error("no active sequence `{0}`")]
    NoSuchSequence(String),
    #[error("lead {lead} is in sequence `{sequence}` already")]
    AlreadyEnrolled { lead: LeadId, sequence: String },
    #[error("lead {lead} was in sequence `{sequence}`: {}", enrollments::describe_again(.from))]
    NotReenrollable { lead: LeadId, sequence: String, from: Option<Timestamp> },
    #[error("lead {lead} is not in sequence `{sequence}`")]
    NotEnrolled { lead: LeadId, sequence: String },
    #[error("lead {lead}'s address is on the do-not-contact list ({reason})")]
    OnDoNotContact { lead: LeadId, reason: leadflow_core::contact::SuppressionReason },
    #[error(
        "sequence `{sequence}` names stages no active pipeline has: {} (the active pipelines: {})",
        .stages.join(", "),
        names_or_none(.active)
    )]
    SequenceStagesUnknown { sequence: String, stages: Vec<String>, active: Vec<String> },
    #[error("sequence `{sequence}` sends templates that are not active: {}", .templates.join(", "))]
    SequenceTemplatesMissing { sequence: String, templates: Vec<String> },
    #[error(transparent)]
    Template(#[from] leadflow_core::template::TemplateError),
    #[error(transparent)]
    Render(#[from] leadflow_core::template::RenderError),
    #[error("no template version {0}")]
    NoSuchTemplateVersion(i64),
    #[error("no active template `{0}`")]
    NoSuchTemplate(String),
    #[error("template `{template}` is sent by active sequences: {} (pause them first)", .sequences.join(", "))]
    TemplateInUse { template: String, sequences: Vec<String> },
    #[error("no active pipeline `{name}` (the active ones: {})", names_or_none(.active))]
    NoSuchPipeline { name: String, active: Vec<String> },
    #[error("{}", pipeline_needed(.active))]
    PipelineNeeded { active: Vec<String> },
    #[error("pipeline `{pipeline}` has no stage `{stage}`")]
    NoSuchStage { pipeline: String, stage: String },
    #[error(transparent)]
    Mail(crate::mail::MailError),
    /// A link of an email that this server's secret did not sign, or whose send is gone.
    #[error("the link is not valid")]
    BadLink,
    #[error("not an address for the {channel} do-not-contact list: {why}")]
    BadAddress { channel: leadflow_core::contact::Channel, why: String },
    #[error("the digest could not be delivered: {0}")]
    DigestUndelivered(String),
    #[error(
        "pipeline `{pipeline}` still has leads in stages this version lacks ({}): move them first, or keep those stages",
        .stages.iter().map(|(s, n)| format!("{n} in `{s}`")).collect::<Vec<_>>().join(", ")
    )]
    StagesInUse { pipeline: String, stages: Vec<(String, u64)> },
    #[error(
        "no active pipeline takes lead {0} (none of their routing conditions holds, and there is no fallback): name the pipeline"
    )]
    NoPipelineFor(LeadId),
    #[error("{0}")]
    MoveRefused(leadflow_core::MoveRefusal),
    #[error(transparent)]
    AssignmentRules(#[from] leadflow_core::team::AssignmentError),
    #[error(transparent)]
    User(#[from] leadflow_core::team::UserError),
    #[error("no user `{0}`: add them first (`leadflow users add`)")]
    NoSuchUser(leadflow_core::team::UserName),
    #[error("user `{0}` is inactive and takes no leads")]
    UserInactive(leadflow_core::team::UserName),
    #[error("no assignment rules are active: apply a file with `leadflow assignment apply`, or name the owner")]
    NoAssignmentRules,
    #[error("nobody can take the lead: {0}")]
    NobodyToAssign(String),
    #[error("no task {0}")]
    NoSuchTask(i64),
    #[error(transparent)]
    Task(#[from] leadflow_core::task::TaskError),
    #[error(transparent)]
    SlaPolicy(#[from] leadflow_core::sla::SlaError),
    #[error("{}", reject_reason_problem(.given, .listed))]
    RejectReason { given: String, listed: Vec<String> },
    #[error("lead {lead} is in `{stage}`, not being handed over: only an open lead can be rejected")]
    NotHandedOver { lead: LeadId, stage: String },
}

fn reject_reason_problem(given: &str, listed: &[String]) -> String {
    let listed =
        if listed.is_empty() { String::new() } else { format!(" (the SLA policy's reasons: {})", listed.join(", ")) };
    if given.is_empty() {
        format!("a rejection needs a reason{listed}")
    } else {
        format!("`{given}` is not a reason to reject a lead{listed}")
    }
}

fn pipeline_needed(active: &[String]) -> String {
    if active.is_empty() {
        "no pipeline is active: apply one first".into()
    } else {
        format!("several pipelines are active ({}): name one", names_or_none(active))
    }
}

fn names_or_none(names: &[String]) -> String {
    if names.is_empty() { "none".into() } else { names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ") }
}

/// "email ana@acme.example", "external id 00Q5g": a key as an error names it.
fn key_name(key: &LeadRef) -> String {
    match key {
        LeadRef::Id(id) => format!("id {id}"),
        LeadRef::Email(email) => format!("email {email}"),
        LeadRef::External(id) => format!("external id {id}"),
        LeadRef::System(system, id) => format!("{system} id {id}"),
        LeadRef::Phone(phone) => format!("phone {phone}"),
    }
}

/// A lead as given by an import or a caller. Fields it leaves empty are kept as they were.
#[derive(Clone, Debug, PartialEq)]
pub struct LeadInput {
    pub id: Option<LeadId>,
    pub profile: Profile,
    /// When the lead first appeared (a CRM's creation date); now if not given.
    pub created_at: Option<Timestamp>,
    /// How the lead ended, and when (the import's time if not given), for backtests and
    /// training. `None` leaves a recorded outcome as it is.
    pub outcome: Option<(OutcomeKind, Option<Timestamp>)>,
    /// Fields to empty (an API `null`).
    pub clear: Vec<leadflow_core::FieldRef>,
    /// More identities for the lead (an import's identity columns): added to the lead the input
    /// names, and refused with the row when another lead has one. They do not name the lead.
    pub identities: Vec<leadflow_core::Identity>,
}

impl LeadInput {
    /// The lead of this profile, nothing else said: no id, creation time, outcome, field to
    /// empty or further identity.
    pub fn of(profile: Profile) -> LeadInput {
        LeadInput { id: None, profile, created_at: None, outcome: None, clear: Vec::new(), identities: Vec::new() }
    }
}

/// An event as given by a caller.
#[derive(Clone, Debug, PartialEq)]
pub struct EventInput {
    /// The idempotency key; derived from the event's contents when not given.
    pub key: Option<EventKey>,
    pub lead: LeadRef,
    pub ts: Timestamp,
    pub shape: EventShape,
}

impl EventInput {
    pub fn key(&self) -> EventKey {
        self.key.clone().unwrap_or_else(|| {
            let lead = match &self.lead {
                LeadRef::Id(id) => id.to_string(),
                LeadRef::Email(e) => e.to_string(),
                LeadRef::External(x) => format!("external:{x}"),
                LeadRef::System(system, x) => format!("{system}:{x}"),
                LeadRef::Phone(p) => format!("phone:{p}"),
            };
            EventKey::derive(&lead, self.ts, &self.shape)
        })
    }
}

/// A lead's score after a change.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub lead: LeadId,
    pub card: ScoreCard,
    pub bucket: String,
    pub became_mql: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TrackOutcome {
    Accepted {
        scored: Scored,
        created_lead: bool,
    },
    /// An event with this key was already stored; nothing changed.
    Duplicate {
        lead: LeadId,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct UpsertOutcome {
    pub created: bool,
    pub scored: Scored,
}

/// What became of one event of a [`Engine::track_batch`].
#[derive(Debug)]
pub enum BatchItem {
    Accepted { key: EventKey, lead: LeadId, created_lead: bool },
    Duplicate { key: EventKey, lead: LeadId },
    Rejected { key: EventKey, reason: EngineError },
}

/// What a [`Engine::track_batch`] did: one item per event, in order, and each changed lead's
/// score after all of its new events.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub items: Vec<BatchItem>,
    pub scores: FxHashMap<LeadId, Scored>,
}

/// What one import batch did. Rejected rows are (index in the batch, reason).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchReport {
    pub accepted: usize,
    pub duplicates: usize,
    pub created_leads: usize,
    pub updated_leads: usize,
    pub rejected: Vec<(usize, String)>,
}

/// Everything there is to say about one lead.
#[derive(Clone, Debug)]
pub struct LeadView {
    pub record: LeadRecord,
    pub model: ModelVersion,
    /// Recomputed from the events for the view's instant.
    pub explanation: Explanation,
    pub bucket: String,
    pub timeline: Vec<StoredEvent>,
    pub history: Vec<HistoryEntry>,
    /// The lead's latest predicted chance of converting, if a trained model has been applied.
    pub prediction: Option<leadflow_store::StoredPrediction>,
}

#[derive(Clone, Debug)]
pub struct ApplyReport {
    pub version: ModelVersion,
    pub name: String,
    pub rescore: RescoreReport,
}

#[derive(Clone)]
struct Active {
    version: ModelVersion,
    model: Arc<Model>,
    /// The event properties its rules look at, which the store must keep in shapes.
    properties: Arc<BTreeSet<String>>,
}

impl Active {
    fn new(version: ModelVersion, model: Model) -> Active {
        Active { version, properties: Arc::new(model.property_names()), model: Arc::new(model) }
    }
}

pub struct Engine<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
    active: Option<Active>,
    pipelines: Option<ActivePipelines>,
    assignment: Option<ActiveAssignment>,
    sla: Option<ActiveSla>,
    /// The tracking rules as last read, with the active versions they were read at.
    tracking: Option<(Vec<(leadflow_store::RuleFileKind, leadflow_store::RuleFileVersion)>, stage_moves::Tracking)>,
}

impl<S: Store> Engine<S> {
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Engine<S> {
        Engine { store, clock, active: None, pipelines: None, assignment: None, sla: None, tracking: None }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// The rules of `model` (parsed from `source`) that can match nothing this database holds:
    /// event types no event has had, properties no such event has had, custom fields no lead has.
    pub fn model_warnings(
        &self,
        model: &Model,
        source: &str,
    ) -> Result<Vec<leadflow_core::model::ModelWarning>, EngineError> {
        let known = leadflow_core::model::Known {
            events: self.store.event_properties()?,
            custom_fields: self.store.custom_field_names()?,
        };
        Ok(model.warnings(source, &known))
    }

    /// The store, to tune its connection (how long a write waits for a lock, say): writes go
    /// through the engine's use cases, never through this.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The active model, parsed once and kept while it stays active: another process (a
    /// `leadflow model apply` beside a running server) may activate another version at any time.
    pub fn active_model(&mut self) -> Result<(ModelVersion, Arc<Model>), EngineError> {
        let a = self.active()?;
        Ok((a.version, a.model.clone()))
    }

    /// The active model with the event properties its rules look at, checked against the store
    /// once per call. Every transaction that stores events makes the store keep those properties
    /// in shapes first: a model saved here did so already; this covers one activated by an older
    /// version or another process.
    fn active(&mut self) -> Result<&Active, EngineError> {
        let current = self.store.active_version()?;
        if self.active.as_ref().map(|a| a.version) != current {
            let record = self.store.active_model()?.ok_or(EngineError::NoActiveModel)?;
            self.active = Some(load(&record)?);
        }
        Ok(self.active.as_ref().expect("just loaded"))
    }

    /// The active model's properties ([`active`](Self::active)), none without an active model.
    fn active_properties(&mut self) -> Result<Arc<BTreeSet<String>>, EngineError> {
        match self.active() {
            Ok(a) => Ok(a.properties.clone()),
            Err(EngineError::NoActiveModel) => Ok(Arc::default()),
            Err(e) => Err(e),
        }
    }

    /// Makes the store keep the properties `model`'s rules look at, reshaping the events that
    /// set them aside: before a model the store has not seen (the lab's) scores anything.
    pub fn keep_properties_of(&mut self, model: &Model) -> Result<u64, EngineError> {
        let mut tx = self.store.begin()?;
        let reshaped = tx.keep_properties(&model.property_names())?;
        tx.commit()?;
        Ok(reshaped)
    }

    /// Installs and activates the built-in default model when no model is active yet.
    /// Returns the version installed, if any.
    pub fn ensure_model(&mut self) -> Result<Option<ModelVersion>, EngineError> {
        if self.store.active_model()?.is_some() {
            return Ok(None);
        }
        let now = self.now();
        let mut tx = self.store.begin()?;
        let model = Model::builtin_default();
        let v = tx.save_model(&model.name, leadflow_core::model::DEFAULT_MODEL_SOURCE, now)?;
        tx.keep_properties(&model.property_names())?;
        tx.activate_model(v, now)?;
        tx.commit()?;
        self.active = None;
        Ok(Some(v))
    }

    /// Validates, stores and activates a model, then rescores every lead with it.
    pub fn apply_model(&mut self, source: &str, progress: &dyn Progress) -> Result<ApplyReport, EngineError> {
        let model = Model::parse(source)?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        let version = tx.save_model(&model.name, source, now)?;
        tx.keep_properties(&model.property_names())?;
        tx.activate_model(version, now)?;
        tx.commit()?;
        self.active = Some(Active::new(version, model));
        let rescore = self.rescore(RescoreOptions::needed_now(now), progress)?;
        let name = self.active.as_ref().expect("set above").model.name.clone();
        Ok(ApplyReport { version, name, rescore })
    }

    /// Re-activates a stored model version and rescores.
    pub fn activate_version(
        &mut self,
        version: ModelVersion,
        progress: &dyn Progress,
    ) -> Result<ApplyReport, EngineError> {
        let record = self
            .store
            .models()?
            .into_iter()
            .find(|m| m.version == version)
            .ok_or(EngineError::NoSuchModel(version.0))?;
        let active = load(&record)?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        tx.keep_properties(&active.properties)?;
        tx.activate_model(version, now)?;
        tx.commit()?;
        let name = active.model.name.clone();
        self.active = Some(active);
        let rescore = self.rescore(RescoreOptions::needed_now(now), progress)?;
        Ok(ApplyReport { version, name, rescore })
    }

    /// Creates or updates a lead (matched by id, else by external id, else by email) and
    /// rescores it.
    /// What it changes goes in the change log as `leadflow`'s (the CLI's).
    pub fn upsert_lead(&mut self, input: LeadInput) -> Result<UpsertOutcome, EngineError> {
        let admin = leadflow_core::Actor { role: leadflow_core::Role::Admin, name: "" };
        self.upsert_lead_as(&admin, &ChangeOrigin::of(ChangeCause::Cli), input)
    }

    /// [`upsert_lead`](Self::upsert_lead) for an actor whose role and ownership must allow it,
    /// checked in the transaction that writes, against the lead the input names; what it changes
    /// goes in the change log as `origin`'s.
    pub fn upsert_lead_as(
        &mut self,
        actor: &leadflow_core::Actor<'_>,
        origin: &ChangeOrigin,
        input: LeadInput,
    ) -> Result<UpsertOutcome, EngineError> {
        let (version, model) = self.active_model()?;
        let tracking = self.tracking()?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        let existing = named_lead(&mut tx, &input)?;
        let owner_now = existing.as_ref().map(|l| l.profile.owner.as_deref());
        actor.may_write_lead(owner_now, input.profile.owner.as_deref())?;
        let owner_before = existing.as_ref().and_then(|l| l.profile.owner.clone());
        let (lead, created) = match upsert_in(&mut tx, &input, existing, now, origin)? {
            Upserted::Created(id) => (tx.lead(&LeadRef::Id(id))?.ok_or(StoreError::NoSuchLead(id))?, true),
            Upserted::Updated(lead) => (*lead, false),
        };
        if lead.profile.owner != owner_before {
            let by = origin.actor.as_deref().unwrap_or(origin.cause.as_str());
            let reason = format!("set by {by}");
            assignment::owner_changed_in(&mut tx, &tracking, owner_before.as_deref(), &lead, &reason, now)?;
        }
        let scored = rescore_lead(&mut tx, &model, version, lead.id, &[], now, Cause::Profile, created)?;
        let happened = Happened { created, outcome: input.outcome.map(|(kind, _)| kind), ..Happened::scored(&scored) };
        stage_moves::follow_up_in(&mut tx, &tracking, lead.id, &happened, now)?;
        tx.commit()?;
        Ok(UpsertOutcome { created, scored })
    }

    /// Records one event and updates the lead's score incrementally, durably, before returning.
    pub fn track(&mut self, input: EventInput) -> Result<TrackOutcome, EngineError> {
        let Active { version, model, properties: kept } = self.active()?.clone();
        let tracking = self.tracking()?;
        let now = self.now();
        not_ahead(&input, now)?;
        let key = input.key();
        let mut tx = self.store.begin()?;
        tx.keep_properties(&kept)?;
        let (lead, created_lead) = resolve_for_event(&mut tx, &input, now)?;
        let event = NewEvent { key: key.clone(), lead: lead.id, ts: input.ts, shape: input.shape.clone() };
        match tx.insert_event(&event, now)? {
            Inserted::New => {}
            Inserted::Duplicate => return Ok(TrackOutcome::Duplicate { lead: lead.id }),
            Inserted::OtherLead(_) => return Err(EngineError::KeyOfAnotherLead(key)),
        }
        let activity = Activity { ts: input.ts, matched: model.match_event(&input.shape) };
        let scored =
            rescore_lead(&mut tx, &model, version, lead.id, &[activity], now, Cause::Event(key), created_lead)?;
        let happened =
            Happened { created: created_lead, events: &[&input.shape.event_type], ..Happened::scored(&scored) };
        stage_moves::follow_up_in(&mut tx, &tracking, lead.id, &happened, now)?;
        tx.commit()?;
        Ok(TrackOutcome::Accepted { scored, created_lead })
    }

    /// A lead with its scores explained as of `as_of` (now if not given), timeline and history.
    pub fn view(
        &mut self,
        lead: &LeadRef,
        as_of: Option<Timestamp>,
        limit: usize,
    ) -> Result<Option<LeadView>, EngineError> {
        let (version, model) = self.active_model()?;
        let Some(record) = self.store.lead(lead)? else {
            return Ok(None);
        };
        let as_of = as_of.unwrap_or_else(|| self.now());
        // Reads only: a view must not take the write lock (the server reads beside a writer).
        let activity: Vec<Activity> = self
            .store
            .activity(record.id)?
            .into_iter()
            .map(|(ts, shape)| Activity { ts, matched: model.match_event(&shape) })
            .collect();
        let facts = LeadFacts { profile: &record.profile, created_at: record.created_at };
        let explanation = scoring::explain(&model, facts, &activity, as_of);
        let bucket = explanation.card.bucket_name(&model).to_string();
        let timeline = self.store.events_of(record.id, limit)?;
        let history = self.store.history_of(record.id, limit)?;
        let prediction = self.store.prediction(record.id)?;
        Ok(Some(LeadView { record, model: version, explanation, bucket, timeline, history, prediction }))
    }

    /// Clears a lead's MQL mark so that it can qualify again, and moves it to the recycled stage
    /// (in the change log as `origin`'s).
    pub fn recycle(&mut self, lead: &LeadRef, origin: &ChangeOrigin) -> Result<(), EngineError> {
        let now = self.now();
        let mut tx = self.store.begin()?;
        let record = tx.lead(lead)?.ok_or_else(|| EngineError::NoSuchLead(lead.clone()))?;
        tx.clear_mql(record.id)?;
        tx.set_stage(record.id, LifecycleStage::Recycled, now)?;
        tx.record_changes(record.id, now, origin, &stage_move(record.profile.stage, LifecycleStage::Recycled))?;
        tx.commit()?;
        Ok(())
    }

    /// Erases a lead and everything about it (a data-protection request).
    pub fn delete_lead(&mut self, lead: &LeadRef) -> Result<bool, EngineError> {
        let mut tx = self.store.begin()?;
        let Some(record) = tx.lead(lead)? else {
            return Ok(false);
        };
        let deleted = tx.delete_lead(record.id)?;
        tx.commit()?;
        Ok(deleted)
    }

    pub fn models(&self) -> Result<Vec<ModelRecord>, EngineError> {
        Ok(self.store.models()?)
    }
}

fn load(record: &ModelRecord) -> Result<Active, EngineError> {
    let model = Model::parse(&record.source)
        .map_err(|error| EngineError::ActiveModelInvalid { version: record.version, error })?;
    Ok(Active::new(record.version, model))
}

/// Errors that concern one row of a batch, not the batch.
fn is_row_error(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::DuplicateEmail(_)
            | StoreError::DuplicateExternalId(_)
            | StoreError::DuplicateId(_)
            | StoreError::NoSuchLead(_)
    )
}

enum Upserted {
    Created(LeadId),
    /// The lead as it now is.
    Updated(Box<LeadRecord>),
}

/// Matches the input to a lead by id, else by external id, else by email, and creates or updates
/// it, with its outcome when the input gives one. Fields the input leaves empty keep their values;
/// a lead matched by id or external id takes the input's email.
fn upsert_in<T: Transaction>(
    tx: &mut T,
    input: &LeadInput,
    existing: Option<LeadRecord>,
    now: Timestamp,
    origin: &ChangeOrigin,
) -> Result<Upserted, EngineError> {
    // The identities the input brings are free or the lead's: checked before anything is written.
    let target = existing.as_ref().map(|l| l.id);
    for identity in &input.identities {
        if let Some(owner) = tx.resolve_lead(&identity.clone().into())?
            && Some(owner) != target
        {
            return Err(EngineError::IdentityTaken { identity: identity.clone(), owner });
        }
    }
    let upserted = upsert_profile(tx, input, existing, now, origin)?;
    let id = match &upserted {
        Upserted::Created(id) => *id,
        Upserted::Updated(lead) => lead.id,
    };
    for identity in &input.identities {
        tx.add_identity(id, identity, now)?;
    }
    if let Some((kind, at)) = input.outcome {
        tx.set_outcome(id, Some(Outcome { kind, at: at.unwrap_or(now) }), now)?;
    }
    Ok(upserted)
}

/// The lead the input names, as it is now: by its id, else by its keys ([`lead_of_keys`]).
fn named_lead<T: Transaction>(tx: &mut T, input: &LeadInput) -> Result<Option<LeadRecord>, EngineError> {
    let id = match input.id {
        Some(id) => Some(id),
        None => lead_of_keys(tx, &input.profile)?,
    };
    match id {
        Some(id) => Ok(tx.lead(&LeadRef::Id(id))?),
        None => Ok(None),
    }
}

/// Creates the lead, or updates `existing` (the lead the input names, see [`named_lead`]) and
/// logs what that changed.
fn upsert_profile<T: Transaction>(
    tx: &mut T,
    input: &LeadInput,
    existing: Option<LeadRecord>,
    now: Timestamp,
    origin: &ChangeOrigin,
) -> Result<Upserted, EngineError> {
    match existing {
        None => {
            let created_at = input.created_at.unwrap_or(now);
            match tx.insert_lead(input.id, &input.profile, created_at, now) {
                Ok(id) => Ok(Upserted::Created(id)),
                Err(e) => Err(key_taken(tx, e, &input.profile, input.id)?),
            }
        }
        Some(mut lead) => {
            let id = lead.id;
            // A key the lead has already, beside its own, names it and does not replace its own
            // (given with the lead's id, it does: that is how a second email becomes the first).
            let known_email = match (&lead.profile.email, &input.profile.email) {
                (Some(own), Some(given)) if own != given && input.id.is_none() => {
                    tx.resolve_lead(&LeadRef::Email(given.clone()))? == Some(id)
                }
                _ => false,
            };
            let known_external = match (&lead.profile.external_id, &input.profile.external_id) {
                (Some(own), Some(given)) if own != given && input.id.is_none() => {
                    tx.resolve_lead(&LeadRef::External(given.clone()))? == Some(id)
                }
                _ => false,
            };
            if let (None, Some(stored), Some(given)) = (input.id, &lead.profile.external_id, &input.profile.external_id)
                && stored != given
                && !known_external
            {
                return Err(EngineError::ExternalIdDiffers { lead: id, stored: stored.clone(), given: given.clone() });
            }
            let before = lead.profile.clone();
            lead.profile.merge_from(&input.profile);
            if known_email {
                lead.profile.email.clone_from(&before.email);
            }
            if known_external {
                lead.profile.external_id.clone_from(&before.external_id);
            }
            for field in &input.clear {
                lead.profile.clear(field).map_err(|e| EngineError::InvalidLead(e.to_string()))?;
            }
            // The profile first: a refused one leaves the row's other changes unwritten too.
            if let Err(e) = tx.update_profile(id, &lead.profile, now) {
                return Err(key_taken(tx, e, &lead.profile, Some(id))?);
            }
            if let Some(created_at) = input.created_at.filter(|t| *t != lead.created_at) {
                tx.set_created_at(id, created_at)?;
                lead.created_at = created_at;
            }
            tx.record_changes(id, now, origin, &profile_changes(&before, &lead.profile))?;
            lead.updated_at = now;
            Ok(Upserted::Updated(Box::new(lead)))
        }
    }
}

/// The lead the profile's external id names, else the one its email names; refused when the two
/// name two leads.
fn lead_of_keys<T: Transaction>(tx: &mut T, profile: &Profile) -> Result<Option<LeadId>, EngineError> {
    let by_external = match &profile.external_id {
        Some(x) => tx.resolve_lead(&LeadRef::External(x.clone()))?,
        None => None,
    };
    let by_email = match &profile.email {
        Some(e) => tx.resolve_lead(&LeadRef::Email(e.clone()))?,
        None => None,
    };
    match (by_external, by_email, &profile.email, &profile.external_id) {
        (Some(external_lead), Some(email_lead), Some(email), Some(external_id)) if external_lead != email_lead => {
            Err(EngineError::KeysDisagree {
                email: email.clone(),
                email_lead,
                external_id: external_id.clone(),
                external_lead,
            })
        }
        _ => Ok(by_external.or(by_email)),
    }
}

/// A write refused because an email or external id it gives is another lead's, named with that
/// lead; other errors pass through.
fn key_taken<T: Transaction>(
    tx: &mut T,
    e: StoreError,
    profile: &Profile,
    id: Option<LeadId>,
) -> Result<EngineError, EngineError> {
    let key = match (&e, &profile.email, &profile.external_id) {
        (StoreError::DuplicateEmail(_), Some(email), _) => LeadRef::Email(email.clone()),
        (StoreError::DuplicateExternalId(_), _, Some(x)) => LeadRef::External(x.clone()),
        _ => return Ok(e.into()),
    };
    let owner = tx.resolve_lead(&key)?;
    Ok(match (owner, id) {
        (Some(owner), Some(id)) => EngineError::KeyTaken { key, owner, id },
        _ => e.into(),
    })
}

/// Events may be a little ahead of our clock (theirs may be fast), not days: those are a wrong
/// date, and would count before they happen and top the timeline for ever.
fn not_ahead(input: &EventInput, now: Timestamp) -> Result<(), EngineError> {
    if input.ts > now.plus_days(1) { Err(EngineError::FromTheFuture(input.ts)) } else { Ok(()) }
}

/// The event's lead; an unknown email creates one, first seen at the event's time.
fn resolve_for_event<T: Transaction>(
    tx: &mut T,
    input: &EventInput,
    now: Timestamp,
) -> Result<(LeadRecord, bool), EngineError> {
    if let Some(lead) = tx.lead(&input.lead)? {
        return Ok((lead, false));
    }
    let id = create_for(tx, &input.lead, input.ts, now)?;
    Ok((tx.lead(&LeadRef::Id(id))?.expect("inserted in this transaction"), true))
}

/// Like [`resolve_for_event`], but only the id: what a bulk import needs.
fn resolve_or_create<T: Transaction>(
    tx: &mut T,
    lead: &LeadRef,
    first_seen: Timestamp,
    now: Timestamp,
) -> Result<(LeadId, bool), EngineError> {
    match tx.resolve_lead(lead)? {
        Some(id) => Ok((id, false)),
        None => Ok((create_for(tx, lead, first_seen, now)?, true)),
    }
}

/// Creates the lead an unknown email or external id names, first seen at `first_seen` (now, if
/// that is later); an unknown id names no one.
fn create_for<T: Transaction>(
    tx: &mut T,
    lead: &LeadRef,
    first_seen: Timestamp,
    now: Timestamp,
) -> Result<LeadId, EngineError> {
    match lead {
        LeadRef::Id(id) => Err(EngineError::UnknownLeadId(*id)),
        LeadRef::System(..) | LeadRef::Phone(_) => Err(EngineError::UnknownIdentity(lead.clone())),
        LeadRef::Email(email) => Ok(tx.insert_lead(None, &Profile::new(email.clone()), first_seen.min(now), now)?),
        LeadRef::External(x) => {
            Ok(tx.insert_lead(None, &Profile::with_external_id(x.clone()), first_seen.min(now), now)?)
        }
    }
}

fn activity_in<T: Transaction>(tx: &mut T, model: &Model, lead: LeadId) -> Result<Vec<Activity>, EngineError> {
    Ok(tx
        .activity_of(lead)?
        .into_iter()
        .map(|(ts, shape)| Activity { ts, matched: model.match_event(&shape) })
        .collect())
}

/// Rescores one lead inside a transaction, holding it (see `hold_for_scoring`): from its kept
/// state plus `new_events` when the state is usable, else from all its events. Writes the score,
/// the state, history and MQL.
#[allow(clippy::too_many_arguments)]
fn rescore_lead<T: Transaction>(
    tx: &mut T,
    model: &Model,
    version: ModelVersion,
    lead: LeadId,
    new_events: &[Activity],
    now: Timestamp,
    cause: Cause,
    created: bool,
) -> Result<Scored, EngineError> {
    let held = tx.hold_for_scoring(&[lead], version)?.pop().flatten();
    let (lead, kept) = held.ok_or(StoreError::NoSuchLead(lead))?;
    let (write, scored) = rescored(tx, model, version, &lead, kept, new_events, now, cause, created)?;
    tx.write_score(&write)?;
    Ok(scored)
}

/// The lead's new score and what to write for it, from `kept` (its stored state, if any) plus
/// `new_events` when that state is usable, else from all its events (read then).
#[allow(clippy::too_many_arguments)]
fn rescored<T: Transaction>(
    tx: &mut T,
    model: &Model,
    version: ModelVersion,
    lead: &LeadRecord,
    kept: Option<Vec<u8>>,
    new_events: &[Activity],
    now: Timestamp,
    cause: Cause,
    created: bool,
) -> Result<(ScoreWrite, Scored), EngineError> {
    let facts = LeadFacts { profile: &lead.profile, created_at: lead.created_at };
    let kept = kept.and_then(|bytes| ScoreState::decode(&bytes, model).ok());
    let mut all_events = None;
    let state = match kept {
        Some(mut state) => {
            for a in new_events {
                state.apply(model, *a);
            }
            state
        }
        None => {
            let activity = activity_in(tx, model, lead.id)?;
            let state = ScoreState::from_activity(model, &activity);
            all_events = Some(activity);
            state
        }
    };
    let card = match state.score(model, facts, now) {
        Some(card) => card,
        // An event from the future (clock skew): score now without it.
        None => {
            let activity = match all_events {
                Some(a) => a,
                None => activity_in(tx, model, lead.id)?,
            };
            scoring::score(model, facts, &activity, now)
        }
    };
    // A lead never scored before (an import created it) is heard of with its first score.
    let created = created || lead.score.is_none();
    let subject =
        Subject { id: lead.id, profile: &lead.profile, mql_at: lead.mql_at, before: lead.score.as_ref(), created };
    Ok(score_write(model, version, subject, card, StateWrite::Set(state.encode()), now, cause))
}

/// The lead a new score is for, as it was before.
struct Subject<'a> {
    id: LeadId,
    profile: &'a Profile,
    mql_at: Option<Timestamp>,
    before: Option<&'a StoredScore>,
    /// Created by this change: subscribers hear of it with its first score.
    created: bool,
}

/// What to write for a new score: the score, history per the policy, MQL when it tips, and the
/// notifications for webhooks.
fn score_write(
    model: &Model,
    version: ModelVersion,
    lead: Subject<'_>,
    card: ScoreCard,
    state: StateWrite,
    as_of: Timestamp,
    cause: Cause,
) -> (ScoreWrite, Scored) {
    let bucket = card.bucket_name(model).to_string();
    let values = ScoreValues {
        fit: card.fit,
        engagement: card.engagement,
        total: card.total,
        bucket: bucket.clone(),
        grade: card.grade,
    };
    let became_mql = card.qualifies_mql && lead.mql_at.is_none();
    let history = history::entry(cause, version, lead.before, &values, became_mql, as_of);
    let notification = |topic, previous_bucket| Notification {
        topic,
        lead: lead.id,
        email: lead.profile.email.clone(),
        external_id: lead.profile.external_id.clone(),
        at: as_of,
        score: Some(values.clone()),
        previous_bucket,
        detail: None,
    };
    let mut notifications = Vec::new();
    if lead.created {
        notifications.push(notification(Topic::LeadCreated, None));
    }
    if let Some(before) = lead.before.filter(|b| b.values.bucket != bucket) {
        notifications.push(notification(Topic::LeadBucketChanged, Some(before.values.bucket.clone())));
    }
    if became_mql {
        notifications.push(notification(Topic::LeadMql, None));
    }
    // The store moves a lead at an earlier stage to mql as it qualifies; the log says so.
    let changes = if became_mql && lead.profile.stage.moves_to_mql_on_qualifying() {
        stage_move(lead.profile.stage, LifecycleStage::Mql)
    } else {
        Vec::new()
    };
    let write = ScoreWrite {
        lead: lead.id,
        score: StoredScore { model_version: version, as_of, values, stale: false, recorded_total: None },
        state,
        history,
        mql_at: became_mql.then_some(as_of),
        notifications,
        changes,
    };
    (write, Scored { lead: lead.id, card, bucket, became_mql })
}
