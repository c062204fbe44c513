//! The storage contract of leadflow.
//!
//! A backend implements [`Store`] (reads and bulk scans) and [`Transaction`] (the writes of one
//! unit of work, all or nothing). Logic stays out: the engine decides what to write, a store
//! only keeps it. Every backend passes the suite in [`conformance`] (feature `conformance`).

#[cfg(feature = "conformance")]
pub mod conformance;

mod backend;
mod changes;
mod do_not_contact;
mod enrollments;
mod identities;
mod jobs;
mod pipelines;
mod properties;
mod rule_files;
mod sends;
mod sla;
mod tasks;
mod touches;
mod url;
mod users;

pub use backend::Backend;
pub use changes::{ChangeRow, PlaceDecoder, place_text, read_change};
pub use do_not_contact::{
    DO_NOT_CONTACT_COLUMNS, DoNotContactQuery, DoNotContactReads, DoNotContactRecord, DoNotContactRow,
    DoNotContactWrites, NewDoNotContact,
};
pub use enrollments::{
    ENROLLMENT_COLUMNS, EnrollmentQuery, EnrollmentReads, EnrollmentRecord, EnrollmentRow, EnrollmentWrites,
    NewEnrollment,
};
pub use identities::{IdentityReads, IdentityRecord, IdentityWrites, profile_keys};
pub use jobs::{
    Enqueued, JobClaim, JobCount, JobOutcome, JobQuery, JobReads, JobRecord, JobStatus, JobTicket, JobWrites, NewJob,
    soonest_within_pools,
};
pub use pipelines::{PipelineReads, PipelineWrites};
pub use properties::{KeptProperties, PropertyChanges};
pub use rule_files::{RuleFileKind, RuleFileReads, RuleFileRecord, RuleFileVersion, RuleFileWrites};
pub use sends::{
    Engagement, NewSend, SEND_COLUMNS, SendCounts, SendGrouping, SendQuery, SendReads, SendRecord, SendRow, SendStatus,
    SendWrites, SentEmail, send_counts_sql,
};
pub use sla::{
    ComplianceQuery, ComplianceRow, NewSlaClock, SLA_CLOCK_COLUMNS, SlaClockQuery, SlaClockRecord, SlaClockRow, SlaMet,
    SlaReads, SlaResponse, SlaWrites, escalations_text,
};
pub use tasks::{NewTask, Reminded, TASK_COLUMNS, TaskCounts, TaskQuery, TaskReads, TaskRecord, TaskRow, TaskWrites};
pub use touches::TouchReader;
pub use url::{DatabaseUrl, DatabaseUrlError};
pub use users::{UserReads, UserRow, UserWrites, encode_holidays, read_cursor};

use leadflow_core::change::FieldChange;
use leadflow_core::report::{LeadPlaces, Names, ScorePoint};
use leadflow_core::{
    Email, EventKey, EventShape, ExternalId, Grade, LeadId, LeadRef, LifecycleStage, Outcome, Profile, Role, Timestamp,
    Topic, VisitorId,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a lead with email {0} already exists")]
    DuplicateEmail(String),
    #[error("a lead with external id {0} already exists")]
    DuplicateExternalId(String),
    #[error("a lead with id {0} already exists")]
    DuplicateId(LeadId),
    #[error("{identity} is lead {lead}'s")]
    IdentityTaken { identity: String, lead: LeadId },
    #[error("no lead {0}")]
    NoSuchLead(LeadId),
    #[error("no model version {0}")]
    NoSuchModel(i64),
    #[error("no rule file version {0}")]
    NoSuchRuleFile(i64),
    #[error("the database was written by a newer leadflow (schema {found}, this build knows up to {known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("the database is corrupt: {0}")]
    Corrupt(String),
    #[error("the database is busy (another process holds the write lock)")]
    Busy,
    /// Two units of work waited on each other (a deadlock, or a serialization failure) and the
    /// database failed this one to let the other go on: nothing of it was kept, and running it
    /// again is safe.
    #[error("a concurrent write got in the way (a deadlock the database broke); running it again is safe")]
    Conflict,
    #[error("a database statement ran longer than the statement timeout and was stopped")]
    TimedOut,
    #[error("the query cannot be answered: {0}")]
    InvalidQuery(String),
    #[error("storage backend: {0}")]
    Backend(String),
}

/// A stored API key: never the secret, only its hash.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKeyRecord {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The secret's first characters, to tell keys apart in lists.
    pub prefix: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// Something that happened to a lead, for the webhooks subscribed to its topic: a snapshot of
/// the lead as it was then.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    pub topic: Topic,
    pub lead: LeadId,
    pub email: Option<Email>,
    pub external_id: Option<ExternalId>,
    pub at: Timestamp,
    /// `None` for a lead not scored yet (a lead assigned or moved as it is created).
    pub score: Option<ScoreValues>,
    /// For [`Topic::LeadBucketChanged`]: the bucket it left.
    pub previous_bucket: Option<String>,
    /// What happened, for the topics of lead tracking.
    pub detail: Option<NotificationDetail>,
}

/// What happened to a lead, beyond its score, for the topics that say more: stored with the
/// delivery (as JSON) so that a receiver gets the news as it was when it happened.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NotificationDetail {
    /// [`Topic::LeadAssigned`].
    Assigned { owner: String, previous_owner: Option<String>, reason: String },
    /// [`Topic::LeadStageChanged`] and [`Topic::LeadRecycled`].
    StageChanged { pipeline: String, from_stage: Option<String>, to_stage: String, reason: Option<String> },
    /// [`Topic::TaskDue`] and [`Topic::TaskOverdue`].
    Task { task: i64, task_kind: String, title: String, owner: Option<String>, due_at: Timestamp },
    /// [`Topic::SlaBreached`].
    SlaBreached { clock: i64, rule: String, rule_name: String, owner: Option<String>, due_at: Option<Timestamp> },
    /// [`Topic::SequenceStep`].
    SequenceStep { sequence: String, step: String, enrollment: i64 },
}

