//! Hand-off SLAs on the store: the policy in use, the clocks of each lead, acceptance and
//! rejection by sales, breaches and their escalations, and compliance per rep and team.
//!
//! A clock starts in the unit of work of what starts it (an assignment, an MQL, a stage
//! entered, a touch) and is met or stopped in the unit of work of what meets or stops it, so a
//! lead's clocks never disagree with its history. Each clock counts in one owner's working time
//! ([`leadflow_core::sla`]); its deadline is computed as it starts and stored. What no request
//! does (noticing that a deadline passed, running the escalation steps as their times come) the
//! pipeline sweep does ([`Engine::sweep_slas`]), holding the lead as a move does, so a clock met
//! in between is never escalated.
//!
//! - A clock whose event happens while the lead has no owner waits (no start, no deadline) and
//!   starts when the lead gets one. An owner that is no user has no calendar: the clock waits for
//!   one that is.
//! - A lead changing hands stops its running clocks ("reassigned to bo") and starts each again
//!   for the new owner, from the assignment: the new owner gets the rule's full time; a breach
//!   the old owner ran into stays theirs.
//! - A lead entering a stage that is not open (won, lost, recycled, disqualified) stops every
//!   running clock that leaving its stage does not meet: there is nothing left to be late for.
//! - A clock keeps the policy version it started under: a new policy applies to clocks it starts.
//! - An owner set by an upsert or a patch is an assignment like any other; one written by an
//!   import is not (a CRM export of owned leads is not news of hand-offs), and starts no clock.

use std::sync::Arc;

use leadflow_core::change::profile_changes;
use leadflow_core::sla::{EscalationAction, MetBy, SlaPolicy, SlaRule};
use leadflow_core::task::{Priority, TaskKind, TaskTitle};
use leadflow_core::team::{User, UserName, UserRole};
use leadflow_core::{Actor, LeadId, LeadRef, LifecycleStage, Stage, StageKind, Timestamp, Topic};
use leadflow_store::prelude::*;
use leadflow_store::{
    ChangeOrigin, ComplianceQuery, LeadRecord, NewSlaClock, NewTask, NotificationDetail, RuleFileKind, RuleFileRecord,
    RuleFileVersion, SlaClockQuery, SlaClockRecord, SlaMet, StoreError,
};

use crate::news::tell;
use crate::rule_files::parse_stored;
use crate::stage_moves::{Tracking, hold, move_in};
use crate::{Engine, EngineError};

/// The SLA policy in use, parsed, with the version it was parsed from.
#[derive(Clone, Debug)]
pub struct ActiveSla {
    version: RuleFileVersion,
    policy: Arc<SlaPolicy>,
    source: Arc<str>,
    /// When it was put in use: MQLs before it start none of its clocks.
    activated_at: Timestamp,
}

impl ActiveSla {
    pub fn version(&self) -> RuleFileVersion {
        self.version
    }

    pub fn policy(&self) -> &SlaPolicy {
        &self.policy
    }

    /// The file as stored.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// What saving an SLA policy did.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedSla {
    pub version: RuleFileVersion,
    pub name: String,
    pub activated: bool,
}

/// A sales decision on a lead marketing handed over.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Sales takes it: its lifecycle stage becomes `sql` (if it was not further on).
    Accept,
    /// Sales sends it back to marketing, with a reason (one of the policy's `reject_reasons`
    /// when it lists some): back to nurture, its MQL mark cleared so that it can qualify again.
    Reject { reason: String },
}

/// What a decision did.
#[derive(Clone, Debug, PartialEq)]
pub struct Decided {
    pub lead: LeadId,
    pub decision: Decision,
    /// The clocks it met.
    pub clocks_met: usize,
    /// The move to the pipeline's recycled stage a rejection made, if the lead was in one.
    pub moved: Option<crate::Moved>,
}

/// Where a clock stands, as [`ComplianceRow`](leadflow_store::ComplianceRow) counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockState {
    /// Waiting for the lead to get an owner (who is a user).
    Waiting,
    /// Started, but the owner's calendar has no working time to count it in.
    NoDeadline,
    Pending,
    MetOnTime,
    MetLate,
    /// Not met, and past due: now, or when it stopped.
    Breached,
    /// Stopped unmet before its deadline: the lead closed or changed hands in time.
    Stopped,
}

