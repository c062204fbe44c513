//! Nurture sequences: the email tracks leads are enrolled in, written as files.
//!
//! A sequence keeps a conversation going with a lead who is not ready to buy: it sends an email,
//! waits, looks at what the lead did (opened, clicked, replied, scored), and goes on down one
//! branch or another, until the lead replies, qualifies, closes, or the steps run out. Like a
//! model or a pipeline it is a file: reviewed, diffed, versioned, and checked before it runs.
//! [`Sequence::parse`] checks everything the rest of the engine relies on (step ids unique,
//! every `next`, `then` and `else` naming a step, every step reachable, no loop that could
//! spin without waiting) and reports every problem with its line; code that holds a `Sequence`
//! never re-checks.
//!
//! Everything here is pure: whom a sequence enrolls by rule ([`EnrollRule::admits`]), what runs
//! after a step ([`Sequence::after`]), which variant of a
//! send an enrollment gets ([`Send::variant_for`]) and when a wait ends on the lead's wall
//! clock ([`Wait::ends_at`], across changes of offset) are functions of the sequence and what
//! is given. Guard rails that hold across every sequence (a frequency cap per lead, quiet hours, the
//! do-not-contact list) are not a sequence's to choose and are not in its file: when a send may
//! go under the cap and in the lead's send hours is [`SendPolicy::send_at`].
//!
//! # The file
//!
//! `examples/sequence-trial.toml` shows every key.
//!
//! - Top level: `name` (an identifier), `description`, `priority` (a whole number, 0 by
//!   default: a lead enrolled in a sequence of higher priority leaves one of lower),
//!   `reenroll` (`"never"`, the default: once per lead; or `"after_exit"`: again once it has
//!   left) with `reenroll_after_days` (how long after leaving, with `"after_exit"`), `[enroll]`,
//!   `[exit]`, `[[steps]]`.
//! - `[enroll]`: enrollment by rule, every criterion given holding; without it leads are
//!   enrolled only by hand (API, CLI, import). `stages` (stage ids of the lead's pipeline),
//!   `buckets`, `grades` (`"A"` to `"F"`), `score_at_least`, `[[enroll.when]]` (conditions on
//!   profile fields written as a model's fit rules: `field`, `op`, `value`/`values` or
//!   `min`/`max`, `not`) and `[[enroll.events]]` (interests from events: `event`, an event type;
//!   `url_contains`, a part of the `url` property; `at_least` times, 1 by default; within
//!   `within_days`, any time by default). For re-engagement: `outcomes` (`"won"`, `"lost"`: how
//!   the lead ended) and `quiet_days` (no event, nor its creation, for at least so many days).
//! - `[exit]`: `on`, what ends an enrollment besides an unsubscribe, a hard bounce or a
//!   complaint (which always do): any of `"reply"` (not an auto-reply), `"meeting"`, `"mql"`,
//!   `"won"`, `"lost"`; all of them by default. `stages`: entering one of these stage ids ends it
//!   too.
//! - `[[steps]]`: run in the file's order unless one says otherwise. Each has an `id` (an
//!   identifier, unique), does one thing, and may name the step after it with `next`:
//!   - `send = "template"`, or `[[steps.variants]]` for an A/B test: `name`, `template` and
//!     `weight` (1 by default), two at least; an enrollment always gets the same variant.
//!   - `wait = { days = 3 }`, `{ business_days = 2 }` (the lead's working days),
//!     `{ until = "2027-01-05T09:00:00Z" }`, or `{ weekday = "tuesday", at = "10:00" }` (the
//!     next such time in the lead's time zone).
//!   - `branch = { if = ..., then = "step", else = "step" }`: `if` is `"opened"`,
//!     `"clicked"` or `"replied"` (the last email this enrollment sent), or a table:
//!     `{ score_at_least = 50 }`, `{ buckets = ["hot"] }`, `{ grades = ["A", "B"] }`,
//!     `{ stages = ["sql"] }`, `{ event = "pricing_viewed" }` (since the step before), or a
//!     field condition (`field`, `op`, ...). `else` is the next step by default.
//!   - `task = { title = "...", due = "1d", kind, priority, clock }`: a task for the lead's
//!     owner, written as a pipeline stage's tasks are.
//!   - `stage = "sql"`: moves the lead to this stage of its pipeline (as the sequence, through
//!     the pipeline's rules).
//!   - `enroll = "other-sequence"`: enrolls the lead in another sequence too.
//!   - `webhook = true`: tells the webhooks subscribed to `sequence.step` that the lead got here.
//!   - `exit = true`: ends the enrollment here (the steps running out ends it too; a last wait
//!     keeps the lead in the sequence until it is over).