impl NotificationDetail {
    /// The column's text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a detail always serializes")
    }

    pub fn from_json(text: &str) -> Result<NotificationDetail, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("a notification's detail: {e}")))
    }
}

/// A registered webhook. The secret signs deliveries, so it is kept as given.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookRecord {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub topics: Vec<Topic>,
    pub created_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or for a retry.
    Pending,
    Delivered,
    /// Given up after the last attempt.
    Failed,
    /// Its webhook was deleted before it could be delivered.
    Cancelled,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 4] =
        [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Failed, DeliveryStatus::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Cancelled => "cancelled",
        }
    }

    /// A delivery is where its job is.
    pub fn of_job(status: JobStatus) -> DeliveryStatus {
        match status {
            JobStatus::Pending => DeliveryStatus::Pending,
            JobStatus::Done => DeliveryStatus::Delivered,
            JobStatus::Failed => DeliveryStatus::Failed,
            JobStatus::Cancelled => DeliveryStatus::Cancelled,
        }
    }
}

/// The kind of job that sends one delivery: keyed by the delivery's id, in the lane of its
/// webhook and lead (one lead's news reaches a receiver in order) and the pool of its webhook
/// (a receiver's share of the senders).
pub const DELIVERY_JOB: &str = "webhook-delivery";

/// The most attempts a delivery's job allows, whatever the server's settings ask: it also gives
/// up a delivery whose every sender died before the receiver answered.
pub const DELIVERY_MAX_ATTEMPTS: u32 = 50;

/// One notification on its way to one webhook. Its state (status, attempts, when it is tried
/// next, the last error) is its job's; the delivery keeps what was sent and the receiver's last
/// HTTP status, and goes with its job when finished jobs are pruned.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRecord {
    pub id: i64,
    pub webhook: i64,
    pub notification: Notification,
    pub status: DeliveryStatus,
    /// Attempts started (its job's claims), the running one included.
    pub attempts: u32,
    /// When it is due; for one finished, when it was due last.
    pub next_attempt_at: Timestamp,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub delivered_at: Option<Timestamp>,
}

/// A delivery worker's claim on what is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliveryClaim {
    pub now: Timestamp,
    /// Until when the claimed deliveries are the claimer's alone.
    pub lease_until: Timestamp,
    /// The most deliveries one webhook may have claimed at once (by every claimer together).
    pub per_webhook: usize,
    pub limit: usize,
}

impl DeliveryClaim {
    /// The job queue's claim it is: of delivery jobs, each webhook a pool of `per_webhook`.
    pub fn jobs(&self) -> JobClaim<'static> {
        JobClaim {
            now: self.now,
            lease_until: self.lease_until,
            kinds: &[DELIVERY_JOB],
            limit: self.limit,
            per_pool: Some(self.per_webhook),
        }
    }
}

/// A delivery a claim took, with the webhook to send it to and the ticket that records its
/// attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedDelivery {
    pub ticket: JobTicket,
    pub delivery: DeliveryRecord,
    pub webhook: WebhookRecord,
}

/// What one delivery attempt came to.
#[derive(Clone, Debug, PartialEq)]
pub enum AttemptOutcome {
    Delivered {
        status: u16,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        status: Option<u16>,
        error: String,
        next_attempt_at: Timestamp,
    },
    Failed {
        status: Option<u16>,
        error: String,
    },
}

impl AttemptOutcome {
    /// How the attempt ends the delivery's job.
    pub fn job_outcome(&self) -> JobOutcome {
        match self {
            AttemptOutcome::Delivered { .. } => JobOutcome::Done,
            AttemptOutcome::Retry { error, next_attempt_at, .. } => {
                JobOutcome::Retry { error: error.clone(), at: *next_attempt_at }
            }
            AttemptOutcome::Failed { error, .. } => JobOutcome::Failed { error: error.clone() },
        }
    }

    /// The receiver's HTTP status, if it answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            AttemptOutcome::Delivered { status } => Some(*status),
            AttemptOutcome::Retry { status, .. } | AttemptOutcome::Failed { status, .. } => *status,
        }
    }
}

/// A website event of a visitor not yet known by email.
#[derive(Clone, Debug, PartialEq)]
pub struct AnonymousEvent {
    pub key: EventKey,
    pub visitor: VisitorId,
    pub ts: Timestamp,
    pub shape: EventShape,
}

/// A stored predictive model: its artifact is opaque to the store.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainedRecord {
    pub version: i64,
    pub name: String,
    pub artifact: Vec<u8>,
    pub created_at: Timestamp,
    pub active: bool,
}

/// A lead's latest predicted chance of converting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StoredPrediction {
    /// The trained model's version.
    pub version: i64,
    pub probability: f64,
    pub at: Timestamp,
}

/// A stored model version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelVersion(pub i64);

impl std::fmt::Display for ModelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}", self.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelRecord {
    pub version: ModelVersion,
    pub name: String,
    /// The model file exactly as it was applied.
    pub source: String,
    pub created_at: Timestamp,
    /// When it was last made the active model.
    pub activated_at: Option<Timestamp>,
    pub active: bool,
}