impl ClockState {
    pub fn of(clock: &SlaClockRecord, now: Timestamp) -> ClockState {
        let stopped = clock.stopped.as_ref().map(|(at, _)| *at);
        // Met before it started (an unowned lead accepted): it took no time, and is on time.
        if clock.met.is_some() && clock.due_at.is_none() {
            return ClockState::MetOnTime;
        }
        let (Some(_), Some(due)) = (clock.started_at, clock.due_at) else {
            return match (stopped, clock.started_at) {
                (Some(_), _) => ClockState::Stopped,
                (None, None) => ClockState::Waiting,
                (None, Some(_)) => ClockState::NoDeadline,
            };
        };
        if let Some((at, _)) = clock.met {
            return if at <= due { ClockState::MetOnTime } else { ClockState::MetLate };
        }
        match stopped {
            _ if due < stopped.unwrap_or(now) => ClockState::Breached,
            Some(_) => ClockState::Stopped,
            None => ClockState::Pending,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClockState::Waiting => "waiting",
            ClockState::NoDeadline => "no_deadline",
            ClockState::Pending => "pending",
            ClockState::MetOnTime => "met_on_time",
            ClockState::MetLate => "met_late",
            ClockState::Breached => "breached",
            ClockState::Stopped => "stopped",
        }
    }
}

/// A clock as listed: the record, its rule's name and where it stands.
#[derive(Clone, Debug, PartialEq)]
pub struct SlaClock {
    pub record: SlaClockRecord,
    /// The rule's name in its policy version; its id when that version is gone.
    pub rule_name: String,
    pub state: ClockState,
}

/// Compliance over a period: per owner and rule, per owner, per team, and all together.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ComplianceReport {
    pub rows: Vec<ComplianceLine>,
    pub owners: Vec<ComplianceLine>,
    pub teams: Vec<ComplianceLine>,
    pub total: leadflow_core::sla::Compliance,
}

/// One line of a report: whose (an owner, a team: `None` for owners in none), which rule
/// (`None` on the roll-ups), and the counts.
#[derive(Clone, Debug, PartialEq)]
pub struct ComplianceLine {
    pub owner: Option<UserName>,
    pub team: Option<String>,
    pub rule: Option<String>,
    pub compliance: leadflow_core::sla::Compliance,
}

/// What the SLA part of a sweep did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlaSweep {
    /// Leads a rescore or an import made marketing-qualified whose MQL clocks it started.
    pub mqls_started: usize,
    /// Clocks found past due and recorded as breached, by id.
    pub breached: Vec<i64>,
    /// Escalation steps run.
    pub escalations: usize,
    /// Leads reassigned by an escalation.
    pub reassigned: usize,
}

impl<S: Store> Engine<S> {
    /// Checks an SLA policy file and stores it; with `activate`, makes it the one in use (there
    /// is one at a time).
    pub fn save_sla_policy(&mut self, source: &str, activate: bool) -> Result<SavedSla, EngineError> {
        let policy = SlaPolicy::parse(source)?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        let version = tx.save_rule_file(RuleFileKind::Sla, policy.name(), source, now)?;
        if activate {
            tx.activate_only_rule_file(version, now)?;
        }
        tx.commit()?;
        Ok(SavedSla { version, name: policy.name().to_string(), activated: activate })
    }

    /// Every stored version of the SLA policy, oldest first.
    pub fn sla_policies(&self) -> Result<Vec<RuleFileRecord>, EngineError> {
        Ok(self.store.rule_files(RuleFileKind::Sla)?)
    }

    /// The SLA policy in use, parsed once per version; `None` when none is active.
    pub fn active_sla(&mut self) -> Result<Option<ActiveSla>, EngineError> {
        let Some(record) = self.store.active_rule_files(RuleFileKind::Sla)?.into_iter().next() else {
            self.sla = None;
            return Ok(None);
        };
        if self.sla.as_ref().is_none_or(|a| a.version != record.version) {
            let policy = parse_stored(&record, SlaPolicy::parse).map(Arc::new)?;
            self.sla = Some(ActiveSla {
                version: record.version,
                policy,
                source: Arc::from(record.source.as_str()),
                activated_at: record.activated_at.unwrap_or(record.created_at),
            });
        }
        Ok(self.sla.clone())
    }

