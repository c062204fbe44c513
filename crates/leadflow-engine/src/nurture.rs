//! The nurture scheduler, a job on the queue: it enrolls leads by the sequences' rules and runs
//! every enrollment's due steps.
//!
//! Due enrollments run a page (500) in a unit of work, each holding its lead, reading its
//! enrollment again and moving it on only from the run of steps it found
//! (`advance_enrollment` compares `runs`): two servers, or a claim that outlived its lease, run
//! a step once. A page whose unit of work fails runs again one enrollment at a time, and an
//! enrollment that fails alone ends (`failed: ...`), so that one bad step holds up no other. A step that takes
//! no time (a branch, a task, a stage, a send being planned) is followed at once by the next,
//! until a wait or the end; a loop always holds a wait (the file's check), so this ends.
//!
//! A send step plans the email (one per enrollment and run, `schedule_send` refuses a second)
//! at the first instant under the frequency cap and in the lead's send hours, with a job due
//! then; the enrollment goes on from that instant, so a wait after a send counts from when the
//! email goes. The job sends it ([`Engine::send_email`]).
//!
//! Before each step the enrollment's exits are checked against the lead as it is: an
//! unsubscribe (the do-not-contact list), a reply or a meeting since it was enrolled, an MQL
//! mark set since, a won or lost stage, one of the exit stages.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use leadflow_core::contact::Channel;
use leadflow_core::sequence::{
    BranchCondition, EventSeen, ExitCause, LeadSnapshot, ScoreSeen, SendPolicy, Sequence, StepAction, lead_zone,
};
use leadflow_core::template::Sender;
use leadflow_core::{LeadRef, StageKind, Timestamp};
use leadflow_store::prelude::*;
use leadflow_store::{
    ChangeCause, ChangeOrigin, EnrollmentRecord, LeadOrder, LeadQuery, LeadRecord, NewJob, NewSend, RuleFileKind,
    RuleFileVersion, SendQuery, SendRecord, StoredEvent,
};

use crate::mail::{MailLinks, Mailer};
use crate::rule_files::parse_stored;
use crate::stage_moves::{Tracking, add_owner_task, hold, move_in};
use crate::{Engine, EngineError};

/// Why an enrollment ended when its steps ran out, or at an exit step: ends of its own, which
/// let the emails it planned go (every other end cancels them).
pub(crate) const COMPLETED: &str = "completed";
pub(crate) const REACHED_EXIT: &str = "reached an exit step";

/// Where an enrollment waits out its sequence's last wait: no step's id (ids are identifiers).
const END: &str = "(end)";

/// Whether an enrollment still sends what it planned: running, or at an end of its own.
pub(crate) fn still_sending(enrollment: &EnrollmentRecord) -> bool {
    enrollment.is_active() || matches!(enrollment.exit_reason.as_deref(), Some(COMPLETED | REACHED_EXIT))
}

/// The job that sends one planned email; its key is the send's id and due time.
pub const EMAIL_SEND_JOB: &str = "email-send";

/// What the nurture job needs beyond the database.
#[derive(Clone)]
pub struct NurtureSettings {
    /// How often the scheduler runs.
    pub every: Duration,
    pub mailer: Arc<dyn Mailer>,
    pub links: MailLinks,
    /// Who an unowned lead's emails come from (and an owner without an address's).
    pub team_sender: Sender,
    pub policy: SendPolicy,
    /// The zone of a lead without `custom.time_zone`.
    pub default_zone: Tz,
}

impl std::fmt::Debug for NurtureSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NurtureSettings")
            .field("every", &self.every)
            .field("links", &self.links)
            .field("team_sender", &self.team_sender)
            .field("policy", &self.policy)
            .field("default_zone", &self.default_zone)
            .finish()
    }
}

/// What one run of the scheduler did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NurtureRound {
    /// Leads enrolled by a sequence's rule.
    pub enrolled: usize,
    /// Steps run.
    pub steps: usize,
    /// Emails planned.
    pub planned: usize,
    pub exited: usize,
}

/// How many enrollments, or leads to enroll, the scheduler reads at a time.
const PAGE: usize = 500;
/// The most steps one enrollment runs in one go: a wait comes long before (every loop has one).
const MAX_STEPS_AT_ONCE: usize = 100;
/// The most recent events a rule or a branch looks at per lead.
const EVENTS_READ: usize = 1_000;