/// The numbers of a score, as kept and as recorded in history.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreValues {
    pub fit: f64,
    pub engagement: f64,
    pub total: f64,
    pub bucket: String,
    pub grade: Grade,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoredScore {
    pub model_version: ModelVersion,
    pub as_of: Timestamp,
    pub values: ScoreValues,
    /// The lead changed since (new events, a new profile): the score awaits a rescore.
    pub stale: bool,
    /// The total at the lead's last history entry (small moves are recorded once they add up).
    pub recorded_total: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LeadRecord {
    pub id: LeadId,
    pub profile: Profile,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When the lead became marketing-qualified, until it is recycled.
    pub mql_at: Option<Timestamp>,
    pub score: Option<StoredScore>,
    /// Since when the lead is where it is in its pipeline.
    pub pipeline_clock: PipelineClock,
}

/// Since when a lead is where it is in its pipeline ([`Profile::pipeline`]): what rotting and the
/// end of a lead's cycle count from. Kept beside the profile rather than in it: a stage move
/// sets these, nobody writes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PipelineClock {
    /// When the lead entered its pipeline: its cycle's start. `None` outside a pipeline.
    pub entered_at: Option<Timestamp>,
    /// When it entered its current stage.
    pub stage_entered_at: Option<Timestamp>,
    /// How many times it was recycled back to nurture.
    pub recycles: u32,
}

/// A lead to insert in bulk ([`LeadWrites::insert_leads`]), with the given id or a new one.
#[derive(Clone, Copy, Debug)]
pub struct NewLead<'a> {
    pub id: Option<LeadId>,
    pub profile: &'a Profile,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub key: EventKey,
    pub lead: LeadId,
    pub ts: Timestamp,
    pub shape: EventShape,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub key: EventKey,
    pub lead: LeadId,
    pub ts: Timestamp,
    pub shape: EventShape,
    pub received_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    New,
    /// An event with this key was stored before for this lead: nothing changed.
    Duplicate,
    /// An event with this key was stored before for another lead: nothing changed, and the
    /// sender reused an id it should not have.
    OtherLead(LeadId),
}

/// Why a score changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    Event(EventKey),
    /// Events arrived in bulk (an import).
    Import,
    Profile,
    Model(ModelVersion),
    /// Time passed: decay and inactivity.
    Decay,
    /// Recycled: the MQL flag was cleared.
    Recycle,
}