    /// Accepts or rejects a lead as `actor` (its owner, or a writer of every lead): the
    /// hand-off clocks the decision meets are met, and a rejection sends it back to nurture.
    pub fn decide_lead(
        &mut self,
        actor: &Actor<'_>,
        origin: &ChangeOrigin,
        lead: &LeadRef,
        decision: &Decision,
    ) -> Result<Decided, EngineError> {
        let tracking = self.tracking()?;
        let held = self.held_version()?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        let record = hold(&mut tx, lead, held)?;
        let owner = record.profile.owner.as_deref();
        actor.may_write_lead(Some(owner), owner)?;
        let who = if actor.name.is_empty() { "sales".to_string() } else { actor.name.to_string() };
        let (decision, event, after, because) = match decision {
            Decision::Accept => {
                let mut after = record.profile.clone();
                if !is_sales_stage(after.stage) {
                    after.stage = LifecycleStage::Sql;
                }
                (Decision::Accept, ClockEvent::Accepted, after, format!("accepted by {who}"))
            }
            Decision::Reject { reason } => {
                // Only a lead being handed over goes back: one won, lost or in nurture already
                // has nothing to go back from.
                if let Some(stage) = closed_stage(&tracking, &record) {
                    return Err(EngineError::NotHandedOver { lead: record.id, stage });
                }
                let reason = reject_reason(tracking.sla.as_ref(), reason)?;
                let mut after = record.profile.clone();
                after.stage = LifecycleStage::Recycled;
                let because = format!("rejected by {who}: {reason}");
                (Decision::Reject { reason }, ClockEvent::Rejected, after, because)
            }
        };
        let clocks_met = clocks_in(&mut tx, tracking.sla.as_ref(), &record, &event, now)?.met;
        let origin = origin.clone().because(Some(because));
        let recycled_stage = match &event {
            ClockEvent::Rejected => recycled_stage(&tracking, &record),
            _ => None,
        };
        let moved = match recycled_stage {
            // The pipeline's own way back to nurture: the recycle counted, the MQL cleared.
            Some((pipeline, stage)) => Some(move_in(&mut tx, &tracking, &record, pipeline, stage, &origin, now)?),
            None => {
                tx.update_profile(record.id, &after, now)?;
                tx.mark_stale(record.id)?;
                tx.record_changes(record.id, now, &origin, &profile_changes(&record.profile, &after))?;
                if matches!(event, ClockEvent::Rejected) {
                    // Back to nurture outside any pipeline: as a recycled stage would.
                    tx.clear_mql(record.id)?;
                    tx.cancel_pending_tasks(
                        record.id,
                        &format!("the lead was {}", origin.reason.as_deref().unwrap_or("rejected")),
                        now,
                    )?;
                    let detail = NotificationDetail::StageChanged {
                        pipeline: String::new(),
                        from_stage: None,
                        to_stage: LifecycleStage::Recycled.name().to_string(),
                        reason: origin.reason.clone(),
                    };
                    let after = LeadRecord { profile: after, ..record.clone() };
                    tell(&mut tx, &after, Topic::LeadRecycled, detail, now)?;
                }
                None
            }
        };
        tx.commit()?;
        Ok(Decided { lead: record.id, decision, clocks_met, moved })
    }