/// The active sequences, by name, with their versions.
pub(crate) type ActiveSequences = HashMap<String, (Sequence, RuleFileVersion)>;

impl<S: Store> Engine<S> {
    pub(crate) fn active_sequences_by_name(&self) -> Result<ActiveSequences, EngineError> {
        let mut out = HashMap::new();
        for record in self.store.active_rule_files(RuleFileKind::Sequence)? {
            let parsed = parse_stored(&record, Sequence::parse)?;
            out.insert(record.name.clone(), (parsed, record.version));
        }
        Ok(out)
    }

    /// Enrolls leads by the active sequences' rules, then runs every due step, as of the clock.
    pub fn run_nurture(&mut self, settings: &NurtureSettings) -> Result<NurtureRound, EngineError> {
        let sequences = self.active_sequences_by_name()?;
        let mut round = NurtureRound::default();
        if sequences.is_empty() {
            return Ok(round);
        }
        round.enrolled = self.enroll_by_rules(&sequences)?;
        let tracking = self.tracking()?;
        let now = self.now();
        let mut after = None;
        loop {
            let page = self.store.due_enrollments(now, after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some((last.due_at.unwrap_or(now), last.id));
            let mut due = Vec::with_capacity(page.len());
            // A paused sequence's enrollments wait where they are.
            for found in page.into_iter().filter(|e| sequences.contains_key(&e.sequence)) {
                let events = self.store.events_of(found.lead, EVENTS_READ)?;
                let query = SendQuery { enrollment: Some(found.id), limit: 1, ..Default::default() };
                let last_send = self.store.sends(&query)?.into_iter().next();
                due.push(Due { found, events, last_send });
            }
            let batch = Batch { sequences: &sequences, tracking: &tracking, settings };
            self.run_page(&due, &batch, &mut round)?;
        }
        Ok(round)
    }

    /// Runs a page of enrollments in one unit of work. When it fails, each runs in one of its
    /// own, and one that fails alone ends, saying why, so that it holds up no other; a failure
    /// of the database itself is the job's (it is retried).
    fn run_page(&mut self, page: &[Due], batch: &Batch<'_>, round: &mut NurtureRound) -> Result<(), EngineError> {
        let mut tried = *round;
        match self.step_all(page, batch, &mut tried) {
            Ok(()) => {
                *round = tried;
                Ok(())
            }
            Err(e @ EngineError::Store(_)) => Err(e),
            Err(_) if page.len() > 1 => {
                for due in page {
                    self.run_page(std::slice::from_ref(due), batch, round)?;
                }
                Ok(())
            }
            Err(e) => {
                let now = self.now();
                let mut tx = self.store.begin()?;
                end_enrollment(&mut tx, &page[0].found, &format!("failed: {e}"), now)?;
                tx.commit()?;
                round.exited += 1;
                Ok(())
            }
        }
    }

    fn step_all(&mut self, page: &[Due], batch: &Batch<'_>, round: &mut NurtureRound) -> Result<(), EngineError> {
        let held = self.held_version()?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        for due in page {
            step_enrollment(&mut tx, due, batch, held, now, round)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Leads every active sequence's rule admits and that are not in it, enrolled as `rule`
    /// (those the re-enrollment policy keeps out stay out).
    fn enroll_by_rules(&mut self, sequences: &ActiveSequences) -> Result<usize, EngineError> {
        let mut enrolled = 0;
        let mut names: Vec<&String> = sequences.keys().collect();
        names.sort();
        for name in names {
            let (sequence, _) = &sequences[name];
            let Some(rule) = sequence.enroll_rule() else { continue };
            // How leads ended, read once for a rule that asks.
            let outcomes: HashMap<leadflow_core::LeadId, leadflow_core::OutcomeKind> = if rule.outcomes.is_empty() {
                HashMap::new()
            } else {
                self.store.outcomes()?.into_iter().map(|(lead, o)| (lead, o.kind)).collect()
            };
            let mut query = LeadQuery {
                min_total: rule.score_at_least,
                bucket: (rule.buckets.len() == 1).then(|| rule.buckets[0].clone()),
                order: LeadOrder::Newest,
                limit: PAGE,
                ..Default::default()
            };
            loop {
                let page = self.store.list_leads(&query)?;
                let Some(last) = page.last() else { break };
                query.after = Some(leadflow_store::Cursor { key: LeadOrder::Newest.key_of(last), id: last.id });
                for lead in &page {
                    let events = self.store.events_of(lead.id, EVENTS_READ)?;
                    let outcome = outcomes.get(&lead.id).copied();
                    if !admitted(rule, lead, outcome, &events, self.now()) {
                        continue;
                    }
                    match self.enroll_lead(lead.id, name, sequences, "rule") {
                        Ok(_) => enrolled += 1,
                        Err(
                            EngineError::AlreadyEnrolled { .. }
                            | EngineError::NotReenrollable { .. }
                            | EngineError::OnDoNotContact { .. },
                        ) => {}
                        Err(e) => return Err(e),
                    }
                }
                if page.len() < PAGE {
                    break;
                }
            }
        }
        Ok(enrolled)
    }
}

/// An enrollment due, with what its steps read beside its lead: its events and its last send.
struct Due {
    found: EnrollmentRecord,
    events: Vec<StoredEvent>,
    last_send: Option<SendRecord>,
}

/// What every enrollment of a run reads alike.
struct Batch<'a> {
    sequences: &'a ActiveSequences,
    tracking: &'a Tracking,
    settings: &'a NurtureSettings,
}

/// Runs one enrollment's due steps in `tx`, holding its lead: from the run of steps it was found
/// at (one moved meanwhile is left alone), its exits first, then each step until a wait.
fn step_enrollment<T: Transaction>(
    tx: &mut T,
    due: &Due,
    batch: &Batch<'_>,
    held: leadflow_store::ModelVersion,
    now: Timestamp,
    round: &mut NurtureRound,
) -> Result<(), EngineError> {
    let Batch { sequences, tracking, settings } = *batch;
    let (found, events) = (&due.found, &due.events);
    let Some((sequence, _)) = sequences.get(&found.sequence) else { return Ok(()) };
    let Ok(lead) = hold(tx, &LeadRef::Id(found.lead), held) else { return Ok(()) };
    let current = tx.enrollments_now(found.lead, Some(&found.sequence))?.into_iter().find(|e| e.id == found.id);
    let Some(mut enrollment) = current.filter(|e| e.is_active() && e.runs == found.runs) else {
        return Ok(()); // moved by another claim meanwhile
    };
    if let Some(reason) = exit_reason(tx, sequence, &enrollment, &lead, events, tracking)? {
        end_enrollment(tx, &enrollment, &reason, now)?;
        round.exited += 1;
        return Ok(());
    }
    let zone = lead_zone(&lead.profile, settings.default_zone);
    let mut last_send = due.last_send.clone();
    for _ in 0..MAX_STEPS_AT_ONCE {
        let due = enrollment.due_at.unwrap_or(now);
        if due > now {
            break;
        }
        let step_id = enrollment.step.clone().unwrap_or_default();
        if step_id == END {
            // Its last wait is over.
            tx.exit_enrollment(enrollment.id, COMPLETED, now)?;
            round.exited += 1;
            break;
        }
        let Some(step) = sequence.step(&step_id) else {
            let reason = format!("step `{step_id}` is no longer in the sequence");
            end_enrollment(tx, &enrollment, &reason, now)?;
            round.exited += 1;
            break;
        };
        round.steps += 1;
        let mut held_condition = false;
        // When the step after runs.
        let mut next_due = due;
        match step.action() {
            StepAction::Send(send) => {
                let variant = send.variant_for(enrollment.id.unsigned_abs());
                let named = (send.variants().len() > 1).then_some(variant.name.as_str());
                let window = i64::from(settings.policy.cap.days) * 86_400_000;
                let times = tx.lead_send_times(lead.id, due.plus_millis(-window))?;
                let at = settings.policy.send_at(due.max(now), zone, &times).unwrap_or(due.max(now));
                let new = NewSend {
                    enrollment: enrollment.id,
                    run: enrollment.runs,
                    lead: lead.id,
                    sequence: &enrollment.sequence,
                    step: step.id(),
                    variant: named,
                    template: &variant.template,
                    due_at: at,
                };
                if let Some(id) = tx.schedule_send(&new, now)? {
                    queue_send(tx, id, at, now)?;
                    round.planned += 1;
                }
                last_send = None; // a new one is planned: branches look at it once sent
                next_due = at;
            }
            StepAction::Wait(wait) => next_due = wait.ends_at(due, zone).unwrap_or(due),
            StepAction::Branch(branch) => {
                held_condition = branch_holds(&branch.condition, &lead, events, &enrollment, last_send.as_ref())
            }
            StepAction::Task(task) => {
                add_owner_task(tx, &lead, task, &format!("sequence:{}", enrollment.sequence), now)?
            }
            StepAction::Stage(stage) => {
                let pipeline = lead.profile.pipeline.as_deref().and_then(|p| tracking.pipelines.named(p));
                if let Some((pipeline, stage)) = pipeline.and_then(|p| p.stage(stage).map(|s| (p, s))) {
                    let from = lead.profile.pipeline_stage.as_deref();
                    if from != Some(stage.id()) && pipeline.check_move(from, stage.id(), &lead.profile, None).is_ok() {
                        let origin = ChangeOrigin::new(ChangeCause::Rule, format!("sequence:{}", enrollment.sequence));
                        move_in(tx, tracking, &lead, pipeline, stage, &origin, now)?;
                    }
                }
            }
            StepAction::Enroll(other) => {
                let by = format!("sequence:{}", enrollment.sequence);
                if let Some((target, version)) = sequences.get(other) {
                    crate::enrollments::enroll_in(tx, lead.id, target, *version, sequences, &by, now)
                        .map(drop)
                        .or_else(ignore_refusal)?;
                }
            }
            StepAction::Webhook => crate::news::sequence_step(tx, &lead, &enrollment, step.id(), now)?,
            StepAction::Exit => {}
        }
        match sequence.after(step.id(), held_condition) {
            Some(next) if !matches!(step.action(), StepAction::Exit) => {
                if !tx.advance_enrollment(enrollment.id, enrollment.runs, next.id(), next_due)? {
                    return Ok(()); // ended by one of its own steps (a sequence of higher priority)
                }
                enrollment.runs += 1;
                enrollment.step = Some(next.id().to_string());
                enrollment.due_at = Some(next_due);
            }
            // A last wait keeps the lead in the sequence until it ends (out of those of lower
            // priority, and not back before its re-enrollment counts from then).
            None if matches!(step.action(), StepAction::Wait(_)) && next_due > now => {
                if tx.advance_enrollment(enrollment.id, enrollment.runs, END, next_due)? {
                    enrollment.runs += 1;
                }
                break;
            }
            _ => {
                let reason = if matches!(step.action(), StepAction::Exit) { REACHED_EXIT } else { COMPLETED };
                // Not `end_enrollment`: an email its last steps planned still goes.
                tx.exit_enrollment(enrollment.id, reason, now)?;
                round.exited += 1;
                break;
            }
        }
    }
    Ok(())
}

/// A refusal to enroll in another sequence (in it already, not again yet, not to be contacted)
/// is no failure of the step that asked.
fn ignore_refusal(e: EngineError) -> Result<(), EngineError> {
    match e {
        EngineError::AlreadyEnrolled { .. }
        | EngineError::NotReenrollable { .. }
        | EngineError::OnDoNotContact { .. } => Ok(()),
        e => Err(e),
    }
}

/// Queues the job that sends a planned email at `at`.
pub(crate) fn queue_send<T: Transaction>(
    tx: &mut T,
    send: i64,
    at: Timestamp,
    now: Timestamp,
) -> Result<(), EngineError> {
    let key = format!("{send}@{}", at.millis());
    let payload = format!("{{\"send\":{send}}}");
    tx.enqueue_job(&NewJob::new(EMAIL_SEND_JOB, &key, at, &payload, 8), now)?;
    Ok(())
}

/// Ends an enrollment and cancels what it planned to send.
pub(crate) fn end_enrollment<T: Transaction>(
    tx: &mut T,
    enrollment: &EnrollmentRecord,
    reason: &str,
    now: Timestamp,
) -> Result<(), EngineError> {
    tx.exit_enrollment(enrollment.id, reason, now)?;
    tx.cancel_sends(enrollment.id, reason)?;
    Ok(())
}

/// Whether the rule admits the lead, as it is with these events.
fn admitted(
    rule: &leadflow_core::sequence::EnrollRule,
    lead: &LeadRecord,
    outcome: Option<leadflow_core::OutcomeKind>,
    events: &[StoredEvent],
    now: Timestamp,
) -> bool {
    let seen: Vec<EventSeen<'_>> = events
        .iter()
        .map(|e| EventSeen { at: e.ts, event: &e.shape.event_type, url: e.shape.property("url") })
        .collect();
    let score = lead.score.as_ref().map(|s| ScoreSeen {
        total: s.values.total,
        bucket: &s.values.bucket,
        grade: s.values.grade,
    });
    let snapshot = LeadSnapshot { profile: &lead.profile, created_at: lead.created_at, outcome, score, events: &seen };
    rule.admits(&snapshot, now)
}

/// Whether a branch's condition holds for the lead now.
fn branch_holds(
    condition: &BranchCondition,
    lead: &LeadRecord,
    events: &[StoredEvent],
    enrollment: &EnrollmentRecord,
    last_send: Option<&SendRecord>,
) -> bool {
    let score = lead.score.as_ref().map(|s| &s.values);
    // What the lead did after the last email this enrollment sent (a send planned and not yet
    // sent counts as none).
    let since_send = |kind: &str| {
        last_send
            .and_then(|s| s.sent_at)
            .is_some_and(|sent| events.iter().any(|e| e.ts >= sent && e.shape.event_type.as_str() == kind))
    };
    let since = last_send.and_then(|s| s.sent_at).unwrap_or(enrollment.enrolled_at);
    match condition {
        BranchCondition::Opened => since_send("email_open"),
        BranchCondition::Clicked => since_send("email_click"),
        BranchCondition::Replied => since_send("email_reply"),
        BranchCondition::ScoreAtLeast(least) => score.is_some_and(|s| s.total >= *least),
        BranchCondition::Buckets(buckets) => score.is_some_and(|s| buckets.contains(&s.bucket)),
        BranchCondition::Grades(grades) => score.is_some_and(|s| grades.contains(&s.grade)),
        BranchCondition::Stages(stages) => {
            lead.profile.pipeline_stage.as_ref().is_some_and(|stage| stages.contains(stage))
        }
        BranchCondition::Event(kind) => events.iter().any(|e| e.ts >= since && &e.shape.event_type == kind),
        BranchCondition::Field(condition) => condition.matches(&lead.profile),
    }
}

/// Why the enrollment ends now, if it does: first what always ends one (the address on the
/// do-not-contact list), then what the sequence names.
fn exit_reason<T: Transaction>(
    tx: &mut T,
    sequence: &Sequence,
    enrollment: &EnrollmentRecord,
    lead: &LeadRecord,
    events: &[StoredEvent],
    tracking: &Tracking,
) -> Result<Option<String>, EngineError> {
    let listed = match &lead.profile.email {
        Some(email) => tx.do_not_contact_now(email.as_str(), Channel::Email)?,
        None => None,
    };
    if let Some(listed) = listed {
        return Ok(Some(ExitCause::listed(listed.reason).reason()));
    }
    let since = enrollment.enrolled_at;
    let happened = |kind: &str| events.iter().any(|e| e.ts >= since && e.shape.event_type.as_str() == kind);
    let stage = lead.profile.pipeline_stage.as_deref();
    let stage_kind = lead
        .profile
        .pipeline
        .as_deref()
        .and_then(|p| tracking.pipelines.named(p))
        .and_then(|p| stage.and_then(|s| p.stage(s)))
        .map(|s| s.kind());
    let causes = [
        (happened("email_reply"), ExitCause::Replied),
        (happened("meeting_booked"), ExitCause::MeetingBooked),
        (lead.mql_at.is_some_and(|at| at >= since), ExitCause::BecameMql),
        (stage_kind == Some(StageKind::Won), ExitCause::Won),
        (stage_kind == Some(StageKind::Lost), ExitCause::Lost),
        (stage.is_some(), ExitCause::EnteredStage(stage.unwrap_or_default())),
    ];
    let exits = sequence.exits();
    Ok(causes.into_iter().find(|(held, cause)| *held && exits.ends_on(cause)).map(|(_, cause)| cause.reason()))
}