mod enroll;
mod exits;
mod guard;
mod parse;
pub mod signals;
mod timing;

use crate::Timestamp;
use crate::event::EventType;
use crate::model::Grade;
use crate::outcome::OutcomeKind;
use crate::pipeline::{RoutingCondition, StageTask};

pub use enroll::{EventSeen, LeadSnapshot, ScoreSeen};
pub use exits::ExitCause;
pub use guard::{FrequencyCap, SendPolicy};
pub use parse::{SequenceError, SequenceProblem};
pub use timing::{TIME_ZONE_FIELD, lead_zone};

/// A checked sequence file.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequence {
    name: String,
    description: Option<String>,
    priority: u32,
    reenroll: Reenroll,
    enroll: Option<EnrollRule>,
    exits: Exits,
    steps: Vec<Step>,
}

/// Whether a lead may be enrolled again once it has left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reenroll {
    Never,
    /// So many days after it left (0: at once).
    AfterExit {
        days: u32,
    },
}

/// Who is enrolled by rule: every criterion given holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnrollRule {
    pub stages: Vec<String>,
    pub buckets: Vec<String>,
    pub grades: Vec<Grade>,
    pub score_at_least: Option<f64>,
    pub when: Vec<RoutingCondition>,
    pub events: Vec<EventInterest>,
    /// How the lead ended (re-engaging past customers, or lost deals).
    pub outcomes: Vec<OutcomeKind>,
    /// No touch (an event, or its creation) for at least this many days: gone quiet.
    pub quiet_days: Option<u32>,
}

/// Events of a type, so many times, recently: an interest the lead showed.
#[derive(Clone, Debug, PartialEq)]
pub struct EventInterest {
    pub event: EventType,
    /// A part of the event's `url` property.
    pub url_contains: Option<String>,
    pub at_least: u32,
    pub within_days: Option<u32>,
}

/// What ends an enrollment, beyond what always does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exits {
    pub on: Vec<ExitTrigger>,
    /// Entering one of these stages.
    pub stages: Vec<String>,
}

/// Something a lead does or becomes that ends its enrollments when the sequence says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitTrigger {
    /// A reply from the lead, not an automatic one (out of office, auto-reply).
    Reply,
    Meeting,
    Mql,
    Won,
    Lost,
}

impl ExitTrigger {
    pub const ALL: [ExitTrigger; 5] =
        [ExitTrigger::Reply, ExitTrigger::Meeting, ExitTrigger::Mql, ExitTrigger::Won, ExitTrigger::Lost];

    pub fn as_str(self) -> &'static str {
        match self {
            ExitTrigger::Reply => "reply",
            ExitTrigger::Meeting => "meeting",
            ExitTrigger::Mql => "mql",
            ExitTrigger::Won => "won",
            ExitTrigger::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<ExitTrigger> {
        ExitTrigger::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One step of a sequence.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    id: String,
    action: StepAction,
    /// The step after it, when not the next in the file.
    next: Option<String>,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq)]
pub enum StepAction {
    Send(Send),
    Wait(Wait),
    Branch(Branch),
    Task(StageTask),
    /// Moves the lead to this stage of its pipeline.
    Stage(String),
    /// Enrolls the lead in this sequence too.
    Enroll(String),
    /// Tells the webhooks subscribed to `sequence.step`.
    Webhook,
    /// Ends the enrollment.
    Exit,
}

/// An email, or one of several variants of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Send {
    variants: Vec<Variant>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    pub name: String,
    pub template: String,
    pub weight: u32,
}