    /// The clocks the query asks for, newest first, each with where it stands now.
    pub fn sla_clocks(&self, query: &SlaClockQuery) -> Result<Vec<SlaClock>, EngineError> {
        let now = self.now();
        // A version never changes: the policy in use as last parsed names its clocks' rules, and
        // the stored versions are read only for clocks of another.
        let mut policies: Vec<(RuleFileVersion, Option<Arc<SlaPolicy>>)> =
            self.sla.iter().map(|a| (a.version, Some(a.policy.clone()))).collect();
        let mut stored: Option<Vec<RuleFileRecord>> = None;
        let mut out = Vec::new();
        for record in self.store.sla_clocks(query)? {
            let policy = match policies.iter().find(|(v, _)| *v == record.policy) {
                Some((_, p)) => p.clone(),
                None => {
                    let stored = match &mut stored {
                        Some(files) => files,
                        none => none.insert(self.store.rule_files(RuleFileKind::Sla)?),
                    };
                    let p = stored
                        .iter()
                        .find(|f| f.version == record.policy)
                        .and_then(|f| parse_stored(f, SlaPolicy::parse).ok().map(Arc::new));
                    policies.push((record.policy, p.clone()));
                    p
                }
            };
            let rule_name = policy
                .as_ref()
                .and_then(|p| p.rule(&record.rule))
                .map_or(record.rule.clone(), |r| r.name().to_string());
            let state = ClockState::of(&record, now);
            out.push(SlaClock { record, rule_name, state });
        }
        Ok(out)
    }

    /// How the clocks started in `[from, to)` went, as of now: per owner and rule, per owner,
    /// per team (the owners' teams today), and in all.
    pub fn sla_compliance(&self, from: Timestamp, to: Timestamp) -> Result<ComplianceReport, EngineError> {
        let rows = self.store.sla_compliance(&ComplianceQuery { from, to, now: self.now() })?;
        let users = self.store.users()?;
        let team_of = |owner: &UserName| {
            users.iter().find(|u| u.name() == owner).and_then(|u| u.team()).map(|t| t.as_str().to_string())
        };
        let mut report = ComplianceReport::default();
        for row in rows {
            let compliance = leadflow_core::sla::Compliance {
                met_on_time: row.met_on_time,
                met_late: row.met_late,
                breached: row.breached,
                pending: row.pending,
            };
            let team = team_of(&row.owner);
            add_to(&mut report.owners, Some(&row.owner), team.clone(), compliance, |l| {
                l.owner.as_ref() == Some(&row.owner)
            });
            add_to(&mut report.teams, None, team.clone(), compliance, |l| l.team == team);
            report.total = report.total.merge(compliance);
            report.rows.push(ComplianceLine { owner: Some(row.owner), team, rule: Some(row.rule), compliance });
        }
        report.teams.sort_by(|a, b| a.team.cmp(&b.team));
        Ok(report)
    }