impl Cause {
    pub fn kind(&self) -> &'static str {
        match self {
            Cause::Event(_) => "event",
            Cause::Import => "import",
            Cause::Profile => "profile",
            Cause::Model(_) => "model",
            Cause::Decay => "decay",
            Cause::Recycle => "recycle",
        }
    }

    pub fn detail(&self) -> Option<String> {
        match self {
            Cause::Event(k) => Some(k.to_string()),
            Cause::Model(v) => Some(v.0.to_string()),
            _ => None,
        }
    }

    pub fn from_parts(kind: &str, detail: Option<&str>) -> Option<Cause> {
        Some(match kind {
            "event" => Cause::Event(EventKey::parse(detail?).ok()?),
            "import" => Cause::Import,
            "profile" => Cause::Profile,
            "model" => Cause::Model(ModelVersion(detail?.parse().ok()?)),
            "decay" => Cause::Decay,
            "recycle" => Cause::Recycle,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Event(k) => write!(f, "event {k}"),
            Cause::Model(v) => write!(f, "model {v}"),
            other => f.write_str(other.kind()),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub cause: Cause,
    pub model_version: ModelVersion,
    pub before: Option<ScoreValues>,
    pub after: ScoreValues,
    /// The lead became marketing-qualified with this change.
    pub became_mql: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LeadOrder {
    /// Highest total first; unscored leads last.
    #[default]
    ScoreDesc,
    ScoreAsc,
    Newest,
    RecentlyUpdated,
}

/// Where a page of a listing ends: the last lead's sort key and id. The next page starts right
/// after it (keyset pagination), so a lead whose position did not change is never skipped or
/// repeated, however the scores of others change between pages.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub key: SortKey,
    pub id: LeadId,
}

/// The value a listing is ordered by.
#[derive(Clone, Debug, PartialEq)]
pub enum SortKey {
    /// For the score orders; `None` for a lead not scored yet.
    Total(Option<f64>),
    /// For the time orders.
    Time(Timestamp),
}

impl LeadOrder {
    /// The key `lead` sorts by in this order.
    pub fn key_of(self, lead: &LeadRecord) -> SortKey {
        match self {
            LeadOrder::ScoreDesc | LeadOrder::ScoreAsc => SortKey::Total(lead.score.as_ref().map(|s| s.values.total)),
            LeadOrder::Newest => SortKey::Time(lead.created_at),
            LeadOrder::RecentlyUpdated => SortKey::Time(lead.updated_at),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeadQuery {
    pub bucket: Option<String>,
    pub grade: Option<Grade>,
    pub stage: Option<LifecycleStage>,
    pub owner: Option<String>,
    pub min_total: Option<f64>,
    pub max_total: Option<f64>,
    pub mql_only: bool,
    /// Words that must each appear (ignoring case) in the name, email, external id or company.
    pub text: Option<String>,
    pub created_from: Option<Timestamp>,
    /// Exclusive.
    pub created_until: Option<Timestamp>,
    pub updated_from: Option<Timestamp>,
    /// Exclusive.
    pub updated_until: Option<Timestamp>,
    pub order: LeadOrder,
    /// Start after this lead (a [`Cursor`] in `order`).
    pub after: Option<Cursor>,
    pub limit: usize,
    pub offset: usize,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreStats {
    pub leads: u64,
    pub events: u64,
    /// Events bulk transactions stored and the store has not yet indexed per lead (reads see
    /// them all the same; a backend that never defers says 0).
    pub deferred_events: u64,
    pub stale_leads: u64,
    pub mqls: u64,
    /// Leads per bucket name (scored leads only).
    pub buckets: Vec<(String, u64)>,
}

/// A stored event shape and the id the store interned it under.
pub type ShapeId = u32;

/// What a bulk rescore needs of one lead.
#[derive(Clone, Debug, PartialEq)]
pub struct RescoreItem {
    pub id: LeadId,
    pub profile: Profile,
    pub created_at: Timestamp,
    pub mql_at: Option<Timestamp>,
    pub score: Option<StoredScore>,
    /// The kept scoring state, when it was built by the model being scored and is not stale.
    pub state: Option<Vec<u8>>,
    /// The lead's events as (time, shape), oldest first; filled only when `state` is `None`.
    pub activity: Vec<(Timestamp, ShapeId)>,
    /// Which write of the lead's score the scan read: its result is written only if no other
    /// has come since (see [`Rescans::write_scores`]).
    pub revision: ScoreRevision,
}

impl RescoreItem {
    /// A lead as a scan reads it, with its kept `state` when that may stand in for its events:
    /// built by the model being scored (`states_of`) and not stale. The activity is loaded after.
    pub fn of(
        lead: LeadRecord,
        state: Option<Vec<u8>>,
        states_of: Option<ModelVersion>,
        revision: ScoreRevision,
    ) -> RescoreItem {
        let usable = lead.score.as_ref().is_some_and(|s| Some(s.model_version) == states_of && !s.stale);
        RescoreItem {
            id: lead.id,
            profile: lead.profile,
            created_at: lead.created_at,
            mql_at: lead.mql_at,
            score: lead.score,
            state: state.filter(|_| usable),
            activity: Vec::new(),
            revision,
        }
    }
}

/// How many times a lead's score row has been written (scored, marked stale): a scan's result
/// is written only over the revision it read, so a rescore that computed from what an event or
/// an import has since changed leaves that newer score alone instead of overwriting it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScoreRevision(pub i64);

/// A lead held for scoring by a unit of work, and its kept scoring state if usable
/// ([`Transaction::hold_for_scoring`]).
pub type HeldLead = (LeadRecord, Option<Vec<u8>>);

/// A rescore's result for one lead, and the revision of the score it was computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanWrite {
    pub write: ScoreWrite,
    pub read: ScoreRevision,
}

/// Which leads a bulk scan visits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanScope {
    All,
    /// Leads with no score, a stale score, or a score from another model than this one.
    NeedingRescore(ModelVersion),
}

/// What a bulk scan reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanRequest {
    pub scope: ScanScope,
    /// The model being scored, whose kept states (where still usable) stand in for a lead's
    /// events; `None` reads every lead's events.
    pub states_of: Option<ModelVersion>,
    /// Leads per batch.
    pub batch: usize,
}

/// What becomes of a lead's kept scoring state with a score write.
#[derive(Clone, Debug, PartialEq)]
pub enum StateWrite {
    /// It still holds (same model, no new events).
    Keep,
    /// It no longer holds and none is at hand: the next incremental update rebuilds it.
    Clear,
    Set(Vec<u8>),
}

/// The scoring result a bulk rescore writes for one lead.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreWrite {
    pub lead: LeadId,
    pub score: StoredScore,
    pub state: StateWrite,
    pub history: Option<HistoryEntry>,
    /// Sets the MQL time (the lead qualified with this score) unless one is set already; a lead
    /// at an earlier stage (subscriber, lead, recycled) moves to the mql stage with it.
    pub mql_at: Option<Timestamp>,
    /// For the webhooks subscribed to them.
    pub notifications: Vec<Notification>,
    /// What the score changes in the profile (the MQL tipping point moves the stage to mql),
    /// for the change log, as [`ChangeOrigin::mql_rule`]; written only if the score is.
    pub changes: Vec<FieldChange>,
}

/// Receives one batch of a bulk scan, with the store so that it can write its results.
pub type RescoreVisitor<'v, S> = dyn FnMut(&mut S, Vec<RescoreItem>) -> Result<(), StoreError> + 'v;

/// A backend: every port below, by concern, and units of work. Engine code names only this; a
/// backend implements each port and passes the conformance suite.
pub trait Store:
    LeadReads
    + EventReads
    + ScoreReads
    + Rescans
    + ModelReads
    + KeyReads
    + TrainedReads
    + OutcomeReads
    + OutboxReads
    + ChangeReads
    + JobReads
    + PipelineReads
    + RuleFileReads
    + UserReads
    + TaskReads
    + SlaReads
    + IdentityReads
    + EnrollmentReads
    + SendReads
    + DoNotContactReads
{
    type Tx<'a>: Transaction
    where
        Self: 'a;

    /// Starts a unit of work: everything written through it lands together or not at all. It
    /// sees every event committed before it, including those a bulk transaction deferred.
    fn begin(&mut self) -> Result<Self::Tx<'_>, StoreError>;
    /// Starts a bulk insert of events (an import): their keys are checked and they are stored
    /// durably as usual, but the store may defer indexing them per lead, and marking their
    /// leads stale, to when it suits it (the next scan or ordinary unit of work at the latest).
    /// Reads see them all the same.
    fn begin_bulk(&mut self) -> Result<Self::Tx<'_>, StoreError>;
    fn stats(&self) -> Result<StoreStats, StoreError>;
    /// What is wrong with the stored data, if anything: the backend's own checks (its files,
    /// its indexes) and leadflow's invariants (every event has its lead, every lead its score
    /// row, every indexed event its row). Empty when all is well. Reads only.
    fn verify(&self) -> Result<Vec<String>, StoreError>;
}

/// The writes of one unit of work, by concern. Dropped without [`commit`](Transaction::commit),
/// nothing lands.
pub trait Transaction:
    LeadWrites
    + EventWrites
    + ScoreWrites
    + ModelWrites
    + KeyWrites
    + TrainedWrites
    + OutcomeWrites
    + OutboxWrites
    + VisitorWrites
    + ChangeWrites
    + JobWrites
    + PipelineWrites
    + RuleFileWrites
    + UserWrites
    + TaskWrites
    + SlaWrites
    + IdentityWrites
    + EnrollmentWrites
    + SendWrites
    + DoNotContactWrites
{
    fn commit(self) -> Result<(), StoreError>;

    /// The leads as they are now, each with its kept scoring state (built by `model`, not
    /// stale), held by this unit of work until it ends: another unit of work scoring one of them,
    /// on this server or another, waits for this one and then reads what it wrote. What an event
    /// is scored from is read here, never before, so two events of one lead at once both count.
    /// `None` for a lead that does not exist.
    ///
    /// The default suits a backend whose units of work that write run one at a time.
    fn hold_for_scoring(&mut self, leads: &[LeadId], model: ModelVersion) -> Result<Vec<Option<HeldLead>>, StoreError> {
        let refs: Vec<LeadRef> = leads.iter().map(|l| LeadRef::Id(*l)).collect();
        let records = self.leads_named(&refs)?;
        let states = self.score_states(leads, model)?;
        Ok(records.into_iter().zip(states).map(|(lead, state)| lead.map(|lead| (lead, state))).collect())
    }
}

/// Every port, for code that calls them on a concrete backend.
pub mod prelude {
    pub use crate::{
        ChangeReads, ChangeWrites, DoNotContactReads, DoNotContactWrites, EnrollmentReads, EnrollmentWrites,
        EventReads, EventWrites, IdentityReads, IdentityWrites, JobReads, JobWrites, KeyReads, KeyWrites, LeadReads,
        LeadWrites, ModelReads, ModelWrites, OutboxReads, OutboxWrites, OutcomeReads, OutcomeWrites, PipelineReads,
        PipelineWrites, Rescans, RuleFileReads, RuleFileWrites, ScoreReads, ScoreWrites, SendReads, SendWrites,
        SlaReads, SlaWrites, Store, TaskReads, TaskWrites, TrainedReads, TrainedWrites, Transaction, UserReads,
        UserWrites, VisitorWrites,
    };
}

pub trait LeadReads {
    fn lead(&self, lead: &LeadRef) -> Result<Option<LeadRecord>, StoreError>;
    fn list_leads(&self, query: &LeadQuery) -> Result<Vec<LeadRecord>, StoreError>;
    /// The names of the custom fields any lead has.
    fn custom_field_names(&self) -> Result<std::collections::BTreeSet<String>, StoreError>;
}

pub trait LeadWrites {
    fn lead(&mut self, lead: &LeadRef) -> Result<Option<LeadRecord>, StoreError>;
    /// [`lead`](LeadWrites::lead) of each reference, in order. A backend whose every statement is
    /// a round trip looks them up together.
    fn leads_named(&mut self, leads: &[LeadRef]) -> Result<Vec<Option<LeadRecord>>, StoreError> {
        leads.iter().map(|l| self.lead(l)).collect()
    }
    /// The lead's id, if it exists: a cheaper [`lead`](LeadWrites::lead) for resolving references.
    fn resolve_lead(&mut self, lead: &LeadRef) -> Result<Option<LeadId>, StoreError>;
    /// [`resolve_lead`](LeadWrites::resolve_lead) of each reference, in order.
    fn resolve_leads(&mut self, leads: &[LeadRef]) -> Result<Vec<Option<LeadId>>, StoreError> {
        leads.iter().map(|l| self.resolve_lead(l)).collect()
    }
    /// Inserts a lead, with the given id or a new one.
    fn insert_lead(
        &mut self,
        id: Option<LeadId>,
        profile: &Profile,
        created_at: Timestamp,
        now: Timestamp,
    ) -> Result<LeadId, StoreError>;
    /// Inserts new leads, in order, each with its stale score row: an import's leads whose ids
    /// and keys no lead had when it looked. A lead whose id or key another lead holds by then (a
    /// concurrent writer's) is not inserted, and its place says `None`: the caller takes it on
    /// the row-by-row path. A backend with a bulk path (PostgreSQL's `COPY`) takes it.
    fn insert_leads(&mut self, leads: &[NewLead<'_>], now: Timestamp) -> Result<Vec<Option<LeadId>>, StoreError> {
        leads
            .iter()
            .map(|l| match self.insert_lead(l.id, l.profile, l.created_at, now) {
                Ok(id) => Ok(Some(id)),
                Err(
                    StoreError::DuplicateId(_) | StoreError::DuplicateEmail(_) | StoreError::DuplicateExternalId(_),
                ) => Ok(None),
                Err(e) => Err(e),
            })
            .collect()
    }
    fn update_profile(&mut self, id: LeadId, profile: &Profile, now: Timestamp) -> Result<(), StoreError>;
    /// Corrects when the lead first appeared (a CRM's creation date sent later).
    fn set_created_at(&mut self, id: LeadId, created_at: Timestamp) -> Result<(), StoreError>;
    fn set_stage(&mut self, lead: LeadId, stage: LifecycleStage, now: Timestamp) -> Result<(), StoreError>;
    /// Erases a lead with its events, scores and history. False when there was none.
    fn delete_lead(&mut self, id: LeadId) -> Result<bool, StoreError>;
}

pub trait EventReads {
    /// The lead's events as (time, shape), oldest first: what scoring reads. Takes no lock.
    fn activity(&self, lead: LeadId) -> Result<Vec<(Timestamp, EventShape)>, StoreError>;
    /// Newest first, at most `limit`, as they were sent.
    fn events_of(&self, lead: LeadId, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    /// Every event shape ever stored, by id.
    fn shapes(&self) -> Result<Vec<(ShapeId, EventShape)>, StoreError>;
    /// Every property name each event type has had, by type: those shapes keep and those set
    /// aside (what `model check` tells rules about).
    fn event_properties(
        &self,
    ) -> Result<std::collections::BTreeMap<String, std::collections::BTreeSet<String>>, StoreError>;
    /// Every event at or before `as_of` that attribution reads (a page view, or one naming a
    /// campaign, in its shape or in what it set aside) as a [`leadflow_core::report::Touch`],
    /// names interned in `names`; in no particular order (a report gathers them per lead).
    fn scan_touches(
        &self,
        as_of: Timestamp,
        names: &mut leadflow_core::report::Names,
        each: &mut dyn FnMut(LeadId, &leadflow_core::report::Touch),
    ) -> Result<(), StoreError>;
}

pub trait EventWrites {
    fn insert_event(&mut self, event: &NewEvent, received_at: Timestamp) -> Result<Inserted, StoreError>;
    /// Inserts a batch of events with distinct keys (an import's), saying what became of each,
    /// in order: what [`insert_event`](EventWrites::insert_event) of each would. A backend whose
    /// every statement is a round trip sends them together.
    fn insert_events(&mut self, events: &[NewEvent], received_at: Timestamp) -> Result<Vec<Inserted>, StoreError> {
        events.iter().map(|e| self.insert_event(e, received_at)).collect()
    }
    /// Makes shapes keep these property names from now on: a model's rules look at them. Events
    /// that set one aside are reshaped, and their leads marked stale; returns how many. Shapes
    /// keep only named properties, so that one unique per event (a session id) does not make a
    /// shape of each event; what was sent is kept all the same, and [`EventReads::events_of`]
    /// gives it.
    fn keep_properties(&mut self, names: &std::collections::BTreeSet<String>) -> Result<u64, StoreError>;
    /// The lead's events as (time, shape), oldest first.
    fn activity_of(&mut self, lead: LeadId) -> Result<Vec<(Timestamp, EventShape)>, StoreError>;
}

pub trait ScoreReads {
    /// Newest first, at most `limit`.
    fn history_of(&self, lead: LeadId, limit: usize) -> Result<Vec<HistoryEntry>, StoreError>;
    /// Every lead's current score, in id order.
    fn for_each_score(&self, visit: &mut dyn FnMut(LeadId, &StoredScore)) -> Result<(), StoreError>;
    /// Every recorded score of every lead, by lead, each lead's as recorded (the history's own
    /// index order; a caller wanting time order sorts a lead's few), buckets interned in
    /// `names`: what the model-over-time report reads.
    fn score_points(&self, names: &mut Names) -> Result<Vec<(LeadId, ScorePoint)>, StoreError>;
}

pub trait ScoreWrites {
    /// The kept scoring state, when built by `model`.
    fn score_state(&mut self, lead: LeadId, model: ModelVersion) -> Result<Option<Vec<u8>>, StoreError>;
    /// [`score_state`](ScoreWrites::score_state) of each lead, in order.
    fn score_states(&mut self, leads: &[LeadId], model: ModelVersion) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        leads.iter().map(|l| self.score_state(*l, model)).collect()
    }
    fn write_score(&mut self, write: &ScoreWrite) -> Result<(), StoreError>;
    /// [`write_score`](ScoreWrites::write_score) of each, in this transaction.
    fn write_score_batch(&mut self, writes: &[ScoreWrite]) -> Result<(), StoreError> {
        writes.iter().try_for_each(|w| self.write_score(w))
    }
    /// Marks the lead's score as awaiting a rescore.
    fn mark_stale(&mut self, lead: LeadId) -> Result<(), StoreError>;
    fn clear_mql(&mut self, lead: LeadId) -> Result<(), StoreError>;
}

/// Scans over every lead (or those needing it) in batches: rescores, predictions, the lab.
pub trait Rescans {
    /// Calls `visit` with the leads the request covers, in id order, a batch at a time, each with
    /// every event committed before the scan (what bulk transactions deferred included). The
    /// store holds no lock between calls, so `visit` may write (through [`Rescans::write_scores`]).
    fn scan_for_rescore(
        &mut self,
        request: ScanRequest,
        visit: &mut RescoreVisitor<'_, Self>,
    ) -> Result<(), StoreError>
    where
        Self: Sized;

    /// Fills `activity` (oldest first) for the items without a `state`.
    fn load_activity(&self, items: &mut [RescoreItem]) -> Result<(), StoreError>;

    /// How many leads a scan of `scope` would visit.
    fn count_for_rescore(&self, scope: ScanScope) -> Result<u64, StoreError>;

    /// Writes a batch of rescoring results in one transaction, each only if its lead's score is
    /// still at the revision the scan read (history, notifications and MQL times with it).
    /// Returns the leads left alone: scored or marked stale by another unit of work meanwhile,
    /// which saw more than the scan did. A scan holds no lock, so this is what keeps it from
    /// undoing concurrent ingest.
    fn write_scores(&mut self, writes: &[ScanWrite]) -> Result<Vec<LeadId>, StoreError>;
}

pub trait ModelReads {
    fn models(&self) -> Result<Vec<ModelRecord>, StoreError>;
    fn active_model(&self) -> Result<Option<ModelRecord>, StoreError>;
    /// Which version is active: a cheap check that a cached model is still the active one.
    fn active_version(&self) -> Result<Option<ModelVersion>, StoreError>;
}

pub trait ModelWrites {
    /// Stores a model source; the same source again returns its existing version.
    fn save_model(&mut self, name: &str, source: &str, now: Timestamp) -> Result<ModelVersion, StoreError>;
    fn activate_model(&mut self, version: ModelVersion, now: Timestamp) -> Result<(), StoreError>;
}

pub trait KeyReads {
    /// Every API key, revoked ones included, oldest first.
    fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// The live (not revoked) key with this secret hash.
    fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
}

pub trait KeyWrites {
    /// Stores a key by its secret's hash; returns its id.
    fn create_api_key(
        &mut self,
        name: &str,
        role: Role,
        hash: &str,
        prefix: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError>;
    /// Revokes a key. False when there is no such live key.
    fn revoke_api_key(&mut self, id: i64, now: Timestamp) -> Result<bool, StoreError>;
}

pub trait TrainedReads {
    /// Trained models, oldest first.
    fn trained_models(&self) -> Result<Vec<TrainedRecord>, StoreError>;
    fn prediction(&self, lead: LeadId) -> Result<Option<StoredPrediction>, StoreError>;
    /// Replaces the predictions of these leads (in one transaction).
    fn write_predictions(
        &mut self,
        version: i64,
        at: Timestamp,
        predictions: &[(LeadId, f64)],
    ) -> Result<(), StoreError>;
}

pub trait TrainedWrites {
    /// Stores a trained model; returns its version.
    fn save_trained(&mut self, name: &str, artifact: &[u8], now: Timestamp) -> Result<i64, StoreError>;
    /// Makes this version the active trained model (and no other).
    fn activate_trained(&mut self, version: i64, now: Timestamp) -> Result<(), StoreError>;
}

/// What caused a change of a lead, for its change log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeCause {
    /// A request to the HTTP API.
    Api,
    /// A `leadflow` command (`leads upsert`).
    Cli,
    /// A file imported (`leadflow import leads`, or over the API).
    Import,
    /// The website tracking endpoint (a visitor identified).
    Tracking,
    /// A rule of leadflow's own (the MQL tipping point moving the stage).
    Rule,
}

impl ChangeCause {
    pub const ALL: [ChangeCause; 5] =
        [ChangeCause::Api, ChangeCause::Cli, ChangeCause::Import, ChangeCause::Tracking, ChangeCause::Rule];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeCause::Api => "api",
            ChangeCause::Cli => "cli",
            ChangeCause::Import => "import",
            ChangeCause::Tracking => "tracking",
            ChangeCause::Rule => "rule",
        }
    }

    pub fn parse(s: &str) -> Option<ChangeCause> {
        ChangeCause::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Who or what changed a lead: the cause, and who in it (an API key's name, the file an import
/// read, the rule that fired); `None` when nobody in particular.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeOrigin {
    pub cause: ChangeCause,
    pub actor: Option<String>,
    /// Why, when the change was given a reason (a lost deal's, a rule's).
    pub reason: Option<String>,
}

impl ChangeOrigin {
    /// The MQL tipping point, which moves a lead to the mql stage as it qualifies.
    pub fn mql_rule() -> ChangeOrigin {
        ChangeOrigin::new(ChangeCause::Rule, "mql")
    }

    /// A pipeline's `enter_when`, moving a lead on as something happens to it.
    pub fn pipeline_rule(pipeline: &str) -> ChangeOrigin {
        ChangeOrigin::new(ChangeCause::Rule, format!("pipeline:{pipeline}"))
    }

    /// Pipeline routing, entering a marketing-qualified lead into a pipeline.
    pub fn routing() -> ChangeOrigin {
        ChangeOrigin::new(ChangeCause::Rule, "routing")
    }

    pub fn new(cause: ChangeCause, actor: impl Into<String>) -> ChangeOrigin {
        ChangeOrigin { cause, actor: Some(actor.into()), reason: None }
    }

    /// A change nobody in particular made (a `leadflow` command).
    pub fn of(cause: ChangeCause) -> ChangeOrigin {
        ChangeOrigin { cause, actor: None, reason: None }
    }

    /// The same origin, giving this reason.
    pub fn because(self, reason: Option<String>) -> ChangeOrigin {
        ChangeOrigin { reason, ..self }
    }
}

/// One field's change as the log keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredChange {
    pub id: i64,
    pub at: Timestamp,
    pub change: FieldChange,
    pub origin: ChangeOrigin,
}

/// Every change of a lead's profile, field by field, appended in the transaction that made it.
pub trait ChangeReads {
    /// The lead's changes, newest first (by time, then as logged), at most `limit`.
    fn changes_of(&self, lead: LeadId, limit: usize) -> Result<Vec<StoredChange>, StoreError>;

    /// Every lead, in id order, with its changes of pipeline and stage, oldest first (by time,
    /// then as logged), handed to `each` as they are read, names interned in `names`: what
    /// reports fold. One consistent snapshot, whatever is written meanwhile.
    fn scan_places(&self, names: &mut Names, each: &mut dyn FnMut(&LeadPlaces<'_>, &Names)) -> Result<(), StoreError>;
}

pub trait ChangeWrites {
    /// Appends the changes one unit of work made to a lead at `at`.
    fn record_changes(
        &mut self,
        lead: LeadId,
        at: Timestamp,
        origin: &ChangeOrigin,
        changes: &[FieldChange],
    ) -> Result<(), StoreError>;

    /// Appends changes of several leads at several times, in the order given: a history import's.
    fn record_change_entries(&mut self, entries: &[ChangeEntry<'_>]) -> Result<(), StoreError>;

    /// The logged changes of these leads' pipeline and stage, by lead, oldest first (by time,
    /// then as logged): what a history import checks its rows against.
    fn place_changes_of(&mut self, leads: &[LeadId]) -> Result<Vec<LoggedPlace>, StoreError>;
}

/// One change to append ([`ChangeWrites::record_change_entries`]).
#[derive(Clone, Copy, Debug)]
pub struct ChangeEntry<'a> {
    pub lead: LeadId,
    pub at: Timestamp,
    pub origin: &'a ChangeOrigin,
    pub change: &'a FieldChange,
}

/// A logged change of a lead's pipeline or stage ([`ChangeWrites::place_changes_of`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedPlace {
    pub lead: LeadId,
    pub at: Timestamp,
    pub field: leadflow_core::report::PlaceField,
    pub old: Option<String>,
    pub new: Option<String>,
}

pub trait OutcomeReads {
    /// Every lead's outcome, by lead id.
    fn outcomes(&self) -> Result<Vec<(LeadId, Outcome)>, StoreError>;
}

pub trait OutcomeWrites {
    /// Records how the lead ended (`None` clears it).
    fn set_outcome(&mut self, lead: LeadId, outcome: Option<Outcome>, now: Timestamp) -> Result<(), StoreError>;
}

/// Webhooks and their deliveries, each sent by a job of the job queue ([`DELIVERY_JOB`]).
pub trait OutboxReads {
    /// Live webhooks, oldest first.
    fn webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError>;
    /// A webhook's deliveries, newest first, at most `limit`.
    fn deliveries(&self, webhook: i64, limit: usize) -> Result<Vec<DeliveryRecord>, StoreError>;
    /// Claims the jobs of deliveries due by `claim.now` for the caller to send, oldest first,
    /// with their webhooks, in a transaction of its own: a claim of the job queue
    /// ([`JobReads::claim_jobs`]), so each goes to one claimer however many servers claim at
    /// once, until `claim.lease_until` (a server that dies while sending leaves it to another
    /// then: at least once). Of one lead's deliveries to one webhook only the earliest pending
    /// one, and none while it is claimed, so that they arrive in order; at most
    /// `claim.per_webhook` claimed at a time per webhook.
    fn claim_deliveries(&mut self, claim: &DeliveryClaim) -> Result<Vec<ClaimedDelivery>, StoreError>;
    fn count_pending_deliveries(&self) -> Result<u64, StoreError>;
    /// Ends the claimed attempt `ticket` of `delivery` as `outcome` ([`JobWrites::finish_job`])
    /// and keeps the receiver's HTTP status, in a transaction of its own (one statement where a
    /// backend can: a sender records every answer as it comes). False, with nothing changed, when
    /// the claim no longer holds the job (another claim took it after its lease ran out, or the
    /// webhook went).
    fn record_attempt(
        &mut self,
        ticket: JobTicket,
        delivery: i64,
        outcome: &AttemptOutcome,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
}

pub trait OutboxWrites {
    fn create_webhook(&mut self, url: &str, secret: &str, topics: &[Topic], now: Timestamp) -> Result<i64, StoreError>;
    /// Deletes a webhook and cancels its pending deliveries. False when there is no such live one.
    fn delete_webhook(&mut self, id: i64, now: Timestamp) -> Result<bool, StoreError>;
    /// Queues a delivery of `notification` to every live webhook subscribed to its topic: a
    /// delivery row and its job, due when it happened.
    fn notify(&mut self, notification: &Notification) -> Result<(), StoreError>;
}

/// Anonymous website visitors: their events until identified, and what the public endpoint may
/// add to a lead.
pub trait VisitorWrites {
    /// The lead a visitor was identified as, if any.
    fn visitor_lead(&mut self, visitor: &VisitorId) -> Result<Option<LeadId>, StoreError>;
    /// Keeps an event of a visitor not yet identified.
    fn insert_anonymous(&mut self, event: &AnonymousEvent, received_at: Timestamp) -> Result<Inserted, StoreError>;
    /// Grants up to `wanted` of what is left of the lead's daily `limit` of events from the
    /// public tracking endpoint (`day`: days since the epoch, UTC), and counts what it grants.
    fn take_public_quota(&mut self, lead: LeadId, day: i64, wanted: u32, limit: u32) -> Result<u32, StoreError>;
    /// Deletes the anonymous events received before the instant (and day counts that are over);
    /// returns how many events went.
    fn expire_anonymous(&mut self, received_before: Timestamp) -> Result<u64, StoreError>;
    /// Links the visitor to `lead` from now on and hands over (removing them) the events it
    /// gathered while anonymous, oldest first.
    fn identify_visitor(
        &mut self,
        visitor: &VisitorId,
        lead: LeadId,
        now: Timestamp,
    ) -> Result<Vec<AnonymousEvent>, StoreError>;
}