impl Send {
    pub fn variants(&self) -> &[Variant] {
        &self.variants
    }

    /// The variant an enrollment gets, by a number that stays the same for it (its id): the
    /// variants split the numbers by their weights.
    pub fn variant_for(&self, key: u64) -> &Variant {
        let total: u64 = self.variants.iter().map(|v| u64::from(v.weight)).sum();
        // Spread consecutive ids over the whole range before taking the share (SplitMix64's
        // finalizer), so that ids 1, 2, 3 do not all land in the first variant.
        let mut x = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let mut point = (x ^ (x >> 31)) % total;
        for v in &self.variants {
            if point < u64::from(v.weight) {
                return v;
            }
            point -= u64::from(v.weight);
        }
        unreachable!("the point is below the sum of the weights")
    }
}

/// How long a wait step waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    Days(u32),
    /// The lead's working days.
    BusinessDays(u32),
    Until(Timestamp),
    /// The next time this weekday comes at this local time (hour, minute) in the lead's zone.
    Next {
        weekday: chrono::Weekday,
        hour: u32,
        minute: u32,
    },
}

/// A branch: `then` when the condition holds, else `otherwise` (the next step when `None`).
#[derive(Clone, Debug, PartialEq)]
pub struct Branch {
    pub condition: BranchCondition,
    pub then: String,
    pub otherwise: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BranchCondition {
    /// The last email this enrollment sent was opened (not by a machine), clicked, replied to.
    Opened,
    Clicked,
    Replied,
    ScoreAtLeast(f64),
    Buckets(Vec<String>),
    Grades(Vec<Grade>),
    Stages(Vec<String>),
    /// An event of this type since the step before.
    Event(EventType),
    Field(RoutingCondition),
}

impl Sequence {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    pub fn priority(&self) -> u32 {
        self.priority
    }

    pub fn reenroll(&self) -> Reenroll {
        self.reenroll
    }

    /// Enrollment by rule, when the file has one.
    pub fn enroll_rule(&self) -> Option<&EnrollRule> {
        self.enroll.as_ref()
    }

    pub fn exits(&self) -> &Exits {
        &self.exits
    }

    /// In the file's order; the first is where an enrollment starts.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Whether any step sends an email (a sequence may only make tasks).
    pub fn sends(&self) -> bool {
        self.steps.iter().any(|s| matches!(s.action, StepAction::Send(_)))
    }

    /// The templates its send steps name, each once, in the file's order.
    pub fn templates(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for step in &self.steps {
            if let StepAction::Send(send) = &step.action {
                for v in &send.variants {
                    if !out.contains(&v.template.as_str()) {
                        out.push(&v.template);
                    }
                }
            }
        }
        out
    }

    /// The step that runs after step `id`, given whether its branch's condition held (ignored
    /// for other steps); `None` when the enrollment ends there.
    pub fn after(&self, id: &str, condition_held: bool) -> Option<&Step> {
        let index = self.steps.iter().position(|s| s.id == id)?;
        let step = &self.steps[index];
        let named = match &step.action {
            StepAction::Exit => return None,
            StepAction::Branch(b) if condition_held => Some(b.then.as_str()),
            StepAction::Branch(b) => b.otherwise.as_deref(),
            _ => step.next.as_deref(),
        };
        match named {
            Some(next) => self.step(next),
            None => self.steps.get(index + 1),
        }
    }
}

impl Step {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn action(&self) -> &StepAction {
        &self.action
    }
}

#[cfg(test)]
mod tests;