    /// Starts the clocks of the MQLs no request followed up (a rescore's, an import's), records
    /// the breaches of clocks now past due and runs the escalation steps whose time has come,
    /// each clock in a unit of work that holds its lead and reads the clock again.
    pub fn sweep_slas(&mut self) -> Result<SlaSweep, EngineError> {
        let tracking = self.tracking()?;
        let held = self.held_version()?;
        let mut report = SlaSweep::default();
        let started = self.now();
        if let Some(active) = &tracking.sla {
            report.mqls_started = self.start_mql_clocks(&tracking, active, started)?;
        }
        let mut sweeping = Sweeping {
            tracking: &tracking,
            rules: Rules { active: tracking.sla.as_ref(), older: Vec::new() },
            users: self.store.users()?,
        };
        let mut after = None;
        loop {
            let page = self.store.sla_clocks_to_check(started, after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some((last.check_at.expect("listed by it"), last.id));
            for listed in page {
                let now = self.now();
                let mut tx = self.store.begin()?;
                let record = hold(&mut tx, &LeadRef::Id(listed.lead), held)?;
                let Some(clock) = tx.sla_clock_now(listed.id)? else { continue };
                if !clock.is_running() || clock.check_at.is_none_or(|at| at > now) {
                    continue;
                }
                check_in(&mut tx, &mut sweeping, &record, clock, now, &mut report)?;
                tx.commit()?;
            }
        }
        Ok(report)
    }
}

impl<S: Store> Engine<S> {
    /// Starts the MQL clocks of the leads that became marketing-qualified in the last day (since
    /// the policy was put in use) with none: a rescore's and an import's MQLs, which no request
    /// followed up. How many leads it started clocks for.
    fn start_mql_clocks(
        &mut self,
        tracking: &Tracking,
        active: &ActiveSla,
        now: Timestamp,
    ) -> Result<usize, EngineError> {
        use leadflow_core::sla::ClockStart;
        let rules: Vec<String> = active
            .policy()
            .rules()
            .iter()
            .filter(|r| *r.starts() == ClockStart::Mql)
            .map(|r| r.id().to_string())
            .collect();
        if rules.is_empty() {
            return Ok(0);
        }
        let held = self.held_version()?;
        let since = active.activated_at.max(now.minus_days(1));
        let (mut started, mut after) = (0, LeadId(0));
        loop {
            let page = self.store.mqls_without_clock(active.version, &rules, since, after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = *last;
            for lead in page {
                let now = self.now();
                let mut tx = self.store.begin()?;
                let record = hold(&mut tx, &LeadRef::Id(lead), held)?;
                if record.mql_at.is_none() {
                    continue;
                }
                if clocks_in(&mut tx, tracking.sla.as_ref(), &record, &ClockEvent::BecameMql, now)?.opened > 0 {
                    tx.commit()?;
                    started += 1;
                }
            }
        }
        Ok(started)
    }
}

/// How many clocks the sweep reads at a time.
const PAGE: usize = 500;

fn add_to(
    lines: &mut Vec<ComplianceLine>,
    owner: Option<&UserName>,
    team: Option<String>,
    compliance: leadflow_core::sla::Compliance,
    same: impl Fn(&ComplianceLine) -> bool,
) {
    match lines.iter_mut().find(|l| same(l)) {
        Some(line) => line.compliance = line.compliance.merge(compliance),
        None => lines.push(ComplianceLine { owner: owner.cloned(), team, rule: None, compliance }),
    }
}

/// The reason as the policy spells it; any non-blank reason when it lists none.
fn reject_reason(sla: Option<&ActiveSla>, given: &str) -> Result<String, EngineError> {
    let given = given.trim();
    if given.is_empty() {
        return Err(EngineError::RejectReason { given: String::new(), listed: listed_reasons(sla) });
    }
    match sla.map(|s| s.policy()).filter(|p| !p.reject_reasons().is_empty()) {
        None => Ok(given.to_string()),
        Some(policy) => policy
            .reject_reason(given)
            .map(str::to_string)
            .ok_or_else(|| EngineError::RejectReason { given: given.to_string(), listed: listed_reasons(sla) }),
    }
}

fn listed_reasons(sla: Option<&ActiveSla>) -> Vec<String> {
    sla.map(|s| s.policy().reject_reasons().to_vec()).unwrap_or_default()
}

/// The lead's stage, if it is a closed one (won, lost, recycled, disqualified) of an active
/// pipeline.
fn closed_stage(tracking: &Tracking, record: &LeadRecord) -> Option<String> {
    let pipeline = tracking.pipelines.named(record.profile.pipeline.as_deref()?)?;
    let stage = pipeline.stage(record.profile.pipeline_stage.as_deref()?)?;
    (stage.kind() != StageKind::Open).then(|| stage.id().to_string())
}

/// The recycled stage of the lead's pipeline, if it is in one that has one.
fn recycled_stage<'t>(tracking: &'t Tracking, record: &LeadRecord) -> Option<(&'t leadflow_core::Pipeline, &'t Stage)> {
    let pipeline = tracking.pipelines.named(record.profile.pipeline.as_deref()?)?;
    let stage = pipeline.stages().iter().find(|s| s.kind() == StageKind::Recycled)?;
    Some((pipeline, stage))
}

/// What happened to a lead that starts, meets or stops its clocks.
pub(crate) enum ClockEvent<'a> {
    /// The lead has a new owner (the record given is the lead as it is after).
    Assigned,
    BecameMql,
    /// It moved from stage `from` (`None`: it entered a pipeline) to `to`, by a person's hand
    /// or by a rule.
    Moved {
        from: Option<&'a str>,
        to: &'a Stage,
        by_hand: bool,
    },
    /// Its owner called, emailed or met it.
    Touched,
    Accepted,
    Rejected,
}

/// How many clocks an event met and opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ClocksChanged {
    pub met: usize,
    pub opened: usize,
}

/// Starts, meets and stops the lead's clocks as `event` implies, in `tx`. `record` is the lead
/// as it is after the event.
pub(crate) fn clocks_in<T: Transaction>(
    tx: &mut T,
    sla: Option<&ActiveSla>,
    record: &LeadRecord,
    event: &ClockEvent<'_>,
    now: Timestamp,
) -> Result<ClocksChanged, EngineError> {
    let running = tx.running_sla_clocks(record.id)?;
    if running.is_empty() && sla.is_none() {
        return Ok(ClocksChanged::default());
    }
    let mut rules = Rules { active: sla, older: Vec::new() };
    let mut met = 0;
    let mut still_running = Vec::new();
    for mut clock in running {
        let Some(rule) = rules.rule(tx, &clock)? else {
            stop(tx, clock, "its rule is gone".into(), now)?;
            continue;
        };
        match meets(&rule, event) {
            Some(how) => {
                clock.met = Some((now, how));
                done_checking(tx, clock)?;
                met += 1;
            }
            None => still_running.push((clock, rule)),
        }
    }
    let closing = match event {
        ClockEvent::Moved { to, .. } if to.kind() != StageKind::Open => Some(format!("the lead entered `{}`", to.id())),
        ClockEvent::Rejected => Some("the lead was rejected".into()),
        _ => None,
    };
    if let Some(why) = &closing {
        for (clock, _) in still_running {
            stop(tx, clock, why.clone(), now)?;
        }
        return Ok(ClocksChanged { met, opened: 0 });
    }
    let in_pipeline = record.profile.pipeline.as_deref();
    let starting: Vec<&SlaRule> = sla
        .map(|active| active.policy().rules_for(in_pipeline, &record.profile).filter(|r| starts(r, event)).collect())
        .unwrap_or_default();
    // The owner's calendar, read only when a clock starts or changes hands.
    let assigned = matches!(event, ClockEvent::Assigned);
    let owner = if assigned || !starting.is_empty() { owner_of(tx, record)? } else { None };
    let mut opened = 0;
    // The rules with a clock running once this is done: one clock of a rule at a time,
    // whichever policy version it runs under.
    let mut running_rules: Vec<String> = Vec::new();
    for (mut clock, rule) in still_running {
        running_rules.push(rule.id().to_string());
        if !assigned {
            continue;
        }
        match (&clock.owner, &owner) {
            // Waiting for an owner, and now it has one.
            (None, Some(user)) => {
                start(&mut clock, &rule, user, now);
                tx.update_sla_clock(&clock)?;
            }
            (Some(was), new) if new.as_ref().map(|u| u.name()) != Some(was) => {
                let to = record.profile.owner.as_deref().unwrap_or("nobody");
                let policy = clock.policy;
                stop(tx, clock, format!("reassigned to {to}"), now)?;
                open_clock(tx, policy, &rule, record, owner.as_ref(), now)?;
                opened += 1;
            }
            _ => {}
        }
    }
    if let Some(active) = sla {
        for rule in starting {
            if running_rules.iter().any(|r| r == rule.id()) {
                continue;
            }
            open_clock(tx, active.version, rule, record, owner.as_ref(), now)?;
            opened += 1;
        }
    }
    Ok(ClocksChanged { met, opened })
}

/// The rules of the policy versions clocks run under: the active one, and older ones as read.
struct Rules<'a> {
    active: Option<&'a ActiveSla>,
    older: Vec<(RuleFileVersion, Option<Arc<SlaPolicy>>)>,
}

impl Rules<'_> {
    fn rule<T: Transaction>(&mut self, tx: &mut T, clock: &SlaClockRecord) -> Result<Option<SlaRule>, EngineError> {
        let policy = match self.active.filter(|a| a.version == clock.policy) {
            Some(active) => Some(active.policy.clone()),
            None => match self.older.iter().find(|(v, _)| *v == clock.policy) {
                Some((_, p)) => p.clone(),
                None => {
                    // A stored version that no longer parses has no rules to count by: its
                    // clocks stop, rather than every write to their leads failing.
                    let read = tx
                        .rule_file_now(clock.policy)?
                        .and_then(|r| parse_stored(&r, SlaPolicy::parse).ok().map(Arc::new));
                    self.older.push((clock.policy, read.clone()));
                    read
                }
            },
        };
        Ok(policy.and_then(|p| p.rule(&clock.rule).cloned()))
    }
}

/// The lead's owner, if it is a user (whose calendar a clock can count in).
fn owner_of<T: Transaction>(tx: &mut T, record: &LeadRecord) -> Result<Option<User>, EngineError> {
    let Some(owner) = record.profile.owner.as_deref() else { return Ok(None) };
    Ok(tx.users_now()?.into_iter().find(|u| u.name().as_str() == owner))
}

/// Whether `event` starts `rule`'s clock.
fn starts(rule: &SlaRule, event: &ClockEvent<'_>) -> bool {
    use leadflow_core::sla::ClockStart;
    match (rule.starts(), event) {
        (ClockStart::Assigned, ClockEvent::Assigned) => true,
        (ClockStart::Mql, ClockEvent::BecameMql) => true,
        (ClockStart::StageEntered(stage), ClockEvent::Moved { to, .. }) => stage == to.id(),
        (ClockStart::LastTouch, ClockEvent::Touched) => true,
        _ => false,
    }
}

/// How `event` meets a running clock of `rule`, if it does.
fn meets(rule: &SlaRule, event: &ClockEvent<'_>) -> Option<SlaMet> {
    use leadflow_core::sla::ClockStart;
    let accepting = |to: &Stage| to.lifecycle().is_some_and(is_sales_stage);
    match (rule.met_by(), event) {
        (MetBy::Accepted | MetBy::AcceptedOrRejected, ClockEvent::Accepted) => Some(SlaMet::Accepted),
        (MetBy::AcceptedOrRejected, ClockEvent::Rejected) => Some(SlaMet::Rejected),
        // A rep moving the lead on to a sales stage has taken it; a rule's move takes nothing.
        (MetBy::Accepted | MetBy::AcceptedOrRejected, ClockEvent::Moved { to, by_hand: true, .. }) if accepting(to) => {
            Some(SlaMet::Accepted)
        }
        (MetBy::Touched, ClockEvent::Touched) => Some(SlaMet::Touched),
        (MetBy::StageLeft, ClockEvent::Moved { from: Some(from), to, .. }) => match rule.starts() {
            ClockStart::StageEntered(stage) if stage == from && stage != to.id() => Some(SlaMet::StageLeft),
            _ => None,
        },
        _ => None,
    }
}

/// A lifecycle stage sales has taken the lead into.
fn is_sales_stage(stage: LifecycleStage) -> bool {
    matches!(stage, LifecycleStage::Sql | LifecycleStage::Opportunity | LifecycleStage::Customer)
}

/// Stops a clock unmet, saying why: nothing is left to check.
fn stop<T: Transaction>(tx: &mut T, mut clock: SlaClockRecord, why: String, now: Timestamp) -> Result<(), EngineError> {
    clock.stopped = Some((now, why));
    done_checking(tx, clock)
}

/// Writes a clock the sweep has nothing more to look at (met, stopped, or past what it can do).
fn done_checking<T: Transaction>(tx: &mut T, mut clock: SlaClockRecord) -> Result<(), EngineError> {
    clock.check_at = None;
    tx.update_sla_clock(&clock)?;
    Ok(())
}

/// Starts a waiting clock for `owner` at `now`.
fn start(clock: &mut SlaClockRecord, rule: &SlaRule, owner: &User, now: Timestamp) {
    clock.owner = Some(owner.name().clone());
    clock.started_at = Some(now);
    clock.due_at = rule.deadline(owner.calendar(), now);
    clock.check_at = clock.due_at.map(after_due);
}

/// The first instant a clock due at `due` is late: breached from the next millisecond on.
fn after_due(due: Timestamp) -> Timestamp {
    due.plus_millis(1)
}

fn open_clock<T: Transaction>(
    tx: &mut T,
    policy: RuleFileVersion,
    rule: &SlaRule,
    record: &LeadRecord,
    owner: Option<&User>,
    now: Timestamp,
) -> Result<(), EngineError> {
    let due_at = owner.and_then(|u| rule.deadline(u.calendar(), now));
    tx.start_sla_clock(
        &NewSlaClock {
            lead: record.id,
            policy,
            rule: rule.id(),
            owner: owner.map(User::name),
            started_at: owner.map(|_| now),
            due_at,
            check_at: due_at.map(after_due),
        },
        now,
    )?;
    Ok(())
}

/// One clock the sweep found due to be looked at: the breach recorded, the steps due run, the
/// next check set.
/// What the sweep reads once for all the clocks it checks.
struct Sweeping<'a> {
    tracking: &'a Tracking,
    /// The policies' rules.
    rules: Rules<'a>,
    /// The users as the sweep starts: whose calendar, who manages whom.
    users: Vec<User>,
}

fn check_in<T: Transaction>(
    tx: &mut T,
    sweeping: &mut Sweeping<'_>,
    record: &LeadRecord,
    mut clock: SlaClockRecord,
    now: Timestamp,
    report: &mut SlaSweep,
) -> Result<(), EngineError> {
    let Some(rule) = sweeping.rules.rule(tx, &clock)? else {
        return stop(tx, clock, "its rule is gone".into(), now);
    };
    let Some(due) = clock.due_at else {
        return done_checking(tx, clock);
    };
    if now > due && clock.breached_at.is_none() {
        clock.breached_at = Some(now);
        report.breached.push(clock.id);
        let detail = NotificationDetail::SlaBreached {
            clock: clock.id,
            rule: rule.id().to_string(),
            rule_name: rule.name().to_string(),
            owner: clock.owner.as_ref().map(|o| o.as_str().to_string()),
            due_at: Some(due),
        };
        tell(tx, record, Topic::SlaBreached, detail, now)?;
    }
    let Some(owner) = clock.owner.as_ref().and_then(|o| sweeping.users.iter().find(|u| u.name() == o)) else {
        // Its owner is no user any more: the breach is recorded, but there is no calendar to
        // time the escalations in, nor anyone to escalate to.
        return done_checking(tx, clock);
    };
    // Counted from the deadline as stored: the one the owner was shown.
    let calendar = owner.calendar();
    let due_steps = rule.escalations_after(calendar, due, &clock.escalations_done, now);
    clock.escalations_done.extend(due_steps.iter().map(|d| d.step));
    let next = rule.escalations_after(calendar, due, &clock.escalations_done, Timestamp::from_millis(i64::MAX));
    clock.check_at = next.first().map(|d| after_due(d.due_at));
    tx.update_sla_clock(&clock)?;
    let late = format!("SLA `{}` breached", rule.name());
    let mut reassign = false;
    for step in &due_steps {
        report.escalations += 1;
        match step.action {
            EscalationAction::NotifyOwner => {
                remind(tx, record, owner.name(), &format!("{late}: act on this lead now"), now)?;
            }
            EscalationAction::NotifyManager => {
                let managers = sweeping.users.iter().filter(|u| {
                    u.role() == UserRole::Manager && u.is_active() && u.team().is_some() && u.team() == owner.team()
                });
                for manager in managers {
                    remind(tx, record, manager.name(), &format!("{late} by {}", owner.name()), now)?;
                }
            }
            EscalationAction::Reassign => reassign = true,
        }
    }
    if reassign && crate::assignment::reassign_in(tx, sweeping.tracking, record, owner.name(), now)?.is_some() {
        report.reassigned += 1;
    }
    Ok(())
}

/// A high-priority to-do on the lead for `whom`, due now: how an escalation reaches a person
/// until notifications go out by email.
fn remind<T: Transaction>(
    tx: &mut T,
    record: &LeadRecord,
    whom: &UserName,
    title: &str,
    now: Timestamp,
) -> Result<(), EngineError> {
    let title: String = title.chars().take(leadflow_core::task::MAX_TITLE).collect();
    let title = TaskTitle::parse(&title).map_err(|e| StoreError::Corrupt(format!("an escalation's title: {e}")))?;
    tx.add_task(
        &NewTask {
            lead: record.id,
            kind: TaskKind::Todo,
            title: &title,
            owner: Some(whom),
            priority: Priority::High,
            due_at: now,
            created_by: Some("sla"),
        },
        now,
    )?;
    Ok(())
}
